# -*- coding: utf-8 -*-
"""Duplicate keys in keyed lists: env collapses (later wins), the other lists refuse differing repeats."""
from __future__ import annotations

import copy

import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._duplicates import (
    ENV, collapse_duplicates, collapse_entries)
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._errors import InvalidObject


def deployment(pod_spec, kind="Deployment", api_version="apps/v1"):
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": "istiod", "namespace": "istio-system"},
            "spec": {"template": {"spec": pod_spec}}}


def discovery(**fields):
    return dict({"name": "discovery", "image": "pilot"}, **fields)


def pod_spec_of(obj):
    return obj["spec"]["template"]["spec"]


def test_env_later_entry_wins_at_the_first_position():
    env = [{"name": "PILOT_TRACE_SAMPLING", "value": "50"}, {"name": "CLUSTER_ID", "value": "Kubernetes"},
           {"name": "PILOT_TRACE_SAMPLING", "value": "1"}, {"name": "PLATFORM", "value": ""}]
    assert collapse_entries(env, ENV) == [{"name": "PILOT_TRACE_SAMPLING", "value": "1"},
                                          {"name": "CLUSTER_ID", "value": "Kubernetes"},
                                          {"name": "PLATFORM", "value": ""}]


def test_env_later_entry_replaces_the_whole_entry():
    env = [{"name": "A", "value": "x"}, {"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
           {"name": "B", "value": "1"}, {"name": "A", "value": "z"}]
    assert collapse_entries(env, ENV) == [{"name": "A", "value": "z"}, {"name": "B", "value": "1"}]


def test_env_is_collapsed_in_every_container_list():
    env = [{"name": "X", "value": "1"}, {"name": "X", "value": "2"}]
    spec = {"initContainers": [discovery(name="init", env=env)], "containers": [discovery(env=env)],
            "ephemeralContainers": [discovery(name="debug", env=env)]}
    result = pod_spec_of(collapse_duplicates(deployment(spec)))
    for list_name in ("initContainers", "containers", "ephemeralContainers"):
        assert result[list_name][0]["env"] == [{"name": "X", "value": "2"}]


@pytest.mark.parametrize("api_version, kind", [
    ("apps/v1", "DaemonSet"), ("apps/v1", "StatefulSet"), ("apps/v1", "ReplicaSet"), ("batch/v1", "Job"),
    ("v1", "ReplicationController")])
def test_every_workload_with_a_pod_template(api_version, kind):
    spec = {"containers": [discovery(env=[{"name": "X", "value": "1"}, {"name": "X", "value": "2"}])]}
    result = collapse_duplicates(deployment(spec, kind, api_version))
    assert pod_spec_of(result)["containers"][0]["env"] == [{"name": "X", "value": "2"}]


def test_pods_and_cron_jobs():
    env = [{"name": "X", "value": "1"}, {"name": "X", "value": "2"}]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [discovery(env=env)]}}
    assert collapse_duplicates(pod)["spec"]["containers"][0]["env"] == [{"name": "X", "value": "2"}]
    cron = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
            "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [discovery(env=env)]}}}}}}
    containers = collapse_duplicates(cron)["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert containers[0]["env"] == [{"name": "X", "value": "2"}]


def test_input_is_not_modified_and_other_objects_come_back_as_they_are():
    obj = deployment({"containers": [discovery(env=[{"name": "X", "value": "1"}, {"name": "X", "value": "2"}])]})
    before = copy.deepcopy(obj)
    collapse_duplicates(obj)
    assert obj == before
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "istio"}, "data": {"a": "b"}}
    assert collapse_duplicates(config_map) is config_map


def test_custom_resources_keep_their_own_list_semantics():
    custom = deployment({"containers": [discovery(env=[{"name": "X", "value": "1"}, {"name": "X", "value": "2"}])]},
                        kind="Deployment", api_version="example.com/v1")
    assert collapse_duplicates(custom) is custom


def test_identical_repeats_are_dropped_in_the_other_lists():
    port = {"name": "grpc-xds", "containerPort": 15010, "protocol": "TCP"}
    mount = {"name": "cacerts", "mountPath": "/etc/cacerts", "readOnly": True}
    volume = {"name": "cacerts", "secret": {"secretName": "cacerts", "optional": True}}
    spec = {"containers": [discovery(ports=[port, dict(port)], volumeMounts=[mount, dict(mount)])],
            "volumes": [volume, copy.deepcopy(volume)]}
    result = pod_spec_of(collapse_duplicates(deployment(spec)))
    assert result["containers"][0]["ports"] == [port]
    assert result["containers"][0]["volumeMounts"] == [mount]
    assert result["volumes"] == [volume]


@pytest.mark.parametrize("spec, message", [
    ({"containers": [discovery(ports=[{"name": "grpc-xds", "containerPort": 15010},
                                      {"name": "grpc", "containerPort": 15010, "protocol": "TCP"}])]},
     r"spec\.template\.spec\.containers\[discovery\]\.ports has two different entries for containerPort=15010, "
     r"protocol=TCP"),
    ({"initContainers": [discovery(name="init", volumeMounts=[{"name": "a", "mountPath": "/etc/x"},
                                                              {"name": "b", "mountPath": "/etc/x"}])]},
     r"spec\.template\.spec\.initContainers\[init\]\.volumeMounts has two different entries for mountPath=/etc/x"),
    ({"volumes": [{"name": "cacerts", "secret": {"secretName": "cacerts"}},
                  {"name": "cacerts", "configMap": {"name": "cacerts"}}]},
     r"spec\.template\.spec\.volumes has two different entries for name=cacerts"),
])
def test_differing_repeats_are_refused_naming_the_object_and_key(spec, message):
    with pytest.raises(InvalidObject, match=r"^Deployment istio-system/istiod: " + message):
        collapse_duplicates(deployment(spec))


def test_same_port_with_another_protocol_is_another_key():
    ports = [{"name": "dns", "containerPort": 53}, {"name": "dns-udp", "containerPort": 53, "protocol": "UDP"}]
    result = collapse_duplicates(deployment({"containers": [discovery(ports=ports)]}))
    assert pod_spec_of(result)["containers"][0]["ports"] == ports


def test_service_ports():
    def service(ports):
        return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "istiod", "namespace": "istio-system"},
                "spec": {"ports": ports}}

    xds = {"name": "grpc-xds", "port": 15010, "protocol": "TCP"}
    dns = {"name": "dns", "port": 53, "protocol": "UDP"}
    assert collapse_duplicates(service([xds, dict(xds), dns]))["spec"]["ports"] == [xds, dns]
    with pytest.raises(InvalidObject, match=r"^Service istio-system/istiod: spec\.ports has two different entries "
                                            r"for port=15010, protocol=TCP"):
        collapse_duplicates(service([xds, {"name": "xds", "port": 15010}]))


def test_entries_without_a_usable_key_are_left_for_the_api_server():
    env = [{"value": "no name"}, {"value": "no name"}, "junk", {"name": ["not", "scalar"]}]
    assert collapse_entries(env, ENV) == env
