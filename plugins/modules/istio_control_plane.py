#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: istio_control_plane
short_description: One Istio control plane with its revisions, tags and pruning, like the Sail Operator's Istio resource
version_added: 0.2.0
description:
  - Installs or upgrades the control plane's active revision (the Istio CRDs too), points O(tags) at it,
    prunes the inactive revisions nothing uses once their grace period is over, and reports what
    C(kubectl get istio,istiorevision,istiorevisiontag) would show. With O(update_strategy.type=InPlace) the
    revision is upgraded where it is; with C(RevisionBased) a new version is a new revision beside the old one.
  - Everything is validated before the first write (tag names, values, conflicts by server dry run), and one
    run at a time changes a control plane (a Lease named after it).
  - With O(state=absent) it removes the tags pointing at the control plane's revisions, then the revisions (the
    active one last), refusing before anything is removed while namespaces or pods use any of them.
  - M(servicemesh.istio.istio_revision), M(servicemesh.istio.istio_revision_tag) and
    M(servicemesh.istio.istio_prune) are the same steps one at a time.
author: servicemesh.istio maintainers (@servicemesh-istio)
extends_documentation_fragment:
  - servicemesh.istio.attributes
  - servicemesh.istio.control_plane
  - servicemesh.istio.chart_source
  - servicemesh.istio.cluster_change
  - kubernetes.core.k8s_auth_options
  - servicemesh.istio.connection
options:
  state:
    description: C(present) installs or upgrades the control plane; C(absent) removes what this collection created.
    type: str
    choices: [present, absent]
    default: present
  tags:
    description:
      - Revision tags that follow the active revision (moved to it on every upgrade). With C(RevisionBased),
        C([default]) is what namespaces labelled C(istio-injection=enabled) need.
      - Tags that point at the revision today and are left out of the list are not removed.
    type: list
    elements: str
    default: []
  prune:
    description: Remove the control plane's inactive revisions once nothing uses them and their grace period is over.
    type: bool
    default: true
  prune_wait:
    description:
      - Wait for the grace period of revisions that are unused now, then prune them in the same run, as long as
        that is within O(wait_timeout); what is due later is reported in RV(next_prune_at) for a later run.
    type: bool
    default: false
  force:
    description:
      - With O(state=absent), remove the control plane even while it is in use.
      - With O(tags), move a tag from another control plane's revision to this one.
    type: bool
    default: false
  remove_crds:
    description:
      - With O(state=absent), also delete the Istio CRDs this collection created, once no revision is left.
        Refused while any custom resource of those kinds exists, unless O(force).
    type: bool
    default: false
  ignored_gateways:
    description:
      - With O(state=absent), gateways whose pods are left out of the in-use check, for a teardown that removes
        them first (M(servicemesh.istio.istio_gateway) with O(state=absent)); the C(multicluster) role passes
        its east-west or ingress gateway.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The gateway's name (its Deployment's).
        type: str
        required: true
      namespace:
        description: Its namespace; O(namespace) when left out.
        type: str
  cert_manager:
    description:
      - cert-manager's istio-csr as the mesh's CA, as the OpenShift Service Mesh guide sets it up
        (C(global.caAddress) to istio-csr's Service, istiod's own CA server off). Keys O(values) sets stay the
        user's.
      - Before anything is written, istio-csr's Service and the issuer it signs with must exist, else the task
        fails saying which is missing (istiod would start without certificates).
    type: dict
    suboptions:
      service:
        description: istio-csr's Service.
        type: str
        default: cert-manager-istio-csr
      namespace:
        description: Its namespace.
        type: str
        default: istio-csr
      port:
        description: Its gRPC port.
        type: int
        default: 443
      issuer:
        description: The cert-manager issuer istio-csr signs with.
        type: dict
        suboptions:
          name:
            description: Its name.
            type: str
            default: istio-ca
          kind:
            description: C(Issuer) or C(ClusterIssuer).
            type: str
            choices: [Issuer, ClusterIssuer]
            default: Issuer
          namespace:
            description: An C(Issuer)'s namespace; O(namespace) when left out.
            type: str
  tracing:
    description:
      - A tracing backend, added to C(meshConfig.extensionProviders) (one of the same name in O(values) is replaced;
        the others stay). M(servicemesh.istio.istio_observability) turns it on for the mesh with a C(Telemetry)
        resource.
    type: dict
    suboptions:
      service:
        description: The backend's host, for example C(jaeger-collector.tracing.svc.cluster.local).
        type: str
        required: true
      provider:
        description: Its protocol.
        type: str
        choices: [zipkin, opentelemetry]
        default: zipkin
      port:
        description: Its port; 9411 for C(zipkin), 4317 for C(opentelemetry) when left out.
        type: int
      name:
        description: The provider's name in meshConfig (what O(servicemesh.istio.istio_observability#module:tracing_provider) names).
        type: str
        default: tracing
  install_crds:
    description: Apply the Istio CRDs from the base chart first (CRDs from a newer Istio are never downgraded).
    type: bool
    default: true
  include_base:
    description:
      - Also apply the base chart's cluster-wide default validator pointing at the active revision.
      - Defaults to true for the revision C(default) only; the tag C(default) brings its own.
    type: bool
  create_namespace:
    description: Create O(namespace) if it does not exist (it is never deleted by this collection).
    type: bool
    default: false
  allow_selector_overlap:
    description:
      - Install even when a namespace of the cluster is selected both by this control plane's
        C(meshConfig.discoverySelectors) and by another control plane's (a control plane without selectors
        selects all). Without it that is refused, naming the namespaces; selectors that could select the same
        namespace but have none in common on the cluster are allowed.
    type: bool
    default: false
seealso:
  - module: servicemesh.istio.istio_revision
    description: Install or remove one revision.
  - module: servicemesh.istio.istio_revision_tag
    description: Point one tag at a revision.
  - module: servicemesh.istio.istio_prune
    description: Prune on its own schedule.
  - module: servicemesh.istio.istio_info
    description: The same report for every control plane of the cluster.
  - name: Sail Operator update strategies
    link: https://github.com/istio-ecosystem/sail-operator/blob/main/docs/update-strategy/update-strategy.adoc
    description: InPlace and RevisionBased upgrades, which this module follows.
requirements:
  - helm-python-sdk
  - kubernetes
  - PyYAML
"""

EXAMPLES = r"""
- name: A canary upgrade in one task, the old revision pruned once unused
  servicemesh.istio.istio_control_plane:
    name: default
    version: v1.30.3
    update_strategy:
      type: RevisionBased
      inactive_revision_deletion_grace_period_seconds: 60
    tags: [default]
    prune_wait: true
  register: mesh

- name: Show it like kubectl get istio
  ansible.builtin.debug:
    msg: "{{ mesh.control_plane.status }} ({{ mesh.revisions | map(attribute='name') | join(', ') }})"

- name: Remove it, refusing while workloads use it
  servicemesh.istio.istio_control_plane:
    name: default
    state: absent
"""

RETURN = r"""
revision:
  description: The active revision.
  returned: when state is present
  type: str
  sample: default-v1-30-3
version:
  description: The resolved Istio version.
  returned: when state is present
  type: str
upgraded:
  description: Whether the active revision existed before this run.
  returned: when state is present
  type: bool
tags_moved:
  description: The tags this run pointed at the active revision (new ones, or moved from another revision).
  returned: when state is present
  type: list
  elements: str
pruned:
  description: The revisions this run removed because nothing used them any more.
  returned: when state is present
  type: list
  elements: str
next_prune_at:
  description: When the next unused revision's grace period ends (a later run prunes it), or null.
  returned: when state is present
  type: str
prune_decisions:
  description: For each revision of the control plane, C(keep) or C(prune) and why (revision, action, reason, held_by).
  returned: when state is present
  type: list
  elements: dict
summary:
  description: One line saying what is active, what was pruned, and what is kept and why.
  returned: when state is present
  type: str
  sample: "Active revision default-v1-30-3 (v1.30.3). Pruned default-v1-29-6."
control_plane:
  description:
    - With O(state=present), the columns of C(kubectl get istio) (name, namespace, profile, revisions, ready,
      in_use, active_revision, status, version, age) as M(servicemesh.istio.istio_info) reports them, read after
      the changes (in check mode, the cluster as it is; empty before the first install).
    - With O(state=absent), name, namespace, status C(Removed), removed_revisions (the active one last) and
      removed_tags.
  returned: always
  type: dict
revisions:
  description: The control plane's revisions as M(servicemesh.istio.istio_info) reports them (status, in use, age, usage).
  returned: when state is present
  type: list
  elements: dict
tags:
  description: The tags pointing at the control plane's revisions (status, in use, revision, age).
  returned: when state is present
  type: list
  elements: dict
crds_removed:
  description: The Istio CRDs deleted; empty when every CRD was there before this collection.
  returned: when state is absent, O(remove_crds) is set and the collection had recorded the CRDs
  type: list
  elements: str
objects:
  description: One entry per object with its action (created, updated, unchanged, deleted, released).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.servicemesh.istio.plugins.module_utils._module import IstioModule

from ansible_collections.servicemesh.istio.plugins.module_utils._args import (
    CHANGE_ARGS, CHART_SOURCE_ARGS, CONTROL_PLANE_ARGS, argument_spec)
from ansible_collections.servicemesh.istio.plugins.module_utils._runners.control_plane import run_control_plane
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import CONNECTION_ARG_SPEC


def main():
    module = IstioModule(
        argument_spec=argument_spec(
            CONTROL_PLANE_ARGS, CHART_SOURCE_ARGS, CHANGE_ARGS, CONNECTION_ARG_SPEC,
            state={"type": "str", "choices": ["present", "absent"], "default": "present"},
            tags={"type": "list", "elements": "str", "default": []}, prune={"type": "bool", "default": True},
            install_crds={"type": "bool", "default": True}, include_base={"type": "bool"},
            cert_manager={"type": "dict", "options": {
                "service": {"type": "str", "default": "cert-manager-istio-csr"},
                "namespace": {"type": "str", "default": "istio-csr"}, "port": {"type": "int", "default": 443},
                "issuer": {"type": "dict", "options": {
                    "name": {"type": "str", "default": "istio-ca"}, "namespace": {"type": "str"},
                    "kind": {"type": "str", "choices": ["Issuer", "ClusterIssuer"], "default": "Issuer"}}}}},
            tracing={"type": "dict", "options": {
                "service": {"type": "str", "required": True}, "port": {"type": "int"},
                "provider": {"type": "str", "choices": ["zipkin", "opentelemetry"], "default": "zipkin"},
                "name": {"type": "str", "default": "tracing"}}},
            ignored_gateways={"type": "list", "elements": "dict", "default": [], "options": {
                "name": {"type": "str", "required": True}, "namespace": {"type": "str"}}},
            **{flag: {"type": "bool", "default": False} for flag in (
                "prune_wait", "force", "remove_crds", "create_namespace", "allow_selector_overlap")}),
        supports_check_mode=True,
    )
    run_control_plane(module)


if __name__ == "__main__":
    main()
