# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shape of a multi-cluster mesh, from the inventory: its topology and what each cluster runs.

The ``multicluster`` role describes every cluster in one record (its ``_mc_self`` fact: host,
name, role, network, primary_host, server) and asks, for one of them, which topology the mesh
has, which clusters run the control planes, and what this cluster runs. An inventory that
describes no mesh is refused here, on the controller, before any cluster is written.

Pure: the ``multicluster_topology`` and ``multicluster_prune`` filters are the adapters.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError

ROLES = ("primary", "remote", "external", "config")
DATA_PLANE_ROLES = ("primary", "remote", "config")
TOPOLOGIES = ("multi-primary", "primary-remote", "external")
AUTO = "auto"


class TopologyError(IstioError):
    """An inventory that does not describe a mesh, or a remote cluster without its primary."""


@dataclass(frozen=True)
class Options:
    """The mesh's options (the role's group variables) that the topology depends on."""

    topology: str = AUTO
    namespace: str = "istio-system"
    external_namespace: str = "external-istiod"
    name: str = "default"
    external_revision: str = "external-istiod"
    ca: Any = AUTO
    # the mesh group's hosts with istio_cluster_role, whether in the play or not
    inventory_hosts: Sequence[str] = ()


def choose_topology(requested: str, roles: Sequence[str]) -> str:
    """``auto`` follows the roles: an external cluster makes it external, a remote one primary-remote."""
    if requested != AUTO:
        return requested
    if "external" in roles:
        return "external"
    return "primary-remote" if "remote" in roles else "multi-primary"


def roles_fit(topology: str, roles: Sequence[str]) -> bool:
    """Whether the clusters' roles make a mesh of ``topology``."""
    kinds = set(roles)
    if topology == "multi-primary":
        return kinds == {"primary"}
    if topology == "primary-remote":
        return kinds <= {"primary", "remote"} and "primary" in kinds
    if topology == "external":
        return (roles.count("external") == 1 and roles.count("config") == 1
                and kinds <= {"external", "config", "remote"})
    return False


def describes_a_mesh(clusters: Sequence[Mapping[str, Any]], host: str, topology: str,
                     inventory_hosts: Sequence[str]) -> bool:
    """Every cluster has a role and is in the play, names are distinct, and the roles fit the topology."""
    hosts = [c["host"] for c in clusters]
    roles = [c.get("role") or "" for c in clusters]
    names = [c.get("name") for c in clusters]
    return (host in hosts and all(role in ROLES for role in roles) and topology in TOPOLOGIES
            and all(h in hosts for h in inventory_hosts) and len(set(names)) == len(names)
            and roles_fit(topology, roles))


def mesh_refusal(clusters: Sequence[Mapping[str, Any]], host: str, topology: str) -> str:
    roles = {str(c["host"]): str(c.get("role") or "") for c in clusters}
    return ("%s: the inventory does not describe a %s mesh. Every cluster is a host with istio_cluster_role "
            "(primary, remote, external or config), all of them in the play, with distinct istio_cluster_name; "
            "multi-primary has only primaries; primary-remote has primaries and remotes; an external control plane "
            "has one external cluster, one config cluster and any number of remotes. Roles: %s."
            % (host, topology, roles))


def hosts_with_role(clusters: Sequence[Mapping[str, Any]], role: str) -> List[str]:
    return [c["host"] for c in clusters if c.get("role") == role]


def remote_primary(cluster: Mapping[str, Any], primaries: Sequence[str]) -> str:
    """A remote cluster's primary: istio_control_plane_cluster, else the only primary ('' when there are several)."""
    if cluster.get("primary_host"):
        return str(cluster["primary_host"])
    return primaries[0] if len(primaries) == 1 else ""


def primary_of(cluster: Mapping[str, Any], topology: str, primaries: Sequence[str]) -> str:
    """The primary whose istiod runs a remote cluster's control plane; '' outside primary-remote."""
    if topology != "primary-remote" or cluster.get("role") != "remote":
        return ""
    primary = remote_primary(cluster, primaries)
    if primary not in primaries:
        raise TopologyError("%s: set istio_control_plane_cluster to the inventory host of this remote cluster's "
                            "primary (one of %s); got '%s'." % (cluster["host"], ", ".join(primaries), primary))
    return primary


def serves_remotes(clusters: Sequence[Mapping[str, Any]], host: str, topology: str) -> bool:
    """Whether ``host`` is a primary with remote clusters (EXTERNAL_ISTIOD, istiod on its east-west gateway)."""
    primaries = hosts_with_role(clusters, "primary")
    if host not in primaries or topology != "primary-remote":
        return False
    return any(c.get("role") == "remote" and remote_primary(c, primaries) == host for c in clusters)


def ca_enabled(ca: Any, topology: str) -> bool:
    """The shared CA: on unless the control plane is external, when ``auto``."""
    if isinstance(ca, str) and ca == AUTO:
        return topology != "external"
    return boolean(ca, strict=False)


def multi_network(clusters: Sequence[Mapping[str, Any]]) -> bool:
    """More than one network among the clusters with a data plane (the external cluster's does not count)."""
    return len({c.get("network") for c in clusters if c.get("role") != "external"}) > 1


def topology_facts(clusters: Sequence[Mapping[str, Any]], host: str, options: Options) -> Dict[str, Any]:
    """What ``host`` needs to know about the mesh; a TopologyError when the inventory is no mesh."""
    topology = choose_topology(options.topology, [c.get("role") or "" for c in clusters])
    if not describes_a_mesh(clusters, host, topology, options.inventory_hosts):
        raise TopologyError(mesh_refusal(clusters, host, topology))
    this = next(c for c in clusters if c["host"] == host)
    role = this["role"]
    primaries = hosts_with_role(clusters, "primary")
    # a cluster of an external control plane other than the external one runs the remote profile there
    elsewhere = topology == "external" and role != "external"
    return {
        "topology": topology,
        "primaries": primaries,
        "external_host": next(iter(hosts_with_role(clusters, "external")), ""),
        "config_host": next(iter(hosts_with_role(clusters, "config")), ""),
        "primary_host": primary_of(this, topology, primaries),
        "is_primary": role == "primary",
        "is_data_plane": role in DATA_PLANE_ROLES,
        "serves_remotes": serves_remotes(clusters, host, topology),
        "namespace": options.external_namespace if elsewhere else options.namespace,
        "control_plane": options.external_revision if elsewhere else options.name,
        "ca_enabled": ca_enabled(options.ca, topology),
        "multi_network": multi_network(clusters),
    }


def prune_plan(clusters: Sequence[Mapping[str, Any]], connections: Mapping[str, Mapping[str, Any]], host: str,
               across_clusters: Any, serves: Any, active_hosts: Sequence[str]) -> Dict[str, Any]:
    """Whether istio_prune counts use on the mesh's other clusters, and how it reaches them.

    A control plane that serves remote clusters cannot see their use of it; it may count it
    (``across``) when asked to and when every cluster of the mesh is still in the play.
    ``mesh_clusters`` is None otherwise (istio_prune then looks at this cluster only)."""
    across = (boolean(across_clusters, strict=False) and boolean(serves, strict=False)
              and all(c["host"] in active_hosts for c in clusters))
    others: Optional[List[Dict[str, Any]]] = None
    missing = [str(c["host"]) for c in clusters if c["host"] not in connections]
    if missing:
        raise TopologyError("no connection is known for the clusters %s" % ", ".join(missing))
    if across:
        others = [dict(connections[c["host"]], name=c["name"]) for c in clusters if c["host"] != host]
    return {"across": across, "mesh_clusters": others}
