# -*- coding: utf-8 -*-
from __future__ import annotations

import threading

import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._errors import WaitTimeout
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._readiness import (
    absent, crd_established, daemonset_ready, deployment_ready, present, webhooks_served)
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._waiter import Check, wait_until


def deployment(wanted=1, generation=2, observed=2, **status):
    spec = {} if wanted is None else {"replicas": wanted}
    return {"metadata": {"generation": generation}, "spec": spec,
            "status": dict({"observedGeneration": observed}, **status)}


@pytest.mark.parametrize("obj, ready, reason", [
    (None, False, "not found"),
    (deployment(observed=1, updatedReplicas=1, replicas=1, availableReplicas=1), False, "generation 2"),
    (deployment(wanted=0), False, "scaled to zero"),
    (deployment(wanted=2, updatedReplicas=1), False, "1 of 2 replicas updated"),
    (deployment(wanted=2, updatedReplicas=2, replicas=2, availableReplicas=1), False, "1 of 2 replicas available"),
    (deployment(updatedReplicas=1, availableReplicas=1, replicas=2), False, "1 old replica"),
    (deployment(updatedReplicas=1, availableReplicas=1, replicas=1), True, "1 of 1"),
    (deployment(wanted=None, updatedReplicas=1, availableReplicas=1), True, "1 of 1"),
])
def test_deployment_ready(obj, ready, reason):
    got_ready, got_reason = deployment_ready(obj)
    assert got_ready is ready and reason in got_reason


def test_deployment_progress_deadline():
    obj = deployment(updatedReplicas=0)
    obj["status"]["conditions"] = [{"type": "Progressing", "status": "False",
                                    "reason": "ProgressDeadlineExceeded", "message": "too slow"}]
    assert deployment_ready(obj) == (False, "rollout exceeded its progress deadline: too slow")


def daemonset(strategy="RollingUpdate", **status):
    return {"metadata": {"generation": 1}, "spec": {"updateStrategy": {"type": strategy}},
            "status": dict({"observedGeneration": 1}, **status)}


@pytest.mark.parametrize("obj, ready, reason", [
    (None, False, "not found"),
    (daemonset(currentNumberScheduled=0), False, "no pods are scheduled"),
    (daemonset(currentNumberScheduled=3, desiredNumberScheduled=3, updatedNumberScheduled=2, numberReady=3),
     False, "2 of 3 pods updated"),
    (daemonset("OnDelete", currentNumberScheduled=3, desiredNumberScheduled=3, updatedNumberScheduled=2,
               numberReady=3), True, "3 of 3 pods ready"),
    (daemonset(currentNumberScheduled=3, desiredNumberScheduled=3, updatedNumberScheduled=3, numberReady=2),
     False, "2 of 3 pods ready"),
    (daemonset(currentNumberScheduled=2, desiredNumberScheduled=2, updatedNumberScheduled=2, numberReady=2),
     True, "2 of 2"),
])
def test_daemonset_ready(obj, ready, reason):
    got_ready, got_reason = daemonset_ready(obj)
    assert got_ready is ready and reason in got_reason


def test_crd_established_present_absent():
    crd = {"status": {"conditions": [{"type": "Established", "status": "True"}]}}
    assert crd_established(crd) == (True, "established")
    assert crd_established({"status": {}})[0] is False
    rejected = {"status": {"conditions": [{"type": "NamesAccepted", "status": "False", "message": "clash"}]}}
    assert crd_established(rejected) == (False, "names not accepted: clash")
    assert present({}) == (True, "present") and present(None)[0] is False
    assert absent(None) == (True, "gone")
    assert absent({"metadata": {"finalizers": ["kubernetes"]}}) == (
        False, "still present, waiting for finalizers kubernetes")


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class SequenceCluster:
    """Answers GETs from a script: ref -> list of objects, one per poll (the last repeats)."""

    def __init__(self, script):
        self.script = script
        self.gets = []

    def get(self, ref):
        self.gets.append(ref)
        answers = self.script[ref]
        return answers.pop(0) if len(answers) > 1 else answers[0]


DEPLOY = ObjectRef.of("apps/v1", "Deployment", "istiod", "istio-system")
CNI = ObjectRef.of("apps/v1", "DaemonSet", "istio-cni-node", "istio-cni")


def test_wait_until_polls_until_ready_and_skips_ready_objects():
    ready_ds = daemonset(currentNumberScheduled=1, desiredNumberScheduled=1, updatedNumberScheduled=1, numberReady=1)
    cluster = SequenceCluster({
        DEPLOY: [None, deployment(updatedReplicas=0),
                 deployment(updatedReplicas=1, availableReplicas=1, replicas=1)],
        CNI: [ready_ds],
    })
    clock = FakeClock()
    done = wait_until(cluster, [Check(DEPLOY, deployment_ready), Check(CNI, daemonset_ready)],
                      timeout=30, interval=5, clock=clock)
    assert set(done) == {DEPLOY, CNI}
    assert clock.sleeps == [5, 5]
    assert cluster.gets.count(CNI) == 1


def test_the_objects_still_waited_for_are_fetched_together():
    class MeetingCluster(SequenceCluster):
        barrier = threading.Barrier(2, timeout=5)  # passes only when both GETs are in flight at once

        def get(self, ref):
            self.barrier.wait()
            return super().get(ref)
    ready_ds = daemonset(currentNumberScheduled=1, desiredNumberScheduled=1, updatedNumberScheduled=1, numberReady=1)
    cluster = MeetingCluster({DEPLOY: [deployment(updatedReplicas=1, availableReplicas=1, replicas=1)],
                              CNI: [ready_ds]})
    done = wait_until(cluster, [Check(DEPLOY, deployment_ready), Check(CNI, daemonset_ready)],
                      timeout=30, interval=5, clock=FakeClock())
    assert set(done) == {DEPLOY, CNI}


def test_wait_timeout_lists_every_unready_object_and_why():
    cluster = SequenceCluster({DEPLOY: [deployment(wanted=0)], CNI: [None]})
    clock = FakeClock()
    with pytest.raises(WaitTimeout) as info:
        wait_until(cluster, [Check(DEPLOY, deployment_ready), Check(CNI, daemonset_ready)],
                   timeout=12, interval=5, clock=clock)
    assert clock.sleeps == [5, 5, 2]
    message = str(info.value)
    assert "timed out after 12s waiting for 2 object(s)" in message
    assert "Deployment.apps istio-system/istiod: scaled to zero replicas" in message
    assert "DaemonSet.apps istio-cni/istio-cni-node: not found" in message
    assert info.value.pending == [(str(DEPLOY), "scaled to zero replicas"), (str(CNI), "not found")]


def test_webhooks_served_once_every_service_webhook_carries_a_ca():
    def hook(name, **client_config):
        return {"name": name, "clientConfig": client_config}
    service = {"name": "istiod-canary", "namespace": "istio-system"}
    waiting = {"webhooks": [hook("rev.namespace.sidecar-injector.istio.io", service=service, caBundle="Q0E="),
                            hook("rev.object.sidecar-injector.istio.io", service=service)]}
    assert webhooks_served(waiting) == (
        False, "istiod has not yet written its CA into webhook(s) rev.object.sidecar-injector.istio.io")
    waiting["webhooks"][1]["clientConfig"]["caBundle"] = "Q0E="
    assert webhooks_served(waiting)[0] is True
    # a URL webhook (an external istiod's injection URL) is verified by public roots, not by istiod's CA
    assert webhooks_served({"webhooks": [hook("url", url="https://istiod.example:15017/inject")]})[0] is True
    assert webhooks_served(None) == (False, "not found")
