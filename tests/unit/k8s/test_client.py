# -*- coding: utf-8 -*-
from __future__ import annotations

import json

import pytest
import urllib3
from kubernetes.client.exceptions import ApiException

from ansible_collections.servicemesh.istio.plugins.module_utils.k8s import _client
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import (
    CONNECTION_ARG_SPEC, Cluster, RetryPolicy, api_error, connect)
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._errors import (
    ApiError, ClusterUnreachable, ConflictError, K8sError)


def api_exception(status, body=None, headers=None, reason="Reason"):
    exc = ApiException(status=status, reason=reason)
    exc.body = json.dumps(body) if body is not None else None
    exc.headers = headers or {}
    return exc


def test_connection_arg_spec_is_kubernetes_core():
    assert {"kubeconfig", "context", "host", "api_key", "validate_certs", "ca_cert", "client_cert",
            "client_key", "proxy", "no_proxy", "proxy_headers", "persist_config", "impersonate_user",
            "impersonate_groups"} <= set(CONNECTION_ARG_SPEC)


def test_conflict_error_names_object_fields_and_managers():
    status = {"kind": "Status", "reason": "Conflict", "message": "Apply failed with 1 conflict", "details": {
        "causes": [{"reason": "FieldManagerConflict", "message": 'conflict with "kubectl-edit" using v1',
                    "field": ".data.mesh"}]}}
    error = api_error("apply ConfigMap istio-system/istio", api_exception(409, status))
    assert isinstance(error, ConflictError)
    assert error.conflicts == [("kubectl-edit", ".data.mesh")]
    assert str(error).startswith("apply ConfigMap istio-system/istio: conflict with other field managers "
                                 "on .data.mesh (owned by kubectl-edit)")
    assert "force_conflicts" in str(error)


def test_other_errors_carry_the_status_message():
    status = {"kind": "Status", "reason": "Invalid", "message": 'ConfigMap "x" is invalid: data: bad'}
    error = api_error("apply ConfigMap ns/x", api_exception(422, status))
    assert error.__class__ is ApiError and error.status == 422
    assert str(error) == 'apply ConfigMap ns/x: ConfigMap "x" is invalid: data: bad (HTTP 422 Invalid)'


class Sender:
    def __init__(self, *outcomes):
        self.outcomes = list(outcomes)
        self.calls = 0

    def __call__(self):
        self.calls += 1
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def quiet_cluster(attempts=4):
    sleeps = []
    return Cluster(client=None, host="https://k8s.example:6443",
                   retry=RetryPolicy(attempts=attempts, base_delay=1, max_delay=3, sleep=sleeps.append)), sleeps


def test_retries_throttling_server_errors_and_resets():
    cluster, sleeps = quiet_cluster()
    send = Sender(api_exception(429, headers={"Retry-After": "7"}), api_exception(503),
                  urllib3.exceptions.ProtocolError("Connection aborted", ConnectionResetError()), "ok")
    assert cluster._call("get x", send) == "ok"
    assert sleeps == [7.0, 2, 3]


def test_retries_give_up_with_the_status_message():
    cluster, sleeps = quiet_cluster(attempts=2)
    send = Sender(api_exception(500, {"message": "etcd down"}), api_exception(500, {"message": "etcd down"}))
    with pytest.raises(ApiError, match="get x: etcd down"):
        cluster._call("get x", send)
    assert send.calls == 2


def test_client_errors_are_not_retried():
    cluster, _unused = quiet_cluster()
    send = Sender(api_exception(403, {"message": "forbidden"}))
    with pytest.raises(ApiError, match="forbidden"):
        cluster._call("get x", send)
    assert send.calls == 1


def test_unreachable_names_the_host():
    cluster, _unused = quiet_cluster(attempts=1)
    send = Sender(urllib3.exceptions.MaxRetryError(None, "/version", urllib3.exceptions.NewConnectionError(
        None, "Connection refused")))
    with pytest.raises(ClusterUnreachable, match="https://k8s.example:6443"):
        cluster._call("get x", send)


def test_get_api_client_does_not_see_or_leak_the_default_configuration(monkeypatch):
    import kubernetes
    seen = []
    monkeypatch.setattr(_client, "get_api_client", lambda module=None, **auth: seen.append(
        kubernetes.client.Configuration._default) or "client")
    marker = kubernetes.client.Configuration(host="https://first")
    monkeypatch.setattr(kubernetes.client.Configuration, "_default", marker)
    assert _client._get_api_client_isolated({"host": "https://second"}) == "client"
    assert seen == [None]
    assert kubernetes.client.Configuration._default is marker


def test_connect_to_nothing_names_the_host(tmp_path):
    with pytest.raises(ClusterUnreachable, match="127.0.0.1:9"):
        cluster = connect({"host": "http://127.0.0.1:9", "api_key": "x"},
                          retry=RetryPolicy(attempts=1, sleep=lambda s: None))
        cluster.list("v1", "ConfigMap")


def test_a_request_timeout_must_be_positive():
    with pytest.raises(K8sError, match="request_timeout must be a positive number of seconds, not -1"):
        connect({"host": "https://127.0.0.1:9", "api_key": "x", "request_timeout": -1})


def test_the_request_timeout_is_a_module_option_but_not_a_nested_cluster_option():
    from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import CLUSTER_ARG_SPEC
    assert CONNECTION_ARG_SPEC["request_timeout"] == {"type": "float", "default": 30.0}
    assert "request_timeout" not in CLUSTER_ARG_SPEC and set(CLUSTER_ARG_SPEC) < set(CONNECTION_ARG_SPEC)


class FakeResources:
    """The dynamic client's discovery: serves ``kinds``, counts lookups and cache invalidations."""

    def __init__(self, kinds):
        self.kinds = set(kinds)
        self.lookups = []
        self.invalidated = 0

    def get(self, api_version, kind, prefix=None):
        from kubernetes.dynamic.exceptions import ResourceNotFoundError
        self.lookups.append((api_version, kind))
        if (api_version, kind) not in self.kinds:
            raise ResourceNotFoundError("no %s" % kind)
        return object()

    def invalidate_cache(self):
        self.invalidated += 1
        self.lookups = []


def test_a_refresh_of_discovery_looks_up_again_the_kinds_the_run_used_but_not_those_gone():
    resources = FakeResources({("v1", "ConfigMap"), ("apps/v1", "Deployment"), ("example.io/v1", "Widget")})
    cluster = Cluster(type("Client", (), {"resources": resources})(), "https://fake:6443")
    for kind in (("v1", "ConfigMap"), ("apps/v1", "Deployment"), ("example.io/v1", "Widget")):
        cluster.resource(*kind)
    assert not cluster.is_served("example.io/v1", "Gadget")
    resources.kinds.discard(("example.io/v1", "Widget"))  # its CRD deleted meanwhile
    cluster.refresh_discovery()
    assert resources.invalidated == 1
    assert resources.lookups == [("v1", "ConfigMap"), ("apps/v1", "Deployment"), ("example.io/v1", "Widget")]
    cluster.refresh_discovery()
    assert resources.lookups == [("v1", "ConfigMap"), ("apps/v1", "Deployment")], "the gone kind is dropped"
