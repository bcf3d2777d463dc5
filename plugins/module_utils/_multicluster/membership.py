# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who is in the mesh, who leaves it, and what each cluster runs on its data plane.

A cluster marked as leaving (``istio_cluster_state: absent``) is cleaned like a
full teardown cleans every cluster, and the clusters that stay drop the remote
secrets that point at it; nothing else of theirs changes. On the data plane
(primaries, remotes, the config cluster) the Istio CNI and the ingress and egress
gateways are options; a control plane that injects pods on clusters with the CNI
gets ``pilot.cni.enabled``, and one that would inject pods on clusters both with and
without it is refused (one istiod has one injection template).

Pure: the role hands in one record per cluster (``Member.from_record``) and gets a
plan for one of them (``plan_for``); the ``multicluster_membership`` filter is the
adapter.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError

ROLES = ("primary", "remote", "external", "config")
DATA_PLANE_ROLES = ("primary", "remote", "config")
# the roles whose control plane holds remote secrets, and the roles it holds them for
READER_ROLES = ("primary", "external")
READ_ROLES = ("primary", "remote")
STATES = ("present", "absent")
CNI_VALUES: Dict[str, Any] = {"pilot": {"cni": {"enabled": True}}}
GATEWAY_PRESETS = ("ingress", "egress")
# The gateways the role puts on a cluster of its own accord: the external cluster's ingress to the external
# istiod, every other cluster's east-west gateway. As in gateway.DEFAULT_NAMES (a unit test keeps them equal),
# not imported from there: that module brings the chart renderer and the cluster client to the controller.
EXTERNAL_INGRESS_GATEWAY = "istio-ingressgateway"
EASTWEST_GATEWAY = "istio-eastwestgateway"


@dataclass(frozen=True)
class GatewayOption:
    """An ingress or egress gateway a data-plane cluster asks for."""

    preset: str
    enabled: bool = False
    name: str = ""
    namespace: str = ""
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Member:
    """One cluster of the inventory, as the role describes it."""

    host: str
    name: str
    role: str
    state: str = "present"
    primary_host: str = ""
    namespace: str = "istio-system"
    control_plane: str = "default"
    cni: bool = False
    gateways: Sequence[GatewayOption] = ()
    gateway_api_file: str = ""
    gateway_api_url: str = ""

    @property
    def leaving(self) -> bool:
        return self.state == "absent"

    @property
    def data_plane(self) -> bool:
        return self.role in DATA_PLANE_ROLES

    @staticmethod
    def from_record(record: Mapping[str, Any]) -> "Member":
        """A member from the role's record; wrong roles and states are refused."""
        role = record.get("role") or ""
        state = record.get("state") or "present"
        if role not in ROLES:
            raise IstioError("cluster %s: istio_cluster_role must be one of %s, got %r"
                             % (record.get("host"), ", ".join(ROLES), role))
        if state not in STATES:
            raise IstioError("cluster %s: istio_cluster_state must be present or absent, got %r"
                             % (record.get("host"), state))
        gateways = []
        for preset in GATEWAY_PRESETS:
            option = record.get(preset) or {}
            gateways.append(GatewayOption(preset=preset, enabled=bool(option.get("enabled")),
                                          name=option.get("name") or "istio-%sgateway" % preset,
                                          namespace=option.get("namespace") or "istio-%s" % preset,
                                          values=dict(option.get("values") or {})))
        return Member(host=str(record["host"]), name=str(record.get("name") or record["host"]), role=role,
                      state=state, primary_host=record.get("primary_host") or "",
                      namespace=record.get("namespace") or "istio-system",
                      control_plane=record.get("control_plane") or "default", cni=bool(record.get("cni")),
                      gateways=tuple(gateways), gateway_api_file=record.get("gateway_api_file") or "",
                      gateway_api_url=record.get("gateway_api_url") or "")


@dataclass(frozen=True)
class Mesh:
    """The whole inventory: its clusters, its topology, and whether the mesh itself is removed."""

    members: Sequence[Member]
    topology: str
    state: str = "present"
    external_namespace: str = "external-istiod"
    external_revision: str = "external-istiod"

    def member(self, host: str) -> Member:
        for member in self.members:
            if member.host == host:
                return member
        raise IstioError("%s is not a cluster of the mesh (no istio_cluster_role)" % host)

    def leaves(self, member: Member) -> bool:
        """Whether ``member`` is cleaned in this run (it leaves, or the whole mesh goes)."""
        return self.state == "absent" or member.leaving

    @property
    def leavers(self) -> List[Member]:
        return [m for m in self.members if self.leaves(m)]

    @property
    def stayers(self) -> List[Member]:
        return [m for m in self.members if not self.leaves(m)]


def readable(mesh: Mesh, reader: Member) -> List[Member]:
    """The clusters whose remote secret ``reader``'s control plane holds (the config cluster's aside)."""
    if reader.role not in READER_ROLES:
        return []
    return [m for m in mesh.members if m.host != reader.host and m.role in READ_ROLES]


def injected_by(mesh: Mesh, injector: Member) -> List[Member]:
    """The data-plane clusters whose pods ``injector``'s control plane injects (staying ones)."""
    stayers = mesh.stayers
    if injector.role == "primary":
        return [m for m in stayers if m.host == injector.host
                or (m.role == "remote" and mesh.topology == "primary-remote" and m.primary_host == injector.host)]
    if injector.role == "external":
        return [m for m in stayers if m.data_plane]
    return []


def problems(mesh: Mesh) -> List[str]:
    """Why this run cannot go ahead; empty when it can. The same for every cluster of the mesh."""
    found: List[str] = []
    stayers = mesh.stayers
    if mesh.state == "present" and stayers and len(stayers) < len(mesh.members):
        for leaver in mesh.leavers:
            if leaver.role in ("external", "config"):
                found.append("%s is the external control plane's %s cluster: it leaves only with the whole mesh "
                             "(istio_multicluster_state=absent)" % (leaver.host, leaver.role))
            served = [m.host for m in stayers if m.role == "remote" and m.primary_host == leaver.host]
            if served:
                found.append("%s runs the control plane of the remote clusters %s, which stay: mark them "
                             "leaving too, or give them another primary" % (leaver.host, ", ".join(served)))
    for member in mesh.members:
        if member.gateway_api_file and member.gateway_api_url:
            found.append("%s: the Gateway API CRDs come from istio_gateway_api_crds_file or istio_gateway_api_crds_url, "
                         "not both" % member.host)
    if mesh.state == "present":
        for injector in stayers:
            clusters = injected_by(mesh, injector)
            with_cni = sorted(m.host for m in clusters if m.cni)
            without = sorted(m.host for m in clusters if not m.cni)
            if with_cni and without:
                found.append("the control plane on %s injects pods on %s with the Istio CNI and on %s without it: "
                             "set istio_multicluster_cni the same on all of them"
                             % (injector.host, ", ".join(with_cni), ", ".join(without)))
    return found


def control_plane_values(mesh: Mesh, member: Member) -> Dict[str, Dict[str, Any]]:
    """Values for this cluster's control planes (``namespace/name``), under the topology's and the user's."""
    values: Dict[str, Dict[str, Any]] = {}
    if mesh.leaves(member):
        return values
    if member.role == "primary" and any(m.cni for m in injected_by(mesh, member)):
        values["%s/%s" % (member.namespace, member.control_plane)] = CNI_VALUES
    if member.role in ("remote", "config") and member.cni:
        values["%s/%s" % (member.namespace, member.control_plane)] = CNI_VALUES
    if member.role == "external" and any(m.cni for m in injected_by(mesh, member)):
        values["%s/%s" % (mesh.external_namespace, mesh.external_revision)] = CNI_VALUES
    return values


def gateways(member: Member) -> List[Dict[str, Any]]:
    """The ingress and egress gateways of a data-plane cluster, as istio_gateway takes them."""
    if not member.data_plane:
        return []
    return [{"preset": g.preset, "name": g.name, "namespace": g.namespace, "values": dict(g.values)}
            for g in member.gateways if g.enabled]


def own_gateways(member: Member) -> List[Dict[str, str]]:
    """Every gateway the role may have installed on this cluster, which the teardown removes before the control
    plane (and its in-use check leaves out): the topology's own gateway, then the data plane's options."""
    topology_gateway = EXTERNAL_INGRESS_GATEWAY if member.role == "external" else EASTWEST_GATEWAY
    return ([{"name": topology_gateway, "namespace": member.namespace}]
            + [{"name": g["name"], "namespace": g["namespace"]} for g in gateways(member)])


def plan_for(mesh: Mesh, host: str) -> Dict[str, Any]:
    """What the cluster ``host`` does in this run."""
    member = mesh.member(host)
    leaving = mesh.leaves(member)
    reads = readable(mesh, member)
    if not leaving:
        reads = [m for m in reads if not mesh.leaves(m)]
    drop = [] if leaving else [{"host": m.host, "name": m.name}
                               for m in readable(mesh, member) if mesh.leaves(m)]
    return {
        "leaving": leaving,
        "leavers": [] if mesh.state == "absent" else [m.host for m in mesh.leavers],
        "problems": problems(mesh),
        "reads": [m.host for m in reads],
        "drop_secrets": drop,
        "cni": member.data_plane and member.cni,
        "control_plane_values": control_plane_values(mesh, member),
        "gateways": gateways(member),
        "own_gateways": own_gateways(member),
        "gateway_api": member.data_plane and not leaving and bool(member.gateway_api_file or member.gateway_api_url),
    }


def mesh_from_records(records: Sequence[Mapping[str, Any]], topology: str, state: str = "present",
                      external_namespace: Optional[str] = None, external_revision: Optional[str] = None) -> Mesh:
    """The mesh from the role's records, one per cluster."""
    if state not in STATES:
        raise IstioError("istio_multicluster_state must be present or absent, got %r" % state)
    return Mesh(members=tuple(Member.from_record(r) for r in records), topology=topology, state=state,
                external_namespace=external_namespace or "external-istiod",
                external_revision=external_revision or "external-istiod")
