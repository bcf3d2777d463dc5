# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node agents shared by every control plane of a cluster: the Istio CNI and ztunnel.

Each is a singleton unit (``cni/default``, ``ztunnel/default``) in its own namespace.
Before anything is written, the version skew with the control planes is checked:
a CNI or ztunnel at 1.x works with control planes 1.(x-1) to 1.(x+1), and ztunnel
is never newer than the control plane it follows.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional

from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import IstioVersion, semver_key
from ansible_collections.servicemesh.istio.plugins.module_utils._istiovalues import check_value_types
from ansible_collections.servicemesh.istio.plugins.module_utils._manifest import ManifestRenderer
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s import _inventory as inventory
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s import _readiness as readiness
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._inventory import InventoryRecord, UnitKey
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._unit import remove_unit, sync_unit
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._waiter import Check

CNI, ZTUNNEL = "cni", "ztunnel"
SINGLETON = "default"
DAEMONSETS = {CNI: "istio-cni-node", ZTUNNEL: "ztunnel"}
MAX_MINOR_SKEW = 1
ROLLOUT = "rollout"


def rollout_scope(daemonset: str, namespace: str) -> UnitKey:
    """Whose lease a node-by-node rollout of this DaemonSet takes: its agent's, so that the rollout and an
    install or upgrade of that agent take turns; for another DaemonSet, one of its own. Two rollouts of one
    DaemonSet at once would take down a node each."""
    agent = next((kind for kind, name in DAEMONSETS.items() if name == daemonset), None)
    return UnitKey(agent, SINGLETON, namespace) if agent else UnitKey(ROLLOUT, daemonset, namespace)


def _minor(version_name: str) -> tuple:
    key = semver_key(version_name.lstrip("v"))
    return key[0], key[1]


def skew_problem(agent: str, agent_version: str, control_plane_version: str, followed: bool = False) -> Optional[str]:
    """Why ``agent`` at ``agent_version`` cannot run beside a control plane, or None if it can."""
    agent_minor, cp_minor = _minor(agent_version), _minor(control_plane_version)
    allowed = "%d.%d to %d.%d" % (cp_minor[0], cp_minor[1] - MAX_MINOR_SKEW, cp_minor[0], cp_minor[1] + MAX_MINOR_SKEW)
    if agent_minor[0] != cp_minor[0] or abs(agent_minor[1] - cp_minor[1]) > MAX_MINOR_SKEW:
        return "%s %s is too far from control plane version %s (allowed: %s)" % (
            agent, agent_version, control_plane_version, allowed)
    if followed and semver_key(agent_version.lstrip("v")) > semver_key(control_plane_version.lstrip("v")):
        return "%s %s must not be newer than the control plane it follows (%s); upgrade the control plane first" % (
            agent, agent_version, control_plane_version)
    return None


def check_skew(cluster: Any, agent: str, version: IstioVersion, followed: Optional[InventoryRecord] = None) -> None:
    problems = []
    for record in lifecycle.revision_records(cluster):
        problem = skew_problem(agent, version.name, record.metadata.get("version", ""),
                               followed is not None and record.key == followed.key)
        if problem:
            problems.append("%s (revision %s)" % (problem, record.key.name))
    if problems:
        raise lifecycle.LifecycleError("version skew: " + "; ".join(problems))


def _singleton_elsewhere(cluster: Any, kind: str, namespace: str) -> Optional[InventoryRecord]:
    for record in inventory.list_records(cluster, kind=kind):
        if record.key.namespace != namespace:
            return record
    return None


def agent_checks(kind: str, namespace: str) -> List[Check]:
    return [Check(ObjectRef.of("apps/v1", "DaemonSet", DAEMONSETS[kind], namespace), readiness.daemonset_ready)]


def _install_agent(cluster: Any, kind: str, namespace: str, rendered, metadata: Dict[str, Any],
                   options: lifecycle.Options, create_namespace: bool) -> lifecycle.Outcome:
    outcome = lifecycle.Outcome()
    if create_namespace:
        outcome.results.append(lifecycle.create_namespace(cluster, namespace, options))
    outcome.results.append(sync_unit(
        cluster, UnitKey(kind, SINGLETON, namespace), rendered.objects, metadata=metadata,
        check_mode=options.check_mode, force_conflicts=options.force_conflicts, chart_version=rendered.version,
        values=rendered.values))
    lifecycle.wait_for(cluster, agent_checks(kind, namespace), options)
    outcome.facts = {"namespace": namespace, "version": metadata["version"], "values": rendered.values}
    return outcome


def singleton_problem(kind: str, namespace: str, existing_namespace: Optional[str]) -> Optional[str]:
    """Why ``kind`` cannot go into ``namespace`` while the cluster has one in ``existing_namespace``, or None."""
    if not existing_namespace or existing_namespace == namespace:
        return None
    return "the cluster already has a %s in namespace %s; there is one per cluster, remove it first to move it" % (
        kind, existing_namespace)


def _preflight(cluster: Any, kind: str, namespace: str, create_namespace: bool) -> bool:
    """Reads only: the singleton rule and the namespace. Returns whether to create the namespace."""
    other = _singleton_elsewhere(cluster, kind, namespace)
    problem = singleton_problem(kind, namespace, other.key.namespace if other is not None else None)
    if problem:
        raise lifecycle.LifecycleError(problem)
    return lifecycle.namespace_missing(cluster, namespace, create_namespace)


def install_cni(cluster: Any, renderer: ManifestRenderer, version: IstioVersion, namespace: str,
                profile: Optional[str], values: Optional[Mapping[str, Any]], platform: str,
                options: lifecycle.Options, create_namespace: bool = False) -> lifecycle.Outcome:
    check_value_types(values)  # before anything is read: the user's values name the problem best
    check_skew(cluster, "istio-cni", version)
    must_create = _preflight(cluster, CNI, namespace, create_namespace)
    rendered = renderer.cni(version, namespace, profile, dict(values or {}), platform,
                            is_upgrade=not must_create and _installed(cluster, CNI, namespace))
    metadata = {"version": version.name, "profile": profile or "default"}
    return _install_agent(cluster, CNI, namespace, rendered, metadata, options, must_create)


def install_ztunnel(cluster: Any, renderer: ManifestRenderer, version: IstioVersion, namespace: str,
                    values: Optional[Mapping[str, Any]], platform: str, options: lifecycle.Options,
                    followed: Optional[InventoryRecord] = None, create_namespace: bool = False) -> lifecycle.Outcome:
    check_value_types(values)
    check_skew(cluster, "ztunnel", version, followed)
    must_create = _preflight(cluster, ZTUNNEL, namespace, create_namespace)
    revision_values = (followed.metadata.get("values") or {}) if followed else None
    rendered = renderer.ztunnel(version, namespace, dict(values or {}), platform, revision_values=revision_values,
                                is_upgrade=not must_create and _installed(cluster, ZTUNNEL, namespace))
    metadata = {"version": version.name, "revision": followed.key.name if followed else None}
    outcome = _install_agent(cluster, ZTUNNEL, namespace, rendered, metadata, options, must_create)
    outcome.facts["revision"] = metadata["revision"]
    return outcome


def _installed(cluster: Any, kind: str, namespace: str) -> bool:
    return inventory.was_installed(inventory.load(cluster, namespace, kind, SINGLETON))


def remove_agent(cluster: Any, kind: str, options: lifecycle.Options) -> lifecycle.Outcome:
    outcome = lifecycle.Outcome()
    for record in inventory.list_records(cluster, kind=kind):
        outcome.results.append(remove_unit(cluster, record.key, check_mode=options.check_mode,
                                           wait=options.wait, timeout=options.wait_timeout))
    outcome.facts = {"removed": bool(outcome.results)}
    return outcome


# -- health ---------------------------------------------------------------------------------------

def agent_facts(cluster: Any, kind: str) -> Optional[Dict[str, Any]]:
    records = inventory.list_records(cluster, kind=kind)
    if not records:
        return None
    record = records[0]
    ready, reason = readiness.daemonset_ready(cluster.get(agent_checks(kind, record.key.namespace)[0].ref))
    facts = {"namespace": record.key.namespace, "version": record.metadata.get("version"), "ready": ready,
             "not_ready_reason": "" if ready else reason}
    if kind == ZTUNNEL:
        facts["revision"] = record.metadata.get("revision")
    return facts


def agent_status(kind: str, state: str, facts: Mapping[str, Any], waited: bool,
                 live: Callable[[], Optional[Dict[str, Any]]]) -> Optional[Dict[str, Any]]:
    """What ``kubectl get istiocni`` (or ``ztunnel``) shows after the run: ``Removed`` once removed; after a
    wait that held, ready, as this run installed it; otherwise (no wait, check mode) the cluster's own
    state, read by ``live`` (None when there is none)."""
    if state == "absent":
        return {"status": "Removed"}
    if not waited:
        return live()
    status = {"namespace": facts.get("namespace"), "version": facts.get("version"), "ready": True,
              "not_ready_reason": ""}
    if kind == ZTUNNEL:
        status["revision"] = facts.get("revision")
    return status


def dependency_problem(values: Mapping[str, Any], cni: Optional[Dict[str, Any]],
                       ztunnel: Optional[Dict[str, Any]]) -> Optional[str]:
    """The reference's dependency rules: the CNI when the revision enables it (or on OpenShift unless
    disabled), ztunnel for ambient revisions; the CNI is reported first."""
    pilot = values.get("pilot") or {}
    cni_enabled = (pilot.get("cni") or {}).get("enabled")
    openshift = (values.get("global") or {}).get("platform") == "openshift"
    needs_cni = cni_enabled is True or (openshift and cni_enabled is not False)
    ambient = values.get("profile") == "ambient" or str((pilot.get("env") or {}).get("PILOT_ENABLE_AMBIENT")) == "true"
    if needs_cni and cni is None:
        return "IstioCNINotFound"
    if needs_cni and not cni["ready"]:
        return "IstioCNINotHealthy"
    if ambient and ztunnel is None:
        return "ZTunnelNotFound"
    if ambient and not ztunnel["ready"]:
        return "ZTunnelNotHealthy"
    return None
