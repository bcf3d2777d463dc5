# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A shared root CA and one intermediate CA per cluster, as the ``cacerts`` Secret istiod reads.

The certificates follow the OpenSSL recipe of the Istio multi-cluster guides:

- root: RSA key (4096 bits), subject ``O=Istio, CN=Root CA``, self-signed with SHA-256,
  critical ``CA:true`` and critical keyUsage digitalSignature, nonRepudiation,
  keyEncipherment, keyCertSign, a subject key identifier, 3650 days;
- intermediate (one per cluster): the same, plus ``pathlen:0``, subject
  ``O=Istio, CN=Intermediate CA, L=<cluster>``, subjectAltName
  ``DNS:istiod.<namespace>.svc``, signed by the root.

Two differences, both to avoid certificates that are useless on day one: the
start of validity is set five minutes back (clock skew between the machine
running Ansible and the cluster), and an intermediate never outlives its root.
The intermediate also carries an authority key identifier, which helps
verifiers pick the right issuer when a root is rotated.

An existing ``cacerts`` is only replaced when asked: a new intermediate means
new workload certificates, and a different root splits the mesh's trust.
"""
from __future__ import annotations

import base64
import datetime
import fcntl
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.servicemesh.istio.plugins.module_utils._clock import utcnow
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s import _inventory as inventory
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._inventory import UnitKey
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._unit import remove_unit, sync_unit

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the module
    CRYPTOGRAPHY_IMPORT_ERROR = str(exc)

CA_CERT, CA_KEY, ROOT_CERT, CERT_CHAIN = "ca-cert.pem", "ca-key.pem", "root-cert.pem", "cert-chain.pem"
SECRET_KEYS = (CA_CERT, CA_KEY, ROOT_CERT, CERT_CHAIN)
KEY_SIZES = (2048, 3072, 4096)
BACKDATE = datetime.timedelta(minutes=5)


class CaError(IstioError):
    """A root or intermediate CA that cannot be used, or that must not be replaced silently."""


@dataclass(frozen=True)
class CaSettings:
    """How new certificates are made (existing ones are judged, never re-made)."""

    key_size: int = 4096
    validity_days: int = 3650
    organization: str = "Istio"

    def check(self) -> None:
        if self.key_size not in KEY_SIZES:
            raise CaError("key_size must be one of %s (got %s)" % (", ".join(map(str, KEY_SIZES)), self.key_size))
        if self.validity_days < 1:
            raise CaError("validity_days must be at least 1 (got %s)" % self.validity_days)


@dataclass
class KeyPair:
    """A CA certificate and its private key."""

    cert: Any
    key: Any

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())

    @property
    def fingerprint(self) -> str:
        return cert_fingerprint(self.cert)


def cert_fingerprint(cert: Any) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


# -- making certificates ----------------------------------------------------------------------------

def _ca_extensions(builder: Any, key: Any, path_length: Optional[int]) -> Any:
    usage = x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=True,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=False,
                          encipher_only=False, decipher_only=False)
    return (builder
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
            .add_extension(usage, critical=True))


def _name(organization: str, common_name: str, locality: str = "") -> Any:
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                  x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if locality:
        attributes.append(x509.NameAttribute(NameOID.LOCALITY_NAME, locality))
    return x509.Name(attributes)


def new_root(settings: CaSettings, now: Optional[datetime.datetime] = None) -> KeyPair:
    settings.check()
    now = now or utcnow()
    key = rsa.generate_private_key(public_exponent=65537, key_size=settings.key_size)
    name = _name(settings.organization, "Root CA")
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - BACKDATE)
               .not_valid_after(now + datetime.timedelta(days=settings.validity_days)))
    return KeyPair(_ca_extensions(builder, key, None).sign(key, hashes.SHA256()), key)


def new_intermediate(root: KeyPair, settings: CaSettings, locality: str, dns_names: List[str],
                     now: Optional[datetime.datetime] = None) -> KeyPair:
    settings.check()
    now = now or utcnow()
    key = rsa.generate_private_key(public_exponent=65537, key_size=settings.key_size)
    not_after = min(now + datetime.timedelta(days=settings.validity_days), root.cert.not_valid_after_utc)
    builder = (x509.CertificateBuilder()
               .subject_name(_name(settings.organization, "Intermediate CA", locality))
               .issuer_name(root.cert.subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - BACKDATE).not_valid_after(not_after))
    builder = _ca_extensions(builder, key, 0)
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(root.key.public_key()), critical=False)
    if dns_names:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]),
                                        critical=False)
    return KeyPair(builder.sign(root.key, hashes.SHA256()), key)


# -- reading and judging ---------------------------------------------------------------------------

def _load_cert(pem: bytes, what: str) -> Any:
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise CaError("%s is not a PEM certificate (%s)" % (what, exc)) from exc


def _load_key(pem: bytes, what: str) -> Any:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (TypeError, ValueError) as exc:
        # never echo the key's content
        raise CaError("%s is not an unencrypted PEM private key" % what) from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CaError("%s must be an RSA key" % what)
    return key


def _same_public_key(cert: Any, key: Any) -> bool:
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return cert.public_key().public_bytes(*fmt) == key.public_key().public_bytes(*fmt)


def _is_ca(cert: Any) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _validity_problem(cert: Any, what: str, now: datetime.datetime) -> Optional[str]:
    if cert.not_valid_after_utc <= now:
        return "%s expired on %s" % (what, cert.not_valid_after_utc.isoformat())
    if cert.not_valid_before_utc > now + BACKDATE:
        return "%s is not valid before %s" % (what, cert.not_valid_before_utc.isoformat())
    return None


def load_root(cert_pem: bytes, key_pem: bytes, now: Optional[datetime.datetime] = None) -> KeyPair:
    """A supplied root, checked: a CA certificate, the key that belongs to it, not expired."""
    cert = _load_cert(cert_pem, "the root certificate")
    key = _load_key(key_pem, "the root key")
    if not _is_ca(cert):
        raise CaError("the root certificate (sha256 %s) is not a CA certificate" % cert_fingerprint(cert))
    if not _same_public_key(cert, key):
        raise CaError("the root key does not belong to the root certificate (sha256 %s)" % cert_fingerprint(cert))
    problem = _validity_problem(cert, "the root certificate", now or utcnow())
    if problem:
        raise CaError(problem)
    return KeyPair(cert, key)


def issued_by(cert: Any, issuer: Any) -> bool:
    """Whether ``issuer`` signed ``cert`` (RSA or EC issuers)."""
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _split_pem(data: bytes) -> List[bytes]:
    marker = b"-----END CERTIFICATE-----"
    return [part + marker + b"\n" for part in data.split(marker) if part.strip()]


@dataclass
class Judgement:
    """What an existing cacerts Secret is, against the root we were given."""

    problems: List[str] = field(default_factory=list)
    intermediate_fingerprint: str = ""
    root_fingerprint: str = ""
    not_after: str = ""

    @property
    def valid(self) -> bool:
        return not self.problems


def secret_files(secret: Mapping[str, Any]) -> Dict[str, bytes]:
    """The decoded data of a Secret; a value that is not base64 reads as empty."""
    files = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            files[key] = base64.b64decode(value or "")
        except (TypeError, ValueError):
            files[key] = b""
    return files


def judge_cacerts(secret: Mapping[str, Any], root: KeyPair, now: Optional[datetime.datetime] = None) -> Judgement:
    """Valid means: the four files, a CA certificate whose key is there, signed by ``root``,
    ``root-cert.pem`` is ``root``, the chain is the intermediate then the root, nothing expired."""
    now = now or utcnow()
    files = secret_files(secret)
    judgement = Judgement()
    missing = [key for key in SECRET_KEYS if not files.get(key)]
    if missing:
        judgement.problems.append("it lacks %s" % ", ".join(missing))
        return judgement
    try:
        cert = _load_cert(files[CA_CERT], CA_CERT)
        key = _load_key(files[CA_KEY], CA_KEY)
        their_root = _load_cert(files[ROOT_CERT], ROOT_CERT)
        chain = [_load_cert(part, CERT_CHAIN) for part in _split_pem(files[CERT_CHAIN])]
    except CaError as exc:
        judgement.problems.append(str(exc))
        return judgement
    judgement.intermediate_fingerprint = cert_fingerprint(cert)
    judgement.root_fingerprint = cert_fingerprint(their_root)
    judgement.not_after = cert.not_valid_after_utc.isoformat()
    judgement.problems.extend(_chain_problems(cert, key, their_root, chain, root, now))
    return judgement


def _chain_problems(cert: Any, key: Any, their_root: Any, chain: List[Any], root: KeyPair,
                    now: datetime.datetime) -> List[str]:
    problems = []
    if cert_fingerprint(their_root) != root.fingerprint:
        problems.append("its %s is a different root (sha256 %s) than the one supplied (sha256 %s)"
                        % (ROOT_CERT, cert_fingerprint(their_root), root.fingerprint))
    if not issued_by(cert, root.cert):
        problems.append("its %s was not issued by the supplied root (sha256 %s)" % (CA_CERT, root.fingerprint))
    if not _is_ca(cert):
        problems.append("its %s is not a CA certificate" % CA_CERT)
    if not _same_public_key(cert, key):
        problems.append("its %s does not belong to its %s" % (CA_KEY, CA_CERT))
    if not chain or cert_fingerprint(chain[0]) != cert_fingerprint(cert) \
            or root.fingerprint not in {cert_fingerprint(c) for c in chain}:
        problems.append("its %s is not %s followed by the root" % (CERT_CHAIN, CA_CERT))
    for problem in (_validity_problem(cert, CA_CERT, now), _validity_problem(their_root, ROOT_CERT, now)):
        if problem:
            problems.append(problem)
    return problems


# -- the Secret -------------------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def cacerts_secret(name: str, namespace: str, intermediate: KeyPair, root: KeyPair) -> Dict[str, Any]:
    """The Secret in the layout istiod's plug-in CA reads."""
    files = {CA_CERT: intermediate.cert_pem(), CA_KEY: intermediate.key_pem(), ROOT_CERT: root.cert_pem(),
             CERT_CHAIN: intermediate.cert_pem() + root.cert_pem()}
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": namespace,
                         "labels": {"app.kubernetes.io/managed-by": "servicemesh.istio",
                                    "servicemesh.istio/ca": "intermediate"}},
            "data": {key: _b64(value) for key, value in files.items()}}


# -- a root kept in files ----------------------------------------------------------------------------

def _write_private(path: str, data: bytes, mode: int) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    tmp = "%s.tmp.%d" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@contextmanager
def _locked(path: str) -> Iterator[None]:
    """Serialise root creation: Ansible runs one task for several clusters at once."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    with open(path + ".lock", "a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def root_from_files(cert_path: str, key_path: str, create: bool, settings: CaSettings,
                    check_mode: bool = False) -> Tuple[KeyPair, bool]:
    """The root kept in ``cert_path``/``key_path``; made (and, unless check mode, written) if both
    are missing and ``create`` is set. Returns (root, created)."""
    # the key is written before the certificate, so a certificate means a complete pair
    if os.path.exists(cert_path) or check_mode:
        return _root_in_files(cert_path, key_path, create, settings, write=False)
    with _locked(key_path):
        return _root_in_files(cert_path, key_path, create, settings, write=True)


def _root_in_files(cert_path: str, key_path: str, create: bool, settings: CaSettings,
                   write: bool) -> Tuple[KeyPair, bool]:
    present = [os.path.exists(cert_path), os.path.exists(key_path)]
    if all(present):
        return load_root(_read(cert_path), _read(key_path)), False
    if any(present):
        raise CaError("only one of the root files exists (%s: %s, %s: %s); supply both or neither"
                      % (cert_path, "present" if present[0] else "missing",
                         key_path, "present" if present[1] else "missing"))
    if not create:
        raise CaError("the root files %s and %s do not exist; set create_root to make a new root there"
                      % (cert_path, key_path))
    root = new_root(settings)
    if write:
        _write_private(key_path, root.key_pem(), 0o600)
        _write_private(cert_path, root.cert_pem(), 0o644)
    return root, True


# -- on a cluster ------------------------------------------------------------------------------------

UNIT_KIND = "cacerts"


@dataclass
class CacertsRequest:
    """One cluster's intermediate CA."""

    namespace: str = "istio-system"
    secret_name: str = "cacerts"
    cluster_name: str = ""
    dns_names: Optional[List[str]] = None  # default: istiod.<namespace>.svc
    replace: bool = False
    create_namespace: bool = False
    settings: CaSettings = field(default_factory=CaSettings)

    @property
    def sans(self) -> List[str]:
        return list(self.dns_names) if self.dns_names is not None else ["istiod.%s.svc" % self.namespace]


def _facts(request: CacertsRequest, root: KeyPair, status: str, managed: bool,
           judgement: Optional[Judgement] = None, issued: Optional[KeyPair] = None) -> Dict[str, Any]:
    facts: Dict[str, Any] = {"namespace": request.namespace, "secret_name": request.secret_name, "status": status,
                             "managed": managed, "root_fingerprint": root.fingerprint}
    if issued is not None:
        facts["intermediate_fingerprint"] = issued.fingerprint
        facts["not_after"] = issued.cert.not_valid_after_utc.isoformat()
    elif judgement is not None:
        facts["intermediate_fingerprint"] = judgement.intermediate_fingerprint
        facts["not_after"] = judgement.not_after
    return facts


def unit_key(namespace: str, secret_name: str) -> UnitKey:
    return UnitKey(UNIT_KIND, secret_name, namespace)


def ensure_cacerts(cluster: Any, root: KeyPair, request: CacertsRequest,
                   options: lifecycle.Options) -> lifecycle.Outcome:
    """Issue and store the cluster's intermediate CA unless a valid one is there already.

    A cacerts that does not chain to ``root`` (or is broken or expired) is an
    error unless ``request.replace``; nothing is written before that is known."""

    request.settings.check()
    outcome = lifecycle.Outcome()
    must_create_namespace = lifecycle.namespace_missing(cluster, request.namespace, request.create_namespace)
    key = unit_key(request.namespace, request.secret_name)
    live = None if must_create_namespace else cluster.get(
        ObjectRef.of("v1", "Secret", request.secret_name, request.namespace))
    managed = not must_create_namespace and inventory.load(cluster, key.namespace, key.kind, key.name) is not None
    judgement = judge_cacerts(live, root) if live is not None else None
    if judgement is not None and judgement.valid:
        outcome.facts = _facts(request, root, "unchanged", managed, judgement)
        return outcome
    if judgement is not None and not request.replace:
        raise CaError("secret %s/%s exists and is not kept: %s. Nothing was changed; set replace to issue a new "
                      "intermediate CA from the supplied root (workload certificates are then re-issued)"
                      % (request.namespace, request.secret_name, "; ".join(judgement.problems)))
    issued = new_intermediate(root, request.settings, request.cluster_name, request.sans)
    if must_create_namespace:
        outcome.results.append(lifecycle.create_namespace(cluster, request.namespace, options))
    secret = cacerts_secret(request.secret_name, request.namespace, issued, root)
    # replacing takes the Secret over from whoever wrote it (kubectl create, an older tool)
    outcome.results.append(sync_unit(
        cluster, key, [secret], check_mode=options.check_mode,
        force_conflicts=options.force_conflicts or live is not None,
        metadata={"rootFingerprint": root.fingerprint, "intermediateFingerprint": issued.fingerprint,
                  "cluster": request.cluster_name}))
    outcome.facts = _facts(request, root, "replaced" if live is not None else "created", True, issued=issued)
    return outcome


def remove_cacerts(cluster: Any, namespace: str, secret_name: str, options: lifecycle.Options) -> lifecycle.Outcome:
    """Delete the cacerts Secret if this collection created it; one found in place is left alone."""

    outcome = lifecycle.Outcome()
    outcome.results.append(remove_unit(cluster, unit_key(namespace, secret_name), check_mode=options.check_mode))
    outcome.facts = {"namespace": namespace, "secret_name": secret_name, "status": "absent"}
    return outcome
