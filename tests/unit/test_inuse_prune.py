from datetime import timedelta

import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils._inuse import Usage, UsageIndex
from ansible_collections.servicemesh.istio.plugins.module_utils._prune import (
    KEEP, PRUNE, RevisionState, decide, format_time, next_prune_time, parse_time, utcnow)


def ns(name, **labels):
    return {"metadata": {"name": name, "labels": labels}}


def pod(namespace, name, labels=None, annotations=None, phase="Running"):
    return {"metadata": {"namespace": namespace, "name": name, "labels": labels or {},
                         "annotations": annotations or {}}, "status": {"phase": phase}}


def test_injection_label_means_default_and_wins_over_rev_label():
    index = UsageIndex([ns("a", **{"istio-injection": "enabled", "istio.io/rev": "foo"})], [])
    assert index.usage("default").namespaces == ["a"]
    assert not index.usage("foo").in_use


def test_rev_label_on_namespace():
    index = UsageIndex([ns("a", **{"istio.io/rev": "foo"}), ns("b")], [])
    assert index.usage("foo").namespaces == ["a"]


def test_pod_annotation_counts_whatever_the_namespace_says():
    index = UsageIndex([ns("a", **{"istio.io/rev": "new"})], [pod("a", "p", annotations={"istio.io/rev": "old"})])
    assert index.usage("old").pods == ["a/p"]
    assert index.usage("new").namespaces == ["a"]


def test_pod_labels_count_only_without_namespace_injection_label():
    pods = [pod("plain", "p1", {"istio.io/rev": "foo"}), pod("labelled", "p2", {"istio.io/rev": "foo"}),
            pod("plain", "p3", {"sidecar.istio.io/inject": "true"}),
            pod("plain", "p4", {"istio.io/rev": "foo", "sidecar.istio.io/inject": "false"})]
    index = UsageIndex([ns("plain"), ns("labelled", **{"istio.io/rev": "bar"})], pods)
    assert index.usage("foo").pods == ["plain/p1"]
    assert index.usage("default").pods == ["plain/p3"]


def test_a_tag_is_used_by_what_asks_for_it_by_name():
    pods = [pod("plain", "by-label", {"istio.io/rev": "prod"}), pod("plain", "injected", annotations={"istio.io/rev": "r1"}),
            pod("labelled", "overruled", {"istio.io/rev": "prod"}),
            pod("plain", "done", {"istio.io/rev": "prod"}, phase="Succeeded")]
    index = UsageIndex([ns("plain"), ns("labelled", **{"istio.io/rev": "other"}), ns("app", **{"istio.io/rev": "prod"})],
                       pods, {"prod": "r1"})
    usage = index.tag_usage("prod")
    assert (usage.namespaces, usage.pods) == (["app"], ["plain/by-label"])
    assert not index.tag_usage("other-tag").in_use
    assert index.usage("r1").pods == ["plain/by-label", "plain/injected"], "the revision is used through the tag too"


@pytest.mark.parametrize("phase", ["Succeeded", "Failed"])
def test_finished_pods_do_not_count(phase):
    index = UsageIndex([ns("a")], [pod("a", "done", annotations={"istio.io/rev": "old"}, phase=phase)])
    assert not index.usage("old").in_use


def test_pending_and_unknown_phase_pods_count():
    index = UsageIndex([ns("a")], [pod("a", "p", annotations={"istio.io/rev": "old"}, phase="Pending"),
                                   {"metadata": {"namespace": "a", "name": "q", "annotations": {"istio.io/rev": "old"}}}])
    assert index.usage("old").pods == ["a/p", "a/q"]


def test_tags_hold_their_revision_and_resolve_names():
    index = UsageIndex([ns("a", **{"istio.io/rev": "prod"}), ns("b", **{"istio-injection": "enabled"})], [],
                       tags={"prod": "foo-v1-30-3", "default": "foo-v1-30-3"})
    usage = index.usage("foo-v1-30-3")
    assert usage.tags == ["default", "prod"]
    assert usage.namespaces == ["a", "b"]
    assert index.namespace_revision("a") == "foo-v1-30-3"
    assert not index.usage("default").in_use


def test_enable_namespaces_by_default_holds_only_default():
    index = UsageIndex([], [])
    assert index.usage("default", enable_namespaces_by_default=True).in_use
    assert not index.usage("foo", enable_namespaces_by_default=True).in_use


def test_pod_revision_for_info():
    index = UsageIndex([ns("a", **{"istio.io/rev": "x"}), ns("b")], [], tags={"canary": "rev2"})
    assert index.pod_revision(pod("a", "p", annotations={"istio.io/rev": "rev1"})) == "rev1"
    assert index.pod_revision(pod("a", "p", {"istio.io/rev": "canary"})) is None
    assert index.pod_revision(pod("b", "p", {"istio.io/rev": "canary"})) == "rev2"


NOW = parse_time("2026-11-21T10:00:00Z")


def state(name, in_use=False, since=None, external=False):
    usage = Usage(namespaces=["ns1"] if in_use else [])
    return RevisionState(name, usage, since, external)


def test_active_revision_is_never_pruned():
    decision = decide(state("a", since=NOW - timedelta(days=1)), "a", 0, NOW, force=True)
    assert decision.action == KEEP and "active" in decision.reason


def test_in_use_is_kept_and_says_why():
    decision = decide(state("old", in_use=True, since=NOW), "new", 0, NOW)
    assert decision.action == KEEP
    assert decision.held_by == ["namespace ns1"] and "namespace ns1" in decision.reason
    assert decision.inactive_since is None, "the grace period restarts once it is unused again"


def test_force_prunes_in_use_revision():
    assert decide(state("old", in_use=True), "new", 30, NOW, force=True).action == PRUNE


def test_first_seen_unused_starts_the_grace_period():
    decision = decide(state("old"), "new", 30, NOW)
    assert decision.action == KEEP
    assert decision.inactive_since == NOW
    assert decision.prune_after == NOW + timedelta(seconds=30)
    assert next_prune_time([decision]) == NOW + timedelta(seconds=30)


def test_grace_period_spans_runs():
    assert decide(state("old", since=NOW - timedelta(seconds=29)), "new", 30, NOW).action == KEEP
    assert decide(state("old", since=NOW - timedelta(seconds=30)), "new", 30, NOW).action == PRUNE


def test_zero_grace_prunes_at_once():
    assert decide(state("old"), "new", 0, NOW).action == PRUNE


def test_external_istiod_disables_pruning():
    decision = decide(state("old", since=NOW - timedelta(days=1), external=True), "new", 0, NOW)
    assert decision.action == KEEP and "EXTERNAL_ISTIOD" in decision.reason


def test_time_round_trip():
    now = utcnow()
    assert parse_time(format_time(now)) == now
    assert parse_time(None) is None


# discovery selectors -----------------------------------------------------------------------------
from ansible_collections.servicemesh.istio.plugins.module_utils._selectors import (  # noqa: E402
    selectors_intersect, selectors_overlap)


def sel(labels):
    return {"matchLabels": labels}


def expr(key, operator, *values):
    return {"matchExpressions": [{"key": key, "operator": operator, "values": list(values)}]}


@pytest.mark.parametrize("a,b,expected", [
    (sel({"mesh": "a"}), sel({"mesh": "b"}), False),
    (sel({"mesh": "a"}), sel({"mesh": "a"}), True),
    (sel({"mesh": "a"}), sel({"team": "x"}), True),
    (expr("mesh", "In", "a", "b"), expr("mesh", "In", "b", "c"), True),
    (expr("mesh", "In", "a"), expr("mesh", "NotIn", "a"), False),
    (expr("mesh", "Exists"), expr("mesh", "DoesNotExist"), False),
    (sel({"mesh": "a"}), expr("mesh", "DoesNotExist"), False),
])
def test_selector_intersection(a, b, expected):
    assert selectors_intersect(a, b) is expected
    assert selectors_intersect(b, a) is expected


def test_no_selectors_overlap_with_everything():
    assert selectors_overlap([], [sel({"mesh": "a"})])
    assert not selectors_overlap([sel({"mesh": "a"})], [sel({"mesh": "b"}), sel({"mesh": "c"})])
    assert selectors_overlap([sel({"mesh": "a"})], [sel({"mesh": "b"}), sel({"mesh": "a"})])
