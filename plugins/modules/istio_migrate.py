#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: istio_migrate
short_description: Move workloads to a control plane's revision in batches, restarting and waiting for them
version_added: 0.2.0
description:
  - The second half of a canary upgrade. With O(move=tag) the tag O(tag) is pointed at the revision and the
    namespaces that name the tag are restarted; with O(move=namespaces) the namespaces in O(namespaces) are
    labelled C(istio.io/rev=<revision>) (their C(istio-injection) label, which would win, is removed).
  - Namespaces go in batches of O(batch_size). In each batch the workloads of kinds O(restart_kinds) are restarted
    as C(kubectl rollout restart) does, and the batch is waited for until every running pod in it carries the
    revision, on a wall-clock deadline of O(wait_timeout) seconds. The first batch that does not finish stops the
    run; the error names the batch, the pods still on another revision, and the batches done and untouched.
  - Namespaces whose running pods already carry the revision are not restarted, so a second run changes nothing,
    and a run after a failure restarts only what still needs it.
author: servicemesh.istio maintainers (@servicemesh-istio)
extends_documentation_fragment:
  - servicemesh.istio.attributes
  - servicemesh.istio.chart_source
  - servicemesh.istio.cluster_change
  - kubernetes.core.k8s_auth_options
  - servicemesh.istio.connection
options:
  control_plane:
    description: The control plane whose active revision the workloads move to.
    type: str
    default: default
  namespace:
    description: The control plane's namespace.
    type: str
    default: istio-system
  revision:
    description: Move to this revision instead of the control plane's active one.
    type: str
  move:
    description: Move a tag (C(tag)) or relabel namespaces (C(namespaces)).
    type: str
    choices: [tag, namespaces]
    default: tag
  tag:
    description: With O(move=tag), the tag to move.
    type: str
    default: default
  namespaces:
    description:
      - The namespaces to move, in this order. Required with O(move=namespaces); with O(move=tag) it narrows the
        restart to these (by default every namespace whose labels name the tag).
    type: list
    elements: str
    default: []
  batch_size:
    description: How many namespaces move at a time.
    type: int
    default: 1
  restart:
    description: Restart the workloads so that their pods are injected by the revision.
    type: bool
    default: true
  restart_kinds:
    description: The kinds of workload restarted.
    type: list
    elements: str
    choices: [Deployment, StatefulSet, DaemonSet]
    default: [Deployment]
  wait_interval:
    description: Seconds between the checks of a batch's pods.
    type: int
    default: 2
seealso:
  - module: servicemesh.istio.istio_control_plane
    description: Install the new revision first, then prune the old one once this has moved everything.
  - module: servicemesh.istio.istio_revision_tag
    description: Move a tag without restarting anything.
  - name: Istio canary upgrades
    link: https://istio.io/latest/docs/setup/upgrade/canary/
    description: Moving workloads to a new revision by tag or by label.
requirements:
  - kubernetes
"""

EXAMPLES = r"""
- name: Move the default tag to the new revision, two namespaces at a time
  servicemesh.istio.istio_migrate:
    control_plane: default
    move: tag
    batch_size: 2
    wait_timeout: 300

- name: Move named namespaces to the new revision by label
  servicemesh.istio.istio_migrate:
    move: namespaces
    namespaces: [bookinfo, shop]
"""

RETURN = r"""
revision:
  description: The revision the workloads were moved to.
  returned: success
  type: str
  sample: default-v1-30-3
namespaces:
  description: The namespaces moved, in order.
  returned: success
  type: list
  elements: str
batches:
  description: For each batch, its namespaces, the ones relabelled and the workloads restarted (C(Kind ns/name)).
  returned: success
  type: list
  elements: dict
previous_revision:
  description: With O(move=tag), where the tag pointed before (null when it is new).
  returned: when move is tag
  type: str
objects:
  description: The tag's objects with their action (created, updated, unchanged), with O(move=tag).
  returned: success
  type: list
  elements: dict
"""

from ansible_collections.servicemesh.istio.plugins.module_utils._module import IstioModule

from ansible_collections.servicemesh.istio.plugins.module_utils._args import (
    CHANGE_ARGS, CHART_SOURCE_ARGS, argument_spec)
from ansible_collections.servicemesh.istio.plugins.module_utils._runners.migrate import run_migrate
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import CONNECTION_ARG_SPEC


def main():
    module = IstioModule(
        argument_spec=argument_spec(
            CHART_SOURCE_ARGS, CHANGE_ARGS, CONNECTION_ARG_SPEC,
            control_plane={"type": "str", "default": "default"}, namespace={"type": "str", "default": "istio-system"},
            revision={"type": "str"}, move={"type": "str", "choices": ["tag", "namespaces"], "default": "tag"},
            tag={"type": "str", "default": "default"}, namespaces={"type": "list", "elements": "str", "default": []},
            batch_size={"type": "int", "default": 1}, restart={"type": "bool", "default": True},
            restart_kinds={"type": "list", "elements": "str", "default": ["Deployment"],
                           "choices": ["Deployment", "StatefulSet", "DaemonSet"]},
            wait_interval={"type": "int", "default": 2}),
        supports_check_mode=True,
    )
    run_migrate(module)


if __name__ == "__main__":
    main()
