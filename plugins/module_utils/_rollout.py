# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Node-by-node rollout of a DaemonSet that updates ``OnDelete`` (ztunnel).

With ``updateStrategy: OnDelete`` Kubernetes only replaces a DaemonSet's pod once
someone deletes it. Restarting ztunnel cuts the node's ambient traffic for a moment,
so the rollout goes one node at a time: delete the node's pods that are not on the
current template, wait until the replacement on that node is ready, then the next
node. The first node that does not come back stops the rollout, naming the node.

A pod is on the current template the way the DaemonSet controller decides it: its
``pod-template-generation`` label matches the DaemonSet's template generation, or
its ``controller-revision-hash`` label matches the newest ControllerRevision.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._errors import KindNotServed, WaitTimeout
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._waiter import SystemClock

TEMPLATE_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"
TEMPLATE_GENERATION_LABEL = "pod-template-generation"
REVISION_HASH_LABEL = "controller-revision-hash"
ON_DELETE = "OnDelete"


class RolloutError(IstioError):
    """A rollout that cannot start or did not finish."""


@dataclass(frozen=True)
class CurrentTemplate:
    """How to recognise pods of the DaemonSet's current template."""

    template_generation: Optional[str]
    revision_hash: Optional[str]

    def matches(self, pod: Mapping[str, Any]) -> bool:
        pod_labels = _meta(pod).get("labels") or {}
        by_generation = self.template_generation is not None and \
            pod_labels.get(TEMPLATE_GENERATION_LABEL) == self.template_generation
        by_hash = bool(self.revision_hash) and pod_labels.get(REVISION_HASH_LABEL) == self.revision_hash
        return by_generation or by_hash


@dataclass
class NodeStep:
    node: str
    pods: List[str]  # the stale pods deleted (or to delete) on the node
    ready_pods: List[str] = field(default_factory=list)

    def as_dict(self) -> Dict[str, Any]:
        return {"node": self.node, "deleted_pods": list(self.pods), "ready_pods": list(self.ready_pods)}


@dataclass
class Rollout:
    """What one run did (or, in check mode, would do)."""

    steps: List[NodeStep] = field(default_factory=list)
    up_to_date: List[str] = field(default_factory=list)  # nodes already on the current template
    check_mode: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.steps)

    def result(self) -> Dict[str, Any]:
        return {"changed": self.changed, "nodes": [step.as_dict() for step in self.steps],
                "rolled_nodes": [step.node for step in self.steps], "up_to_date_nodes": list(self.up_to_date)}


def _meta(obj: Mapping[str, Any]) -> Dict[str, Any]:
    return obj.get("metadata") or {}


# -- reading --------------------------------------------------------------------------------------

def daemonset_ref(name: str, namespace: str) -> ObjectRef:
    return ObjectRef.of("apps/v1", "DaemonSet", name, namespace)


def check_daemonset(daemonset: Optional[Mapping[str, Any]], ref: ObjectRef) -> None:
    if daemonset is None:
        raise RolloutError("%s doesn't exist" % ref)
    strategy = ((daemonset.get("spec") or {}).get("updateStrategy") or {}).get("type", "RollingUpdate")
    if strategy != ON_DELETE:
        raise RolloutError("%s updates with %s, so Kubernetes replaces its pods by itself; a node-by-node rollout "
                           "needs updateStrategy OnDelete (for ztunnel: values ztunnel.updateStrategy.type: OnDelete)"
                           % (ref, strategy))


def _selector(daemonset: Mapping[str, Any]) -> Optional[str]:
    match = ((daemonset.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return ",".join("%s=%s" % item for item in sorted(match.items())) or None


def _owned_by(obj: Mapping[str, Any], owner: Mapping[str, Any]) -> bool:
    uid = _meta(owner).get("uid")
    return any(ref.get("uid") == uid and ref.get("controller") for ref in _meta(obj).get("ownerReferences") or [])


def newest_revision_hash(cluster: Any, daemonset: Mapping[str, Any]) -> Optional[str]:
    """The hash of the DaemonSet's newest ControllerRevision, if the server keeps them."""
    try:
        revisions = cluster.list("apps/v1", "ControllerRevision", _meta(daemonset).get("namespace"),
                                 label_selector=_selector(daemonset))
    except KindNotServed:
        return None
    owned = [rev for rev in revisions if _owned_by(rev, daemonset)]
    if not owned:
        return None
    newest = max(owned, key=lambda rev: rev.get("revision") or 0)
    return (_meta(newest).get("labels") or {}).get(REVISION_HASH_LABEL)


def current_template(cluster: Any, daemonset: Mapping[str, Any]) -> CurrentTemplate:
    annotations = _meta(daemonset).get("annotations") or {}
    # the annotation is what the controller labels pods with; servers without it use the generation
    generation = annotations.get(TEMPLATE_GENERATION_ANNOTATION) or _meta(daemonset).get("generation")
    return CurrentTemplate(None if generation is None else str(generation), newest_revision_hash(cluster, daemonset))


def daemonset_pods(cluster: Any, daemonset: Mapping[str, Any]) -> List[Dict[str, Any]]:
    pods = cluster.list("v1", "Pod", _meta(daemonset).get("namespace"), label_selector=_selector(daemonset))
    return [pod for pod in pods if _owned_by(pod, daemonset)]


def pod_node(pod: Mapping[str, Any]) -> str:
    return (pod.get("spec") or {}).get("nodeName") or ""


def pod_ready(pod: Mapping[str, Any]) -> bool:
    if _meta(pod).get("deletionTimestamp"):
        return False
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


# -- planning -------------------------------------------------------------------------------------

def plan_rollout(pods: Sequence[Mapping[str, Any]], current: CurrentTemplate,
                 nodes: Optional[Sequence[str]] = None) -> Rollout:
    """The nodes with pods on an old template, in ``nodes`` order (else by name)."""
    stale: Dict[str, List[str]] = {}
    seen = set()
    for pod in pods:
        node = pod_node(pod)
        if not node or _meta(pod).get("deletionTimestamp"):
            continue  # not scheduled yet, or already on its way out
        seen.add(node)
        if not current.matches(pod):
            stale.setdefault(node, []).append(_meta(pod)["name"])
    order = list(nodes) if nodes else sorted(seen)
    rollout = Rollout()
    for node in order:
        if node in stale:
            rollout.steps.append(NodeStep(node, sorted(stale[node])))
        elif node in seen:
            rollout.up_to_date.append(node)
    return rollout


# -- rolling --------------------------------------------------------------------------------------

@dataclass
class Timing:
    timeout: float = 300.0  # per node
    interval: float = 2.0
    clock: Any = None


def node_state(pods: Sequence[Mapping[str, Any]], node: str, current: CurrentTemplate) -> Optional[str]:
    """None once the node runs only current, ready pods of the DaemonSet; else what is missing."""
    here = [pod for pod in pods if pod_node(pod) == node]
    old = [_meta(pod)["name"] for pod in here if not current.matches(pod)]
    if old:
        return "old pods still there: %s" % ", ".join(sorted(old))
    if not here:
        return "no replacement pod scheduled yet"
    unready = [_meta(pod)["name"] for pod in here if not pod_ready(pod)]
    if unready:
        return "pods not ready: %s" % ", ".join(sorted(unready))
    return None


def _wait_for_node(cluster: Any, daemonset: Mapping[str, Any], step: NodeStep, current: CurrentTemplate,
                   timing: Timing) -> None:
    clock = timing.clock or SystemClock()
    deadline = clock.monotonic() + timing.timeout
    while True:
        pods = daemonset_pods(cluster, daemonset)
        missing = node_state(pods, step.node, current)
        if missing is None:
            step.ready_pods = sorted(_meta(p)["name"] for p in pods if pod_node(p) == step.node)
            return
        remaining = deadline - clock.monotonic()
        if remaining <= 0:
            raise WaitTimeout(timing.timeout, [("node %s" % step.node, missing)])
        clock.sleep(min(timing.interval, remaining))


def _wait_observed(cluster: Any, ref: ObjectRef, timing: Timing) -> Dict[str, Any]:
    """The DaemonSet once its controller has seen the latest template (so the revision hash is current)."""
    clock = timing.clock or SystemClock()
    deadline = clock.monotonic() + timing.timeout
    while True:
        daemonset = cluster.get(ref)
        check_daemonset(daemonset, ref)
        generation = _meta(daemonset).get("generation")
        observed = (daemonset.get("status") or {}).get("observedGeneration")
        if generation is None or (observed is not None and observed >= generation):
            return daemonset
        if clock.monotonic() >= deadline:
            raise WaitTimeout(timing.timeout, [(str(ref), "the controller has not observed generation %s"
                                                % generation)])
        clock.sleep(timing.interval)


def roll_daemonset(cluster: Any, name: str, namespace: str, check_mode: bool = False,
                   nodes: Optional[Sequence[str]] = None, timing: Optional[Timing] = None) -> Rollout:
    timing = timing or Timing()
    ref = daemonset_ref(name, namespace)
    if check_mode:
        # an earlier task of this run may create the DaemonSet or switch it to OnDelete: predict, don't refuse
        daemonset = cluster.get(ref)
        if daemonset is None:
            return Rollout(check_mode=True)
    else:
        daemonset = _wait_observed(cluster, ref, timing)
    current = current_template(cluster, daemonset)
    rollout = plan_rollout(daemonset_pods(cluster, daemonset), current, nodes)
    rollout.check_mode = check_mode
    if check_mode:
        return rollout
    for index, step in enumerate(rollout.steps):
        for pod in step.pods:
            cluster.delete(ObjectRef.of("v1", "Pod", pod, namespace))
        try:
            _wait_for_node(cluster, daemonset, step, current, timing)
        except WaitTimeout as exc:
            left = [later.node for later in rollout.steps[index + 1:]]
            raise RolloutError("rollout of %s stopped at node %s: %s; nodes not rolled yet: %s"
                               % (ref, step.node, exc.pending[0][1], ", ".join(left) or "none")) from exc
    return rollout
