# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What istio_cacerts, istio_remote_secret and istio_gateway run: parameters in, results out.

Every result and error goes through the redaction helpers: these modules
handle CA keys, tokens and kubeconfigs that are not module parameters, so
``no_log`` alone would not hide them.
"""
from __future__ import annotations

import copy
from typing import Any, Dict, Optional, Tuple

from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import load_catalog
from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster import apiserver
from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster import cacerts
from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster import gateway
from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster import plan
from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster import remotesecret
from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster import tlscert
from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster.redact import redacted_diffs, scrub
from ansible_collections.servicemesh.istio.plugins.module_utils._runner import (
    guarded, lifecycle_options, renderer_for, require_libraries, restart_if_stale)
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import CLUSTER_ARG_SPEC, connect

STATE_ARG: Dict[str, Any] = {"type": "str", "choices": ["present", "absent"], "default": "present"}

# The cluster whose credentials istio_remote_secret exports: the usual connection options, nested.
REMOTE_CLUSTER_ARG: Dict[str, Any] = {"type": "dict", "options": copy.deepcopy(CLUSTER_ARG_SPEC)}


def exit_outcome(module: Any, outcome: lifecycle.Outcome, changed: bool = False) -> None:
    result: Dict[str, Any] = dict(outcome.facts)
    for warning in result.pop("warnings", None) or []:
        module.warn(warning)
    result["changed"] = outcome.changed or changed
    result["objects"] = outcome.objects()
    if module._diff:
        result["diff"] = redacted_diffs([item.diff() for unit in outcome.results for item in unit.objects
                                         if item.changed])
    module.exit_json(**result)


def fail(module: Any, exc: Exception) -> None:
    module.fail_json(msg=scrub(str(exc)))


# -- istio_cacerts ------------------------------------------------------------------------------------

def ca_settings(params: Dict[str, Any]) -> cacerts.CaSettings:
    return cacerts.CaSettings(key_size=params["key_size"], validity_days=params["validity_days"],
                              organization=params["organization"])


def root_from_params(params: Dict[str, Any], settings: cacerts.CaSettings,
                     check_mode: bool) -> Tuple[cacerts.KeyPair, bool]:
    """The root from variables or files (made there when asked); (root, created)."""
    if params.get("root_cert"):
        return cacerts.load_root(params["root_cert"].encode("utf-8"), params["root_key"].encode("utf-8")), False
    if params.get("root_cert_file"):
        return cacerts.root_from_files(params["root_cert_file"], params["root_key_file"], params["create_root"],
                                       settings, check_mode)
    raise cacerts.CaError("a root CA is needed: give root_cert and root_key, or root_cert_file and root_key_file "
                          "(with create_root to make a new root there)")


def _require_cryptography(module: Any) -> None:
    if cacerts.CRYPTOGRAPHY_IMPORT_ERROR:
        module.fail_json(msg="the cryptography Python package is required: %s" % cacerts.CRYPTOGRAPHY_IMPORT_ERROR)


def run_cacerts(module: Any) -> None:
    _require_cryptography(module)
    params = module.params
    options = lifecycle_options(module)
    root_created = False
    try:
        settings = ca_settings(params)
        settings.check()
        cluster = guarded(connect(params), params, cacerts.unit_key(params["namespace"], params["secret_name"]))
        if params["state"] == "absent":
            outcome = restart_if_stale(lambda: cacerts.remove_cacerts(
                cluster, params["namespace"], params["secret_name"], options))
        else:
            root, root_created = root_from_params(params, settings, module.check_mode)
            request = cacerts.CacertsRequest(
                namespace=params["namespace"], secret_name=params["secret_name"],
                cluster_name=params.get("cluster_name") or "", dns_names=params.get("dns_names"),
                replace=params["replace"], create_namespace=params["create_namespace"], settings=settings)
            outcome = restart_if_stale(lambda: cacerts.ensure_cacerts(cluster, root, request, options))
            outcome.facts["root_created"] = root_created
    except IstioError as exc:
        fail(module, exc)
    exit_outcome(module, outcome, changed=root_created)


# -- istio_remote_secret ------------------------------------------------------------------------------

def remote_secret_spec(params: Dict[str, Any]) -> remotesecret.RemoteSecretSpec:
    return remotesecret.RemoteSecretSpec(
        name=params["name"], namespace=params["namespace"], remote_namespace=params.get("remote_namespace"),
        type=params["type"], service_account=params.get("service_account"),
        create_service_account=params.get("create_service_account"), consumer=params.get("consumer") or "",
        server=params.get("server"), secret_name=params.get("secret_name"))


def run_remote_secret(module: Any) -> None:
    if remotesecret.yaml is None:
        module.fail_json(msg="the PyYAML Python package is required")
    params = module.params
    options = lifecycle_options(module)
    try:
        spec = remote_secret_spec(params)
        spec.check()
        target = guarded(connect(params), params, spec.secret_key)
        remote: Optional[Any] = None
        if params.get("remote"):
            # the reader account is shared by every consumer of the remote cluster: one run at a time there too
            remote = guarded(connect(params["remote"], params.get("request_timeout")), params, spec.reader_key)
        if params["state"] == "absent":
            outcome = restart_if_stale(lambda: remotesecret.remove_remote_secret(target, remote, spec, options))
        else:
            outcome = restart_if_stale(lambda: remotesecret.ensure_remote_secret(target, remote, spec, options))
    except IstioError as exc:
        fail(module, exc)
    exit_outcome(module, outcome)


# -- istio_gateway --------------------------------------------------------------------------------------

def _gateway(params: Dict[str, Any], request: Any, options: lifecycle.Options) -> lifecycle.Outcome:
    cluster = guarded(connect(params), params, request.key)
    if params["state"] == "absent":
        return gateway.remove_gateway(cluster, request.gateway_name, request.namespace, options)
    version, warnings = gateway.gateway_version(cluster, load_catalog(params.get("version_catalog")),
                                                params.get("version"), params.get("revision"), options.check_mode)
    outcome = gateway.install_gateway(cluster, renderer_for(params), version, request, options)
    outcome.facts.setdefault("warnings", []).extend(warnings)
    return outcome


def run_gateway(module: Any) -> None:
    require_libraries(module)
    params = module.params
    options = lifecycle_options(module)
    try:
        request = gateway.GatewayRequest.from_params(params)
        request.merged_values()  # bad values fail before anything is read or rendered
        outcome = restart_if_stale(lambda: _gateway(params, request, options))
    except IstioError as exc:
        fail(module, exc)
    exit_outcome(module, outcome)


# -- istio_cluster_address ------------------------------------------------------------------------------

def run_cluster_address(module: Any) -> None:
    params = module.params
    try:
        found = apiserver.find_server(connect(params), params.get("server") or "", params.get("cluster_name") or "")
    except IstioError as exc:
        fail(module, exc)
    module.exit_json(changed=False, **found)


# -- istio_gateway_certificate ---------------------------------------------------------------------------

def certificate_request(params: Dict[str, Any]) -> tlscert.CertificateRequest:
    return tlscert.CertificateRequest(
        name=params["name"], namespace=params["namespace"], hosts=list(params.get("hosts") or []),
        cert_pem=params.get("cert") or "", key_pem=params.get("key") or "", ca_pem=params.get("cert_ca") or "",
        replace=params["replace"], create_namespace=params["create_namespace"], settings=ca_settings(params))


def _certificate_root(params: Dict[str, Any], request: tlscert.CertificateRequest,
                      check_mode: bool) -> Tuple[Optional[cacerts.KeyPair], bool]:
    if request.cert_pem:
        return None, False
    return root_from_params(params, request.settings, check_mode)


def run_gateway_certificate(module: Any) -> None:
    _require_cryptography(module)
    params = module.params
    options = lifecycle_options(module)
    root_created = False
    try:
        request = certificate_request(params)
        request.settings.check()
        cluster = guarded(connect(params), params, request.key)
        if params["state"] == "absent":
            outcome = restart_if_stale(lambda: tlscert.remove_certificate(cluster, request.name, request.namespace,
                                                                          options))
        else:
            request.check()
            root, root_created = _certificate_root(params, request, module.check_mode)
            outcome = restart_if_stale(lambda: tlscert.ensure_certificate(cluster, root, request, options))
            outcome.facts["root_created"] = root_created
    except IstioError as exc:
        fail(module, exc)
    exit_outcome(module, outcome, changed=root_created)


# -- istio_multicluster_plan -----------------------------------------------------------------------------

def run_multicluster_plan(module: Any) -> None:
    params = module.params
    gateway_address = params.get("gateway_address")
    result: Dict[str, Any] = {"changed": False, "gateway_address": gateway_address}
    address = gateway_address or ""
    try:
        external = params.get("external_istiod")
        if external:
            address = plan.external_address(external.get("address") or "",
                                            external.get("gateway_address") or gateway_address)
            istiod = plan.ExternalIstiod(
                revision=external["revision"], namespace=external["namespace"],
                config_cluster=external["config_cluster"], config_network=external["config_network"],
                mesh_id=external["mesh_id"], address=address, tls_secret=external.get("tls_secret") or "",
                public_ca=bool(external.get("public_ca")))
            result["external_istiod"] = {"address": address, "values": plan.merged(
                plan.external_istiod_values(istiod), params.get("values") or [])}
    except IstioError as exc:
        fail(module, exc)
    result.update(istiod_address=address, remote_values=plan.remote_pilot_values(address))
    module.exit_json(**result)
