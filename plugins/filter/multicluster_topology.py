# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: multicluster_topology
short_description: The topology of a multi-cluster mesh and what one of its clusters runs
version_added: 0.2.0
description:
  - The decisions of the C(multicluster) role about the shape of the mesh, for one cluster, from one record per
    cluster of the inventory. Needs no cluster.
  - With O(topology=auto), a cluster with the role C(external) makes the mesh C(external), one with the role
    C(remote) C(primary-remote), and otherwise it is C(multi-primary).
  - Fails when the inventory does not describe a mesh of that topology (a role other than C(primary), C(remote),
    C(external) or C(config), a cluster of O(inventory_hosts) missing from the records, two clusters with the same
    name, roles that do not fit the topology), or when a remote cluster of a C(primary-remote) mesh has no primary
    (its C(primary_host) is not a primary, or it is empty and there are several).
positional: host
options:
  _input:
    description:
      - One record per cluster of the mesh in the play, with C(host) (the inventory host), C(name), C(role),
        C(network) and C(primary_host) (a remote cluster's primary, empty for the only one).
    type: list
    elements: dict
    required: true
  host:
    description: The inventory host to decide for.
    type: str
    required: true
  topology:
    description: The mesh's topology, or C(auto) to follow the roles.
    type: str
    default: auto
  namespace:
    description: The control plane namespace.
    type: str
    default: istio-system
  external_namespace:
    description: The namespace of the external istiod and of the remote profile on the clusters it serves.
    type: str
    default: external-istiod
  name:
    description: The control plane's name.
    type: str
    default: default
  external_revision:
    description: The external istiod's revision.
    type: str
    default: external-istiod
  ca:
    description: Whether the mesh has a shared root CA; C(auto) has one unless the control plane is external.
    type: raw
    default: auto
  inventory_hosts:
    description: Every host of the mesh's inventory group with C(istio_cluster_role); each must have a record.
    type: list
    elements: str
    default: []
  mesh_id:
    description: The mesh ID.
    type: str
    default: mesh1
  update_strategy:
    description: The update strategy of the control planes that follow the user's (C(istio_update_strategy)).
    type: dict
  external_address:
    description: The host name remote clusters reach the external istiod at; empty for the ingress gateway's address.
    type: str
    default: ""
  external_tls:
    description: Whether the external istiod is behind a TLS ingress.
    type: bool
    default: false
  external_tls_secret:
    description: The Secret of the TLS ingress's certificate.
    type: str
    default: external-istiod-tls
  external_tls_cert:
    description: The TLS ingress's certificate when given (from a public CA); empty when issued from the mesh's root.
    type: str
    default: ""
  values:
    description: The values of the mesh's control planes (C(istio_values)), over the topology's.
    type: dict
    default: {}
  cluster_values:
    description: The values of this cluster's control plane (C(istio_cluster_values)), over those.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Decide what this cluster runs
  ansible.builtin.set_fact:
    _mesh: >-
      {{ clusters | servicemesh.istio.multicluster_topology(inventory_hostname, topology='auto',
                                                          inventory_hosts=groups['mesh']) }}
"""

RETURN = r"""
_value:
  description: The mesh's shape, and what O(host) runs in it.
  type: dict
  contains:
    topology:
      description: The topology (C(multi-primary), C(primary-remote) or C(external)).
      type: str
    primaries:
      description: The hosts with the role C(primary).
      type: list
      elements: str
    external_host:
      description: The host with the role C(external); empty when there is none.
      type: str
    config_host:
      description: The host with the role C(config); empty when there is none.
      type: str
    primary_host:
      description: The primary of this remote cluster of a C(primary-remote) mesh; empty for any other cluster.
      type: str
    is_primary:
      description: Whether this cluster is a primary.
      type: bool
    is_data_plane:
      description: Whether this cluster runs workloads (a primary, remote or config cluster).
      type: bool
    serves_remotes:
      description: Whether this primary runs the control plane of remote clusters (C(EXTERNAL_ISTIOD), istiod on
        its east-west gateway).
      type: bool
    namespace:
      description: This cluster's control plane namespace (O(external_namespace) on the clusters an external
        control plane serves).
      type: str
    control_plane:
      description: The name of the control plane in that namespace (O(external_revision) on the clusters an
        external control plane serves).
      type: str
    ca_enabled:
      description: Whether the clusters get intermediate CAs from the mesh's root.
      type: bool
    multi_network:
      description: Whether the clusters with a data plane are on more than one network.
      type: bool
    pilot_host:
      description: The host whose istiod serves this remote or config cluster (the external cluster, or the
        remote cluster's primary); empty for any other cluster.
      type: str
    secret_namespace:
      description: Where this cluster's control plane keeps its remote secrets (O(external_namespace) in an
        C(external) mesh).
      type: str
    namespace_labels:
      description: The labels of this cluster's control plane namespace (its network, on a data-plane cluster).
      type: dict
    namespace_annotations:
      description: The annotations of this cluster's control plane namespace (on a remote cluster of a
        C(primary-remote) mesh, the name of the cluster that runs its control plane).
      type: dict
    istiod:
      description:
        - This cluster's own control plane, the first it installs (C(name), C(namespace), C(update_strategy),
          C(values), and C(profile) C(remote) on a remote or config cluster, C(allow_selector_overlap) on the
          external cluster).
        - C(update_strategy) is C(InPlace) for the remote profile of an external control plane, else
          O(update_strategy).
        - C(values) are the topology's with O(values) and O(cluster_values) over them (the external cluster's local
          control plane, there for its ingress gateway, gets O(cluster_values) only). The topology's are, on a
          primary, the mesh ID, cluster name and network, and C(EXTERNAL_ISTIOD) when it serves remote clusters; on
          the external cluster its network; on a remote or config cluster the mesh ID, cluster name, network and
          C(istiodRemote.injectionPath), and on the config cluster C(global.configCluster) and C(pilot.configMap).
      type: dict
    gateway:
      description:
        - This cluster's own gateway, or null when it has none. On the external cluster its ingress gateway to the
          external istiod (plain or behind TLS, C(expose_istiod) with that istiod's revision); on a data-plane
          cluster its east-west gateway (C(preset), C(namespace), C(network), C(expose_services),
          C(expose_istiod)), when the mesh has more than one network or it is a primary that serves remote
          clusters.
        - A primary that serves remote clusters exposes its istiod (C(expose_istiod) without a revision, to be given
          that of this cluster's control plane by the multicluster_gateway filter); a primary exposes its services
          to the other networks, and of an external control plane's clusters only the config cluster does.
      type: dict
    exposes_istiod:
      description: Whether clusters elsewhere reach this cluster's istiod through its gateway (a primary that
        serves remote clusters, the external cluster), which therefore needs a load balancer address.
      type: bool
    external_istiod:
      description: On the external cluster, the external istiod for C(servicemesh.istio.istio_multicluster_plan)
        (C(revision), C(namespace), C(config_cluster), C(config_network), C(mesh_id), C(address), C(tls_secret),
        C(public_ca)); null on the other clusters.
      type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError
from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster import topology as _topology


def multicluster_topology(clusters, host, topology="auto", namespace="istio-system",
                          external_namespace="external-istiod", name="default", external_revision="external-istiod",
                          ca="auto", inventory_hosts=(), mesh_id="mesh1", update_strategy=None, external_address="",
                          external_tls=False, external_tls_secret="external-istiod-tls", external_tls_cert="",
                          values=None, cluster_values=None):
    options = _topology.Options(topology=topology, namespace=namespace, external_namespace=external_namespace,
                                name=name, external_revision=external_revision, ca=ca,
                                inventory_hosts=tuple(inventory_hosts or ()), mesh_id=mesh_id,
                                update_strategy=update_strategy, external_address=external_address or "",
                                external_tls=external_tls, external_tls_secret=external_tls_secret,
                                external_tls_cert=external_tls_cert or "", values=values,
                                cluster_values=cluster_values)
    try:
        return _topology.topology_facts(list(clusters), host, options)
    except IstioError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule:
    def filters(self):
        return {"multicluster_topology": multicluster_topology}
