#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: istio_info
short_description: Facts about the Istio control planes, revisions, tags and workloads of a cluster
version_added: 0.1.0
description:
  - Read-only. For each control plane a summary like C(kubectl get istio) (revisions, ready, in use, active
    revision, status, version, age); for each revision the columns of C(kubectl get istiorevision) (status,
    ready, in use, version, age) and what uses it and why; for each tag those of C(kubectl get istiorevisiontag)
    (status, in use, revision, age); which revision each namespace and each injected pod uses, with proxy
    versions.
  - Status values are the reference operator's. A revision is C(Healthy), C(IstiodNotReady),
    C(RemoteIstiodNotReady), a dependency problem (C(IstioCNINotFound), C(ZTunnelNotHealthy), ...),
    C(ReconcileError) when the last run did not complete it, or C(NameAlreadyExists) when an older tag has its
    name. A tag is C(Healthy) only when something uses it, else C(NotReferencedByAnything); C(RefNotFound) when
    its revision is gone. A control plane's status is its active revision's, or C(ActiveRevisionNotFound).
  - C(age) is counted from the unit's first install, printed as C(kubectl get) prints ages; C(created) is that
    time.
author: servicemesh.istio maintainers (@servicemesh-istio)
extends_documentation_fragment:
  - servicemesh.istio.attributes.INFO_MODULE
  - kubernetes.core.k8s_auth_options
  - servicemesh.istio.connection
options:
  version_catalog:
    description: A version catalog file, when the control planes were installed with one.
    type: path
seealso:
  - module: servicemesh.istio.istio_revision
    description: Install, upgrade or remove the revisions listed here.
  - module: servicemesh.istio.istio_revision_tag
    description: Manage the tags listed here.
  - module: servicemesh.istio.istio_prune
    description: Remove inactive revisions that nothing uses.
"""

EXAMPLES = r"""
- servicemesh.istio.istio_info:
  register: istio

- ansible.builtin.debug:
    msg: "{{ istio.control_planes | map(attribute='status') }}"
"""

RETURN = r"""
control_planes:
  description: name, namespace, profile, revisions, ready, in_use, active_revision, status, version, strategy,
    created, age.
  returned: always
  type: list
  elements: dict
revisions:
  description: name, namespace, control_plane, version, profile, remote, ready, not_ready_reason, status, in_use,
    in_use_reason (C(ReferencedByWorkloads) or C(NotReferencedByAnything)), usage, dependencies_healthy,
    dependency_problem, inactive_since, chart_version, created, age.
  returned: always
  type: list
  elements: dict
tags:
  description: name, namespace, revision, status, in_use, in_use_reason, the namespaces and pods that ask for
    the tag by name, created, age.
  returned: always
  type: list
  elements: dict
namespaces:
  description:
    - Namespaces with an injection label or a data plane mode label, the injection label's value (C(reference)),
      the revision it resolves to and the C(istio.io/dataplane-mode) label's value (C(dataplane_mode), for
      example C(ambient)).
  returned: always
  type: list
  elements: dict
cni:
  description: The Istio CNI (namespace, version, ready, not_ready_reason), or null when there is none.
  returned: always
  type: dict
ztunnel:
  description: ztunnel (namespace, version, ready, not_ready_reason, the revision it follows), or null.
  returned: always
  type: dict
waypoints:
  description: The waypoints this collection installed, with readiness and what they enrol.
  returned: always
  type: list
  elements: dict
pods:
  description: Pods that use a revision, with the revision, whether injected, and the proxy version.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.servicemesh.istio.plugins.module_utils._module import IstioModule

from ansible_collections.servicemesh.istio.plugins.module_utils._args import argument_spec
from ansible_collections.servicemesh.istio.plugins.module_utils._runners.info import run_info
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import CONNECTION_ARG_SPEC


def main():
    module = IstioModule(argument_spec=argument_spec(CONNECTION_ARG_SPEC, version_catalog={"type": "path"}),
                         supports_check_mode=True)
    run_info(module)


if __name__ == "__main__":
    main()
