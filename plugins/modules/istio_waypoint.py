#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: istio_waypoint
short_description: Install or remove an ambient mode waypoint proxy and enrol namespaces and workloads in it
version_added: 0.1.0
description:
  - Applies a Gateway API C(Gateway) of class C(istio-waypoint) with the HBONE listener C(mesh) on port 15008 and
    the label C(istio.io/waypoint-for); istiod deploys the waypoint proxy for it.
  - Enrols namespaces, services, service accounts and pods by labelling them C(istio.io/use-waypoint=<name>), plus
    C(istio.io/use-waypoint-namespace=<namespace>) when they are in another namespace than the waypoint. Those
    namespaces are let in through the listener's C(allowedRoutes) unless O(allowed_namespaces) or
    O(allowed_namespace_selector) say otherwise.
  - The labels are applied once the waypoint is programmed, under a field manager of this waypoint's own, as a
    patch of just those labels. Removal, or dropping an entry, takes back exactly the labels this waypoint added
    (a label also set by someone else stays); the labelled objects are never created or deleted.
  - Needs the Kubernetes Gateway API CRDs; fails before any write when C(Gateway) is not served.
author: servicemesh.istio maintainers (@servicemesh-istio)
extends_documentation_fragment:
  - servicemesh.istio.attributes
  - servicemesh.istio.cluster_change
  - kubernetes.core.k8s_auth_options
  - servicemesh.istio.connection
options:
  name:
    description: The waypoint's (and its Gateway's) name.
    type: str
    default: waypoint
  namespace:
    description: The namespace the waypoint runs in; it must exist.
    type: str
    required: true
  state:
    description: C(absent) takes the enrolment labels back, then deletes the Gateway.
    type: str
    choices: [present, absent]
    default: present
  waypoint_for:
    description: The traffic the waypoint handles (the label C(istio.io/waypoint-for)).
    type: str
    choices: [service, workload, all, none]
    default: service
  revision:
    description: The control plane revision that programs the waypoint (the label C(istio.io/rev)).
    type: str
  enroll_namespaces:
    description: Namespaces whose traffic goes through the waypoint.
    type: list
    elements: str
    default: []
  enroll_services:
    description: Services whose traffic goes through the waypoint, as C(name) (in O(namespace)) or C(namespace/name).
    type: list
    elements: str
    default: []
  enroll_service_accounts:
    description:
      - Service accounts whose workloads send their traffic through the waypoint, as C(name) (in O(namespace)) or
        C(namespace/name). This is workload traffic, so O(waypoint_for) must be C(workload) or C(all).
    type: list
    elements: str
    default: []
  enroll_pods:
    description:
      - Pods whose traffic goes through the waypoint, as C(name) (in O(namespace)) or C(namespace/name); workload
        traffic, as for O(enroll_service_accounts).
      - The label is on the pod itself, so a pod that its controller replaces comes back without it; label the
        service account (or the pod template) for workloads that are recreated.
    type: list
    elements: str
    default: []
  allowed_namespaces:
    description:
      - The namespaces allowed to use the waypoint (C(allowedRoutes) by C(kubernetes.io/metadata.name)). Defaults
        to the namespaces of what is enrolled; every enrolled namespace must be listed.
    type: list
    elements: str
  allowed_namespace_selector:
    description: A label selector for the namespaces allowed to use the waypoint, instead of O(allowed_namespaces).
    type: dict
seealso:
  - module: servicemesh.istio.istio_labels
    description: Enrol namespaces in ambient mode, which waypoints serve.
  - module: servicemesh.istio.istio_ztunnel
    description: The node proxy that sends traffic to waypoints.
  - name: Istio ambient mode
    link: https://istio.io/latest/docs/ambient/
    description: Waypoint proxies in ambient mode.
requirements:
  - kubernetes
"""

EXAMPLES = r"""
- name: A waypoint for the services of bookinfo
  servicemesh.istio.istio_waypoint:
    namespace: bookinfo
    enroll_namespaces: [bookinfo]

- name: A waypoint in default used by bookinfo (cross-namespace)
  servicemesh.istio.istio_waypoint:
    name: waypoint-default
    namespace: default
    enroll_namespaces: [bookinfo]

- name: Only the reviews service goes through the waypoint
  servicemesh.istio.istio_waypoint:
    namespace: bookinfo
    enroll_services: [reviews]

- name: The workloads running as the ratings service account, through a waypoint for workload traffic
  servicemesh.istio.istio_waypoint:
    name: waypoint-workloads
    namespace: bookinfo
    waypoint_for: workload
    enroll_service_accounts: [bookinfo-ratings]
"""

RETURN = r"""
name:
  description: The waypoint.
  returned: always
  type: str
namespace:
  description: The waypoint's namespace.
  returned: always
  type: str
enrolled:
  description: The namespaces, services, service accounts and pods labelled to use the waypoint, with their labels.
  returned: when state is present
  type: list
  elements: dict
objects:
  description: One entry per object (the Gateway, the labelled objects, the record) with its action.
  returned: always
  type: list
  elements: dict
waypoint_for:
  description: The traffic the waypoint handles (C(service), C(workload), C(all) or C(none)), as in O(waypoint_for).
  returned: when state is present
  type: str
"""

from ansible_collections.servicemesh.istio.plugins.module_utils._module import IstioModule

from ansible_collections.servicemesh.istio.plugins.module_utils._args import CHANGE_ARGS, argument_spec
from ansible_collections.servicemesh.istio.plugins.module_utils._runners.ambient import run_waypoint
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import CONNECTION_ARG_SPEC


def main():
    module = IstioModule(
        argument_spec=argument_spec(
            CHANGE_ARGS, CONNECTION_ARG_SPEC, name={"type": "str", "default": "waypoint"},
            namespace={"type": "str", "required": True},
            state={"type": "str", "choices": ["present", "absent"], "default": "present"},
            waypoint_for={"type": "str", "choices": ["service", "workload", "all", "none"], "default": "service"},
            revision={"type": "str"}, enroll_namespaces={"type": "list", "elements": "str", "default": []},
            enroll_services={"type": "list", "elements": "str", "default": []},
            enroll_service_accounts={"type": "list", "elements": "str", "default": []},
            enroll_pods={"type": "list", "elements": "str", "default": []},
            allowed_namespaces={"type": "list", "elements": "str"}, allowed_namespace_selector={"type": "dict"}),
        mutually_exclusive=[("allowed_namespaces", "allowed_namespace_selector")],
        supports_check_mode=True,
    )
    run_waypoint(module)


if __name__ == "__main__":
    main()
