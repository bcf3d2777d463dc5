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
