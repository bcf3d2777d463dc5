"""istio_migrate's decisions, and a batch run over the in-memory cluster stand-in."""
import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.servicemesh.istio.plugins.module_utils import _migration as migration
from ansible_collections.servicemesh.istio.plugins.module_utils._inuse import UsageIndex
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._inventory import InventoryRecord, UnitKey
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef
from tests.unit.k8s.fake_cluster import FakeCluster, merge_patch

NEW, OLD = "default-v1-30-3", "default-v1-29-6"


def ns(name, **labels):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def pod(namespace, name, rev=None, phase="Running"):
    annotations = {"istio.io/rev": rev} if rev else {}
    return {"apiVersion": "v1", "kind": "Pod", "status": {"phase": phase},
            "metadata": {"namespace": namespace, "name": name, "annotations": annotations, "labels": {}}}


def test_namespaces_to_move_by_tag_or_by_list():
    index = UsageIndex([ns("a", **{"istio-injection": "enabled"}), ns("b", **{"istio.io/rev": "prod"}), ns("c")], [])
    assert migration.namespaces_to_move(migration.MigrationRequest(tag="default"), index) == ["a"]
    assert migration.namespaces_to_move(migration.MigrationRequest(tag="prod"), index) == ["b"]
    listed = migration.MigrationRequest(move="namespaces", namespaces=["c", "a", "c"])
    assert migration.namespaces_to_move(listed, index) == ["c", "a"]
    with pytest.raises(migration.MigrationError, match="needs the namespaces"):
        migration.namespaces_to_move(migration.MigrationRequest(move="namespaces"), index)


def test_only_running_pods_on_another_revision_count():
    index = UsageIndex([ns("a"), ns("b")], [pod("a", "old", OLD), pod("a", "new", NEW), pod("a", "plain"),
                                            pod("a", "done", OLD, phase="Succeeded"), pod("b", "old", OLD)])
    assert migration.pods_elsewhere(index, ["a"], NEW) == [("a/old", OLD)]
    assert migration.pods_elsewhere(index, ["a", "b"], OLD) == [("a/new", NEW)]


def test_relabel_only_what_does_not_point_at_the_revision_yet():
    assert migration.relabel(ns("a", **{"istio.io/rev": NEW}), NEW) is None
    patch = migration.relabel(ns("a", **{"istio-injection": "enabled"}), NEW)
    assert merge_patch(ns("a", **{"istio-injection": "enabled", "team": "x"}), patch)["metadata"]["labels"] == {
        "istio.io/rev": NEW, "team": "x"}
    assert migration.relabel(ns("a", **{"istio.io/rev": NEW, "istio-injection": "disabled"}), NEW) is not None


def test_batches_and_where_a_run_stopped():
    plan = migration.batches(["a1", "a2", "a3", "a4", "a5"], 2)
    assert plan == [["a1", "a2"], ["a3", "a4"], ["a5"]]
    message = migration.stopped_message(2, plan, "not every running pod carried %s after 3 seconds." % NEW,
                                        [("a3/legacy", OLD)], NEW)
    assert message == ("batch 2 of 3 (a3, a4) failed: not every running pod carried %s after 3 seconds. Pods still "
                       "on another revision: a3/legacy (%s). The earlier batches (a1, a2) use %s. The later "
                       "batches (a5) were not touched. Fix the cause and run again." % (NEW, OLD, NEW))
    assert "earlier" not in migration.stopped_message(1, plan, "x", [], NEW)


class Timer:
    def __init__(self):
        self.now = 0.0

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


@pytest.fixture
def cluster():
    fake = FakeCluster()
    fake.put(ns("istio-system"))
    for name, labels in (("a1", {"istio.io/rev": OLD}), ("a2", {"istio-injection": "enabled"}), ("a3", {})):
        fake.put(ns(name, **labels))
        fake.put({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": name},
                  "spec": {"template": {"metadata": {}}}})
        fake.put(pod(name, "web-1", OLD))
    for name in (OLD, NEW):
        record = InventoryRecord(UnitKey("revision", name, "istio-system"), metadata={"controlPlane": "default"})
        fake.put(record.to_configmap())
    fake.put(InventoryRecord(UnitKey("controlplane", "default", "istio-system"),
                             metadata={"activeRevision": NEW}).to_configmap())
    return fake


def test_a_batch_that_does_not_move_stops_the_run_and_later_batches_are_untouched(cluster):
    request = migration.MigrationRequest(move="namespaces", namespaces=["a1", "a2", "a3"], batch_size=2)
    options = lifecycle.Options(wait=True, wait_timeout=5)
    with pytest.raises(migration.MigrationError) as failed:
        migration.migrate(cluster, None, None, request, options, timer=Timer())
    assert str(failed.value).startswith("batch 1 of 2 (a1, a2) failed: not every running pod carried %s" % NEW)
    assert "a1/web-1 (%s)" % OLD in str(failed.value) and "(a3) were not touched" in str(failed.value)
    for name in ("a1", "a2"):
        live = cluster.get(ObjectRef.of("v1", "Namespace", name))["metadata"]["labels"]
        assert live == {"istio.io/rev": NEW}
        restarted = cluster.get(ObjectRef.of("apps/v1", "Deployment", "web", name))["spec"]["template"]
        assert restarted["metadata"]["annotations"][migration.RESTARTED_AT]
    assert cluster.get(ObjectRef.of("v1", "Namespace", "a3"))["metadata"]["labels"] == {}


def test_check_mode_predicts_and_a_moved_namespace_is_left_alone(cluster):
    for name in ("a1", "a2", "a3"):
        del cluster.store[ObjectRef.of("v1", "Pod", "web-1", name)]
        cluster.put(pod(name, "web-2", NEW))
    cluster.store[ObjectRef.of("v1", "Namespace", "a1")]["metadata"]["labels"] = {"istio.io/rev": NEW}
    request = migration.MigrationRequest(move="namespaces", namespaces=["a1", "a2"], batch_size=1)
    cluster.reset_calls()
    predicted = migration.migrate(cluster, None, None, request, lifecycle.Options(check_mode=True), timer=Timer())
    assert [b["relabelled"] for b in predicted.batches] == [[], ["a2"]]
    assert [b["restarted"] for b in predicted.batches] == [[], []], "their pods run the revision already"
    assert predicted.changed and cluster.writes() == []
    assert predicted.diff["after"]["Namespace a2"] == {"metadata": {"labels": {"istio.io/rev": NEW,
                                                                               "istio-injection": None}}}
