#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: istio_prune
short_description: Remove a control plane's inactive revisions once nothing uses them
version_added: 0.1.0
description:
  - Removes revisions of a control plane that are not active, not in use (by namespaces, running pods or tags),
    and have been unused for at least the grace period.
  - The time a revision was first seen unused is recorded in its inventory record, so the grace period spans
    separate runs. A revision that is used again starts over.
  - Pods that have finished (C(Succeeded) or C(Failed)) do not hold a revision.
  - Revisions with C(EXTERNAL_ISTIOD) are kept, as their use on remote clusters cannot be seen.
author: servicemesh.istio maintainers (@servicemesh-istio)
extends_documentation_fragment:
  - servicemesh.istio.attributes
  - servicemesh.istio.cluster_change
  - kubernetes.core.k8s_auth_options
  - servicemesh.istio.connection
options:
  name:
    description: The control plane.
    type: str
    default: default
  namespace:
    description: The control plane's namespace.
    type: str
    default: istio-system
  grace_period_seconds:
    description: Overrides the grace period recorded with the control plane's update strategy.
    type: int
  force:
    description: Remove inactive revisions even while they are in use or in their grace period. Never the active one.
    type: bool
    default: false
  mesh_clusters:
    description:
      - The mesh's other clusters, each with a C(name) and the same connection options as this module
        (C(kubeconfig), C(context), C(host), C(api_key), ...).
      - Use on those clusters (namespaces, pods and tags referencing the revision) keeps a revision too, and
        revisions with C(EXTERNAL_ISTIOD), which are otherwise never pruned, may then be pruned.
    type: list
    elements: dict
    suboptions:
      name:
        description: The cluster's name in the mesh (used in the reasons a revision is kept).
        type: str
        required: true
      kubeconfig:
        description: Path to a kubeconfig file, or its content as a dictionary.
        type: raw
      context:
        description: The kubeconfig context.
        type: str
      host:
        description: The API server URL.
        type: str
      api_key:
        description: A bearer token.
        type: str
      validate_certs:
        description: Whether to verify the API server's certificate.
        type: bool
      ca_cert:
        description: The CA bundle that signs the API server's certificate.
        type: path
      client_cert:
        description: A client certificate.
        type: path
      client_key:
        description: The client certificate's key.
        type: path
seealso:
  - module: servicemesh.istio.istio_revision
    description: Install the revision that replaces the pruned ones.
  - module: servicemesh.istio.istio_info
    description: See what still uses a revision.
"""

EXAMPLES = r"""
- name: Prune what the canary upgrade left behind
  servicemesh.istio.istio_prune:
    name: default
  register: pruned

- ansible.builtin.debug:
    msg: "{{ pruned.decisions }}"
"""

RETURN = r"""
active_revision:
  description: The control plane's active revision.
  returned: always
  type: str
decisions:
  description: For each revision, C(keep) or C(prune), why, what holds it, and when it may be pruned.
  returned: always
  type: list
  elements: dict
pruned:
  description: The revisions removed (or that would be, in check mode).
  returned: always
  type: list
  elements: str
next_prune_at:
  description: The earliest time a kept revision may be pruned, if any.
  returned: always
  type: str
objects:
  description: One entry per object of the pruned revisions (and the records of the kept ones) with its action.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.servicemesh.istio.plugins.module_utils._module import IstioModule

from ansible_collections.servicemesh.istio.plugins.module_utils._args import CHANGE_ARGS, argument_spec
from ansible_collections.servicemesh.istio.plugins.module_utils._runners.revision import run_prune
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import CONNECTION_ARG_SPEC


# The connection options most inventories use, per cluster; secrets are never logged.
MESH_CLUSTER_OPTIONS = {
    "name": {"type": "str", "required": True},
    "kubeconfig": {"type": "raw", "no_log": True},
    "context": {"type": "str"},
    "host": {"type": "str"},
    "api_key": {"type": "str", "no_log": True},
    "validate_certs": {"type": "bool"},
    "ca_cert": {"type": "path"},
    "client_cert": {"type": "path"},
    "client_key": {"type": "path"},
}


def main():
    module = IstioModule(
        argument_spec=argument_spec(
            CHANGE_ARGS, CONNECTION_ARG_SPEC, name={"type": "str", "default": "default"},
            namespace={"type": "str", "default": "istio-system"}, grace_period_seconds={"type": "int"},
            force={"type": "bool", "default": False},
            mesh_clusters={"type": "list", "elements": "dict", "options": MESH_CLUSTER_OPTIONS}),
        supports_check_mode=True,
    )
    run_prune(module)


if __name__ == "__main__":
    main()
