#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: istio_multicluster_plan
short_description: What the multicluster role installs on a cluster, decided from its inputs
version_added: 0.2.0
description:
  - Read-only and reads no cluster; the C(servicemesh.istio.multicluster) role chains it with the modules that
    write, so that its decisions are Python with unit tests rather than Jinja.
  - With O(external_istiod), the values of the external control plane guide's external istiod (profile C(empty)
    with the config and injector volumes, C(EXTERNAL_ISTIOD), C(LOCAL_CLUSTER_SECRET_WATCHER), C(CLUSTER_ID),
    C(SHARED_MESH_CONFIG), C(caAddress) and C(discoveryAddress) at the address remote clusters reach it at,
    C(operatorManageWebhooks)), behind a TLS ingress also C(SSL_SECRET_NAME), and with a certificate from a public
    CA the proxies' C(XDS_ROOT_CA) and C(CA_ROOT_CA) on the system roots, as the guide sets them. O(values) are
    merged over them in order.
  - For every control plane that serves remote clusters (a primary's, given its east-west gateway's address in
    O(gateway_address), or the external istiod), the address they reach its istiod at and the values their remote
    profile gets from it (C(global.remotePilotAddress), once the address is known).
author: servicemesh.istio maintainers (@servicemesh-istio)
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    details: The module only computes.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: N/A
    details: The module only computes.
  idempotent:
    description:
      - When run twice in a row with the same arguments, the second run reports no change and modifies nothing.
    support: full
    details: The module only computes.
  action_group:
    description: Not in C(group/servicemesh.istio.istio), whose connection options it does not take.
    support: none
    membership: []
options:
  external_istiod:
    description: The external istiod to plan.
    type: dict
    suboptions:
      revision:
        description: Its revision.
        type: str
        required: true
      namespace:
        description: Its namespace (also the mesh configuration's root namespace).
        type: str
        required: true
      config_cluster:
        description: The name of the config cluster it serves (C(CLUSTER_ID), C(clusterName)).
        type: str
        required: true
      config_network:
        description: The config cluster's network.
        type: str
        required: true
      mesh_id:
        description: The mesh ID.
        type: str
        required: true
      address:
        description: The host name remote clusters reach it at; empty means O(external_istiod.gateway_address).
        type: str
        default: ""
      gateway_address:
        description: The ingress gateway's load balancer address.
        type: str
      tls_secret:
        description: The Secret of the ingress gateway's certificate, when it terminates TLS (C(SSL_SECRET_NAME)).
        type: str
        default: ""
      public_ca:
        description: The gateway's certificate is from a public CA (the proxies verify it with the system roots).
        type: bool
        default: false
  gateway_address:
    description:
      - The load balancer address of the gateway in front of this cluster's istiod (a primary's east-west
        gateway, the external cluster's ingress gateway); null or empty while it has none.
      - For the external istiod it stands for O(external_istiod.gateway_address) when that is not given.
    type: str
  values:
    description: Values merged over the planned ones, in order (maps merge, lists replace).
    type: list
    elements: dict
    default: []
seealso:
  - module: servicemesh.istio.istio_revision
    description: Installs the external istiod with these values.
"""

EXAMPLES = r"""
- name: The external istiod's values, behind a TLS ingress
  servicemesh.istio.istio_multicluster_plan:
    external_istiod:
      revision: external-istiod
      namespace: external-istiod
      config_cluster: cluster2
      config_network: network1
      mesh_id: mesh1
      address: istiod.example.com
      tls_secret: external-istiod-tls
  register: plan
"""

RETURN = r"""
gateway_address:
  description: O(gateway_address), as given.
  returned: always
  type: str
istiod_address:
  description: The address remote clusters reach this cluster's istiod at (the external istiod's with
    O(external_istiod), else O(gateway_address)); empty while unknown.
  returned: always
  type: str
remote_values:
  description: The values of the remote profile of the clusters this istiod serves (C(global.remotePilotAddress)
    at RV(istiod_address)); empty while the address is unknown.
  returned: always
  type: dict
external_istiod:
  description: The external istiod's address and values.
  returned: when external_istiod is given
  type: dict
  contains:
    address:
      description: The address remote clusters reach it at.
      type: str
    values:
      description: Its values.
      type: dict
"""

from ansible_collections.servicemesh.istio.plugins.module_utils._module import IstioModule

from ansible_collections.servicemesh.istio.plugins.module_utils._runners.multicluster import run_multicluster_plan


def main():
    module = IstioModule(
        argument_spec={
            "external_istiod": {"type": "dict", "options": {
                "revision": {"type": "str", "required": True}, "namespace": {"type": "str", "required": True},
                "config_cluster": {"type": "str", "required": True},
                "config_network": {"type": "str", "required": True}, "mesh_id": {"type": "str", "required": True},
                "address": {"type": "str", "default": ""}, "gateway_address": {"type": "str"},
                "tls_secret": {"type": "str", "default": "", "no_log": False},
                "public_ca": {"type": "bool", "default": False}}},
            "gateway_address": {"type": "str"},
            "values": {"type": "list", "elements": "dict", "default": []}},
        supports_check_mode=True,
    )
    run_multicluster_plan(module)


if __name__ == "__main__":
    main()
