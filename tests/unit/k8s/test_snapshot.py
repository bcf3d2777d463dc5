# -*- coding: utf-8 -*-
"""One run's snapshot: records listed once, objects read once, kept current with the run's own writes;
and the fingerprint of our last write that spares the re-run a dry run."""
from __future__ import annotations

import copy
import threading

from ansible_collections.servicemesh.istio.plugins.module_utils.k8s import _inventory as inventory
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._apply import Applier
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._fieldset import applied_fingerprint
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._inventory import InventoryRecord, UnitKey
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._readiness import deployment_ready
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._snapshot import Snapshot, plan_reads
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._unit import sync_unit
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._waiter import Check, wait_until

from .fake_cluster import FakeCluster
from .test_apply import NS, configmap
from .test_readiness import FakeClock

KEY = UnitKey("revision", "default", "istio-system")


def role(name):
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": name},
            "rules": []}


class SnapshotCluster(FakeCluster):
    """The fake cluster with a snapshot told of every write, as ``_client.Cluster`` does."""

    def __init__(self, normalise=None):
        super().__init__(normalise)
        self.snapshot = Snapshot(self)

    def apply(self, body, field_manager, force=False, dry_run=False):
        stored = super().apply(body, field_manager, force, dry_run)
        if not dry_run:
            self.snapshot.wrote(ObjectRef.from_object(body), stored)
        return stored

    def delete(self, ref, propagation_policy="Background", dry_run=False):
        if not dry_run:
            self.snapshot.forget(ref)
        return super().delete(ref, propagation_policy, dry_run)


def sync(cluster, objects):
    applier = Applier(cluster, default_namespace=KEY.namespace, clock=FakeClock())
    return sync_unit(cluster, KEY, objects, applier=applier)


def test_plan_reads_lists_crowded_kinds_cluster_scoped_too_and_gets_the_rest():
    a, b = ObjectRef.of("rbac.authorization.k8s.io/v1", "ClusterRole", "a"), \
        ObjectRef.of("rbac.authorization.k8s.io/v1", "ClusterRole", "b")
    svc = ObjectRef.of("v1", "Service", "istiod", "istio-system")
    known = ObjectRef.of("v1", "Namespace", "istio-system")
    lists, gets = plan_reads([a, b, svc, known, a], {known}, set())
    assert lists == [("rbac.authorization.k8s.io/v1", "ClusterRole", "")] and gets == [svc]
    assert plan_reads([a, b], set(), {("rbac.authorization.k8s.io", "ClusterRole", "")}) == ([], [])


def test_records_are_listed_once_and_follow_the_runs_own_writes():
    cluster = SnapshotCluster()
    cluster.put(NS)
    other = InventoryRecord(UnitKey("tag", "stable", "istio-system"))
    cluster.put(other.to_configmap())
    assert [r.key for r in inventory.list_records(cluster, kind="tag")] == [other.key]
    assert inventory.load(cluster, "istio-system", "revision", "default") is None
    assert inventory.list_records(cluster, kind="revision") == []
    assert cluster.verbs() == ["LIST"], "one LIST answers every record question of the run"
    mine = InventoryRecord(KEY, metadata={"controlPlane": "default"})
    assert inventory.save(cluster, mine, previous=None)
    assert inventory.load(cluster, "istio-system", "revision", "default").metadata == {"controlPlane": "default"}
    assert inventory.delete(cluster, other)
    assert inventory.list_records(cluster, kind="tag") == []
    assert cluster.verbs() == ["LIST", "APPLY", "DELETE"], "no read after the writes"


def test_objects_are_read_once_per_run_and_a_delete_forgets_them():
    cluster = SnapshotCluster()
    cluster.put(role("a"))
    refs = [ObjectRef.from_object(role("a")), ObjectRef.from_object(role("b"))]
    first = cluster.snapshot.get_many(refs)
    assert first[refs[0]]["metadata"]["name"] == "a" and first[refs[1]] is None
    first[refs[0]]["rules"] = ["changed by the caller"]
    assert cluster.snapshot.get(refs[0])["rules"] == [], "callers get copies"
    assert cluster.verbs() == ["LIST"]
    cluster.delete(refs[0])
    assert cluster.snapshot.get(refs[0]) is None
    assert cluster.verbs() == ["LIST", "DELETE", "GET"], "a deleted object is read again"


def test_a_re_run_of_an_unchanged_unit_is_decided_from_the_fingerprints_without_a_dry_run():
    def lowercase(body):  # a value the server rewrites: without the fingerprint every re-run needs a dry run
        if body.get("kind") == "ConfigMap" and "data" in body and body["metadata"]["name"] == "a":
            body["data"] = {k: v.lower() for k, v in body["data"].items()}
        return body
    cluster = SnapshotCluster(lowercase)
    cluster.put(NS)
    objects = [configmap("a", k="V"), configmap("b")]
    sync(cluster, objects)
    record = inventory.load(cluster, "istio-system", "revision", "default")
    assert all(entry.applied for entry in record.entries)
    cluster.snapshot.reset()  # a new run
    cluster.reset_calls()
    again = sync(cluster, objects)
    assert not again.changed and {r.action for r in again.objects} == {"unchanged"}
    assert cluster.verbs() == ["LIST", "LIST"], "the records, then one LIST for both ConfigMaps; no dry run"


def test_a_field_someone_else_changed_is_not_hidden_by_the_fingerprint():
    cluster = SnapshotCluster()
    cluster.put(NS)
    sync(cluster, [configmap("a")])
    ref = ObjectRef.from_object(configmap("a"))
    edited = copy.deepcopy(cluster.store[ref])
    edited["data"] = {"k": "edited"}
    edited["metadata"]["managedFields"] = [{"manager": "kubectl-edit", "operation": "Update", "fieldsV1": {}}]
    cluster.store[ref] = edited
    cluster.snapshot.reset()
    again = sync(cluster, [configmap("a")])
    assert [r.action for r in again.objects if r.ref == ref] == ["updated"]
    assert cluster.store[ref]["data"] == {"k": "v"}


def test_fingerprint_follows_our_managed_fields_entry_only():
    body = configmap("a")
    stored = copy.deepcopy(body)
    stored["metadata"].update(uid="u1", managedFields=[
        {"manager": "servicemesh.istio", "operation": "Apply", "apiVersion": "v1", "fieldsV1": {"f:data": {}},
         "time": "2026-01-01T00:00:00Z"},
        {"manager": "istiod", "operation": "Update", "fieldsV1": {"f:x": {}}, "time": "2026-01-01T00:00:01Z"}])
    print_ = applied_fingerprint(body, stored, "servicemesh.istio")
    theirs = copy.deepcopy(stored)
    theirs["metadata"]["managedFields"][1]["time"] = "2026-01-02T00:00:00Z"
    assert applied_fingerprint(body, theirs, "servicemesh.istio") == print_
    taken = copy.deepcopy(stored)
    taken["metadata"]["managedFields"][0]["fieldsV1"] = {}
    assert applied_fingerprint(body, taken, "servicemesh.istio") != print_
    assert applied_fingerprint(configmap("a", k="other"), stored, "servicemesh.istio") != print_
    assert applied_fingerprint(body, body, "servicemesh.istio") == ""


def test_a_wait_takes_what_the_run_just_read_when_it_was_ready():
    cluster = SnapshotCluster()
    ready = {"apiVersion": "apps/v1", "kind": "Deployment",
             "metadata": {"name": "istiod", "namespace": "istio-system", "generation": 1},
             "spec": {"replicas": 1}, "status": {"observedGeneration": 1, "updatedReplicas": 1, "replicas": 1,
                                                 "availableReplicas": 1}}
    ref = cluster.put(ready)
    cluster.snapshot.get(ref)
    cluster.reset_calls()
    wait_until(cluster, [Check(ref, deployment_ready)], timeout=1, clock=FakeClock())
    assert cluster.verbs() == []
    unready = copy.deepcopy(cluster.store[ref])
    unready["status"]["availableReplicas"] = 0
    cluster.snapshot.wrote(ref, unready)
    wait_until(cluster, [Check(ref, deployment_ready)], timeout=1, clock=FakeClock())
    assert cluster.verbs() == ["GET"], "not ready when read: asked again"


def test_the_lists_and_gets_of_one_read_go_out_together():
    cluster = SnapshotCluster()
    barrier = threading.Barrier(2, timeout=5)
    real_list, real_get = cluster.list, cluster.get

    def meeting(read):
        def call(*args, **kwargs):
            barrier.wait()
            return read(*args, **kwargs)
        return call
    cluster.list, cluster.get = meeting(real_list), meeting(real_get)
    cluster.put(role("a"))
    refs = [ObjectRef.from_object(role("a")), ObjectRef.from_object(role("b")),
            ObjectRef.of("v1", "Service", "istiod", "istio-system")]
    found = cluster.snapshot.get_many(refs)
    assert found[refs[0]]["metadata"]["name"] == "a" and found[refs[1]] is None and found[refs[2]] is None
    assert sorted(cluster.verbs()) == ["GET", "LIST"], "the LIST of the roles and the GET of the service met"
