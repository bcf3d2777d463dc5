# -*- coding: utf-8 -*-
from __future__ import annotations

import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils.k8s import _inventory as inventory
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._errors import InvalidObject
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._inventory import (
    InventoryEntry, InventoryRecord, UnitKey)
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef

DEPLOY = ObjectRef.of("apps/v1", "Deployment", "istiod-1-24", "istio-system")
CRB = ObjectRef.of("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "istiod-1-24")


def record():
    return InventoryRecord(UnitKey("revision", "1-24", "istio-system"),
                           [InventoryEntry(DEPLOY, True), InventoryEntry(CRB, False)],
                           chart_version="1.24.0", values_digest="abc",
                           metadata={"version": "1.24.0", "inactiveSince": "2025-01-01T00:00:00Z"})


def test_configmap_name_labels_and_round_trip():
    rec = record()
    cm = rec.to_configmap()
    assert cm["metadata"] == {
        "name": "servicemesh-istio-revision-1-24", "namespace": "istio-system",
        "labels": {"app.kubernetes.io/managed-by": "servicemesh.istio", "servicemesh.istio/inventory": "true",
                   "servicemesh.istio/unit-kind": "revision", "servicemesh.istio/unit": "1-24"}}
    assert all(isinstance(value, str) for value in cm["data"].values())
    again = InventoryRecord.from_configmap(cm)
    assert again.key == rec.key and again.metadata == rec.metadata and again.chart_version == "1.24.0"
    assert again.created_refs == [DEPLOY] and again.adopted_refs == [CRB]
    assert again.data() == rec.data()


def test_data_is_canonical_whatever_the_entry_order():
    rec = record()
    reordered = InventoryRecord(rec.key, list(reversed(rec.entries)), rec.chart_version, rec.values_digest,
                                dict(reversed(list(rec.metadata.items()))))
    assert reordered.data() == rec.data()


@pytest.mark.parametrize("kind, name, namespace, message", [
    ("Revision", "x", "istio-system", "unit kind"),
    ("revision", "x" * 64, "istio-system", "at most 63"),
    ("revision", "-x", "istio-system", "valid label value"),
    ("revision", "Default", "istio-system", "not a valid object name"),
    ("revision", "x", "Istio_System", "not a valid namespace"),
])
def test_unit_key_validation(kind, name, namespace, message):
    with pytest.raises(InvalidObject, match=message):
        UnitKey(kind, name, namespace)


def test_damaged_record_is_reported():
    cm = record().to_configmap()
    cm["data"]["objects"] = "{not json"
    with pytest.raises(InvalidObject, match="inventory istio-system/servicemesh-istio-revision-1-24 is damaged"):
        InventoryRecord.from_configmap(cm)


class RecordingCluster:
    def __init__(self, stored=None):
        self.stored = stored
        self.applied = []

    def get(self, ref):
        return self.stored

    def apply(self, body, field_manager, force=False, dry_run=False):
        self.applied.append(body)
        self.stored = body
        return body


def test_save_writes_only_changes():
    cluster = RecordingCluster()
    rec = record()
    assert inventory.save(cluster, rec) is True and len(cluster.applied) == 1
    assert inventory.save(cluster, record()) is False and len(cluster.applied) == 1
    rec.metadata["inactiveSince"] = None
    assert inventory.save(cluster, rec, check_mode=True) is True and len(cluster.applied) == 1
    assert inventory.save(cluster, rec, previous=None) is True and len(cluster.applied) == 2


def test_metadata_merge():
    assert inventory.merge_metadata({"a": 1, "b": 2}, {"b": None, "c": 3}) == {"a": 1, "c": 3}
