# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: from_istio_operator
short_description: The collection's inputs for an IstioOperator resource
version_added: 0.2.0
description:
  - Reads an C(IstioOperator) (C(install.istio.io/v1alpha1), the resource C(istioctl install -f) takes) and returns
    what installs the same mesh with this collection, without a cluster. The control plane's inputs (C(name),
    C(namespace), C(profile), C(revision), C(values)) go to M(servicemesh.istio.istio_control_plane) or the
    C(control_plane) role; the gateways to M(servicemesh.istio.istio_gateway); the CNI and ztunnel to
    M(servicemesh.istio.istio_cni) and M(servicemesh.istio.istio_ztunnel).
  - C(spec.profile) is istioctl's profile (applied over its C(default)); C(minimal) and C(empty) are the collection's
    C(default) with fewer components. C(spec.hub), C(spec.tag) and C(spec.compatibilityVersion) become
    C(global.hub), C(global.tag) and C(compatibilityVersion); C(spec.meshConfig) is merged over
    C(values.meshConfig); C(spec.values) and C(spec.unvalidatedValues) pass through, except C(values.gateways)
    (given to the gateways), C(values.cni) and C(values.ztunnel) (given to the node agents), the deprecated
    C(values.istio_cni) (as C(pilot.cni)), C(values.revision) and C(values.global.istioNamespace) (the revision
    and namespace inputs).
  - A component's C(k8s) settings become its chart's values (istiod's under C(pilot.)), for example C(resources),
    C(env) (C(valueFrom) entries as C(envVarFrom)), C(hpaSpec) (the autoscaler's bounds, CPU and memory targets and
    behaviour), C(replicaCount) (a fixed count, with autoscaling off), C(nodeSelector), C(tolerations),
    C(affinity), C(podAnnotations), C(podDisruptionBudget), C(strategy), C(serviceAnnotations), C(service)
    (a gateway's type, ports and addresses), C(volumes) and C(volumeMounts).
  - What has no equivalent, among it every C(k8s.overlays) entry, is listed in C(unmapped) with its path and the
    reason; with O(strict) the filter fails instead, naming every such field in one message.
positional: strict
options:
  _input:
    description: The IstioOperator, as a mapping or as YAML text (one document).
    type: raw
    required: true
  strict:
    description: Fail, listing every field that has no equivalent, instead of returning them in C(unmapped).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Install the control plane an IstioOperator describes
  ansible.builtin.include_role:
    name: servicemesh.istio.control_plane
  vars:
    _converted: "{{ lookup('ansible.builtin.file', 'istio-operator.yaml') | servicemesh.istio.from_istio_operator(strict=true) }}"
    istio_name: "{{ _converted.name }}"
    istio_namespace: "{{ _converted.namespace }}"
    istio_profile: "{{ _converted.profile }}"
    istio_values: "{{ _converted['values'] }}"
    istio_version: v1.30.3

- name: And its gateways
  servicemesh.istio.istio_gateway:
    name: "{{ item.name }}"
    namespace: "{{ item.namespace }}"
    preset: "{{ item.preset }}"
    revision: "{{ item.revision or omit }}"
    values: "{{ item['values'] }}"
  loop: "{{ (lookup('ansible.builtin.file', 'istio-operator.yaml') | servicemesh.istio.from_istio_operator).gateways }}"

- name: Say what has no equivalent
  ansible.builtin.debug:
    msg: "{{ (operator | servicemesh.istio.from_istio_operator).unmapped | map(attribute='path') | list }}"
  vars:
    operator:
      apiVersion: install.istio.io/v1alpha1
      kind: IstioOperator
      spec:
        components:
          pilot:
            k8s:
              overlays:
                - {kind: Deployment, name: istiod, patches: [{path: spec.minReadySeconds, value: 10}]}
"""

RETURN = r"""
_value:
  description: The collection's inputs for the resource.
  type: dict
  contains:
    name:
      description: The control plane's name, C(default), or the revision when the resource names one.
      type: str
    namespace:
      description: The control plane's namespace (C(spec.components.pilot.namespace), C(spec.namespace),
        C(values.global.istioNamespace), C(metadata.namespace), else C(istio-system)).
      type: str
    profile:
      description: The collection's profile for istioctl's.
      type: str
    revision:
      description: The revision (C(spec.revision) or C(values.revision)), or null for the default one.
      type: str
    values:
      description: The istiod chart's values.
      type: dict
    control_plane:
      description: Whether the resource installs istiod (false with the C(empty) profile unless pilot is enabled).
      type: bool
    install_crds:
      description: Whether it installs the base chart (the CRDs).
      type: bool
    gateways:
      description: The gateways to install, each with C(name), C(namespace), C(preset) (C(ingress) or C(egress)),
        C(revision) and C(values), as M(servicemesh.istio.istio_gateway) takes them.
      type: list
      elements: dict
    cni:
      description: The CNI node agent's C(namespace) and C(values), or null when it is not enabled.
      type: dict
    ztunnel:
      description: ztunnel's C(namespace) and C(values), or null when it is not enabled.
      type: dict
    unmapped:
      description: Every field without an equivalent, each with its C(path) and the C(reason).
      type: list
      elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError
from ansible_collections.servicemesh.istio.plugins.module_utils._istiooperator import convert, require_all_mapped

try:
    import yaml
except ImportError:  # pragma: no cover - ansible-core needs PyYAML
    yaml = None


def _resource(value):
    """A mapping as it is; text parsed as one YAML document."""
    if not isinstance(value, str):
        return value
    try:
        documents = [doc for doc in yaml.safe_load_all(value) if doc is not None]
    except yaml.YAMLError as exc:
        raise AnsibleFilterError("from_istio_operator: the text is not YAML: %s" % exc)
    if len(documents) != 1:
        raise AnsibleFilterError("from_istio_operator: expected one IstioOperator document, got %d" % len(documents))
    return documents[0]


def from_istio_operator(value, strict=False):
    try:
        converted = convert(_resource(value))
        if strict:
            require_all_mapped(converted)
    except IstioError as exc:
        raise AnsibleFilterError("from_istio_operator: %s" % exc)
    return converted


class FilterModule:
    def filters(self):
        return {"from_istio_operator": from_istio_operator}
