# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs shared by the modules; they match the doc fragments of the same names."""
from __future__ import annotations

import copy
from typing import Any, Dict

CHART_SOURCE_ARGS: Dict[str, Any] = {
    "chart_dir": {"type": "path"},
    "chart_repo": {"type": "str", "default": "https://istio-release.storage.googleapis.com/charts"},
    "chart_cache_dir": {"type": "path"},
    "chart_repo_validate_certs": {"type": "bool", "default": True},
    "version_catalog": {"type": "path"},
}

CONTROL_PLANE_ARGS: Dict[str, Any] = {
    "name": {"type": "str", "default": "default"},
    "version": {"type": "str"},
    "namespace": {"type": "str", "default": "istio-system"},
    "update_strategy": {
        "type": "dict",
        "options": {
            "type": {"type": "str", "choices": ["InPlace", "RevisionBased"], "default": "InPlace"},
            "inactive_revision_deletion_grace_period_seconds": {"type": "int", "default": 30},
        },
    },
    "profile": {"type": "str", "choices": ["default", "ambient", "demo", "empty", "openshift",
                                           "openshift-ambient", "preview", "remote", "stable"]},
    "values": {"type": "dict", "default": {}},
    "platform": {"type": "str", "default": "kubernetes",
                 "choices": ["kubernetes", "openshift", "gke", "k3d", "k3s", "microk8s", "minikube"]},
    "revision": {"type": "str"},
    "ztunnel_namespace": {"type": "str"},
    "dual_stack": {"type": "bool", "default": False},
}


def argument_spec(*groups: Dict[str, Any], **extra: Any) -> Dict[str, Any]:
    """A fresh argument spec from shared groups plus a module's own options."""
    spec: Dict[str, Any] = {}
    for group in groups:
        spec.update(copy.deepcopy(group))
    spec.update(extra)
    return spec


# How changes are made on a cluster; the k8s connection options come from kubernetes.core.
CHANGE_ARGS: Dict[str, Any] = {
    "wait": {"type": "bool", "default": True},
    "wait_timeout": {"type": "int", "default": 300},
    "force_conflicts": {"type": "bool", "default": False},
}

# The node agents (CNI, ztunnel): a version, a namespace, values and the platform.
AGENT_ARGS: Dict[str, Any] = {
    "version": {"type": "str"},
    "values": {"type": "dict", "default": {}},
    "platform": CONTROL_PLANE_ARGS["platform"],
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "create_namespace": {"type": "bool", "default": False},
}
