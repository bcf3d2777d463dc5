# -*- coding: utf-8 -*-
"""The Kubernetes adapter (plugins/module_utils/k8s) on the real control plane.

Every test works in its own namespace and with its own cluster-scoped names,
and reads the request log from the point where it started, so tests do not
disturb each other or anyone else sharing the session's cluster. The tests of
faults and unready workloads run on the Python test server (``py_*`` fixtures):
a real server cannot be made to fail on cue.
"""
from __future__ import annotations

import copy
import itertools
import time

import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils.k8s import _inventory as inventory
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._apply import Applier
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import RetryPolicy, connect
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._errors import (
    ClusterUnreachable, ConflictError, KindNotServed, WaitTimeout)
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._inventory import UnitKey
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._readiness import deployment_ready
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._unit import remove_unit, sync_unit
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._waiter import Check, wait_until

pytestmark = pytest.mark.integration

_names = itertools.count(1)
VWC_KIND = ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration")


def _connect(handle):
    return connect({"kubeconfig": handle.kubeconfig, "context": handle.context},
                   retry=RetryPolicy(attempts=4, base_delay=0.05, max_delay=0.2))


@pytest.fixture(scope="module")
def cluster(k8s_shared):
    return _connect(k8s_shared)


@pytest.fixture(scope="module")
def py_cluster(kubeapi):
    """The Python test server: faults and readiness on cue, which a real server does not give."""
    return _connect(kubeapi)


@pytest.fixture
def suffix(cluster):
    """A name part unique to the test; what carries it is deleted afterwards (the server is shared)."""
    suffix = "k8s%d" % next(_names)
    yield suffix
    leftovers = [ObjectRef.from_object(obj) for api_version, kind in CLUSTER_SCOPED_LEFTOVERS
                 for obj in cluster.list(api_version, kind) if suffix in obj["metadata"]["name"]]
    Applier(cluster).delete(leftovers, wait=True, timeout=30)


CLUSTER_SCOPED_LEFTOVERS = [
    ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"), VWC_KIND,
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"), ("v1", "Namespace")]


def _namespace(cluster, suffix):
    name = "ns-" + suffix
    Applier(cluster).apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}])
    return name


@pytest.fixture
def ns(cluster, suffix):
    return _namespace(cluster, suffix)


@pytest.fixture
def py_ns(py_cluster):
    return _namespace(py_cluster, "py%d" % next(_names))


@pytest.fixture
def log(k8s_shared):
    return RequestLog(k8s_shared)


@pytest.fixture
def py_log(kubeapi):
    return RequestLog(kubeapi)


class RequestLog:
    """The test server's request log from the moment the test asked for it."""

    def __init__(self, kubeapi):
        self.kubeapi = kubeapi
        self.mark()

    def mark(self):
        self.since = self.kubeapi.last_request()

    def requests(self):
        return [e for e in self.kubeapi.requests(self.since) if e["resource"]]

    def writes(self):
        return self.kubeapi.writes(self.since)

    def verbs(self):
        return [(e["verb"], e["resource"], e["dry_run"]) for e in self.requests()]


def configmap(ns, name="settings", **data):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns},
            "data": data or {"mesh": "defaultConfig: {}"}}


def deployment(ns, name="istiod", image="pilot:1.24.0"):
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                         {"name": "discovery", "image": image, "args": ["discovery"],
                          "ports": [{"containerPort": 15010}, {"containerPort": 15017}],
                          "env": [{"name": "REVISION", "value": "default"}]}]}}}}


def service(ns, name="istiod"):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"selector": {"app": name}, "ports": [{"name": "grpc-xds", "port": 15010},
                                                          {"name": "https-webhook", "port": 443,
                                                           "targetPort": 15017}]}}


def validating_webhook(name, ns, policy="Ignore"):
    webhook = {"name": "rev.validation.istio.io", "admissionReviewVersions": ["v1"], "sideEffects": "None",
               "clientConfig": {"service": {"name": "istiod", "namespace": ns, "path": "/validate"}},
               "rules": [{"operations": ["CREATE", "UPDATE"], "apiGroups": ["networking.istio.io"],
                          "apiVersions": ["*"], "resources": ["*"]}]}
    if policy:
        webhook["failurePolicy"] = policy
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": name}, "webhooks": [webhook]}


def mutating_webhook(name, ns):
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": name}, "webhooks": [{
                "name": "rev.namespace.sidecar-injector.istio.io", "admissionReviewVersions": ["v1"],
                "sideEffects": "None", "failurePolicy": "Fail",
                "clientConfig": {"service": {"name": "istiod", "namespace": ns, "path": "/inject"}},
                "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                           "resources": ["pods"]}]}]}


def crd(group, kind="Widget", plural="widgets"):
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "%s.%s" % (plural, group)},
            "spec": {"group": group, "scope": "Namespaced",
                     "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": kind + "List"},
                     "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                         "type": "object", "properties": {"spec": {
                             "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}}}]}}


def ref_of(obj):
    return ObjectRef.from_object(obj)


def istiod_objects(ns):
    return [configmap(ns), service(ns), deployment(ns)]


# -- apply ------------------------------------------------------------------------------------

def test_apply_creates_every_object(cluster, ns, log):
    result = Applier(cluster).apply(istiod_objects(ns))
    assert [(r.ref.kind, r.action) for r in result.objects] == [
        ("ConfigMap", "created"), ("Service", "created"), ("Deployment", "created")]
    assert result.changed and len(result.diffs) == 3
    for obj in istiod_objects(ns):
        assert cluster.get(ref_of(obj)) is not None
    assert [(e["verb"], e["resource"]) for e in log.writes()] == [
        ("patch", "configmaps"), ("patch", "services"), ("patch", "deployments")]
    assert all(e["field_manager"] == "servicemesh.istio" for e in log.writes())


def test_second_identical_apply_writes_nothing_and_needs_no_dry_run(cluster, ns, log):
    Applier(cluster).apply(istiod_objects(ns))
    log.mark()
    result = Applier(cluster).apply(istiod_objects(ns))
    assert not result.changed
    assert {r.action for r in result.objects} == {"unchanged"}
    assert log.writes() == [] and log.verbs() == [], "the same run knows what it wrote: no read either"
    cluster.snapshot.reset()  # a new run reads the cluster again
    log.mark()
    assert not Applier(cluster).apply(istiod_objects(ns)).changed
    assert [verb for verb, _unused, _unused in log.verbs()] == ["get", "get", "get"]


def test_check_mode_persists_nothing_and_shows_a_diff(cluster, ns, log):
    created = Applier(cluster, check_mode=True).apply(istiod_objects(ns))
    assert created.changed and {r.action for r in created.objects} == {"created"}
    assert created.diff["after"]["Deployment.apps %s/istiod" % ns]["spec"]["template"]
    assert log.writes() == []
    assert all(e["dry_run"] for e in log.requests() if e["mutating"])
    assert cluster.get(ref_of(deployment(ns))) is None

    Applier(cluster).apply(istiod_objects(ns))
    log.mark()
    changed = Applier(cluster, check_mode=True).apply([configmap(ns, mesh="trustDomain: example.org")])
    assert [r.action for r in changed.objects] == ["updated"]
    diff = changed.diffs[0]
    assert diff["before"]["data"] == {"mesh": "defaultConfig: {}"}
    assert diff["after"]["data"] == {"mesh": "trustDomain: example.org"}
    assert "managedFields" not in diff["after"]["metadata"]
    assert log.writes() == []
    assert cluster.get(ref_of(configmap(ns)))["data"] == {"mesh": "defaultConfig: {}"}


def test_check_mode_in_a_namespace_not_created_yet(cluster, suffix, log):
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "new-" + suffix}}
    result = Applier(cluster, check_mode=True).apply([namespace, configmap("new-" + suffix)])
    assert [r.action for r in result.objects] == ["created", "created"]
    assert "would be created first" in result.objects[1].note
    assert log.writes() == []


def test_a_field_dropped_from_the_desired_object_is_removed(cluster, ns):
    Applier(cluster).apply([configmap(ns, a="1", b="2")])
    result = Applier(cluster).apply([configmap(ns, a="1")])
    assert [r.action for r in result.objects] == ["updated"]
    assert cluster.get(ref_of(configmap(ns)))["data"] == {"a": "1"}


def test_conflict_names_object_field_and_manager_then_force_wins(cluster, ns):
    Applier(cluster).apply([configmap(ns, mesh="ours")])
    cluster.apply(configmap(ns, mesh="theirs"), "kubectl-edit", force=True)
    with pytest.raises(ConflictError) as info:
        Applier(cluster).apply([configmap(ns, mesh="ours")])
    message = str(info.value)
    assert "ConfigMap %s/settings" % ns in message and "kubectl-edit" in message and ".data.mesh" in message
    assert info.value.conflicts == [("kubectl-edit", ".data.mesh")]
    assert cluster.get(ref_of(configmap(ns)))["data"]["mesh"] == "theirs"

    result = Applier(cluster, force_conflicts=True).apply([configmap(ns, mesh="ours")])
    assert [r.action for r in result.objects] == ["updated"]
    assert cluster.get(ref_of(configmap(ns)))["data"]["mesh"] == "ours"


def test_crd_and_custom_resource_in_one_apply(cluster, ns, suffix, log):
    group = "%s.example.io" % suffix
    widget = {"apiVersion": group + "/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": ns},
              "spec": {"size": 3}}
    with pytest.raises(KindNotServed, match="Widget"):
        Applier(cluster).apply([widget])
    log.mark()
    result = Applier(cluster, poll_interval=0.05).apply([widget, crd(group)])
    assert [(r.ref.kind, r.action) for r in result.objects] == [
        ("CustomResourceDefinition", "created"), ("Widget", "created")]
    assert cluster.get(ref_of(widget))["spec"] == {"size": 3}
    writes = [e["resource"] for e in log.writes()]
    assert writes.index("customresourcedefinitions") < writes.index("widgets")
    assert not Applier(cluster).apply([widget, crd(group)]).changed


def test_check_mode_with_a_crd_not_installed_yet(cluster, ns, suffix, log):
    group = "%s.example.io" % suffix
    widget = {"apiVersion": group + "/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": ns},
              "spec": {"size": 3}}
    result = Applier(cluster, check_mode=True).apply([crd(group), widget])
    assert [r.action for r in result.objects] == ["created", "created"]
    assert "CRD widgets.%s would be created first" % group in result.objects[1].note
    assert log.writes() == []


def test_istiod_owned_ca_bundle_and_failure_policy_survive_reapply(cluster, ns, suffix, log):
    name = "istio-validator-" + suffix
    objects = [validating_webhook(name, ns, "Ignore"), mutating_webhook("istio-sidecar-injector-" + suffix, ns)]
    Applier(cluster).apply(objects)
    vwc = ObjectRef.of(*VWC_KIND, name=name)
    resource = cluster.resource(*VWC_KIND)
    # what istiod does once it serves validation: inject its CA and fail closed
    cluster.client.patch(resource, [
        {"op": "add", "path": "/webhooks/0/clientConfig/caBundle", "value": "Y2EtZnJvbS1pc3Rpb2Q="},
        {"op": "replace", "path": "/webhooks/0/failurePolicy", "value": "Fail"}],
        name=name, content_type="application/json-patch+json", field_manager="pilot-discovery")

    log.mark()
    rendered = copy.deepcopy(objects)
    rendered[0]["webhooks"][0]["clientConfig"]["caBundle"] = ""  # charts may render an empty one
    result = Applier(cluster).apply(rendered)
    assert not result.changed and log.writes() == []
    upgrade = [validating_webhook(name, ns, policy=None), objects[1]]  # rendered with is_upgrade=True
    assert not Applier(cluster).apply(upgrade).changed and log.writes() == []
    live = cluster.get(vwc)["webhooks"][0]
    assert live["failurePolicy"] == "Fail"
    assert live["clientConfig"]["caBundle"] == "Y2EtZnJvbS1pc3Rpb2Q="


def test_failure_policy_we_still_own_is_not_flipped_by_an_upgrade_render(cluster, ns, suffix, log):
    name = "istio-validator-" + suffix
    Applier(cluster).apply([validating_webhook(name, ns, "Ignore")])
    log.mark()
    result = Applier(cluster).apply([validating_webhook(name, ns, policy=None)])
    assert not result.changed and log.writes() == []
    assert cluster.get(ObjectRef.of(*VWC_KIND, name=name))["webhooks"][0]["failurePolicy"] == "Ignore"


def test_delete_in_reverse_order_and_wait(cluster, ns, suffix, log):
    objects = istiod_objects(ns) + [mutating_webhook("injector-" + suffix, ns)]
    Applier(cluster).apply(objects)
    log.mark()
    refs = [ref_of(obj) for obj in objects] + [ObjectRef.of("v1", "Secret", "never-there", ns)]
    result = Applier(cluster, poll_interval=0.05).delete(refs, wait=True, timeout=10)
    assert [r.ref.kind for r in result.objects] == [
        "MutatingWebhookConfiguration", "Deployment", "Service", "ConfigMap", "Secret"]
    assert [r.action for r in result.objects] == ["deleted", "deleted", "deleted", "deleted", "absent"]
    deletes = [e for e in log.requests() if e["verb"] == "delete"]
    assert [e["resource"] for e in deletes] == [
        "mutatingwebhookconfigurations", "deployments", "services", "configmaps"]
    assert all(cluster.get(ref) is None for ref in refs)


# -- readiness --------------------------------------------------------------------------------

def test_wait_for_a_ready_deployment(cluster, ns):
    Applier(cluster).apply([deployment(ns)])
    # The real controllers, scheduler and kwok bring the pod up.
    done = wait_until(cluster, [Check(ref_of(deployment(ns)), deployment_ready)], timeout=60, interval=0.1)
    assert list(done.values()) == ["1 of 1 replicas available"]


def test_wait_timeout_names_the_unready_deployment(py_cluster, kubeapi, py_ns):
    ns = py_ns
    kubeapi.set_unready("Deployment", ns, "istiod")
    Applier(py_cluster).apply([deployment(ns)])
    with pytest.raises(WaitTimeout) as info:
        wait_until(py_cluster, [Check(ref_of(deployment(ns)), deployment_ready),
                                Check(ref_of(deployment(ns, "missing")), deployment_ready)],
                   timeout=0.3, interval=0.1)
    message = str(info.value)
    assert "Deployment.apps %s/istiod: 0 of 1 replicas available" % ns in message
    assert "Deployment.apps %s/missing: not found" % ns in message


# -- retries and errors -----------------------------------------------------------------------

@pytest.mark.parametrize("fault", [
    {"verb": "get", "resource": "configmaps", "status": 429, "retry_after": 0},
    {"verb": "apply", "resource": "configmaps", "status": 503, "retry_after": 0},
    {"verb": "apply", "resource": "configmaps", "status": 500},
    {"verb": "get", "resource": "configmaps", "reset": True},
    {"verb": "apply", "resource": "configmaps", "reset": True},
])
def test_transient_failures_are_retried(py_cluster, kubeapi, py_ns, py_log, fault):
    kubeapi.inject_fault(namespace=py_ns, count=2, **fault)
    result = Applier(py_cluster).apply([configmap(py_ns)])
    assert [r.action for r in result.objects] == ["created"]
    failed = [e for e in py_log.requests() if e["fault"]]
    assert len(failed) == 2


def test_retry_after_is_honoured(kubeapi, py_ns):
    ns = py_ns
    sleeps = []
    cluster = connect({"kubeconfig": kubeapi.kubeconfig, "context": kubeapi.context},
                      retry=RetryPolicy(sleep=sleeps.append))
    kubeapi.inject_fault(verb="get", resource="configmaps", namespace=ns, status=429, retry_after=3)
    assert cluster.get(ref_of(configmap(ns))) is None
    assert sleeps == [3.0]


def test_persistent_errors_fail_with_the_status_message(py_cluster, kubeapi, py_ns):
    ns = py_ns
    kubeapi.inject_fault(verb="apply", resource="configmaps", namespace=ns, status=503, count=0,
                         retry_after=0, message="etcd is overloaded")
    try:
        with pytest.raises(Exception, match="apply ConfigMap %s/settings: .*etcd is overloaded" % ns):
            Applier(py_cluster).apply([configmap(ns)])
    finally:
        kubeapi.clear_faults()


def test_a_server_that_stops_answering_fails_within_the_request_timeout(kubeapi, py_ns):
    cluster = connect({"kubeconfig": kubeapi.kubeconfig, "context": kubeapi.context, "request_timeout": 0.5},
                      retry=RetryPolicy(attempts=3, base_delay=0.05, max_delay=0.1))
    kubeapi.inject_fault(verb="get", resource="configmaps", namespace=py_ns, hold=True, count=0)
    started = time.monotonic()
    try:
        with pytest.raises(ClusterUnreachable, match="timed out"):
            cluster.get(ref_of(configmap(py_ns)))
        # three attempts of half a second each, and the pauses between them
        assert time.monotonic() - started < 5
        assert [fault["hits"] for fault in kubeapi.admin("GET", "faults")["items"]] == [3]
    finally:
        kubeapi.clear_faults()


def test_a_module_fails_within_its_request_timeout_when_the_server_stops_answering(kubeapi):
    from tests.helpers.ansible import run_module
    kubeapi.inject_fault(hold=True, count=0)
    started = time.monotonic()
    try:
        result = run_module("servicemesh.istio.istio_info", {"kubeconfig": kubeapi.kubeconfig, "request_timeout": 1})
        elapsed = time.monotonic() - started
    finally:
        kubeapi.clear_faults()
    assert result.get("failed") and "timed out" in result["msg"], result
    assert "Traceback" not in result.get("module_stderr", "")
    # five attempts of a second each, the pauses between them, and Ansible's own start-up
    assert elapsed < 30, elapsed


def test_unreachable_server_names_the_host():
    with pytest.raises(ClusterUnreachable, match="127.0.0.1:9"):
        cluster = connect({"host": "https://127.0.0.1:9", "api_key": "x", "validate_certs": False},
                          retry=RetryPolicy(attempts=1))
        cluster.list("v1", "ConfigMap")


def test_clusters_do_not_share_credentials(k8s_shared):
    """A client configured by host and token must not inherit the CA of an earlier kubeconfig client."""
    kubeapi = k8s_shared
    connect({"kubeconfig": kubeapi.kubeconfig, "context": kubeapi.context}).list("v1", "Namespace")
    bare = connect({"host": kubeapi.url, "api_key": kubeapi.token}, retry=RetryPolicy(attempts=1))
    with pytest.raises(ClusterUnreachable, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        bare.list("v1", "Namespace")
    trusted = connect({"host": kubeapi.url, "api_key": kubeapi.token, "ca_cert": kubeapi.ca_file})
    assert any(ns["metadata"]["name"] == "default" for ns in trusted.list("v1", "Namespace"))


# -- units and inventory ----------------------------------------------------------------------

def test_unit_prunes_what_it_no_longer_renders(cluster, ns, log):
    key = UnitKey("revision", "default", ns)
    first = sync_unit(cluster, key, istiod_objects(ns), metadata={"version": "1.24.0"}, chart_version="1.24.0",
                      values={"pilot": {"replicaCount": 1}})
    assert first.changed and first.inventory_changed
    log.mark()
    again = sync_unit(cluster, key, istiod_objects(ns), metadata={"version": "1.24.0"}, chart_version="1.24.0",
                      values={"pilot": {"replicaCount": 1}})
    assert not again.changed and log.writes() == []

    result = sync_unit(cluster, key, [configmap(ns), deployment(ns)], metadata={"version": "1.24.0"})
    actions = {r.ref.kind: r.action for r in result.objects}
    assert actions == {"ConfigMap": "unchanged", "Deployment": "unchanged", "Service": "deleted"}
    assert cluster.get(ref_of(service(ns))) is None
    record = inventory.load(cluster, ns, "revision", "default")
    assert sorted(r.kind for r in record.created_refs) == ["ConfigMap", "Deployment"]
    assert record.chart_version == "1.24.0" and record.metadata == {"version": "1.24.0"}


def test_adopted_objects_are_never_deleted(cluster, ns):
    foreign = configmap(ns, "users-config", owner="someone")
    cluster.apply(foreign, "helm")
    key = UnitKey("gateway", "ingress", ns)
    result = sync_unit(cluster, key, [configmap(ns), foreign])
    assert {r.ref.name: r.existed for r in result.objects} == {"settings": False, "users-config": True}
    record = inventory.load(cluster, ns, "gateway", "ingress")
    assert record.adopted_refs == [ref_of(foreign)]

    pruned = sync_unit(cluster, key, [configmap(ns)])
    assert {r.ref.name: r.action for r in pruned.objects} == {"settings": "unchanged", "users-config": "released"}
    assert cluster.get(ref_of(foreign)) is not None

    sync_unit(cluster, key, [configmap(ns), foreign])
    removed = remove_unit(cluster, key)
    assert {r.ref.name: r.action for r in removed.objects} == {"settings": "deleted", "users-config": "released"}
    assert cluster.get(ref_of(foreign))["data"] == {"owner": "someone"}


def test_remove_leaves_nothing_of_ours(cluster, ns, suffix, log):
    key = UnitKey("revision", suffix, ns)
    foreign = configmap(ns, "not-ours")
    cluster.apply(foreign, "kubectl")
    objects = istiod_objects(ns) + [mutating_webhook("injector-" + suffix, ns),
                                    validating_webhook("validator-" + suffix, ns)]
    sync_unit(cluster, key, objects)
    log.mark()
    check = remove_unit(cluster, key, check_mode=True)
    assert check.changed and log.writes() == []

    result = remove_unit(cluster, key, wait=True, timeout=10)
    assert result.changed and {r.action for r in result.objects} == {"deleted"}
    assert all(cluster.get(ref_of(obj)) is None for obj in objects)
    assert inventory.load(cluster, ns, "revision", suffix) is None
    labelled = cluster.list("v1", "ConfigMap", ns, label_selector="servicemesh.istio/inventory=true")
    assert labelled == []
    assert cluster.get(ref_of(foreign)) is not None
    assert not remove_unit(cluster, key).changed


def test_inventory_listing_across_namespaces(cluster, suffix):
    namespaces = ["a-" + suffix, "b-" + suffix]
    Applier(cluster).apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in namespaces])
    for namespace in namespaces:
        sync_unit(cluster, UnitKey("cni", suffix, namespace), [configmap(namespace)])
    found = [r.key for r in inventory.list(cluster, kind="cni") if r.key.name == suffix]
    assert found == [UnitKey("cni", suffix, n) for n in namespaces]
    assert [r.key for r in inventory.list(cluster, kind="cni", namespace=namespaces[1])] == [found[1]]


def test_several_clusters_in_one_process(k8s_clusters):
    first, second = (connect({"kubeconfig": k8s_clusters.kubeconfig, "context": handle.context})
                     for handle in k8s_clusters[:2])
    assert first.host != second.host
    group = "multi.example.io"
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mc"}}
    widget = {"apiVersion": group + "/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "mc"},
              "spec": {}}
    Applier(first, poll_interval=0.05).apply([namespace, crd(group), widget])
    assert first.is_served(group + "/v1", "Widget")
    assert not second.is_served(group + "/v1", "Widget")
    assert second.get(ref_of(namespace)) is None
    Applier(second).apply([namespace, configmap("mc")])
    assert first.get(ref_of(configmap("mc"))) is None


def test_connection_options_from_the_environment(k8s_shared, monkeypatch):
    kubeapi = k8s_shared
    monkeypatch.setenv("K8S_AUTH_KUBECONFIG", kubeapi.kubeconfig)
    monkeypatch.setenv("K8S_AUTH_CONTEXT", kubeapi.context)
    cluster = connect({"kubeconfig": None, "context": None})
    assert cluster.host == kubeapi.url
    assert cluster.get(ObjectRef.of("v1", "Namespace", "default")) is not None
