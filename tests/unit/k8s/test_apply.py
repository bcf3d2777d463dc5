# -*- coding: utf-8 -*-
from __future__ import annotations

import copy
import threading

import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._apply import (
    Applier, defines_kind_of, keep_istiod_failure_policy, same_state)
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._errors import (
    ApiError, ConflictError, InvalidObject, K8sError)
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._fieldset import list_key
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef

from .fake_cluster import FakeCluster
from .test_readiness import FakeClock

NS = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}}


def configmap(name, namespace="istio-system", **data):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace},
            "data": data or {"k": "v"}}


def crd(group="example.io", kind="Widget", plural="widgets"):
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "%s.%s" % (plural, group)},
            "spec": {"group": group, "scope": "Namespaced",
                     "names": {"kind": kind, "plural": plural}, "versions": [{"name": "v1"}]}}


def widget(name="w"):
    return {"apiVersion": "example.io/v1", "kind": "Widget",
            "metadata": {"name": name, "namespace": "istio-system"}, "spec": {"size": 1}}


def vwc(policy="Ignore"):
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": "istio-validator-istio-system"},
            "webhooks": [{"name": "rev.validation.istio.io", "failurePolicy": policy,
                          "clientConfig": {"service": {"name": "istiod", "namespace": "istio-system"},
                                           "caBundle": ""}}]}


def applier(cluster, **kw):
    kw.setdefault("clock", FakeClock())
    return Applier(cluster, **kw)


def test_first_run_creates_second_run_only_reads():
    cluster = FakeCluster()
    objects = [configmap("a"), configmap("b"), NS]
    first = applier(cluster).apply(objects)
    assert [(r.ref.name, r.action) for r in first.objects] == [
        ("istio-system", "created"), ("a", "created"), ("b", "created")]
    assert first.changed and len(first.diffs) == 3
    cluster.reset_calls()
    second = applier(cluster).apply(objects)
    assert not second.changed and {r.action for r in second.objects} == {"unchanged"}
    assert cluster.verbs() == ["GET", "LIST"], "one GET for the namespace, one LIST for the two ConfigMaps"


def test_values_the_server_rewrites_cost_a_dry_run_but_no_write():
    def normalise(body):
        if body.get("kind") == "ConfigMap":
            body["data"] = {k: v.lower() for k, v in body["data"].items()}
        return body
    cluster = FakeCluster(normalise)
    applier(cluster).apply([NS, configmap("a", k="V")])
    cluster.reset_calls()
    result = applier(cluster).apply([NS, configmap("a", k="V")])
    assert not result.changed
    assert cluster.verbs() == ["GET", "GET", "APPLY-DRYRUN"]


def test_changes_are_dry_run_then_applied_with_a_diff():
    cluster = FakeCluster()
    applier(cluster).apply([NS, configmap("a", k="1")])
    cluster.reset_calls()
    result = applier(cluster).apply([NS, configmap("a", k="2")])
    assert [r.action for r in result.objects] == ["unchanged", "updated"]
    assert cluster.verbs() == ["GET", "GET", "APPLY-DRYRUN", "APPLY"]
    assert result.diff["before"]["ConfigMap istio-system/a"]["data"] == {"k": "1"}
    assert result.diff["after"]["ConfigMap istio-system/a"]["data"] == {"k": "2"}


def test_check_mode_writes_nothing_and_predicts_objects_in_a_new_namespace():
    cluster = FakeCluster()
    result = applier(cluster, check_mode=True).apply([configmap("a"), NS])
    assert cluster.writes() == [] and cluster.store == {}
    assert [r.action for r in result.objects] == ["created", "created"]
    assert "namespace istio-system would be created first" in result.objects[1].note
    assert result.diff["after"]["ConfigMap istio-system/a"]["data"] == {"k": "v"}


def test_check_mode_update_uses_the_server_dry_run():
    cluster = FakeCluster()
    applier(cluster).apply([NS, configmap("a", k="1")])
    cluster.reset_calls()
    result = applier(cluster, check_mode=True).apply([NS, configmap("a", k="2")])
    assert result.changed and "APPLY" not in cluster.verbs() and "APPLY-DRYRUN" in cluster.verbs()
    assert cluster.store[ObjectRef.of("v1", "ConfigMap", "a", "istio-system")]["data"] == {"k": "1"}


def test_crds_first_then_discovery_refresh_then_custom_resources():
    cluster = FakeCluster()
    cluster.unserved.add(("example.io", "Widget"))
    result = applier(cluster).apply([widget(), NS, crd()])
    assert [r.ref.kind for r in result.objects] == ["CustomResourceDefinition", "Namespace", "Widget"]
    verbs = cluster.verbs()
    assert verbs.index("REFRESH") < verbs.index("APPLY", verbs.index("REFRESH"))
    assert ObjectRef.of("example.io/v1", "Widget", "w", "istio-system") in cluster.store


def test_new_crds_are_polled_five_times_a_second_until_established():
    cluster = FakeCluster()
    real_get, answers = cluster.get, []

    def established_on_third_read(ref):
        obj = real_get(ref)
        if obj is None:
            return None  # the read before the apply
        answers.append(ref.name)
        if len(answers) < 3:
            obj["status"] = {"conditions": [{"type": "Established", "status": "False"}]}
        return obj
    cluster.get = established_on_third_read
    clock = FakeClock()
    applier(cluster, clock=clock).apply([crd()])
    assert answers == ["widgets.example.io"] * 3
    assert clock.sleeps == [0.2, 0.2], "not the one-second interval of deletions"


def test_a_deferred_crd_wait_waits_only_when_settled_unless_its_kinds_follow():
    cluster = FakeCluster()
    deferring = applier(cluster, defer_crd_wait=True)
    deferring.apply([crd()])
    assert "REFRESH" not in cluster.verbs() and deferring.unsettled, "nothing waited for yet"
    cluster.reset_calls()
    deferring.settle()
    assert cluster.verbs() == ["GET", "REFRESH"], "one read (established), then discovery refreshed"
    assert deferring.unsettled == []
    cluster = FakeCluster()
    cluster.unserved.add(("example.io", "Widget"))
    with_kinds = applier(cluster, defer_crd_wait=True)
    with_kinds.apply([NS, crd(), widget()])
    assert with_kinds.unsettled == [] and "REFRESH" in cluster.verbs(), "its custom resources need it now"


def test_defines_kind_of():
    assert defines_kind_of([crd()], [NS, widget()])
    assert not defines_kind_of([crd()], [NS, configmap("a")])


def test_check_mode_with_a_new_crd_predicts_its_custom_resources():
    cluster = FakeCluster()
    cluster.put(NS)
    cluster.unserved.add(("example.io", "Widget"))
    result = applier(cluster, check_mode=True).apply([widget(), crd()])
    assert [r.action for r in result.objects] == ["created", "created"]
    assert "its CRD widgets.example.io would be created first" in result.objects[1].note
    assert cluster.writes() == []


def test_unknown_kind_fails_naming_it():
    cluster = FakeCluster()
    cluster.put(NS)
    cluster.unserved.add(("example.io", "Widget"))
    with pytest.raises(K8sError, match="Widget"):
        applier(cluster).apply([widget()])


def test_duplicates_and_missing_namespaces_are_rejected():
    cluster = FakeCluster()
    with pytest.raises(InvalidObject, match="rendered twice"):
        applier(cluster).apply([configmap("a"), configmap("a")])
    with pytest.raises(InvalidObject, match="has no metadata.namespace"):
        applier(cluster).apply([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}])
    result = applier(cluster, default_namespace="istio-system", check_mode=True).apply(
        [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}])
    assert result.objects[0].ref.namespace == "istio-system"


def test_an_object_the_server_refuses_stops_the_whole_apply_before_any_write():
    cluster = FakeCluster()
    cluster.put(NS)
    with pytest.raises(K8sError, match='namespaces "missing" not found') as info:
        applier(cluster).apply([configmap("a"), configmap("b", namespace="missing")])
    assert info.value.partial.objects == [] and cluster.writes() == []


def test_every_refused_object_is_named_at_once():
    cluster = FakeCluster()
    cluster.put(NS)
    with pytest.raises(K8sError) as info:
        applier(cluster).apply([configmap("a"), configmap("b", namespace="gone"), configmap("c", namespace="lost")])
    assert "2 objects were refused, so none was written" in str(info.value)
    assert '"gone" not found' in str(info.value) and '"lost" not found' in str(info.value)
    assert cluster.writes() == []


def test_a_failure_while_writing_carries_what_was_done():
    cluster = FakeCluster()
    real_apply = cluster.apply

    def failing_on_b(body, field_manager, force=False, dry_run=False):
        if body["metadata"]["name"] == "b" and not dry_run:
            raise ApiError("apply ConfigMap b: etcd is overloaded", 503, "ServiceUnavailable")
        return real_apply(body, field_manager, force, dry_run)
    cluster.apply = failing_on_b
    with pytest.raises(K8sError) as info:
        applier(cluster).apply([NS, configmap("a"), configmap("b")])
    assert [r.ref.name for r in info.value.partial.objects] == ["istio-system", "a"]


def _writes_meeting(cluster, names, parties):
    """``cluster.apply`` whose real writes of ``names`` wait for each other: they pass only if they are in
    flight together (a barrier of ``parties``), and the order of every real write is kept."""
    barrier = threading.Barrier(parties, timeout=5)
    real_apply, order = cluster.apply, []

    def apply(body, field_manager, force=False, dry_run=False):
        name = body["metadata"]["name"]
        if not dry_run:
            order.append(name)
            if name in names:
                barrier.wait()
        return real_apply(body, field_manager, force, dry_run)
    cluster.apply = apply
    return order


def test_the_writes_of_one_rank_go_out_together_and_ranks_stay_in_order():
    cluster = FakeCluster()
    order = _writes_meeting(cluster, {"b", "c", "d"}, 3)
    applier(cluster).apply([configmap("b"), configmap("c"), configmap("d"), NS, crd()])
    assert order[:2] == ["widgets.example.io", "istio-system"], "the CRD, then the namespace, one at a time"
    assert sorted(order[2:]) == ["b", "c", "d"]


def test_the_first_write_goes_alone_so_a_stale_run_writes_nothing_else():
    cluster = FakeCluster()
    applier(cluster).apply([NS])
    real_apply, tried = cluster.apply, []

    def stale_on_first_write(body, field_manager, force=False, dry_run=False):
        if not dry_run:
            tried.append(body["metadata"]["name"])
            raise K8sError("another run changed this scope after this run read it")  # as the lease's guard
        return real_apply(body, field_manager, force, dry_run)
    cluster.apply = stale_on_first_write
    with pytest.raises(K8sError) as info:
        applier(cluster).apply([NS, configmap("a"), configmap("b"), configmap("c")])
    assert tried == ["a"], "the namespace is unchanged; of the three ConfigMaps only the first was tried"
    assert [r.ref.name for r in info.value.partial.objects] == ["istio-system"]


def test_ca_bundle_is_never_sent():
    cluster = FakeCluster()
    applier(cluster).apply([vwc()])
    stored = cluster.store[ObjectRef.of("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration",
                                        "istio-validator-istio-system")]
    assert "caBundle" not in stored["webhooks"][0]["clientConfig"]


def test_failure_policy_kept_while_ours_and_left_alone_once_istiod_took_it():
    ours = copy.deepcopy(vwc("Ignore"))
    key = list_key(name="rev.validation.istio.io")
    ours["metadata"]["managedFields"] = [{"manager": "servicemesh.istio", "operation": "Apply",
                                          "fieldsV1": {"f:webhooks": {key: {"f:failurePolicy": {}}}}}]
    desired = vwc("Ignore")
    assert keep_istiod_failure_policy(copy.deepcopy(desired), ours, "servicemesh.istio")["webhooks"][0][
        "failurePolicy"] == "Ignore"
    taken = copy.deepcopy(vwc("Fail"))
    taken["metadata"]["managedFields"] = [
        {"manager": "servicemesh.istio", "operation": "Apply", "fieldsV1": {"f:webhooks": {key: {"f:name": {}}}}},
        {"manager": "pilot-discovery", "operation": "Update", "fieldsV1": {"f:webhooks": {key: {
            "f:failurePolicy": {}}}}}]
    assert "failurePolicy" not in keep_istiod_failure_policy(copy.deepcopy(desired), taken,
                                                             "servicemesh.istio")["webhooks"][0]
    assert keep_istiod_failure_policy(copy.deepcopy(desired), None, "servicemesh.istio") == desired


def test_same_state_counts_ownership():
    live = configmap("a")
    live["metadata"]["managedFields"] = [{"manager": "helm", "operation": "Update", "fieldsV1": {}}]
    predicted = copy.deepcopy(live)
    predicted["metadata"]["managedFields"].append({"manager": "servicemesh.istio", "operation": "Apply",
                                                   "apiVersion": "v1", "fieldsV1": {"f:data": {"f:k": {}}}})
    assert not same_state(predicted, live, "servicemesh.istio")
    assert same_state(live, copy.deepcopy(live), "servicemesh.istio")


def test_delete_in_reverse_order_skips_missing_and_waits():
    cluster = FakeCluster()
    applier(cluster).apply([NS, configmap("a"), vwc()])
    refs = [ObjectRef.from_object(o, namespaced=None) for o in (configmap("a"), vwc())]
    refs.append(ObjectRef.of("v1", "ConfigMap", "gone", "istio-system"))
    result = applier(cluster).delete(refs, wait=True)
    assert [(r.ref.name, r.action) for r in result.objects] == [
        ("istio-validator-istio-system", "deleted"), ("gone", "absent"), ("a", "deleted")]
    assert result.diff["before"] and result.diff["after"] == {}


def test_delete_in_check_mode_deletes_nothing():
    cluster = FakeCluster()
    applier(cluster).apply([NS, configmap("a")])
    result = applier(cluster, check_mode=True).delete([ObjectRef.of("v1", "ConfigMap", "a", "istio-system")])
    assert result.changed and ObjectRef.of("v1", "ConfigMap", "a", "istio-system") in cluster.store


def test_check_mode_tolerates_a_kind_an_earlier_task_would_install():
    cluster = FakeCluster()
    cluster.put(NS)
    cluster.unserved.add(("example.io", "Widget"))
    result = applier(cluster, check_mode=True).apply([widget()])
    assert [r.action for r in result.objects] == ["created"]
    assert "predicted without the API server" in result.objects[0].note


class WrittenAfterTheRead(FakeCluster):
    """Someone else (istiod patching its webhooks) writes an object right after the applier read it.

    The fake's apply keeps what ``change`` wrote when the applied body leaves it out (that part of
    server-side apply's merge), and refuses a body that sets a field ``change`` took."""

    def __init__(self, name, change, taken=()):
        super().__init__(self._merge)
        self.name, self.change, self.taken = name, change, taken
        self.pending = True

    def get(self, ref):
        obj = super().get(ref)
        if obj and ref.name == self.name and self.pending:
            self.pending = False
            self.change(self.store[ref])
            self.store[ref]["metadata"]["resourceVersion"] = str(next(self._versions))
        return obj

    def _merge(self, body):
        if body.get("kind") == "ConfigMap":  # a value the server rewrites: every run needs a dry run
            body["data"] = {k: v.lower() for k, v in body["data"].items()}
        live = self.store.get(ObjectRef.from_object(body))
        if not live or live["metadata"]["name"] != self.name:
            return body
        for key, value in (live["metadata"].get("annotations") or {}).items():
            body["metadata"].setdefault("annotations", {})[key] = value
        for hook, live_hook in zip(body.get("webhooks") or [], live.get("webhooks") or []):
            if not self.pending and "failurePolicy" in hook and "failurePolicy" in self.taken:
                raise ConflictError("conflict on failurePolicy (owned by istiod)", [("istiod", "failurePolicy")])
            hook.setdefault("failurePolicy", live_hook.get("failurePolicy"))
        return body


def test_an_object_written_between_read_and_apply_is_compared_as_it_is_now():
    def annotate(obj):
        obj["metadata"]["annotations"] = {"someone": "else"}
    cluster = WrittenAfterTheRead("a", annotate)
    applier(cluster).apply([NS, configmap("a", k="V")])
    cluster.pending = True
    cluster.reset_calls()
    result = applier(cluster).apply([configmap("a", k="V")])
    assert [r.action for r in result.objects] == ["unchanged"], result.diff
    assert cluster.verbs() == ["GET", "APPLY-DRYRUN", "GET", "APPLY-DRYRUN"], "read again once, nothing applied"


def test_a_failure_policy_istiod_took_after_the_read_is_left_to_istiod():
    key = list_key(name="rev.validation.istio.io")
    cluster = WrittenAfterTheRead("istio-validator-istio-system", None, taken=("failurePolicy",))
    applier(cluster).apply([vwc("Ignore")])
    ref = ObjectRef.of("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration",
                       "istio-validator-istio-system")
    cluster.store[ref]["metadata"]["managedFields"] = [{"manager": "servicemesh.istio", "operation": "Apply",
                                                       "fieldsV1": {"f:webhooks": {key: {"f:failurePolicy": {}}}}}]

    def istiod_serves(obj):
        obj["webhooks"][0]["failurePolicy"] = "Fail"
        obj["metadata"]["managedFields"] = [
            {"manager": "servicemesh.istio", "operation": "Apply", "fieldsV1": {"f:webhooks": {key: {"f:name": {}}}}},
            {"manager": "istiod", "operation": "Update", "fieldsV1": {"f:webhooks": {key: {"f:failurePolicy": {}}}}}]
    cluster.change = istiod_serves
    cluster.pending = True
    cluster.reset_calls()
    applier(cluster).apply([vwc("Ignore")])
    assert cluster.store[ref]["webhooks"][0]["failurePolicy"] == "Fail"
    assert cluster.verbs()[:3] == ["GET", "APPLY-DRYRUN", "GET"]
