# -*- coding: utf-8 -*-
"""playbooks/multicluster.yml on 2 and 3 real clusters (``tests/cluster``), one topology per test, from
empty clusters.

Each test runs the playbook, checks what each cluster holds, runs it again (changed: false and no
write on any cluster), and removes the mesh (exactly what was created goes). To keep the suite
quick, CA keys are 2048 bits (istio_ca_key_size; the module's own tests cover 4096) and each run
does as much checking as it can.

The ``mesh_network`` fixture stands in for what a real mesh has around its clusters: a load
balancer that gives LoadBalancer Services their addresses (``tests/helpers/loadbalancer.py``), and
the gateways' forwarding of port 15017 to another cluster's istiod, which patches the CA bundle of
the webhooks of the clusters it reads through their remote secrets (``tests/helpers/eastwest.py``).

The fixture base chart has no ``gateways.networking.istio.io`` CRD (the real one has), so each
cluster gets a minimal one before the first run, as the Istio CRDs would bring it.
"""
from __future__ import annotations

import base64
import json
import os
import re

import pytest
import yaml
from cryptography import x509

from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster import cacerts, tlscert
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._apply import Applier
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import connect
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef
from tests.helpers.ansible import ROOT, run_playbook
from tests.helpers.eastwest import EastWest
from tests.helpers.loadbalancer import LoadBalancers

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.usefixtures("mesh_network")]

PLAYBOOK = os.path.join(ROOT, "playbooks", "multicluster.yml")
CHARTS = os.path.join(ROOT, "tests", "fixtures", "charts")
VERSION = "v1.30.3"
GATEWAY_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "gateways.networking.istio.io"},
    "spec": {"group": "networking.istio.io", "scope": "Namespaced",
             "names": {"kind": "Gateway", "listKind": "GatewayList", "plural": "gateways", "singular": "gateway"},
             "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                 "type": "object", "properties": {"spec": {"type": "object",
                                                           "x-kubernetes-preserve-unknown-fields": True}}}}}]}}
# What a mesh leaves behind on removal, by design: namespaces (and what the cluster puts in them),
# the Istio CRDs and their inventory record.
# (The API server registers an APIService for each group version the CRDs serve: it goes with them.)
KEPT_KINDS = {("", "namespaces"), ("apiextensions.k8s.io", "customresourcedefinitions"),
              ("apiregistration.k8s.io", "apiservices")}
KEPT_NAMES = {"default", "kube-root-ca.crt", "servicemesh-istio-crds-istio"}


@pytest.fixture
def mesh_network(k8s_clusters, request):
    """Load balancer addresses and the gateways' forwarding between the clusters (real clusters only)."""
    pool = request.getfixturevalue("k8s_pool")
    balancers = LoadBalancers(k8s_clusters, pool)
    network = EastWest(k8s_clusters, pool)
    yield network
    network.stop()
    balancers.stop()


class Mesh:
    """The clusters of one test, their inventory and the playbook runs."""

    def __init__(self, clusters, tmp_path, hosts):
        self.clusters = {handle.name: handle for handle in clusters}
        self.tmp_path = tmp_path
        self.hosts = hosts  # inventory host -> (cluster handle name, role, network)
        # cluster -> istio_remote_server (left out: the role finds the address)
        self.servers = {handle.name: handle.url for handle in clusters}
        self.ca_dir = str(tmp_path / "mesh-ca")
        for handle in clusters:
            Applier(self.connect(handle.name), "test-setup").apply([GATEWAY_CRD])
        self.baseline = {name: self.snapshot(name) for name in self.clusters}

    def connect(self, name):
        return connect({"kubeconfig": self.clusters[name].kubeconfig, "context": self.clusters[name].context})

    def inventory(self, hosts=None):
        entries = {}
        for host, (cluster, role, network) in (hosts or self.hosts).items():
            entries[host] = {"istio_context": self.clusters[cluster].context, "istio_cluster_role": role,
                             "istio_cluster_name": cluster, "istio_network": network}
            # the test clusters share this machine's loopback, which the role does not take by itself
            if cluster in self.servers:
                entries[host]["istio_remote_server"] = self.servers[cluster]
        common = {"istio_kubeconfig": next(iter(self.clusters.values())).kubeconfig, "istio_chart_dir": CHARTS,
                  "istio_version": VERSION, "istio_ca_key_size": 2048, "istio_wait_timeout": 60,
                  "istio_ca_root_cert_file": os.path.join(self.ca_dir, "root-cert.pem"),
                  "istio_ca_root_key_file": os.path.join(self.ca_dir, "root-key.pem")}
        path = self.tmp_path / "inventory.yml"
        path.write_text(yaml.safe_dump({"all": {"vars": common, "hosts": entries}}))
        return str(path)

    def play(self, *args, hosts=None, extra=None, callback=None):
        env = {"TEST_ANSIBLE_CALLBACK": callback} if callback else None
        return run_playbook(PLAYBOOK, extra_vars=extra, args=list(args), inventory=self.inventory(hosts), env=env,
                            timeout=900)

    def marks(self):
        return {name: handle.last_request() for name, handle in self.clusters.items()}

    def writes_since(self, marks):
        return {name: [(w["verb"], w["resource"], w["namespace"], w["name"]) for w in handle.writes(marks[name])]
                for name, handle in self.clusters.items()}

    def snapshot(self, name):
        return {(gr, (obj["metadata"].get("namespace") or ""), obj["metadata"]["name"])
                for gr, obj in self.clusters[name].all_objects()}

    def get(self, name, api_version, kind, obj_name, namespace=None):
        return self.connect(name).get(ObjectRef.of(api_version, kind, obj_name, namespace))

    def root(self):
        with open(os.path.join(self.ca_dir, "root-cert.pem"), "rb") as cert, \
                open(os.path.join(self.ca_dir, "root-key.pem"), "rb") as key:
            return cacerts.load_root(cert.read(), key.read())


def assert_ok(run):
    assert run.ok, (run.stdout[-6000:] + run.stderr[-3000:])


def assert_no_change(mesh, run, marks):
    assert_ok(run)
    changed = {host: stats["changed"] for host, stats in run.json["stats"].items()}
    assert set(changed.values()) == {0}, changed
    assert mesh.writes_since(marks) == {name: [] for name in mesh.clusters}


def revision_values(mesh, cluster, namespace="istio-system", name="default"):
    record = mesh.get(cluster, "v1", "ConfigMap", "servicemesh-istio-revision-%s" % name, namespace)
    return json.loads(record["data"]["metadata"])["values"]


def kubeconfig_in(secret, key):
    return yaml.safe_load(base64.b64decode(secret["data"][key]))


def who_am_i(kubeconfig):
    """The identity the kubeconfig authenticates as, and the server it reaches."""
    cluster = connect({"kubeconfig": kubeconfig})
    review = cluster.client.create(cluster.resource("authentication.k8s.io/v1", "SelfSubjectReview"),
                                   body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
    return review.status.userInfo.username, cluster.host


def assert_remote_secret(mesh, on, of, namespace="istio-system", sa="istio-reader-service-account",
                         name=None, key=None):
    secret = mesh.get(on, "v1", "Secret", name or "istio-remote-secret-%s" % of, namespace)
    assert secret is not None, "no remote secret for %s on %s" % (of, on)
    assert secret["metadata"]["labels"]["istio/multiCluster"] == "true"
    assert secret["metadata"]["annotations"]["networking.istio.io/cluster"] == of
    user, host = who_am_i(kubeconfig_in(secret, key or of))
    assert host == mesh.clusters[of].url
    assert user == "system:serviceaccount:%s:%s" % (namespace, sa)


def assert_cacerts_chain_to(mesh, cluster, root, namespace="istio-system"):
    secret = mesh.get(cluster, "v1", "Secret", "cacerts", namespace)
    judged = cacerts.judge_cacerts(secret, root)
    assert judged.valid, judged.problems


def assert_eastwest(mesh, cluster, network, namespace="istio-system", exposed=("cross-network-gateway",)):
    service = mesh.get(cluster, "v1", "Service", "istio-eastwestgateway", namespace)
    assert [p["port"] for p in service["spec"]["ports"]] == [15021, 15443, 15012, 15017]
    assert service["metadata"]["labels"]["topology.istio.io/network"] == network
    deployment = mesh.get(cluster, "apps/v1", "Deployment", "istio-eastwestgateway", namespace)
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "ISTIO_META_REQUESTED_NETWORK_VIEW", "value": network} in env
    for name in exposed:
        assert mesh.get(cluster, "networking.istio.io/v1", "Gateway", name, namespace) is not None
    return service


def assert_removed_exactly(mesh):
    for name in mesh.clusters:
        now = mesh.snapshot(name)
        assert mesh.baseline[name] - now == set(), "removal deleted what was there before"
        left = {item for item in now - mesh.baseline[name] if item[0] not in KEPT_KINDS and item[2] not in KEPT_NAMES}
        assert left == set(), "left on %s: %s" % (name, sorted(left))


def secret_texts(mesh):
    """Every key, token and kubeconfig the mesh holds, as text that must never be printed."""
    texts = set()
    for name in mesh.clusters:
        for gr, obj in mesh.clusters[name].all_objects():
            if gr != ("", "secrets"):
                continue
            for key, value in (obj.get("data") or {}).items():
                decoded = base64.b64decode(value).decode("utf-8", "replace")
                if key in ("token", "ca-key.pem") or "kubeconfig" in decoded or "users:" in decoded:
                    texts.add(value)
                    texts.update(line.strip() for line in decoded.splitlines() if len(line.strip()) > 40)
    return texts


# -- multi-primary, multi-network -----------------------------------------------------------------

def test_multi_primary_multi_network(k8s_clusters, tmp_path):
    mesh = Mesh(k8s_clusters, tmp_path, {"east": ("cluster1", "primary", "network1"),
                                         "west": ("cluster2", "primary", "network2")})
    first = mesh.play("-vvv", callback="ansible.builtin.default")
    assert first.ok, first.stdout[-6000:] + first.stderr[-3000:]

    # nothing secret in the -vvv output
    output = first.stdout + first.stderr
    assert "PRIVATE KEY" not in output and "LS0tLS1CRUdJTiBQUklWQVRF" not in output
    secrets = secret_texts(mesh)
    assert len(secrets) > 6 and "servicemesh.istio.istio_remote_secret" in output and "invocation" in output
    leaked = [text for text in secrets if text in output]
    assert leaked == [], "secret material in the -vvv output: %s" % [t[:12] + "..." for t in leaked]

    root = mesh.root()
    for cluster, other, network in (("cluster1", "cluster2", "network1"), ("cluster2", "cluster1", "network2")):
        assert_cacerts_chain_to(mesh, cluster, root)
        namespace = mesh.get(cluster, "v1", "Namespace", "istio-system")
        assert namespace["metadata"]["labels"]["topology.istio.io/network"] == network
        values = revision_values(mesh, cluster)
        assert values["global"]["meshID"] == "mesh1" and values["global"]["network"] == network
        assert values["global"]["multiCluster"]["clusterName"] == cluster
        assert_eastwest(mesh, cluster, network)
        assert mesh.get(cluster, "networking.istio.io/v1", "Gateway", "istiod-gateway", "istio-system") is None
        assert_remote_secret(mesh, cluster, other)

    marks = mesh.marks()
    assert_no_change(mesh, mesh.play(), marks)

    # another root is refused before anything is written
    other = cacerts.new_root(cacerts.CaSettings(key_size=2048))
    marks = mesh.marks()
    refused = mesh.play(extra={"istio_ca_root_cert": other.cert_pem().decode(),
                               "istio_ca_root_key": other.key_pem().decode()})
    assert not refused.ok
    assert "different root" in refused.stdout and "set replace" in refused.stdout
    assert other.key_pem().decode().splitlines()[1] not in refused.stdout + refused.stderr
    assert mesh.writes_since(marks) == {name: [] for name in mesh.clusters}

    # a namespace using the mesh on one cluster stops the removal on every cluster, before any write
    west = mesh.clusters["cluster2"]
    west.kubectl("create", "namespace", "shop")
    west.kubectl("label", "namespace", "shop", "istio-injection=enabled")
    marks = mesh.marks()
    refused = mesh.play(extra={"istio_multicluster_state": "absent"})
    assert not refused.ok and "is in use and was not removed" in refused.stdout, refused.stdout[-3000:]
    assert mesh.writes_since(marks) == {name: [] for name in mesh.clusters}
    west.kubectl("delete", "namespace", "shop", "--wait=true", timeout=120)

    removed = mesh.play(extra={"istio_multicluster_state": "absent"})
    assert_ok(removed)
    assert_removed_exactly(mesh)
    assert "topology.istio.io/network" not in (
        mesh.get("cluster1", "v1", "Namespace", "istio-system")["metadata"].get("labels") or {})


# -- primary-remote, multi-network, with two remotes ----------------------------------------------

@pytest.mark.parametrize("k8s_clusters", [3], indirect=True)
def test_primary_remote_multi_network(k8s_clusters, tmp_path):
    mesh = Mesh(k8s_clusters, tmp_path, {"primary": ("cluster1", "primary", "network1"),
                                         "remote-a": ("cluster2", "remote", "network2"),
                                         "remote-b": ("cluster3", "remote", "network3")})
    # check mode from empty clusters: a prediction, nothing written anywhere (not even the root files)
    marks = mesh.marks()
    assert_ok(mesh.play("--check"))
    assert mesh.writes_since(marks) == {name: [] for name in mesh.clusters}
    assert not os.path.exists(mesh.ca_dir)

    assert_ok(mesh.play())

    root = mesh.root()
    primary_values = revision_values(mesh, "cluster1")
    assert primary_values["pilot"]["env"]["EXTERNAL_ISTIOD"] == "true"
    service = assert_eastwest(mesh, "cluster1", "network1",
                              exposed=("cross-network-gateway", "istiod-gateway"))
    routes = mesh.get("cluster1", "networking.istio.io/v1", "VirtualService", "istiod-vs", "istio-system")
    assert routes["spec"]["tls"][0]["route"][0]["destination"]["host"] == "istiod.istio-system.svc.cluster.local"
    address = service["status"]["loadBalancer"]["ingress"][0]["ip"]
    for cluster, network in (("cluster2", "network2"), ("cluster3", "network3")):
        assert_cacerts_chain_to(mesh, cluster, root)
        values = revision_values(mesh, cluster)
        assert values["profile"] == "remote"
        assert values["global"]["remotePilotAddress"] == address
        assert values["istiodRemote"]["injectionPath"] == "/inject/cluster/%s/net/%s" % (cluster, network)
        namespace = mesh.get(cluster, "v1", "Namespace", "istio-system")["metadata"]
        assert namespace["labels"]["topology.istio.io/network"] == network
        assert namespace["annotations"]["topology.istio.io/controlPlaneClusters"] == "cluster1"
        assert_eastwest(mesh, cluster, network, exposed=())
        assert mesh.get(cluster, "apps/v1", "Deployment", "istiod", "istio-system") is None
        assert_remote_secret(mesh, "cluster1", cluster)
        assert mesh.get(cluster, "v1", "Secret", "istio-remote-secret-cluster1", "istio-system") is None

    marks = mesh.marks()
    assert_no_change(mesh, mesh.play(), marks)

    assert_ok(mesh.play(extra={"istio_multicluster_state": "absent"}))
    assert_removed_exactly(mesh)


# -- external control plane, then a second remote cluster ----------------------------------------

@pytest.mark.parametrize("k8s_clusters", [3], indirect=True)
def test_external_control_plane_and_a_second_remote(k8s_clusters, tmp_path):
    hosts = {"external": ("cluster1", "external", "network1"), "config": ("cluster2", "config", "network1")}
    mesh = Mesh(k8s_clusters, tmp_path, hosts)
    assert_ok(mesh.play(hosts=hosts))

    ingress = mesh.get("cluster1", "v1", "Service", "istio-ingressgateway", "istio-system")
    assert sorted(p["port"] for p in ingress["spec"]["ports"]) == [15012, 15017, 15021]
    address = ingress["status"]["loadBalancer"]["ingress"][0]["ip"]
    gateway = mesh.get("cluster1", "networking.istio.io/v1", "Gateway", "istiod-gateway", "external-istiod")
    assert gateway["spec"]["selector"] == {"istio": "ingressgateway"}
    routes = mesh.get("cluster1", "networking.istio.io/v1", "VirtualService", "istiod-vs", "external-istiod")
    assert [(r["match"][0]["port"], r["route"][0]["destination"]["port"]["number"]) for r in routes["spec"]["tls"]] \
        == [(15012, 15012), (15017, 443)]
    assert routes["spec"]["tls"][0]["route"][0]["destination"]["host"] == \
        "istiod-external-istiod.external-istiod.svc.cluster.local"
    external = revision_values(mesh, "cluster1", "external-istiod", "external-istiod")
    env = external["pilot"]["env"]
    assert env["EXTERNAL_ISTIOD"] == "true" and env["CLUSTER_ID"] == "cluster2"
    assert env["INJECTION_WEBHOOK_CONFIG_NAME"] == "istio-sidecar-injector-external-istiod-external-istiod"
    assert external["global"]["caAddress"] == address + ":15012"
    assert external["meshConfig"]["defaultConfig"]["discoveryAddress"] == address + ":15012"
    assert {v["name"] for v in external["pilot"]["volumes"]} == {"config-volume", "inject-volume"}
    assert mesh.get("cluster1", "apps/v1", "Deployment", "istiod-external-istiod", "external-istiod") is not None
    config = revision_values(mesh, "cluster2", "external-istiod", "external-istiod")
    assert config["profile"] == "remote" and config["global"]["configCluster"] is True
    assert config["global"]["remotePilotAddress"] == address and config["pilot"]["configMap"] is True
    assert config["istiodRemote"]["injectionPath"] == "/inject/cluster/cluster2/net/network1"
    assert_remote_secret(mesh, "cluster1", "cluster2", namespace="external-istiod", sa="istiod-external-istiod",
                         name="istio-kubeconfig", key="config")
    # one network: no east-west gateway, no cacerts (the external topology uses istiod's own CA)
    assert mesh.get("cluster2", "v1", "Service", "istio-eastwestgateway", "external-istiod") is None
    assert mesh.get("cluster2", "v1", "Secret", "cacerts", "external-istiod") is None

    # a second remote cluster on another network joins
    mesh.hosts = dict(hosts, second=("cluster3", "remote", "network2"))
    assert_ok(mesh.play())
    second = revision_values(mesh, "cluster3", "external-istiod", "external-istiod")
    assert second["global"]["remotePilotAddress"] == address and "configCluster" not in second["global"]
    assert second["istiodRemote"]["injectionPath"] == "/inject/cluster/cluster3/net/network2"
    assert_remote_secret(mesh, "cluster1", "cluster3", namespace="external-istiod")
    assert_eastwest(mesh, "cluster2", "network1", namespace="external-istiod")
    assert_eastwest(mesh, "cluster3", "network2", namespace="external-istiod", exposed=())

    marks = mesh.marks()
    assert_no_change(mesh, mesh.play(), marks)

    assert_ok(mesh.play(extra={"istio_multicluster_state": "absent"}))
    assert_removed_exactly(mesh)


def test_inventory_errors_fail_before_any_write(k8s_clusters, tmp_path):
    mesh = Mesh(k8s_clusters, tmp_path, {"a": ("cluster1", "remote", "network1"),
                                         "b": ("cluster2", "config", "network2")})
    marks = mesh.marks()
    run = mesh.play()
    assert not run.ok
    assert re.search(r"does not describe a \S+ mesh", run.stdout)
    assert mesh.writes_since(marks) == {name: [] for name in mesh.clusters}


# -- pruning with usage counted on every cluster (beyond the reference operator) ---------------------

PRUNE_TASK = "servicemesh.istio.multicluster : Prune this cluster's inactive revisions"


def test_prune_counts_use_on_every_cluster(k8s_clusters, tmp_path):
    mesh = Mesh(k8s_clusters, tmp_path, {"primary": ("cluster1", "primary", "network1"),
                                         "remote": ("cluster2", "remote", "network2")})
    strategy = {"istio_update_strategy": {"type": "RevisionBased",
                                          "inactive_revision_deletion_grace_period_seconds": 0},
                "istio_multicluster_prune_across_clusters": True}
    assert_ok(mesh.play(extra=dict(strategy, istio_version="v1.29.6")))
    apps = {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "apps", "labels": {"istio.io/rev": "default-v1-29-6"}}}
    mesh.connect("cluster2").apply(apps, "test-setup")

    upgraded = mesh.play(extra=dict(strategy, istio_version="v1.30.3"))
    assert_ok(upgraded)
    decisions = {d["revision"]: d for d in upgraded.result(PRUNE_TASK, "primary")
                 ["decisions"]}
    assert decisions["default-v1-29-6"]["action"] == "keep"
    assert "namespace cluster2:apps" in decisions["default-v1-29-6"]["held_by"]

    apps["metadata"]["labels"]["istio.io/rev"] = "default-v1-30-3"
    mesh.connect("cluster2").apply(apps, "test-setup")
    moved = mesh.play(extra=dict(strategy, istio_version="v1.30.3"))
    assert_ok(moved)
    for host, cluster in (("primary", "cluster1"), ("remote", "cluster2")):
        assert moved.result(PRUNE_TASK, host)["pruned"] == ["default-v1-29-6"]
        assert mesh.get(cluster, "v1", "ConfigMap", "servicemesh-istio-revision-default-v1-29-6",
                        "istio-system") is None


# -- API server addresses found on the clusters (kind's case) ---------------------------------------

def add_control_plane_node(mesh, cluster, address):
    """A control-plane node with an InternalIP, as kind's is (its kubeconfig says 127.0.0.1)."""
    handle = mesh.clusters[cluster]
    node = {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "test-control-plane", "annotations": {"kwok.x-k8s.io/node": "fake"},
                         "labels": {"node-role.kubernetes.io/control-plane": "", "type": "kwok"}}}
    handle.kubectl("apply", "-f", "-", input=json.dumps(node))
    status = {"status": {"addresses": [{"type": "InternalIP", "address": address}]}}
    handle.kubectl("patch", "node", "test-control-plane", "--subresource=status", "--type=merge",
                   "-p", json.dumps(status))


def remote_secret_server(mesh, on, of):
    secret = mesh.get(on, "v1", "Secret", "istio-remote-secret-%s" % of, "istio-system")
    return kubeconfig_in(secret, of)["clusters"][0]["cluster"]["server"]


@pytest.mark.parametrize("k8s_clusters", [3], indirect=True)
def test_api_server_addresses_found_on_the_clusters(k8s_clusters, tmp_path):
    mesh = Mesh(k8s_clusters, tmp_path, {"east": ("cluster1", "primary", "network1"),
                                         "west": ("cluster2", "primary", "network1"),
                                         "north": ("cluster3", "primary", "network1")})
    # cluster1 and cluster2 have no istio_remote_server; cluster3 keeps its given one
    del mesh.servers["cluster1"], mesh.servers["cluster2"]
    add_control_plane_node(mesh, "cluster2", "172.18.0.12")

    # cluster1's only address is this machine's loopback: refused before any write on any cluster
    marks = mesh.marks()
    refused = mesh.play()
    assert not refused.ok
    assert "cluster cluster1: the API server is reached at %s, a loopback address" % mesh.clusters["cluster1"].url \
        in refused.stdout, refused.stdout[-3000:]
    assert "istio_remote_server" in refused.stdout
    assert mesh.writes_since(marks) == {name: [] for name in mesh.clusters}

    add_control_plane_node(mesh, "cluster1", "172.18.0.11")
    assert_ok(mesh.play())
    for on in ("cluster2", "cluster3"):
        assert remote_secret_server(mesh, on, "cluster1") == "https://172.18.0.11:6443"
    for on in ("cluster1", "cluster3"):
        assert remote_secret_server(mesh, on, "cluster2") == "https://172.18.0.12:6443"
    for on in ("cluster1", "cluster2"):
        assert remote_secret_server(mesh, on, "cluster3") == mesh.clusters["cluster3"].url

    marks = mesh.marks()
    assert_no_change(mesh, mesh.play(), marks)

    # removal needs no address: it works with the nodes gone again
    for name in ("cluster1", "cluster2"):
        mesh.clusters[name].kubectl("delete", "node", "test-control-plane")
    assert_ok(mesh.play(extra={"istio_multicluster_state": "absent"}))
    for on, of in (("cluster1", "cluster2"), ("cluster2", "cluster3"), ("cluster3", "cluster1")):
        assert mesh.get(on, "v1", "Secret", "istio-remote-secret-%s" % of, "istio-system") is None


# -- the external control plane behind a TLS ingress (the guide's production variant) ------------------

def tls_certificate(secret):
    return x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))


@pytest.mark.parametrize("k8s_clusters", [3], indirect=True)
def test_external_control_plane_behind_tls(k8s_clusters, tmp_path):
    mesh = Mesh(k8s_clusters, tmp_path, {"external": ("cluster1", "external", "network1"),
                                         "config": ("cluster2", "config", "network1"),
                                         "remote": ("cluster3", "remote", "network1")})
    tls = {"istio_external_tls": True}
    assert_ok(mesh.play(extra=tls))

    address = mesh.get("cluster1", "v1", "Service", "istio-ingressgateway", "istio-system")[
        "status"]["loadBalancer"]["ingress"][0]["ip"]
    gateway = mesh.get("cluster1", "networking.istio.io/v1", "Gateway", "istiod-gateway", "external-istiod")
    assert [(s["port"]["number"], s["port"]["protocol"], s["tls"]) for s in gateway["spec"]["servers"]] == [
        (port, "HTTPS", {"mode": "SIMPLE", "credentialName": "external-istiod-tls"}) for port in (15012, 15017)]
    routes = mesh.get("cluster1", "networking.istio.io/v1", "VirtualService", "istiod-vs", "external-istiod")
    assert "tls" not in routes["spec"]
    assert [(r["match"][0]["port"], r["route"][0]["destination"]["port"]["number"]) for r in routes["spec"]["http"]] \
        == [(15012, 15012), (15017, 443)]
    rule = mesh.get("cluster1", "networking.istio.io/v1", "DestinationRule", "istiod-tls", "external-istiod")
    assert rule["spec"]["host"] == "istiod-external-istiod.external-istiod.svc.cluster.local"
    assert {p["port"]["number"]: p["tls"]["mode"] for p in rule["spec"]["trafficPolicy"]["portLevelSettings"]} == \
        {15012: "SIMPLE", 443: "SIMPLE"}

    # the certificate for the gateway's address, from the mesh's root, which the external istiod's CA is from too
    root = mesh.root()
    secret = mesh.get("cluster1", "v1", "Secret", "external-istiod-tls", "istio-system")
    assert secret["type"] == "kubernetes.io/tls"
    cert = tls_certificate(secret)
    assert cacerts.issued_by(cert, root.cert)
    assert tlscert.cert_hosts(cert) == ([], [address])
    assert_cacerts_chain_to(mesh, "cluster1", root, namespace="external-istiod")
    external = revision_values(mesh, "cluster1", "external-istiod", "external-istiod")
    assert external["pilot"]["env"]["SSL_SECRET_NAME"] == "external-istiod-tls"
    assert external["global"]["caAddress"] == address + ":15012"
    assert "proxyMetadata" not in external["meshConfig"]["defaultConfig"]
    for cluster in ("cluster2", "cluster3"):
        assert revision_values(mesh, cluster, "external-istiod", "external-istiod")["global"][
            "remotePilotAddress"] == address
    assert_remote_secret(mesh, "cluster1", "cluster3", namespace="external-istiod")

    marks = mesh.marks()
    assert_no_change(mesh, mesh.play(extra=tls), marks)

    assert_ok(mesh.play(extra=dict(tls, istio_multicluster_state="absent")))
    assert_removed_exactly(mesh)
