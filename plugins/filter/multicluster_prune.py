# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: multicluster_prune
short_description: Whether a cluster of a multi-cluster mesh prunes with its use on the other clusters counted
version_added: 0.2.0
description:
  - A control plane that serves remote clusters cannot see their use of it, so C(servicemesh.istio.istio_prune)
    keeps its inactive revisions unless it is given the mesh's other clusters
    (O(servicemesh.istio.istio_prune#module:mesh_clusters)). This
    filter gives them, with their connections, when O(across_clusters) and O(serves_remotes) are true and every
    cluster of the mesh is among O(active_hosts); otherwise C(mesh_clusters) is null.
  - The connections may hold API tokens; use it in a task with C(no_log).
positional: host, connections, across_clusters, serves_remotes, active_hosts
options:
  _input:
    description: One record per cluster of the mesh, with C(host) (the inventory host) and C(name).
    type: list
    elements: dict
    required: true
  host:
    description: The inventory host that prunes; its own cluster is left out.
    type: str
    required: true
  connections:
    description: Each cluster's connection options (C(kubeconfig), C(context), C(host), C(api_key), ...), by host.
    type: dict
    required: true
  across_clusters:
    description: Whether use on the other clusters is to be counted.
    type: bool
    required: true
  serves_remotes:
    description: Whether the control plane of O(host) serves remote clusters.
    type: bool
    required: true
  active_hosts:
    description: The hosts still in the play (C(ansible_play_hosts)).
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Work out whether usage can be counted across the mesh
  ansible.builtin.set_fact:
    _prune: >-
      {{ clusters | servicemesh.istio.multicluster_prune(inventory_hostname, connections, true, true,
                                                       ansible_play_hosts) }}
  no_log: true
"""

RETURN = r"""
_value:
  description: How O(host) prunes.
  type: dict
  contains:
    across:
      description: Whether the use on the other clusters is counted.
      type: bool
    mesh_clusters:
      description: The other clusters, each its connection and C(name), for
        O(servicemesh.istio.istio_prune#module:mesh_clusters);
        null when C(across) is false.
      type: list
      elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError
from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster import topology as _topology


def multicluster_prune(clusters, host, connections, across_clusters, serves_remotes, active_hosts):
    try:
        return _topology.prune_plan(list(clusters), dict(connections or {}), host, across_clusters, serves_remotes,
                                    list(active_hosts or ()))
    except IstioError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule:
    def filters(self):
        return {"multicluster_prune": multicluster_prune}
