#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: istio_mtls
short_description: Strict or permissive mutual TLS for the whole mesh or for chosen namespaces
version_added: 0.2.0
description:
  - Applies a C(PeerAuthentication) named C(default) with C(spec.mtls.mode) set to O(mode). Without
    O(namespaces) it goes in the control plane's namespace O(namespace) (the root namespace), which makes it
    mesh-wide; with O(namespaces) it goes in each of them instead.
  - Before switching to C(STRICT) it reads the running pods in scope (every namespace but O(ignored_namespaces)
    mesh-wide, else the listed namespaces) and refuses, before any write and naming them, while any runs without a
    sidecar and outside ambient mode (C(istio.io/dataplane-mode=ambient) on the pod or its namespace), because under
    strict mTLS their plain-text requests to meshed workloads are dropped. O(allow_uninjected) switches anyway; the pods are
    still listed in RV(uninjected). The mesh's own pods (istiod, the CNI, ztunnel) and host-network pods do not count.
  - A C(PeerAuthentication) C(default) that someone else created is not overwritten (refused before any write)
    unless O(force); taken over that way, it is left in place on removal.
  - The policies are recorded in the ConfigMap C(servicemesh-istio-mtls-<name>) in O(namespace). A namespace dropped
    from O(namespaces) loses its policy; O(state=absent) deletes every policy this collection created, which makes
    the mesh permissive again (Istio's default).
author: servicemesh.istio maintainers (@servicemesh-istio)
extends_documentation_fragment:
  - servicemesh.istio.attributes
  - servicemesh.istio.cluster_change
  - kubernetes.core.k8s_auth_options
  - servicemesh.istio.connection
options:
  mode:
    description: The mTLS mode the workloads in scope accept.
    type: str
    choices: [STRICT, PERMISSIVE]
    default: STRICT
  namespace:
    description:
      - The control plane's namespace (its root namespace); the mesh-wide policy and the record go there. It must
        exist.
    type: str
    default: istio-system
  namespaces:
    description:
      - The namespaces to set the mode for, each with a policy of its own. Empty means mesh-wide. They must exist.
    type: list
    elements: str
    default: []
  name:
    description: The setting's name (its record); two settings never remove each other's policies.
    type: str
    default: default
  state:
    description: C(absent) deletes the policies this setting created.
    type: str
    choices: [present, absent]
    default: present
  allow_uninjected:
    description: Switch to C(STRICT) even while pods in scope run without a sidecar.
    type: bool
    default: false
  ignored_namespaces:
    description: Namespaces whose pods are not checked for a sidecar when the policy is mesh-wide.
    type: list
    elements: str
    default: [kube-system, kube-public, kube-node-lease]
  force:
    description: Take over a C(PeerAuthentication) C(default) that someone else created.
    type: bool
    default: false
notes:
  - O(wait) and O(wait_timeout) only apply to removal.
seealso:
  - module: servicemesh.istio.istio_report
    description: See which namespaces and pods are injected before switching.
  - name: PeerAuthentication
    link: https://istio.io/latest/docs/reference/config/security/peer_authentication/
    description: The Istio resource this module applies.
requirements:
  - kubernetes
"""

EXAMPLES = r"""
- name: Strict mTLS for the whole mesh (refused while pods without a sidecar run)
  servicemesh.istio.istio_mtls:
    namespace: istio-system
    mode: STRICT

- name: Strict mTLS for two namespaces only, even with pods there that are not injected yet
  servicemesh.istio.istio_mtls:
    name: shop
    namespaces: [shop, payments]
    allow_uninjected: true

- name: Back to permissive for the whole mesh
  servicemesh.istio.istio_mtls:
    mode: PERMISSIVE

- name: Remove the policies this collection created
  servicemesh.istio.istio_mtls:
    state: absent
"""

RETURN = r"""
mode:
  description: The mode applied (C(STRICT) or C(PERMISSIVE)); null after removal.
  returned: always
  type: str
mesh_wide:
  description: Whether the policy is the mesh-wide one (no O(namespaces)).
  returned: always
  type: bool
namespaces:
  description: The namespaces that hold a policy of this setting (the root namespace when mesh-wide).
  returned: always
  type: list
  elements: str
uninjected:
  description: The running pods in scope without a sidecar and outside ambient mode, as C(namespace/name).
  returned: always
  type: list
  elements: str
adopted:
  description: Policies someone else had created and that O(force) took over.
  returned: always
  type: list
  elements: str
objects:
  description: One entry per policy (and the record) with its action.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.servicemesh.istio.plugins.module_utils._module import IstioModule

from ansible_collections.servicemesh.istio.plugins.module_utils._args import CHANGE_ARGS, argument_spec
from ansible_collections.servicemesh.istio.plugins.module_utils._mtls import SYSTEM_NAMESPACES
from ansible_collections.servicemesh.istio.plugins.module_utils._runners.mtls import run_mtls
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import CONNECTION_ARG_SPEC


def main():
    module = IstioModule(
        argument_spec=argument_spec(
            CHANGE_ARGS, CONNECTION_ARG_SPEC,
            mode={"type": "str", "choices": ["STRICT", "PERMISSIVE"], "default": "STRICT"},
            namespace={"type": "str", "default": "istio-system"},
            namespaces={"type": "list", "elements": "str", "default": []},
            name={"type": "str", "default": "default"},
            state={"type": "str", "choices": ["present", "absent"], "default": "present"},
            allow_uninjected={"type": "bool", "default": False},
            ignored_namespaces={"type": "list", "elements": "str", "default": list(SYSTEM_NAMESPACES)},
            force={"type": "bool", "default": False}),
        supports_check_mode=True,
    )
    run_mtls(module)


if __name__ == "__main__":
    main()
