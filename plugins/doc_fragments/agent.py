# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    # Options shared by the node agents (Istio CNI, ztunnel).
    DOCUMENTATION = r"""
options:
  version:
    description:
      - The Istio version, with or without the C(v), or an alias such as C(v1.30-latest) (resolved at every run).
      - It must be within one minor version of every control plane in the cluster; this is checked before anything
        is written.
    type: str
  values:
    description: Helm values, merged over the profile (maps merge, lists and scalars replace).
    type: dict
    default: {}
  platform:
    description: The Kubernetes platform; sets C(global.platform) unless the values set it.
    type: str
    choices: [kubernetes, openshift, gke, k3d, k3s, microk8s, minikube]
    default: kubernetes
  state:
    description: C(absent) removes what this collection installed.
    type: str
    choices: [present, absent]
    default: present
  create_namespace:
    description: Create the namespace if it does not exist (it is never deleted by this collection).
    type: bool
    default: false
"""
