# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: multicluster_namespace_release
short_description: The labels and annotations to take back from a namespace, those that still have our value
version_added: 0.2.0
description:
  - The C(multicluster) role labels a control plane namespace with its network (and annotates a remote cluster's with
    the cluster that runs its control plane). On teardown it removes only the labels and annotations that still have
    the value it wrote; one that someone changed since stays. Needs no cluster.
  - The result is the C(labels) and C(annotations) of a merge patch (each key to null, which removes it).
positional: labels, annotations
options:
  _input:
    description: The namespace as read (the C(resources) of C(kubernetes.core.k8s_info)); empty when it is gone.
    type: list
    elements: dict
    required: true
  labels:
    description: The labels the role wrote.
    type: dict
    default: {}
  annotations:
    description: The annotations the role wrote.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Take back our network label
  kubernetes.core.k8s:
    state: patched
    merge_type: merge
    definition:
      apiVersion: v1
      kind: Namespace
      metadata:
        name: istio-system
        labels: "{{ _release.labels }}"
        annotations: "{{ _release.annotations }}"
  vars:
    _release: >-
      {{ namespace_info.resources
         | servicemesh.istio.multicluster_namespace_release({'topology.istio.io/network': 'network1'}) }}
  when: _release.needed
"""

RETURN = r"""
_value:
  description: What to remove.
  type: dict
  contains:
    labels:
      description: The labels to remove, each to null.
      type: dict
    annotations:
      description: The annotations to remove, each to null.
      type: dict
    needed:
      description: Whether there is anything to remove.
      type: bool
"""

from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster import namespace as _namespace


def multicluster_namespace_release(namespaces, labels=None, annotations=None):
    return _namespace.release(list(namespaces or ()), labels, annotations)


class FilterModule:
    def filters(self):
        return {"multicluster_namespace_release": multicluster_namespace_release}
