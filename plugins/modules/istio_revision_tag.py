#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: istio_revision_tag
short_description: Point a revision tag at a control-plane revision
version_added: 0.1.0
description:
  - A tag is a stable name (C(prod), C(canary), C(default)) that namespaces use in C(istio.io/rev); moving it
    to another revision moves every namespace that uses it, after their pods restart. Moving is one idempotent call.
  - The tag C(default) also owns the cluster-wide default validator and serves C(istio-injection=enabled),
    which a RevisionBased control plane cannot do without it.
  - Tags never point at remote revisions, and a tag cannot share its name with a revision.
author: servicemesh.istio maintainers (@servicemesh-istio)
extends_documentation_fragment:
  - servicemesh.istio.attributes
  - servicemesh.istio.chart_source
  - servicemesh.istio.cluster_change
  - kubernetes.core.k8s_auth_options
  - servicemesh.istio.connection
options:
  name:
    description: The tag.
    type: str
    default: default
  revision:
    description: The revision to point at. Give this or O(control_plane).
    type: str
  control_plane:
    description: Point at this control plane's active revision.
    type: str
  namespace:
    description: The namespace of O(control_plane), when several control planes share a name.
    type: str
  state:
    description: C(absent) removes the tag; refused while namespaces use it unless O(force).
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - With O(state=absent), remove the tag even while namespaces use it.
      - With O(state=present), take the tag from another control plane (its namespaces then follow this one).
    type: bool
    default: false
seealso:
  - module: servicemesh.istio.istio_revision
    description: Install the revision a tag points at.
  - module: servicemesh.istio.istio_info
    description: See the tags and the namespaces that use them.
  - name: Istio canary upgrades
    link: https://istio.io/latest/docs/setup/upgrade/canary/
    description: How revision tags move workloads between revisions.
requirements:
  - helm-python-sdk
  - kubernetes
"""

EXAMPLES = r"""
- name: Make istio-injection=enabled use the new revision
  servicemesh.istio.istio_revision_tag:
    name: default
    control_plane: default

- name: A prod tag on an explicit revision
  servicemesh.istio.istio_revision_tag:
    name: prod
    revision: default-v1-30-3
"""

RETURN = r"""
tag:
  description: The tag.
  returned: always
  type: str
revision:
  description: The revision the tag points at.
  returned: when state is present
  type: str
previous_revision:
  description: The revision the tag pointed at before this run, if any.
  returned: when state is present
  type: str
objects:
  description: One entry per object with its action.
  returned: always
  type: list
  elements: dict
namespace:
  description: The namespace of the revision the tag points at, where the tag's objects live.
  returned: when state is present
  type: str
  sample: istio-system
removed:
  description: Whether the tag was there to remove (or would be removed, in check mode).
  returned: when state is absent
  type: bool
"""

from ansible_collections.servicemesh.istio.plugins.module_utils._module import IstioModule

from ansible_collections.servicemesh.istio.plugins.module_utils._args import (
    CHANGE_ARGS, CHART_SOURCE_ARGS, argument_spec)
from ansible_collections.servicemesh.istio.plugins.module_utils._runners.revision import run_revision_tag
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import CONNECTION_ARG_SPEC


def main():
    module = IstioModule(
        argument_spec=argument_spec(
            CHART_SOURCE_ARGS, CHANGE_ARGS, CONNECTION_ARG_SPEC,
            name={"type": "str", "default": "default"}, revision={"type": "str"}, control_plane={"type": "str"},
            namespace={"type": "str"}, state={"type": "str", "choices": ["present", "absent"], "default": "present"},
            force={"type": "bool", "default": False}),
        mutually_exclusive=[("revision", "control_plane")],
        required_if=[("state", "present", ("revision", "control_plane"), True)],
        supports_check_mode=True,
    )
    run_revision_tag(module)


if __name__ == "__main__":
    main()
