# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which revision namespaces, pods and tags use: pure functions over plain dicts.

The rules are the reference operator's, with its known flaw fixed: pods that
have finished (phase ``Succeeded`` *or* ``Failed``) do not hold a revision.

- A namespace labelled ``istio-injection=enabled`` uses ``default``; that label
  wins over ``istio.io/rev`` on the same namespace.
- A pod uses the revision named by its ``istio.io/rev`` annotation (the one that
  injected it), whatever its namespace says.
- In a namespace without an injection label, a pod labelled ``istio.io/rev=<x>``
  uses ``x``; ``sidecar.istio.io/inject=true`` means ``default``, and
  ``sidecar.istio.io/inject=false`` turns the label reference off.
- A tag holds the revision it points at; a name that is a tag resolves to that
  tag's revision.
- The revision ``default`` with ``sidecarInjectorWebhook.enableNamespacesByDefault``
  is always in use.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional

REV_LABEL = "istio.io/rev"
INJECTION_LABEL = "istio-injection"
POD_INJECT_LABEL = "sidecar.istio.io/inject"
FINISHED_PHASES = ("Succeeded", "Failed")
DEFAULT = "default"


def _meta(obj: Mapping[str, Any], key: str) -> Dict[str, str]:
    return (obj.get("metadata") or {}).get(key) or {}


def namespace_reference(namespace: Mapping[str, Any]) -> Optional[str]:
    """The revision or tag name a namespace's labels point at, if any."""
    labels = _meta(namespace, "labels")
    if labels.get(INJECTION_LABEL) == "enabled":
        return DEFAULT
    return labels.get(REV_LABEL) or None


def pod_label_reference(pod: Mapping[str, Any]) -> Optional[str]:
    labels = _meta(pod, "labels")
    if labels.get(POD_INJECT_LABEL) == "false":
        return None
    if labels.get(REV_LABEL):
        return labels[REV_LABEL]
    return DEFAULT if labels.get(POD_INJECT_LABEL) == "true" else None


def pod_injected_revision(pod: Mapping[str, Any]) -> Optional[str]:
    """The revision that injected the pod (its sidecar's control plane)."""
    return _meta(pod, "annotations").get(REV_LABEL) or None


def pod_is_running(pod: Mapping[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") not in FINISHED_PHASES


@dataclass
class Usage:
    """Why a revision is in use; empty lists mean it is not."""

    namespaces: List[str] = field(default_factory=list)
    pods: List[str] = field(default_factory=list)
    tags: List[str] = field(default_factory=list)
    by_default: bool = False

    @property
    def in_use(self) -> bool:
        return bool(self.namespaces or self.pods or self.tags or self.by_default)

    def reasons(self, limit: int = 5) -> List[str]:
        reasons = ["tag %s points at it" % tag for tag in self.tags]
        reasons += ["namespace %s" % ns for ns in self.namespaces[:limit]]
        if len(self.namespaces) > limit:
            reasons.append("%d more namespaces" % (len(self.namespaces) - limit))
        reasons += ["pod %s" % pod for pod in self.pods[:limit]]
        if len(self.pods) > limit:
            reasons.append("%d more pods" % (len(self.pods) - limit))
        if self.by_default:
            reasons.append("sidecarInjectorWebhook.enableNamespacesByDefault is on")
        return reasons

    def as_dict(self) -> Dict[str, Any]:
        return {"in_use": self.in_use, "namespaces": self.namespaces, "pods": self.pods, "tags": self.tags,
                "enable_namespaces_by_default": self.by_default, "reasons": self.reasons()}


class UsageIndex:
    """Resolves names through tags and answers, for every revision, what uses it."""

    def __init__(self, namespaces: Iterable[Mapping[str, Any]], pods: Iterable[Mapping[str, Any]],
                 tags: Optional[Mapping[str, str]] = None):
        self.namespaces = {_meta(ns, "name") or ns["metadata"]["name"]: ns for ns in namespaces}
        self.pods = list(pods)
        self.tags = dict(tags or {})  # tag name -> revision name

    def resolve(self, name: Optional[str]) -> Optional[str]:
        """A tag name becomes its revision; a revision name stays itself."""
        if name is None:
            return None
        return self.tags.get(name, name)

    def namespace_revision(self, namespace_name: str) -> Optional[str]:
        namespace = self.namespaces.get(namespace_name)
        return self.resolve(namespace_reference(namespace)) if namespace else None

    def pod_revision(self, pod: Mapping[str, Any]) -> Optional[str]:
        """The revision a pod uses: the one that injected it, else the one its labels ask for."""
        injected = pod_injected_revision(pod)
        if injected:
            return injected
        if self._namespace_decides(pod):
            return None  # the pod's labels do not count
        return self.resolve(pod_label_reference(pod))

    def usage(self, revision: str, enable_namespaces_by_default: bool = False) -> Usage:
        usage = Usage(by_default=revision == DEFAULT and enable_namespaces_by_default)
        usage.tags = sorted(tag for tag, target in self.tags.items() if target == revision)
        usage.namespaces = sorted(name for name in self.namespaces if self.namespace_revision(name) == revision)
        for pod in self.pods:
            if pod_is_running(pod) and self._pod_uses(pod, revision):
                usage.pods.append(_pod_key(pod))
        usage.pods.sort()
        return usage

    def tag_usage(self, tag: str) -> Usage:
        """What asks for the tag by name: namespaces labelled with it, and pods labelled with it where
        their namespace has no label (a pod's injected revision is the revision's use, not the tag's)."""
        usage = Usage()
        usage.namespaces = sorted(name for name, ns in self.namespaces.items() if namespace_reference(ns) == tag)
        for pod in self.pods:
            if pod_is_running(pod) and not self._namespace_decides(pod) and pod_label_reference(pod) == tag:
                usage.pods.append(_pod_key(pod))
        usage.pods.sort()
        return usage

    def _pod_uses(self, pod: Mapping[str, Any], revision: str) -> bool:
        if pod_injected_revision(pod) == revision:
            return True
        return not self._namespace_decides(pod) and self.resolve(pod_label_reference(pod)) == revision

    def _namespace_decides(self, pod: Mapping[str, Any]) -> bool:
        """A namespace with an injection label decides for its pods; their own labels do not count."""
        namespace = self.namespaces.get(pod["metadata"].get("namespace"))
        return namespace is not None and namespace_reference(namespace) is not None


def _pod_key(pod: Mapping[str, Any]) -> str:
    return "%s/%s" % (pod["metadata"].get("namespace"), pod["metadata"]["name"])
