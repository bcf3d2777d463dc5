#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: istio_remote_secret
short_description: Let istiod on one cluster read another cluster (istioctl create-remote-secret)
version_added: 0.1.0
description:
  - On the O(remote) cluster, makes sure of a service account with read access for discovery (type C(remote),
    C(istio-reader-service-account) with a ClusterRole and binding of this collection), or uses istiod's own
    account (type C(config)), and of a long-lived token Secret for it, which the cluster's token controller
    fills in.
  - On the cluster the module connects to (a primary, or the cluster of an external control plane), writes
    the Secret C(istio-remote-secret-<name>) (type C(config) - C(istio-kubeconfig), key C(config)) labelled
    C(istio/multiCluster=true) and annotated C(networking.istio.io/cluster=<name>), holding a kubeconfig for
    that token. The kubeconfig's server is the remote cluster's API URL unless O(server) overrides it.
  - With O(consumer), each receiving cluster gets its own token Secret on the remote cluster, so removing one
    receiving cluster's secret revokes only its access. The reader objects go when no token uses them any more.
  - An existing service account (for instance the charts' reader account) is used as it is and never deleted.
  - The token and the kubeconfig are never returned or logged; the diff shows digests instead.
author: servicemesh.istio maintainers (@servicemesh-istio)
extends_documentation_fragment:
  - servicemesh.istio.attributes
  - servicemesh.istio.remote_cluster
  - servicemesh.istio.cluster_change
  - kubernetes.core.k8s_auth_options
  - servicemesh.istio.connection
options:
  name:
    description: The remote cluster's name, as its istiod or the mesh knows it (C(global.multiCluster.clusterName)).
    type: str
    required: true
  state:
    description: C(present) makes sure of both sides; C(absent) removes what this module created on them.
    type: str
    choices: [present, absent]
    default: present
  type:
    description:
      - C(remote) for a cluster istiod discovers services and endpoints in; C(config) for the config cluster of
        an external control plane, read with istiod's own service account.
    type: str
    choices: [remote, config]
    default: remote
  namespace:
    description: The namespace of the Secret on the receiving cluster (its control plane namespace).
    type: str
    default: istio-system
  remote_namespace:
    description: The namespace of the service account on the remote cluster. Defaults to O(namespace).
    type: str
  service_account:
    description:
      - The service account on the remote cluster. Defaults to C(istio-reader-service-account) for type
        C(remote) and C(istiod) for type C(config), the account of the revision C(default); give
        C(istiod-<revision>) for another revision.
    type: str
  create_service_account:
    description:
      - Create the service account and its read-only RBAC when missing. Defaults to true for type C(remote);
        type C(config) needs the account the remote profile with C(global.configCluster) creates.
    type: bool
  consumer:
    description:
      - The receiving cluster's name. Gives it a token Secret of its own on the remote cluster
        (C(<service_account>-remote-secret-<consumer>)); without it the token Secret istioctl uses is shared.
    type: str
  server:
    description: The API server URL written into the kubeconfig, when istiod reaches the remote cluster elsewhere.
    type: str
  secret_name:
    description: Another name for the Secret on the receiving cluster.
    type: str
seealso:
  - module: servicemesh.istio.istio_cacerts
    description: Give the clusters a shared root first.
  - module: servicemesh.istio.istio_gateway
    description: Expose istiod and services to the other clusters.
  - name: Istio multicluster installation
    link: https://istio.io/latest/docs/setup/install/multicluster/
    description: The topologies remote secrets are used in.
requirements:
  - kubernetes
  - PyYAML
"""

EXAMPLES = r"""
- name: Primary east discovers west (in a multi-primary mesh, also the other way round)
  servicemesh.istio.istio_remote_secret:
    kubeconfig: "{{ east_kubeconfig }}"
    name: west
    consumer: east
    remote:
      kubeconfig: "{{ west_kubeconfig }}"

- name: With kind, the API address the other cluster's pods reach
  servicemesh.istio.istio_remote_secret:
    context: kind-east
    name: west
    consumer: east
    server: https://172.18.0.3:6443
    remote:
      context: kind-west

- name: External control plane reads its config cluster
  servicemesh.istio.istio_remote_secret:
    context: external
    name: cluster2
    type: config
    namespace: external-istiod
    service_account: istiod-external-istiod
    remote:
      context: cluster2
"""

RETURN = r"""
cluster:
  description: The remote cluster's name.
  returned: always
  type: str
secret_name:
  description: The Secret on the receiving cluster.
  returned: always
  type: str
server:
  description: The API server URL in the kubeconfig.
  returned: when state is present
  type: str
service_account:
  description: The service account on the remote cluster, as C(namespace/name).
  returned: always
  type: str
token_secret:
  description: The token Secret on the remote cluster.
  returned: always
  type: str
token_issued:
  description: Whether the token was there (false in check mode before the first run).
  returned: when state is present
  type: bool
objects:
  description: One entry per object on either cluster with its action.
  returned: always
  type: list
  elements: dict
type:
  description: The kind of remote secret, as in O(type).
  returned: always
  type: str
namespace:
  description: The namespace of the Secret on the receiving cluster.
  returned: always
  type: str
  sample: istio-system
"""

from ansible_collections.servicemesh.istio.plugins.module_utils._module import IstioModule

from ansible_collections.servicemesh.istio.plugins.module_utils._args import CHANGE_ARGS, argument_spec
from ansible_collections.servicemesh.istio.plugins.module_utils._runners.multicluster import (
    REMOTE_CLUSTER_ARG, STATE_ARG, run_remote_secret)
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import CONNECTION_ARG_SPEC


def main():
    module = IstioModule(
        argument_spec=argument_spec(
            CHANGE_ARGS, CONNECTION_ARG_SPEC, state=STATE_ARG, remote=REMOTE_CLUSTER_ARG,
            name={"type": "str", "required": True},
            type={"type": "str", "choices": ["remote", "config"], "default": "remote"},
            namespace={"type": "str", "default": "istio-system"}, remote_namespace={"type": "str"},
            service_account={"type": "str"}, create_service_account={"type": "bool"}, consumer={"type": "str"},
            server={"type": "str"}, secret_name={"type": "str", "no_log": False}),
        required_if=[("state", "present", ("remote",))],
        supports_check_mode=True,
    )
    run_remote_secret(module)


if __name__ == "__main__":
    main()
