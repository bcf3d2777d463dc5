#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: istio_cacerts
short_description: A cluster's intermediate CA, issued from a root shared by the whole mesh
version_added: 0.1.0
description:
  - Writes the C(cacerts) Secret istiod's plug-in CA reads (C(ca-cert.pem), C(ca-key.pem), C(root-cert.pem),
    C(cert-chain.pem)) in the control plane namespace, so that the clusters of a multi-cluster mesh trust
    each other.
  - The intermediate CA follows the OpenSSL recipe of the Istio multi-cluster guides, done with the Python
    C(cryptography) package; see the notes.
  - An existing C(cacerts) that chains to the supplied root and has not expired is kept, and nothing is written.
    One that does not (another root, a broken chain, a key that does not match, expired) makes the module fail
    before any change, unless O(replace) is set.
  - The root comes from variables (O(root_cert), O(root_key)) or files (O(root_cert_file), O(root_key_file));
    with O(create_root) a new root is made in those files when both are missing. Several clusters can run
    this at once, as making the root is serialised with a lock file beside O(root_key_file).
  - Private keys are never returned or logged; the diff shows digests instead of the Secret's content.
author: servicemesh.istio maintainers (@servicemesh-istio)
extends_documentation_fragment:
  - servicemesh.istio.attributes
  - servicemesh.istio.cluster_change
  - kubernetes.core.k8s_auth_options
  - servicemesh.istio.connection
options:
  state:
    description:
      - C(present) issues the intermediate CA unless a valid one is there; C(absent) deletes the Secret if this
        collection created it (one that was there before is left alone).
    type: str
    choices: [present, absent]
    default: present
  namespace:
    description: The control plane namespace.
    type: str
    default: istio-system
  secret_name:
    description: The Secret's name.
    type: str
    default: cacerts
  cluster_name:
    description: The cluster's name, written as the locality (C(L=)) of the intermediate CA's subject.
    type: str
  dns_names:
    description: The intermediate CA's DNS names. Defaults to C(istiod.<namespace>.svc).
    type: list
    elements: str
  replace:
    description:
      - Issue a new intermediate CA from the supplied root even though a C(cacerts) exists that does not chain
        to it (or is broken or expired). Workload certificates are re-issued by istiod afterwards.
    type: bool
    default: false
  create_namespace:
    description: Create O(namespace) if it does not exist.
    type: bool
    default: false
  root_cert:
    description: The root CA certificate (PEM). Goes with O(root_key).
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
    description:
      - Make a new root CA in O(root_cert_file) and O(root_key_file) when both are missing (the key file is
        written with mode 0600). When only one of them exists the module fails.
    type: bool
    default: false
  key_size:
    description:
      - RSA key size of new CAs, the root included. The guides use 4096; smaller keys are quicker to make
        (tests use 2048).
    type: int
    choices: [2048, 3072, 4096]
    default: 4096
  validity_days:
    description: How long new CAs are valid; an intermediate never outlives its root.
    type: int
    default: 3650
  organization:
    description: The organisation (C(O=)) of new CAs' subjects.
    type: str
    default: Istio
notes:
  - "Root: subject C(O=Istio, CN=Root CA), self-signed, SHA-256, critical C(CA:true), critical keyUsage
    digitalSignature, nonRepudiation, keyEncipherment, keyCertSign, and a subject key identifier."
  - "Intermediate: subject C(O=Istio, CN=Intermediate CA, L=<cluster_name>), signed by the root, critical
    C(CA:true, pathlen:0), the same keyUsage, a subjectAltName with O(dns_names), subject and authority key
    identifiers."
  - Validity starts five minutes before issue, so that a cluster whose clock is slightly behind accepts it.
seealso:
  - module: servicemesh.istio.istio_remote_secret
    description: Let each cluster's istiod read the others, once they share a root.
  - module: servicemesh.istio.istio_gateway
    description: The east-west gateways that carry traffic between the clusters.
  - name: Plug in CA certificates
    link: https://istio.io/latest/docs/tasks/security/cert-management/plugin-ca-cert/
    description: The C(cacerts) Secret this module makes.
requirements:
  - cryptography
  - kubernetes
"""

EXAMPLES = r"""
- name: One root for the mesh, made on the first run and kept on the controller
  servicemesh.istio.istio_cacerts:
    cluster_name: east
    root_cert_file: "{{ playbook_dir }}/mesh-ca/root-cert.pem"
    root_key_file: "{{ playbook_dir }}/mesh-ca/root-key.pem"
    create_root: true

- name: A root from a vault
  servicemesh.istio.istio_cacerts:
    cluster_name: west
    root_cert: "{{ vault_mesh_root_cert }}"
    root_key: "{{ vault_mesh_root_key }}"

- name: Rotate to a new root on purpose
  servicemesh.istio.istio_cacerts:
    cluster_name: west
    root_cert: "{{ new_root_cert }}"
    root_key: "{{ new_root_key }}"
    replace: true
"""

RETURN = r"""
status:
  description: C(created), C(replaced), C(unchanged) or C(absent).
  returned: always
  type: str
managed:
  description: Whether this collection created the Secret (and removes it with O(state=absent)).
  returned: when state is present
  type: bool
root_fingerprint:
  description: SHA-256 fingerprint of the root certificate.
  returned: when state is present
  type: str
intermediate_fingerprint:
  description: SHA-256 fingerprint of the cluster's intermediate CA certificate.
  returned: when state is present
  type: str
not_after:
  description: When the intermediate CA expires.
  returned: when state is present
  type: str
root_created:
  description: Whether a new root was made in O(root_cert_file) and O(root_key_file).
  returned: when state is present
  type: bool
objects:
  description: One entry per object with its action.
  returned: always
  type: list
  elements: dict
namespace:
  description: The namespace of the C(cacerts) Secret.
  returned: always
  type: str
  sample: istio-system
secret_name:
  description: The name of the Secret.
  returned: always
  type: str
  sample: cacerts
"""

from ansible_collections.servicemesh.istio.plugins.module_utils._module import IstioModule

from ansible_collections.servicemesh.istio.plugins.module_utils._args import CHANGE_ARGS, argument_spec
from ansible_collections.servicemesh.istio.plugins.module_utils._runners.multicluster import STATE_ARG, run_cacerts
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import CONNECTION_ARG_SPEC


def main():
    module = IstioModule(
        argument_spec=argument_spec(
            CHANGE_ARGS, CONNECTION_ARG_SPEC, state=STATE_ARG,
            namespace={"type": "str", "default": "istio-system"}, secret_name={"type": "str", "default": "cacerts"},
            cluster_name={"type": "str"}, dns_names={"type": "list", "elements": "str"},
            replace={"type": "bool", "default": False}, create_namespace={"type": "bool", "default": False},
            root_cert={"type": "str"}, root_key={"type": "str", "no_log": True},
            root_cert_file={"type": "path"}, root_key_file={"type": "path", "no_log": False},
            create_root={"type": "bool", "default": False},
            key_size={"type": "int", "choices": [2048, 3072, 4096], "default": 4096, "no_log": False},
            validity_days={"type": "int", "default": 3650}, organization={"type": "str", "default": "Istio"}),
        mutually_exclusive=[("root_cert", "root_cert_file"), ("root_key", "root_key_file")],
        required_together=[("root_cert", "root_key"), ("root_cert_file", "root_key_file")],
        supports_check_mode=True,
    )
    run_cacerts(module)


if __name__ == "__main__":
    main()
