#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: istio_cni
short_description: Install, upgrade or remove the Istio CNI node agent
version_added: 0.1.0
description:
  - Renders the official C(cni) chart (release C(istio-cni)) and applies it; ready when the DaemonSet
    C(istio-cni-node) has pods scheduled and all of them ready.
  - One CNI per cluster, shared by every control plane. Upgrades are in place.
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
    description: The CNI's namespace.
    type: str
    default: istio-cni
  profile:
    description: The profile, e.g. C(ambient), layered as for control planes.
    type: str
    choices: [default, ambient, demo, empty, openshift, openshift-ambient, preview, remote, stable]
seealso:
  - module: servicemesh.istio.istio_ztunnel
    description: The other node agent of ambient mode.
  - module: servicemesh.istio.istio_info
    description: See the CNI's version and readiness.
  - name: Istio CNI node agent
    link: https://istio.io/latest/docs/setup/additional-setup/cni/
    description: What the CNI node agent does and when it is needed.
requirements:
  - helm-python-sdk
  - kubernetes
"""

EXAMPLES = r"""
- name: CNI for ambient mode
  servicemesh.istio.istio_cni:
    version: v1.30.3
    profile: ambient
    values:
      cni:
        ambient:
          reconcileIptablesOnStartup: true
"""

RETURN = r"""
namespace:
  description: The CNI's namespace.
  returned: when state is present
  type: str
version:
  description: The resolved version.
  returned: when state is present
  type: str
objects:
  description: One entry per object with its action.
  returned: always
  type: list
  elements: dict
values:
  description: The merged values the cni chart was rendered with.
  returned: when state is present
  type: dict
cni:
  description:
    - What C(kubectl get istiocni) shows after the run, the C(istio_cni) fact of the cni role.
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
      description: Whether the CNI's DaemonSet is ready.
      type: bool
    not_ready_reason:
      description: Why not, when not ready.
      type: str
    status:
      description: C(Removed) once removed.
      type: str
removed:
  description: Whether there was a CNI installed by this collection to remove (or that would be removed, in check mode).
  returned: when state is absent
  type: bool
"""

from ansible_collections.servicemesh.istio.plugins.module_utils._module import IstioModule

from ansible_collections.servicemesh.istio.plugins.module_utils._args import (
    AGENT_ARGS, CHANGE_ARGS, CHART_SOURCE_ARGS, CONTROL_PLANE_ARGS, argument_spec)
from ansible_collections.servicemesh.istio.plugins.module_utils._runners.dataplane import run_agent
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import CONNECTION_ARG_SPEC


def main():
    module = IstioModule(
        argument_spec=argument_spec(AGENT_ARGS, CHART_SOURCE_ARGS, CHANGE_ARGS, CONNECTION_ARG_SPEC,
                                    namespace={"type": "str", "default": "istio-cni"},
                                    profile=CONTROL_PLANE_ARGS["profile"]),
        supports_check_mode=True,
    )
    run_agent(module, "cni")


if __name__ == "__main__":
    main()
