"""Per-cluster PKI generated at start: a CA, a serving certificate for
127.0.0.1/localhost, and an ES256 key that signs service-account tokens.

EC P-256 keys are used throughout because they are generated in a few
milliseconds, which keeps start-up well under a second even for several
clusters."""
from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import os
import tempfile
import time
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID


@dataclass
class ClusterPKI:
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes
    signing_key: ec.EllipticCurvePrivateKey

    def write_server_files(self, directory: str) -> tuple[str, str]:
        """ssl.load_cert_chain only reads files, so the pair goes to disk."""
        cert_path = os.path.join(directory, "apiserver.crt")
        key_path = os.path.join(directory, "apiserver.key")
        with open(cert_path, "wb") as handle:
            handle.write(self.cert_pem)
        with open(key_path, "wb") as handle:
            handle.write(self.key_pem)
        return cert_path, key_path

    def sign_jwt(self, claims: dict) -> str:
        header = {"alg": "ES256", "kid": _key_id(self.signing_key)}
        signing_input = _b64(json.dumps(header, separators=(",", ":")).encode()) + "." + \
            _b64(json.dumps(claims, separators=(",", ":")).encode())
        der = self.signing_key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return signing_input + "." + _b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _key_id(key: ec.EllipticCurvePrivateKey) -> str:
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(public)
    return _b64(digest.finalize())


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def generate(cluster_name: str = "kubernetes") -> ClusterPKI:
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    later = now + datetime.timedelta(days=365)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"{cluster_name}-ca")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(later)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=True, crl_sign=True,
                                     encipher_only=False, decipher_only=False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName([
        x509.DNSName("localhost"), x509.DNSName("kubernetes"), x509.DNSName("kubernetes.default"),
        x509.DNSName("kubernetes.default.svc"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ])
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("kube-apiserver")).issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(later)
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return ClusterPKI(
        ca_pem=ca_cert.public_bytes(pem),
        cert_pem=cert.public_bytes(pem),
        key_pem=key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
        signing_key=ec.generate_private_key(ec.SECP256R1()),
    )


def token_claims(issuer: str, namespace: str, service_account: str, sa_uid: str,
                 secret_name: str = "", audiences: tuple = (), expiration_seconds: int = 0) -> dict:
    """Claims shaped like the ones kube-apiserver puts in service-account tokens."""
    now = int(time.time())
    claims: dict = {"iss": issuer, "sub": f"system:serviceaccount:{namespace}:{service_account}"}
    if secret_name:
        # Legacy secret-based token layout.
        claims.update({
            "kubernetes.io/serviceaccount/namespace": namespace,
            "kubernetes.io/serviceaccount/secret.name": secret_name,
            "kubernetes.io/serviceaccount/service-account.name": service_account,
            "kubernetes.io/serviceaccount/service-account.uid": sa_uid,
        })
        return claims
    claims.update({
        "aud": list(audiences) or [issuer], "iat": now, "nbf": now, "exp": now + expiration_seconds,
        "kubernetes.io": {"namespace": namespace,
                          "serviceaccount": {"name": service_account, "uid": sa_uid}},
    })
    return claims


def temp_dir(prefix: str = "kubeapi-") -> str:
    return tempfile.mkdtemp(prefix=prefix)
