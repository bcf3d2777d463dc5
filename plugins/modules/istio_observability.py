#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: istio_observability
short_description: Prometheus monitors, Kiali settings and mesh-wide tracing for a control-plane revision
version_added: 0.2.0
description:
  - Wires a revision into the observability stack the way the OpenShift Service Mesh guide does by hand.
  - With O(prometheus), a Prometheus Operator C(ServiceMonitor) for istiod's monitoring port and a C(PodMonitor)
    for the sidecars the revision injected, both named after the revision (C(istiod-<revision>),
    C(istio-proxies-<revision>); no suffix for the revision C(default)), in the control plane's namespace.
  - With O(kiali), the fields of an existing Kiali resource that point Kiali at the control plane's namespace and
    at the revision's istiod, mesh ConfigMap and injector ConfigMap. Only those fields are applied, as this
    collection's; the resource stays the Kiali operator's and is never created or deleted here.
  - With O(tracing_provider), the mesh-wide C(Telemetry) resource that turns on that meshConfig extension
    provider (M(servicemesh.istio.istio_control_plane)'s O(servicemesh.istio.istio_control_plane#module:tracing)
    option defines it) with O(tracing_sampling) percent of requests sampled.
  - A kind the cluster does not serve (its operator or CRDs are not installed) is skipped with a warning that
    says so; the rest is wired.
  - O(state=absent) deletes the monitors and the Telemetry resource this module created; the Kiali resource
    keeps its settings.
author: servicemesh.istio maintainers (@servicemesh-istio)
extends_documentation_fragment:
  - servicemesh.istio.attributes
  - servicemesh.istio.cluster_change
  - kubernetes.core.k8s_auth_options
  - servicemesh.istio.connection
options:
  control_plane:
    description: The control plane whose active revision is wired (unless O(revision) names one).
    type: str
    default: default
  namespace:
    description: The control plane's namespace (the monitors and the Telemetry resource go there).
    type: str
    default: istio-system
  revision:
    description: The revision to wire, instead of the control plane's active one.
    type: str
  state:
    description: C(present) wires the revision; C(absent) removes what this module created.
    type: str
    choices: [present, absent]
    default: present
  prometheus:
    description: Create the revision's C(ServiceMonitor) and C(PodMonitor).
    type: bool
    default: false
  monitor_labels:
    description: Labels for the monitors, for the Prometheus resource's C(serviceMonitorSelector)/C(podMonitorSelector).
    type: dict
    default: {}
  kiali:
    description: The Kiali resource to point at the control plane.
    type: dict
    suboptions:
      name:
        description: Its name.
        type: str
        default: kiali
      namespace:
        description: Its namespace.
        type: str
        default: istio-system
  tracing_provider:
    description: A meshConfig extension provider to turn on for the whole mesh, with a C(Telemetry) resource.
    type: str
  tracing_sampling:
    description: The percentage of requests traced (0 to 100).
    type: float
    default: 1.0
seealso:
  - module: servicemesh.istio.istio_control_plane
    description: Its O(servicemesh.istio.istio_control_plane#module:tracing) option adds the tracing provider to meshConfig.
  - name: Prometheus Operator monitors for Istio
    link: https://istio.io/latest/docs/ops/integrations/prometheus/
    description: What the monitors scrape.
requirements:
  - kubernetes
"""

EXAMPLES = r"""
- name: A tracing backend in meshConfig, with the control plane
  servicemesh.istio.istio_control_plane:
    version: v1.30.3
    tracing:
      provider: zipkin
      service: jaeger-collector.tracing.svc.cluster.local

- name: Monitors, Kiali and mesh-wide tracing for the active revision
  servicemesh.istio.istio_observability:
    prometheus: true
    monitor_labels:
      release: prometheus
    kiali:
      name: kiali
      namespace: istio-system
    tracing_provider: tracing
    tracing_sampling: 10
"""

RETURN = r"""
revision:
  description: The revision wired.
  returned: always
  type: str
wired:
  description: The objects applied (C(Kind name)); kinds the cluster does not serve are left out, with a warning.
  returned: always
  type: list
  elements: str
objects:
  description: One entry per object with its action (created, updated, unchanged, deleted, released).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.servicemesh.istio.plugins.module_utils._module import IstioModule

from ansible_collections.servicemesh.istio.plugins.module_utils._args import CHANGE_ARGS, argument_spec
from ansible_collections.servicemesh.istio.plugins.module_utils._runners.observability import run_observability
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import CONNECTION_ARG_SPEC


def main():
    module = IstioModule(
        argument_spec=argument_spec(
            CHANGE_ARGS, CONNECTION_ARG_SPEC,
            control_plane={"type": "str", "default": "default"}, namespace={"type": "str", "default": "istio-system"},
            revision={"type": "str"}, state={"type": "str", "choices": ["present", "absent"], "default": "present"},
            prometheus={"type": "bool", "default": False}, monitor_labels={"type": "dict", "default": {}},
            kiali={"type": "dict", "options": {"name": {"type": "str", "default": "kiali"},
                                               "namespace": {"type": "str", "default": "istio-system"}}},
            tracing_provider={"type": "str"}, tracing_sampling={"type": "float", "default": 1.0}),
        supports_check_mode=True,
    )
    run_observability(module)


if __name__ == "__main__":
    main()
