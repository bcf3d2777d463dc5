import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils import _mtls as mtls
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._inventory import (
    InventoryEntry, InventoryRecord, UnitKey)


def pod(name, namespace="app", labels=None, annotations=None, containers=("app",), phase="Running", **spec):
    return {"metadata": {"name": name, "namespace": namespace, "labels": labels or {},
                         "annotations": annotations or {}},
            "spec": dict(spec, containers=[{"name": c, "image": "registry.example/%s:1.30.3" % c}
                                           for c in containers]),
            "status": {"phase": phase}}


def namespace(name, **labels):
    return {"metadata": {"name": name, "labels": labels}}


def test_mesh_wide_goes_in_the_root_namespace_and_per_namespace_in_each():
    assert mtls.MtlsRequest(namespace="istio-a").policy_namespaces() == ["istio-a"]
    assert mtls.MtlsRequest(namespaces=["b", "a", "b"]).policy_namespaces() == ["a", "b"]
    assert mtls.policy("a", "STRICT") == {
        "apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
        "metadata": {"name": "default", "namespace": "a"}, "spec": {"mtls": {"mode": "STRICT"}}}


def test_pods_without_a_sidecar_are_found_in_scope_only():
    pods = [pod("web-1", annotations={"istio.io/rev": "default"}, containers=("app", "istio-proxy")),
            pod("plain"), pod("done", phase="Succeeded"), pod("native", annotations={"istio.io/rev": "default"}),
            pod("own-ambient", labels={"istio.io/dataplane-mode": "ambient"}),
            pod("opted-out", namespace="mesh", labels={"istio.io/dataplane-mode": "none"}),
            pod("in-mesh", namespace="mesh"), pod("coredns", namespace="kube-system"),
            pod("istiod-1", namespace="istio-system", labels={"app": "istiod"}),
            pod("node-agent", namespace="other", hostNetwork=True), pod("lonely", namespace="other")]
    namespaces = [namespace("app"), namespace("mesh", **{"istio.io/dataplane-mode": "ambient"}), namespace("other")]
    assert mtls.uninjected_pods(pods, namespaces, mtls.MtlsRequest()) == ["app/plain", "mesh/opted-out", "other/lonely"]
    assert mtls.uninjected_pods(pods, namespaces, mtls.MtlsRequest(namespaces=["app"])) == ["app/plain"]
    # the list replaces the system namespaces, it does not add to them
    assert mtls.uninjected_pods(pods, namespaces, mtls.MtlsRequest(ignored_namespaces=["app", "other"])) == [
        "kube-system/coredns", "mesh/opted-out"]


def test_a_policy_not_in_the_record_is_someone_elses():
    ours, theirs, none = mtls.policy_ref("a"), mtls.policy_ref("b"), mtls.policy_ref("c")
    record = InventoryRecord(UnitKey("mtls", "default", "istio-system"), [InventoryEntry(ours, True)])
    live = {ours: {"kind": "PeerAuthentication"}, theirs: {"kind": "PeerAuthentication"}, none: None}
    assert mtls.foreign_policies(live, record) == [theirs]
    assert mtls.foreign_policies(live, None) == [ours, theirs]


def test_refusals_name_each_problem_and_the_option_that_allows_it():
    strict = mtls.MtlsRequest()
    problems = mtls.refusals(strict, ["gone"], [mtls.policy_ref("b")], ["app/plain"])
    assert len(problems) == 3
    assert "gone" in problems[0]
    assert "PeerAuthentication.security.istio.io b/default" in problems[1] and "force" in problems[1]
    assert "app/plain" in problems[2] and "allow_uninjected" in problems[2]
    allowed = mtls.MtlsRequest(allow_uninjected=True, force=True)
    assert mtls.refusals(allowed, [], [mtls.policy_ref("b")], ["app/plain"]) == []
    assert mtls.refusals(mtls.MtlsRequest(mode="PERMISSIVE"), [], [], ["app/plain"]) == []


@pytest.mark.parametrize("request_,message", [
    (mtls.MtlsRequest(mode="DISABLE"), "mode"),
    (mtls.MtlsRequest(namespaces=["Bad_Name"]), "Bad_Name"),
    (mtls.MtlsRequest(name="x" * 80), "name"),
])
def test_bad_requests_are_refused(request_, message):
    with pytest.raises(IstioError, match=message):
        mtls.validate(request_)


def test_check_mode_before_the_crds_exist_predicts_every_policy():
    outcome = mtls.predicted_without_crds(mtls.MtlsRequest(namespaces=["b", "a"]))
    assert outcome.changed
    assert [(o["namespace"], o["action"]) for o in outcome.objects()] == [("a", "created"), ("b", "created")]
    assert outcome.facts["namespaces"] == ["a", "b"] and not outcome.facts["mesh_wide"]
