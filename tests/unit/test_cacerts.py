# -*- coding: utf-8 -*-
"""The shared root and per-cluster intermediate CAs, and the cacerts Secret on a cluster.

Keys here are 2048 bits and the roots are made once per module: RSA-4096 key
generation takes about a second each, and what is tested (extensions, chains,
judgement) does not depend on the key size. One test checks the 4096 default.
"""
from __future__ import annotations

import base64
import datetime
import os

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from ansible_collections.servicemesh.istio.plugins.module_utils._lifecycle import Options
from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster import cacerts
from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster.redact import (
    redact_object, redacted_diffs, scrub)
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef
from tests.unit.k8s.fake_cluster import FakeCluster

FAST = cacerts.CaSettings(key_size=2048)
SECRET = ObjectRef.of("v1", "Secret", "cacerts", "istio-system")


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


def ext(cert, cls):
    return cert.extensions.get_extension_for_class(cls)


def test_root_follows_the_recipe(root):
    cert = root.cert
    assert cert.subject.rfc4514_string() == "CN=Root CA,O=Istio"
    assert cert.issuer == cert.subject
    constraints = ext(cert, x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length is None
    usage = ext(cert, x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature and usage.value.content_commitment
    assert usage.value.key_encipherment and usage.value.key_cert_sign and not usage.value.crl_sign
    assert ext(cert, x509.SubjectKeyIdentifier)
    assert cert.signature_hash_algorithm.name == "sha256"
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert lifetime == datetime.timedelta(days=3650) + cacerts.BACKDATE


def test_default_key_size_is_4096():
    assert cacerts.CaSettings().key_size == 4096
    root = cacerts.new_root(cacerts.CaSettings())
    assert root.key.key_size == 4096


def test_intermediate_follows_the_recipe(root):
    issued = cacerts.new_intermediate(root, FAST, "east", ["istiod.istio-system.svc"])
    cert = issued.cert
    assert cert.subject.rfc4514_string() == "L=east,CN=Intermediate CA,O=Istio"
    assert cert.issuer == root.cert.subject
    constraints = ext(cert, x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    assert ext(cert, x509.KeyUsage).critical and ext(cert, x509.KeyUsage).value.key_cert_sign
    assert ext(cert, x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName) == [
        "istiod.istio-system.svc"]
    assert ext(cert, x509.AuthorityKeyIdentifier).value.key_identifier == \
        ext(root.cert, x509.SubjectKeyIdentifier).value.key_identifier
    assert cacerts.issued_by(cert, root.cert)
    assert isinstance(issued.key, rsa.RSAPrivateKey) and issued.key.key_size == 2048


def test_intermediate_never_outlives_its_root(root):
    long = cacerts.CaSettings(key_size=2048, validity_days=20000)
    issued = cacerts.new_intermediate(root, long, "x", [])
    assert issued.cert.not_valid_after_utc == root.cert.not_valid_after_utc


@pytest.mark.parametrize("settings, message", [
    (cacerts.CaSettings(key_size=1024), "key_size must be one of"),
    (cacerts.CaSettings(key_size=2048, validity_days=0), "validity_days"),
])
def test_bad_settings_are_refused(settings, message):
    with pytest.raises(cacerts.CaError, match=message):
        settings.check()


def test_load_root_checks_the_pair(root, other_root):
    assert cacerts.load_root(root.cert_pem(), root.key_pem()).fingerprint == root.fingerprint
    with pytest.raises(cacerts.CaError, match="does not belong"):
        cacerts.load_root(root.cert_pem(), other_root.key_pem())
    with pytest.raises(cacerts.CaError, match="not a PEM certificate"):
        cacerts.load_root(b"nonsense", root.key_pem())


def test_load_root_never_echoes_a_bad_key(root):
    with pytest.raises(cacerts.CaError) as caught:
        cacerts.load_root(root.cert_pem(), b"-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n")
    assert "c2VjcmV0" not in str(caught.value)


def test_load_root_refuses_a_leaf_and_an_expired_root(root):
    issued = cacerts.new_intermediate(root, FAST, "x", [])
    assert cacerts.load_root(issued.cert_pem(), issued.key_pem())  # an intermediate is a CA too
    later = root.cert.not_valid_after_utc + datetime.timedelta(days=1)
    with pytest.raises(cacerts.CaError, match="expired"):
        cacerts.load_root(root.cert_pem(), root.key_pem(), now=later)


def test_secret_layout_and_judgement(root, other_root):
    issued = cacerts.new_intermediate(root, FAST, "west", ["istiod.istio-system.svc"])
    secret = cacerts.cacerts_secret("cacerts", "istio-system", issued, root)
    files = {key: base64.b64decode(value) for key, value in secret["data"].items()}
    assert sorted(files) == sorted(cacerts.SECRET_KEYS)
    assert files["cert-chain.pem"] == issued.cert_pem() + root.cert_pem()
    assert files["root-cert.pem"] == root.cert_pem()
    assert cacerts.judge_cacerts(secret, root).valid
    judged = cacerts.judge_cacerts(secret, other_root)
    assert not judged.valid
    assert any("different root" in p for p in judged.problems)
    assert any("not issued by the supplied root" in p for p in judged.problems)


def test_judgement_finds_broken_secrets(root):
    issued = cacerts.new_intermediate(root, FAST, "west", [])
    other = cacerts.new_intermediate(root, FAST, "east", [])
    secret = cacerts.cacerts_secret("cacerts", "istio-system", issued, root)
    assert cacerts.judge_cacerts({"data": {}}, root).problems == [
        "it lacks ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem"]
    mismatched = dict(secret, data=dict(secret["data"], **{"ca-key.pem": base64.b64encode(other.key_pem()).decode()}))
    assert any("does not belong" in p for p in cacerts.judge_cacerts(mismatched, root).problems)
    chain_only = dict(secret, data=dict(secret["data"], **{"cert-chain.pem": secret["data"]["root-cert.pem"]}))
    assert any("cert-chain.pem" in p for p in cacerts.judge_cacerts(chain_only, root).problems)
    late = issued.cert.not_valid_after_utc + datetime.timedelta(seconds=1)
    assert any("expired" in p for p in cacerts.judge_cacerts(secret, root, now=late).problems)


def test_root_files_are_made_once_and_reused(tmp_path):
    cert_path, key_path = str(tmp_path / "ca" / "root-cert.pem"), str(tmp_path / "ca" / "root-key.pem")
    with pytest.raises(cacerts.CaError, match="set create_root"):
        cacerts.root_from_files(cert_path, key_path, False, FAST)
    made, created = cacerts.root_from_files(cert_path, key_path, True, FAST)
    assert created and os.stat(key_path).st_mode & 0o777 == 0o600
    again, created_again = cacerts.root_from_files(cert_path, key_path, True, FAST)
    assert not created_again and again.fingerprint == made.fingerprint
    os.unlink(cert_path)
    with pytest.raises(cacerts.CaError, match="only one of the root files"):
        cacerts.root_from_files(cert_path, key_path, True, FAST)


def test_root_files_not_written_in_check_mode(tmp_path):
    cert_path, key_path = str(tmp_path / "root-cert.pem"), str(tmp_path / "root-key.pem")
    _root, created = cacerts.root_from_files(cert_path, key_path, True, FAST, check_mode=True)
    assert created and os.listdir(tmp_path) == []


# -- on a cluster ------------------------------------------------------------------------------------

def request(**kwargs):
    return cacerts.CacertsRequest(cluster_name="east", settings=FAST, **kwargs)


def test_first_run_creates_second_changes_nothing(cluster, root):
    outcome = cacerts.ensure_cacerts(cluster, root, request(), Options())
    assert outcome.changed and outcome.facts["status"] == "created"
    stored = cluster.get(SECRET)
    assert cacerts.judge_cacerts(stored, root).valid
    cluster.reset_calls()
    again = cacerts.ensure_cacerts(cluster, root, request(), Options())
    assert not again.changed and again.facts["status"] == "unchanged" and again.facts["managed"]
    assert cluster.writes() == []
    assert again.facts["intermediate_fingerprint"] == outcome.facts["intermediate_fingerprint"]


def test_different_root_fails_before_any_write(cluster, root, other_root):
    cacerts.ensure_cacerts(cluster, root, request(), Options())
    cluster.reset_calls()
    with pytest.raises(cacerts.CaError, match="different root .* set replace"):
        cacerts.ensure_cacerts(cluster, other_root, request(), Options())
    assert cluster.writes() == []


def test_replace_issues_from_the_new_root(cluster, root, other_root):
    cacerts.ensure_cacerts(cluster, root, request(), Options())
    outcome = cacerts.ensure_cacerts(cluster, other_root, request(replace=True), Options())
    assert outcome.changed and outcome.facts["status"] == "replaced"
    assert cacerts.judge_cacerts(cluster.get(SECRET), other_root).valid


def test_existing_valid_cacerts_is_kept_and_not_managed(cluster, root):
    issued = cacerts.new_intermediate(root, FAST, "east", [])
    cluster.put(cacerts.cacerts_secret("cacerts", "istio-system", issued, root), manager="kubectl-create")
    cluster.reset_calls()
    outcome = cacerts.ensure_cacerts(cluster, root, request(), Options())
    assert not outcome.changed and not outcome.facts["managed"] and cluster.writes() == []
    removed = cacerts.remove_cacerts(cluster, "istio-system", "cacerts", Options())
    assert not removed.changed and cluster.get(SECRET) is not None


def test_check_mode_writes_nothing(cluster, root):
    outcome = cacerts.ensure_cacerts(cluster, root, request(), Options(check_mode=True))
    assert outcome.changed and cluster.writes() == [] and cluster.get(SECRET) is None


def test_missing_namespace_is_an_error_unless_created(root):
    fake = FakeCluster()
    with pytest.raises(Exception, match="doesn't exist"):
        cacerts.ensure_cacerts(fake, root, request(), Options())
    assert fake.writes() == []
    outcome = cacerts.ensure_cacerts(fake, root, request(create_namespace=True), Options())
    assert outcome.changed and fake.get(SECRET) is not None


def test_removal_deletes_what_was_created(cluster, root):
    cacerts.ensure_cacerts(cluster, root, request(), Options())
    outcome = cacerts.remove_cacerts(cluster, "istio-system", "cacerts", Options())
    assert outcome.changed and cluster.get(SECRET) is None
    assert not cacerts.remove_cacerts(cluster, "istio-system", "cacerts", Options()).changed


def test_diffs_and_errors_never_show_keys(cluster, root):
    outcome = cacerts.ensure_cacerts(cluster, root, request(), Options())
    diffs = redacted_diffs([r.diff() for unit in outcome.results for r in unit.objects if r.changed])
    text = repr(diffs)
    assert "PRIVATE KEY" not in text and "LS0tLS1CRUdJTi" not in text
    assert "<redacted sha256:" in text
    assert redact_object({"kind": "ConfigMap", "data": {"a": "b"}})["data"] == {"a": "b"}
    message = scrub("bad value %s and token eyJhbGciOi.eyJzdWIi.c2ln" % root.key_pem().decode())
    assert "PRIVATE" not in message and "eyJ" not in message
