#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: istio_cluster_address
short_description: The API server address other clusters reach a cluster at
version_added: 0.2.0
description:
  - Read-only. Finds the URL the istiod of other clusters use for this cluster's API server (the server of the
    remote secrets M(servicemesh.istio.istio_remote_secret) writes), which the multi-cluster guides look up by
    hand for kind clusters.
  - "In this order: O(server) when given; the connection's own server when it is not a loopback address; the
    address the API server advertises to its cluster (the endpoints of the C(kubernetes) Service in C(default)),
    when not a loopback address (for kind, the control-plane node's IP and port 6443); a control-plane node's
    C(InternalIP) (label C(node-role.kubernetes.io/control-plane)) with the advertised port, else 6443."
  - When every one of those is a loopback address (or missing), the module fails and says what it found, so that
    no remote secret points at an address only this machine reaches.
author: servicemesh.istio maintainers (@servicemesh-istio)
extends_documentation_fragment:
  - servicemesh.istio.attributes.INFO_MODULE
  - kubernetes.core.k8s_auth_options
  - servicemesh.istio.connection
options:
  server:
    description: The address, when known (checked to be a URL, and returned as it is).
    type: str
  cluster_name:
    description: The cluster's name, for the error message.
    type: str
seealso:
  - module: servicemesh.istio.istio_remote_secret
    description: Its O(servicemesh.istio.istio_remote_secret#module:server) option takes this address.
requirements:
  - kubernetes
"""

EXAMPLES = r"""
- name: Where the other clusters reach this kind cluster's API server
  servicemesh.istio.istio_cluster_address:
    context: kind-west
  register: west_api

- name: Let the east cluster's istiod read it
  servicemesh.istio.istio_remote_secret:
    context: kind-east
    name: west
    server: "{{ west_api.server }}"
    remote:
      context: kind-west
"""

RETURN = r"""
server:
  description: The API server URL other clusters reach this cluster at.
  returned: always
  type: str
  sample: https://172.18.0.3:6443
source:
  description: Where it came from, C(given), C(connection), C(endpoints) or C(node).
  returned: always
  type: str
  sample: endpoints
connection_server:
  description: The server this module reached the cluster at.
  returned: always
  type: str
  sample: https://127.0.0.1:39117
"""

from ansible_collections.servicemesh.istio.plugins.module_utils._module import IstioModule

from ansible_collections.servicemesh.istio.plugins.module_utils._args import argument_spec
from ansible_collections.servicemesh.istio.plugins.module_utils._runners.multicluster import run_cluster_address
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import CONNECTION_ARG_SPEC


def main():
    module = IstioModule(argument_spec=argument_spec(CONNECTION_ARG_SPEC, server={"type": "str"},
                                                     cluster_name={"type": "str"}),
                         supports_check_mode=True)
    run_cluster_address(module)


if __name__ == "__main__":
    main()
