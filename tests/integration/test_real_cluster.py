"""The real control plane for tests (tests/cluster): its command, the real controllers' work, the API
server calling the injector webhooks, and what a real server does that the Python one did not."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from tests.cluster.runtime import READY_PREFIX
from tests.helpers.ansible import ROOT, run_module

pytestmark = pytest.mark.integration
CHARTS = os.path.join(ROOT, "tests", "fixtures", "charts")


def call(cluster, module, **args):
    args.setdefault("kubeconfig", cluster.kubeconfig)
    args.setdefault("context", cluster.context)
    args.setdefault("chart_dir", CHARTS)
    return run_module("servicemesh.istio." + module, args)


def wait_for(predicate, what, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError("timed out waiting for " + what)


def get_json(cluster, *args):
    result = cluster.kubectl("get", *args, "-o", "json", check=False)
    return json.loads(result.stdout) if result.returncode == 0 else None


@pytest.mark.slow
def test_command_starts_clusters_reports_ready_and_stops_on_sigterm(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    proc = subprocess.Popen([sys.executable, "-m", "tests.cluster", "--kubeconfig", str(kubeconfig), "--clusters", "2"],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert "ready" in line and line.startswith(READY_PREFIX), line
        config = yaml.safe_load(kubeconfig.read_text())
        assert [c["name"] for c in config["contexts"]] == ["cluster1", "cluster2"]
        servers = {c["cluster"]["server"] for c in config["clusters"]}
        assert len(servers) == 2, "two independent API servers"
        from tests.cluster import build
        kubectl = build.binaries()["kubectl"]
        for context in ("cluster1", "cluster2"):
            nodes = subprocess.run([kubectl, "--kubeconfig", str(kubeconfig), "--context", context, "get", "nodes",
                                    "-o", "name"], capture_output=True, text=True, timeout=60, check=True)
            assert nodes.stdout.split() == ["node/node-1", "node/node-2"]
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True, check=False).stdout.split()
        assert len(children) >= 10, "etcd, apiserver, controller-manager, scheduler and kwok per cluster"
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)
    assert code == 0
    for pid in children:
        assert not os.path.exists("/proc/%s" % pid) or open("/proc/%s/stat" % pid).read().split()[2] == "Z"


def test_controllers_run_deployments_garbage_collect_and_delete_namespaces(k8s_cluster):
    cluster = k8s_cluster
    cluster.kubectl("create", "namespace", "shop")
    cluster.kubectl("create", "deployment", "web", "-n", "shop", "--image=registry.example/web:1", "--replicas=3")
    cluster.kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=90s", timeout=120)
    replicasets = get_json(cluster, "replicasets", "-n", "shop")["items"]
    assert len(replicasets) == 1 and replicasets[0]["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    pods = get_json(cluster, "pods", "-n", "shop")["items"]
    assert len(pods) == 3
    for pod in pods:
        assert pod["metadata"]["ownerReferences"][0]["name"] == replicasets[0]["metadata"]["name"]
        assert pod["status"]["phase"] == "Running" and pod["status"]["podIP"] and pod["spec"]["nodeName"]

    cluster.kubectl("delete", "deployment", "web", "-n", "shop", "--wait=false")
    wait_for(lambda: not get_json(cluster, "pods", "-n", "shop")["items"], "the garbage collector")
    assert get_json(cluster, "replicasets", "-n", "shop")["items"] == []

    cluster.kubectl("create", "configmap", "left", "-n", "shop")
    cluster.kubectl("delete", "namespace", "shop", "--wait=false")
    wait_for(lambda: get_json(cluster, "namespace", "shop") is None, "the namespace controller")


def test_the_api_server_calls_the_injector_and_refuses_pods_while_istiod_is_down(k8s_cluster):
    cluster = k8s_cluster
    cluster.kubectl("create", "namespace", "istio-system")
    installed = call(cluster, "istio_revision", version="v1.30.3")
    assert installed["changed"], installed
    cluster.kubectl("rollout", "status", "deployment/istiod", "-n", "istio-system", "--timeout=90s", timeout=120)
    cluster.kubectl("create", "namespace", "app")
    cluster.kubectl("label", "namespace", "app", "istio-injection=enabled")

    def ca_patched():
        config = get_json(cluster, "mutatingwebhookconfiguration", "istio-sidecar-injector")
        return all(h["clientConfig"].get("caBundle") for h in config["webhooks"])
    wait_for(ca_patched, "the injector's caBundle, patched as istiod patches it")
    assert cluster.injection("app") == "default"
    pod = cluster.create_pods("app", labels={"app": "web"})[0]
    assert [c["name"] for c in pod["spec"]["containers"]] == ["app", "istio-proxy"]
    status = json.loads(pod["metadata"]["annotations"]["sidecar.istio.io/status"])
    assert status["revision"] == "default" and pod["metadata"]["labels"]["security.istio.io/tlsMode"] == "istio"
    assert pod["spec"]["containers"][1]["image"].endswith("/proxyv2:1.30.3"), pod["spec"]["containers"][1]

    cluster.kubectl("scale", "deployment/istiod", "-n", "istio-system", "--replicas=0")
    wait_for(lambda: not get_json(cluster, "pods", "-n", "istio-system", "-l", "app=istiod")["items"], "istiod to stop")
    attempts = iter(range(1000))

    def refused():
        # The last endpoint leaves the Service a moment after its pod: until then a call still lands.
        run = cluster.kubectl("run", "late-%d" % next(attempts), "-n", "app", "--image=registry.example/web:1",
                              check=False)
        return run.returncode != 0 and "failed calling webhook" in run.stderr
    wait_for(refused, "the API server to refuse pods while no istiod serves", timeout=30)
    cluster.kubectl("create", "namespace", "outside")
    assert cluster.injection("outside") is None, "namespaces without the label are not sent to the injector"


def test_duplicate_env_from_user_values_installs_on_a_real_server(k8s_cluster):
    """pilot.env naming a variable the chart sets itself rendered it twice, which a real API server
    refuses under server-side apply; the collection keeps one entry (the later, as the kubelet would)."""
    cluster = k8s_cluster
    cluster.kubectl("create", "namespace", "istio-system")
    values = {"pilot": {"env": {"PILOT_TRACE_SAMPLING": "50", "PILOT_ENABLE_ANALYSIS": "true"}}}
    installed = call(cluster, "istio_revision", version="v1.30.3", values=values)
    assert installed["changed"] and not installed.get("failed"), installed
    deployment = get_json(cluster, "deployment", "istiod", "-n", "istio-system")
    env = [e["name"] for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]]
    for name in ("PILOT_TRACE_SAMPLING", "PILOT_ENABLE_ANALYSIS"):
        assert env.count(name) == 1, env


def test_rerun_is_a_no_op_although_the_server_canonicalises_quantities(k8s_cluster):
    """A real server stores 2048Mi as 2Gi and drops empty values; the re-run must still write nothing."""
    cluster = k8s_cluster
    cluster.kubectl("create", "namespace", "istio-system")
    values = {"pilot": {"resources": {"requests": {"memory": "2048Mi", "cpu": "1000m"}}}}
    first = call(cluster, "istio_revision", version="v1.30.3", values=values)
    assert first["changed"], first
    stored = get_json(cluster, "deployment", "istiod", "-n", "istio-system")
    requests = stored["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]
    assert requests == {"memory": "2Gi", "cpu": "1"}, requests
    before = versions(cluster)
    mark = cluster.last_request()
    again = call(cluster, "istio_revision", version="v1.30.3", values=values)
    assert again["changed"] is False, again
    assert cluster.writes(since=mark) == []
    assert versions(cluster) == before


def versions(cluster):
    """resourceVersions of what only the collection writes, and the Deployments' generations
    (their status is the controllers' and changes on its own)."""
    found = {}
    for item in get_json(cluster, "deployments,configmaps,services,serviceaccounts", "-n", "istio-system")["items"]:
        meta = item["metadata"]
        found[(item["kind"], meta["name"])] = meta["generation"] if item["kind"] == "Deployment" else \
            meta["resourceVersion"]
    return found
