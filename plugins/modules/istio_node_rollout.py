#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: istio_node_rollout
short_description: Roll a DaemonSet with the OnDelete update strategy out one node at a time (ztunnel)
version_added: 0.1.0
description:
  - For each node that runs pods of the DaemonSet not on its current template, deletes those pods and waits until
    the replacement on that node is ready before going to the next node.
  - A pod is current when its C(pod-template-generation) label matches the DaemonSet's template generation or its
    C(controller-revision-hash) label matches the newest ControllerRevision, as the DaemonSet controller decides.
  - The first node whose replacement is not ready in time stops the rollout; the error names it and the nodes left.
  - The DaemonSet must update C(OnDelete) (for ztunnel, set the value C(ztunnel.updateStrategy.type) to C(OnDelete));
    with C(RollingUpdate) Kubernetes replaces the pods by itself.
  - One run at a time rolls a DaemonSet. Before its first delete a run takes the Lease the agent's install takes
    (C(servicemesh-istio-ztunnel-default) for ztunnel, C(servicemesh-istio-cni-default) for C(istio-cni-node);
    C(servicemesh-istio-rollout-<name>) for another DaemonSet) in O(namespace), so that a rollout and an upgrade of
    that agent take turns too. A second run waits for it up to O(wait_timeout), then reads the nodes again. The
    credentials need C(get), C(create), C(patch) and C(delete) on C(leases.coordination.k8s.io) there.
author: servicemesh.istio maintainers (@servicemesh-istio)
extends_documentation_fragment:
  - servicemesh.istio.attributes
  - kubernetes.core.k8s_auth_options
  - servicemesh.istio.connection
options:
  name:
    description: The DaemonSet.
    type: str
    default: ztunnel
  namespace:
    description: Its namespace.
    type: str
    default: ztunnel
  nodes:
    description: Roll only these nodes, in this order; by default every node with old pods, by name.
    type: list
    elements: str
  wait_timeout:
    description: How many seconds each node may take until its new pods are ready.
    type: int
    default: 300
  poll_interval:
    description: Seconds between two looks at a node's pods.
    type: float
    default: 2
seealso:
  - module: servicemesh.istio.istio_ztunnel
    description: Install ztunnel with the C(OnDelete) update strategy this module needs.
  - name: Updating a DaemonSet
    link: https://kubernetes.io/docs/tasks/manage-daemon/update-daemon-set/
    description: The C(OnDelete) and C(RollingUpdate) update strategies.
requirements:
  - kubernetes
"""

EXAMPLES = r"""
# after istio_ztunnel applied a new version with values ztunnel.updateStrategy.type: OnDelete
- name: Replace ztunnel's pods node by node, at most 10 minutes each
  servicemesh.istio.istio_node_rollout:
    name: ztunnel
    namespace: ztunnel
    wait_timeout: 600

- name: Only these nodes, in this order
  servicemesh.istio.istio_node_rollout:
    nodes: [worker-3, worker-1]
"""

RETURN = r"""
nodes:
  description: Per rolled node, the old pods deleted (would be, in check mode) and the new ready pods.
  returned: always
  type: list
  elements: dict
rolled_nodes:
  description: The nodes rolled (would be, in check mode), in order.
  returned: always
  type: list
  elements: str
up_to_date_nodes:
  description: The nodes whose pods were already current.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.servicemesh.istio.plugins.module_utils._module import IstioModule

from ansible_collections.servicemesh.istio.plugins.module_utils._args import argument_spec
from ansible_collections.servicemesh.istio.plugins.module_utils._runners.rollout import run_node_rollout
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import CONNECTION_ARG_SPEC


def main():
    module = IstioModule(
        argument_spec=argument_spec(
            CONNECTION_ARG_SPEC, name={"type": "str", "default": "ztunnel"},
            namespace={"type": "str", "default": "ztunnel"}, nodes={"type": "list", "elements": "str"},
            wait_timeout={"type": "int", "default": 300}, poll_interval={"type": "float", "default": 2}),
        supports_check_mode=True,
    )
    run_node_rollout(module)


if __name__ == "__main__":
    main()
