"""istio_control_plane's decisions: the removal plan, and pruning that waits for the grace period."""
import datetime
import os

import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils import _control_plane as cp
from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.servicemesh.istio.plugins.module_utils._charts import ChartSource, ChartSourceOptions
from ansible_collections.servicemesh.istio.plugins.module_utils._inuse import UsageIndex
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import builtin_catalog
from ansible_collections.servicemesh.istio.plugins.module_utils._manifest import (
    ControlPlane, ManifestRenderer, plan_revision)
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._inventory import InventoryRecord, UnitKey
from tests.unit.k8s.fake_cluster import FakeCluster

CHARTS = os.path.join(os.path.dirname(__file__), "..", "fixtures", "charts")
OPTIONS = lifecycle.Options(wait=False, wait_timeout=60)
STRATEGY = "RevisionBased"


def revision(name, namespace="istio-system"):
    return InventoryRecord(UnitKey("revision", name, namespace), metadata={"controlPlane": "default"})


def tag(name, target, namespace="istio-system"):
    return InventoryRecord(UnitKey("tag", name, namespace), metadata={"revision": target})


def ns(name, **labels):
    return {"metadata": {"name": name, "labels": labels}}


def pod(namespace, name, rev):
    return {"metadata": {"namespace": namespace, "name": name, "annotations": {"istio.io/rev": rev}},
            "status": {"phase": "Running"}}


def test_removal_takes_the_active_revision_last_and_only_this_planes_tags():
    revisions = [revision("default-v1-30-3"), revision("default-v1-29-6"), revision("default-v1-28-0")]
    tags = [tag("default", "default-v1-30-3"), tag("prod", "default-v1-29-6"), tag("default", "other-rev", "mesh2"),
            tag("canary", "default-v1-30-3", "mesh2")]
    plan = cp.plan_removal(revisions, tags, "default-v1-30-3", UsageIndex([], []))
    assert [r.key.name for r in plan.revisions] == ["default-v1-28-0", "default-v1-29-6", "default-v1-30-3"]
    assert [(t.key.name, t.key.namespace) for t in plan.tags] == [("default", "istio-system"), ("prod", "istio-system")]
    assert plan.users == []


def test_removal_names_every_user_and_leaves_out_the_callers_gateways():
    index = UsageIndex([ns("app", **{"istio.io/rev": "default"}), ns("web", **{"istio-injection": "enabled"})],
                       [pod("istio-system", "istio-eastwestgateway-5d9c-x", "r1"), pod("shop", "cart-1", "r1")],
                       {"default": "r1"})
    prefixes = cp.gateway_pod_prefixes([("istio-system", "istio-eastwestgateway")])
    assert prefixes == ["istio-system/istio-eastwestgateway-"]
    plan = cp.plan_removal([revision("r1")], [tag("default", "r1")], "r1", index, prefixes)
    assert plan.users == ["namespace app (r1)", "namespace web (r1)", "pod shop/cart-1 (r1)"]
    everything = cp.plan_removal([revision("r1")], [], "r1", index)
    assert "pod istio-system/istio-eastwestgateway-5d9c-x (r1)" in everything.users


class Timer:
    def __init__(self):
        self.now, self.slept = 0.0, []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def cluster():
    fake = FakeCluster()
    fake.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system", "labels": {}}})
    return fake


@pytest.fixture(scope="module")
def renderer():
    return ManifestRenderer(ChartSource(ChartSourceOptions(chart_dir=CHARTS)))


def request(version, grace, **kwargs):
    plane = ControlPlane(name="default", version=version, strategy=STRATEGY, grace_period_seconds=grace)
    return cp.ControlPlaneRequest(plane, **kwargs)


def install(cluster, renderer, req, timer=None, options=OPTIONS):
    plan = plan_revision(req.control_plane, builtin_catalog())
    return cp.install(cluster, renderer, builtin_catalog(), req, plan, options, timer=timer or Timer())


def test_a_canary_prunes_the_old_revision_after_waiting_out_its_grace(cluster, renderer, monkeypatch):
    install(cluster, renderer, request("v1.29.6", 5, tags=["default"]))
    timer = Timer()
    # the fake clock moves wall-clock time too, so the grace period ends while "sleeping"
    start = cp.clock.now()
    monkeypatch.setattr(cp.clock, "now", lambda: start + datetime.timedelta(seconds=timer.now))
    monkeypatch.setattr(lifecycle.prune, "utcnow", lambda: cp.clock.now().replace(microsecond=0))
    outcome = install(cluster, renderer, request("v1.30.3", 5, tags=["default"], prune_wait=True), timer)
    assert outcome.facts["tags_moved"] == ["default"] and outcome.facts["pruned"] == ["default-v1-29-6"]
    assert outcome.facts["summary"] == "Active revision default-v1-30-3 (v1.30.3). Pruned default-v1-29-6."
    assert len(timer.slept) == 1 and 5 <= timer.slept[0] <= 7, timer.slept
    assert [r.key.name for r in lifecycle.revision_records(cluster, "default")] == ["default-v1-30-3"]


def test_without_waiting_or_past_the_timeout_the_prune_is_left_for_later(cluster, renderer):
    install(cluster, renderer, request("v1.29.6", 600, tags=["default"]))
    timer = Timer()
    outcome = install(cluster, renderer, request("v1.30.3", 600, tags=["default"], prune_wait=True), timer)
    assert outcome.facts["pruned"] == [] and outcome.facts["next_prune_at"] and timer.slept == []
    assert outcome.facts["summary"].startswith("Active revision default-v1-30-3 (v1.30.3). default-v1-29-6 kept: ")
    assert outcome.facts["summary"].endswith("(the next is due at %s)." % outcome.facts["next_prune_at"])
    assert [r.key.name for r in lifecycle.revision_records(cluster, "default")] == ["default-v1-29-6",
                                                                                    "default-v1-30-3"]


def test_check_mode_predicts_the_tags_of_a_revision_not_installed_yet(cluster, renderer):
    check = lifecycle.Options(check_mode=True, wait=False)
    outcome = install(cluster, renderer, request("v1.30.3", 30, tags=["default", "prod"]), options=check)
    assert outcome.changed and outcome.facts["tags_moved"] == ["default", "prod"]
    assert cluster.writes() == []
    kinds = {o["kind"] for o in outcome.objects()}
    assert "MutatingWebhookConfiguration" in kinds and "Deployment" in kinds


def test_a_removal_checked_in_check_mode_counts_its_own_tags_as_gone(cluster, renderer):
    install(cluster, renderer, request("v1.30.3", 30, tags=["default"]))
    cluster.reset_calls()
    check = lifecycle.Options(check_mode=True, wait=False)
    predicted = cp.remove(cluster, request("v1.30.3", 30), check)
    assert predicted.facts["control_plane"]["removed_tags"] == ["default"] and cluster.writes() == []
    cluster.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app",
                                                                       "labels": {"istio-injection": "enabled"}}})
    with pytest.raises(lifecycle.LifecycleError, match=r"namespace app \(default-v1-30-3\).*istio_force"):
        cp.remove(cluster, request("v1.30.3", 30), check)


def test_removing_a_plane_reads_the_pods_once_for_all_its_revisions(cluster, renderer):
    install(cluster, renderer, request("v1.29.6", 600, tags=["default"]))
    install(cluster, renderer, request("v1.30.3", 600, tags=["default"]))
    assert len(lifecycle.revision_records(cluster, "default")) == 2
    cluster.reset_calls()
    removed = cp.remove(cluster, request("v1.30.3", 600), OPTIONS)
    assert removed.facts["control_plane"]["removed_revisions"] == ["default-v1-29-6", "default-v1-30-3"]
    assert [c for c in cluster.calls if c == ("LIST", ("Pod", None))] == [("LIST", ("Pod", None))]
    assert lifecycle.revision_records(cluster, "default") == []
