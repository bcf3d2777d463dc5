"""Cluster simulation (workload readiness, nodes, pods, sidecar injection,
rollout restart), fault injection, the request log and admin endpoints, the
CLI and subprocess mode, several clusters, clean shutdown.

On the Python test server because these are that server's own tests.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import urllib3
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.kubeapi import KubeAPI

pytestmark = pytest.mark.integration
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def apply(handle, obj: dict, manager: str = "test") -> dict:
    """Server-side apply through the raw HTTP helper."""
    plural = {"Namespace": "namespaces", "Deployment": "deployments", "DaemonSet": "daemonsets",
              "MutatingWebhookConfiguration": "mutatingwebhookconfigurations"}[obj["kind"]]
    group_version = obj["apiVersion"]
    base = f"/apis/{group_version}" if "/" in group_version else f"/api/{group_version}"
    namespace = obj["metadata"].get("namespace")
    path = f"{base}/namespaces/{namespace}/{plural}/{obj['metadata']['name']}" if namespace else \
        f"{base}/{plural}/{obj['metadata']['name']}"
    code, _unused, body = handle.http("PATCH", path, obj, headers={"Content-Type": "application/apply-patch+yaml"},
                                      query={"fieldManager": manager})
    assert code in (200, 201), body
    return body


def namespace(handle, name: str, labels: dict | None = None) -> None:
    apply(handle, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}})


def deployment(name: str, ns: str, replicas: int = 1, image: str = "app:1") -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "main", "image": image}]}}}}


POD_RULE = [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]
NOT_DISABLED = {"key": "sidecar.istio.io/inject", "operator": "NotIn", "values": ["false"]}


def injector(name: str, service: str, rev: str, labels: dict | None = None, legacy: bool = False) -> dict:
    """A MutatingWebhookConfiguration shaped like Istio's sidecar injector."""
    hooks = [
        {"name": "rev.namespace.sidecar-injector.istio.io",
         "namespaceSelector": {"matchExpressions": [{"key": "istio.io/rev", "operator": "In", "values": [rev]},
                                                    {"key": "istio-injection", "operator": "DoesNotExist"}]},
         "objectSelector": {"matchExpressions": [NOT_DISABLED]}},
        {"name": "rev.object.sidecar-injector.istio.io",
         "namespaceSelector": {"matchExpressions": [{"key": "istio.io/rev", "operator": "DoesNotExist"},
                                                    {"key": "istio-injection", "operator": "DoesNotExist"}]},
         "objectSelector": {"matchExpressions": [NOT_DISABLED,
                                                 {"key": "istio.io/rev", "operator": "In", "values": [rev]}]}},
    ]
    if legacy:
        hooks.append({"name": "namespace.sidecar-injector.istio.io",
                      "namespaceSelector": {"matchExpressions": [
                          {"key": "istio-injection", "operator": "In", "values": ["enabled"]}]},
                      "objectSelector": {"matchExpressions": [NOT_DISABLED]}})
    for hook in hooks:
        hook.update({"clientConfig": {"service": {"name": service, "namespace": "istio-system", "path": "/inject"}},
                     "rules": POD_RULE, "sideEffects": "None", "admissionReviewVersions": ["v1"]})
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": name, "labels": labels or {}}, "webhooks": hooks}


@pytest.fixture
def apps_api(kubeapi_api_client):
    return client.AppsV1Api(kubeapi_api_client)


@pytest.fixture
def core_api(kubeapi_api_client):
    return client.CoreV1Api(kubeapi_api_client)


# --- workloads and nodes ----------------------------------------------------------------------

def test_deployment_status_follows_generation(kubeapi_clean, apps_api):
    namespace(kubeapi_clean, "app")
    apply(kubeapi_clean, deployment("web", "app", replicas=3))
    status = apps_api.read_namespaced_deployment("web", "app").status
    assert (status.observed_generation, status.replicas, status.updated_replicas, status.ready_replicas,
            status.available_replicas) == (1, 3, 3, 3, 3)
    assert {c.type: (c.status, c.reason) for c in status.conditions} == {
        "Available": ("True", "MinimumReplicasAvailable"), "Progressing": ("True", "NewReplicaSetAvailable")}
    apply(kubeapi_clean, deployment("web", "app", replicas=3, image="app:2"))
    updated = apps_api.read_namespaced_deployment("web", "app")
    assert updated.metadata.generation == 2 and updated.status.observed_generation == 2


def test_unready_knob_and_daemonset_node_count(kubeapi_clean, apps_api, core_api):
    namespace(kubeapi_clean, "app")
    kubeapi_clean.set_unready("Deployment", "app", "slow")
    apply(kubeapi_clean, deployment("slow", "app", replicas=2))
    status = apps_api.read_namespaced_deployment("slow", "app").status
    assert status.observed_generation == 1 and status.ready_replicas is None and status.unavailable_replicas == 2
    assert {c.type: c.status for c in status.conditions}["Available"] == "False"
    kubeapi_clean.configure(nodes=3)
    assert len(core_api.list_node().items) == 3
    ds = deployment("agent", "app")
    ds["kind"] = "DaemonSet"
    del ds["spec"]["replicas"]
    apply(kubeapi_clean, ds)
    ds_status = apps_api.read_namespaced_daemon_set("agent", "app").status
    assert (ds_status.desired_number_scheduled, ds_status.number_ready, ds_status.number_available,
            ds_status.updated_number_scheduled, ds_status.observed_generation) == (3, 3, 3, 3, 1)
    kubeapi_clean.set_unready("daemonset", "app", "agent")
    assert apps_api.read_namespaced_daemon_set("agent", "app").status.number_ready == 0
    kubeapi_clean.set_unready("ds", "app", "agent", unready=False)
    kubeapi_clean.configure(nodes=2)
    assert apps_api.read_namespaced_daemon_set("agent", "app").status.number_ready == 2


def test_daemonset_pods_one_per_node_and_on_delete_updates(kubeapi_clean, apps_api, core_api):
    namespace(kubeapi_clean, "app")
    kubeapi_clean.configure(nodes=3)
    ds = deployment("agent", "app")
    ds["kind"] = "DaemonSet"
    del ds["spec"]["replicas"]
    ds["spec"]["updateStrategy"] = {"type": "OnDelete"}
    kubeapi_clean.simulate_pods("DaemonSet", "app", "agent")
    apply(kubeapi_clean, ds)

    def pods():
        return {p.spec.node_name: p for p in core_api.list_namespaced_pod("app").items}

    first = pods()
    assert sorted(first) == ["node-1", "node-2", "node-3"]
    ds["spec"]["template"]["spec"]["containers"][0]["image"] = "app:2"
    apply(kubeapi_clean, ds)
    assert {n: p.metadata.name for n, p in pods().items()} == {n: p.metadata.name for n, p in first.items()}
    status = apps_api.read_namespaced_daemon_set("agent", "app").status
    assert (status.updated_number_scheduled, status.number_ready, status.observed_generation) == (0, 3, 2)

    core_api.delete_namespaced_pod(first["node-2"].metadata.name, "app")
    after = pods()
    assert sorted(after) == ["node-1", "node-2", "node-3"]
    assert after["node-2"].metadata.name != first["node-2"].metadata.name
    assert after["node-2"].metadata.labels["pod-template-generation"] == "2"
    assert after["node-2"].spec.containers[0].image == "app:2"
    assert after["node-1"].metadata.name == first["node-1"].metadata.name
    assert apps_api.read_namespaced_daemon_set("agent", "app").status.updated_number_scheduled == 1

    ds["spec"]["updateStrategy"] = {"type": "RollingUpdate"}
    apply(kubeapi_clean, ds)
    assert all(p.spec.containers[0].image == "app:2" for p in pods().values())
    assert apps_api.read_namespaced_daemon_set("agent", "app").status.updated_number_scheduled == 3


def test_workload_simulation_can_be_switched_off(kubeapi_factory):
    (cluster,) = kubeapi_factory(workloads=False)
    namespace(cluster, "app")
    apply(cluster, deployment("web", "app"))
    _unused, _unused, body = cluster.http("GET", "/apis/apps/v1/namespaces/app/deployments/web")
    assert "status" not in body or not body["status"]


# --- pods and injection -----------------------------------------------------------------------

def test_create_pods_with_phase_owner_and_labels(kubeapi_clean, core_api):
    namespace(kubeapi_clean, "app")
    apply(kubeapi_clean, deployment("web", "app"))
    pods = kubeapi_clean.create_pods("app", 2, labels={"app": "web"}, annotations={"note": "x"},
                                     owner={"kind": "Deployment", "name": "web"})
    pending = kubeapi_clean.create_pods("app", 1, labels={"app": "web"}, phase="Pending")
    assert len(pods) == 2 and pods[0]["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    listed = core_api.list_namespaced_pod("app", field_selector="status.phase=Running").items
    assert sorted(p.metadata.name for p in listed) == sorted(p["metadata"]["name"] for p in pods)
    ready = {c.type: c.status for c in listed[0].status.conditions}
    assert ready["Ready"] == "True" and listed[0].metadata.annotations == {"note": "x"}
    assert core_api.read_namespaced_pod(pending[0]["metadata"]["name"], "app").status.phase == "Pending"


def test_injection_follows_istio_webhook_selectors(kubeapi_clean):
    cluster = kubeapi_clean
    apply(cluster, injector("istio-sidecar-injector", "istiod", "default", legacy=True))
    apply(cluster, injector("istio-sidecar-injector-canary", "istiod-canary", "canary",
                            labels={"istio.io/rev": "canary"}))
    tag = injector("istio-revision-tag-prod", "istiod-canary", "prod",
                   labels={"istio.io/rev": "canary", "istio.io/tag": "prod"})
    apply(cluster, tag)
    namespace(cluster, "istio-system")
    istiod = deployment("istiod-canary", "istio-system", image="docker.io/istio/pilot:1.24.1")
    istiod["spec"]["template"]["spec"]["containers"][0]["name"] = "discovery"
    apply(cluster, istiod)
    namespace(cluster, "legacy", {"istio-injection": "enabled"})
    namespace(cluster, "canary", {"istio.io/rev": "canary"})
    namespace(cluster, "tagged", {"istio.io/rev": "prod"})
    namespace(cluster, "plain")

    def revision(ns: str, labels: dict | None = None):
        (pod,) = cluster.create_pods(ns, 1, labels=labels or {"app": "x"}, inject=True)
        return (pod["metadata"].get("annotations") or {}).get("istio.io/rev"), pod
    assert revision("legacy")[0] == "default"
    assert revision("canary")[0] == "canary"
    assert revision("tagged")[0] == "canary"
    assert revision("plain")[0] is None
    assert revision("plain", {"app": "x", "istio.io/rev": "canary"})[0] == "canary"
    assert revision("legacy", {"app": "x", "sidecar.istio.io/inject": "false"})[0] is None
    rev, pod = revision("canary")
    proxy = [c for c in pod["spec"]["containers"] if c["name"] == "istio-proxy"]
    assert proxy and proxy[0]["image"] == "docker.io/istio/proxyv2:1.24.1"
    assert json.loads(pod["metadata"]["annotations"]["sidecar.istio.io/status"])["revision"] == "canary"
    assert cluster.injection("tagged") == "canary" and cluster.injection("plain") is None


def test_pod_simulation_and_rollout_restart(kubeapi_clean, core_api, apps_api):
    cluster = kubeapi_clean
    apply(cluster, injector("istio-sidecar-injector", "istiod", "default", legacy=True))
    apply(cluster, injector("istio-sidecar-injector-canary", "istiod-canary", "canary",
                            labels={"istio.io/rev": "canary"}))
    namespace(cluster, "app", {"istio-injection": "enabled"})
    cluster.simulate_pods("Deployment", "app", "web")
    apply(cluster, deployment("web", "app", replicas=2))
    pods = core_api.list_namespaced_pod("app", label_selector="app=web").items
    assert len(pods) == 2 and {p.metadata.annotations["istio.io/rev"] for p in pods} == {"default"}
    owner = pods[0].metadata.owner_references[0]
    assert owner.kind == "ReplicaSet" and owner.name.startswith("web-")
    # Canary upgrade: relabel the namespace, then restart the workload.
    apply(cluster, {"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": "app", "labels": {"istio.io/rev": "canary"}}})
    apps_api.patch_namespaced_deployment("web", "app", {"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": "2024-01-01T00:00:00Z"}}}}})
    pods = core_api.list_namespaced_pod("app", label_selector="app=web").items
    assert len(pods) == 2 and {p.metadata.annotations["istio.io/rev"] for p in pods} == {"canary"}
    replica_sets = apps_api.list_namespaced_replica_set("app").items
    assert sorted(rs.spec.replicas for rs in replica_sets) == [0, 2]
    # Deleting a pod makes its ReplicaSet replace it; deleting the Deployment collects everything.
    core_api.delete_namespaced_pod(pods[0].metadata.name, "app")
    assert len(core_api.list_namespaced_pod("app").items) == 2
    apps_api.delete_namespaced_deployment("web", "app")
    assert core_api.list_namespaced_pod("app").items == []
    assert apps_api.list_namespaced_replica_set("app").items == []


# --- faults ------------------------------------------------------------------------------------------

def test_fault_injection_statuses(kubeapi_clean, core_api):
    cluster = kubeapi_clean
    cluster.inject_fault(verb="get", resource="namespaces", name="default", status=429, retry_after=3)
    code, headers, body = cluster.http("GET", "/api/v1/namespaces/default")
    assert code == 429 and headers["Retry-After"] == "3"
    assert body["reason"] == "TooManyRequests" and body["details"]["retryAfterSeconds"] == 3
    assert cluster.http("GET", "/api/v1/namespaces/default")[0] == 200
    cluster.inject_fault(verb="list", resource="configmaps", status=500, count=2)
    for _unused in range(2):
        with pytest.raises(ApiException) as info:
            core_api.list_namespaced_config_map("default")
        assert info.value.status == 500 and json.loads(info.value.body)["reason"] == "InternalError"
    assert core_api.list_namespaced_config_map("default").items
    cluster.inject_fault(verb="create", resource="configmaps", namespace="default", status=503)
    with pytest.raises(ApiException) as info:
        core_api.create_namespaced_config_map("default", {"metadata": {"name": "x"}})
    assert info.value.status == 503 and json.loads(info.value.body)["reason"] == "ServiceUnavailable"
    faulted = [e for e in cluster.requests() if e["fault"]]
    assert [e["code"] for e in faulted] == [429, 500, 500, 503]
    assert not any(e["persisted"] for e in faulted)


def test_fault_injection_reset_and_delay(kubeapi_clean):
    cluster = kubeapi_clean
    cluster.inject_fault(verb="get", resource="namespaces", reset=True)
    configuration = client.Configuration()
    configuration.host = cluster.url
    configuration.ssl_ca_cert = cluster.ca_file
    configuration.api_key = {"authorization": "Bearer " + cluster.token}
    configuration.retries = False
    with client.ApiClient(configuration) as api:
        with pytest.raises((urllib3.exceptions.HTTPError, OSError)):
            client.CoreV1Api(api).read_namespace("default")
        cluster.inject_fault(verb="list", resource="namespaces", delay=0.5)
        start = time.monotonic()
        assert client.CoreV1Api(api).list_namespace().items
        assert time.monotonic() - start >= 0.5
    assert cluster.cluster.faults.list() == []


# --- request log -------------------------------------------------------------------------------------

def test_request_log_records_writes_in_order(kubeapi_clean):
    cluster = kubeapi_clean
    before = cluster.last_request()
    namespace(cluster, "istio-system")
    apply(cluster, deployment("istiod", "istio-system"))
    apply(cluster, deployment("istiod", "istio-system"))            # identical: not a write
    apply(cluster, deployment("istio-cni", "istio-system"), manager="cni")
    cluster.http("PATCH", "/apis/apps/v1/namespaces/istio-system/deployments/ztunnel",
                 deployment("ztunnel", "istio-system"), headers={"Content-Type": "application/apply-patch+yaml"},
                 query={"fieldManager": "x", "dryRun": "All"})
    writes = cluster.writes(before)
    assert [(w["kind"], w["name"]) for w in writes] == [
        ("Namespace", "istio-system"), ("Deployment", "istiod"), ("Deployment", "istio-cni")]
    assert writes[2]["field_manager"] == "cni" and writes[2]["patch_type"] == "apply"
    mutating = cluster.mutating_requests(before)
    assert [(m["name"], m["persisted"], m["dry_run"]) for m in mutating] == [
        ("istio-system", True, False), ("istiod", True, False), ("istiod", False, False),
        ("istio-cni", True, False), ("ztunnel", False, True)]
    assert all(m["code"] in (200, 201) for m in mutating)
    cluster.reset_log()
    assert cluster.requests() == []


def test_admin_endpoints_need_the_token(kubeapi_clean):
    code, _unused, _unused = kubeapi_clean.http("GET", "/_test/requests", headers={"Authorization": "Bearer nope"})
    assert code == 401
    assert kubeapi_clean.admin("GET", "config")["nodes"] == 1
    assert kubeapi_clean.admin("POST", "faults", {"verb": "get", "status": 500})["status"] == 500
    assert len(kubeapi_clean.admin("GET", "faults")["items"]) == 1
    kubeapi_clean.admin("DELETE", "faults")
    assert kubeapi_clean.admin("GET", "faults")["items"] == []


# --- subprocess, CLI, several clusters -------------------------------------------------------------------

def test_subprocess_server_and_remote_knobs(kubeapi_process, kubectl_binary):
    cluster = kubeapi_process
    cluster.reset()
    cluster.kubectl("create", "namespace", "remote", binary=kubectl_binary)
    pods = cluster.create_pods("remote", 2, labels={"app": "r"})
    assert len(pods) == 2
    out = cluster.kubectl("get", "pods", "-n", "remote", "-l", "app=r", "-o", "name", binary=kubectl_binary).stdout
    assert len(out.splitlines()) == 2
    writes = cluster.writes()
    assert [(w["verb"], w["resource"]) for w in writes] == [("create", "namespaces")]
    cluster.inject_fault(verb="get", resource="namespaces", status=503, count=1)
    assert cluster.http("GET", "/api/v1/namespaces/remote")[0] == 503
    cluster.set_unready("Deployment", "remote", "web")
    assert cluster.admin("GET", "unready")["items"] == [["Deployment", "remote", "web"]]


def test_cli_serves_several_clusters_and_stops_on_sigterm(tmp_path, kubectl_binary):
    kubeconfig = tmp_path / "kubeconfig"
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "tests.kubeapi", "--kubeconfig", str(kubeconfig),
                                "--clusters", "3", "--port", "0"], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("kubeapi ready: ")
        ready = json.loads(line[len("kubeapi ready: "):])
        assert [c["context"] for c in ready["clusters"]] == ["cluster1", "cluster2", "cluster3"]
        config = yaml.safe_load(kubeconfig.read_text())
        assert [c["name"] for c in config["contexts"]] == ["cluster1", "cluster2", "cluster3"]
        assert all("certificate-authority-data" in c["cluster"] for c in config["clusters"])
        assert len({c["url"] for c in ready["clusters"]}) == 3
        env = dict(os.environ, KUBECACHEDIR=str(tmp_path / "cache"))
        kubectl = [kubectl_binary, "--kubeconfig", str(kubeconfig)]
        subprocess.run(kubectl + ["--context", "cluster2", "create", "ns", "only-two"], check=True, env=env,
                       capture_output=True)
        two = subprocess.run(kubectl + ["--context", "cluster2", "get", "ns", "only-two"], env=env,
                             capture_output=True, check=False)
        one = subprocess.run(kubectl + ["--context", "cluster1", "get", "ns", "only-two"], env=env,
                             capture_output=True, check=False)
        assert two.returncode == 0 and one.returncode != 0
        cli = [sys.executable, "-m", "tests.kubeapi"]
        names = subprocess.run(cli + ["pods", "--kubeconfig", str(kubeconfig), "--context", "cluster2",
                                      "-n", "only-two", "--count", "2", "--label", "app=cli"],
                               cwd=REPO, check=True, capture_output=True, text=True).stdout.split()
        assert len(names) == 2
        log = json.loads(subprocess.run(cli + ["requests", "--kubeconfig", str(kubeconfig), "--context",
                                               "cluster2", "--writes"], cwd=REPO, check=True,
                                        capture_output=True, text=True).stdout)
        assert [(e["verb"], e["name"]) for e in log] == [("create", "only-two")]
        assert time.monotonic() - started < 10
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0


def test_multiple_clusters_fixture_are_independent(kubeapi_clusters):
    one, two = kubeapi_clusters
    namespace(one, "only-one")
    assert one.http("GET", "/api/v1/namespaces/only-one")[0] == 200
    assert two.http("GET", "/api/v1/namespaces/only-one")[0] == 404
    assert one.ca_pem != two.ca_pem and one.token != two.token
    assert one.http("GET", "/version")[0] == 200
    # Each cluster rejects the other's token.
    code, _unused, _unused = two.http("GET", "/api/v1/namespaces", headers={"Authorization": f"Bearer {one.token}"})
    assert code == 401


@pytest.mark.parametrize("kubeapi_clusters", [3], indirect=True)
def test_three_clusters(kubeapi_clusters):
    assert [c.context for c in kubeapi_clusters] == ["cluster1", "cluster2", "cluster3"]
    assert len({c.url for c in kubeapi_clusters}) == 3


def test_start_is_fast_and_stop_leaves_no_threads(core_api):
    baseline = {t.ident for t in threading.enumerate()}
    started = time.monotonic()
    api = KubeAPI(2).start()
    assert time.monotonic() - started < 1.0
    handle = api.handles[0]
    watcher_done = threading.Event()

    def watch_forever() -> None:
        try:
            handle.http("GET", "/api/v1/namespaces", query={"watch": "true", "timeoutSeconds": "30"}, raw=True)
        finally:
            watcher_done.set()
    thread = threading.Thread(target=watch_forever, daemon=True)
    thread.start()
    time.sleep(0.3)
    api.cleanup()
    assert watcher_done.wait(5)
    time.sleep(0.2)
    leftover = [t for t in threading.enumerate() if t.ident not in baseline and t.is_alive()]
    assert leftover == []


def test_watch_timeout_seconds_ends_the_stream(kubeapi_clean):
    started = time.monotonic()
    code, _unused, data = kubeapi_clean.http("GET", "/api/v1/namespaces", query={"watch": "1", "timeoutSeconds": "1"},
                                             raw=True)
    elapsed = time.monotonic() - started
    events = [json.loads(line) for line in data.decode().splitlines()]
    assert code == 200 and 0.9 <= elapsed < 3
    assert {e["type"] for e in events} == {"ADDED"} and len(events) == 4
