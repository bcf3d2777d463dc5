# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shape of a multi-cluster mesh, from the inventory: its topology and what each cluster runs.

The ``multicluster`` role describes every cluster in one record (its ``_mc_self`` fact: host,
name, role, network, primary_host, server) and asks, for one of them, which topology the mesh
has, which clusters run the control planes, and what this cluster runs: the labels and
annotations of its control plane namespace, the values and update strategy of its first control
plane, its east-west or ingress gateway, the external istiod, where its remote secrets go. An
inventory that describes no mesh is refused here, on the controller, before any cluster is written.

Pure: the ``multicluster_topology`` and ``multicluster_prune`` filters are the adapters.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError
from ansible_collections.servicemesh.istio.plugins.module_utils._istiovalues import deep_merge

ROLES = ("primary", "remote", "external", "config")
DATA_PLANE_ROLES = ("primary", "remote", "config")
TOPOLOGIES = ("multi-primary", "primary-remote", "external")
AUTO = "auto"
NETWORK_LABEL = "topology.istio.io/network"
CONTROL_PLANES_ANNOTATION = "topology.istio.io/controlPlaneClusters"
# the remote profile of an external control plane follows the external istiod, which is upgraded in place
IN_PLACE: Dict[str, Any] = {"type": "InPlace"}
# the external control plane's ingress gateway: status, then xDS and webhooks through to the external istiod
EXTERNAL_INGRESS_PORTS: Tuple[Dict[str, Any], ...] = (
    {"name": "status-port", "port": 15021, "targetPort": 15021, "protocol": "TCP"},
    {"name": "tls-xds", "port": 15012, "targetPort": 15012, "protocol": "TCP"},
    {"name": "tls-webhook", "port": 15017, "targetPort": 15017, "protocol": "TCP"})


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
    mesh_id: str = "mesh1"
    # istio_update_strategy, for the control planes that follow it
    update_strategy: Optional[Mapping[str, Any]] = None
    # the external istiod: the address given for it, and behind a TLS ingress (with the certificate given, if any)
    external_address: str = ""
    external_tls: Any = False
    external_tls_secret: str = "external-istiod-tls"
    external_tls_cert: str = ""
    # istio_values (for the mesh's control planes) and istio_cluster_values (for this cluster's)
    values: Optional[Mapping[str, Any]] = None
    cluster_values: Optional[Mapping[str, Any]] = None


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


def cluster_of(clusters: Sequence[Mapping[str, Any]], host: str) -> Optional[Mapping[str, Any]]:
    return next((c for c in clusters if c["host"] == host), None)


def namespace_labels(cluster: Mapping[str, Any]) -> Dict[str, Any]:
    """The control plane namespace's labels: its network, on a cluster with a data plane."""
    return {NETWORK_LABEL: cluster.get("network")} if cluster.get("role") in DATA_PLANE_ROLES else {}


def namespace_annotations(primary: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """A remote cluster of a primary-remote mesh names the cluster of its primary (``primary``: its record)."""
    return {CONTROL_PLANES_ANNOTATION: primary.get("name")} if primary else {}


def mesh_values(mesh_id: str, cluster: Mapping[str, Any]) -> Dict[str, Any]:
    """What every control plane of the mesh on a data-plane cluster is told about itself."""
    return {"global": {"meshID": mesh_id, "multiCluster": {"clusterName": cluster.get("name")},
                       "network": cluster.get("network")}}


def istiod_values(cluster: Mapping[str, Any], serves: bool, mesh_id: str) -> Dict[str, Any]:
    """The topology's values for the cluster's own control plane, under the user's: a primary's istiod (with
    ``EXTERNAL_ISTIOD`` when it serves remote clusters), the external cluster's local control plane (its network
    only), or the remote profile of a remote or config cluster (its injection path; the config cluster holds the
    mesh configuration)."""
    role = cluster.get("role")
    if role == "external":
        return {"global": {"network": cluster.get("network")}}
    values = mesh_values(mesh_id, cluster)
    if role == "primary":
        if serves:
            values["pilot"] = {"env": {"EXTERNAL_ISTIOD": "true"}}
        return values
    path = "/inject/cluster/%s/net/%s" % (cluster.get("name"), cluster.get("network"))
    values["istiodRemote"] = {"injectionPath": path}
    if role == "config":
        values["global"]["configCluster"] = True
        values["pilot"] = {"configMap": True}
    return values


def user_layers(role: str, options: Options) -> List[Mapping[str, Any]]:
    """The user's values, merged in turn over the topology's: istio_values are for the mesh's control planes, which
    the external cluster's local one (there for its ingress gateway) is not; istio_cluster_values for this
    cluster's."""
    layers = [options.cluster_values] if role == "external" else [options.values, options.cluster_values]
    return [layer or {} for layer in layers]


def first_control_plane(cluster: Mapping[str, Any], shape: Mapping[str, Any], serves: bool,
                        options: Options) -> Dict[str, Any]:
    """The cluster's own control plane, as the role's revision.yml takes it (name, namespace, update_strategy,
    values, and profile or allow_selector_overlap where they differ from istio_revision's defaults)."""
    role = cluster["role"]
    values = istiod_values(cluster, serves, options.mesh_id)
    for layer in user_layers(role, options):
        values = deep_merge(values, layer)
    istiod = {"name": shape["control_plane"], "namespace": shape["namespace"],
              "update_strategy": update_strategy(shape["elsewhere"], options.update_strategy), "values": values}
    if role in ("remote", "config"):
        istiod["profile"] = "remote"
    if role == "external":
        # the external istiod beside it watches the config cluster, not this one
        istiod["allow_selector_overlap"] = True
    return istiod


def update_strategy(elsewhere: bool, requested: Optional[Mapping[str, Any]]) -> Optional[Dict[str, Any]]:
    """The cluster's own control plane follows istio_update_strategy, except the remote profile of an external
    control plane, which follows the external istiod in place."""
    if elsewhere:
        return dict(IN_PLACE)
    return None if requested is None else dict(requested)


def eastwest_gateway(cluster: Mapping[str, Any], namespace: str, serves: bool,
                     many_networks: bool) -> Optional[Dict[str, Any]]:
    """The cluster's east-west gateway, or None: on every data-plane cluster of a multi-network mesh, and on a
    primary that serves remote clusters (which reach its istiod through it, ``expose_istiod`` without a revision:
    the primary's). A primary exposes its services to the other networks; of an external control plane's
    clusters only the config cluster does, whose mesh configuration the external istiod reads."""
    role = cluster.get("role")
    if role not in DATA_PLANE_ROLES or not (many_networks or (role == "primary" and serves)):
        return None
    exposes = many_networks if role == "primary" else role == "config"
    return {"preset": "eastwest", "namespace": namespace, "network": cluster.get("network"),
            "expose_services": exposes,
            "expose_istiod": {"namespace": namespace} if role == "primary" and serves else None}


def external_tls(options: Options) -> Optional[Dict[str, Any]]:
    """The external istiod behind a TLS ingress (istio_external_tls): the Secret, for the address given or any."""
    if not boolean(options.external_tls, strict=False):
        return None
    return {"credential_name": options.external_tls_secret, "hosts": [options.external_address or "*"]}


def external_ingress_gateway(options: Options) -> Dict[str, Any]:
    """The external cluster's ingress gateway, which passes 15012 and 15017 to the external istiod."""
    return {"preset": "ingress", "namespace": options.namespace,
            "values": {"service": {"ports": [dict(port) for port in EXTERNAL_INGRESS_PORTS]}},
            "expose_istiod": {"revision": options.external_revision, "namespace": options.external_namespace,
                              "tls": external_tls(options)}}


def external_istiod(config: Mapping[str, Any], options: Options) -> Dict[str, Any]:
    """istio_multicluster_plan's external_istiod, but for the gateway's address: it serves ``config``."""
    tls = external_tls(options) is not None
    return {"revision": options.external_revision, "namespace": options.external_namespace,
            "config_cluster": config.get("name"), "config_network": config.get("network"),
            "mesh_id": options.mesh_id, "address": options.external_address,
            "tls_secret": options.external_tls_secret if tls else "", "public_ca": bool(options.external_tls_cert)}


def control_planes(clusters: Sequence[Mapping[str, Any]], this: Mapping[str, Any], topology: str,
                   options: Options) -> Dict[str, Any]:
    """The shape of what ``this`` runs: its control plane namespace and name, and the cluster whose istiod
    serves it (its pilot: the external cluster, or a remote's primary)."""
    primary = primary_of(this, topology, hosts_with_role(clusters, "primary"))
    external = next(iter(hosts_with_role(clusters, "external")), "")
    # a cluster of an external control plane other than the external one runs the remote profile there
    elsewhere = topology == "external" and this["role"] != "external"
    return {
        "external_host": external,
        "config_host": next(iter(hosts_with_role(clusters, "config")), ""),
        "primary_host": primary,
        "pilot_host": external if elsewhere else primary,
        "elsewhere": elsewhere,
        "namespace": options.external_namespace if elsewhere else options.namespace,
        "control_plane": options.external_revision if elsewhere else options.name,
        "secret_namespace": options.external_namespace if topology == "external" else options.namespace,
    }


def cluster_plan(clusters: Sequence[Mapping[str, Any]], this: Mapping[str, Any], shape: Mapping[str, Any],
                 serves: bool, options: Options) -> Dict[str, Any]:
    """What ``this`` installs: namespace metadata, its own control plane, its gateway (the external cluster's
    ingress to the external istiod, any other's east-west gateway, if any), and on the external cluster the
    external istiod."""
    role = this["role"]
    config = cluster_of(clusters, shape["config_host"]) if role == "external" else None
    return {
        "namespace_labels": namespace_labels(this),
        "namespace_annotations": namespace_annotations(cluster_of(clusters, shape["primary_host"])),
        "istiod": first_control_plane(this, shape, serves, options),
        "gateway": (external_ingress_gateway(options) if role == "external"
                    else eastwest_gateway(this, shape["namespace"], serves, multi_network(clusters))),
        "exposes_istiod": serves or role == "external",
        "external_istiod": external_istiod(config, options) if config is not None else None,
    }


def topology_facts(clusters: Sequence[Mapping[str, Any]], host: str, options: Options) -> Dict[str, Any]:
    """What ``host`` needs to know about the mesh; a TopologyError when the inventory is no mesh."""
    topology = choose_topology(options.topology, [c.get("role") or "" for c in clusters])
    if not describes_a_mesh(clusters, host, topology, options.inventory_hosts):
        raise TopologyError(mesh_refusal(clusters, host, topology))
    this = next(c for c in clusters if c["host"] == host)
    shape = control_planes(clusters, this, topology, options)
    serves = serves_remotes(clusters, host, topology)
    facts = {
        "topology": topology,
        "primaries": hosts_with_role(clusters, "primary"),
        "is_primary": this["role"] == "primary",
        "is_data_plane": this["role"] in DATA_PLANE_ROLES,
        "serves_remotes": serves,
        "ca_enabled": ca_enabled(options.ca, topology),
        "multi_network": multi_network(clusters),
    }
    facts.update((key, value) for key, value in shape.items() if key != "elsewhere")
    facts.update(cluster_plan(clusters, this, shape, serves, options))
    return facts


def with_revision(gateway: Mapping[str, Any], revision: str) -> Dict[str, Any]:
    """A gateway of the plan as istio_gateway takes it, injected by ``revision``; the istiod it exposes without a
    revision of its own is that revision's."""
    result = dict(gateway, revision=revision)
    exposure = gateway.get("expose_istiod")
    if exposure is not None and "revision" not in exposure:
        result["expose_istiod"] = dict(exposure, revision=revision)
    return result


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
