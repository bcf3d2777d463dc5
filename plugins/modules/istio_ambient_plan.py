#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: istio_ambient_plan
short_description: Plan ambient mode (control plane, CNI, ztunnel, labels, waypoints) and check it, without writing
version_added: 0.2.0
description:
  - Read-only. Reads the cluster once (the facts of M(servicemesh.istio.istio_info), the namespaces and the Gateway
    API's C(gateways.gateway.networking.k8s.io) CRD) and returns what C(playbooks/ambient.yml) installs, or fails
    with one message listing every problem it found (nothing was changed).
  - The versions of the control plane, the CNI and ztunnel, resolved through the version catalog as
    M(servicemesh.istio.istio_manifest) resolves them (O(cni_version) and O(ztunnel_version) default to the control
    plane's).
  - The checks. The version skew of the CNI and ztunnel with the new revision and every other revision of the
    cluster (1.x works with control planes 1.x-1 to 1.x+1, ztunnel never newer than the control plane it follows),
    and of the agents running now with the new revision; the CNI and ztunnel in no other namespace than the ones
    they run in (one per cluster); the control plane's values (C(pilot.trustedZtunnelNamespace) only the ztunnel
    namespace) and the types of the agents' values; the namespaces enrolled, holding a waypoint or enrolled in one
    exist; waypoints find the Gateway API CRDs on the cluster or in O(gateway_api_crds_file) or
    O(gateway_api_crds_url).
  - The plan. The control plane's values (O(discovery_labels) as C(meshConfig.discoverySelectors) unless the values
    have their own, the trusted ztunnel namespace), the CNI's (C(cni.ambient.reconcileIptablesOnStartup)), the
    labels of each namespace, whether ztunnel can follow the control plane (in check mode only a revision that runs
    that version already), whether to prune, and the waypoints with their defaults.
  - With O(state=absent) only the request is checked and the cluster is not read.
author: servicemesh.istio maintainers (@servicemesh-istio)
extends_documentation_fragment:
  - servicemesh.istio.attributes.INFO_MODULE
  - kubernetes.core.k8s_auth_options
  - servicemesh.istio.connection
attributes:
  check_mode:
    details: Runs the same in check mode; the plan then says what check mode can predict (C(ztunnel_follows),
      C(prune), C(enrol), C(install_waypoints), the labels of namespaces that exist).
options:
  state:
    description: C(present) plans an install or upgrade, C(absent) a removal (only the request is checked).
    type: str
    default: present
  name:
    description: The control plane's name.
    type: str
    default: default
  version:
    description: The control plane's Istio version or alias; empty is the newest stable version of the catalog.
    type: str
  namespace:
    description: The control plane's namespace.
    type: str
    default: istio-system
  update_strategy:
    description: The control plane's update strategy, as M(servicemesh.istio.istio_control_plane) takes it.
    type: dict
    suboptions:
      type:
        description: C(InPlace) or C(RevisionBased).
        type: str
        choices: [InPlace, RevisionBased]
        default: InPlace
      inactive_revision_deletion_grace_period_seconds:
        description: How long an inactive revision stays.
        type: int
        default: 30
  profile:
    description: C(ambient) or C(openshift-ambient); empty is C(ambient).
    type: str
    default: ambient
  values:
    description: The control plane's values.
    type: dict
    default: {}
  platform:
    description: The platform, as M(servicemesh.istio.istio_control_plane) takes it.
    type: str
    default: kubernetes
    choices: [kubernetes, openshift, gke, k3d, k3s, microk8s, minikube]
  dual_stack:
    description: Both IP families, as M(servicemesh.istio.istio_control_plane) takes it.
    type: bool
    default: false
  cni_namespace:
    description: The CNI's namespace.
    type: str
    default: istio-cni
  ztunnel_namespace:
    description: ztunnel's namespace, the one istiod trusts.
    type: str
    default: ztunnel
  cni_version:
    description: The CNI's version; empty is the control plane's.
    type: str
    default: ""
  ztunnel_version:
    description: ztunnel's version; empty is the control plane's.
    type: str
    default: ""
  cni_values:
    description: The CNI's values.
    type: dict
    default: {}
  ztunnel_values:
    description: ztunnel's values (type-checked only).
    type: dict
    default: {}
  ambient_namespaces:
    description: Namespaces enrolled in the ambient mesh; they must exist.
    type: list
    elements: str
    default: []
  discovery_labels:
    description: Labels for C(meshConfig.discoverySelectors), put on the mesh's namespaces and O(ambient_namespaces).
    type: dict
    default: {}
  waypoints:
    description:
      - Waypoints, each with the options of M(servicemesh.istio.istio_waypoint) (C(namespace) required); returned
        with C(name) (C(waypoint)), C(state) (C(present)), C(waypoint_for) (C(service)) and the C(enroll_*) lists
        filled in.
    type: list
    elements: raw
    default: []
  gateway_api_crds_file:
    description: A Gateway API bundle that will be installed; it must be a file.
    type: path
  gateway_api_crds_url:
    description: Where a Gateway API bundle that will be installed is downloaded from; not with O(gateway_api_crds_file).
    type: str
    default: ""
  prune:
    description: Prune inactive revisions after the install (C(plan.prune) says whether that can run).
    type: bool
    default: true
  remove_control_plane:
    description: With O(state=absent), whether the removal takes the control plane too (for C(message) only).
    type: bool
    default: true
  summary_only:
    description: Return only C(summary) and C(message), what runs now, with no plan and no checks (the end of a run).
    type: bool
    default: false
  version_catalog:
    description: A version catalog file.
    type: path
seealso:
  - module: servicemesh.istio.istio_info
    description: The facts this module reads.
  - module: servicemesh.istio.istio_ztunnel
    description: The same skew rule, applied when ztunnel is installed.
"""

EXAMPLES = r"""
- name: Plan ambient mode, refused with every problem before anything is written
  servicemesh.istio.istio_ambient_plan:
    version: v1.30.3
    ambient_namespaces: [bookinfo]
    discovery_labels: {istio-discovery: enabled}
    waypoints:
      - namespace: bookinfo
        enroll_namespaces: [bookinfo]
    gateway_api_crds_file: standard-install.yaml
  register: ambient

- ansible.builtin.debug:
    msg: "revision {{ ambient.plan.revision }}, ztunnel {{ ambient.plan.ztunnel_version }}"
"""

RETURN = r"""
plan:
  description:
    - The plan (empty with O(summary_only)). C(state); C(revision), C(version), C(cni_version), C(ztunnel_version);
      C(profile), C(dual_stack), C(control_plane_values), C(cni_values), C(cni_namespace), C(ztunnel_namespace);
      C(prune); C(ztunnel_follows) and the C(ztunnel_control_plane) and C(ztunnel_control_plane_namespace) it
      follows (empty when it cannot); C(namespaces_required); C(labels) (namespace to labels), C(labels_state),
      C(enrol) (whether the labels can be set now); C(gateway_api) (C(present), C(source), C(download));
      C(waypoints) and C(install_waypoints).
    - With O(state=absent) only C(state) and C(waypoints).
  returned: always
  type: dict
summary:
  description: What runs now, as C(istio_ambient) of the playbook; the control plane (as in
    M(servicemesh.istio.istio_info)), C(cni), C(ztunnel), C(waypoints) (C(namespace/name)) and C(state).
  returned: always
  type: dict
message:
  description: The summary as one line.
  returned: always
  type: str
problems:
  description: Every problem found, when the plan is refused.
  returned: on failure
  type: list
  elements: str
"""

from ansible_collections.servicemesh.istio.plugins.module_utils._module import IstioModule

from ansible_collections.servicemesh.istio.plugins.module_utils._args import CONTROL_PLANE_ARGS, argument_spec
from ansible_collections.servicemesh.istio.plugins.module_utils._runners.dataplane import run_ambient_plan
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import CONNECTION_ARG_SPEC

OPTIONS = {
    "state": {"type": "str", "default": "present"},
    "profile": {"type": "str", "default": "ambient"},
    "cni_namespace": {"type": "str", "default": "istio-cni"},
    "ztunnel_namespace": {"type": "str", "default": "ztunnel"},
    "cni_version": {"type": "str", "default": ""},
    "ztunnel_version": {"type": "str", "default": ""},
    "cni_values": {"type": "dict", "default": {}},
    "ztunnel_values": {"type": "dict", "default": {}},
    "ambient_namespaces": {"type": "list", "elements": "str", "default": []},
    "discovery_labels": {"type": "dict", "default": {}},
    "waypoints": {"type": "list", "elements": "raw", "default": []},
    "gateway_api_crds_file": {"type": "path"},
    "gateway_api_crds_url": {"type": "str", "default": ""},
    "prune": {"type": "bool", "default": True},
    "remove_control_plane": {"type": "bool", "default": True},
    "summary_only": {"type": "bool", "default": False},
    "version_catalog": {"type": "path"},
}


def main():
    shared = ("name", "version", "namespace", "update_strategy", "values", "platform", "dual_stack")
    control_plane = {key: CONTROL_PLANE_ARGS[key] for key in shared}
    module = IstioModule(argument_spec=argument_spec(control_plane, CONNECTION_ARG_SPEC, **OPTIONS),
                         supports_check_mode=True)
    run_ambient_plan(module)


if __name__ == "__main__":
    main()
