# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mutual TLS for the whole mesh or for chosen namespaces: ``PeerAuthentication`` objects named ``default``.

Mesh-wide, the policy lives in the control plane's (root) namespace; per namespace, in each namespace.
The policies are one unit (``mtls/<name>`` recorded in the root namespace), so a namespace dropped from
the list loses its policy and removal deletes exactly the policies this collection created. A
``PeerAuthentication`` someone else made is never overwritten unless asked (``force``).

Switching to ``STRICT`` refuses, before any write, while pods in scope run without a proxy: they send
plain text, which strict workloads then drop. Ambient pods are in the mesh through ztunnel.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError
from ansible_collections.servicemesh.istio.plugins.module_utils._info import DATAPLANE_MODE_LABEL, proxy_image
from ansible_collections.servicemesh.istio.plugins.module_utils._inuse import pod_injected_revision, pod_is_running
from ansible_collections.servicemesh.istio.plugins.module_utils._revision import validate_dns_label
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s import _inventory as inventory
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._inventory import InventoryRecord, UnitKey
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._apply import CREATED, ObjectResult
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._unit import UnitResult, remove_unit, sync_unit

MTLS = "mtls"
API_VERSION = "security.istio.io/v1"
KIND = "PeerAuthentication"
POLICY_NAME = "default"
MODES = ("STRICT", "PERMISSIVE")
AMBIENT = "ambient"
SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")
# The mesh's own pods: they carry no sidecar by design and take no part in peer authentication.
MESH_AGENTS = {"app": ("istiod", "ztunnel"), "k8s-app": ("istio-cni-node",)}


class MtlsError(IstioError):
    """A switch that cannot be made as asked."""


@dataclass
class MtlsRequest:
    """What istio_mtls takes."""

    mode: str = "STRICT"
    namespace: str = "istio-system"  # the control plane's (root) namespace, where the record is kept
    namespaces: List[str] = field(default_factory=list)  # empty: mesh-wide
    name: str = "default"
    allow_uninjected: bool = False
    force: bool = False
    ignored_namespaces: List[str] = field(default_factory=lambda: list(SYSTEM_NAMESPACES))

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "MtlsRequest":
        return cls(mode=params["mode"], namespace=params["namespace"], namespaces=list(params["namespaces"] or []),
                   name=params["name"], allow_uninjected=params["allow_uninjected"], force=params["force"],
                   ignored_namespaces=list(params["ignored_namespaces"]))

    @property
    def key(self) -> UnitKey:
        return UnitKey(MTLS, self.name, self.namespace)

    @property
    def mesh_wide(self) -> bool:
        return not self.namespaces

    def policy_namespaces(self) -> List[str]:
        return sorted(set(self.namespaces)) if self.namespaces else [self.namespace]


def validate(request: MtlsRequest) -> None:
    if request.mode not in MODES:
        raise MtlsError("mode must be one of %s, got %r" % (", ".join(MODES), request.mode))
    validate_dns_label(request.name, "name")
    validate_dns_label(request.namespace, "namespace")
    for name in request.namespaces:
        validate_dns_label(name, "namespaces entry")


def policy(namespace: str, mode: str) -> Dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": POLICY_NAME, "namespace": namespace},
            "spec": {"mtls": {"mode": mode}}}


def policy_ref(namespace: str) -> ObjectRef:
    return ObjectRef.of(API_VERSION, KIND, POLICY_NAME, namespace)


# -- which pods would lose traffic ------------------------------------------------------------------

def _labels(obj: Mapping[str, Any]) -> Dict[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def has_sidecar(pod: Mapping[str, Any]) -> bool:
    return proxy_image(pod) is not None or pod_injected_revision(pod) is not None


def in_ambient(pod: Mapping[str, Any], namespace: Optional[Mapping[str, Any]]) -> bool:
    """The pod's own label wins (``none`` opts it out); else its namespace's."""
    own = _labels(pod).get(DATAPLANE_MODE_LABEL)
    if own:
        return own == AMBIENT
    return namespace is not None and _labels(namespace).get(DATAPLANE_MODE_LABEL) == AMBIENT


def is_mesh_agent(pod: Mapping[str, Any]) -> bool:
    labels = _labels(pod)
    return any(labels.get(key) in values for key, values in MESH_AGENTS.items())


def in_scope(pod: Mapping[str, Any], request: MtlsRequest) -> bool:
    namespace = (pod.get("metadata") or {}).get("namespace")
    if request.mesh_wide:
        return namespace not in request.ignored_namespaces
    return namespace in request.namespaces


def uninjected_pods(pods: Iterable[Mapping[str, Any]], namespaces: Iterable[Mapping[str, Any]],
                    request: MtlsRequest) -> List[str]:
    """Running pods in scope that have no proxy and are not ambient, as ``namespace/name``."""
    by_name = {(ns.get("metadata") or {}).get("name"): ns for ns in namespaces}
    found = []
    for pod in pods:
        meta = pod.get("metadata") or {}
        if not pod_is_running(pod) or not in_scope(pod, request) or is_mesh_agent(pod) or has_sidecar(pod):
            continue
        if (pod.get("spec") or {}).get("hostNetwork") or in_ambient(pod, by_name.get(meta.get("namespace"))):
            continue
        found.append("%s/%s" % (meta.get("namespace"), meta.get("name")))
    return sorted(found)


# -- checks before the first write ------------------------------------------------------------------

def foreign_policies(live: Mapping[ObjectRef, Optional[Mapping[str, Any]]],
                     record: Optional[InventoryRecord]) -> List[ObjectRef]:
    """Policies that exist but that this unit never applied (not in its record): someone else's."""
    known = {entry.ref for entry in record.entries} if record else set()
    return sorted(ref for ref, obj in live.items() if obj is not None and ref not in known)


def refusals(request: MtlsRequest, missing_namespaces: Sequence[str], foreign: Sequence[ObjectRef],
             uninjected: Sequence[str]) -> List[str]:
    """Why the switch may not be made; empty when it may."""
    problems = []
    if missing_namespaces:
        problems.append("namespaces %s do not exist" % ", ".join(missing_namespaces))
    if foreign and not request.force:
        problems.append("%s already exist%s and %s not made by this collection; set force to take %s over"
                        % (", ".join(str(ref) for ref in foreign), "s" if len(foreign) == 1 else "",
                           "was" if len(foreign) == 1 else "were", "it" if len(foreign) == 1 else "them"))
    if request.mode == "STRICT" and uninjected and not request.allow_uninjected:
        problems.append("%d pods without a sidecar would lose traffic from the mesh under STRICT mTLS: %s; inject "
                        "them (or enrol them in ambient mode) first, or set allow_uninjected"
                        % (len(uninjected), ", ".join(uninjected)))
    return problems


def _missing(cluster: Any, names: Iterable[str]) -> List[str]:
    return [name for name in names if cluster.get(ObjectRef.of("v1", "Namespace", name)) is None]


def _not_served(cluster: Any) -> MtlsError:
    return MtlsError("%s (%s) is not served by %s: install the Istio CRDs (a control plane) first"
                     % (KIND, API_VERSION, cluster.host))


def _refuse(request: MtlsRequest, missing: Sequence[str], foreign: Sequence[ObjectRef],
            uninjected: List[str]) -> None:
    problems = refusals(request, missing, foreign, uninjected)
    if problems:
        raise MtlsError("mTLS not switched to %s: %s" % (request.mode, "; ".join(problems)))


def predicted_without_crds(request: MtlsRequest) -> lifecycle.Outcome:
    """Check mode before the control plane exists (an earlier task of the same run installs it): every
    policy would be created."""
    created = [ObjectResult(policy_ref(ns), CREATED, after=policy(ns, request.mode), note="the Istio CRDs are not "
                            "installed yet") for ns in request.policy_namespaces()]
    outcome = lifecycle.Outcome(results=[UnitResult(created, True, key=request.key)])
    outcome.facts = _facts(request, [], [])
    return outcome


def _facts(request: MtlsRequest, uninjected: List[str], adopted: List[ObjectRef]) -> Dict[str, Any]:
    return {"mode": request.mode, "mesh_wide": request.mesh_wide, "namespaces": request.policy_namespaces(),
            "uninjected": uninjected, "adopted": [str(ref) for ref in adopted]}


# -- the unit -------------------------------------------------------------------------------------

def apply_mtls(cluster: Any, request: MtlsRequest, options: lifecycle.Options) -> lifecycle.Outcome:
    """Everything is read and checked before the first write."""
    validate(request)
    served = cluster.is_served(API_VERSION, KIND)
    if not served and not options.check_mode:
        raise _not_served(cluster)
    targets = request.policy_namespaces()
    uninjected = (uninjected_pods(cluster.list("v1", "Pod"), cluster.list("v1", "Namespace"), request)
                  if request.mode == "STRICT" else [])
    if not served:
        # check mode before the control plane exists (an earlier task of the run installs it, and its
        # namespace): the pods and the other namespaces are checked all the same
        _refuse(request, _missing(cluster, sorted(set(targets) - {request.namespace})), [], uninjected)
        outcome = predicted_without_crds(request)
        outcome.facts["uninjected"] = uninjected
        return outcome
    missing = _missing(cluster, sorted(set(targets) | {request.namespace}))
    record = inventory.load(cluster, request.namespace, MTLS, request.name)
    foreign = foreign_policies({policy_ref(ns): cluster.get(policy_ref(ns)) for ns in targets if ns not in missing},
                               record)
    _refuse(request, missing, foreign, uninjected)
    synced = sync_unit(cluster, request.key, [policy(ns, request.mode) for ns in targets],
                       metadata={"mode": request.mode, "meshWide": request.mesh_wide}, check_mode=options.check_mode,
                       force_conflicts=options.force_conflicts or request.force)
    outcome = lifecycle.Outcome(results=[synced])
    outcome.facts = _facts(request, uninjected, foreign)
    return outcome


def remove_mtls(cluster: Any, request: MtlsRequest, options: lifecycle.Options) -> lifecycle.Outcome:
    """Deletes the policies this collection created; ones it took over (``force``) stay as they are."""
    validate_dns_label(request.name, "name")
    removed = remove_unit(cluster, request.key, check_mode=options.check_mode, wait=options.wait,
                          timeout=options.wait_timeout)
    outcome = lifecycle.Outcome(results=[removed])
    outcome.facts = {"mode": None, "mesh_wide": request.mesh_wide, "namespaces": [], "uninjected": [],
                     "adopted": []}
    return outcome
