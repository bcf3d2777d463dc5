# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only facts about the Istio control planes on one cluster, like ``kubectl get istio``."""
from __future__ import annotations

import datetime
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ansible_collections.servicemesh.istio.plugins.module_utils import _clock as clock
from ansible_collections.servicemesh.istio.plugins.module_utils import _dataplane as dataplane
from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.servicemesh.istio.plugins.module_utils import _status as status
from ansible_collections.servicemesh.istio.plugins.module_utils._waypoint import waypoint_facts
from ansible_collections.servicemesh.istio.plugins.module_utils._inuse import (
    UsageIndex, namespace_reference, pod_is_running)
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import VersionCatalog
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s import _inventory as inventory

PROXY_CONTAINER = "istio-proxy"
DATAPLANE_MODE_LABEL = "istio.io/dataplane-mode"


def proxy_image(pod: Mapping[str, Any]) -> Optional[str]:
    """The sidecar's image (a regular container, or a native sidecar among the init containers)."""
    spec = pod.get("spec") or {}
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        if container.get("name") == PROXY_CONTAINER:
            return container.get("image")
    return None


def proxy_version(pod: Mapping[str, Any]) -> Optional[str]:
    image = proxy_image(pod)
    if not image or ":" not in image.rsplit("/", 1)[-1]:
        return None
    return image.rsplit(":", 1)[1]


def _age(record: inventory.InventoryRecord, now: datetime.datetime) -> Dict[str, str]:
    return {"created": record.created, "age": clock.human_age(record.created, now)}


def _revision_facts(cluster: Any, index: UsageIndex, record: inventory.InventoryRecord, catalog: VersionCatalog,
                    agents: Dict[str, Any], clashes: List[Tuple[str, str, str]],
                    now: datetime.datetime) -> Dict[str, Any]:
    plan = lifecycle.plan_from_record(record, catalog)
    usage = lifecycle.revision_usage(index, record)
    ready = lifecycle.revision_ready(cluster, plan)
    problem = dataplane.dependency_problem(plan.values, agents["cni"], agents["ztunnel"]) or ""
    state = status.revision_state(status.reconcile_problem(record, clashes), ready["ready"], plan.is_remote, problem)
    return {"dependencies_healthy": not problem, "dependency_problem": problem,
            "name": record.key.name, "namespace": record.key.namespace,
            "control_plane": record.metadata.get("controlPlane"), "version": record.metadata.get("version"),
            "profile": record.metadata.get("profile"), "remote": plan.is_remote, "ready": ready["ready"],
            "not_ready_reason": ready["reason"], "status": state, "in_use": usage.in_use,
            "in_use_reason": status.in_use_reason(usage.in_use), "usage": usage.as_dict(),
            "inactive_since": record.metadata.get("inactiveSince"), "chart_version": record.chart_version,
            **_age(record, now)}


def _tag_facts(index: UsageIndex, record: inventory.InventoryRecord, revisions: List[Dict[str, Any]],
               clashes: List[Tuple[str, str, str]], now: datetime.datetime) -> Dict[str, Any]:
    target = record.metadata.get("revision")
    found = any(r["name"] == target and r["namespace"] == record.key.namespace for r in revisions)
    usage = index.tag_usage(record.key.name)
    return {"name": record.key.name, "namespace": record.key.namespace, "revision": target,
            "status": status.tag_state(status.reconcile_problem(record, clashes), found, usage.in_use),
            "in_use": usage.in_use, "in_use_reason": status.in_use_reason(usage.in_use),
            "namespaces": usage.namespaces, "pods": usage.pods, **_age(record, now)}


def _control_plane_facts(record: inventory.InventoryRecord, revisions: List[Dict[str, Any]],
                         now: datetime.datetime) -> Dict[str, Any]:
    """The reference's Istio columns; its state mirrors the active revision's."""
    own = [r for r in revisions if r["control_plane"] == record.key.name and r["namespace"] == record.key.namespace]
    active_name = record.metadata.get("activeRevision")
    active = [r for r in own if r["name"] == active_name]
    return {"name": record.key.name, "namespace": record.key.namespace, "profile": record.metadata.get("profile"),
            "revisions": len(own), "ready": sum(1 for r in own if r["ready"]),
            "in_use": sum(1 for r in own if r["in_use"]), "active_revision": active_name,
            "status": active[0]["status"] if active else "ActiveRevisionNotFound",
            "version": record.metadata.get("requestedVersion") or record.metadata.get("version"),
            "strategy": record.metadata.get("strategy"), **_age(record, now)}


def _workload_facts(index: UsageIndex, pods: List[Mapping[str, Any]]) -> Dict[str, Any]:
    namespaces = []
    for name in sorted(index.namespaces):
        reference = namespace_reference(index.namespaces[name])
        mode = ((index.namespaces[name].get("metadata") or {}).get("labels") or {}).get(DATAPLANE_MODE_LABEL)
        if reference or mode:
            namespaces.append({"name": name, "reference": reference, "revision": index.namespace_revision(name),
                               "dataplane_mode": mode})
    workloads = []
    for pod in pods:
        revision = index.pod_revision(pod)
        if revision is None:
            continue
        meta = pod["metadata"]
        workloads.append({"namespace": meta.get("namespace"), "name": meta["name"], "revision": revision,
                          "injected": bool((meta.get("annotations") or {}).get("istio.io/rev")),
                          "proxy_version": proxy_version(pod), "phase": (pod.get("status") or {}).get("phase"),
                          "running": pod_is_running(pod)})
    return {"namespaces": namespaces, "pods": workloads}


def gather(cluster: Any, catalog: VersionCatalog, now: Optional[datetime.datetime] = None,
           namespaces: Optional[List[Dict[str, Any]]] = None) -> Dict[str, Any]:
    """The facts, from one list each of the pods, the namespaces (unless given) and the inventory records."""
    now = now or clock.now()
    pods = cluster.list("v1", "Pod")
    tag_records = inventory.list_records(cluster, kind=lifecycle.TAG)
    revision_records = inventory.list_records(cluster, kind=lifecycle.REVISION)
    clashes = status.name_clashes(revision_records, tag_records)
    if namespaces is None:
        namespaces = cluster.list("v1", "Namespace")
    index = UsageIndex(namespaces, pods, lifecycle.tag_targets(cluster, tag_records))
    agents = {kind: dataplane.agent_facts(cluster, kind) for kind in (dataplane.CNI, dataplane.ZTUNNEL)}
    revisions = [_revision_facts(cluster, index, record, catalog, agents, clashes, now)
                 for record in revision_records]
    tags = [_tag_facts(index, record, revisions, clashes, now) for record in tag_records]
    control_planes = [_control_plane_facts(record, revisions, now)
                      for record in inventory.list_records(cluster, kind=lifecycle.CONTROL_PLANE)]
    facts = {"control_planes": control_planes, "revisions": revisions, "tags": tags,
             "cni": agents["cni"], "ztunnel": agents["ztunnel"], "waypoints": waypoint_facts(cluster)}
    facts.update(_workload_facts(index, pods))
    return facts
