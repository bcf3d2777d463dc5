"""Lifecycle flows over the in-memory cluster stand-in (the integration tests use the real protocol)."""
import os
from datetime import timedelta

import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.servicemesh.istio.plugins.module_utils._charts import ChartSource, ChartSourceOptions
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import builtin_catalog
from ansible_collections.servicemesh.istio.plugins.module_utils._manifest import (
    ControlPlane, ManifestRenderer, plan_revision)
from ansible_collections.servicemesh.istio.plugins.module_utils._prune import parse_time
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s import _inventory as inventory
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._errors import InvalidObject
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef
from tests.unit.k8s.fake_cluster import FakeCluster

CHARTS = os.path.join(os.path.dirname(__file__), "..", "fixtures", "charts")
OPTIONS = lifecycle.Options(wait=False)
NOW = parse_time("2026-11-21T10:00:00Z")


@pytest.fixture(scope="module")
def renderer():
    return ManifestRenderer(ChartSource(ChartSourceOptions(chart_dir=CHARTS)))


@pytest.fixture
def cluster():
    fake = FakeCluster()
    for name in ("istio-system", "other", "apps"):
        fake.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {}}})
    return fake


def install(cluster, renderer, **kwargs):
    control_plane = ControlPlane(**kwargs)
    plan = plan_revision(control_plane, builtin_catalog())
    return lifecycle.install_revision(cluster, renderer, control_plane, plan, OPTIONS)


def label(cluster, namespace, **labels):
    cluster.store[ObjectRef.of("v1", "Namespace", namespace)]["metadata"]["labels"] = labels


def test_in_place_install_records_and_is_idempotent(cluster, renderer):
    outcome = install(cluster, renderer, name="default", version="v1.30.3")
    assert outcome.changed and outcome.facts["revision"] == "default"
    assert cluster.get(ObjectRef.of("apps/v1", "Deployment", "istiod", "istio-system"))
    assert cluster.get(ObjectRef.of("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration",
                                    "istiod-default-validator"))
    cp = inventory.load(cluster, "istio-system", "controlplane", "default")
    assert cp.metadata["activeRevision"] == "default"


def test_second_run_makes_no_writes(cluster, renderer):
    # The stand-in records lists as atomic in managedFields, so the validating webhooks' failurePolicy
    # handling (which needs list-map keys) is left to the integration tests on the real protocol.
    no_validation = {"global": {"configValidation": False}}
    install(cluster, renderer, name="blue", version="v1.30.3", values=no_validation)
    cluster.reset_calls()
    again = install(cluster, renderer, name="blue", version="v1.30.3", values=no_validation)
    assert not again.changed and cluster.writes() == []


def test_in_place_upgrade_prunes_dropped_objects(cluster, renderer):
    install(cluster, renderer, name="default", version="v1.29.6")
    legacy = ObjectRef.of("v1", "ConfigMap", "istio-legacy-config", "istio-system")
    assert cluster.get(legacy)
    outcome = install(cluster, renderer, name="default", version="v1.30.3")
    assert outcome.facts["upgraded"] and cluster.get(legacy) is None


def test_missing_namespace_fails_before_any_write(cluster, renderer):
    cluster.reset_calls()
    with pytest.raises(lifecycle.LifecycleError, match="namespace 'nowhere' doesn't exist"):
        install(cluster, renderer, name="x", namespace="nowhere", version="v1.30.3")
    assert cluster.writes() == []


def test_tags_move_and_hold_revisions(cluster, renderer):
    install(cluster, renderer, name="default", version="v1.29.6", strategy="RevisionBased")
    install(cluster, renderer, name="default", version="v1.30.3", strategy="RevisionBased")
    old = lifecycle.find_revision(cluster, "default-v1-29-6")
    lifecycle.install_tag(cluster, renderer, builtin_catalog(), "default", old, OPTIONS)
    validator = cluster.get(ObjectRef.of("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration",
                                         "istiod-default-validator"))
    assert validator["webhooks"][0]["clientConfig"]["service"]["name"] == "istiod-default-v1-29-6"
    target = lifecycle.resolve_tag_target(cluster, None, "default", None)
    assert target.key.name == "default-v1-30-3"
    moved = lifecycle.install_tag(cluster, renderer, builtin_catalog(), "default", target, OPTIONS)
    assert moved.facts["previous_revision"] == "default-v1-29-6" and moved.changed
    validator = cluster.get(validator and ObjectRef.of("admissionregistration.k8s.io/v1",
                                                       "ValidatingWebhookConfiguration", "istiod-default-validator"))
    assert validator["webhooks"][0]["clientConfig"]["service"]["name"] == "istiod-default-v1-30-3"
    with pytest.raises(lifecycle.LifecycleError, match="share its name with a revision"):
        lifecycle.install_tag(cluster, renderer, builtin_catalog(), "default-v1-29-6", target, OPTIONS)
    with pytest.raises(lifecycle.LifecycleError, match="revision 'missing' does not exist"):
        lifecycle.resolve_tag_target(cluster, "missing", None, None)


def test_prune_waits_for_grace_period_and_usage(cluster, renderer):
    install(cluster, renderer, name="default", version="v1.29.6", strategy="RevisionBased")
    install(cluster, renderer, name="default", version="v1.30.3", strategy="RevisionBased")
    label(cluster, "apps", **{"istio.io/rev": "default-v1-29-6"})
    held = lifecycle.prune_control_plane(cluster, "default", "istio-system", OPTIONS, now=NOW)
    assert held.facts["pruned"] == []
    reasons = {d["revision"]: d["reason"] for d in held.facts["decisions"]}
    assert "namespace apps" in reasons["default-v1-29-6"] and "active" in reasons["default-v1-30-3"]

    label(cluster, "apps", **{"istio.io/rev": "default-v1-30-3"})
    first = lifecycle.prune_control_plane(cluster, "default", "istio-system", OPTIONS, now=NOW)
    assert first.facts["pruned"] == [] and first.facts["next_prune_at"] == "2026-11-21T10:00:30Z"
    assert first.changed, "the time it was first seen unused is recorded"
    cluster.reset_calls()
    again = lifecycle.prune_control_plane(cluster, "default", "istio-system", OPTIONS, now=NOW + timedelta(seconds=10))
    assert not again.changed and cluster.writes() == []
    later = lifecycle.prune_control_plane(cluster, "default", "istio-system", OPTIONS, now=NOW + timedelta(seconds=31))
    assert later.facts["pruned"] == ["default-v1-29-6"]
    assert cluster.get(ObjectRef.of("apps/v1", "Deployment", "istiod-default-v1-29-6", "istio-system")) is None
    assert cluster.get(ObjectRef.of("apps/v1", "Deployment", "istiod-default-v1-30-3", "istio-system"))


def test_remove_refuses_revision_in_use(cluster, renderer):
    install(cluster, renderer, name="default", version="v1.30.3", strategy="RevisionBased")
    label(cluster, "apps", **{"istio.io/rev": "default-v1-30-3"})
    with pytest.raises(lifecycle.LifecycleError, match="in use.*namespace apps"):
        lifecycle.remove_revision(cluster, "default-v1-30-3", OPTIONS)
    removed = lifecycle.remove_revision(cluster, "default-v1-30-3", OPTIONS, force=True)
    assert removed.facts["removed"]
    assert inventory.load(cluster, "istio-system", "controlplane", "default") is None


def mesh(team):
    return {"meshConfig": {"discoverySelectors": [{"matchLabels": {"mesh": team}}]}}


def test_overlapping_discovery_selectors_are_refused(cluster, renderer):
    install(cluster, renderer, name="blue", namespace="istio-system", version="v1.30.3", values=mesh("blue"))
    install(cluster, renderer, name="green", namespace="other", version="v1.30.3", values=mesh("green"))
    label(cluster, "apps", mesh="blue")
    # red has no selectors, so it watches apps, which blue selects; green selects no namespace of this cluster
    with pytest.raises(lifecycle.LifecycleError, match="of control plane 'blue' .* both select namespaces apps, "
                                                       ".*allow_selector_overlap: true"):
        install(cluster, renderer, name="red", namespace="apps", version="v1.30.3")


def test_selectors_that_could_overlap_but_select_no_common_namespace_are_allowed(cluster, renderer):
    blue = {"meshConfig": {"discoverySelectors": [{"matchLabels": {"mesh": "blue"}}]}}
    team = {"meshConfig": {"discoverySelectors": [{"matchLabels": {"team": "x"}}]}}
    install(cluster, renderer, name="blue", namespace="istio-system", version="v1.30.3", values=blue)
    label(cluster, "apps", team="x")
    assert install(cluster, renderer, name="team", namespace="other", version="v1.30.3", values=team).changed
    label(cluster, "apps", team="x", mesh="blue")
    with pytest.raises(lifecycle.LifecycleError, match="both select namespaces apps"):
        install(cluster, renderer, name="team", namespace="other", version="v1.30.3", values=team)


def test_prune_without_a_control_plane_is_a_no_op(cluster):
    outcome = lifecycle.prune_control_plane(cluster, "default", "istio-system", OPTIONS, now=NOW)
    assert not outcome.changed and outcome.facts["decisions"] == [] and outcome.facts["active_revision"] is None
    assert cluster.writes() == []


def test_control_planes_watching_other_clusters_do_not_overlap(cluster, renderer):
    install(cluster, renderer, name="local", version="v1.30.3",
            values={"global": {"multiCluster": {"clusterName": "cluster1"}}})
    external = {"global": {"multiCluster": {"clusterName": "cluster2"}, "externalIstiod": True}}
    install(cluster, renderer, name="external", namespace="other", version="v1.30.3", values=external)
    assert lifecycle.is_external_istiod(external)


def test_a_tag_is_not_taken_from_another_control_plane_without_force(cluster, renderer):
    install(cluster, renderer, name="blue", namespace="istio-system", version="v1.30.3", values=mesh("blue"))
    install(cluster, renderer, name="green", namespace="other", version="v1.30.3", values=mesh("green"))
    blue = lifecycle.resolve_tag_target(cluster, None, "blue", None)
    green = lifecycle.resolve_tag_target(cluster, None, "green", None)
    lifecycle.install_tag(cluster, renderer, builtin_catalog(), "prod", blue, OPTIONS)
    cluster.reset_calls()
    with pytest.raises(lifecycle.LifecycleError, match="control plane 'blue'.*set force"):
        lifecycle.install_tag(cluster, renderer, builtin_catalog(), "prod", green, OPTIONS)
    assert cluster.writes() == []
    moved = lifecycle.install_tag(cluster, renderer, builtin_catalog(), "prod", green, OPTIONS, force=True)
    assert moved.facts["revision"] == "green" and moved.facts["namespace"] == "other"


class RefusingRenderer:
    """Renders nothing: every call fails the way a refused rendered object does."""

    def __getattr__(self, name):
        def refuse(*args, **kwargs):
            raise InvalidObject("Service other/istiod-revision-tag-prod: spec.ports has two different entries")
        return refuse


def test_moving_a_tag_renders_before_removing_it_elsewhere(cluster, renderer):
    install(cluster, renderer, name="blue", namespace="istio-system", version="v1.30.3", values=mesh("blue"))
    install(cluster, renderer, name="green", namespace="other", version="v1.30.3", values=mesh("green"))
    lifecycle.install_tag(cluster, renderer, builtin_catalog(), "prod",
                          lifecycle.resolve_tag_target(cluster, None, "blue", None), OPTIONS)
    green = lifecycle.resolve_tag_target(cluster, None, "green", None)
    cluster.reset_calls()
    with pytest.raises(InvalidObject, match="two different entries"):
        lifecycle.install_tag(cluster, RefusingRenderer(), builtin_catalog(), "prod", green, OPTIONS, force=True)
    assert cluster.writes() == []


def test_a_tag_waits_until_istiod_has_written_its_ca_into_the_tag_webhook(cluster, renderer):
    from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._errors import WaitTimeout
    install(cluster, renderer, name="default", version="v1.29.6", strategy="RevisionBased")
    target = lifecycle.find_revision(cluster, "default-v1-29-6")
    waiting = lifecycle.Options(wait=True, wait_timeout=0.05, wait_interval=0.01)
    with pytest.raises(WaitTimeout) as timed_out:
        lifecycle.install_tag(cluster, renderer, builtin_catalog(), "prod", target, waiting)
    (webhook, reason), = timed_out.value.pending
    assert "istio-revision-tag-prod" in webhook and "has not yet written its CA" in reason
    ref = ObjectRef.of("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", "istio-revision-tag-prod")
    served = cluster.get(ref)
    for hook in served["webhooks"]:
        hook["clientConfig"]["caBundle"] = "Q0E="
    cluster.put(served)
    lifecycle.wait_for(cluster, lifecycle.injector_checks([served]), waiting)


def test_a_re_run_after_an_interrupted_install_still_renders_an_install(cluster, renderer):
    from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._errors import ApiError
    real_apply = cluster.apply

    def failing_on_the_deployment(body, field_manager, force=False, dry_run=False):
        if body["kind"] == "Deployment" and not dry_run:
            raise ApiError("apply Deployment: injected", 500, "InternalError")
        return real_apply(body, field_manager, force, dry_run)
    cluster.apply = failing_on_the_deployment
    with pytest.raises(ApiError):
        install(cluster, renderer, name="default", version="v1.29.6")
    record = inventory.load(cluster, "istio-system", "revision", "default")
    assert record.in_progress == inventory.INSTALLING
    cluster.apply = real_apply
    validator = ObjectRef.of("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration",
                             "istio-validator-istio-system")
    cluster.delete(validator)  # as if the first run had stopped before it
    done = install(cluster, renderer, name="default", version="v1.29.6")
    assert done.facts["upgraded"] is False
    assert {hook["failurePolicy"] for hook in cluster.get(validator)["webhooks"]} == {"Ignore"}
    assert inventory.load(cluster, "istio-system", "revision", "default").in_progress == ""
    # once complete, the next run is an upgrade
    assert install(cluster, renderer, name="default", version="v1.29.6").facts["upgraded"] is True


def test_crds_applied_by_two_control_planes_go_with_the_last_revision_wherever_their_records_are(cluster, renderer):
    def selecting(mesh):
        return {"meshConfig": {"discoverySelectors": [{"matchLabels": {"mesh": mesh}}]}}
    install(cluster, renderer, name="default", version="v1.29.6", values=selecting("default"))
    install(cluster, renderer, name="other", namespace="other", version="v1.29.6", values=selecting("other"))
    records = inventory.list_records(cluster, kind=lifecycle.CRDS)
    assert sorted(r.key.namespace for r in records) == ["istio-system", "other"]
    with pytest.raises(lifecycle.LifecycleError, match="still needed by revisions"):
        lifecycle.remove_crds(cluster, OPTIONS)
    lifecycle.remove_revision(cluster, "default", OPTIONS, force=True, namespace="istio-system")
    lifecycle.remove_revision(cluster, "other", OPTIONS, force=True, namespace="other")
    removed = lifecycle.remove_crds(cluster, OPTIONS)
    assert removed.facts["crds_removed"] and inventory.list_records(cluster, kind=lifecycle.CRDS) == []
    assert not [ref for ref in cluster.store if ref.is_crd]
