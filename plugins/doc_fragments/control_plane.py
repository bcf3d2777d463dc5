# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    # The fields of an Istio resource, shared by the modules that plan a control plane.
    DOCUMENTATION = r"""
options:
  name:
    description:
      - The control plane's name. With the C(InPlace) strategy it is also the revision name;
        the name C(default) renders with an empty C(revision) so that C(istio-injection=enabled) works.
    type: str
    default: default
  version:
    description:
      - The Istio version, e.g. C(v1.30.3), C(1.30.3) or an alias such as C(v1.30-latest).
      - Defaults to the newest stable version of the catalog. End-of-life versions are refused.
    type: str
  namespace:
    description: The control plane's namespace; C(values.global.istioNamespace) is set from it.
    type: str
    default: istio-system
  update_strategy:
    description: How version changes are rolled out.
    type: dict
    suboptions:
      type:
        description:
          - C(InPlace) upgrades the single revision; C(RevisionBased) installs a new revision named
            C(<name>-<version with dashes>) beside the old one.
        type: str
        choices: [InPlace, RevisionBased]
        default: InPlace
      inactive_revision_deletion_grace_period_seconds:
        description: How long an unused old revision is kept before it may be pruned.
        type: int
        default: 30
  profile:
    description:
      - The profile, layered as the reference operator does (C(default) < profile < O(values)).
    type: str
    choices: [default, ambient, demo, empty, openshift, openshift-ambient, preview, remote, stable]
  values:
    description:
      - Helm values for the istiod chart, merged over the profiles (maps merge, lists and scalars replace).
      - C(revision) and C(global.istioNamespace) are set by the collection; C(defaultRevision) is dropped.
    type: dict
    default: {}
  platform:
    description:
      - The Kubernetes platform; sets C(global.platform) unless the values set it. C(openshift) also
        selects the C(openshift) profile when no profile is given.
    type: str
    choices: [kubernetes, openshift, gke, k3d, k3s, microk8s, minikube]
    default: kubernetes
  revision:
    description: An explicit revision name instead of the one computed from O(name) and the strategy.
    type: str
  ztunnel_namespace:
    description:
      - For ambient control planes, the namespace ztunnel runs in; C(pilot.trustedZtunnelNamespace) is set
        from it, and a different value in O(values) is an error.
    type: str
  dual_stack:
    description:
      - Run the control plane on both IP families (a dual-stack cluster, Kubernetes 1.23 or later), as the
        reference operator's dual-stack guide sets by hand in its values. Sets C(pilot.env.ISTIO_DUAL_STACK) and
        C(meshConfig.defaultConfig.proxyMetadata.ISTIO_DUAL_STACK) to C("true"), and C(ipFamilyPolicy=RequireDualStack)
        with C(ipFamilies=[IPv4, IPv6]) on istiod's Service (C(pilot.*)), the revision tags' Services and a remote
        profile's istiod Service (C(global.*)).
      - O(values) setting any of those keys win. Set back to false, the next run renders none of them.
    type: bool
    default: false
"""
