# -*- coding: utf-8 -*-
from __future__ import annotations

import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._errors import InvalidObject
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import (
    ObjectRef, builtin_scope, combined_diff, crd_scopes, diff_entry, normalized, object_digest,
    sorted_for_apply, sorted_for_delete, stable_digest, strip_ca_bundles, strip_server_fields)


def obj(api_version, kind, name, namespace=None, **extra):
    metadata = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    return dict({"apiVersion": api_version, "kind": kind, "metadata": metadata}, **extra)


def ref(api_version, kind, name, namespace=None):
    return ObjectRef.of(api_version, kind, name, namespace)


def test_ref_identity_ignores_version():
    pdb = "PodDisruptionBudget"
    assert ref("policy/v1beta1", pdb, "x", "ns") == ref("policy/v1", pdb, "x", "ns")
    assert ref("networking.istio.io/v1", "Gateway", "g", "ns") != ref("gateway.networking.k8s.io/v1", "Gateway", "g", "ns")


def test_ref_str_names_group_namespace_and_name():
    assert str(ref("apps/v1", "Deployment", "istiod", "istio-system")) == "Deployment.apps istio-system/istiod"
    assert str(ref("v1", "Namespace", "istio-system")) == "Namespace istio-system"


def test_ref_from_object_fills_default_namespace_and_drops_stray_one():
    assert ObjectRef.from_object(obj("v1", "ConfigMap", "c"), True, "istio-system").namespace == "istio-system"
    assert ObjectRef.from_object(obj("rbac.authorization.k8s.io/v1", "ClusterRole", "r", "ns"), False).namespace == ""


def test_ref_from_object_errors_name_the_object():
    with pytest.raises(InvalidObject, match="ConfigMap c is namespaced"):
        ObjectRef.from_object(obj("v1", "ConfigMap", "c"), True)
    with pytest.raises(InvalidObject, match="without apiVersion"):
        ObjectRef.from_object({"kind": "ConfigMap", "metadata": {"name": "c"}})


def test_ref_record_round_trip():
    original = ref("apps/v1", "Deployment", "istiod", "istio-system")
    again = ObjectRef.from_record(original.to_record())
    assert again == original and again.api_version == "apps/v1"
    assert "namespace" not in ref("v1", "Namespace", "x").to_record()


def test_builtin_scope_and_crd_scopes():
    assert builtin_scope("v1", "Namespace") is False
    assert builtin_scope("apps/v1", "Deployment") is True
    assert builtin_scope("networking.istio.io/v1", "Gateway") is None
    crd = obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "gateways.networking.istio.io",
              spec={"group": "networking.istio.io", "names": {"kind": "Gateway"}, "scope": "Namespaced"})
    cluster_crd = obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "istios.sailoperator.io",
                      spec={"group": "sailoperator.io", "names": {"kind": "Istio"}, "scope": "Cluster"})
    assert crd_scopes([crd, cluster_crd]) == {("networking.istio.io", "Gateway"): True,
                                              ("sailoperator.io", "Istio"): False}


def test_apply_order_crds_namespaces_cluster_namespaced_webhooks():
    refs = [
        ref("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "vwc"),
        ref("apps/v1", "Deployment", "istiod", "istio-system"),
        ref("networking.istio.io/v1", "Gateway", "gw", "istio-system"),
        ref("v1", "ServiceAccount", "istiod", "istio-system"),
        ref("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", "mwc"),
        ref("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "crb"),
        ref("rbac.authorization.k8s.io/v1", "ClusterRole", "cr"),
        ref("v1", "Namespace", "istio-system"),
        ref("apiextensions.k8s.io/v1", "CustomResourceDefinition", "gateways.networking.istio.io"),
        ref("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding", "vapb"),
        ref("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", "vap"),
    ]
    names = [r.name for r in sorted_for_apply(refs, lambda r: r)]
    assert names == ["gateways.networking.istio.io", "istio-system", "cr", "crb", "istiod", "istiod", "gw",
                     "vap", "vapb", "mwc", "vwc"]
    assert [r.kind for r in sorted_for_apply(refs, lambda r: r)][4:6] == ["ServiceAccount", "Deployment"]
    assert sorted_for_delete(refs, lambda r: r) == list(reversed(sorted_for_apply(refs, lambda r: r)))


def test_apply_order_is_stable_within_a_kind():
    refs = [ref("v1", "ConfigMap", name, "ns") for name in ("b", "a", "c")]
    assert [r.name for r in sorted_for_apply(refs, lambda r: r)] == ["b", "a", "c"]


def test_strip_server_fields_and_status():
    live = obj("v1", "ConfigMap", "c", "ns", data={"k": "v"}, status={"x": 1})
    live["metadata"].update(resourceVersion="5", uid="u", generation=2, creationTimestamp="t",
                            managedFields=[{"manager": "m"}], labels={"a": "b"})
    stripped = strip_server_fields(live)
    assert stripped == {"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": "v"},
                        "metadata": {"name": "c", "namespace": "ns", "labels": {"a": "b"}}}
    assert live["metadata"]["uid"] == "u", "the input is not modified"


def test_strip_ca_bundles_only_from_webhooks():
    vwc = obj("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "v",
              webhooks=[{"name": "w", "clientConfig": {"caBundle": "Zm9v", "service": {"name": "istiod"}}}])
    assert strip_ca_bundles(vwc)["webhooks"][0]["clientConfig"] == {"service": {"name": "istiod"}}
    other = obj("v1", "ConfigMap", "c", "ns", data={"caBundle": "x"})
    assert strip_ca_bundles(other)["data"] == {"caBundle": "x"}


def test_digests_ignore_key_order_and_server_fields():
    a = obj("v1", "ConfigMap", "c", "ns", data={"x": "1", "y": "2"})
    b = obj("v1", "ConfigMap", "c", "ns", data={"y": "2", "x": "1"})
    b["metadata"]["resourceVersion"] = "99"
    assert object_digest(a) == object_digest(b)
    assert stable_digest({"a": 1}) != stable_digest({"a": 2})


def test_diffs():
    r = ref("v1", "ConfigMap", "c", "ns")
    entry = diff_entry(r, None, obj("v1", "ConfigMap", "c", "ns", data={"k": "v"}))
    assert entry["before"] == {} and entry["after"]["data"] == {"k": "v"}
    assert entry["before_header"] == "ConfigMap ns/c"
    combined = combined_diff([entry])
    assert combined == {"before": {}, "after": {"ConfigMap ns/c": entry["after"]}}
    assert normalized(None) == {}


def test_copy_json_is_deep_and_equal():
    from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import copy_json
    original = {"metadata": {"labels": {"a": "1"}}, "spec": {"list": [{"x": 1}, [2, 3]], "n": None, "f": 1.5}}
    copied = copy_json(original)
    assert copied == original
    copied["metadata"]["labels"]["a"] = "2"
    copied["spec"]["list"][0]["x"] = 9
    copied["spec"]["list"][1].append(4)
    assert original == {"metadata": {"labels": {"a": "1"}}, "spec": {"list": [{"x": 1}, [2, 3]], "n": None, "f": 1.5}}
