# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""istio_labels and istio_waypoint: ambient enrolment and waypoint proxies."""
from __future__ import annotations

from typing import Any

from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.servicemesh.istio.plugins.module_utils._labels import (
    LABELS_UNIT, remove_labelled_unit, sync_labels, targets_from_params)
from ansible_collections.servicemesh.istio.plugins.module_utils._waypoint import (
    WAYPOINT, Waypoint, install_waypoint, remove_waypoint)
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import connect
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._inventory import UnitKey
from ansible_collections.servicemesh.istio.plugins.module_utils._runner import guarded, lifecycle_options, run_lifecycle


def _labels_action(module: Any, options: lifecycle.Options) -> lifecycle.Outcome:
    params = module.params
    key = UnitKey(LABELS_UNIT, params["name"], params["record_namespace"])
    cluster = guarded(connect(params), params, key)
    if params["state"] == "absent":
        return remove_labelled_unit(cluster, key, options)
    targets = targets_from_params(params.get("namespaces"), params.get("services"), params.get("service_accounts"),
                                  params.get("pods"))
    return sync_labels(cluster, key, targets, options)


def run_labels(module: Any) -> None:
    """istio_labels: the module's whole body."""
    run_lifecycle(module, lambda: _labels_action(module, lifecycle_options(module)))


def _waypoint_action(module: Any, options: lifecycle.Options) -> lifecycle.Outcome:
    params = module.params
    cluster = guarded(connect(params), params, UnitKey(WAYPOINT, params["name"], params["namespace"]))
    if params["state"] == "absent":
        return remove_waypoint(cluster, params["name"], params["namespace"], options)
    return install_waypoint(cluster, Waypoint.from_params(params), options)


def run_waypoint(module: Any) -> None:
    """istio_waypoint: the module's whole body."""
    run_lifecycle(module, lambda: _waypoint_action(module, lifecycle_options(module)))
