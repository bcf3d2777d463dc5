# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ambient mode as one plan: what playbooks/ambient.yml installs, decided before anything is written.

Pure: the request, the version catalog and what the cluster runs (``ClusterView``, read once by the
adapter) go in; the plan comes out, or ``AmbientRefused`` with every problem at once. The rules are the
collection's own: the version skew and the singleton rule are ``_dataplane``'s, the control plane's
values and ``trustedZtunnelNamespace`` are ``plan_revision``'s.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.servicemesh.istio.plugins.module_utils import _dataplane as dataplane
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError
from ansible_collections.servicemesh.istio.plugins.module_utils._istiovalues import (
    check_value_types, deep_merge, get_path)
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import VersionCatalog
from ansible_collections.servicemesh.istio.plugins.module_utils._manifest import (
    DEFAULT_CNI_NAMESPACE, DEFAULT_ZTUNNEL_NAMESPACE, ControlPlane, plan_revision)

STATES = ("present", "absent")
PROFILES = ("ambient", "openshift-ambient")
GATEWAY_CRD = "gateways.gateway.networking.k8s.io"
DATAPLANE_MODE_LABEL = "istio.io/dataplane-mode"
DEFAULT_WAYPOINT = "waypoint"
WAYPOINT_LISTS = ("enroll_namespaces", "enroll_services", "enroll_service_accounts", "enroll_pods")
RUNNING_NOW = " (running now)"


class AmbientRefused(IstioError):
    """Every problem of a request, found before the first write."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("ambient mode refused, nothing was changed: " + "; ".join(self.problems))


@dataclass
class AmbientRequest:
    """What the playbook's variables ask for."""

    state: str = "present"
    control_plane: ControlPlane = field(default_factory=ControlPlane)
    cni_namespace: str = DEFAULT_CNI_NAMESPACE
    ztunnel_namespace: str = DEFAULT_ZTUNNEL_NAMESPACE
    cni_version: str = ""
    ztunnel_version: str = ""
    cni_values: Dict[str, Any] = field(default_factory=dict)
    ztunnel_values: Dict[str, Any] = field(default_factory=dict)
    ambient_namespaces: List[str] = field(default_factory=list)
    discovery_labels: Dict[str, str] = field(default_factory=dict)
    waypoints: List[Any] = field(default_factory=list)
    crds_file: str = ""
    crds_url: str = ""
    prune: bool = True
    remove_control_plane: bool = True

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "AmbientRequest":
        fields = dict(params, profile=params.get("profile") or PROFILES[0])
        return cls(state=params.get("state") or "present", control_plane=ControlPlane.from_params(fields),
                   cni_namespace=params.get("cni_namespace") or DEFAULT_CNI_NAMESPACE,
                   ztunnel_namespace=params.get("ztunnel_namespace") or DEFAULT_ZTUNNEL_NAMESPACE,
                   cni_version=params.get("cni_version") or "", ztunnel_version=params.get("ztunnel_version") or "",
                   cni_values=params.get("cni_values") or {}, ztunnel_values=params.get("ztunnel_values") or {},
                   ambient_namespaces=list(params.get("ambient_namespaces") or []),
                   discovery_labels=dict(params.get("discovery_labels") or {}),
                   waypoints=list(params.get("waypoints") or []), crds_file=params.get("gateway_api_crds_file") or "",
                   crds_url=params.get("gateway_api_crds_url") or "", prune=params.get("prune", True) is not False,
                   remove_control_plane=params.get("remove_control_plane", True) is not False)

    @property
    def crds_source(self) -> str:
        return self.crds_file or self.crds_url


@dataclass
class ClusterView:
    """What the plan needs of the cluster: istio_info's facts, the namespaces, the Gateway API CRD."""

    facts: Dict[str, Any] = field(default_factory=dict)
    namespaces: List[str] = field(default_factory=list)
    gateway_api: bool = False

    @property
    def revisions(self) -> List[Dict[str, Any]]:
        return list(self.facts.get("revisions") or [])

    @property
    def control_planes(self) -> List[Dict[str, Any]]:
        return list(self.facts.get("control_planes") or [])

    def agent(self, kind: str) -> Optional[Dict[str, Any]]:
        return self.facts.get(kind)


# -- the request --------------------------------------------------------------------------------

def request_problems(request: AmbientRequest, crds_file_is_file: bool) -> List[str]:
    """What is wrong with the request itself, before the cluster is read."""
    problems = []
    if request.state not in STATES:
        problems.append("istio_state must be present or absent, not %r" % request.state)
    if request.control_plane.profile not in PROFILES:
        problems.append("istio_profile must be ambient or openshift-ambient, not %r" % request.control_plane.profile)
    if request.crds_file and request.crds_url:
        problems.append("the Gateway API CRDs come from istio_gateway_api_crds_file or istio_gateway_api_crds_url, "
                        "not both")
    elif request.crds_file and not crds_file_is_file and request.state == "present":
        problems.append("istio_gateway_api_crds_file %s is not a file" % request.crds_file)
    return problems


def values_problems(request: AmbientRequest) -> List[str]:
    """The agents' values, type-checked now: the CNI must not fail after the control plane is in."""
    problems = []
    for what, values in (("istio_cni_values", request.cni_values), ("istio_ztunnel_values", request.ztunnel_values)):
        try:
            check_value_types(values, what)
        except IstioError as exc:
            problems.append(str(exc))
    return problems


def normalized_waypoints(waypoints: Sequence[Any]) -> Tuple[List[Dict[str, Any]], List[str]]:
    """Each waypoint with its defaults (name, state, waypoint_for, enrolment lists), and what is wrong."""
    found, problems = [], []
    for index, entry in enumerate(waypoints):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("namespace"), str) or not entry["namespace"]:
            problems.append("istio_waypoints[%d] must be a mapping with a namespace" % index)
            continue
        waypoint = dict(entry)
        waypoint["name"] = waypoint.get("name") or DEFAULT_WAYPOINT
        waypoint["state"] = waypoint.get("state") or "present"
        waypoint["waypoint_for"] = waypoint.get("waypoint_for") or "service"
        for key in WAYPOINT_LISTS:
            waypoint[key] = list(waypoint.get(key) or [])
        if waypoint["state"] not in STATES:
            problems.append("istio_waypoints[%d].state must be present or absent, not %r" % (index, waypoint["state"]))
        found.append(waypoint)
    return found, problems


def wanted_waypoints(waypoints: Sequence[Mapping[str, Any]]) -> List[Mapping[str, Any]]:
    return [w for w in waypoints if w.get("state", "present") == "present"]


# -- values -------------------------------------------------------------------------------------

def discovery_values(values: Mapping[str, Any], discovery_labels: Mapping[str, str]) -> Dict[str, Any]:
    """The user's values plus discovery selectors for the labels, unless the values choose their own."""
    if not discovery_labels or get_path(values, "meshConfig.discoverySelectors"):
        return dict(values)
    return deep_merge(values, {"meshConfig": {"discoverySelectors": [{"matchLabels": dict(discovery_labels)}]}})


def control_plane_values(user_values: Mapping[str, Any], ztunnel_namespace: str) -> Dict[str, Any]:
    """What the control_plane role applies: the values and the trusted ztunnel namespace."""
    return deep_merge(user_values, {"pilot": {"trustedZtunnelNamespace": ztunnel_namespace}})


def cni_values(user_values: Mapping[str, Any]) -> Dict[str, Any]:
    """Ambient's CNI reconciles the pods' iptables rules on start; the user's values win."""
    return deep_merge({"cni": {"ambient": {"reconcileIptablesOnStartup": True}}}, user_values)


# -- the cluster --------------------------------------------------------------------------------

def skew_problems(revision: str, version: str, agents: Sequence[Tuple[str, str]],
                  others: Sequence[Mapping[str, Any]], running: Sequence[Tuple[str, Optional[str]]]) -> List[str]:
    """``_dataplane``'s skew rule for each agent against the new revision and every other one, and for the
    agents running now against the new revision (ztunnel follows it, so never newer)."""
    planes = [(revision, version)] + [(r["name"], r.get("version") or "") for r in others if r["name"] != revision]
    pairs = [(agent, agent_version, plane_version, plane, agent == "ztunnel" and plane == revision)
             for agent, agent_version in agents for plane, plane_version in planes if plane_version]
    pairs += [(agent + RUNNING_NOW, running_version, version, revision, agent == "ztunnel")
              for agent, running_version in running if running_version]
    problems = []
    for agent, agent_version, plane_version, plane, followed in pairs:
        problem = dataplane.skew_problem(agent, agent_version, plane_version, followed)
        if problem:
            problems.append("%s (revision %s)" % (problem, plane))
    return problems


def singleton_problems(request: AmbientRequest, view: ClusterView) -> List[str]:
    problems = []
    for kind, namespace in ((dataplane.CNI, request.cni_namespace), (dataplane.ZTUNNEL, request.ztunnel_namespace)):
        problem = dataplane.singleton_problem(kind, namespace, (view.agent(kind) or {}).get("namespace"))
        if problem:
            problems.append(problem)
    return problems


def required_namespaces(ambient_namespaces: Sequence[str], waypoints: Sequence[Mapping[str, Any]]) -> List[str]:
    """Namespaces that must exist: those enrolled, those holding a waypoint and those a waypoint enrols."""
    wanted = list(ambient_namespaces)
    for waypoint in wanted_waypoints(waypoints):
        wanted += [waypoint["namespace"]] + list(waypoint.get("enroll_namespaces") or [])
    return list(dict.fromkeys(wanted))


def namespace_problem(required: Sequence[str], existing: Sequence[str]) -> Optional[str]:
    missing = [name for name in required if name not in existing]
    if not missing:
        return None
    return "namespaces %s do not exist (enrolled or holding a waypoint); create them first" % ", ".join(missing)


def gateway_api_problem(waypoints: Sequence[Mapping[str, Any]], present: bool, source: str) -> Optional[str]:
    if not wanted_waypoints(waypoints) or present or source:
        return None
    return ("waypoints need the Kubernetes Gateway API CRDs, which this cluster lacks; set "
            "istio_gateway_api_crds_file or istio_gateway_api_crds_url")


# -- what each step does ------------------------------------------------------------------------

def namespace_labels(system: Sequence[str], ambient_namespaces: Sequence[str], discovery_labels: Mapping[str, str],
                     existing: Sequence[str], check_mode: bool) -> Dict[str, Dict[str, str]]:
    """The labels istio_labels owns: the discovery labels on the mesh's own namespaces (in check mode only on
    those that exist already) and on the enrolled ones, which also get the ambient data plane mode."""
    labels: Dict[str, Dict[str, str]] = {}
    if discovery_labels:
        for name in system:
            if not check_mode or name in existing:
                labels[name] = dict(discovery_labels)
    for name in ambient_namespaces:
        labels[name] = dict(discovery_labels, **{DATAPLANE_MODE_LABEL: "ambient"})
    return labels


def enrol_now(check_mode: bool, namespace: str, existing: Sequence[str]) -> bool:
    """In check mode the labels' record namespace (the control plane's) may not exist yet."""
    return not check_mode or namespace in existing


def can_follow(check_mode: bool, revision: str, version: str, revisions: Sequence[Mapping[str, Any]]) -> bool:
    """In check mode ztunnel can follow only a revision that runs that version already."""
    return not check_mode or any(r["name"] == revision and r.get("version") == version for r in revisions)


def should_prune(prune: bool, check_mode: bool, name: str, namespace: str,
                 control_planes: Sequence[Mapping[str, Any]]) -> bool:
    """The role's prune step cannot predict in check mode for a control plane not installed yet."""
    installed = any(c["name"] == name and c["namespace"] == namespace for c in control_planes)
    return prune and (installed or not check_mode)


def waypoints_now(check_mode: bool, gateway_api: bool) -> bool:
    """In check mode the Gateway API CRDs this run would install are not there to predict with."""
    return not check_mode or gateway_api


# -- the plan -----------------------------------------------------------------------------------

def check_request(request: AmbientRequest, crds_file_is_file: bool) -> List[Dict[str, Any]]:
    """The request's own problems (AmbientRefused), before the cluster is read; the waypoints with defaults."""
    waypoints, problems = normalized_waypoints(request.waypoints)
    problems = request_problems(request, crds_file_is_file) + problems
    if problems:
        raise AmbientRefused(problems)
    return waypoints


def _try(problems: List[str], action, *args: Any) -> Any:
    try:
        return action(*args)
    except IstioError as exc:
        problems.append(str(exc))
        return None


def plan(request: AmbientRequest, catalog: VersionCatalog, view: Optional[ClusterView], check_mode: bool,
         crds_file_is_file: bool) -> Dict[str, Any]:
    """The whole plan, or AmbientRefused naming every problem. ``view`` is needed only for ``present``."""
    waypoints = check_request(request, crds_file_is_file)
    if request.state != "present":
        return {"state": request.state, "waypoints": waypoints}
    problems: List[str] = []
    view = view or ClusterView()
    control_plane = request.control_plane
    user_values = discovery_values(control_plane.values, request.discovery_labels)
    planned = _try(problems, plan_revision, dataclasses.replace(control_plane, values=user_values,
                                                                ztunnel_namespace=request.ztunnel_namespace),
                   catalog)
    problems += values_problems(request)
    versions = {kind: _try(problems, catalog.resolve, wanted or control_plane.version)
                for kind, wanted in ((dataplane.CNI, request.cni_version),
                                     (dataplane.ZTUNNEL, request.ztunnel_version))}
    if planned is not None and None not in versions.values():
        problems += skew_problems(
            planned.name, planned.version.name,
            [("istio-cni", versions[dataplane.CNI].name), ("ztunnel", versions[dataplane.ZTUNNEL].name)],
            view.revisions, [("istio-cni", (view.agent(dataplane.CNI) or {}).get("version")),
                             ("ztunnel", (view.agent(dataplane.ZTUNNEL) or {}).get("version"))])
    problems += singleton_problems(request, view)
    required = required_namespaces(request.ambient_namespaces, waypoints)
    problems += [p for p in (namespace_problem(required, view.namespaces),
                             gateway_api_problem(waypoints, view.gateway_api, request.crds_source)) if p]
    if problems:
        raise AmbientRefused(problems)
    follow = can_follow(check_mode, planned.name, planned.version.name, view.revisions)
    labels = namespace_labels([control_plane.namespace, request.cni_namespace, request.ztunnel_namespace],
                              request.ambient_namespaces, request.discovery_labels, view.namespaces, check_mode)
    return {
        "state": request.state, "revision": planned.name, "version": planned.version.name,
        "cni_version": versions[dataplane.CNI].name, "ztunnel_version": versions[dataplane.ZTUNNEL].name,
        "profile": control_plane.profile, "dual_stack": control_plane.dual_stack,
        "control_plane_values": control_plane_values(user_values, request.ztunnel_namespace),
        "cni_values": cni_values(request.cni_values),
        "cni_namespace": request.cni_namespace, "ztunnel_namespace": request.ztunnel_namespace,
        "prune": should_prune(request.prune, check_mode, control_plane.name, control_plane.namespace,
                              view.control_planes),
        "ztunnel_follows": follow,
        "ztunnel_control_plane": control_plane.name if follow else "",
        "ztunnel_control_plane_namespace": control_plane.namespace if follow else "",
        "namespaces_required": required,
        "labels": labels, "labels_state": "present" if labels else "absent",
        "enrol": enrol_now(check_mode, control_plane.namespace, view.namespaces),
        "gateway_api": {"present": view.gateway_api, "source": request.crds_source,
                        "download": bool(request.crds_url)},
        "waypoints": waypoints, "install_waypoints": waypoints_now(check_mode, view.gateway_api),
    }


# -- the result ---------------------------------------------------------------------------------

def summary(request: AmbientRequest, view: Optional[ClusterView], check_mode: bool) -> Dict[str, Any]:
    """``istio_ambient``: like ``kubectl get istio,istiocni,ztunnel`` plus the waypoints this run handled."""
    if request.state != "present" or view is None:
        return {"control_plane": {}, "cni": None, "ztunnel": None, "waypoints": [], "state": request.state}
    name, namespace = request.control_plane.name, request.control_plane.namespace
    found = [c for c in view.control_planes if c["name"] == name and c["namespace"] == namespace]
    waypoints, _problems = normalized_waypoints(request.waypoints)
    handled = waypoints if waypoints_now(check_mode, view.gateway_api) else []
    return {"control_plane": found[0] if found else {}, "cni": view.agent(dataplane.CNI),
            "ztunnel": view.agent(dataplane.ZTUNNEL),
            "waypoints": ["%s/%s" % (w["namespace"], w["name"]) for w in handled], "state": request.state}


def message(request: AmbientRequest, facts: Mapping[str, Any]) -> str:
    """One line for the play output."""
    if facts["state"] != "present":
        return "removed the waypoints, ztunnel, the CNI%s" % (
            " and the control plane" if request.remove_control_plane else "")
    cni, ztunnel = facts["cni"] or {}, facts["ztunnel"] or {}
    return "control plane %s: %s; CNI ready: %s; ztunnel ready: %s (following %s)" % (
        request.control_plane.name, facts["control_plane"].get("status") or "not found", bool(cni.get("ready")),
        bool(ztunnel.get("ready")), ztunnel.get("revision") or "nothing")
