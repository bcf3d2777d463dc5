#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: istio_ztunnel
short_description: Install, upgrade or remove ztunnel, the ambient mode node proxy
version_added: 0.1.0
description:
  - Renders the official C(ztunnel) chart (always with the C(ambient) profile) and applies it; ready when the
    DaemonSet C(ztunnel) has pods scheduled and all of them ready.
  - When it follows a control plane or revision, that revision's C(global), C(meshConfig) and C(revision) values
    are copied in first and O(values) override them; C(ztunnel.*) values are accepted as well as top-level ones.
  - ztunnel must not be newer than the control plane it follows, and within one minor version of every control
    plane in the cluster; both are checked before anything is written.
author: servicemesh.istio maintainers (@servicemesh-istio)
extends_documentation_fragment:
  - servicemesh.istio.attributes
  - servicemesh.istio.agent
  - servicemesh.istio.chart_source
  - servicemesh.istio.cluster_change
  - kubernetes.core.k8s_auth_options
  - servicemesh.istio.connection
options:
  namespace:
    description: ztunnel's namespace; ambient control planes must trust it (C(pilot.trustedZtunnelNamespace)).
    type: str
    default: ztunnel
  control_plane:
    description: Follow this control plane's active revision.
    type: str
  control_plane_namespace:
    description: The namespace of O(control_plane), when several control planes share a name.
    type: str
  revision:
    description: Follow this revision.
    type: str
seealso:
  - module: servicemesh.istio.istio_cni
    description: The CNI node agent that ambient mode needs beside ztunnel.
  - module: servicemesh.istio.istio_node_rollout
    description: Replace ztunnel's pods one node at a time.
  - module: servicemesh.istio.istio_info
    description: See ztunnel's version, readiness and the revision it follows.
  - name: Istio ambient mode
    link: https://istio.io/latest/docs/ambient/
    description: Ambient mode and the role of ztunnel.
requirements:
  - helm-python-sdk
  - kubernetes
"""

EXAMPLES = r"""
- name: ztunnel following the default control plane
  servicemesh.istio.istio_ztunnel:
    version: v1.30.3
    control_plane: default
    values:
      ztunnel:
        updateStrategy:
          type: OnDelete
"""

RETURN = r"""
namespace:
  description: ztunnel's namespace.
  returned: when state is present
  type: str
version:
  description: The resolved version.
  returned: when state is present
  type: str
revision:
  description: The revision ztunnel follows, if any.
  returned: when state is present
  type: str
objects:
  description: One entry per object with its action.
  returned: always
  type: list
  elements: dict
values:
  description: The merged values the ztunnel chart was rendered with, including those taken from the followed revision.
  returned: when state is present
  type: dict
ztunnel:
  description:
    - What C(kubectl get ztunnel) shows after the run, the C(istio_ztunnel) fact of the ztunnel role.
    - Only a C(status) of C(Removed) once removed. After a wait that held (O(wait), not in check mode), ready, as this run
      installed it; otherwise the cluster's own state (null when there is none).
  returned: always
  type: dict
  contains:
    namespace:
      description: Its namespace.
      type: str
    version:
      description: Its Istio version.
      type: str
    ready:
      description: Whether ztunnel's DaemonSet is ready.
      type: bool
    not_ready_reason:
      description: Why not, when not ready.
      type: str
    revision:
      description: The revision ztunnel follows.
      type: str
    status:
      description: C(Removed) once removed.
      type: str
removed:
  description: Whether there was a ztunnel installed by this collection to remove (or that would be removed, in check mode).
  returned: when state is absent
  type: bool
"""

from ansible_collections.servicemesh.istio.plugins.module_utils._module import IstioModule

from ansible_collections.servicemesh.istio.plugins.module_utils._args import (
    AGENT_ARGS, CHANGE_ARGS, CHART_SOURCE_ARGS, argument_spec)
from ansible_collections.servicemesh.istio.plugins.module_utils._runners.dataplane import run_agent
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import CONNECTION_ARG_SPEC


def main():
    module = IstioModule(
        argument_spec=argument_spec(AGENT_ARGS, CHART_SOURCE_ARGS, CHANGE_ARGS, CONNECTION_ARG_SPEC,
                                    namespace={"type": "str", "default": "ztunnel"},
                                    control_plane={"type": "str"}, control_plane_namespace={"type": "str"},
                                    revision={"type": "str"}),
        mutually_exclusive=[("revision", "control_plane")],
        supports_check_mode=True,
    )
    run_agent(module, "ztunnel")


if __name__ == "__main__":
    main()
