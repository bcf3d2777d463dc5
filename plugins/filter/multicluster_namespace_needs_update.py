# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: multicluster_namespace_needs_update
short_description: Whether a namespace must be created or patched to hold the given labels and annotations
version_added: 0.2.0
description:
  - The C(multicluster) role labels a control plane namespace with its network (and annotates a remote cluster's with
    the cluster that runs its control plane). It writes only when the namespace is missing or lacks one of them, or
    holds another value for it, so that a second run sends nothing. Labels and annotations the role does not set are
    left out of the comparison. Needs no cluster.
positional: labels, annotations
options:
  _input:
    description: The namespace as read (the C(resources) of C(kubernetes.core.k8s_info)); empty when it is missing.
    type: list
    elements: dict
    required: true
  labels:
    description: The labels the namespace must hold.
    type: dict
    default: {}
  annotations:
    description: The annotations the namespace must hold.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Create or label the control plane namespace
  kubernetes.core.k8s:
    definition:
      apiVersion: v1
      kind: Namespace
      metadata:
        name: istio-system
        labels: {topology.istio.io/network: network1}
  when: >-
    namespace_info.resources
    | servicemesh.istio.multicluster_namespace_needs_update({'topology.istio.io/network': 'network1'})
"""

RETURN = r"""
_value:
  description: True when the namespace is missing or lacks one of the labels or annotations (or holds another value).
  type: bool
"""

from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster import namespace as _namespace


def multicluster_namespace_needs_update(namespaces, labels=None, annotations=None):
    return _namespace.needs_update(list(namespaces or ()), labels, annotations)


class FilterModule:
    def filters(self):
        return {"multicluster_namespace_needs_update": multicluster_namespace_needs_update}
