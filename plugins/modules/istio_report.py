#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: istio_report
short_description: A human-readable summary of the mesh, and a diagram of it as Mermaid and SVG
version_added: 0.2.0
description:
  - Reads the same facts as M(servicemesh.istio.istio_info) and returns them as text lines for the play output
    (RV(report)), namely control planes; revisions with their status, version, whether in use and what holds each one;
    tags and the revisions they point at; namespaces with their revision or data plane mode; proxy versions by
    revision; the CNI, ztunnel and waypoints. This is what to look at after a canary upgrade.
  - RV(mermaid) is a diagram of the same, as Mermaid flowchart text. With O(dest) it is written to that file
    (C(.mmd), or C(.md) as a fenced C(mermaid) block) and an SVG drawing of it next to it (the same name ending in
    C(.svg)). The SVG is laid out by the module itself, so no renderer is needed on the host.
  - Only reads the cluster; it changes only the files of O(dest), and only when their content differs.
author: servicemesh.istio maintainers (@servicemesh-istio)
extends_documentation_fragment:
  - servicemesh.istio.attributes
  - kubernetes.core.k8s_auth_options
  - servicemesh.istio.connection
options:
  dest:
    description:
      - The file for the Mermaid diagram, ending in C(.mmd) or C(.md); the SVG goes next to it. Missing directories
        are created.
    type: path
  version_catalog:
    description: A version catalog file, when the control planes were installed with one.
    type: path
notes:
  - In check mode the files are not written; with diff mode the diff shows what would be.
seealso:
  - module: servicemesh.istio.istio_info
    description: The same facts, as data.
  - name: Mermaid
    link: https://mermaid.js.org/syntax/flowchart.html
    description: The diagram syntax of RV(mermaid).
"""

EXAMPLES = r"""
- name: The mesh after the canary upgrade, and its diagram in mesh.mmd and mesh.svg
  servicemesh.istio.istio_report:
    dest: "{{ playbook_dir }}/mesh.mmd"
  register: mesh

- name: Show it
  ansible.builtin.debug:
    var: mesh.report
"""

RETURN = r"""
report:
  description:
    - The summary, one line per item under the headings C(Control planes), C(Revisions), C(Tags), C(Namespaces),
      C(Proxies by revision), then the CNI and ztunnel lines and C(Waypoints).
  returned: always
  type: list
  elements: str
  sample:
    - "Control planes:"
    - "  default (istio-system): Healthy, v1.30.3, RevisionBased, active revision default-v1-30-3, 2 revisions (2 ready, 1 in use)"
mermaid:
  description: The diagram as Mermaid flowchart text (control planes, revisions, tags, namespaces, data plane).
  returned: always
  type: str
files:
  description: The files written (or, in check mode, that would be), the Mermaid file and then the SVG.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.servicemesh.istio.plugins.module_utils._module import IstioModule

from ansible_collections.servicemesh.istio.plugins.module_utils._args import argument_spec
from ansible_collections.servicemesh.istio.plugins.module_utils._runners.info import run_report
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import CONNECTION_ARG_SPEC


def main():
    module = IstioModule(argument_spec=argument_spec(CONNECTION_ARG_SPEC, dest={"type": "path"},
                                                     version_catalog={"type": "path"}),
                         supports_check_mode=True)
    run_report(module)


if __name__ == "__main__":
    main()
