"""istio_node_rollout on the real control plane: the real DaemonSet controller (OnDelete, one pod per node),
kwok running the pods."""
import datetime
import time

import pytest

from tests.helpers.ansible import run_module

pytestmark = pytest.mark.integration


def daemonset(image):
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "ztunnel", "namespace": "ztunnel"},
            "spec": {"selector": {"matchLabels": {"app": "ztunnel"}}, "updateStrategy": {"type": "OnDelete"},
                     "template": {"metadata": {"labels": {"app": "ztunnel"}},
                                  "spec": {"containers": [{"name": "istio-proxy", "image": image}]}}}}


def pods_by_node(cluster):
    _unused, _unused, body = cluster.http("GET", "/api/v1/namespaces/ztunnel/pods")
    return {p["spec"]["nodeName"]: p for p in body["items"] if p["spec"].get("nodeName")}


def ready(pod):
    return any(c["type"] == "Ready" and c["status"] == "True" for c in (pod.get("status") or {}).get("conditions") or [])


def settled(cluster, nodes, timeout=60):
    """The DaemonSet controller has seen the latest template and every node runs one ready pod
    (the controller creates them, the scheduler binds them, kwok runs them: all asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        _unused, _unused, ds = cluster.http("GET", "/apis/apps/v1/namespaces/ztunnel/daemonsets/ztunnel")
        pods = pods_by_node(cluster)
        if ds["status"].get("observedGeneration") == ds["metadata"]["generation"] and sorted(pods) == nodes \
                and all(ready(p) and not p["metadata"].get("deletionTimestamp") for p in pods.values()):
            return {node: (p["metadata"]["name"], p["spec"]["containers"][0]["image"]) for node, p in pods.items()}
        assert time.monotonic() < deadline, "the DaemonSet's pods did not settle: %s %s" % (ds["status"], pods)
        time.sleep(0.2)


def apply(cluster, obj):
    status, _unused, body = cluster.http("PATCH", "/apis/apps/v1/namespaces/ztunnel/daemonsets/ztunnel?fieldManager=test",
                                         obj, headers={"Content-Type": "application/apply-patch+yaml"})
    assert status in (200, 201), body


def stale_daemonset(cluster, nodes):
    """The DaemonSet on ``nodes`` nodes, its template changed since its pods started (OnDelete keeps them)."""
    cluster.kubectl("create", "namespace", "ztunnel")
    cluster.configure(nodes=len(nodes))
    cluster.simulate_pods("DaemonSet", "ztunnel", "ztunnel")
    apply(cluster, daemonset("ztunnel:1.29.6"))
    return settled(cluster, nodes)


def test_rolls_one_node_at_a_time_and_then_has_nothing_to_do(k8s_cluster):
    cluster = k8s_cluster
    nodes = ["node-1", "node-2", "node-3"]
    started = stale_daemonset(cluster, nodes)
    before = pods_by_node(cluster)
    apply(cluster, daemonset("ztunnel:1.30.3"))
    assert settled(cluster, nodes) == started, "OnDelete: nothing is replaced until pods are deleted"

    args = {"kubeconfig": cluster.kubeconfig, "poll_interval": 0.2, "wait_timeout": 30}
    mark = cluster.last_request()
    planned = run_module("servicemesh.istio.istio_node_rollout", args, check=True)
    assert planned["changed"] and planned["rolled_nodes"] == ["node-1", "node-2", "node-3"]
    assert cluster.writes(since=mark) == []

    rolled = run_module("servicemesh.istio.istio_node_rollout", dict(args, nodes=["node-2", "node-1"]))
    assert rolled["changed"] and rolled["rolled_nodes"] == ["node-2", "node-1"]
    after = pods_by_node(cluster)
    assert after["node-3"]["metadata"]["name"] == before["node-3"]["metadata"]["name"]
    for node in ("node-1", "node-2"):
        assert after[node]["spec"]["containers"][0]["image"] == "ztunnel:1.30.3"
    deletes = [e for e in cluster.writes(since=mark) if e.get("verb") == "delete" and e["resource"] == "pods"]
    assert [e["name"] for e in deletes] == [before["node-2"]["metadata"]["name"], before["node-1"]["metadata"]["name"]]

    rest = run_module("servicemesh.istio.istio_node_rollout", args)
    assert rest["rolled_nodes"] == ["node-3"] and rest["up_to_date_nodes"] == ["node-1", "node-2"]
    mark = cluster.last_request()
    done = run_module("servicemesh.istio.istio_node_rollout", args)
    assert done["changed"] is False and done["rolled_nodes"] == []
    assert cluster.writes(since=mark) == []


LEASE = "/apis/coordination.k8s.io/v1/namespaces/ztunnel/leases"


def test_a_rollout_waits_for_the_run_that_holds_ztunnels_lease(k8s_cluster):
    """Another run (an istio_ztunnel upgrade, another rollout) holds the lease: nothing is deleted until it ends."""
    cluster = k8s_cluster
    nodes = ["node-1", "node-2"]
    stale_daemonset(cluster, nodes)
    apply(cluster, daemonset("ztunnel:1.30.3"))
    settled(cluster, nodes)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    status, _unused, body = cluster.http("POST", LEASE, {
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "servicemesh-istio-ztunnel-default", "namespace": "ztunnel"},
        "spec": {"holderIdentity": "elsewhere/1/upgrade", "leaseDurationSeconds": 3600, "renewTime": now,
                 "acquireTime": now}})
    assert status == 201, body
    args = {"kubeconfig": cluster.kubeconfig, "poll_interval": 0.2, "wait_timeout": 3}
    mark = cluster.last_request()
    held = run_module("servicemesh.istio.istio_node_rollout", args)
    assert held.get("failed") and "held by another run" in held["msg"], held
    assert cluster.writes(since=mark) == [], "nothing deleted while another run holds the lease"

    status, _unused, body = cluster.http("DELETE", LEASE + "/servicemesh-istio-ztunnel-default")
    assert status == 200, body
    rolled = run_module("servicemesh.istio.istio_node_rollout", args)
    assert rolled["changed"] and rolled["rolled_nodes"] == nodes, rolled
    order = [(e["verb"], e["resource"]) for e in cluster.writes(since=mark)]
    assert order[0][1] == "leases" and ("delete", "pods") in order, "the lease is taken before the first delete: %s" % order
    status, _unused, body = cluster.http("GET", LEASE + "/servicemesh-istio-ztunnel-default")
    assert status == 404 or not body["spec"].get("holderIdentity"), body
