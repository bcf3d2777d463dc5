#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: istio_gateway_api
short_description: Install or upgrade the Kubernetes Gateway API CRDs from a bundle file
version_added: 0.2.0
description:
  - Installs a Gateway API bundle (the standard or experimental channel's install file) that ambient mode's
    waypoints need, and upgrades it when the file changes (standard to experimental, a newer release).
  - The file is read, parsed and checked before anything is sent, every document a Gateway API CRD (of the groups
    C(gateway.networking.k8s.io) and C(gateway.networking.x-k8s.io)) or a C(ValidatingAdmissionPolicy) or its
    binding, each named once, C(gateways.gateway.networking.k8s.io) among them. Then every object is decided by a
    server dry run (an invalid schema, a CEL rule that does not compile, a conflict), so a bad bundle writes
    nothing; in check mode that is all it does, with the real diff.
  - The objects are applied with server-side apply under the field manager C(servicemesh.istio). With O(wait) the
    module then waits for the objects that report readiness through a condition (CRDs C(Established)); admission
    policies and their bindings have no such condition and are ready once the server has taken them.
  - The objects are never removed by this collection.
author: servicemesh.istio maintainers (@servicemesh-istio)
extends_documentation_fragment:
  - servicemesh.istio.attributes
  - kubernetes.core.k8s_auth_options
  - servicemesh.istio.connection
options:
  src:
    description: The bundle file (multi-document YAML).
    type: path
    required: true
  wait:
    description: Wait until the CRDs are C(Established).
    type: bool
    default: true
  wait_timeout:
    description: How many seconds to wait; on timeout the error lists every object not ready and why.
    type: int
    default: 300
  force_conflicts:
    description:
      - Take over fields another field manager owns (CRDs installed by other means). Without it, a server-side
        apply conflict fails before any write and names the fields and their manager.
    type: bool
    default: false
seealso:
  - module: servicemesh.istio.istio_waypoint
    description: Waypoints are Gateways of this API.
  - name: Kubernetes Gateway API
    link: https://gateway-api.sigs.k8s.io/
    description: The API and its release channels.
requirements:
  - kubernetes
  - PyYAML
"""

EXAMPLES = r"""
- name: The Gateway API, standard channel
  servicemesh.istio.istio_gateway_api:
    src: standard-install.yaml
"""

RETURN = r"""
crds:
  description: The names of the bundle's CRDs.
  returned: always
  type: list
  elements: str
waited_for:
  description: The objects that report readiness through a condition, which the module waits for with O(wait).
  returned: always
  type: list
  elements: str
objects:
  description: One entry per object of the bundle with its action.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.servicemesh.istio.plugins.module_utils._module import IstioModule

from ansible_collections.servicemesh.istio.plugins.module_utils._args import CHANGE_ARGS, argument_spec
from ansible_collections.servicemesh.istio.plugins.module_utils._runners.gateway_api import run_gateway_api
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import CONNECTION_ARG_SPEC


def main():
    module = IstioModule(
        argument_spec=argument_spec(CHANGE_ARGS, CONNECTION_ARG_SPEC, src={"type": "path", "required": True}),
        supports_check_mode=True,
    )
    run_gateway_api(module)


if __name__ == "__main__":
    main()
