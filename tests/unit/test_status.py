from ansible_collections.servicemesh.istio.plugins.module_utils import _status as status
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._inventory import InventoryRecord, UnitKey


def record(kind, name, created="2026-12-01T10:00:00Z", in_progress="", namespace="istio-system"):
    return InventoryRecord(UnitKey(kind, name, namespace), in_progress=in_progress, created=created)


def test_revision_state_follows_the_reference_order():
    assert status.revision_state(None, True, False, "") == "Healthy"
    assert status.revision_state(None, False, False, "ZTunnelNotFound") == "IstiodNotReady"
    assert status.revision_state(None, False, True, "") == "RemoteIstiodNotReady"
    assert status.revision_state(None, True, False, "IstioCNINotHealthy") == "IstioCNINotHealthy"
    assert status.revision_state("ReconcileError", False, False, "IstioCNINotFound") == "ReconcileError"


def test_tag_state_unused_tag_is_not_healthy():
    assert status.tag_state(None, True, True) == "Healthy"
    assert status.tag_state(None, True, False) == "NotReferencedByAnything"
    assert status.tag_state(None, False, True) == "RefNotFound"
    assert status.tag_state("NameAlreadyExists", True, True) == "NameAlreadyExists"
    assert status.in_use_reason(True) == "ReferencedByWorkloads"
    assert status.in_use_reason(False) == "NotReferencedByAnything"


def test_a_record_left_in_progress_is_not_reconciled():
    assert status.reconcile_problem(record("revision", "a", in_progress="install"), []) == "ReconcileError"
    assert status.reconcile_problem(record("revision", "a"), []) is None


def test_the_younger_of_a_revision_and_a_tag_sharing_a_name_loses_it():
    revisions = [record("revision", "prod", created="2026-12-01T10:00:05Z"), record("revision", "canary")]
    tags = [record("tag", "prod", created="2026-12-01T10:00:00Z"), record("tag", "default")]
    clashes = status.name_clashes(revisions, tags)
    assert clashes == [("revision", "istio-system", "prod")]
    assert status.reconcile_problem(revisions[0], clashes) == "NameAlreadyExists"
    assert status.reconcile_problem(tags[0], clashes) is None
    assert status.name_clashes(revisions[1:], tags[1:]) == []
