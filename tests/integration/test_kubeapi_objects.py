"""Round trips of the kinds Istio's charts render, large and multi-version
CRDs, collection deletes, field-validation warnings.

On the Python test server because these are that server's own tests.
"""
from __future__ import annotations

import copy
import json

import pytest
import yaml

pytestmark = pytest.mark.integration

ISTIO_LIKE = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}},
    {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "istiod", "namespace": "istio-system"}},
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "istio", "namespace": "istio-system"},
     "data": {"mesh": "defaultConfig: {}\n"}},
    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cacerts", "namespace": "istio-system"},
     "type": "Opaque", "data": {"ca-cert.pem": "Q0E="}},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "istiod-istio-system"},
     "rules": [{"apiGroups": ["networking.istio.io"], "resources": ["*"], "verbs": ["get", "watch", "list"]}]},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
     "metadata": {"name": "istiod-istio-system"},
     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "istiod-istio-system"},
     "subjects": [{"kind": "ServiceAccount", "name": "istiod", "namespace": "istio-system"}]},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "istiod", "namespace": "istio-system"},
     "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["create", "get"]}]},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "istiod", "namespace": "istio-system"},
     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "istiod"},
     "subjects": [{"kind": "ServiceAccount", "name": "istiod", "namespace": "istio-system"}]},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "istiod", "namespace": "istio-system"},
     "spec": {"selector": {"app": "istiod"}, "ports": [{"name": "grpc-xds", "port": 15010},
                                                       {"name": "https-webhook", "port": 443, "targetPort": 15017}]}},
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "istiod", "namespace": "istio-system"},
     "spec": {"selector": {"matchLabels": {"app": "istiod"}},
              "template": {"metadata": {"labels": {"app": "istiod"}},
                           "spec": {"serviceAccountName": "istiod",
                                    "containers": [{"name": "discovery", "image": "docker.io/istio/pilot:1.24.1",
                                                    "env": [{"name": "REVISION", "value": "default"}],
                                                    "ports": [{"containerPort": 8080}, {"containerPort": 15010}]}]}}}},
    {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "istiod", "namespace": "istio-system"},
     "spec": {"minReplicas": 1, "maxReplicas": 5, "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "istiod"},
              "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]}},
    {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "istiod", "namespace": "istio-system"},
     "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "istiod"}}}},
    {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
     "metadata": {"name": "istio-sidecar-injector", "labels": {"istio.io/rev": "default"}},
     "webhooks": [{"name": "namespace.sidecar-injector.istio.io", "sideEffects": "None", "admissionReviewVersions": ["v1"],
                   "clientConfig": {"service": {"name": "istiod", "namespace": "istio-system", "path": "/inject"}},
                   "namespaceSelector": {"matchLabels": {"istio-injection": "enabled"}},
                   "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]}]},
    {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
     "metadata": {"name": "istio-validator-istio-system"},
     "webhooks": [{"name": "rev.validation.istio.io", "sideEffects": "None", "admissionReviewVersions": ["v1"],
                   "failurePolicy": "Ignore",
                   "clientConfig": {"service": {"name": "istiod", "namespace": "istio-system", "path": "/validate"}},
                   "rules": [{"operations": ["CREATE", "UPDATE"], "apiGroups": ["networking.istio.io"],
                              "apiVersions": ["*"], "resources": ["*"]}]}]},
    {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
     "metadata": {"name": "stable-channel-policy.istio.io"},
     "spec": {"failurePolicy": "Fail", "matchConstraints": {"resourceRules": [
         {"apiGroups": ["networking.istio.io"], "apiVersions": ["*"], "operations": ["CREATE"], "resources": ["*"]}]},
         "validations": [{"expression": "true"}]}},
    {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
     "metadata": {"name": "stable-channel-policy-binding.istio.io"},
     "spec": {"policyName": "stable-channel-policy.istio.io", "validationActions": ["Deny"]}},
    {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": {"name": "istiod-x", "namespace": "istio-system",
                                                                                "labels": {"kubernetes.io/service-name": "istiod"}},
     "addressType": "IPv4", "endpoints": [{"addresses": ["10.0.0.1"]}], "ports": [{"name": "grpc-xds", "port": 15010}]},
    {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "istiod-remote", "namespace": "istio-system"},
     "subsets": [{"addresses": [{"ip": "10.0.0.2"}], "ports": [{"port": 15012}]}]},
    {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "istiod", "namespace": "istio-system"},
     "spec": {"podSelector": {"matchLabels": {"app": "istiod"}}, "ingress": [{}]}},
    {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "pods", "namespace": "istio-system"},
     "spec": {"hard": {"pods": "100"}}},
    {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "istio-leader", "namespace": "istio-system"},
     "spec": {"holderIdentity": "istiod-1", "leaseDurationSeconds": 30}},
]


def _subset(expected, actual) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(_subset(v, actual.get(k)) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(actual, list) and len(expected) == len(actual) and \
            all(_subset(e, a) for e, a in zip(expected, actual))
    return expected == actual


def test_istio_kinds_round_trip_with_server_side_apply(kubeapi_clean, kubectl_binary):
    manifest = yaml.safe_dump_all(ISTIO_LIKE)
    kubeapi_clean.kubectl("apply", "--server-side", "--field-manager=installer", "-f", "-", input=manifest,
                          binary=kubectl_binary)
    for obj in ISTIO_LIKE:
        kind, meta = obj["kind"], obj["metadata"]
        stored = kubeapi_clean.cluster.get_object(kind, meta.get("namespace", ""), meta["name"])
        body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
        assert stored is not None and _subset(body, stored), (kind, stored)
        managers = [(m["manager"], m["operation"]) for m in stored["metadata"].get("managedFields", [])]
        # A configuration with nothing but a name owns no field, so it leaves no entry.
        assert (("installer", "Apply") in managers) == bool(body), (kind, managers)
    mark = kubeapi_clean.last_request()
    kubeapi_clean.kubectl("apply", "--server-side", "--field-manager=installer", "-f", "-", input=manifest,
                          binary=kubectl_binary)
    assert kubeapi_clean.writes(mark) == []
    assert len(kubeapi_clean.mutating_requests(mark)) == len(ISTIO_LIKE)


def _big_crd(group: str = "networking.example.io", properties: int = 720) -> dict:
    props = {f"field{i:04d}": {"type": "string", "description": "A field of a large generated schema. " * 4}
             for i in range(properties)}
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": props},
                                               "status": {"type": "object",
                                                          "x-kubernetes-preserve-unknown-fields": True}}}
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"bigs.{group}"},
            "spec": {"group": group, "scope": "Namespaced",
                     "names": {"plural": "bigs", "singular": "big", "kind": "Big", "categories": ["istio-io"]},
                     "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                                   "schema": {"openAPIV3Schema": schema}}]}}


def test_large_crd_with_client_and_server_side_apply(kubeapi_clean, kubectl_binary):
    crd = _big_crd()
    text = json.dumps(crd)
    assert 140_000 < len(text) < 250_000
    out = kubeapi_clean.kubectl("apply", "-f", "-", input=text, binary=kubectl_binary).stdout
    assert "customresourcedefinition.apiextensions.k8s.io/bigs.networking.example.io created" in out
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["extra"] = \
        {"type": "integer"}
    out = kubeapi_clean.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=json.dumps(crd),
                                binary=kubectl_binary).stdout
    assert "serverside-applied" in out
    kubeapi_clean.kubectl("create", "namespace", "app", binary=kubectl_binary)
    cr = {"apiVersion": "networking.example.io/v1", "kind": "Big", "metadata": {"name": "b", "namespace": "app"},
          "spec": {"field0001": "x", "extra": 3}}
    kubeapi_clean.kubectl("apply", "-f", "-", input=json.dumps(cr), binary=kubectl_binary)
    assert kubeapi_clean.cluster.get_object("Big", "app", "b")["spec"] == {"field0001": "x", "extra": 3}


def test_annotation_size_limit_rejects_client_side_apply_of_huge_crds(kubeapi_clean, kubectl_binary):
    crd = _big_crd(properties=1400)
    result = kubeapi_clean.kubectl("apply", "-f", "-", input=json.dumps(crd), check=False, binary=kubectl_binary)
    assert result.returncode != 0 and "Too long: must have at most 262144 bytes" in result.stderr
    ok = kubeapi_clean.kubectl("apply", "--server-side", "-f", "-", input=json.dumps(crd), binary=kubectl_binary)
    assert "serverside-applied" in ok.stdout


def test_multi_version_crd_serves_every_version(kubeapi_clean):
    crd = copy.deepcopy(_big_crd(group="gateway.example.io", properties=2))
    v1 = crd["spec"]["versions"][0]
    v1beta1 = dict(copy.deepcopy(v1), name="v1beta1", storage=False)
    crd["spec"]["versions"] = [v1beta1, v1]
    code, _unused, _unused = kubeapi_clean.http("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    assert code == 201
    _unused, _unused, group = kubeapi_clean.http("GET", "/apis/gateway.example.io")
    assert [v["version"] for v in group["versions"]] == ["v1", "v1beta1"]
    assert group["preferredVersion"]["version"] == "v1"
    body = {"apiVersion": "gateway.example.io/v1beta1", "kind": "Big",
            "metadata": {"name": "old", "namespace": "default"}, "spec": {"field0000": "a"}}
    code, _unused, created = kubeapi_clean.http("POST", "/apis/gateway.example.io/v1beta1/namespaces/default/bigs", body)
    assert code == 201 and created["apiVersion"] == "gateway.example.io/v1beta1"
    _unused, _unused, at_v1 = kubeapi_clean.http("GET", "/apis/gateway.example.io/v1/namespaces/default/bigs/old")
    assert at_v1["apiVersion"] == "gateway.example.io/v1" and at_v1["spec"] == {"field0000": "a"}
    _unused, _unused, listed = kubeapi_clean.http("GET", "/apis/gateway.example.io/v1beta1/bigs")
    assert [i["apiVersion"] for i in listed["items"]] == ["gateway.example.io/v1beta1"]
    _unused, _unused, crd_now = kubeapi_clean.http("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
                                                   "bigs.gateway.example.io")
    assert crd_now["status"]["storedVersions"] == ["v1"]


def test_deletecollection_with_selector(kubeapi_clean):
    for name, team in (("a", "x"), ("b", "x"), ("c", "y")):
        kubeapi_clean.http("POST", "/api/v1/namespaces/default/configmaps",
                           {"metadata": {"name": name, "labels": {"team": team}}})
    code, _unused, body = kubeapi_clean.http("DELETE", "/api/v1/namespaces/default/configmaps",
                                             query={"labelSelector": "team=x"})
    assert code == 200 and body["kind"] == "ConfigMapList"
    assert sorted(i["metadata"]["name"] for i in body["items"]) == ["a", "b"]
    _unused, _unused, left = kubeapi_clean.http("GET", "/api/v1/namespaces/default/configmaps")
    assert sorted(i["metadata"]["name"] for i in left["items"]) == ["c", "kube-root-ca.crt"]


def test_field_validation_modes_for_custom_resources(kubeapi_clean):
    crd = _big_crd(group="fv.example.io", properties=1)
    kubeapi_clean.http("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    path = "/apis/fv.example.io/v1/namespaces/default/bigs"
    body = {"apiVersion": "fv.example.io/v1", "kind": "Big", "metadata": {"name": "w"},
            "spec": {"field0000": "a", "bogus": 1}}
    code, headers, created = kubeapi_clean.http("POST", path, body)
    assert code == 201 and headers["Warning"] == '299 - "unknown field \\"spec.bogus\\""' or \
        'unknown field "spec.bogus"' in headers["Warning"]
    assert created["spec"] == {"field0000": "a"}
    body["metadata"]["name"] = "s"
    code, _unused, error = kubeapi_clean.http("POST", path, body, query={"fieldValidation": "Strict"})
    assert code == 400 and 'strict decoding error: unknown field "spec.bogus"' in error["message"]
    body["metadata"]["name"] = "i"
    code, headers, _unused = kubeapi_clean.http("POST", path, body, query={"fieldValidation": "Ignore"})
    assert code == 201 and "Warning" not in headers


def test_a_checkpoint_brings_back_objects_custom_kinds_and_labels(kubeapi_clean):
    crd = copy.deepcopy(_big_crd(group="gateway.example.io", properties=2))
    assert kubeapi_clean.http("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)[0] == 201
    body = {"apiVersion": "gateway.example.io/v1", "kind": "Big", "metadata": {"name": "kept", "namespace": "default"},
            "spec": {"field0000": "a"}}
    assert kubeapi_clean.http("POST", "/apis/gateway.example.io/v1/namespaces/default/bigs", body)[0] == 201
    kubeapi_clean.http("POST", "/api/v1/namespaces/default/configmaps",
                       {"metadata": {"name": "labelled", "labels": {"team": "x"}}})
    saved = kubeapi_clean.checkpoint()
    kubeapi_clean.http("DELETE", "/api/v1/namespaces/default/configmaps/labelled")
    kubeapi_clean.http("DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/bigs.gateway.example.io")
    assert kubeapi_clean.http("GET", "/apis/gateway.example.io/v1/namespaces/default/bigs/kept")[0] == 404
    kubeapi_clean.restore(saved)
    code, _unused, back = kubeapi_clean.http("GET", "/apis/gateway.example.io/v1/namespaces/default/bigs/kept")
    assert code == 200 and back["spec"] == {"field0000": "a"}
    _unused, _unused, selected = kubeapi_clean.http("GET", "/api/v1/namespaces/default/configmaps",
                                                    query={"labelSelector": "team=x"})
    assert [i["metadata"]["name"] for i in selected["items"]] == ["labelled"]
    # a write after the restore gets a resourceVersion newer than anything restored
    kubeapi_clean.http("POST", "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "after"}})
    _unused, _unused, listed = kubeapi_clean.http("GET", "/api/v1/namespaces/default/configmaps")
    versions = {i["metadata"]["name"]: int(i["metadata"]["resourceVersion"]) for i in listed["items"]}
    assert versions["after"] > max(v for name, v in versions.items() if name != "after")
