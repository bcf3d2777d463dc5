# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: multicluster_membership
short_description: What one cluster of a multi-cluster mesh does in a run, leaving included
version_added: 0.2.0
description:
  - The decisions of the C(multicluster) role about who is in the mesh and what runs on its data plane, for one
    cluster, from one record per cluster of the inventory. Needs no cluster.
  - A cluster whose C(state) is C(absent) leaves the mesh (with O(state=absent) every cluster does); the clusters
    that stay drop the remote secrets that point at it. An external control plane's cluster or config cluster leaves
    only with the whole mesh, and a primary only with the remote clusters it serves; C(problems) says so.
  - A control plane that injects pods on clusters with the Istio CNI gets C(pilot.cni.enabled); one that injects pods
    on clusters with and without it is a problem.
positional: host, topology, state, external_namespace, external_revision
options:
  _input:
    description:
      - One record per cluster, with C(host), C(name), C(role), C(state) (C(present) or C(absent)), C(primary_host)
        (a remote cluster's primary), C(namespace) and C(control_plane) (its control plane), C(cni) (bool), and
        C(ingress) and C(egress) (each with C(enabled), C(name), C(namespace), C(values)).
    type: list
    elements: dict
    required: true
  host:
    description: The inventory host to plan for.
    type: str
    required: true
  topology:
    description: The mesh's topology.
    type: str
    choices: [multi-primary, primary-remote, external]
    required: true
  state:
    description: The mesh's state; C(absent) removes every cluster.
    type: str
    choices: [present, absent]
    default: present
  external_namespace:
    description: The external istiod's namespace.
    type: str
    default: external-istiod
  external_revision:
    description: The external istiod's revision.
    type: str
    default: external-istiod
"""

EXAMPLES = r"""
- name: Plan this cluster's run
  ansible.builtin.set_fact:
    _plan: "{{ records | servicemesh.istio.multicluster_membership(inventory_hostname, 'multi-primary') }}"
"""

RETURN = r"""
_value:
  description: The plan for O(host).
  type: dict
  contains:
    leaving:
      description: Whether this cluster is cleaned in this run.
      type: bool
    leavers:
      description: The hosts that leave a mesh that stays (empty when the whole mesh is removed).
      type: list
      elements: str
    problems:
      description: Why the run cannot go ahead (the same list for every cluster); empty when it can.
      type: list
      elements: str
    reads:
      description: The hosts whose remote secrets this cluster holds (or removes, when it leaves).
      type: list
      elements: str
    drop_secrets:
      description: The leaving clusters (C(host), C(name)) whose remote secrets this staying cluster removes.
      type: list
      elements: dict
    cni:
      description: Whether this cluster has the Istio CNI (installed when it stays, removed when it leaves).
      type: bool
    control_plane_values:
      description: Values for this cluster's control planes, by C(namespace/name).
      type: dict
    gateways:
      description: The ingress and egress gateways of this cluster (C(preset), C(name), C(namespace), C(values)).
      type: list
      elements: dict
    own_gateways:
      description:
        - Every gateway the role may have installed on this cluster (C(name), C(namespace)), which the teardown
          removes before the control plane and leaves out of its in-use check.
        - The external cluster's ingress gateway or any other cluster's east-west gateway, then C(gateways).
      type: list
      elements: dict
    gateway_api:
      description: Whether this cluster gets the Gateway API CRDs (a staying data-plane cluster given a source).
      type: bool
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError
from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster import membership


def multicluster_membership(records, host, topology, state="present", external_namespace=None,
                            external_revision=None):
    try:
        mesh = membership.mesh_from_records(list(records), topology, state, external_namespace, external_revision)
        return membership.plan_for(mesh, host)
    except IstioError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule:
    def filters(self):
        return {"multicluster_membership": multicluster_membership}
