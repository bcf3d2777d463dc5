"""Node-by-node rollout of an OnDelete DaemonSet.

The test API server replaces stale DaemonSet pods by itself, whatever the update
strategy, so these tests use a stand-in: a DaemonSet controller that only replaces
a pod once it is deleted, on the same node, ready after a few looks (or never).
"""
import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils import _rollout as rollout
from ansible_collections.servicemesh.istio.plugins.module_utils._dataplane import rollout_scope
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._errors import KindNotServed, WaitTimeout
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._inventory import UnitKey
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef

UID = "uid-ztunnel"


class Clock:
    def __init__(self):
        self.now = 0.0

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def pod(name, node, generation, ready=True, owner=UID):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "ztunnel",
                         "labels": {"app": "ztunnel", "pod-template-generation": str(generation),
                                    "controller-revision-hash": "hash-%s" % generation},
                         "ownerReferences": [{"uid": owner, "controller": True, "kind": "DaemonSet"}]},
            "spec": {"nodeName": node},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


class DaemonSetCluster:
    """One DaemonSet ``ztunnel/ztunnel`` whose pods are replaced only when deleted."""

    def __init__(self, nodes=3, generation=2, stale_generation=1, strategy="OnDelete", looks_until_ready=2):
        self.generation = generation
        self.daemonset = {"apiVersion": "apps/v1", "kind": "DaemonSet",
                          "metadata": {"name": "ztunnel", "namespace": "ztunnel", "uid": UID,
                                       "generation": generation},
                          "spec": {"selector": {"matchLabels": {"app": "ztunnel"}},
                                   "updateStrategy": {"type": strategy}},
                          "status": {"observedGeneration": generation}}
        self.pods = {"ztunnel-%d" % i: pod("ztunnel-%d" % i, "node-%d" % i, stale_generation)
                     for i in range(1, nodes + 1)}
        self.pods["other"] = pod("other", "node-1", stale_generation, owner="someone-else")
        self.looks_until_ready = looks_until_ready
        self.pending = {}  # replacement pod -> looks left until ready
        self.stuck_nodes = set()
        self.events = []
        self.revisions = None  # ControllerRevisions; None: kind not served

    def get(self, ref):
        return self.daemonset if ref.kind == "DaemonSet" and ref.name == "ztunnel" else None

    def list(self, api_version, kind, namespace=None, label_selector=None):
        if kind == "ControllerRevision":
            if self.revisions is None:
                raise KindNotServed("ControllerRevision is not served")
            return self.revisions
        self._look()
        assert label_selector == "app=ztunnel"
        return [dict(p) for p in self.pods.values()]

    def _look(self):
        for name in list(self.pending):
            self.pending[name] -= 1
            if self.pending[name] <= 0 and self.pods[name]["spec"]["nodeName"] not in self.stuck_nodes:
                self.pods[name] = pod(name, self.pods[name]["spec"]["nodeName"], self.generation)
                del self.pending[name]

    def delete(self, ref, propagation_policy="Background", dry_run=False):
        assert not dry_run
        node = self.pods.pop(ref.name)["spec"]["nodeName"]
        self.events.append(("delete", ref.name, self._ready_current_nodes()))
        replacement = ref.name + "-new"
        self.pods[replacement] = pod(replacement, node, self.generation, ready=False)
        self.pending[replacement] = self.looks_until_ready
        return True

    def _ready_current_nodes(self):
        return sorted(p["spec"]["nodeName"] for p in self.pods.values()
                      if p["metadata"]["labels"]["pod-template-generation"] == str(self.generation)
                      and p["status"]["conditions"][0]["status"] == "True")


def roll(cluster, **kwargs):
    timing = rollout.Timing(timeout=30, interval=1, clock=Clock())
    return rollout.roll_daemonset(cluster, "ztunnel", "ztunnel", timing=timing, **kwargs)


def test_check_mode_lists_the_nodes_it_would_roll():
    cluster = DaemonSetCluster()
    cluster.pods["ztunnel-2"] = pod("ztunnel-2", "node-2", 2)
    result = roll(cluster, check_mode=True)
    assert result.changed and cluster.events == []
    assert result.result()["rolled_nodes"] == ["node-1", "node-3"]
    assert result.result()["up_to_date_nodes"] == ["node-2"]
    assert result.result()["nodes"][0] == {"node": "node-1", "deleted_pods": ["ztunnel-1"], "ready_pods": []}


def test_one_node_at_a_time_each_ready_before_the_next():
    cluster = DaemonSetCluster()
    result = roll(cluster)
    # when a node's pod is deleted, every node rolled before it already runs a ready current pod
    assert cluster.events == [("delete", "ztunnel-1", []), ("delete", "ztunnel-2", ["node-1"]),
                              ("delete", "ztunnel-3", ["node-1", "node-2"])]
    assert result.result()["nodes"][2]["ready_pods"] == ["ztunnel-3-new"]
    assert "other" in cluster.pods  # not the DaemonSet's
    assert not roll(cluster).changed


def test_a_node_that_does_not_come_back_stops_the_rollout():
    cluster = DaemonSetCluster()
    cluster.stuck_nodes.add("node-2")
    with pytest.raises(rollout.RolloutError, match=r"stopped at node node-2: pods not ready: ztunnel-2-new; "
                                                   r"nodes not rolled yet: node-3"):
        roll(cluster)
    assert "ztunnel-3" in cluster.pods


def test_nodes_option_restricts_and_orders():
    cluster = DaemonSetCluster()
    result = roll(cluster, nodes=["node-3", "node-1"])
    assert result.result()["rolled_nodes"] == ["node-3", "node-1"]
    assert "ztunnel-2" in cluster.pods


def test_rolling_update_daemonsets_are_refused():
    with pytest.raises(rollout.RolloutError, match="updates with RollingUpdate.*needs updateStrategy OnDelete"):
        roll(DaemonSetCluster(strategy="RollingUpdate"))


def test_missing_daemonset_is_an_error():
    cluster = DaemonSetCluster()
    cluster.daemonset = None
    with pytest.raises(rollout.RolloutError, match="DaemonSet.apps ztunnel/ztunnel doesn.t exist"):
        roll(cluster)


def test_check_mode_predicts_what_an_earlier_task_would_change():
    """In check mode the DaemonSet may not exist yet, or not be OnDelete yet: nothing to refuse."""
    missing = DaemonSetCluster()
    missing.daemonset = None
    assert not roll(missing, check_mode=True).changed
    rolling = roll(DaemonSetCluster(strategy="RollingUpdate"), check_mode=True)
    assert rolling.result()["rolled_nodes"] == ["node-1", "node-2", "node-3"]


def test_waits_until_the_controller_has_seen_the_template():
    cluster = DaemonSetCluster()
    cluster.daemonset["status"]["observedGeneration"] = 1
    with pytest.raises(WaitTimeout, match="has not observed generation 2"):
        roll(cluster)
    assert cluster.events == []


def test_current_template_by_annotation_or_newest_revision_hash():
    cluster = DaemonSetCluster()
    cluster.daemonset["metadata"]["annotations"] = {"deprecated.daemonset.template.generation": "7"}
    cluster.revisions = [
        {"metadata": {"name": "r1", "labels": {"controller-revision-hash": "hash-1"},
                      "ownerReferences": [{"uid": UID, "controller": True}]}, "revision": 1},
        {"metadata": {"name": "r2", "labels": {"controller-revision-hash": "hash-2"},
                      "ownerReferences": [{"uid": UID, "controller": True}]}, "revision": 2},
        {"metadata": {"name": "x", "labels": {"controller-revision-hash": "hash-9"},
                      "ownerReferences": [{"uid": "other", "controller": True}]}, "revision": 9}]
    current = rollout.current_template(cluster, cluster.daemonset)
    assert current == rollout.CurrentTemplate("7", "hash-2")
    assert current.matches(pod("a", "n", 2)) and not current.matches(pod("b", "n", 1))


def test_terminating_and_unscheduled_pods_are_not_planned():
    terminating = pod("t", "node-1", 1)
    terminating["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    unscheduled = pod("u", "", 1)
    plan = rollout.plan_rollout([terminating, unscheduled], rollout.CurrentTemplate("2", None))
    assert plan.steps == [] and plan.up_to_date == []


def test_node_state_reasons():
    current = rollout.CurrentTemplate("2", None)
    assert rollout.node_state([], "node-1", current) == "no replacement pod scheduled yet"
    assert rollout.node_state([pod("old", "node-1", 1)], "node-1", current) == "old pods still there: old"
    assert rollout.node_state([pod("new", "node-1", 2)], "node-1", current) is None


def test_daemonset_ref():
    assert rollout.daemonset_ref("ztunnel", "ztunnel") == ObjectRef.of("apps/v1", "DaemonSet", "ztunnel", "ztunnel")


def test_a_rollout_takes_the_lease_of_the_agent_whose_daemonset_it_rolls():
    # the lease is named after the scope's record: an install of the same agent takes the same one
    assert rollout_scope("ztunnel", "ztunnel") == UnitKey("ztunnel", "default", "ztunnel")
    assert rollout_scope("istio-cni-node", "kube-system") == UnitKey("cni", "default", "kube-system")
    assert rollout_scope("ztunnel", "istio-system").ref.name == "servicemesh-istio-ztunnel-default"
    assert rollout_scope("node-agent", "ops") == UnitKey("rollout", "node-agent", "ops")
