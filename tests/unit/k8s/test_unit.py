# -*- coding: utf-8 -*-
from __future__ import annotations

import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils.k8s import _inventory as inventory
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._apply import Applier
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._errors import K8sError
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._inventory import UnitKey
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._unit import remove_unit, sync_unit

from .fake_cluster import FakeCluster
from .test_apply import NS, configmap, crd
from .test_readiness import FakeClock

KEY = UnitKey("revision", "default", "istio-system")


def ref_of(obj):
    return ObjectRef.from_object(obj)


def sync(cluster, objects, **kw):
    kw.setdefault("applier", Applier(cluster, check_mode=kw.get("check_mode", False),
                                     default_namespace=KEY.namespace, clock=FakeClock()))
    return sync_unit(cluster, KEY, objects, **kw)


@pytest.fixture
def cluster():
    cluster = FakeCluster()
    cluster.put(NS)
    return cluster


def test_sync_records_created_and_adopted_objects(cluster):
    cluster.put(configmap("existing"))
    result = sync(cluster, [configmap("new"), configmap("existing")], metadata={"version": "1.24.0"},
                  chart_version="1.24.0", values={"pilot": {}})
    assert result.changed and result.inventory_changed
    record = inventory.load(cluster, "istio-system", "revision", "default")
    assert record.created_refs == [ref_of(configmap("new"))]
    assert record.adopted_refs == [ref_of(configmap("existing"))]
    assert record.chart_version == "1.24.0" and record.metadata == {"version": "1.24.0"}
    assert len(record.values_digest) == 64


def test_second_sync_writes_nothing(cluster):
    objects = [configmap("a"), configmap("b")]
    sync(cluster, objects, metadata={"version": "1"})
    cluster.reset_calls()
    result = sync(cluster, objects, metadata={"version": "1"})
    assert not result.changed and cluster.writes() == []


def test_prune_deletes_only_what_we_created(cluster):
    cluster.put(configmap("adopted"))
    sync(cluster, [configmap("a"), configmap("b"), configmap("adopted")])
    result = sync(cluster, [configmap("a")])
    actions = {r.ref.name: r.action for r in result.objects}
    assert actions == {"a": "unchanged", "b": "deleted", "adopted": "released"}
    assert ref_of(configmap("adopted")) in cluster.store and ref_of(configmap("b")) not in cluster.store
    assert inventory.load(cluster, "istio-system", "revision", "default").created_refs == [ref_of(configmap("a"))]


def test_no_prune_keeps_dropped_objects_recorded(cluster):
    sync(cluster, [configmap("a"), configmap("b")])
    sync(cluster, [configmap("a")], prune=False)
    assert ref_of(configmap("b")) in cluster.store
    assert ref_of(configmap("b")) in inventory.load(cluster, "istio-system", "revision", "default").created_refs


def test_dropped_crds_are_released_not_deleted(cluster):
    sync(cluster, [crd()])
    result = sync(cluster, [])
    assert [r.action for r in result.objects] == ["released"]
    assert ref_of(crd()) in cluster.store


def test_check_mode_sync_writes_nothing(cluster):
    result = sync(cluster, [configmap("a")], check_mode=True)
    assert result.changed and cluster.writes() == []
    assert inventory.load(cluster, "istio-system", "revision", "default") is None


def test_the_record_of_intent_is_written_before_the_first_object(cluster):
    cluster.put(configmap("there"))
    marks = len(cluster.writes())
    with pytest.raises(K8sError):
        sync(cluster, [configmap("a"), configmap("there"), configmap("b", namespace="missing")])
    first = cluster.writes()[marks]
    assert "servicemesh-istio-revision-default" in str(first), first
    record = inventory.load(cluster, "istio-system", "revision", "default")
    # everything missing before the run is ours, created or not yet; what was there stays adopted
    assert sorted(ref.name for ref in record.created_refs) == ["a", "b"]
    assert [ref.name for ref in record.adopted_refs] == ["there"]
    assert record.in_progress == inventory.INSTALLING and not inventory.was_installed(record)
    # the re-run completes the unit (here: without the object it cannot create) and clears the mark
    done = sync(cluster, [configmap("a"), configmap("there")])
    assert done.record.in_progress == "" and inventory.was_installed(done.record)
    assert remove_unit(cluster, KEY).changed
    assert ref_of(configmap("a")) not in cluster.store and ref_of(configmap("there")) in cluster.store


def test_a_run_that_changes_no_entry_writes_no_intent(cluster):
    sync(cluster, [configmap("a")])
    marks = len(cluster.writes())
    sync(cluster, [configmap("a", k="changed")])
    written = cluster.writes()[marks:]
    # the object, then the record once (the fingerprint of the new write), never marked in progress before it
    assert [ref.name for _verb, ref in written] == ["a", KEY.configmap_name], written
    assert inventory.IN_PROGRESS_KEY not in cluster.store[KEY.ref]["data"]


def test_remove_deletes_what_we_created_then_the_inventory(cluster):
    cluster.put(configmap("adopted"))
    sync(cluster, [configmap("a"), configmap("adopted"), crd()])
    result = remove_unit(cluster, KEY)
    actions = {r.ref.name: r.action for r in result.objects}
    assert actions == {"a": "deleted", "adopted": "released", "widgets.example.io": "released"}
    assert result.changed and inventory.load(cluster, "istio-system", "revision", "default") is None
    assert ref_of(configmap("adopted")) in cluster.store and ref_of(crd()) in cluster.store
    assert not remove_unit(cluster, KEY).changed


def test_remove_can_delete_crds_when_asked(cluster):
    sync(cluster, [crd()])
    remove_unit(cluster, KEY, delete_crds=True)
    assert ref_of(crd()) not in cluster.store


def test_remove_in_check_mode(cluster):
    sync(cluster, [configmap("a")])
    result = remove_unit(cluster, KEY, check_mode=True)
    assert result.changed and ref_of(configmap("a")) in cluster.store
    assert inventory.load(cluster, "istio-system", "revision", "default") is not None


def test_list_records(cluster):
    sync(cluster, [configmap("a")])
    records = inventory.list(cluster, kind="revision")
    assert [r.key for r in records] == [KEY]
