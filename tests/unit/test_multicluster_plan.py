# -*- coding: utf-8 -*-
"""The multicluster role's decisions: the external istiod's values, plain and behind a TLS ingress."""
from __future__ import annotations

import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils._istiovalues import ValuesError
from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster import plan


def istiod(**kwargs):
    base = {"revision": "external-istiod", "namespace": "external-istiod", "config_cluster": "cluster2",
            "config_network": "network1", "mesh_id": "mesh1", "address": "10.0.0.9"}
    base.update(kwargs)
    return plan.ExternalIstiod(**base)


def test_the_guides_external_istiod():
    values = plan.external_istiod_values(istiod())
    env = values["pilot"]["env"]
    assert env == {"INJECTION_WEBHOOK_CONFIG_NAME": "istio-sidecar-injector-external-istiod-external-istiod",
                   "VALIDATION_WEBHOOK_CONFIG_NAME": "istio-validator-external-istiod-external-istiod",
                   "EXTERNAL_ISTIOD": "true", "LOCAL_CLUSTER_SECRET_WATCHER": "true", "CLUSTER_ID": "cluster2",
                   "SHARED_MESH_CONFIG": "istio"}
    assert values["meshConfig"] == {"rootNamespace": "external-istiod",
                                    "defaultConfig": {"discoveryAddress": "10.0.0.9:15012"}}
    assert values["global"]["caAddress"] == "10.0.0.9:15012" and values["global"]["operatorManageWebhooks"] is True
    assert values["global"]["multiCluster"] == {"clusterName": "cluster2"} and values["global"]["network"] == "network1"
    assert [v["configMap"]["name"] for v in values["pilot"]["volumes"]] == \
        ["istio-external-istiod", "istio-sidecar-injector-external-istiod"]


def test_behind_tls_istiod_gets_the_secret_name_and_public_certificates_the_system_roots():
    mesh_root = plan.external_istiod_values(istiod(address="istiod.example.com", tls_secret="external-istiod-tls"))
    assert mesh_root["pilot"]["env"]["SSL_SECRET_NAME"] == "external-istiod-tls"
    assert "proxyMetadata" not in mesh_root["meshConfig"]["defaultConfig"]
    assert mesh_root["global"]["caAddress"] == "istiod.example.com:15012"
    public = plan.external_istiod_values(istiod(tls_secret="s", public_ca=True))
    assert public["meshConfig"]["defaultConfig"]["proxyMetadata"] == {"XDS_ROOT_CA": plan.SYSTEM_ROOTS,
                                                                      "CA_ROOT_CA": plan.SYSTEM_ROOTS}
    # public_ca means nothing without TLS at the gateway
    assert "proxyMetadata" not in plan.external_istiod_values(istiod(public_ca=True))["meshConfig"]["defaultConfig"]


@pytest.mark.parametrize("given, gateway, address", [("istiod.example.com", "10.0.0.9", "istiod.example.com"),
                                                     ("", "10.0.0.9", "10.0.0.9"), ("", None, "")])
def test_the_address_given_wins_over_the_gateways(given, gateway, address):
    assert plan.external_address(given, gateway) == address


def test_user_values_merge_over_in_order_and_are_checked():
    values = plan.merged(plan.external_istiod_values(istiod()),
                         [{"pilot": {"env": {"CLUSTER_ID": "x"}}}, {}, {"pilot": {"env": {"CLUSTER_ID": "y", "A": "1"}}}])
    assert values["pilot"]["env"]["CLUSTER_ID"] == "y" and values["pilot"]["env"]["A"] == "1"
    assert values["pilot"]["env"]["EXTERNAL_ISTIOD"] == "true"
    with pytest.raises(ValuesError):
        plan.merged({}, [{"pilot": "not a map"}])


@pytest.mark.parametrize("address, values", [("10.0.0.9", {"global": {"remotePilotAddress": "10.0.0.9"}}),
                                             ("", {}), (None, {})])
def test_remote_clusters_are_told_the_istiod_address_once_known(address, values):
    assert plan.remote_pilot_values(address) == values


class FakeModule:
    def __init__(self, **params):
        self.params = dict({"external_istiod": None, "gateway_address": None, "values": []}, **params)
        self.result = None

    def exit_json(self, **result):
        self.result = result

    def fail_json(self, **result):
        raise AssertionError(result)


def run_plan(**params):
    from ansible_collections.servicemesh.istio.plugins.module_utils._runners.multicluster import run_multicluster_plan
    module = FakeModule(**params)
    run_multicluster_plan(module)
    return module.result


def external(**kwargs):
    base = {"revision": "external-istiod", "namespace": "external-istiod", "config_cluster": "cluster2",
            "config_network": "network1", "mesh_id": "mesh1", "address": "", "gateway_address": None,
            "tls_secret": "", "public_ca": False}
    base.update(kwargs)
    return base


def test_a_primary_tells_its_remotes_its_gateways_address():
    result = run_plan(gateway_address="10.0.0.7")
    assert result == {"changed": False, "gateway_address": "10.0.0.7", "istiod_address": "10.0.0.7",
                      "remote_values": {"global": {"remotePilotAddress": "10.0.0.7"}}}
    assert run_plan()["remote_values"] == {} and run_plan()["istiod_address"] == ""


def test_the_external_istiod_is_reached_at_the_address_given_else_its_gateways():
    given = run_plan(external_istiod=external(address="istiod.example.com"), gateway_address="10.0.0.9")
    assert given["istiod_address"] == given["external_istiod"]["address"] == "istiod.example.com"
    assert given["gateway_address"] == "10.0.0.9"
    assert given["remote_values"] == {"global": {"remotePilotAddress": "istiod.example.com"}}
    gateway = run_plan(external_istiod=external(), gateway_address="10.0.0.9")
    assert gateway["istiod_address"] == "10.0.0.9"
    assert gateway["external_istiod"]["values"]["global"]["caAddress"] == "10.0.0.9:15012"
    # the sub-option, as before, wins over the top-level address
    assert run_plan(external_istiod=external(gateway_address="10.0.0.1"),
                    gateway_address="10.0.0.9")["istiod_address"] == "10.0.0.1"
    # in check mode from nothing the gateway has no address yet
    assert run_plan(external_istiod=external())["remote_values"] == {}
