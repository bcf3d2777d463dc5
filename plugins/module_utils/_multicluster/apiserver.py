# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The API server address other clusters' istiod reach a cluster at (the server of its remote secrets).

The guides look it up by hand for kind clusters, whose kubeconfig says ``https://127.0.0.1:<port>``
(a port on the machine running kind, useless from inside another cluster): the control-plane node's
InternalIP and port 6443. Here, in this order:

1. the address given (``istio_remote_server``);
2. the connection's own server, when it is not a loopback address;
3. the address the API server advertises to its cluster (the ``kubernetes`` Service's endpoints in
   ``default``), when not a loopback address: for kind, the control-plane node's IP and 6443;
4. a control-plane node's InternalIP (``node-role.kubernetes.io/control-plane``), with the advertised
   port, else 6443.

Nothing found means an error, before anything is written anywhere: a remote secret pointing at a
loopback address would leave the other clusters' istiod unable to read this one.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlsplit

from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef

GIVEN, CONNECTION, ENDPOINTS, NODE = "given", "connection", "endpoints", "node"
DEFAULT_PORT = 6443
CONTROL_PLANE_LABELS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")
LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


class AddressError(IstioError):
    """No API server address other clusters can reach."""


@dataclass(frozen=True)
class Reachable:
    """The server URL and where it came from (given, connection, endpoints or node)."""

    server: str
    source: str


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an IP address, brackets allowed) only reaches this machine."""
    host = (host or "").strip().strip("[]").lower().rstrip(".")
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def url_host(url: str) -> str:
    """The host part of a server URL (no scheme: taken as a host[:port])."""
    parts = urlsplit(url if "://" in (url or "") else "https://%s" % (url or ""))
    return parts.hostname or ""


def server_url(address: str, port: int) -> str:
    host = "[%s]" % address if ":" in address else address
    return "https://%s:%d" % (host, port)


def check_given(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise AddressError("the API server address %r must be a URL such as https://172.18.0.3:6443" % url)


def advertised(endpoint_slices: Sequence[Mapping[str, Any]]) -> List[Tuple[str, int]]:
    """(address, port) pairs of the ``kubernetes`` Service's EndpointSlices (or Endpoints), in order."""
    found: List[Tuple[str, int]] = []
    for item in endpoint_slices:
        if "subsets" in item:  # a v1 Endpoints object
            for subset in item.get("subsets") or []:
                port = _https_port(subset.get("ports"))
                found += [(a.get("ip"), port) for a in subset.get("addresses") or [] if a.get("ip") and port]
            continue
        port = _https_port(item.get("ports"))
        for endpoint in item.get("endpoints") or []:
            if (endpoint.get("conditions") or {}).get("ready") is False or not port:
                continue
            found += [(address, port) for address in endpoint.get("addresses") or []]
    return found


def _https_port(ports: Optional[Sequence[Mapping[str, Any]]]) -> int:
    for port in ports or []:
        if port.get("name") in ("https", None, "") and port.get("port"):
            return int(port["port"])
    return 0


def control_plane_addresses(nodes: Sequence[Mapping[str, Any]]) -> List[str]:
    """InternalIPs of the control-plane nodes, by node name."""
    found = []
    for node in sorted(nodes, key=lambda n: (n.get("metadata") or {}).get("name") or ""):
        labels = (node.get("metadata") or {}).get("labels") or {}
        if not any(label in labels for label in CONTROL_PLANE_LABELS):
            continue
        found += [a["address"] for a in (node.get("status") or {}).get("addresses") or []
                  if a.get("type") == "InternalIP" and a.get("address")]
    return found


def reachable_server(given: str, connection_server: str, endpoints: Sequence[Tuple[str, int]],
                     node_addresses: Sequence[str], cluster: str = "") -> Reachable:
    """The first of: the given URL, a non-loopback connection server, a non-loopback advertised
    endpoint, a non-loopback control-plane node InternalIP (with the advertised port, else 6443)."""
    if given:
        check_given(given)
        return Reachable(given, GIVEN)
    if connection_server and not is_loopback(url_host(connection_server)):
        return Reachable(connection_server, CONNECTION)
    for address, port in endpoints:
        if not is_loopback(address):
            return Reachable(server_url(address, port), ENDPOINTS)
    port = endpoints[0][1] if endpoints else DEFAULT_PORT
    for address in node_addresses:
        if not is_loopback(address):
            return Reachable(server_url(address, port), NODE)
    raise AddressError(
        "%sthe API server is reached at %s, a loopback address other clusters cannot use, and neither the "
        "kubernetes Service's endpoints (%s) nor a control-plane node's InternalIP (%s) gives another: set "
        "istio_remote_server (the remote secrets' server) to the address the other clusters reach it at"
        % ("cluster %s: " % cluster if cluster else "", connection_server or "(no server)",
           ", ".join("%s:%d" % pair for pair in endpoints) or "none",
           ", ".join(node_addresses) or "none"))


# -- reading the cluster ------------------------------------------------------------------------------

def read_advertised(cluster: Any) -> List[Tuple[str, int]]:
    """The ``kubernetes`` Service's endpoints in ``default`` (EndpointSlices, else Endpoints)."""
    items: List[Dict[str, Any]] = []
    if cluster.is_served("discovery.k8s.io/v1", "EndpointSlice"):
        items = cluster.list("discovery.k8s.io/v1", "EndpointSlice", namespace="default",
                             label_selector="kubernetes.io/service-name=kubernetes")
    if not items:
        endpoints = cluster.get(ObjectRef.of("v1", "Endpoints", "kubernetes", "default"))
        items = [endpoints] if endpoints else []
    return advertised(items)


def read_control_plane_nodes(cluster: Any) -> List[str]:
    nodes: List[Dict[str, Any]] = []
    for label in CONTROL_PLANE_LABELS:
        nodes += cluster.list("v1", "Node", label_selector=label)
    return control_plane_addresses(nodes)


def find_server(cluster: Any, given: str, cluster_name: str = "") -> Dict[str, Any]:
    """What istio_cluster_address returns; the cluster is read only when the answer is not given."""
    if given:
        found = reachable_server(given, cluster.host, [], [], cluster_name)
        return {"server": found.server, "source": found.source, "connection_server": cluster.host}
    if not is_loopback(url_host(cluster.host)):
        found = reachable_server("", cluster.host, [], [], cluster_name)
    else:
        found = reachable_server("", cluster.host, read_advertised(cluster), read_control_plane_nodes(cluster),
                                 cluster_name)
    return {"server": found.server, "source": found.source, "connection_server": cluster.host}
