# -*- coding: utf-8 -*-
"""Remote secrets: the reader identity and token on the remote cluster, the kubeconfig Secret on the other."""
from __future__ import annotations

import base64

import pytest
import yaml

from ansible_collections.servicemesh.istio.plugins.module_utils._lifecycle import LifecycleError, Options
from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster import remotesecret as rs
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef
from tests.unit.k8s.fake_cluster import FakeCluster


class TokenCluster(FakeCluster):
    """Fills service-account token Secrets the way the token controller does."""

    host = "https://remote.example:6443"

    def __init__(self, fill=True):
        super().__init__()
        self.fill = fill
        self.issued = 0
        for ns in ("istio-system", "external-istiod"):
            self.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})

    def apply(self, body, field_manager, force=False, dry_run=False):
        stored = super().apply(body, field_manager, force, dry_run)
        if self.fill and not dry_run and body.get("type") == rs.TOKEN_SECRET_TYPE:
            self.issued += 1
            ref = ObjectRef.from_object(body)
            token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0b2tlbi0lZCJ9.c2lnbmF0dXJl-%d" % self.issued
            self.store[ref]["data"] = {"token": base64.b64encode(token.encode()).decode(),
                                       "ca.crt": base64.b64encode(b"-----BEGIN CERTIFICATE-----\nQ0E=\n"
                                                                  b"-----END CERTIFICATE-----\n").decode()}
        return stored


def secret_of(cluster, name="istio-remote-secret-cluster2", namespace="istio-system"):
    return cluster.get(ObjectRef.of("v1", "Secret", name, namespace))


def kubeconfig_of(secret, key="cluster2"):
    return yaml.safe_load(base64.b64decode(secret["data"][key]))


def spec(**kwargs):
    kwargs.setdefault("name", "cluster2")
    kwargs.setdefault("consumer", "cluster1")
    return rs.RemoteSecretSpec(**kwargs)


@pytest.fixture
def clusters():
    return TokenCluster(), TokenCluster()  # (primary, remote)


def test_remote_secret_like_istioctl(clusters):
    primary, remote = clusters
    outcome = rs.ensure_remote_secret(primary, remote, spec(), Options())
    assert outcome.changed
    secret = secret_of(primary)
    assert secret["metadata"]["labels"][rs.MULTICLUSTER_LABEL] == "true"
    assert secret["metadata"]["annotations"][rs.CLUSTER_ANNOTATION] == "cluster2"
    config = kubeconfig_of(secret)
    assert config["current-context"] == "cluster2"
    assert config["clusters"][0]["cluster"]["server"] == "https://remote.example:6443"
    assert config["users"][0]["user"]["token"].endswith("-1")
    assert config["clusters"][0]["cluster"]["certificate-authority-data"]
    # the reader identity and its RBAC on the remote cluster
    assert remote.get(ObjectRef.of("v1", "ServiceAccount", rs.READER_SERVICE_ACCOUNT, "istio-system"))
    binding = remote.get(ObjectRef.of("rbac.authorization.k8s.io/v1", "ClusterRoleBinding",
                                      "servicemesh-istio-reader-istio-system"))
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": rs.READER_SERVICE_ACCOUNT,
                                    "namespace": "istio-system"}]
    token = remote.get(ObjectRef.of("v1", "Secret", "istio-reader-service-account-remote-secret-cluster1",
                                    "istio-system"))
    assert token["type"] == rs.TOKEN_SECRET_TYPE
    assert outcome.facts["token_issued"] and "token" not in repr(outcome.facts).replace("token_", "")


def test_second_run_writes_nothing(clusters):
    primary, remote = clusters
    rs.ensure_remote_secret(primary, remote, spec(), Options())
    primary.reset_calls()
    remote.reset_calls()
    outcome = rs.ensure_remote_secret(primary, remote, spec(), Options())
    assert not outcome.changed
    assert primary.writes() == [] and remote.writes() == []


def test_server_override_and_config_type(clusters):
    external, config = clusters
    config.put({"apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": "istiod-external-istiod", "namespace": "external-istiod"}})
    request = spec(type="config", namespace="external-istiod", service_account="istiod-external-istiod",
                   server="https://172.18.0.3:6443")
    outcome = rs.ensure_remote_secret(external, config, request, Options())
    secret = secret_of(external, "istio-kubeconfig", "external-istiod")
    kubeconfig = kubeconfig_of(secret, "config")
    assert kubeconfig["clusters"][0]["cluster"]["server"] == "https://172.18.0.3:6443"
    assert outcome.facts["service_account"] == "external-istiod/istiod-external-istiod"
    # istiod's own account and RBAC come from the chart: nothing of ours but the token
    assert config.get(ObjectRef.of("rbac.authorization.k8s.io/v1", "ClusterRole",
                                   "servicemesh-istio-reader-external-istiod")) is None


def test_config_type_needs_istiods_account(clusters):
    external, config = clusters
    with pytest.raises(rs.RemoteSecretError, match="does not exist on the remote cluster cluster2"):
        rs.ensure_remote_secret(external, config, spec(type="config", namespace="external-istiod"), Options())
    assert external.writes() == [] and config.writes() == []


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "Cluster_2"}, "cluster name"),
    ({"type": "local"}, "type must be"),
    ({"server": "10.0.0.1:6443"}, "must be a URL"),
    ({"type": "config", "create_service_account": True}, "create_service_account is for type remote"),
    ({"namespace": "Istio"}, "namespace"),
])
def test_bad_input_fails_before_any_write(clusters, kwargs, message):
    primary, remote = clusters
    with pytest.raises(rs.RemoteSecretError, match=message):
        rs.ensure_remote_secret(primary, remote, spec(**kwargs), Options())
    assert primary.writes() == [] and remote.writes() == []


def test_missing_namespace_on_either_side(clusters):
    primary, remote = clusters
    with pytest.raises(LifecycleError, match="doesn't exist"):
        rs.ensure_remote_secret(primary, remote, spec(namespace="nowhere"), Options())
    with pytest.raises(rs.RemoteSecretError, match="on the remote cluster cluster2"):
        rs.ensure_remote_secret(primary, remote, spec(remote_namespace="nowhere"), Options())


def test_check_mode_predicts_without_writes(clusters):
    primary, remote = clusters
    outcome = rs.ensure_remote_secret(primary, remote, spec(), Options(check_mode=True))
    assert outcome.changed and not outcome.facts["token_issued"]
    assert primary.writes() == [] and remote.writes() == []


def test_existing_reader_account_is_adopted_not_deleted(clusters):
    primary, remote = clusters
    account = ObjectRef.of("v1", "ServiceAccount", rs.READER_SERVICE_ACCOUNT, "istio-system")
    remote.put({"apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": rs.READER_SERVICE_ACCOUNT, "namespace": "istio-system",
                             "labels": {"app": "istio-reader"}}}, manager="servicemesh.istio")
    rs.ensure_remote_secret(primary, remote, spec(), Options())
    rs.remove_remote_secret(primary, remote, spec(), Options())
    assert remote.get(account) is not None
    assert remote.get(ObjectRef.of("rbac.authorization.k8s.io/v1", "ClusterRole",
                                   "servicemesh-istio-reader-istio-system")) is None


def test_tokens_per_consumer_and_shared_reader(clusters):
    primary, remote = clusters
    third = TokenCluster()
    rs.ensure_remote_secret(primary, remote, spec(consumer="cluster1"), Options())
    rs.ensure_remote_secret(third, remote, spec(consumer="cluster3"), Options())
    token1 = kubeconfig_of(secret_of(primary))["users"][0]["user"]["token"]
    token3 = kubeconfig_of(secret_of(third))["users"][0]["user"]["token"]
    assert token1 != token3
    role = ObjectRef.of("rbac.authorization.k8s.io/v1", "ClusterRole", "servicemesh-istio-reader-istio-system")
    rs.remove_remote_secret(primary, remote, spec(consumer="cluster1"), Options())
    assert secret_of(primary) is None and remote.get(role) is not None
    assert remote.get(ObjectRef.of("v1", "Secret", "istio-reader-service-account-remote-secret-cluster1",
                                   "istio-system")) is None
    rs.remove_remote_secret(third, remote, spec(consumer="cluster3"), Options())
    assert remote.get(role) is None
    assert remote.get(ObjectRef.of("v1", "ServiceAccount", rs.READER_SERVICE_ACCOUNT, "istio-system")) is None


def test_removal_without_the_remote_cluster(clusters):
    primary, remote = clusters
    rs.ensure_remote_secret(primary, remote, spec(), Options())
    outcome = rs.remove_remote_secret(primary, None, spec(), Options())
    assert outcome.changed and secret_of(primary) is None
    assert remote.get(ObjectRef.of("v1", "ServiceAccount", rs.READER_SERVICE_ACCOUNT, "istio-system"))


def test_token_wait_times_out_with_a_reason(clusters):
    primary = clusters[0]
    slow = TokenCluster(fill=False)
    with pytest.raises(Exception, match="token controller has not filled"):
        rs.ensure_remote_secret(primary, slow, spec(), Options(wait_timeout=0.01, wait_interval=0.01))


def test_istioctl_token_name_without_consumer():
    assert spec(consumer="").token_secret_name == "istio-reader-service-account-istio-remote-secret-token"
    assert rs.label_safe("x" * 80) != rs.label_safe("x" * 81)
    assert len(rs.label_safe("x" * 80)) == 63


def test_check_mode_predicts_into_namespaces_not_made_yet():
    primary, remote = FakeCluster(), FakeCluster()
    outcome = rs.ensure_remote_secret(primary, remote, spec(), Options(check_mode=True))
    assert outcome.changed and primary.writes() == [] and remote.writes() == []
