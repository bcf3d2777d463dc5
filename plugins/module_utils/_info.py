# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only facts about the Istio control planes on one cluster, like ``kubectl get istio``."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from ansible_collections.servicemesh.istio.plugins.module_utils import _dataplane as dataplane
from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.servicemesh.istio.plugins.module_utils._waypoint import waypoint_facts
from ansible_collections.servicemesh.istio.plugins.module_utils._inuse import (
    UsageIndex, namespace_reference, pod_is_running)
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import VersionCatalog
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s import _inventory as inventory

PROXY_CONTAINER = "istio-proxy"


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


def _revision_facts(cluster: Any, index: UsageIndex, record: inventory.InventoryRecord,
                    catalog: VersionCatalog, agents: Dict[str, Any]) -> Dict[str, Any]:
    plan = lifecycle.plan_from_record(record, catalog)
    usage = lifecycle.revision_usage(index, record)
    ready = lifecycle.revision_ready(cluster, plan)
    problem = dataplane.dependency_problem(plan.values, agents["cni"], agents["ztunnel"])
    return {"dependencies_healthy": problem is None, "dependency_problem": problem or "",
            "name": record.key.name, "namespace": record.key.namespace,
            "control_plane": record.metadata.get("controlPlane"), "version": record.metadata.get("version"),
            "profile": record.metadata.get("profile"), "remote": plan.is_remote, "ready": ready["ready"],
            "not_ready_reason": ready["reason"], "in_use": usage.in_use, "usage": usage.as_dict(),
            "inactive_since": record.metadata.get("inactiveSince"), "chart_version": record.chart_version}


def _control_plane_facts(record: inventory.InventoryRecord, revisions: List[Dict[str, Any]]) -> Dict[str, Any]:
    own = [r for r in revisions if r["control_plane"] == record.key.name and r["namespace"] == record.key.namespace]
    active_name = record.metadata.get("activeRevision")
    active = [r for r in own if r["name"] == active_name]
    if not active:
        status = "ActiveRevisionNotFound"
    elif not active[0]["ready"]:
        status = "RemoteIstiodNotReady" if active[0]["remote"] else "IstiodNotReady"
    elif active[0]["dependency_problem"]:
        status = active[0]["dependency_problem"]
    else:
        status = "Healthy"
    return {"name": record.key.name, "namespace": record.key.namespace, "profile": record.metadata.get("profile"),
            "revisions": len(own), "ready": sum(1 for r in own if r["ready"]),
            "in_use": sum(1 for r in own if r["in_use"]), "active_revision": active_name, "status": status,
            "version": record.metadata.get("requestedVersion") or record.metadata.get("version"),
            "strategy": record.metadata.get("strategy")}


def _workload_facts(index: UsageIndex, pods: List[Mapping[str, Any]]) -> Dict[str, Any]:
    namespaces = []
    for name in sorted(index.namespaces):
        reference = namespace_reference(index.namespaces[name])
        if reference:
            namespaces.append({"name": name, "reference": reference, "revision": index.namespace_revision(name)})
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


def gather(cluster: Any, catalog: VersionCatalog) -> Dict[str, Any]:
    pods = cluster.list("v1", "Pod")
    tag_records = inventory.list_records(cluster, kind=lifecycle.TAG)
    index = UsageIndex(cluster.list("v1", "Namespace"), pods, lifecycle.tag_targets(cluster, tag_records))
    agents = {kind: dataplane.agent_facts(cluster, kind) for kind in (dataplane.CNI, dataplane.ZTUNNEL)}
    revisions = [_revision_facts(cluster, index, record, catalog, agents)
                 for record in inventory.list_records(cluster, kind=lifecycle.REVISION)]
    tags = [{"name": record.key.name, "namespace": record.key.namespace,
             "revision": record.metadata.get("revision"),
             "namespaces": sorted(n for n in index.namespaces
                                  if namespace_reference(index.namespaces[n]) == record.key.name)}
            for record in tag_records]
    control_planes = [_control_plane_facts(record, revisions)
                      for record in inventory.list_records(cluster, kind=lifecycle.CONTROL_PLANE)]
    facts = {"control_planes": control_planes, "revisions": revisions, "tags": tags,
             "cni": agents["cni"], "ztunnel": agents["ztunnel"], "waypoints": waypoint_facts(cluster)}
    facts.update(_workload_facts(index, pods))
    return facts
