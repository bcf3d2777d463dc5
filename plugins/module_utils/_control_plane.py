# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One control plane as the reference operator's ``Istio`` resource: its active revision, the tags that
follow it, the inactive revisions pruned once unused, its readiness, and its removal.

The pieces are the lifecycle's (``install_revision``, ``install_tag``, ``prune_control_plane``); this
module chains them as one unit of work under one lease, validates the whole request before the first
write, and plans the removal purely (``plan_removal``) so that a refusal removes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Tuple

from ansible_collections.servicemesh.istio.plugins.module_utils import _clock as clock
from ansible_collections.servicemesh.istio.plugins.module_utils import _info as info
from ansible_collections.servicemesh.istio.plugins.module_utils import _istiocsr as istiocsr
from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.servicemesh.istio.plugins.module_utils._inuse import Usage, UsageIndex
from ansible_collections.servicemesh.istio.plugins.module_utils._istiocsr import IstioCsr
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import VersionCatalog
from ansible_collections.servicemesh.istio.plugins.module_utils._manifest import (
    ControlPlane, ManifestRenderer, RevisionPlan)
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s import _inventory as inventory
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._inventory import InventoryRecord, UnitKey
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._unit import remove_unit
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._waiter import SystemClock

REMOVED = "Removed"


@dataclass
class ControlPlaneRequest:
    """What istio_control_plane was asked, beyond the control plane's own fields."""

    control_plane: ControlPlane
    tags: List[str] = field(default_factory=list)
    prune: bool = True
    prune_wait: bool = False
    install_crds: bool = True
    include_base: Optional[bool] = None
    create_namespace: bool = False
    allow_selector_overlap: bool = False
    force: bool = False
    remove_crds: bool = False
    # (namespace, name) of gateways the caller removes before the control plane
    ignored_gateways: List[Tuple[str, str]] = field(default_factory=list)
    istio_csr: Optional[IstioCsr] = None  # cert-manager's istio-csr as the CA: checked before the first write


def _add(outcome: lifecycle.Outcome, part: lifecycle.Outcome) -> lifecycle.Outcome:
    outcome.results.extend(part.results)
    return part


# -- present ------------------------------------------------------------------------------------------

def planned_record(control_plane: ControlPlane, plan: RevisionPlan) -> InventoryRecord:
    """The record ``install_revision`` writes for ``plan``: the tags' target, also in check mode, where the
    revision may not be on the cluster yet."""
    return InventoryRecord(UnitKey(lifecycle.REVISION, plan.name, plan.namespace),
                           metadata=lifecycle.revision_metadata(control_plane, plan))


def install(cluster: Any, renderer: ManifestRenderer, catalog: VersionCatalog, request: ControlPlaneRequest,
            plan: RevisionPlan, options: lifecycle.Options, timer: Any = SystemClock) -> lifecycle.Outcome:
    """The active revision, then its tags, then pruning; each step validates before it writes."""
    control_plane = request.control_plane
    istiocsr.check(cluster, request.istio_csr)
    outcome = lifecycle.Outcome()
    revision = _add(outcome, lifecycle.install_revision(
        cluster, renderer, control_plane, plan, options, include_base=request.include_base,
        crds=request.install_crds, create_namespace_if_missing=request.create_namespace,
        allow_selector_overlap=request.allow_selector_overlap))
    target = planned_record(control_plane, plan)
    moved = [_add(outcome, lifecycle.install_tag(cluster, renderer, catalog, tag, target, options,
                                                 force=request.force)).facts for tag in request.tags]
    pruned = prune(cluster, control_plane, options, request.prune_wait, timer) if request.prune else None
    if pruned is not None:
        _add(outcome, pruned)
    outcome.facts = {"revision": plan.name, "version": plan.version.name, "upgraded": revision.facts["upgraded"],
                     "tags_moved": [t["tag"] for t in moved if t["previous_revision"] != t["revision"]],
                     "pruned": pruned.facts["pruned"] if pruned else [],
                     "next_prune_at": pruned.facts["next_prune_at"] if pruned else None,
                     "prune_decisions": pruned.facts["decisions"] if pruned else []}
    outcome.facts["summary"] = summary(outcome.facts)
    return outcome


def summary(facts: Dict[str, Any]) -> str:
    """One line for a person after an upgrade: what is active, what went, what stays and why."""
    lines = ["Active revision %s (%s)." % (facts["revision"], facts["version"])]
    if facts["pruned"]:
        lines.append("Pruned %s." % ", ".join(facts["pruned"]))
    kept = [d for d in facts["prune_decisions"] if d["action"] == "keep" and d["revision"] != facts["revision"]]
    lines += ["%s kept: %s." % (d["revision"], d["reason"]) for d in kept]
    if kept:
        lines.append("Run again once that has changed%s." % (
            " (the next is due at %s)" % facts["next_prune_at"] if facts["next_prune_at"] else ""))
    return " ".join(lines)


def prune(cluster: Any, control_plane: ControlPlane, options: lifecycle.Options, wait: bool,
          timer: Any = SystemClock) -> lifecycle.Outcome:
    """Prune what is due; with ``wait``, sleep until the next revision is due and prune again, as long as
    that is within ``wait_timeout`` (what is due later is left, with its time in ``next_prune_at``)."""
    outcome = lifecycle.Outcome()
    deadline = timer.monotonic() + options.wait_timeout
    pruned: List[str] = []
    while True:
        step = _add(outcome, lifecycle.prune_control_plane(cluster, control_plane.name, control_plane.namespace,
                                                           options))
        pruned += step.facts["pruned"]
        delay = _seconds_until(step.facts["next_prune_at"])
        if not wait or options.check_mode or delay is None or timer.monotonic() + delay > deadline:
            break
        timer.sleep(delay + 1)  # a second past: the decision compares whole seconds
    outcome.facts = dict(step.facts, pruned=pruned)
    return outcome


def _seconds_until(moment: Optional[str]) -> Optional[float]:
    due = clock.parse_time(moment)
    return None if due is None else max((due - clock.now()).total_seconds(), 0.0)


# -- absent -------------------------------------------------------------------------------------------

@dataclass
class RemovalPlan:
    """Tags first, then the revisions with the active one last (its removal removes the control plane's
    record), and what still uses them: any user refuses the whole removal."""

    tags: List[InventoryRecord]
    revisions: List[InventoryRecord]
    users: List[str]
    usages: Dict[str, Usage]  # by revision name: what the check saw, reported with each removal


def plan_removal(revisions: List[InventoryRecord], tags: List[InventoryRecord], active: str,
                 index: UsageIndex, ignored_pods: Iterable[str] = ()) -> RemovalPlan:
    """``ignored_pods``: ``namespace/name-`` prefixes of pods the caller removes first (its gateways)."""
    names = {r.key.name for r in revisions}
    namespace = revisions[0].key.namespace if revisions else None
    ours = [t for t in tags if t.metadata.get("revision") in names and t.key.namespace == namespace]
    ordered = sorted(revisions, key=lambda r: (r.key.name == active, r.key.name))
    prefixes = tuple(ignored_pods)
    users: List[str] = []
    usages: Dict[str, Usage] = {}
    for record in ordered:
        usage = usages[record.key.name] = lifecycle.revision_usage(index, record)
        users += ["namespace %s (%s)" % (ns, record.key.name) for ns in usage.namespaces]
        users += ["pod %s (%s)" % (pod, record.key.name) for pod in usage.pods
                  if not any(pod.startswith(prefix) for prefix in prefixes)]
        if usage.by_default:
            users.append("sidecarInjectorWebhook.enableNamespacesByDefault (%s)" % record.key.name)
    return RemovalPlan(ours, ordered, users, usages)


def gateway_pod_prefixes(gateways: Iterable[Tuple[str, str]]) -> List[str]:
    """The pods of gateways (the chart names their Deployment after the gateway), as ``namespace/name-``."""
    return sorted("%s/%s-" % (namespace, name) for namespace, name in gateways)


def read_removal(cluster: Any, request: "ControlPlaneRequest") -> RemovalPlan:
    control_plane = request.control_plane
    revisions = lifecycle.revision_records(cluster, control_plane=control_plane.name,
                                           namespace=control_plane.namespace)
    record = inventory.load(cluster, control_plane.namespace, lifecycle.CONTROL_PLANE, control_plane.name)
    active = record.metadata.get("activeRevision", "") if record else ""
    return plan_removal(revisions, inventory.list_records(cluster, kind=lifecycle.TAG), active,
                        lifecycle.usage_index(cluster), gateway_pod_prefixes(request.ignored_gateways))


def remove(cluster: Any, request: ControlPlaneRequest, options: lifecycle.Options) -> lifecycle.Outcome:
    control_plane = request.control_plane
    plan = read_removal(cluster, request)
    if plan.users and not request.force:
        raise lifecycle.LifecycleError(
            "control plane %s in namespace %s is in use and was not removed: %s; move these workloads to another "
            "control plane (or remove them), or set force (istio_force in the roles)"
            % (control_plane.name, control_plane.namespace, "; ".join(plan.users)))
    outcome = lifecycle.Outcome()
    for tag in plan.tags:
        outcome.results.append(remove_unit(cluster, tag.key, check_mode=options.check_mode))
    for revision in plan.revisions:
        # checked above, on the one read of the namespaces and pods; tags aside: they go first
        _add(outcome, lifecycle.delete_revision(cluster, revision, plan.usages[revision.key.name], options))
    outcome.facts = {"control_plane": {"name": control_plane.name, "namespace": control_plane.namespace,
                                       "status": REMOVED, "removed_revisions": [r.key.name for r in plan.revisions],
                                       "removed_tags": [t.key.name for t in plan.tags]}}
    if request.remove_crds:
        outcome.facts.update(_add(outcome, lifecycle.remove_crds(cluster, options, force=request.force)).facts)
    return outcome


# -- what kubectl get istio,istiorevision,istiorevisiontag shows -------------------------------------

def report(cluster: Any, catalog: VersionCatalog, control_plane: ControlPlane) -> Dict[str, Any]:
    """This control plane's row, its revisions' and the rows of the tags that point at them."""
    facts = info.gather(cluster, catalog)
    where = (control_plane.name, control_plane.namespace)
    rows = [r for r in facts["control_planes"] if (r["name"], r["namespace"]) == where]
    revisions = [r for r in facts["revisions"] if (r["control_plane"], r["namespace"]) == where]
    names = {r["name"] for r in revisions}
    tags = [t for t in facts["tags"] if t["revision"] in names and t["namespace"] == control_plane.namespace]
    return {"control_plane": rows[0] if rows else {}, "revisions": revisions, "tags": tags}
