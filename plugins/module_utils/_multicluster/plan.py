# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the multicluster role installs, decided from its inputs alone (no cluster is read here).

``external_istiod_values`` are the values of the external control plane guide's external istiod:
profile ``empty`` with the config and injector volumes, ``EXTERNAL_ISTIOD``, ``CLUSTER_ID`` of the
config cluster, ``SHARED_MESH_CONFIG``, and the address remote clusters reach it at as the
discovery and CA address. Behind a TLS ingress (``tls_secret``) istiod also gets ``SSL_SECRET_NAME``,
and with a certificate from a public CA (``public_ca``) the proxies verify it against the system
roots, as the guide sets ``XDS_ROOT_CA`` and ``CA_ROOT_CA``.

``remote_pilot_values`` are what the remote profile of the clusters an istiod serves (a primary's
or the external one) is told of it: the address they reach it at.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from ansible_collections.servicemesh.istio.plugins.module_utils import _istiovalues as istiovalues
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError

SYSTEM_ROOTS = "/etc/ssl/certs/ca-certificates.crt"
XDS_PORT = 15012


class PlanError(IstioError):
    """Inputs the multicluster role cannot build a mesh from."""


@dataclass(frozen=True)
class ExternalIstiod:
    """The external istiod: where it runs, the config cluster it serves and how remote clusters reach it."""

    revision: str
    namespace: str
    config_cluster: str
    config_network: str
    mesh_id: str
    address: str
    tls_secret: str = ""
    public_ca: bool = False


def external_address(given: str, gateway_address: Optional[str]) -> str:
    """The address remote clusters reach the external istiod at: the one given (a host name, as the guide's
    EXTERNAL_ISTIOD_ADDR), else the ingress gateway's load balancer address (empty before it has one)."""
    return given or gateway_address or ""


def remote_pilot_values(address: str) -> Dict[str, Any]:
    """What the remote profile of the clusters an istiod serves is told of it: the address they reach it at
    (``remotePilotAddress``), once it is known."""
    return {"global": {"remotePilotAddress": address}} if address else {}


def external_istiod_values(istiod: ExternalIstiod) -> Dict[str, Any]:
    suffix = "%s-%s" % (istiod.revision, istiod.namespace)
    env = {"INJECTION_WEBHOOK_CONFIG_NAME": "istio-sidecar-injector-" + suffix,
           "VALIDATION_WEBHOOK_CONFIG_NAME": "istio-validator-" + suffix,
           "EXTERNAL_ISTIOD": "true", "LOCAL_CLUSTER_SECRET_WATCHER": "true",
           "CLUSTER_ID": istiod.config_cluster, "SHARED_MESH_CONFIG": "istio"}
    if istiod.tls_secret:
        env["SSL_SECRET_NAME"] = istiod.tls_secret
    default_config: Dict[str, Any] = {"discoveryAddress": "%s:%d" % (istiod.address, XDS_PORT)}
    if istiod.tls_secret and istiod.public_ca:
        default_config["proxyMetadata"] = {"XDS_ROOT_CA": SYSTEM_ROOTS, "CA_ROOT_CA": SYSTEM_ROOTS}
    return {
        "meshConfig": {"rootNamespace": istiod.namespace, "defaultConfig": default_config},
        "pilot": {
            "enabled": True,
            "volumes": [{"name": "config-volume", "configMap": {"name": "istio-" + istiod.revision}},
                        {"name": "inject-volume", "configMap": {"name": "istio-sidecar-injector-" + istiod.revision}}],
            "volumeMounts": [{"name": "config-volume", "mountPath": "/etc/istio/config"},
                             {"name": "inject-volume", "mountPath": "/var/lib/istio/inject"}],
            "env": env},
        "global": {"caAddress": "%s:%d" % (istiod.address, XDS_PORT), "operatorManageWebhooks": True,
                   "configValidation": False, "meshID": istiod.mesh_id,
                   "multiCluster": {"clusterName": istiod.config_cluster}, "network": istiod.config_network}}


def merged(base: Dict[str, Any], layers: List[Optional[Dict[str, Any]]]) -> Dict[str, Any]:
    """``base`` with each layer merged over it in turn (maps merge, lists replace), as the role's values."""
    result = base
    for layer in layers:
        if layer:
            istiovalues.check_value_types(layer)
            result = istiovalues.deep_merge(result, layer)
    return result
