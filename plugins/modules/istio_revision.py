#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: istio_revision
short_description: Install, upgrade or remove one Istio control-plane revision
version_added: 0.1.0
description:
  - Renders the istiod chart (and the Istio CRDs and, for the revision C(default), the cluster-wide default
    validator from the base chart) and applies it with server-side apply, then waits for istiod.
  - The revision name comes from O(name), O(version) and the update strategy as the Sail Operator names
    IstioRevisions, or from O(revision).
  - With the same inputs a second run changes nothing and sends no writes.
author: servicemesh.istio maintainers (@servicemesh-istio)
extends_documentation_fragment:
  - servicemesh.istio.attributes
  - servicemesh.istio.control_plane
  - servicemesh.istio.chart_source
  - servicemesh.istio.cluster_change
  - kubernetes.core.k8s_auth_options
  - servicemesh.istio.connection
options:
  state:
    description:
      - C(present) installs or upgrades the revision; C(absent) removes what it created.
      - Removal is refused while namespaces, pods or tags use the revision, unless O(force).
    type: str
    choices: [present, absent]
    default: present
  force:
    description: Remove the revision even while it is in use.
    type: bool
    default: false
  remove_crds:
    description:
      - With O(state=absent), also delete the Istio CRDs this collection created, once no revision is left.
      - Refused while any custom resource of those kinds exists (deleting a CRD deletes them all), unless O(force).
    type: bool
    default: false
  install_crds:
    description: Apply the Istio CRDs from the base chart first (CRDs from a newer Istio are never downgraded).
    type: bool
    default: true
  include_base:
    description:
      - Also apply the base chart's cluster-wide default validator pointing at this revision.
      - Defaults to true for the revision C(default) only, as the reference operator does.
    type: bool
  create_namespace:
    description: Create O(namespace) if it does not exist (it is never deleted by this collection).
    type: bool
    default: false
  tags:
    description:
      - Revision tags the caller will point at this revision next (the C(control_plane) role passes its
        C(istio_tags)). They are only checked here, before anything is written (valid names, none named like
        the revision); M(servicemesh.istio.istio_revision_tag) installs them.
    type: list
    elements: str
    default: []
  allow_selector_overlap:
    description:
      - Install even when a namespace of the cluster is selected both by this control plane's
        C(meshConfig.discoverySelectors) and by another control plane's (a control plane without selectors
        selects all). Without it that is refused, naming the namespaces; selectors that could select the same
        namespace but have none in common on the cluster are allowed.
    type: bool
    default: false
seealso:
  - module: servicemesh.istio.istio_revision_tag
    description: Point a tag such as C(default) at the revision this module installs.
  - module: servicemesh.istio.istio_prune
    description: Remove the revisions an upgrade leaves behind, once nothing uses them.
  - module: servicemesh.istio.istio_info
    description: See the revisions, what uses them and whether they are ready.
  - module: servicemesh.istio.istio_manifest
    description: Render the same revision to a file, without a cluster.
  - name: Istio canary upgrades
    link: https://istio.io/latest/docs/setup/upgrade/canary/
    description: Revisions and tags, as Istio documents them.
requirements:
  - helm-python-sdk
  - kubernetes
  - PyYAML
"""

EXAMPLES = r"""
- name: Canary revision beside the running one
  servicemesh.istio.istio_revision:
    name: default
    version: v1.30.3
    update_strategy:
      type: RevisionBased
    values:
      meshConfig:
        discoverySelectors:
          - matchLabels:
              istio-discovery: enabled

- name: Remove an old revision once nothing uses it
  servicemesh.istio.istio_revision:
    revision: default-v1-29-6
    state: absent
"""

RETURN = r"""
revision:
  description: The revision name.
  returned: always
  type: str
  sample: default-v1-30-3
version:
  description: The resolved Istio version.
  returned: when state is present
  type: str
values:
  description: The merged values the revision was rendered with.
  returned: when state is present
  type: dict
upgraded:
  description: Whether the revision existed before this run.
  returned: when state is present
  type: bool
objects:
  description: One entry per object with its action (created, updated, unchanged, deleted, released).
  returned: always
  type: list
  elements: dict
usage:
  description: What used the revision when it was removed (something only when O(force) removed it while in use).
  returned: when state is absent and the revision existed
  type: dict
namespace:
  description: The control plane's namespace.
  returned: when state is present
  type: str
  sample: istio-system
removed:
  description: Whether the revision was there to remove (or would be removed, in check mode).
  returned: when state is absent
  type: bool
crds_removed:
  description:
    - The Istio CRDs deleted, whichever control plane's namespace recorded them; empty when every CRD was there
      before this collection (those are released and kept).
  returned: when state is absent, O(remove_crds) is set and the collection had recorded the CRDs
  type: list
  elements: str
"""

from ansible_collections.servicemesh.istio.plugins.module_utils._module import IstioModule

from ansible_collections.servicemesh.istio.plugins.module_utils._args import (
    CHANGE_ARGS, CHART_SOURCE_ARGS, CONTROL_PLANE_ARGS, argument_spec)
from ansible_collections.servicemesh.istio.plugins.module_utils._runners.revision import run_revision
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import CONNECTION_ARG_SPEC


def main():
    module = IstioModule(
        argument_spec=argument_spec(
            CONTROL_PLANE_ARGS, CHART_SOURCE_ARGS, CHANGE_ARGS, CONNECTION_ARG_SPEC,
            state={"type": "str", "choices": ["present", "absent"], "default": "present"},
            force={"type": "bool", "default": False}, install_crds={"type": "bool", "default": True},
            remove_crds={"type": "bool", "default": False},
            include_base={"type": "bool"}, create_namespace={"type": "bool", "default": False},
            allow_selector_overlap={"type": "bool", "default": False},
            tags={"type": "list", "elements": "str", "default": []}),
        supports_check_mode=True,
    )
    run_revision(module)


if __name__ == "__main__":
    main()
