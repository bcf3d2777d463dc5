#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: istio_gateway_certificate
short_description: A gateway's TLS certificate Secret, given or issued from the mesh's root
version_added: 0.2.0
description:
  - Writes the C(kubernetes.io/tls) Secret (C(tls.crt), C(tls.key), C(ca.crt)) a Gateway's C(credentialName)
    names, for example the external control plane's ingress gateway that terminates TLS for the external istiod
    (M(servicemesh.istio.istio_gateway) with O(servicemesh.istio.istio_gateway#module:expose_istiod.tls)).
  - With O(cert) and O(key), that certificate is stored (it must cover O(hosts)). Otherwise a server certificate
    for O(hosts) is issued from the mesh's root (as M(servicemesh.istio.istio_cacerts) takes it), so that proxies
    trusting that root trust the gateway.
  - A Secret this module wrote is kept while it covers O(hosts), was issued by the root and is not in the last
    tenth of its validity; otherwise it is re-issued. A Secret found in place is kept when it covers O(hosts);
    one that does not makes the module fail before any change, unless O(replace).
  - Private keys are never returned or logged; the diff shows digests instead of the Secret's content.
author: servicemesh.istio maintainers (@servicemesh-istio)
extends_documentation_fragment:
  - servicemesh.istio.attributes
  - servicemesh.istio.cluster_change
  - kubernetes.core.k8s_auth_options
  - servicemesh.istio.connection
options:
  state:
    description: C(present) writes or issues the Secret; C(absent) deletes it if this collection wrote it.
    type: str
    choices: [present, absent]
    default: present
  name:
    description: The Secret's name (the Gateway's C(credentialName)).
    type: str
    required: true
  namespace:
    description: The gateway's namespace, where the Secret goes.
    type: str
    default: istio-system
  hosts:
    description:
      - The host names and IP addresses the certificate is for (its subjectAltName). Required with O(state=present).
    type: list
    elements: str
  cert:
    description:
      - A certificate (PEM, the chain after it) to store instead of issuing one. Goes with O(key).
      - The root options are then not used (no root is read or made).
    type: str
  key:
    description: The private key of O(cert) (PEM, unencrypted).
    type: str
  cert_ca:
    description: The CA certificate (PEM) written as C(ca.crt) beside a given O(cert).
    type: str
  replace:
    description: Issue a certificate in place of a Secret found there (not written by this collection) that does not fit.
    type: bool
    default: false
  create_namespace:
    description: Create O(namespace) if it does not exist.
    type: bool
    default: false
  root_cert:
    description: The mesh's root CA certificate (PEM). Goes with O(root_key).
    type: str
  root_key:
    description: The root CA's private key (PEM, unencrypted). Goes with O(root_cert).
    type: str
  root_cert_file:
    description: A file holding the root CA certificate (PEM). Goes with O(root_key_file).
    type: path
  root_key_file:
    description: A file holding the root CA's private key (PEM). Goes with O(root_cert_file).
    type: path
  create_root:
    description: Make a new root CA in O(root_cert_file) and O(root_key_file) when both are missing.
    type: bool
    default: false
  key_size:
    description: RSA key size of issued certificates (and of a new root).
    type: int
    choices: [2048, 3072, 4096]
    default: 4096
  validity_days:
    description: How long issued certificates are valid; never beyond the root.
    type: int
    default: 3650
  organization:
    description: The organisation (C(O=)) of issued certificates' subjects.
    type: str
    default: Istio
seealso:
  - module: servicemesh.istio.istio_gateway
    description: O(servicemesh.istio.istio_gateway#module:expose_istiod.tls) names this Secret.
  - module: servicemesh.istio.istio_cacerts
    description: The mesh's root and the clusters' intermediate CAs.
requirements:
  - cryptography
  - kubernetes
"""

EXAMPLES = r"""
- name: The external istiod's ingress certificate, issued from the mesh's root
  servicemesh.istio.istio_gateway_certificate:
    name: external-istiod-tls
    hosts: [istiod.example.com]
    root_cert_file: ~/.ansible/servicemesh.istio/mesh-ca/mesh1/root-cert.pem
    root_key_file: ~/.ansible/servicemesh.istio/mesh-ca/mesh1/root-key.pem

- name: A certificate from a public CA, from a vault
  servicemesh.istio.istio_gateway_certificate:
    name: external-istiod-tls
    hosts: [istiod.example.com]
    cert: "{{ vault_istiod_cert }}"
    key: "{{ vault_istiod_key }}"
"""

RETURN = r"""
status:
  description: C(created), C(replaced), C(unchanged) or C(absent).
  returned: always
  type: str
managed:
  description: Whether this collection wrote the Secret (and removes it with O(state=absent)).
  returned: when state is present
  type: bool
fingerprint:
  description: SHA-256 fingerprint of the certificate.
  returned: when state is present
  type: str
not_after:
  description: When the certificate expires.
  returned: when state is present
  type: str
hosts:
  description: The names and addresses the certificate covers.
  returned: when state is present
  type: list
  elements: str
problems:
  description: Why the Secret found was re-issued (empty when it was kept or new).
  returned: when state is present
  type: list
  elements: str
root_created:
  description: Whether a new root was made in O(root_cert_file) and O(root_key_file).
  returned: when state is present
  type: bool
objects:
  description: One entry per object with its action.
  returned: always
  type: list
  elements: dict
name:
  description: The Secret's name.
  returned: always
  type: str
namespace:
  description: The Secret's namespace.
  returned: always
  type: str
"""

from ansible_collections.servicemesh.istio.plugins.module_utils._module import IstioModule

from ansible_collections.servicemesh.istio.plugins.module_utils._args import CHANGE_ARGS, argument_spec
from ansible_collections.servicemesh.istio.plugins.module_utils._runners.multicluster import (
    STATE_ARG, run_gateway_certificate)
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import CONNECTION_ARG_SPEC


def main():
    module = IstioModule(
        argument_spec=argument_spec(
            CHANGE_ARGS, CONNECTION_ARG_SPEC, state=STATE_ARG, name={"type": "str", "required": True},
            namespace={"type": "str", "default": "istio-system"}, hosts={"type": "list", "elements": "str"},
            cert={"type": "str"}, key={"type": "str", "no_log": True}, cert_ca={"type": "str"},
            replace={"type": "bool", "default": False}, create_namespace={"type": "bool", "default": False},
            root_cert={"type": "str"}, root_key={"type": "str", "no_log": True},
            root_cert_file={"type": "path"}, root_key_file={"type": "path", "no_log": False},
            create_root={"type": "bool", "default": False},
            key_size={"type": "int", "choices": [2048, 3072, 4096], "default": 4096, "no_log": False},
            validity_days={"type": "int", "default": 3650}, organization={"type": "str", "default": "Istio"}),
        mutually_exclusive=[("root_cert", "root_cert_file"), ("root_key", "root_key_file")],
        required_together=[("root_cert", "root_key"), ("root_cert_file", "root_key_file"), ("cert", "key")],
        required_if=[("state", "present", ["hosts"])],
        supports_check_mode=True,
    )
    run_gateway_certificate(module)


if __name__ == "__main__":
    main()
