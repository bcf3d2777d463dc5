# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waypoint proxies for ambient mode: a Gateway of class ``istio-waypoint`` and its users.

A waypoint is one unit (``waypoint/<name>`` in the waypoint's namespace): the Gateway
we create, and the ``istio.io/use-waypoint`` (plus ``istio.io/use-waypoint-namespace``
when crossing namespaces) labels we put on the namespaces and services that send
their traffic through it (see ``_labels``). Namespaces enrolled from elsewhere are
let in through the listener's ``allowedRoutes``. The labels go on only once istiod
has programmed the Gateway, and come off before it is deleted, so traffic is never
sent to a waypoint that is not there.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

from ansible_collections.servicemesh.istio.plugins.module_utils import _labels as labels
from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError
from ansible_collections.servicemesh.istio.plugins.module_utils._revision import validate_dns_label
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s import _inventory as inventory
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._inventory import UnitKey
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._readiness import Readiness
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._waiter import Check

WAYPOINT = "waypoint"
GATEWAY_API_VERSION = "gateway.networking.k8s.io/v1"
GATEWAY_KIND = "Gateway"
WAYPOINT_CLASS = "istio-waypoint"
HBONE_PORT = 15008
WAYPOINT_FOR_LABEL = "istio.io/waypoint-for"
USE_WAYPOINT_LABEL = "istio.io/use-waypoint"
USE_WAYPOINT_NAMESPACE_LABEL = "istio.io/use-waypoint-namespace"
REV_LABEL = "istio.io/rev"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
TRAFFIC_TYPES = ("service", "workload", "all", "none")
ENROLLED = {"Service": "service", "ServiceAccount": "service account", "Pod": "pod"}


class WaypointError(IstioError):
    """A waypoint that cannot be installed as asked."""


@dataclass
class Waypoint:
    """What the istio_waypoint module takes."""

    name: str
    namespace: str
    traffic_for: str = "service"
    revision: Optional[str] = None
    enroll_namespaces: List[str] = field(default_factory=list)
    enroll_services: List[str] = field(default_factory=list)  # "name" (waypoint's namespace) or "namespace/name"
    enroll_service_accounts: List[str] = field(default_factory=list)  # the same, for workload traffic
    enroll_pods: List[str] = field(default_factory=list)
    allowed_namespaces: Optional[List[str]] = None
    allowed_namespace_selector: Optional[Dict[str, Any]] = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "Waypoint":
        return cls(name=params["name"], namespace=params["namespace"], traffic_for=params.get("waypoint_for") or
                   "service", revision=params.get("revision"),
                   enroll_namespaces=list(params.get("enroll_namespaces") or []),
                   enroll_services=list(params.get("enroll_services") or []),
                   enroll_service_accounts=list(params.get("enroll_service_accounts") or []),
                   enroll_pods=list(params.get("enroll_pods") or []),
                   allowed_namespaces=params.get("allowed_namespaces"),
                   allowed_namespace_selector=params.get("allowed_namespace_selector"))

    @property
    def key(self) -> UnitKey:
        return UnitKey(WAYPOINT, self.name, self.namespace)

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef.of(GATEWAY_API_VERSION, GATEWAY_KIND, self.name, self.namespace)

    def service_refs(self) -> List[ObjectRef]:
        return self._refs("Service", self.enroll_services)

    def workload_refs(self) -> List[ObjectRef]:
        """The service accounts and pods: they send workload (not service) traffic through the waypoint."""
        return self._refs("ServiceAccount", self.enroll_service_accounts) + self._refs("Pod", self.enroll_pods)

    def object_refs(self) -> List[ObjectRef]:
        return self.service_refs() + self.workload_refs()

    def _refs(self, kind: str, items: List[str]) -> List[ObjectRef]:
        refs = []
        for item in items:
            parts = item.split("/")
            if len(parts) > 2:
                raise WaypointError("enrolled %s %r must be a name or namespace/name" % (ENROLLED[kind], item))
            namespace, name = parts if len(parts) == 2 else (self.namespace, parts[0])
            refs.append(labels.namespaced_ref(kind, name, namespace or self.namespace))
        return refs

    def enrolled_namespaces(self) -> List[str]:
        """The namespaces of everything that sends its traffic through the waypoint."""
        return sorted(set(self.enroll_namespaces) | {ref.namespace for ref in self.object_refs()})


# -- input ----------------------------------------------------------------------------------------

def validate_object_name(ref: ObjectRef, what: str) -> None:
    """Services are named by DNS labels; service accounts and pods by DNS subdomains (dots allowed)."""
    if ref.kind == "Service" or not isinstance(ref.name, str) or len(ref.name) > 253:
        validate_dns_label(ref.name, what)
        return
    for part in ref.name.split("."):
        validate_dns_label(part, what)


def validate(waypoint: Waypoint) -> None:
    validate_dns_label(waypoint.name, "waypoint name")
    for name in waypoint.enrolled_namespaces():
        validate_dns_label(name, "enrolled namespace")
    for ref in waypoint.object_refs():
        validate_object_name(ref, "enrolled %s" % ENROLLED[ref.kind])
    if waypoint.traffic_for not in TRAFFIC_TYPES:
        raise WaypointError("waypoint_for must be one of %s" % ", ".join(TRAFFIC_TYPES))
    if waypoint.traffic_for == "none" and (waypoint.enroll_namespaces or waypoint.object_refs()):
        raise WaypointError("a waypoint for no traffic (waypoint_for: none) cannot have namespaces, services, "
                            "service accounts or pods enrolled")
    if waypoint.enroll_services and waypoint.traffic_for == "workload":
        raise WaypointError("services cannot use a waypoint for workload traffic; set waypoint_for to service "
                            "or all")
    if waypoint.workload_refs() and waypoint.traffic_for == "service":
        raise WaypointError("pods and service accounts send workload traffic, which a waypoint for service "
                            "traffic does not take; set waypoint_for to workload or all")
    if waypoint.allowed_namespaces is not None and waypoint.allowed_namespace_selector is not None:
        raise WaypointError("allowed_namespaces and allowed_namespace_selector are mutually exclusive")
    if waypoint.allowed_namespaces is None:
        return
    allowed = set(waypoint.allowed_namespaces)
    if allowed <= {waypoint.namespace}:
        allowed = {waypoint.namespace}  # no selector: the Gateway API's default, its own namespace
    missing = sorted(set(waypoint.enrolled_namespaces()) - allowed)
    if missing:
        raise WaypointError("namespaces %s are enrolled but not in allowed_namespaces; the waypoint would refuse "
                            "their traffic" % ", ".join(missing))


def allowed_routes(waypoint: Waypoint) -> Optional[Dict[str, Any]]:
    """The listener's allowedRoutes; none (the Gateway API default: its own namespace only) unless others use it.

    Without explicit allowed namespaces they are the enrolled ones, the waypoint's own included if enrolled."""
    if waypoint.allowed_namespace_selector is not None:
        selector = dict(waypoint.allowed_namespace_selector)
    else:
        names = sorted(set(waypoint.allowed_namespaces if waypoint.allowed_namespaces is not None
                           else waypoint.enrolled_namespaces()))
        if set(names) <= {waypoint.namespace}:
            return None
        selector = ({"matchLabels": {NAMESPACE_NAME_LABEL: names[0]}} if len(names) == 1 else
                    {"matchExpressions": [{"key": NAMESPACE_NAME_LABEL, "operator": "In", "values": names}]})
    return {"namespaces": {"from": "Selector", "selector": selector}}


def gateway(waypoint: Waypoint) -> Dict[str, Any]:
    gateway_labels = {WAYPOINT_FOR_LABEL: waypoint.traffic_for}
    if waypoint.revision:
        gateway_labels[REV_LABEL] = waypoint.revision
    listener: Dict[str, Any] = {"name": "mesh", "port": HBONE_PORT, "protocol": "HBONE"}
    routes = allowed_routes(waypoint)
    if routes:
        listener["allowedRoutes"] = routes
    return {"apiVersion": GATEWAY_API_VERSION, "kind": GATEWAY_KIND,
            "metadata": {"name": waypoint.name, "namespace": waypoint.namespace, "labels": gateway_labels},
            "spec": {"gatewayClassName": WAYPOINT_CLASS, "listeners": [listener]}}


def use_labels(waypoint: Waypoint, namespace: str) -> Dict[str, str]:
    """What an object in ``namespace`` carries to send its traffic through the waypoint."""
    wanted = {USE_WAYPOINT_LABEL: waypoint.name}
    if namespace != waypoint.namespace:
        wanted[USE_WAYPOINT_NAMESPACE_LABEL] = waypoint.namespace
    return wanted


def enrolment(waypoint: Waypoint) -> List[labels.LabelTarget]:
    targets = [labels.LabelTarget(labels.namespace_ref(name), use_labels(waypoint, name))
               for name in waypoint.enroll_namespaces]
    targets += [labels.LabelTarget(ref, use_labels(waypoint, ref.namespace)) for ref in waypoint.object_refs()]
    return labels.merge_targets(targets)


# -- readiness ------------------------------------------------------------------------------------

def gateway_programmed(obj: Optional[Mapping[str, Any]]) -> Readiness:
    """istiod deploys the waypoint and then reports the Gateway ``Programmed``."""
    if obj is None:
        return False, "not found"
    generation = (obj.get("metadata") or {}).get("generation")
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") != "Programmed":
            continue
        observed = condition.get("observedGeneration")
        if generation is not None and observed is not None and observed < generation:
            return False, "istiod has not yet seen generation %s" % generation
        if condition.get("status") == "True":
            return True, "programmed"
        return False, "not programmed: %s" % (condition.get("message") or condition.get("reason") or "")
    return False, "not programmed yet (is an ambient control plane running?)"


# -- the unit -------------------------------------------------------------------------------------

def check_gateway_api(cluster: Any) -> None:
    if not cluster.is_served(GATEWAY_API_VERSION, GATEWAY_KIND):
        raise WaypointError("Gateway (%s) is not served by %s: waypoints need the Kubernetes Gateway API CRDs; "
                            "install them first (playbooks/ambient.yml does with istio_gateway_api_crds_file or "
                            "istio_gateway_api_crds_url)" % (GATEWAY_API_VERSION, cluster.host))


def install_waypoint(cluster: Any, waypoint: Waypoint, options: lifecycle.Options) -> lifecycle.Outcome:
    """Everything is read and checked before the first write."""
    validate(waypoint)
    check_gateway_api(cluster)
    labels.check_record_namespace(cluster, waypoint.key)
    targets = enrolment(waypoint)
    labels.read_targets(cluster, targets, labels.field_manager(waypoint.key), options.force_conflicts)
    outcome = labels.sync_labelled_unit(
        cluster, waypoint.key, [gateway(waypoint)], targets, options,
        metadata={"waypointFor": waypoint.traffic_for, "revision": waypoint.revision},
        checks=[Check(waypoint.ref, gateway_programmed)])
    outcome.facts = {"name": waypoint.name, "namespace": waypoint.namespace, "waypoint_for": waypoint.traffic_for,
                     "enrolled": [t.to_record() for t in targets]}
    return outcome


def remove_waypoint(cluster: Any, name: str, namespace: str, options: lifecycle.Options) -> lifecycle.Outcome:
    outcome = labels.remove_labelled_unit(cluster, UnitKey(WAYPOINT, name, namespace), options)
    outcome.facts = {"name": name, "namespace": namespace}
    return outcome


def waypoint_facts(cluster: Any) -> List[Dict[str, Any]]:
    """The waypoints this collection installed, with readiness and what uses them."""
    facts = []
    for record in inventory.list_records(cluster, kind=WAYPOINT):
        ref = ObjectRef.of(GATEWAY_API_VERSION, GATEWAY_KIND, record.key.name, record.key.namespace)
        ready, reason = gateway_programmed(cluster.get(ref) if cluster.is_served(GATEWAY_API_VERSION, GATEWAY_KIND)
                                           else None)
        facts.append({"name": record.key.name, "namespace": record.key.namespace, "ready": ready,
                      "not_ready_reason": "" if ready else reason,
                      "waypoint_for": record.metadata.get("waypointFor"),
                      "enrolled": record.metadata.get(labels.LABELLED_KEY) or []})
    return facts
