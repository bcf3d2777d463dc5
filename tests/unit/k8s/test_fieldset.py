# -*- coding: utf-8 -*-
from __future__ import annotations

import copy

from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._fieldset import (
    apply_is_noop, list_key, owned_fields, owns_path)

MANAGER = "servicemesh.istio"

DESIRED = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "istiod", "namespace": "istio-system", "labels": {"app": "istiod"}},
    "spec": {
        "selector": {"matchLabels": {"app": "istiod"}},
        "template": {"spec": {
            "containers": [{"name": "discovery", "image": "pilot:1",
                            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                            "args": ["discovery", "--monitoringAddr=:15014"]}],
            "volumes": [{"name": "config", "emptyDir": {}}],
        }},
    },
}
FIELDS = {
    "f:metadata": {"f:labels": {"f:app": {}}},
    "f:spec": {
        "f:selector": {},
        "f:template": {"f:spec": {
            "f:containers": {list_key(name="discovery"): {
                ".": {}, "f:name": {}, "f:image": {}, "f:args": {},
                "f:ports": {list_key(containerPort=8080, protocol="TCP"): {
                    ".": {}, "f:containerPort": {}, "f:protocol": {}}},
            }},
            "f:volumes": {list_key(name="config"): {".": {}, "f:name": {}, "f:emptyDir": {}}},
        }},
    },
}


def live_from(desired, fields=None, manager=MANAGER, api_version="apps/v1", **extra_spec):
    fields = FIELDS if fields is None else fields
    live = copy.deepcopy(desired)
    live["metadata"].update(uid="u", resourceVersion="7", managedFields=[
        {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "apps/v1",
         "subresource": "status", "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {}}},
        {"manager": manager, "operation": "Apply", "apiVersion": api_version,
         "fieldsType": "FieldsV1", "fieldsV1": fields},
    ])
    live["spec"].update(extra_spec)  # fields defaulted by the server
    live["status"] = {"replicas": 1}
    return live


def test_owned_fields_picks_our_apply_entry():
    live = live_from(DESIRED)
    assert owned_fields(live, MANAGER) == FIELDS
    assert owned_fields(live, "someone-else") is None
    assert owned_fields(live, MANAGER, "apps/v1beta1") is None
    assert owns_path(FIELDS, ["f:spec", "f:template"])
    assert not owns_path(FIELDS, ["f:spec", "f:replicas"])


def test_noop_when_we_own_exactly_the_desired_fields_with_desired_values():
    assert apply_is_noop(DESIRED, live_from(DESIRED, replicas=1, strategy={"type": "RollingUpdate"}), MANAGER)


def test_not_noop_without_our_entry_or_live_object():
    assert not apply_is_noop(DESIRED, None, MANAGER)
    assert not apply_is_noop(DESIRED, live_from(DESIRED, manager="helm"), MANAGER)


def test_not_noop_when_a_value_changed():
    changed = copy.deepcopy(DESIRED)
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "pilot:2"
    assert not apply_is_noop(changed, live_from(DESIRED), MANAGER)


def test_not_noop_when_a_field_was_dropped_from_the_desired_object():
    dropped = copy.deepcopy(DESIRED)
    del dropped["metadata"]["labels"]
    assert not apply_is_noop(dropped, live_from(DESIRED), MANAGER)


def test_not_noop_when_a_field_is_added():
    added = copy.deepcopy(DESIRED)
    added["spec"]["replicas"] = 1
    assert not apply_is_noop(added, live_from(DESIRED, replicas=1), MANAGER)


def test_not_noop_when_someone_else_changed_an_owned_value():
    live = live_from(DESIRED)
    live["spec"]["template"]["spec"]["containers"][0]["args"] = ["discovery"]
    assert not apply_is_noop(DESIRED, live, MANAGER)


def test_not_noop_when_list_items_are_reordered():
    two = copy.deepcopy(DESIRED)
    two["spec"]["template"]["spec"]["volumes"].append({"name": "other", "emptyDir": {}})
    fields = copy.deepcopy(FIELDS)
    fields["f:spec"]["f:template"]["f:spec"]["f:volumes"][list_key(name="other")] = {
        ".": {}, "f:name": {}, "f:emptyDir": {}}
    live = live_from(two, fields)
    assert apply_is_noop(two, live, MANAGER)
    live["spec"]["template"]["spec"]["volumes"].reverse()
    assert not apply_is_noop(two, live, MANAGER)


def test_items_added_by_others_in_associative_lists_are_fine():
    live = live_from(DESIRED)
    live["spec"]["template"]["spec"]["volumes"].insert(0, {"name": "injected", "emptyDir": {}})
    assert apply_is_noop(DESIRED, live, MANAGER)


def test_defaulted_key_field_matches_its_default():
    # we leave protocol out; the server records the item key with protocol TCP
    desired = copy.deepcopy(DESIRED)
    del desired["spec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"]
    fields = copy.deepcopy(FIELDS)
    port = fields["f:spec"]["f:template"]["f:spec"]["f:containers"][list_key(name="discovery")]["f:ports"]
    port[list_key(containerPort=8080, protocol="TCP")] = {".": {}, "f:containerPort": {}}
    assert apply_is_noop(desired, live_from(DESIRED, fields), MANAGER)
    udp = copy.deepcopy(DESIRED)
    udp["spec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"] = "UDP"
    assert not apply_is_noop(udp, live_from(DESIRED), MANAGER)


def test_name_only_objects():
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}}
    live = copy.deepcopy(namespace)
    live["metadata"]["labels"] = {"kubernetes.io/metadata.name": "istio-system"}
    assert apply_is_noop(namespace, live, MANAGER)
    live["metadata"]["managedFields"] = [{"manager": MANAGER, "operation": "Apply", "apiVersion": "v1",
                                          "fieldsV1": {"f:metadata": {"f:labels": {"f:team": {}}}}}]
    assert not apply_is_noop(namespace, live, MANAGER)


def test_scalar_types_must_match():
    desired = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"},
               "data": {"a": "1"}, "binaryData": None}
    live = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "1"},
            "metadata": {"name": "c", "namespace": "n", "managedFields": [
                {"manager": MANAGER, "operation": "Apply", "apiVersion": "v1",
                 "fieldsV1": {"f:data": {"f:a": {}}}}]}}
    del desired["binaryData"]
    assert apply_is_noop(desired, live, MANAGER)
    live["data"]["a"] = 1
    assert not apply_is_noop(desired, live, MANAGER)


def test_set_lists():
    desired = {"apiVersion": "v1", "kind": "X", "metadata": {"name": "x"}, "spec": {"finalizers": ["a", "b"]}}
    fields = {"f:spec": {"f:finalizers": {".": {}, 'v:"a"': {}, 'v:"b"': {}}}}
    live = copy.deepcopy(desired)
    live["metadata"]["managedFields"] = [{"manager": MANAGER, "operation": "Apply", "apiVersion": "v1",
                                          "fieldsV1": fields}]
    assert apply_is_noop(desired, live, MANAGER)
    live["spec"]["finalizers"] = ["b", "a"]
    assert not apply_is_noop(desired, live, MANAGER)
