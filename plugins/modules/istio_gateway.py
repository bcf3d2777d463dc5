#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: istio_gateway
short_description: Install or remove an Istio gateway from the official gateway chart, and expose through it
version_added: 0.1.0
description:
  - Renders the C(gateway) chart (release named O(name)) with a preset's values under O(values) and applies it;
    ready when the Deployment is ready and, for a C(LoadBalancer) Service, when it has an address.
  - "Presets: C(ingress) (the chart's defaults), C(egress) (a C(ClusterIP) Service), C(eastwest) (the chart's
    C(networkGateway) for O(network), that is the requested network view and the C(topology.istio.io/network)
    label, and Service ports 15021, 15443, 15012 and 15017)."
  - O(expose_services) adds the Istio Gateway C(cross-network-gateway) in O(namespace) that passes C(*.local)
    through on 15443 (C(AUTO_PASSTHROUGH)), so that other networks reach this one's services.
  - O(expose_istiod) adds the Gateway C(istiod-gateway) and the VirtualService C(istiod-vs) in the istiod's
    namespace that pass 15012 and 15017 through to that istiod (primary-remote and external control planes);
    with O(expose_istiod.tls), TLS is terminated at the gateway with a certificate and a DestinationRule sends it on
    over TLS.
  - The gateway and its exposure objects are one unit; O(state=absent) removes exactly what it created.
author: servicemesh.istio maintainers (@servicemesh-istio)
extends_documentation_fragment:
  - servicemesh.istio.attributes
  - servicemesh.istio.chart_source
  - servicemesh.istio.cluster_change
  - kubernetes.core.k8s_auth_options
  - servicemesh.istio.connection
options:
  name:
    description:
      - The gateway's name (its release, Deployment and Service). Defaults to C(istio-ingressgateway),
        C(istio-egressgateway) or C(istio-eastwestgateway) by O(preset).
    type: str
  namespace:
    description: The gateway's namespace.
    type: str
    default: istio-system
  state:
    description: C(present) installs or upgrades the gateway; C(absent) removes what it created.
    type: str
    choices: [present, absent]
    default: present
  preset:
    description: The kind of gateway.
    type: str
    choices: [ingress, egress, eastwest]
    default: ingress
  network:
    description: The network an C(eastwest) gateway serves (required with that preset, refused with the others).
    type: str
  version:
    description: The Istio version of the chart. Defaults to the version of O(revision) if it is installed, else the newest.
    type: str
  revision:
    description: The control plane revision that injects the gateway's proxies (its C(istio.io/rev) label).
    type: str
  values:
    description: Values for the gateway chart, merged over the preset's (maps merge, lists replace).
    type: dict
    default: {}
  expose_services:
    description: Expose this network's services to other networks through the gateway (port 15443 needed).
    type: bool
    default: false
  expose_istiod:
    description: Expose an istiod through the gateway (ports 15012 and 15017 needed).
    type: dict
    suboptions:
      revision:
        description: The istiod's revision (C(default) is the Service C(istiod), others C(istiod-<revision>)).
        type: str
        default: default
      namespace:
        description: The istiod's namespace, where the Gateway and VirtualService go. Defaults to O(namespace).
        type: str
      tls:
        description:
          - Terminate TLS at the gateway instead of passing 15012 and 15017 through, as the external control plane
            guide does for production. The Gateway's servers are C(SIMPLE) TLS (protocol C(HTTPS)) with the
            certificate of O(expose_istiod.tls.credential_name) for O(expose_istiod.tls.hosts); the VirtualService
            routes HTTP, and the DestinationRule C(istiod-tls) speaks TLS to istiod (HTTP/2 on 15012, 443 for the
            webhooks).
        type: dict
        suboptions:
          credential_name:
            description:
              - The Secret holding the gateway's certificate and key (C(tls.crt), C(tls.key)), in the gateway's
                namespace. M(servicemesh.istio.istio_gateway_certificate) makes one.
            type: str
            required: true
          hosts:
            description: The names (or addresses) remote clusters reach istiod at; the certificate must cover them.
            type: list
            elements: str
            required: true
  create_namespace:
    description: Create O(namespace) if it does not exist (it is never deleted by this collection).
    type: bool
    default: false
  wait_for_address:
    description: With O(wait), also wait until a C(LoadBalancer) Service has an address.
    type: bool
    default: true
  dual_stack:
    description:
      - Serve both IP families (a dual-stack cluster), as the reference operator's dual-stack guide does, with
        C(service.ipFamilyPolicy=RequireDualStack) with C(service.ipFamilies=[IPv4, IPv6]), and
        C(env.ISTIO_DUAL_STACK="true") for the gateway's proxy (whatever the injecting revision's mesh config says).
      - O(values) setting any of those keys win. Set back to false, the next run renders none of them.
    type: bool
    default: false
seealso:
  - module: servicemesh.istio.istio_remote_secret
    description: The other half of a multi-cluster mesh.
  - module: servicemesh.istio.istio_cacerts
    description: The shared root of a multi-cluster mesh.
  - name: Installing gateways
    link: https://istio.io/latest/docs/setup/additional-setup/gateway/
    description: Gateways from the official gateway chart.
requirements:
  - helm-python-sdk
  - kubernetes
  - PyYAML
"""

EXAMPLES = r"""
- name: East-west gateway of network1, exposing its services
  servicemesh.istio.istio_gateway:
    preset: eastwest
    network: network1
    expose_services: true
  register: eastwest

- name: Remote clusters reach istiod through it (primary-remote)
  servicemesh.istio.istio_gateway:
    preset: eastwest
    network: network1
    expose_services: true
    expose_istiod: {}

- name: A dual-stack ingress gateway (the Service gets an IPv4 and an IPv6 address)
  servicemesh.istio.istio_gateway:
    dual_stack: true

- name: Ingress gateway for an external control plane
  servicemesh.istio.istio_gateway:
    values:
      service:
        ports:
          - {name: status-port, port: 15021, targetPort: 15021}
          - {name: tls-xds, port: 15012, targetPort: 15012}
          - {name: tls-webhook, port: 15017, targetPort: 15017}
    expose_istiod:
      revision: external-istiod
      namespace: external-istiod

- name: The same behind TLS, with a certificate for istiod.example.com in the Secret external-istiod-tls
  servicemesh.istio.istio_gateway:
    values:
      service:
        ports:
          - {name: status-port, port: 15021, targetPort: 15021}
          - {name: tls-xds, port: 15012, targetPort: 15012}
          - {name: tls-webhook, port: 15017, targetPort: 15017}
    expose_istiod:
      revision: external-istiod
      namespace: external-istiod
      tls:
        credential_name: external-istiod-tls
        hosts: [istiod.example.com]
"""

RETURN = r"""
name:
  description: The gateway's name.
  returned: always
  type: str
version:
  description: The chart's Istio version.
  returned: when state is present
  type: str
address:
  description: The first address of a C(LoadBalancer) Service (IP or host name), or null.
  returned: when state is present
  type: str
addresses:
  description: All addresses of a C(LoadBalancer) Service.
  returned: when state is present
  type: list
  elements: str
selector:
  description: The labels Istio Gateway objects select the gateway by.
  returned: when state is present
  type: dict
exposed:
  description: The exposure objects, as C(kind namespace/name).
  returned: when state is present
  type: list
  elements: str
objects:
  description: One entry per object with its action.
  returned: always
  type: list
  elements: dict
namespace:
  description: The gateway's namespace.
  returned: always
  type: str
preset:
  description: The preset the gateway was installed with, as in O(preset).
  returned: when state is present
  type: str
network:
  description: The network the gateway serves, as in O(network), or null.
  returned: when state is present
  type: str
revision:
  description: The control plane revision the gateway is bound to, as in O(revision), or null.
  returned: when state is present
  type: str
removed:
  description: Whether anything was removed (or would be, in check mode).
  returned: when state is absent
  type: bool
"""

from ansible_collections.servicemesh.istio.plugins.module_utils._module import IstioModule

from ansible_collections.servicemesh.istio.plugins.module_utils._args import (
    CHANGE_ARGS, CHART_SOURCE_ARGS, argument_spec)
from ansible_collections.servicemesh.istio.plugins.module_utils._runners.multicluster import STATE_ARG, run_gateway
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import CONNECTION_ARG_SPEC


def main():
    module = IstioModule(
        argument_spec=argument_spec(
            CHART_SOURCE_ARGS, CHANGE_ARGS, CONNECTION_ARG_SPEC, state=STATE_ARG,
            name={"type": "str"}, namespace={"type": "str", "default": "istio-system"},
            preset={"type": "str", "choices": ["ingress", "egress", "eastwest"], "default": "ingress"},
            network={"type": "str"}, version={"type": "str"}, revision={"type": "str"},
            values={"type": "dict", "default": {}}, expose_services={"type": "bool", "default": False},
            expose_istiod={"type": "dict", "options": {
                "revision": {"type": "str", "default": "default"}, "namespace": {"type": "str"},
                "tls": {"type": "dict", "options": {
                    "credential_name": {"type": "str", "required": True},
                    "hosts": {"type": "list", "elements": "str", "required": True}}}}},
            create_namespace={"type": "bool", "default": False},
            wait_for_address={"type": "bool", "default": True}, dual_stack={"type": "bool", "default": False}),
        supports_check_mode=True,
    )
    run_gateway(module)


if __name__ == "__main__":
    main()
