# -*- coding: utf-8 -*-
"""The API server address other clusters reach a cluster at: given, the connection's, advertised, a node's."""
from __future__ import annotations

import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster import apiserver as api


def kind_slice(address="172.18.0.3", port=6443, ready=True):
    return {"ports": [{"name": "https", "port": port, "protocol": "TCP"}],
            "endpoints": [{"addresses": [address], "conditions": {"ready": ready}}]}


def node(name, address, control_plane=True):
    labels = {"node-role.kubernetes.io/control-plane": ""} if control_plane else {}
    return {"metadata": {"name": name, "labels": labels},
            "status": {"addresses": [{"type": "Hostname", "address": name}, {"type": "InternalIP", "address": address}]}}


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("LOCALHOST.", True), ("api.localhost", True), ("0.0.0.0", True),
    ("172.18.0.3", False), ("fd00::3", False), ("api.example.com", False), ("10.0.0.1", False)])
def test_loopback(host, loopback):
    assert api.is_loopback(host) is loopback


def test_given_wins_and_is_checked():
    assert api.reachable_server("https://10.1.2.3:6443", "https://127.0.0.1:1", [], []) == \
        api.Reachable("https://10.1.2.3:6443", api.GIVEN)
    with pytest.raises(api.AddressError, match="must be a URL"):
        api.reachable_server("10.1.2.3:6443", "https://127.0.0.1:1", [], [])


def test_a_connection_server_that_is_not_loopback_is_kept():
    found = api.reachable_server("", "https://api.east.example:6443", [("172.18.0.3", 6443)], [])
    assert found == api.Reachable("https://api.east.example:6443", api.CONNECTION)


def test_kind_the_advertised_endpoint():
    endpoints = api.advertised([kind_slice()])
    assert endpoints == [("172.18.0.3", 6443)]
    found = api.reachable_server("", "https://127.0.0.1:39117", endpoints, ["172.18.0.9"])
    assert found == api.Reachable("https://172.18.0.3:6443", api.ENDPOINTS)


def test_endpoints_object_and_not_ready_endpoints():
    endpoints = {"subsets": [{"addresses": [{"ip": "10.0.0.5"}], "ports": [{"name": "https", "port": 443}]}]}
    assert api.advertised([endpoints]) == [("10.0.0.5", 443)]
    assert api.advertised([kind_slice(ready=False)]) == []


def test_loopback_endpoint_falls_back_to_the_control_plane_node_with_its_port():
    nodes = [node("worker", "172.18.0.4", control_plane=False), node("cp", "172.18.0.3")]
    addresses = api.control_plane_addresses(nodes)
    assert addresses == ["172.18.0.3"]
    found = api.reachable_server("", "https://127.0.0.1:39117", [("127.0.0.1", 39117)], addresses)
    assert found == api.Reachable("https://172.18.0.3:39117", api.NODE)
    assert api.reachable_server("", "https://localhost:1", [], addresses).server == "https://172.18.0.3:6443"


def test_ipv6_addresses_are_bracketed():
    assert api.reachable_server("", "https://[::1]:6443", [("fd00::3", 6443)], []).server == "https://[fd00::3]:6443"


def test_loopback_only_is_an_error_that_says_what_it_saw():
    with pytest.raises(api.AddressError) as caught:
        api.reachable_server("", "https://127.0.0.1:39117", [("127.0.0.1", 39117)], ["127.0.0.1"], "west")
    message = str(caught.value)
    assert message.startswith("cluster west: ")
    assert "https://127.0.0.1:39117" in message and "127.0.0.1:39117" in message and "istio_remote_server" in message


class ReadOnly:
    """A cluster that answers the reads find_server makes and refuses anything else."""

    def __init__(self, host, slices=(), nodes=()):
        self.host, self.slices, self.nodes, self.reads = host, list(slices), list(nodes), []

    def is_served(self, api_version, kind):
        return True

    def list(self, api_version, kind, namespace=None, label_selector=None):
        self.reads.append((kind, namespace, label_selector))
        if kind == "EndpointSlice":
            return self.slices
        return [n for n in self.nodes if label_selector in n["metadata"]["labels"]]

    def get(self, ref):
        self.reads.append((ref.kind, ref.namespace, ref.name))
        return None


def test_find_server_reads_only_when_needed():
    remote = ReadOnly("https://api.example:6443")
    assert api.find_server(remote, "")["source"] == api.CONNECTION and remote.reads == []
    kind = ReadOnly("https://127.0.0.1:39117", slices=[kind_slice("127.0.0.1", 39117)], nodes=[node("cp", "10.9.0.2")])
    found = api.find_server(kind, "")
    assert found == {"server": "https://10.9.0.2:39117", "source": api.NODE,
                     "connection_server": "https://127.0.0.1:39117"}
    with pytest.raises(api.AddressError, match="cluster c3"):
        api.find_server(ReadOnly("https://127.0.0.1:1"), "", "c3")
