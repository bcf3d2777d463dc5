# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Duplicate keys in the keyed lists of rendered objects.

Charts append list entries from user values after their own (the istiod chart
renders ``pilot.env`` and then its own ``PILOT_TRACE_SAMPLING``), so one key can
come out twice. Client-side apply lets that through; server-side apply answers
400 "duplicate entries for key". Container ``env`` is collapsed the way the
kubelet reads it (the later entry wins); in the other lists there is no such
rule, so only identical repeats are dropped and differing ones are refused
before anything is written. Nothing here talks to a cluster.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ansible_collections.servicemesh.istio.plugins.module_utils._istiovalues import get_path
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._errors import InvalidObject
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import short_json, split_api_version


@dataclass(frozen=True)
class KeyedList:
    """A list that server-side apply merges by key (``x-kubernetes-list-map-keys``)."""

    field: str
    keys: Tuple[str, ...]
    later_wins: bool = False  # else only identical repeats may be dropped


ENV = KeyedList("env", ("name",), later_wins=True)
CONTAINER_PORTS = KeyedList("ports", ("containerPort", "protocol"))
VOLUME_MOUNTS = KeyedList("volumeMounts", ("mountPath",))
VOLUMES = KeyedList("volumes", ("name",))
SERVICE_PORTS = KeyedList("ports", ("port", "protocol"))
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
# The API server defaults these key fields before it compares keys.
_KEY_DEFAULTS = {"protocol": "TCP"}

# Where the pod spec sits, by (group, kind); custom resources keep their own list semantics.
_TEMPLATE = "spec.template.spec"
POD_SPEC_PATHS: Dict[Tuple[str, str], str] = {
    ("", "Pod"): "spec", ("", "PodTemplate"): "template.spec", ("", "ReplicationController"): _TEMPLATE,
    ("apps", "Deployment"): _TEMPLATE, ("apps", "DaemonSet"): _TEMPLATE, ("apps", "StatefulSet"): _TEMPLATE,
    ("apps", "ReplicaSet"): _TEMPLATE, ("batch", "Job"): _TEMPLATE,
    ("batch", "CronJob"): "spec.jobTemplate." + _TEMPLATE,
}


def collapse_duplicates(obj: Dict[str, Any]) -> Dict[str, Any]:
    """``obj`` with one entry per key in its keyed lists; raises InvalidObject where that would be a guess.

    Pure: workloads and Services come back as copies, other objects as they are."""
    kind = (split_api_version(obj.get("apiVersion") or "")[0], obj.get("kind") or "")
    pod_path = POD_SPEC_PATHS.get(kind)
    if pod_path is None and kind != ("", "Service"):
        return obj
    result = copy.deepcopy(obj)
    label = _label(result)
    if pod_path is None:
        _collapse_field(get_path(result, "spec"), SERVICE_PORTS, "%s: spec" % label)
    else:
        _collapse_pod_spec(get_path(result, pod_path), "%s: %s" % (label, pod_path))
    return result


def _collapse_pod_spec(pod_spec: Any, where: str) -> None:
    if not isinstance(pod_spec, dict):
        return
    _collapse_field(pod_spec, VOLUMES, where)
    for list_name in CONTAINER_LISTS:
        for container in pod_spec.get(list_name) or []:
            if isinstance(container, dict):
                inside = "%s.%s[%s]" % (where, list_name, container.get("name"))
                for keyed in (ENV, CONTAINER_PORTS, VOLUME_MOUNTS):
                    _collapse_field(container, keyed, inside)


def _collapse_field(parent: Any, keyed: KeyedList, where: str) -> None:
    entries = parent.get(keyed.field) if isinstance(parent, dict) else None
    if isinstance(entries, list):
        parent[keyed.field] = collapse_entries(entries, keyed, "%s.%s" % (where, keyed.field))


def collapse_entries(entries: List[Any], keyed: KeyedList, where: str = "list") -> List[Any]:
    """One entry per key, at the position of the first; the later entry's content if ``later_wins``."""
    result: List[Any] = []
    position: Dict[Tuple[Any, ...], int] = {}
    for entry in entries:
        key = _key(entry, keyed)
        if key is None:  # malformed: left for the API server to name
            result.append(entry)
        elif key not in position:
            position[key] = len(result)
            result.append(entry)
        elif keyed.later_wins:
            result[position[key]] = entry
        elif entry != result[position[key]]:
            raise InvalidObject(
                "%s has two different entries for %s (%s and %s); server-side apply refuses duplicate keys and "
                "neither can be chosen safely: change the values that add one of them"
                % (where, _describe_key(keyed, key), short_json(result[position[key]]), short_json(entry)))
    return result


def _key(entry: Any, keyed: KeyedList) -> Optional[Tuple[Any, ...]]:
    if not isinstance(entry, Mapping):
        return None
    parts = tuple(_KEY_DEFAULTS.get(name) if entry.get(name) is None else entry.get(name) for name in keyed.keys)
    # only scalar keys are comparable the way the API server compares them
    return parts if all(isinstance(part, (str, int)) for part in parts) else None


def _describe_key(keyed: KeyedList, key: Tuple[Any, ...]) -> str:
    return ", ".join("%s=%s" % (name, value) for name, value in zip(keyed.keys, key))


def _label(obj: Mapping[str, Any]) -> str:
    metadata = obj.get("metadata") or {}
    name = metadata.get("name") or "(unnamed)"
    return "%s %s" % (obj.get("kind"), "%s/%s" % (metadata["namespace"], name) if metadata.get("namespace") else name)
