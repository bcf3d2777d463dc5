# -*- coding: utf-8 -*-
"""A gateway's TLS certificate: issued from the mesh's root for its hosts, or given; kept while it fits."""
from __future__ import annotations

import base64
import datetime
import ipaddress

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from ansible_collections.servicemesh.istio.plugins.module_utils._lifecycle import Options
from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster import cacerts, tlscert
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef
from tests.unit.k8s.fake_cluster import FakeCluster

FAST = cacerts.CaSettings(key_size=2048)
SECRET = ObjectRef.of("v1", "Secret", "external-istiod-tls", "istio-system")


@pytest.fixture(scope="module")
def root():
    return cacerts.new_root(FAST)


@pytest.fixture(scope="module")
def other_root():
    return cacerts.new_root(FAST)


@pytest.fixture
def cluster():
    fake = FakeCluster()
    fake.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}})
    return fake


def request(**kwargs):
    kwargs.setdefault("hosts", ["istiod.example.com", "10.0.0.9"])
    return tlscert.CertificateRequest(name="external-istiod-tls", settings=FAST, **kwargs)


def stored_cert(cluster):
    return x509.load_pem_x509_certificate(base64.b64decode(cluster.get(SECRET)["data"]["tls.crt"]))


def test_split_hosts():
    assert tlscert.split_hosts(["B.example", "10.0.0.9", "[fd00::1]", "b.example", ""]) == \
        (["b.example"], ["10.0.0.9", "fd00::1"])


def test_issued_certificate_is_a_server_certificate_for_the_hosts(root):
    pair = tlscert.new_server_cert(root, FAST, ["istiod.example.com", "10.0.0.9"])
    assert cacerts.issued_by(pair.cert, root.cert)
    assert pair.cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert ExtendedKeyUsageOID.SERVER_AUTH in pair.cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert tlscert.cert_hosts(pair.cert) == (["istiod.example.com"], ["10.0.0.9"])
    assert pair.cert.not_valid_after_utc <= root.cert.not_valid_after_utc
    with pytest.raises(cacerts.CaError, match="at least one host"):
        tlscert.new_server_cert(root, FAST, [])


def test_judgement(root, other_root):
    pair = tlscert.new_server_cert(root, FAST, ["istiod.example.com"])
    secret = tlscert.tls_secret("s", "ns", pair.cert_pem(), pair.key_pem(), root.cert_pem())
    assert tlscert.judge(secret, ["istiod.example.com"], root) == []
    assert tlscert.judge(secret, ["istiod.example.com", "10.0.0.9"], root) == ["its certificate does not cover 10.0.0.9"]
    assert "not issued by the mesh's root" in tlscert.judge(secret, ["istiod.example.com"], other_root)[0]
    assert tlscert.judge({"data": {}}, ["a"], root) == ["it lacks tls.crt, tls.key"]
    late = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=3600)
    assert "expires on" in tlscert.judge(secret, ["istiod.example.com"], root, now=late)[0]


def test_first_run_issues_second_keeps_then_new_hosts_reissue(cluster, root):
    first = tlscert.ensure_certificate(cluster, root, request(), Options())
    assert first.changed and first.facts["status"] == "created"
    assert cluster.get(SECRET)["type"] == "kubernetes.io/tls"
    assert tlscert.cert_hosts(stored_cert(cluster)) == (["istiod.example.com"], ["10.0.0.9"])
    cluster.reset_calls()
    again = tlscert.ensure_certificate(cluster, root, request(), Options())
    assert not again.changed and again.facts["status"] == "unchanged" and cluster.writes() == []
    assert again.facts["fingerprint"] == first.facts["fingerprint"]
    moved = tlscert.ensure_certificate(cluster, root, request(hosts=["10.0.0.10"]), Options())
    assert moved.changed and moved.facts["status"] == "replaced"
    assert moved.facts["problems"] == ["its certificate does not cover 10.0.0.10"]
    assert ipaddress.ip_address("10.0.0.10") in stored_cert(cluster).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value.get_values_for_type(x509.IPAddress)


def test_check_mode_writes_nothing(cluster, root):
    outcome = tlscert.ensure_certificate(cluster, root, request(), Options(check_mode=True))
    assert outcome.changed and cluster.writes() == [] and cluster.get(SECRET) is None


def test_a_secret_found_in_place_is_kept_if_it_fits_else_refused(cluster, root, other_root):
    pair = tlscert.new_server_cert(other_root, FAST, ["istiod.example.com", "10.0.0.9"])
    cluster.put(tlscert.tls_secret("external-istiod-tls", "istio-system", pair.cert_pem(), pair.key_pem(), b""),
                manager="kubectl-create")
    cluster.reset_calls()
    kept = tlscert.ensure_certificate(cluster, root, request(), Options())
    assert not kept.changed and not kept.facts["managed"] and cluster.writes() == []
    with pytest.raises(cacerts.CaError, match="was not made by this collection .* set replace"):
        tlscert.ensure_certificate(cluster, root, request(hosts=["other.example"]), Options())
    assert cluster.writes() == []
    assert not tlscert.remove_certificate(cluster, "external-istiod-tls", "istio-system", Options()).changed


def test_a_given_certificate_is_stored_when_it_covers_the_hosts(cluster, root):
    pair = tlscert.new_server_cert(root, FAST, ["istiod.example.com"])
    given = request(hosts=["istiod.example.com"], cert_pem=pair.cert_pem().decode(), key_pem=pair.key_pem().decode())
    assert tlscert.ensure_certificate(cluster, None, given, Options()).changed
    cluster.reset_calls()
    assert not tlscert.ensure_certificate(cluster, None, given, Options()).changed and cluster.writes() == []
    wrong = request(hosts=["other.example"], cert_pem=given.cert_pem, key_pem=given.key_pem)
    with pytest.raises(cacerts.CaError, match="cannot serve other.example: its certificate does not cover"):
        tlscert.ensure_certificate(cluster, None, wrong, Options())
    with pytest.raises(cacerts.CaError, match="needs its key"):
        request(cert_pem=given.cert_pem).check()


def test_removal_deletes_what_was_written(cluster, root):
    tlscert.ensure_certificate(cluster, root, request(), Options())
    assert tlscert.remove_certificate(cluster, "external-istiod-tls", "istio-system", Options()).changed
    assert cluster.get(SECRET) is None
