# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A gateway's TLS certificate (the Secret a Gateway's ``credentialName`` names), given or issued from the
mesh's root, for the external control plane behind a TLS ingress.

Issued certificates are server certificates: RSA, SHA-256, ``CA:false``, keyUsage digitalSignature and
keyEncipherment, extendedKeyUsage serverAuth, the hosts as DNS or IP subjectAltNames, valid from five
minutes back and never beyond the root. The Secret is ``kubernetes.io/tls`` with ``tls.crt``, ``tls.key``
and ``ca.crt`` (the root), which is what Istio's gateways read.

A Secret this collection wrote is re-issued when it no longer fits (other hosts, another root, expiring
within a tenth of its validity); one found in place is kept when it covers the hosts and otherwise refused
unless ``replace``.
"""
from __future__ import annotations

import base64
import datetime
import ipaddress
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.servicemesh.istio.plugins.module_utils._clock import utcnow
from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster import cacerts
from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster.cacerts import CaError, CaSettings, KeyPair
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s import _inventory as inventory
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._inventory import UnitKey
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._unit import remove_unit, sync_unit

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError:  # pragma: no cover - reported by the module (cacerts.CRYPTOGRAPHY_IMPORT_ERROR)
    pass

UNIT_KIND = "gateway-certificate"
TLS_CRT, TLS_KEY, CA_CRT = "tls.crt", "tls.key", "ca.crt"
TLS_SECRET_TYPE = "kubernetes.io/tls"


def split_hosts(hosts: Sequence[str]) -> Tuple[List[str], List[str]]:
    """(DNS names, IP addresses) of ``hosts``, each sorted and without duplicates."""
    names, addresses = set(), set()
    for host in hosts:
        host = (host or "").strip().strip("[]")
        if not host:
            continue
        try:
            addresses.add(str(ipaddress.ip_address(host)))
        except ValueError:
            names.add(host.lower())
    return sorted(names), sorted(addresses)


def new_server_cert(root: KeyPair, settings: CaSettings, hosts: Sequence[str],
                    now: Optional[datetime.datetime] = None) -> KeyPair:
    settings.check()
    names, addresses = split_hosts(hosts)
    if not names and not addresses:
        raise CaError("a gateway certificate needs at least one host name or address")
    now = now or utcnow()
    key = rsa.generate_private_key(public_exponent=65537, key_size=settings.key_size)
    common = (names or addresses)[0]
    sans = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    usage = x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                          data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                          encipher_only=False, decipher_only=False)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, settings.organization),
                                        x509.NameAttribute(NameOID.COMMON_NAME, common[:64])]))
               .issuer_name(root.cert.subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - cacerts.BACKDATE)
               .not_valid_after(min(now + datetime.timedelta(days=settings.validity_days),
                                    root.cert.not_valid_after_utc))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(usage, critical=True)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
               .add_extension(x509.SubjectAlternativeName(sans), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root.key.public_key()),
                              critical=False))
    return KeyPair(builder.sign(root.key, hashes.SHA256()), key)


def cert_hosts(cert: Any) -> Tuple[List[str], List[str]]:
    """(DNS names, IP addresses) of a certificate's subjectAltName."""
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    return (sorted(n.lower() for n in sans.get_values_for_type(x509.DNSName)),
            sorted(str(a) for a in sans.get_values_for_type(x509.IPAddress)))


def judge(secret: Mapping[str, Any], hosts: Sequence[str], root: Optional[KeyPair],
          now: Optional[datetime.datetime] = None) -> List[str]:
    """What keeps the Secret from serving ``hosts`` (issued by ``root`` when given); empty when it fits."""
    now = now or utcnow()
    files = cacerts.secret_files(secret)
    missing = [key for key in (TLS_CRT, TLS_KEY) if not files.get(key)]
    if missing:
        return ["it lacks %s" % ", ".join(missing)]
    try:
        cert = cacerts._load_cert(files[TLS_CRT], TLS_CRT)  # pylint: disable=protected-access
        key = cacerts._load_key(files[TLS_KEY], TLS_KEY)  # pylint: disable=protected-access
    except CaError as exc:
        return [str(exc)]
    problems = []
    if not cacerts._same_public_key(cert, key):  # pylint: disable=protected-access
        problems.append("its %s does not belong to its %s" % (TLS_KEY, TLS_CRT))
    names, addresses = split_hosts(hosts)
    have_names, have_addresses = cert_hosts(cert)
    uncovered = sorted(set(names) - set(have_names)) + sorted(set(addresses) - set(have_addresses))
    if uncovered:
        problems.append("its certificate does not cover %s" % ", ".join(uncovered))
    if root is not None and not cacerts.issued_by(cert, root.cert):
        problems.append("its certificate was not issued by the mesh's root (sha256 %s)" % root.fingerprint)
    left = cert.not_valid_after_utc - now
    if left <= (cert.not_valid_after_utc - cert.not_valid_before_utc) / 10:
        problems.append("its certificate expires on %s" % cert.not_valid_after_utc.isoformat())
    return problems


def tls_secret(name: str, namespace: str, cert_pem: bytes, key_pem: bytes, ca_pem: bytes) -> Dict[str, Any]:
    data = {TLS_CRT: cert_pem, TLS_KEY: key_pem}
    if ca_pem:
        data[CA_CRT] = ca_pem
    return {"apiVersion": "v1", "kind": "Secret", "type": TLS_SECRET_TYPE,
            "metadata": {"name": name, "namespace": namespace,
                         "labels": {"app.kubernetes.io/managed-by": "servicemesh.istio"}},
            "data": {key: base64.b64encode(value).decode("ascii") for key, value in data.items()}}


@dataclass
class CertificateRequest:
    name: str
    namespace: str = "istio-system"
    hosts: List[str] = field(default_factory=list)
    cert_pem: str = ""      # a given certificate (chain) and key, instead of one issued from the root
    key_pem: str = ""
    ca_pem: str = ""
    replace: bool = False
    create_namespace: bool = False
    settings: CaSettings = field(default_factory=CaSettings)

    @property
    def key(self) -> UnitKey:
        return UnitKey(UNIT_KIND, self.name, self.namespace)

    def check(self) -> None:
        if not split_hosts(self.hosts)[0] and not split_hosts(self.hosts)[1]:
            raise CaError("hosts must name at least one host name or address the certificate is for")
        if bool(self.cert_pem) != bool(self.key_pem):
            raise CaError("a given certificate needs its key (cert and key together)")


def _given(request: CertificateRequest) -> Dict[str, Any]:
    secret = tls_secret(request.name, request.namespace, request.cert_pem.encode("utf-8"),
                        request.key_pem.encode("utf-8"), request.ca_pem.encode("utf-8"))
    problems = judge(secret, request.hosts, None)
    if problems:
        raise CaError("the given certificate cannot serve %s: %s" % (", ".join(request.hosts), "; ".join(problems)))
    return secret


def decide(live: Optional[Mapping[str, Any]], managed: bool, request: CertificateRequest,
           root: Optional[KeyPair]) -> Tuple[str, List[str]]:
    """``keep``, ``write`` (a given certificate: the Secret then says it) or ``issue``, with the problems
    of the live Secret; an error for one found in place that does not fit, unless ``replace``."""
    if request.cert_pem:
        return "write", []
    if live is None:
        return "issue", []
    problems = judge(live, request.hosts, root if managed else None)
    if not problems:
        return "keep", []
    if not managed and not request.replace:
        raise CaError("secret %s/%s exists, was not made by this collection and is not kept: %s. Nothing was "
                      "changed; set replace to issue a certificate from the mesh's root in its place"
                      % (request.namespace, request.name, "; ".join(problems)))
    return "issue", problems


def ensure_certificate(cluster: Any, root: Optional[KeyPair], request: CertificateRequest,
                       options: lifecycle.Options) -> lifecycle.Outcome:
    request.check()
    must_create_namespace = lifecycle.namespace_missing(cluster, request.namespace, request.create_namespace)
    live = None if must_create_namespace else cluster.get(ObjectRef.of("v1", "Secret", request.name,
                                                                       request.namespace))
    managed = not must_create_namespace and inventory.load(cluster, request.namespace, UNIT_KIND,
                                                           request.name) is not None
    action, problems = decide(live, managed, request, root)
    outcome = lifecycle.Outcome()
    facts: Dict[str, Any] = {"name": request.name, "namespace": request.namespace, "problems": problems}
    if action == "keep":
        outcome.facts = dict(facts, status="unchanged", managed=managed, **_describe(live))
        return outcome
    if action == "write":
        secret = _given(request)
    else:
        if root is None:
            raise CaError("a root CA is needed to issue the gateway certificate")
        issued = new_server_cert(root, request.settings, request.hosts)
        secret = tls_secret(request.name, request.namespace, issued.cert_pem(), issued.key_pem(), root.cert_pem())
    if must_create_namespace:
        outcome.results.append(lifecycle.create_namespace(cluster, request.namespace, options))
    outcome.results.append(sync_unit(cluster, request.key, [secret], check_mode=options.check_mode,
                                     force_conflicts=options.force_conflicts or (live is not None and request.replace)
                                     or managed,
                                     metadata={"hosts": sorted(request.hosts), "given": action == "write"}))
    status = "unchanged" if not outcome.changed else ("replaced" if live is not None else "created")
    outcome.facts = dict(facts, status=status, managed=True, **_describe(secret))
    return outcome


def _describe(secret: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    files = cacerts.secret_files(secret or {})
    try:
        cert = cacerts._load_cert(files.get(TLS_CRT) or b"", TLS_CRT)  # pylint: disable=protected-access
    except CaError:
        return {}
    names, addresses = cert_hosts(cert)
    return {"fingerprint": cacerts.cert_fingerprint(cert), "not_after": cert.not_valid_after_utc.isoformat(),
            "hosts": names + addresses}


def remove_certificate(cluster: Any, name: str, namespace: str, options: lifecycle.Options) -> lifecycle.Outcome:
    outcome = lifecycle.Outcome()
    outcome.results.append(remove_unit(cluster, UnitKey(UNIT_KIND, name, namespace), check_mode=options.check_mode))
    outcome.facts = {"name": name, "namespace": namespace, "status": "absent"}
    return outcome
