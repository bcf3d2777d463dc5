# -*- coding: utf-8 -*-
"""The shape of a multi-cluster mesh from its inventory, how its clusters prune, and what the teardown
takes back from a namespace."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.servicemesh.istio.plugins.filter.multicluster_namespace_release import (
    multicluster_namespace_release)
from ansible_collections.servicemesh.istio.plugins.filter.multicluster_prune import multicluster_prune
from ansible_collections.servicemesh.istio.plugins.filter.multicluster_topology import multicluster_topology
from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster import namespace, topology
from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster.topology import Options, TopologyError

MESSAGE = "does not describe a %s mesh"


def cluster(host, role, network=None, primary_host="", name=None):
    return {"host": host, "name": name or "c-" + host, "role": role, "network": network or "net-" + host,
            "primary_host": primary_host, "server": "https://%s:6443" % host}


def facts(clusters, host, **options):
    return topology.topology_facts(clusters, host, Options(**options))


MULTI_PRIMARY = [cluster("a", "primary"), cluster("b", "primary")]
PRIMARY_REMOTE = [cluster("p", "primary"), cluster("r", "remote")]
EXTERNAL = [cluster("x", "external"), cluster("cfg", "config"), cluster("r", "remote")]


# -- the topology ---------------------------------------------------------------------------------

@pytest.mark.parametrize("clusters, expected", [
    (MULTI_PRIMARY, "multi-primary"), (PRIMARY_REMOTE, "primary-remote"), (EXTERNAL, "external")])
def test_auto_topology_follows_the_roles(clusters, expected):
    assert facts(clusters, clusters[0]["host"])["topology"] == expected


def test_a_topology_given_is_kept():
    assert facts(PRIMARY_REMOTE, "p", topology="primary-remote")["topology"] == "primary-remote"
    # primaries only make a primary-remote mesh too (no remote yet)
    assert facts(MULTI_PRIMARY, "a", topology="primary-remote")["topology"] == "primary-remote"


def test_multi_primary():
    a = facts(MULTI_PRIMARY, "a")
    assert a["primaries"] == ["a", "b"] and a["external_host"] == "" and a["config_host"] == ""
    assert a["primary_host"] == "" and a["is_primary"] and a["is_data_plane"]
    assert a["serves_remotes"] is False
    assert a["namespace"] == "istio-system" and a["control_plane"] == "default"
    assert a["ca_enabled"] is True and a["multi_network"] is True


def test_primary_remote():
    p = facts(PRIMARY_REMOTE, "p", namespace="mesh", name="cp")
    r = facts(PRIMARY_REMOTE, "r", namespace="mesh", name="cp")
    assert p["serves_remotes"] is True and p["primary_host"] == ""
    # the only primary, without istio_control_plane_cluster
    assert r["primary_host"] == "p" and r["serves_remotes"] is False and not r["is_primary"] and r["is_data_plane"]
    assert (r["namespace"], r["control_plane"]) == (p["namespace"], p["control_plane"]) == ("mesh", "cp")


def test_external_control_plane():
    options = {"namespace": "istio-system", "name": "default", "external_namespace": "ext-ns",
               "external_revision": "ext-rev"}
    x = facts(EXTERNAL, "x", **options)
    cfg = facts(EXTERNAL, "cfg", **options)
    r = facts(EXTERNAL, "r", **options)
    assert x["external_host"] == cfg["external_host"] == "x" and x["config_host"] == r["config_host"] == "cfg"
    # the external cluster runs its own control plane; the others the remote profile of the external istiod
    assert (x["namespace"], x["control_plane"]) == ("istio-system", "default")
    assert (cfg["namespace"], cfg["control_plane"]) == (r["namespace"], r["control_plane"]) == ("ext-ns", "ext-rev")
    assert x["is_data_plane"] is False and cfg["is_data_plane"] and r["is_data_plane"]
    # no shared root unless asked for, and remote clusters here have no primary
    assert x["ca_enabled"] is False and r["primary_host"] == "" and r["serves_remotes"] is False
    assert facts(EXTERNAL, "r", ca=True)["ca_enabled"] is True
    assert facts(EXTERNAL, "r", ca="yes")["ca_enabled"] is True


def test_ca_can_be_turned_off():
    assert facts(MULTI_PRIMARY, "a", ca=False)["ca_enabled"] is False
    assert facts(MULTI_PRIMARY, "a", ca="false")["ca_enabled"] is False


def test_serves_remotes_only_the_primary_a_remote_names():
    clusters = [cluster("p", "primary"), cluster("q", "primary"), cluster("r", "remote", primary_host="q")]
    assert facts(clusters, "q")["serves_remotes"] is True
    assert facts(clusters, "p")["serves_remotes"] is False
    assert facts(clusters, "r")["primary_host"] == "q"


def test_the_external_cluster_network_does_not_make_a_multi_network_mesh():
    one = [cluster("x", "external", "net-x"), cluster("cfg", "config", "net1"), cluster("r", "remote", "net1")]
    assert facts(one, "x")["multi_network"] is False
    same = [cluster("a", "primary", "net1"), cluster("b", "primary", "net1")]
    assert facts(same, "a")["multi_network"] is False


# -- refusals -------------------------------------------------------------------------------------

@pytest.mark.parametrize("clusters, requested, shown", [
    ([cluster("a", "primary"), cluster("b", "boss")], "auto", "multi-primary"),
    ([cluster("a", "primary"), cluster("b", "")], "auto", "multi-primary"),
    ([cluster("a", "primary", name="same"), cluster("b", "primary", name="same")], "auto", "multi-primary"),
    ([cluster("a", "primary"), cluster("r", "remote")], "multi-primary", "multi-primary"),
    ([cluster("a", "remote"), cluster("b", "remote")], "primary-remote", "primary-remote"),
    ([cluster("a", "primary"), cluster("b", "config")], "primary-remote", "primary-remote"),
    ([cluster("x", "external"), cluster("r", "remote")], "auto", "external"),
    ([cluster("x", "external"), cluster("y", "external"), cluster("cfg", "config")], "auto", "external"),
    ([cluster("x", "external"), cluster("cfg", "config"), cluster("p", "primary")], "auto", "external"),
    ([cluster("a", "primary")], "star", "star"),
    # the case of tests/integration/test_multicluster.py: a config cluster without an external one
    ([cluster("a", "remote"), cluster("b", "config")], "auto", "primary-remote"),
])
def test_an_inventory_that_is_no_mesh_is_refused(clusters, requested, shown):
    host = clusters[0]["host"]
    with pytest.raises(TopologyError) as error:
        facts(clusters, host, topology=requested)
    message = str(error.value)
    assert message.startswith("%s: the inventory " % host) and MESSAGE % shown in message
    roles = {c["host"]: c["role"] for c in clusters}
    assert message.endswith("Roles: %s." % roles)
    assert "all of them in the play, with distinct istio_cluster_name" in message


def test_every_cluster_of_the_inventory_must_be_in_the_play():
    with pytest.raises(TopologyError, match=MESSAGE % "multi-primary"):
        facts(MULTI_PRIMARY, "a", inventory_hosts=["a", "b", "c"])
    assert facts(MULTI_PRIMARY, "a", inventory_hosts=["a", "b"])["topology"] == "multi-primary"


def test_a_host_without_a_role_is_refused():
    with pytest.raises(TopologyError, match="^z: the inventory does not describe a multi-primary mesh"):
        facts(MULTI_PRIMARY, "z")


def test_a_remote_needs_its_primary_among_several():
    clusters = [cluster("p", "primary"), cluster("q", "primary"), cluster("r", "remote")]
    with pytest.raises(TopologyError) as error:
        facts(clusters, "r")
    assert str(error.value) == ("r: set istio_control_plane_cluster to the inventory host of this remote cluster's "
                                "primary (one of p, q); got ''.")
    # the primaries themselves go ahead
    assert facts(clusters, "p")["serves_remotes"] is False


def test_a_remote_primary_must_be_a_primary():
    clusters = [cluster("p", "primary"), cluster("r", "remote", primary_host="nowhere")]
    with pytest.raises(TopologyError, match=r"\(one of p\); got 'nowhere'\.$"):
        facts(clusters, "r")
    assert facts(clusters, "p")["serves_remotes"] is False


def test_topology_filter_reports_errors_as_filter_errors():
    with pytest.raises(AnsibleFilterError, match=MESSAGE % "multi-primary"):
        multicluster_topology([cluster("a", "boss")], "a")
    with pytest.raises(AnsibleFilterError, match="set istio_control_plane_cluster"):
        multicluster_topology([cluster("p", "primary"), cluster("r", "remote", primary_host="x")], "r")
    decided = multicluster_topology(EXTERNAL, "cfg", external_namespace="ext", inventory_hosts=["x", "cfg", "r"])
    assert decided["topology"] == "external" and decided["namespace"] == "ext"


# -- pruning across the mesh ----------------------------------------------------------------------

CONNECTIONS = {"p": {"kubeconfig": "/p"}, "r": {"kubeconfig": "/r", "api_key": "token"}}


def test_prune_across_gives_the_other_clusters_with_their_names():
    plan = topology.prune_plan(PRIMARY_REMOTE, CONNECTIONS, "p", True, True, ["p", "r"])
    assert plan == {"across": True, "mesh_clusters": [{"kubeconfig": "/r", "api_key": "token", "name": "c-r"}]}
    # the connections handed in are not changed
    assert CONNECTIONS["r"] == {"kubeconfig": "/r", "api_key": "token"}


@pytest.mark.parametrize("across, serves, active", [
    (False, True, ["p", "r"]), (True, False, ["p", "r"]), ("no", True, ["p", "r"]),
    # a cluster that failed on the way is not counted: its use is unknown
    (True, True, ["p"])])
def test_prune_alone_otherwise(across, serves, active):
    assert topology.prune_plan(PRIMARY_REMOTE, CONNECTIONS, "p", across, serves, active) == {
        "across": False, "mesh_clusters": None}


def test_prune_filter_needs_every_connection():
    with pytest.raises(AnsibleFilterError, match="no connection is known for the clusters r"):
        multicluster_prune(PRIMARY_REMOTE, "p", {"p": {}}, True, True, ["p", "r"])
    assert multicluster_prune(PRIMARY_REMOTE, "p", CONNECTIONS, "true", True, ["p", "r"])["across"] is True


# -- the namespace labels the teardown takes back ---------------------------------------------------

NETWORK = "topology.istio.io/network"
PLANES = "topology.istio.io/controlPlaneClusters"


def live(labels=None, annotations=None):
    return [{"metadata": {"name": "istio-system", "labels": labels, "annotations": annotations}}]


def test_release_takes_back_what_still_has_our_value():
    read = live({NETWORK: "net1", "team": "mesh"}, {PLANES: "c-p", "note": "x"})
    assert namespace.release(read, {NETWORK: "net1"}, {PLANES: "c-p"}) == {
        "labels": {NETWORK: None}, "annotations": {PLANES: None}, "needed": True}


def test_release_keeps_a_value_someone_changed():
    read = live({NETWORK: "theirs"}, {PLANES: "c-q"})
    assert namespace.release(read, {NETWORK: "net1"}, {PLANES: "c-p"}) == {
        "labels": {}, "annotations": {}, "needed": False}
    mixed = namespace.release(live({NETWORK: "theirs"}, {PLANES: "c-p"}), {NETWORK: "net1"}, {PLANES: "c-p"})
    assert mixed["labels"] == {} and mixed["annotations"] == {PLANES: None} and mixed["needed"]


def test_release_of_a_namespace_that_is_gone_or_bare_does_nothing():
    assert namespace.release([], {NETWORK: "net1"}, {})["needed"] is False
    assert namespace.release(live(), {NETWORK: "net1"}, {PLANES: "c-p"})["needed"] is False
    assert namespace.release(live({NETWORK: "net1"}), {}, {})["needed"] is False
    assert multicluster_namespace_release(live({NETWORK: "net1"}), {NETWORK: "net1"})["labels"] == {NETWORK: None}
