#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: istio_labels
short_description: Put mesh labels on namespaces, services, service accounts and pods, and take back exactly those
version_added: 0.1.0
description:
  - For ambient enrolment (C(istio.io/dataplane-mode=ambient)), discovery-selector labels and the like on
    objects this collection did not create.
  - The labels are applied with server-side apply under a field manager of this label set's own (O(name)), as a
    patch of just those labels. The set is recorded in the ConfigMap C(servicemesh-istio-labels-<name>) in
    O(record_namespace).
  - A later run takes back the labels of objects no longer listed; O(state=absent) takes back all of them. Only
    labels no one else also set are removed; the labelled objects are never created or deleted.
  - Every object must exist, and a label another owner set to a different value is refused (before any write)
    unless O(force_conflicts).
author: servicemesh.istio maintainers (@servicemesh-istio)
extends_documentation_fragment:
  - servicemesh.istio.attributes
  - servicemesh.istio.cluster_change
  - kubernetes.core.k8s_auth_options
  - servicemesh.istio.connection
options:
  name:
    description: The label set; two label sets never take each other's labels away.
    type: str
    default: default
  record_namespace:
    description: The namespace that keeps the label set's record; it must exist.
    type: str
    default: istio-system
  state:
    description: C(absent) takes back every label of the set.
    type: str
    choices: [present, absent]
    default: present
  namespaces:
    description:
      - Labels per namespace, for example the namespace C(bookinfo) with the label C(istio.io/dataplane-mode=ambient)
        (see the examples).
    type: dict
    default: {}
  services:
    description: Labels per service.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The service.
        type: str
        required: true
      namespace:
        description: Its namespace.
        type: str
        required: true
      labels:
        description: The labels.
        type: dict
        required: true
  service_accounts:
    description: Labels per service account (for example C(istio.io/use-waypoint)), as for O(services).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The service account.
        type: str
        required: true
      namespace:
        description: Its namespace.
        type: str
        required: true
      labels:
        description: The labels.
        type: dict
        required: true
  pods:
    description:
      - Labels per pod, as for O(services). A pod that its controller replaces comes back without them.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The pod.
        type: str
        required: true
      namespace:
        description: Its namespace.
        type: str
        required: true
      labels:
        description: The labels.
        type: dict
        required: true
notes:
  - O(wait) and O(wait_timeout) only apply to removing the record.
seealso:
  - module: servicemesh.istio.istio_waypoint
    description: Enrol namespaces and services in a waypoint.
  - module: servicemesh.istio.istio_info
    description: See the namespaces and the revisions their labels select.
requirements:
  - kubernetes
"""

EXAMPLES = r"""
- name: Enrol bookinfo in the ambient mesh and let the control plane discover it
  servicemesh.istio.istio_labels:
    name: ambient
    namespaces:
      bookinfo: {istio.io/dataplane-mode: ambient, istio-discovery: enabled}
      istio-system: {istio-discovery: enabled}
"""

RETURN = r"""
labelled:
  description: The objects and the labels this set wants on them.
  returned: when state is present
  type: list
  elements: dict
objects:
  description: One entry per labelled object (and the record) with its action.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.servicemesh.istio.plugins.module_utils._module import IstioModule

from ansible_collections.servicemesh.istio.plugins.module_utils._args import CHANGE_ARGS, argument_spec
from ansible_collections.servicemesh.istio.plugins.module_utils._runners.ambient import run_labels
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import CONNECTION_ARG_SPEC

# services, service accounts and pods: each entry names one object and its labels
SERVICE = {"name": {"type": "str", "required": True}, "namespace": {"type": "str", "required": True},
           "labels": {"type": "dict", "required": True}}


def main():
    module = IstioModule(
        argument_spec=argument_spec(
            CHANGE_ARGS, CONNECTION_ARG_SPEC, name={"type": "str", "default": "default"},
            record_namespace={"type": "str", "default": "istio-system"},
            state={"type": "str", "choices": ["present", "absent"], "default": "present"},
            namespaces={"type": "dict", "default": {}},
            services={"type": "list", "elements": "dict", "default": [], "options": SERVICE},
            service_accounts={"type": "list", "elements": "dict", "default": [], "options": SERVICE},
            pods={"type": "list", "elements": "dict", "default": [], "options": SERVICE}),
        supports_check_mode=True,
    )
    run_labels(module)


if __name__ == "__main__":
    main()
