# -*- coding: utf-8 -*-
"""The shape of a multi-cluster mesh from its inventory, what each of its clusters installs, how its
clusters prune, and what the teardown takes back from a namespace."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.servicemesh.istio.plugins.filter.multicluster_gateway import multicluster_gateway
from ansible_collections.servicemesh.istio.plugins.filter.multicluster_namespace_needs_update import (
    multicluster_namespace_needs_update)
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


def test_a_missing_namespace_or_one_without_our_labels_needs_an_update():
    assert namespace.needs_update([], {}, {}) is True
    assert namespace.needs_update(live(), {NETWORK: "net1"}, {}) is True
    assert namespace.needs_update(live({NETWORK: "other"}), {NETWORK: "net1"}, {}) is True
    assert namespace.needs_update(live({NETWORK: "net1"}), {NETWORK: "net1"}, {PLANES: "c-p"}) is True
    assert namespace.needs_update(live({NETWORK: "net1"}, {PLANES: "c-q"}), {NETWORK: "net1"}, {PLANES: "c-p"}) is True


def test_a_namespace_holding_our_labels_needs_none_whatever_else_it_holds():
    read = live({NETWORK: "net1", "team": "mesh"}, {PLANES: "c-p", "note": "x"})
    assert namespace.needs_update(read, {NETWORK: "net1"}, {PLANES: "c-p"}) is False
    assert namespace.needs_update(live(), {}, {}) is False
    assert multicluster_namespace_needs_update(read, {NETWORK: "net1"}) is False
    assert multicluster_namespace_needs_update([], {NETWORK: "net1"}) is True


# -- what each cluster installs ---------------------------------------------------------------------

EXTERNAL_OPTIONS = {"namespace": "istio-system", "external_namespace": "ext-ns", "external_revision": "ext-rev",
                    "mesh_id": "mesh9", "update_strategy": {"type": "RevisionBased"}}


def test_namespace_labels_on_data_plane_clusters_and_the_primarys_name_on_a_primary_remote_remote():
    p, r = facts(PRIMARY_REMOTE, "p"), facts(PRIMARY_REMOTE, "r")
    assert p["namespace_labels"] == {NETWORK: "net-p"} and p["namespace_annotations"] == {}
    assert r["namespace_labels"] == {NETWORK: "net-r"} and r["namespace_annotations"] == {PLANES: "c-p"}
    # the primary a remote names among several, not the first
    clusters = [cluster("p", "primary"), cluster("q", "primary", name="second"), cluster("r", "remote", primary_host="q")]
    assert facts(clusters, "r")["namespace_annotations"] == {PLANES: "second"}
    x, cfg = facts(EXTERNAL, "x"), facts(EXTERNAL, "cfg")
    # the external cluster runs no workloads; an external control plane's remotes have no primary
    assert x["namespace_labels"] == {} and x["namespace_annotations"] == {}
    assert cfg["namespace_labels"] == {NETWORK: "net-cfg"} and cfg["namespace_annotations"] == {}
    assert facts(EXTERNAL, "r")["namespace_annotations"] == {}
    assert facts(MULTI_PRIMARY, "b")["namespace_annotations"] == {}


def test_the_pilot_is_the_external_cluster_or_the_remotes_primary():
    assert facts(PRIMARY_REMOTE, "r")["pilot_host"] == "p"
    assert facts(EXTERNAL, "r")["pilot_host"] == facts(EXTERNAL, "cfg")["pilot_host"] == "x"
    assert facts(EXTERNAL, "x")["pilot_host"] == facts(PRIMARY_REMOTE, "p")["pilot_host"] == ""


def test_remote_secrets_live_in_the_external_namespace_of_an_external_mesh_only():
    assert facts(EXTERNAL, "x", **EXTERNAL_OPTIONS)["secret_namespace"] == "ext-ns"
    assert facts(EXTERNAL, "cfg", **EXTERNAL_OPTIONS)["secret_namespace"] == "ext-ns"
    assert facts(PRIMARY_REMOTE, "p", namespace="mesh", external_namespace="ext-ns")["secret_namespace"] == "mesh"
    assert facts(MULTI_PRIMARY, "a", namespace="mesh")["secret_namespace"] == "mesh"


def mesh_values(name, network, mesh_id="mesh1"):
    return {"meshID": mesh_id, "multiCluster": {"clusterName": name}, "network": network}


def test_a_primary_serving_remotes_gets_external_istiod():
    assert facts(PRIMARY_REMOTE, "p", mesh_id="m")["istiod"]["values"] == {
        "global": mesh_values("c-p", "net-p", "m"), "pilot": {"env": {"EXTERNAL_ISTIOD": "true"}}}
    assert facts(MULTI_PRIMARY, "a")["istiod"]["values"] == {"global": mesh_values("c-a", "net-a")}


def test_the_remote_profile_values():
    assert facts(PRIMARY_REMOTE, "r")["istiod"]["values"] == {
        "global": mesh_values("c-r", "net-r"), "istiodRemote": {"injectionPath": "/inject/cluster/c-r/net/net-r"}}
    # the config cluster holds the mesh configuration
    assert facts(EXTERNAL, "cfg", mesh_id="m")["istiod"]["values"] == {
        "global": dict(mesh_values("c-cfg", "net-cfg", "m"), configCluster=True), "pilot": {"configMap": True},
        "istiodRemote": {"injectionPath": "/inject/cluster/c-cfg/net/net-cfg"}}
    assert "configCluster" not in facts(EXTERNAL, "r")["istiod"]["values"]["global"]


def test_the_external_clusters_local_control_plane_is_told_its_network_only():
    assert facts(EXTERNAL, "x", **EXTERNAL_OPTIONS)["istiod"]["values"] == {"global": {"network": "net-x"}}


def test_the_remote_profile_of_an_external_control_plane_is_upgraded_in_place():
    strategy = EXTERNAL_OPTIONS["update_strategy"]
    assert facts(EXTERNAL, "r", **EXTERNAL_OPTIONS)["istiod"]["update_strategy"] == {"type": "InPlace"}
    assert facts(EXTERNAL, "cfg", **EXTERNAL_OPTIONS)["istiod"]["update_strategy"] == {"type": "InPlace"}
    assert facts(EXTERNAL, "x", **EXTERNAL_OPTIONS)["istiod"]["update_strategy"] == strategy
    assert facts(PRIMARY_REMOTE, "r", update_strategy=strategy)["istiod"]["update_strategy"] == strategy
    assert facts(PRIMARY_REMOTE, "p", update_strategy=strategy)["istiod"]["update_strategy"] == strategy
    # a copy: the plan never hands out the constant
    facts(EXTERNAL, "r")["istiod"]["update_strategy"]["type"] = "changed"
    assert topology.IN_PLACE == {"type": "InPlace"}


def eastwest(namespace, network, expose_services, expose_istiod=None):
    return {"preset": "eastwest", "namespace": namespace, "network": network, "expose_services": expose_services,
            "expose_istiod": expose_istiod}


def test_each_cluster_s_own_gateway():
    # a primary serving remotes exposes its istiod, on one network too
    one = [cluster("p", "primary", "net1"), cluster("r", "remote", "net1")]
    assert facts(one, "p")["gateway"] == eastwest("istio-system", "net1", False, {"namespace": "istio-system"})
    assert facts(one, "r")["gateway"] is None
    p, r = facts(PRIMARY_REMOTE, "p", namespace="mesh"), facts(PRIMARY_REMOTE, "r", namespace="mesh")
    assert p["gateway"] == eastwest("mesh", "net-p", True, {"namespace": "mesh"})
    assert r["gateway"] == eastwest("mesh", "net-r", False)
    assert facts(MULTI_PRIMARY, "a")["gateway"] == eastwest("istio-system", "net-a", True)
    assert facts([cluster("a", "primary", "n"), cluster("b", "primary", "n")], "a")["gateway"] is None
    # of an external control plane's clusters only the config cluster exposes its services
    many = [cluster("x", "external", "n0"), cluster("cfg", "config", "n1"), cluster("r", "remote", "n2")]
    assert facts(many, "cfg", **EXTERNAL_OPTIONS)["gateway"] == eastwest("ext-ns", "n1", True)
    assert facts(many, "r", **EXTERNAL_OPTIONS)["gateway"] == eastwest("ext-ns", "n2", False)
    # the external cluster's own is its ingress gateway to the external istiod
    assert facts(many, "x", **EXTERNAL_OPTIONS)["gateway"]["preset"] == "ingress"


def test_who_exposes_istiod():
    assert facts(PRIMARY_REMOTE, "p")["exposes_istiod"] is True
    assert facts(EXTERNAL, "x")["exposes_istiod"] is True
    assert not any(facts(clusters, host)["exposes_istiod"]
                   for clusters, host in [(PRIMARY_REMOTE, "r"), (MULTI_PRIMARY, "a"), (EXTERNAL, "cfg")])


def test_the_external_ingress_gateway_plain_and_behind_tls():
    plain = facts(EXTERNAL, "x", **EXTERNAL_OPTIONS)["gateway"]
    assert plain["preset"] == "ingress" and plain["namespace"] == "istio-system"
    assert [p["port"] for p in plain["values"]["service"]["ports"]] == [15021, 15012, 15017]
    assert plain["expose_istiod"] == {"revision": "ext-rev", "namespace": "ext-ns", "tls": None}
    tls = facts(EXTERNAL, "x", external_tls=True, external_tls_secret="s", external_address="istiod.example.com")
    assert tls["gateway"]["expose_istiod"]["tls"] == {"credential_name": "s", "hosts": ["istiod.example.com"]}
    # for any name when no address is given; a string from the inventory is a boolean
    anywhere = facts(EXTERNAL, "x", external_tls="yes")["gateway"]["expose_istiod"]["tls"]
    assert anywhere == {"credential_name": "external-istiod-tls", "hosts": ["*"]}
    assert facts(EXTERNAL, "x", external_tls="false")["gateway"]["expose_istiod"]["tls"] is None
    # the config cluster's gateway is its east-west one (several networks), or none
    assert facts(EXTERNAL, "cfg")["gateway"]["preset"] == "eastwest"
    assert facts([cluster("x", "external", "n"), cluster("cfg", "config", "n")], "cfg")["gateway"] is None


def test_the_external_istiod_serves_the_config_cluster():
    planned = facts(EXTERNAL, "x", external_address="istiod.example.com", **EXTERNAL_OPTIONS)["external_istiod"]
    assert planned == {"revision": "ext-rev", "namespace": "ext-ns", "config_cluster": "c-cfg",
                       "config_network": "net-cfg", "mesh_id": "mesh9", "address": "istiod.example.com",
                       "tls_secret": "", "public_ca": False}
    behind = facts(EXTERNAL, "x", external_tls=True, external_tls_secret="s", external_tls_cert="PEM")
    assert (behind["external_istiod"]["tls_secret"], behind["external_istiod"]["public_ca"]) == ("s", True)
    # a certificate given means nothing without TLS at the gateway but the CA it comes from
    assert facts(EXTERNAL, "x", external_tls_cert="PEM")["external_istiod"]["tls_secret"] == ""
    assert facts(EXTERNAL, "r")["external_istiod"] is None and facts(PRIMARY_REMOTE, "p")["external_istiod"] is None


def test_each_cluster_s_own_control_plane():
    p = facts(PRIMARY_REMOTE, "p", name="cp", namespace="mesh", update_strategy={"type": "InPlace"})["istiod"]
    assert {k: v for k, v in p.items() if k != "values"} == {"name": "cp", "namespace": "mesh",
                                                             "update_strategy": {"type": "InPlace"}}
    r = facts(EXTERNAL, "r", **EXTERNAL_OPTIONS)["istiod"]
    assert (r["name"], r["namespace"], r["profile"]) == ("ext-rev", "ext-ns", "remote")
    assert "allow_selector_overlap" not in r
    # the external cluster's local control plane, beside the external istiod that watches another cluster
    x = facts(EXTERNAL, "x", **EXTERNAL_OPTIONS)["istiod"]
    assert (x["name"], x["namespace"], x["allow_selector_overlap"]) == ("default", "istio-system", True)
    assert "profile" not in x


def test_the_users_values_go_over_the_topologys_in_turn():
    user = {"values": {"global": {"meshID": "theirs", "a": 1}, "pilot": {"env": {"X": "1"}}},
            "cluster_values": {"global": {"a": 2}, "pilot": {"env": {"Y": "2"}}}}
    p = facts(PRIMARY_REMOTE, "p", **user)["istiod"]["values"]
    assert p["global"] == {"meshID": "theirs", "a": 2, "multiCluster": {"clusterName": "c-p"}, "network": "net-p"}
    assert p["pilot"]["env"] == {"EXTERNAL_ISTIOD": "true", "X": "1", "Y": "2"}
    r = facts(PRIMARY_REMOTE, "r", **user)["istiod"]["values"]
    assert r["global"]["a"] == 2 and r["istiodRemote"]["injectionPath"] == "/inject/cluster/c-r/net/net-r"
    # istio_values are for the mesh's control planes, not the external cluster's local one
    expected = {"global": {"network": "net-x", "a": 2}, "pilot": {"env": {"Y": "2"}}}
    assert facts(EXTERNAL, "x", **user)["istiod"]["values"] == expected
    # a later layer's scalar replaces a map, and a map after it starts anew
    replaced = facts(MULTI_PRIMARY, "a", values={"global": "x"}, cluster_values={"global": {"b": 1}})
    assert replaced["istiod"]["values"]["global"] == {"b": 1}
    assert user["values"]["pilot"] == {"env": {"X": "1"}}


def test_a_planned_gateway_gets_the_revision_that_injects_it():
    primary = facts(PRIMARY_REMOTE, "p", namespace="mesh")["gateway"]
    gateway = multicluster_gateway(primary, "default-v1-30-3")
    assert gateway["revision"] == "default-v1-30-3"
    assert gateway["expose_istiod"] == {"namespace": "mesh", "revision": "default-v1-30-3"}
    # the plan is not changed
    assert "revision" not in primary and primary["expose_istiod"] == {"namespace": "mesh"}
    # the external istiod keeps its own revision; a gateway exposing none stays so
    ingress = multicluster_gateway(facts(EXTERNAL, "x", **EXTERNAL_OPTIONS)["gateway"], "default")
    assert ingress["revision"] == "default" and ingress["expose_istiod"]["revision"] == "ext-rev"
    remote = multicluster_gateway(facts(PRIMARY_REMOTE, "r")["gateway"], "default")
    assert remote["expose_istiod"] is None and remote["revision"] == "default"
    assert multicluster_gateway({"preset": "egress", "name": "out", "namespace": "edge", "values": {}}, "r1") == {
        "preset": "egress", "name": "out", "namespace": "edge", "values": {}, "revision": "r1"}


def test_namespace_metadata_keys_are_the_ones_the_teardown_takes_back():
    assert (topology.NETWORK_LABEL, topology.CONTROL_PLANES_ANNOTATION) == (NETWORK, PLANES)


def test_topology_filter_passes_the_new_options():
    decided = multicluster_topology(EXTERNAL, "x", external_tls=True, external_address="a.example.com",
                                    mesh_id="m2", update_strategy={"type": "InPlace"}, cluster_values={"k": 1})
    assert decided["gateway"]["expose_istiod"]["tls"]["hosts"] == ["a.example.com"]
    assert decided["external_istiod"]["mesh_id"] == "m2" and decided["istiod"]["update_strategy"] == {"type": "InPlace"}
    assert decided["istiod"]["values"]["k"] == 1
    # unset inventory values (None) are the defaults
    assert multicluster_topology(EXTERNAL, "x", external_address=None,
                                 external_tls_cert=None)["external_istiod"]["address"] == ""
