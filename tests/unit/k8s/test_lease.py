# -*- coding: utf-8 -*-
"""The run lease: taken at the first write, waited for while another run holds it, stale runs restarted."""
from __future__ import annotations

import datetime
import os

import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._lease import (
    LeaseHeld, LeaseState, RunLock, StaleRun, holder_identity)
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef

from .fake_cluster import FakeCluster
from .test_readiness import FakeClock

CONFIGMAP = ObjectRef.of("v1", "ConfigMap", "x", "istio-system")


def lease(holder, renewed=None, transitions=3, duration=30):
    renewed = renewed or datetime.datetime.now(datetime.timezone.utc)  # fresh when the test runs
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "servicemesh-istio-controlplane-default", "namespace": "istio-system"},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": duration, "leaseTransitions": transitions,
                     "renewTime": renewed.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}}


def cluster_with_namespace():
    cluster = FakeCluster()
    cluster.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}})
    return cluster


RECORD = ObjectRef.of("v1", "ConfigMap", "servicemesh-istio-controlplane-default", "istio-system")


def lock(cluster, wait=0.0):
    return RunLock(cluster, RECORD, "me", wait, clock=FakeClock())


def test_a_lease_is_held_by_another_run_until_it_expires_or_its_process_is_gone():
    now = datetime.datetime.now(datetime.timezone.utc)
    state = LeaseState.of(lease("other"))
    assert state.held_by_other("me", now) and not state.held_by_other("other", now)
    assert not state.held_by_other("me", now + datetime.timedelta(seconds=31))
    assert not state.held_by_other("me", now, gone=lambda holder: holder == "other")
    here = holder_identity()
    host, pid, _unused = here.split("/")
    assert int(pid) == os.getpid()
    assert LeaseState.of(lease(here)).held_by_other("me", now), "a live process on this host holds it"
    dead = "%s/%d/abcd" % (host, 2 ** 22 + 12345)  # beyond pid_max: no such process
    assert not LeaseState.of(lease(dead)).held_by_other("me", now)
    assert not LeaseState.of(None).held_by_other("me", now)
    assert not LeaseState.of(lease("")).held_by_other("me", now)


def test_the_lease_is_taken_at_the_first_write_and_released_with_the_holder_cleared():
    cluster = cluster_with_namespace()
    run = lock(cluster)
    run.observe()
    assert cluster.writes() == []
    run.before_write(ObjectRef.of("v1", "Namespace", "istio-system"))  # the lease's namespace may come first
    assert cluster.writes() == []
    run.before_write(CONFIGMAP)
    taken = cluster.get(run.ref)
    assert taken["spec"]["holderIdentity"] == "me" and taken["spec"]["leaseTransitions"] == 1
    run.before_write(CONFIGMAP)
    assert len(cluster.writes()) == 1, "taken once per run"
    cluster.put({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": RECORD.name,
                                                                       "namespace": RECORD.namespace}})
    run.release()
    assert "holderIdentity" not in cluster.get(run.ref)["spec"]


def test_the_lease_of_a_scope_the_run_removed_is_deleted():
    cluster = cluster_with_namespace()
    run = lock(cluster)
    run.observe()
    run.ensure()
    run.release()  # no record: the run removed the scope
    assert cluster.get(run.ref) is None


def test_another_runs_lease_is_waited_for_then_named():
    cluster = cluster_with_namespace()
    cluster.put(lease("host-1234-abcd"))
    run = lock(cluster, wait=3)
    run.observe()
    with pytest.raises(LeaseHeld, match="held by another run \\(host-1234-abcd"):
        run.ensure()
    assert cluster.writes() == []


def test_a_lease_taken_by_another_run_after_this_one_read_the_cluster_restarts_it():
    cluster = cluster_with_namespace()
    run = lock(cluster)
    run.observe()
    cluster.put(lease("", transitions=4))  # another run came and went since
    with pytest.raises(StaleRun):
        run.ensure()
    assert cluster.get(run.ref)["spec"]["holderIdentity"] == "me"
    run.observe()  # the restart: the lease is kept, nothing is taken again
    run.ensure()
    assert len(cluster.writes()) == 1
    run.release()


def with_a_killed_runs_lease():
    cluster = cluster_with_namespace()
    minute_ago = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=60)
    cluster.put(lease("killed", renewed=minute_ago))
    return cluster


def test_an_expired_lease_of_a_killed_run_is_taken_over():
    cluster = with_a_killed_runs_lease()
    run = lock(cluster)
    run.observe()
    run.ensure()
    assert cluster.get(run.ref)["spec"]["holderIdentity"] == "me"
    assert cluster.get(run.ref)["spec"]["leaseTransitions"] == 4
    run.release()


def test_a_killed_runs_lease_on_a_scope_that_is_gone_is_deleted_by_a_run_with_nothing_to_write():
    cluster = with_a_killed_runs_lease()
    run = lock(cluster)
    run.observe()
    run.release()  # the scope's record is gone and this run wrote nothing
    assert cluster.get(run.ref) is None


def test_a_live_lease_or_one_of_a_scope_still_there_is_left_alone():
    cluster = cluster_with_namespace()
    cluster.put(lease("host-1234-abcd"))  # held, renewed just now
    run = lock(cluster)
    run.observe()
    run.release()
    assert cluster.get(run.ref)["spec"]["holderIdentity"] == "host-1234-abcd"
    cluster.put(lease("", transitions=4))
    cluster.put({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": RECORD.name,
                                                                       "namespace": RECORD.namespace}})
    again = lock(cluster)
    again.observe()
    again.release()
    assert cluster.get(again.ref) is not None and cluster.writes() == []
