# -*- coding: utf-8 -*-
"""playbooks/ambient.yml on the real control plane (two kwok nodes) with the fixture charts.

One cluster goes through the whole life of an ambient mesh (install, a second run
with zero writes, an upgrade in the order control plane -> CNI -> ztunnel with
ztunnel rolled out node by node, removal); refused requests must not write anything.
The real DaemonSet controller and kwok run the CNI and ztunnel pods on both nodes.

Waypoints: istiod watches Gateways of class istio-waypoint, creates the proxy's
Deployment and Service, and reports the Gateway Programmed once the proxy runs. No
istiod runs here (tests/cluster/injector.py only answers its webhooks), so nobody
creates that Deployment, and the collection does not look for one: istio_waypoint
waits for the Programmed condition and then puts the enrolment labels on. A small
thread plays that part of istiod (it reports each such Gateway Programmed), and the
test checks what the collection owns: the Gateway, its listener and the labels.
"""
from __future__ import annotations

import contextlib
import json
import os
import threading

import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils import _dataplane as dataplane
from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.servicemesh.istio.plugins.module_utils._charts import ChartSource, ChartSourceOptions
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import builtin_catalog
from ansible_collections.servicemesh.istio.plugins.module_utils._manifest import (
    ControlPlane, ManifestRenderer, plan_revision)
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s import _inventory as inventory
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import connect
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._inventory import InventoryRecord, UnitKey
from tests.cluster.fixtures import on_python_server
from tests.helpers.ansible import ROOT, run_module, run_playbook

pytestmark = pytest.mark.integration

PLAYBOOK = os.path.join(ROOT, "playbooks", "ambient.yml")
CHARTS = os.path.join(ROOT, "tests", "fixtures", "charts")
# the tests' own Gateway API bundles, of the upstream channels' kinds and size (tests/fixtures/gateway-api)
STANDARD_CRDS = os.path.join(ROOT, "tests", "fixtures", "gateway-api", "standard-install.yaml")
EXPERIMENTAL_CRDS = os.path.join(ROOT, "tests", "fixtures", "gateway-api", "experimental-install.yaml")
GATEWAY_API_POLICY = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/" \
                     "gateway-api-channel.servicemesh-istio.test"
GATEWAYS = "/apis/gateway.networking.k8s.io/v1/gateways"
AGENT_NAMESPACES = {"istio-cni": "cni", "ztunnel": "ztunnel"}
WAYPOINTS = [
    {"namespace": "bookinfo", "enroll_namespaces": ["bookinfo"]},
    # cross-namespace: curl's traffic goes through the waypoint in shared, and so does that of one service
    # account's workloads and of one pod in bookinfo
    {"name": "waypoint-shared", "namespace": "shared", "enroll_namespaces": ["curl"], "waypoint_for": "all",
     "enroll_service_accounts": ["bookinfo/reviews"], "enroll_pods": ["bookinfo/ratings-0"]},
]
SERVICE_ACCOUNT = "/api/v1/namespaces/bookinfo/serviceaccounts/reviews"
POD = "/api/v1/namespaces/bookinfo/pods/ratings-0"


@pytest.fixture
def cluster(k8s_cluster):
    # Both no-ops on the real clusters (two nodes, every pod run); for the Python server (ISTIO_TEST_SERVER=kubeapi)
    # the same two nodes and ztunnel's pods, so the node-by-node rollout has pods to replace there too.
    k8s_cluster.configure(nodes=2)
    k8s_cluster.simulate_pods("DaemonSet", "ztunnel", "ztunnel")
    for name in ("bookinfo", "curl", "shared", "untouched"):
        create_namespace(k8s_cluster, name, {"team": "a"})
    create(k8s_cluster, "/api/v1/namespaces/bookinfo/serviceaccounts",
           {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "reviews"}})
    create(k8s_cluster, "/api/v1/namespaces/bookinfo/pods",
           {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ratings-0"},
            "spec": {"serviceAccountName": "reviews", "automountServiceAccountToken": False, "nodeName": "node-1",
                     "containers": [{"name": "ratings", "image": "ratings"}]}})
    return k8s_cluster


def create(cluster, path, body):
    status, _unused, answer = cluster.http("POST", path, body)
    assert status == 201, answer


def create_namespace(cluster, name, labels=None):
    status, _unused, body = cluster.http("POST", "/api/v1/namespaces",
                                         {"apiVersion": "v1", "kind": "Namespace",
                                          "metadata": {"name": name, "labels": labels or {}}})
    assert status == 201, body


def get(cluster, path):
    # raw: a real API server answers a group it does not serve (yet) with a plain-text 404
    status, _unused, body = cluster.http("GET", path, raw=True)
    return json.loads(body) if status == 200 else None


def labels_of(cluster, namespace):
    return get(cluster, "/api/v1/namespaces/%s" % namespace)["metadata"].get("labels") or {}


def daemonset(cluster, namespace, name):
    return get(cluster, "/apis/apps/v1/namespaces/%s/daemonsets/%s" % (namespace, name))


@contextlib.contextmanager
def istiod_programs_waypoints(cluster):
    """Report every waypoint Gateway Programmed, the way istiod does once its proxy runs."""
    stop = threading.Event()

    def program():
        while not stop.wait(0.2):
            for gateway in (get(cluster, GATEWAYS) or {}).get("items") or []:
                meta = gateway["metadata"]
                # the Gateway API's default status says Programmed Unknown until a controller answers
                programmed = [c for c in (gateway.get("status") or {}).get("conditions") or []
                              if c["type"] == "Programmed" and c["status"] == "True"]
                if programmed or gateway["spec"].get("gatewayClassName") != "istio-waypoint":
                    continue
                condition = {"type": "Programmed", "status": "True", "reason": "Programmed", "message": "test",
                             "observedGeneration": meta.get("generation", 1),
                             "lastTransitionTime": "2026-01-01T00:00:00Z"}
                cluster.http("PATCH", "/apis/gateway.networking.k8s.io/v1/namespaces/%s/gateways/%s/status"
                             % (meta["namespace"], meta["name"]), {"status": {"conditions": [condition]}},
                             headers={"Content-Type": "application/merge-patch+json"})
    thread = threading.Thread(target=program, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)


def ambient(cluster, args=None, **extra):
    extra_vars = {"istio_kubeconfig": cluster.kubeconfig, "istio_context": cluster.context,
                  "istio_chart_dir": CHARTS, "istio_version": "v1.29.6", "istio_gateway_api_crds_file": STANDARD_CRDS,
                  "istio_ambient_namespaces": ["bookinfo", "curl"], "istio_discovery_labels": {"istio-discovery":
                                                                                               "enabled"},
                  "istio_waypoints": WAYPOINTS, "istio_wait_timeout": 60}
    extra_vars.update(extra)
    with istiod_programs_waypoints(cluster):
        return run_playbook(PLAYBOOK, extra_vars, args=args)


def task_result(run, name):
    """A task's result, also for tasks of a role (named '<role> : <task>')."""
    found = [task["hosts"]["localhost"] for play in run.json["plays"] for task in play["tasks"]
             if task["task"]["name"].split(" : ")[-1] == name and "localhost" in task["hosts"]]
    assert found, "task %r did not run" % name
    return found[-1]


def failure(run):
    assert not run.ok, run.stdout[-3000:]
    return run.stdout + run.stderr


def owner(entry):
    """Which component a write belongs to: the control plane, the CNI, ztunnel, or something else."""
    if entry["namespace"] in AGENT_NAMESPACES:
        return AGENT_NAMESPACES[entry["namespace"]]
    name = entry["name"]
    if "istio-cni" in name or name.startswith("servicemesh-istio-cni"):
        return "cni"
    if "ztunnel" in name:
        return "ztunnel"
    if entry["namespace"] == "istio-system" and not name.startswith("servicemesh-istio-labels"):
        return "cp"
    if "istiod" in name or entry["resource"] == "customresourcedefinitions" and "istio.io" in name:
        return "cp"
    return None


def write_order(writes):
    order = []
    for entry in writes:
        who = owner(entry)
        if who and (not order or order[-1] != who):
            order.append(who)
    return order


def test_ambient_install_rerun_upgrade_and_removal(cluster):
    user_gateway = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
                    "metadata": {"name": "mine", "namespace": "untouched"},
                    "spec": {"gatewayClassName": "someone-elses",
                             "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]}}

    since = cluster.last_request()
    predicted = ambient(cluster, args=["--check", "--diff"])
    assert predicted.ok and predicted.stats()["changed"] > 0, predicted.stdout[-4000:]
    assert cluster.writes(since) == [], "check mode wrote to the cluster"
    # in check mode the roles report the cluster's own state: nothing installed yet
    assert predicted.result("servicemesh.istio.cni : Set istio_cni")["ansible_facts"]["istio_cni"] is None

    first = ambient(cluster)
    assert first.ok, first.stdout[-4000:]
    facts = first.result("Set istio_ambient")["ansible_facts"]["istio_ambient"]
    # the roles' facts come from their modules' results, having waited, and agree with istio_info's
    assert first.result("servicemesh.istio.cni : Set istio_cni")["ansible_facts"]["istio_cni"] == {
        "namespace": "istio-cni", "version": facts["cni"]["version"], "ready": True, "not_ready_reason": ""}
    role_ztunnel = first.result("servicemesh.istio.ztunnel : Set istio_ztunnel")["ansible_facts"]["istio_ztunnel"]
    assert role_ztunnel == dict(facts["ztunnel"], ready=True, not_ready_reason=""), (role_ztunnel, facts["ztunnel"])
    assert facts["control_plane"]["status"] == "Healthy", facts
    assert facts["cni"]["ready"] and facts["ztunnel"]["ready"] and facts["ztunnel"]["revision"] == "default"
    assert sorted(facts["waypoints"]) == ["bookinfo/waypoint", "shared/waypoint-shared"]
    for namespace, name in (("istio-cni", "istio-cni-node"), ("ztunnel", "ztunnel")):
        status = daemonset(cluster, namespace, name)["status"]
        assert status["numberReady"] == status["desiredNumberScheduled"] == 2
    record = get(cluster, "/api/v1/namespaces/istio-system/configmaps/servicemesh-istio-revision-default")
    assert '"trustedZtunnelNamespace":"ztunnel"' in record["data"]["metadata"]
    assert labels_of(cluster, "bookinfo") == {
        "kubernetes.io/metadata.name": "bookinfo", "team": "a", "istio-discovery": "enabled",
        "istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint"}
    assert labels_of(cluster, "curl")["istio.io/use-waypoint"] == "waypoint-shared"
    assert labels_of(cluster, "curl")["istio.io/use-waypoint-namespace"] == "shared"
    for namespace in ("istio-system", "istio-cni", "ztunnel"):
        assert labels_of(cluster, namespace)["istio-discovery"] == "enabled"
    shared = get(cluster, "/apis/gateway.networking.k8s.io/v1/namespaces/shared/gateways/waypoint-shared")
    assert shared["metadata"]["labels"]["istio.io/waypoint-for"] == "all"
    assert shared["spec"]["listeners"][0]["allowedRoutes"]["namespaces"]["selector"] == {
        "matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["bookinfo", "curl"]}]}
    for path in (SERVICE_ACCOUNT, POD):
        assert get(cluster, path)["metadata"]["labels"] == {"istio.io/use-waypoint": "waypoint-shared",
                                                            "istio.io/use-waypoint-namespace": "shared"}, path
    assert [c["type"] for c in shared["status"]["conditions"]] == ["Programmed"]
    create(cluster, "/apis/gateway.networking.k8s.io/v1/namespaces/untouched/gateways", user_gateway)
    # the standard channel: its CRDs were waited for (Established), its admission policy was not (no condition)
    gateway_api = task_result(first, "Gateway API CRDs")
    assert gateway_api["changed"] and sorted(gateway_api["crds"]) == sorted(
        "%s.gateway.networking.k8s.io" % plural for plural in ("gatewayclasses", "gateways", "httproutes",
                                                               "grpcroutes", "referencegrants"))
    assert sorted(gateway_api["waited_for"]) == sorted("CustomResourceDefinition.apiextensions.k8s.io %s" % name
                                                       for name in gateway_api["crds"])
    assert get(cluster, GATEWAY_API_POLICY)["spec"]["validations"]

    since = cluster.last_request()
    second = ambient(cluster)
    assert second.ok and second.stats()["changed"] == 0, second.stdout[-3000:]
    assert cluster.writes(since) == []

    since = cluster.last_request()
    upgrade = ambient(cluster, istio_version="v1.30.3", istio_ztunnel_node_rollout=True,
                      istio_gateway_api_crds_file=EXPERIMENTAL_CRDS)
    assert upgrade.ok, upgrade.stdout[-4000:]
    assert write_order(cluster.writes(since)) == ["cp", "cni", "ztunnel"]
    # the experimental channel over the standard one: more kinds, the same ones upgraded
    assert get(cluster, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/tlsroutes.gateway.networking.k8s.io")
    gateways_crd = get(cluster, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
                                "gateways.gateway.networking.k8s.io")
    assert gateways_crd["metadata"]["annotations"]["gateway.networking.k8s.io/channel"] == "experimental"
    ztunnel = daemonset(cluster, "ztunnel", "ztunnel")
    assert ztunnel["metadata"]["labels"]["app.kubernetes.io/version"] == "1.30.3"
    assert ztunnel["spec"]["updateStrategy"]["type"] == "OnDelete"
    # the DaemonSet controller left the old pods (OnDelete); the rollout replaced them node by node
    rollout = task_result(upgrade, "Roll ztunnel out one node at a time")
    assert rollout["changed"] and rollout["rolled_nodes"] == ["node-1", "node-2"], rollout
    pods = get(cluster, "/api/v1/namespaces/ztunnel/pods")["items"]
    assert sorted(p["spec"]["nodeName"] for p in pods if not p["metadata"].get("deletionTimestamp")) == [
        "node-1", "node-2"]
    assert {c["image"] for p in pods for c in p["spec"]["containers"]} == {
        "registry.istio.io/release/ztunnel:1.30.3-distroless"}

    since = cluster.last_request()
    rerun = ambient(cluster, istio_version="v1.30.3", istio_ztunnel_node_rollout=True,
                    istio_gateway_api_crds_file=EXPERIMENTAL_CRDS)
    assert rerun.ok and rerun.stats()["changed"] == 0, rerun.stdout[-3000:]
    assert cluster.writes(since) == []

    removal = ambient(cluster, istio_version="v1.30.3", istio_state="absent")
    assert removal.ok, removal.stdout[-4000:]
    assert daemonset(cluster, "ztunnel", "ztunnel") is None
    assert daemonset(cluster, "istio-cni", "istio-cni-node") is None
    assert get(cluster, "/apis/apps/v1/namespaces/istio-system/deployments/istiod") is None
    assert get(cluster, "/apis/gateway.networking.k8s.io/v1/namespaces/bookinfo/gateways/waypoint") is None
    assert get(cluster, "/apis/gateway.networking.k8s.io/v1/namespaces/untouched/gateways/mine") is not None
    assert labels_of(cluster, "bookinfo") == {"kubernetes.io/metadata.name": "bookinfo", "team": "a"}
    assert labels_of(cluster, "curl") == {"kubernetes.io/metadata.name": "curl", "team": "a"}
    for path in (SERVICE_ACCOUNT, POD):
        assert not get(cluster, path)["metadata"].get("labels"), path
    for namespace in ("istio-system", "istio-cni", "ztunnel", "bookinfo", "shared", "untouched"):
        assert get(cluster, "/api/v1/namespaces/%s" % namespace) is not None
    assert get(cluster, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
                        "gateways.gateway.networking.k8s.io") is not None

    since = cluster.last_request()
    again = ambient(cluster, istio_version="v1.30.3", istio_state="absent")
    assert again.ok and again.stats()["changed"] == 0, again.stdout[-3000:]
    assert cluster.writes(since) == []


@pytest.mark.parametrize("extra,message", [
    ({"istio_ztunnel_version": "v1.30.3"},
     "ztunnel v1.30.3 must not be newer than the control plane it follows (v1.29.6"),
    ({"istio_values": {"pilot": {"trustedZtunnelNamespace": "kube-system"}}},
     "trustedZtunnelNamespace is 'kube-system' but ztunnel runs in namespace 'ztunnel'"),
    ({"istio_ambient_namespaces": ["nowhere"]}, "namespaces nowhere do not exist"),
    ({"istio_gateway_api_crds_file": ""}, "waypoints need the Kubernetes Gateway API CRDs"),
])
def test_refused_before_any_write(cluster, extra, message):
    since = cluster.last_request()
    assert message in failure(ambient(cluster, **extra))
    assert cluster.writes(since) == []


def test_bad_gateway_api_bundle_is_refused_before_anything_is_installed(cluster, tmp_path):
    """A CEL rule the API server cannot compile: its dry run refuses the bundle before the control plane goes in."""
    if on_python_server():
        pytest.skip("compiling CEL rules is the real API server's: the Python server does not")
    with open(STANDARD_CRDS, encoding="utf-8") as handle:
        text = handle.read()
    rule = "self.all(l1, self.exists_one(l2, l1.name == l2.name))"
    assert rule in text
    bad = tmp_path / "bad-install.yaml"
    bad.write_text(text.replace(rule, "self.all(l1, self.exists_one(l2, l1.nosuchfield == l2.name))", 1))
    since = cluster.last_request()
    output = failure(ambient(cluster, istio_gateway_api_crds_file=str(bad)))
    assert "Check the Gateway API CRDs (server dry run)" in output and "nosuchfield" in output, output[-3000:]
    assert cluster.writes(since) == []
    assert get(cluster, "/apis/apps/v1/namespaces/istio-system/deployments/istiod") is None


def connect_to(cluster):
    return connect({"kubeconfig": cluster.kubeconfig, "context": cluster.context})


def test_agents_too_far_from_another_control_plane_are_refused(cluster):
    """Every control plane of the cluster counts, not only the one being installed."""
    create_namespace(cluster, "other-system")
    record = InventoryRecord(UnitKey("revision", "other", "other-system"),
                             metadata={"controlPlane": "other", "version": "v1.31.0-beta.1", "values": {}})
    inventory.save(connect_to(cluster), record)
    since = cluster.last_request()
    output = failure(ambient(cluster))
    assert "istio-cni v1.29.6 is too far from control plane version v1.31.0-beta.1 (allowed: 1.30 to 1.32) " \
        "(revision other)" in output
    assert cluster.writes(since) == []


def test_running_ztunnel_newer_than_the_new_control_plane_is_refused(cluster):
    """A downgrade would leave ztunnel ahead of its control plane: ztunnel has to go first."""
    client = connect_to(cluster)
    catalog = builtin_catalog()
    renderer = ManifestRenderer(ChartSource(ChartSourceOptions(chart_dir=CHARTS)))
    options = lifecycle.Options(wait=False)
    plan = plan_revision(ControlPlane(version="v1.30.3", profile="ambient"), catalog)
    lifecycle.install_revision(client, renderer, ControlPlane(version="v1.30.3", profile="ambient"), plan, options,
                               create_namespace_if_missing=True)
    dataplane.install_ztunnel(client, renderer, catalog.resolve("v1.30.3"), "ztunnel", {}, "", options,
                              create_namespace=True)
    since = cluster.last_request()
    output = failure(ambient(cluster, istio_waypoints=[]))
    assert "ztunnel (running now) v1.30.3 must not be newer than the control plane it follows (v1.29.6" in output
    assert cluster.writes(since) == []


# -- istio_ambient_plan on its own ----------------------------------------------------------------

def plan_module(cluster, check=False, **args):
    params = {"kubeconfig": cluster.kubeconfig, "context": cluster.context, "version": "v1.29.6",
              "ambient_namespaces": ["bookinfo"], "discovery_labels": {"istio-discovery": "enabled"},
              "waypoints": [{"namespace": "shared", "enroll_namespaces": ["curl"]}],
              "gateway_api_crds_file": STANDARD_CRDS}
    params.update(args)
    return run_module("servicemesh.istio.istio_ambient_plan", params, check=check)


def test_plan_module_returns_the_plan_and_writes_nothing(cluster):
    since = cluster.last_request()
    result = plan_module(cluster)
    assert not result.get("failed") and result["changed"] is False, result
    plan = result["plan"]
    assert (plan["revision"], plan["version"], plan["cni_version"], plan["ztunnel_version"]) == (
        "default", "v1.29.6", "v1.29.6", "v1.29.6")
    assert plan["control_plane_values"]["pilot"]["trustedZtunnelNamespace"] == "ztunnel"
    assert plan["labels"] == {"istio-system": {"istio-discovery": "enabled"}, "istio-cni": {"istio-discovery": "enabled"},
                              "ztunnel": {"istio-discovery": "enabled"},
                              "bookinfo": {"istio-discovery": "enabled", "istio.io/dataplane-mode": "ambient"}}
    assert plan["namespaces_required"] == ["bookinfo", "shared", "curl"]
    assert plan["gateway_api"] == {"present": False, "source": STANDARD_CRDS, "download": False}
    assert plan["ztunnel_follows"] and plan["prune"] and plan["install_waypoints"]
    assert result["summary"]["control_plane"] == {} and result["summary"]["cni"] is None
    assert cluster.writes(since) == []
    lists = [e["resource"] for e in cluster.requests(since) if e["verb"] == "list" and not e["query"].get("continue")]
    assert sorted(lists) == ["configmaps", "namespaces", "pods"]  # one list of each, for the facts and the plan


def test_plan_module_in_check_mode_says_what_check_mode_can_predict(cluster):
    since = cluster.last_request()
    result = plan_module(cluster, check=True)
    assert not result.get("failed") and result["changed"] is False, result
    plan = result["plan"]
    # nothing installed yet: ztunnel cannot follow, nothing to prune, no Gateway API to predict waypoints with
    assert not plan["ztunnel_follows"] and plan["ztunnel_control_plane"] == ""
    assert not plan["prune"] and not plan["install_waypoints"]
    assert sorted(plan["labels"]) == ["bookinfo"]  # the namespaces this run would create are not there yet
    assert cluster.writes(since) == []


def test_plan_module_refuses_skew_and_missing_namespaces_at_once_with_zero_writes(cluster):
    since = cluster.last_request()
    result = plan_module(cluster, ztunnel_version="v1.30.3", ambient_namespaces=["bookinfo", "nowhere"],
                         gateway_api_crds_file=None)
    assert result.get("failed"), result
    assert result["msg"].startswith("ambient mode refused, nothing was changed: "), result["msg"]
    assert result["problems"] == [
        "ztunnel v1.30.3 must not be newer than the control plane it follows (v1.29.6); upgrade the control plane "
        "first (revision default)",
        "namespaces nowhere do not exist (enrolled or holding a waypoint); create them first",
        "waypoints need the Kubernetes Gateway API CRDs, which this cluster lacks; set istio_gateway_api_crds_file "
        "or istio_gateway_api_crds_url"], result["problems"]
    assert cluster.writes(since) == []


def test_plan_module_refuses_a_second_cni_elsewhere(cluster):
    create_namespace(cluster, "kube-cni")
    inventory.save(connect_to(cluster), InventoryRecord(UnitKey("cni", "default", "kube-cni"),
                                                        metadata={"version": "v1.29.6"}))
    since = cluster.last_request()
    result = plan_module(cluster)
    assert result.get("failed") and result["problems"] == [
        "the cluster already has a cni in namespace kube-cni; there is one per cluster, remove it first to move it"]
    assert cluster.writes(since) == []
