#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: istio_manifest
short_description: Render an Istio control plane from the official charts, without a cluster
version_added: 0.1.0
description:
  - The equivalent of C(istioctl manifest generate) for a control plane described like the
    Sail Operator's C(Istio) resource.
  - Resolves the version, names the revision, merges profiles and values, and renders the chosen
    components with the Helm engine in-process. Nothing is sent to a cluster.
  - Each component renders through the same function whose objects its cluster module applies (on a first
    install), so the output is what M(servicemesh.istio.istio_revision), M(servicemesh.istio.istio_revision_tag),
    M(servicemesh.istio.istio_cni), M(servicemesh.istio.istio_ztunnel) and M(servicemesh.istio.istio_gateway)
    would apply, object for object.
  - The label C(install.operator.istio.io/owning-resource), which the official chart archives put on every
    object and pod template, is removed from every component, as the reference operator's charts do (no
    IstioOperator owns these objects).
  - Image references pinned by the version catalog (O(version_catalog)) end up in the values unless the
    values choose the image themselves.
  - The rendered text holds Go templates for istiod's injector; it is returned as data and never templated.
author: servicemesh.istio maintainers (@servicemesh-istio)
extends_documentation_fragment:
  - servicemesh.istio.attributes
  - servicemesh.istio.control_plane
  - servicemesh.istio.chart_source
  - kubernetes.core.k8s_auth_options
  - servicemesh.istio.connection
attributes:
  check_mode:
    details: In check mode O(dest) is not written; the result and diff say what would be.
  idempotent:
    details: Nothing is sent to a cluster; O(dest) is written only when its content would change.
options:
  components:
    description:
      - What to render, in this order. Each item is a name or a mapping with a C(component) key and the keys
        that component takes (others are refused).
      - C(base) (the CRDs, and for the revision C(default) the default validator and the reader account;
        C(include_crds) false drops the CRDs; a RevisionBased revision gets only the CRDs, its tag C(default)
        brings the rest).
      - C(istiod).
      - C(revision_tag) (C(tag), default C(default)); the tag C(default) also brings the default validator,
        pointing at this revision, and the reader account. A tag named like the revision is refused.
      - C(cni) (C(namespace), C(profile), C(values)); C(ztunnel) (C(namespace), C(values); follows this revision).
      - C(gateway) with the options of M(servicemesh.istio.istio_gateway) (C(name), C(namespace), C(preset),
        C(network), C(values), C(expose_services), C(expose_istiod), C(dual_stack)); injected by this revision.
        The default C(ingress) preset is the chart's defaults (a C(LoadBalancer) Service on 15021, 80 and 443).
        C(dual_stack) defaults to whether this revision is dual-stack (O(dual_stack), or its own
        C(pilot.env.ISTIO_DUAL_STACK)).
    type: list
    elements: raw
    default: [base, istiod]
  dest:
    description: Write the objects as one multi-document YAML file here.
    type: path
notes:
  - The connection options are accepted so that C(module_defaults) for the group C(servicemesh.istio.istio)
    apply to every module of the collection; this module never contacts a cluster.
seealso:
  - module: servicemesh.istio.istio_revision
    description: Apply the same control plane to a cluster.
  - name: istioctl reference
    link: https://istio.io/latest/docs/reference/commands/istioctl/
    description: C(istioctl manifest generate), which this module stands in for.
requirements:
  - helm-python-sdk
  - PyYAML
"""

EXAMPLES = r"""
- name: Render a RevisionBased control plane from a local chart mirror
  servicemesh.istio.istio_manifest:
    name: default
    version: v1.30.3
    update_strategy:
      type: RevisionBased
    chart_dir: /srv/istio-charts
    dest: /tmp/istio.yaml
  register: manifest

- name: Render CNI and ztunnel for ambient mode
  servicemesh.istio.istio_manifest:
    profile: ambient
    components: [base, istiod, cni, ztunnel]

- name: Render a canary revision with its default tag and an east-west gateway, images from a mirror
  servicemesh.istio.istio_manifest:
    version: v1.30.3
    update_strategy:
      type: RevisionBased
    version_catalog: /srv/istio/air-gapped-catalog.yaml
    chart_dir: /srv/istio-charts
    components:
      - base
      - istiod
      - {component: revision_tag, tag: default}
      - {component: gateway, preset: eastwest, network: network1, expose_services: true}
"""

RETURN = r"""
revision:
  description: The revision name.
  returned: always
  type: str
  sample: default-v1-30-3
version:
  description: The resolved Istio version.
  returned: always
  type: str
  sample: v1.30.3
values:
  description: The merged values of the istiod chart.
  returned: always
  type: dict
objects:
  description: The rendered objects, component by component, in a stable order.
  returned: always
  type: list
  elements: dict
components:
  description: For each component, the chart, its version and origin, the release name, namespace and object count.
  returned: always
  type: list
  elements: dict
dest:
  description: The file the objects were written to (or would be, in check mode), as given in O(dest).
  returned: when O(dest) is set
  type: str
  sample: /tmp/istio.yaml
uid:
  description: The numeric owner of O(dest), as Ansible reports it for files a module writes.
  returned: when O(dest) is set and the file exists
  type: int
gid:
  description: The numeric group of O(dest).
  returned: when O(dest) is set and the file exists
  type: int
owner:
  description: The owner of O(dest), by name.
  returned: when O(dest) is set and the file exists
  type: str
group:
  description: The group of O(dest), by name.
  returned: when O(dest) is set and the file exists
  type: str
mode:
  description: The permissions of O(dest), in octal.
  returned: when O(dest) is set and the file exists
  type: str
  sample: "0644"
state:
  description: What O(dest) is (C(file) once written).
  returned: when O(dest) is set and the file exists
  type: str
  sample: file
size:
  description: The size of O(dest) in bytes.
  returned: when O(dest) is set and the file exists
  type: int
secontext:
  description: The SELinux context of O(dest).
  returned: when O(dest) is set, the file exists and SELinux is enabled
  type: str
"""

from ansible_collections.servicemesh.istio.plugins.module_utils._module import IstioModule

from ansible_collections.servicemesh.istio.plugins.module_utils._args import (
    CHART_SOURCE_ARGS, CONTROL_PLANE_ARGS, argument_spec)
from ansible_collections.servicemesh.istio.plugins.module_utils._runners.manifest import run_manifest
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import CONNECTION_ARG_SPEC


def main():
    module = IstioModule(
        argument_spec=argument_spec(CONTROL_PLANE_ARGS, CHART_SOURCE_ARGS, CONNECTION_ARG_SPEC,
                                    components={"type": "list", "elements": "raw", "default": ["base", "istiod"]},
                                    dest={"type": "path"}),
        supports_check_mode=True,
    )
    run_manifest(module)


if __name__ == "__main__":
    main()
