# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: multicluster_gateway
short_description: A gateway of the multi-cluster plan, injected by a control plane revision
version_added: 0.2.0
description:
  - The C(multicluster) role plans its gateways (C(gateway) of the
    C(servicemesh.istio.multicluster_topology) filter, C(gateways) of C(servicemesh.istio.multicluster_membership))
    before the control plane revision that injects them is installed. This filter gives a planned gateway that
    revision, as C(servicemesh.istio.istio_gateway) takes it. Needs no cluster.
  - An C(expose_istiod) without a C(revision) (a primary's east-west gateway in front of its own istiod) gets that
    revision too; one with its own (the external istiod's) keeps it.
positional: revision
options:
  _input:
    description: The planned gateway (C(preset), C(namespace), and optionally C(name), C(network), C(values),
      C(expose_services), C(expose_istiod)).
    type: dict
    required: true
  revision:
    description: The control plane revision that injects the gateway.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: A primary's east-west gateway
  servicemesh.istio.istio_gateway:
    preset: "{{ _gateway.preset }}"
    namespace: "{{ _gateway.namespace }}"
    revision: "{{ _gateway.revision }}"
    expose_istiod: "{{ _gateway.expose_istiod }}"
  vars:
    _gateway: "{{ {'preset': 'eastwest', 'namespace': 'istio-system', 'expose_istiod': {'namespace': 'istio-system'}}
                  | servicemesh.istio.multicluster_gateway('default') }}"
"""

RETURN = r"""
_value:
  description: The gateway with C(revision), and C(expose_istiod.revision) where it had none.
  type: dict
"""

from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster import topology as _topology


def multicluster_gateway(gateway, revision):
    return _topology.with_revision(dict(gateway or {}), revision)


class FilterModule:
    def filters(self):
        return {"multicluster_gateway": multicluster_gateway}
