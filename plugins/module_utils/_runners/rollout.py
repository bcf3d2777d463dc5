# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""istio_node_rollout: an OnDelete DaemonSet's pods replaced node by node."""
from __future__ import annotations

from typing import Any

from ansible_collections.servicemesh.istio.plugins.module_utils._dataplane import rollout_scope
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError
from ansible_collections.servicemesh.istio.plugins.module_utils._rollout import Rollout, Timing, roll_daemonset
from ansible_collections.servicemesh.istio.plugins.module_utils._runner import guarded, restart_if_stale
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import connect


def _rollout(module: Any) -> Rollout:
    """One rollout from fresh reads, under the lease of the DaemonSet's scope (taken before the first delete)."""
    params = module.params
    cluster = guarded(connect(params), params, rollout_scope(params["name"], params["namespace"]))
    timing = Timing(timeout=params["wait_timeout"], interval=params["poll_interval"])
    return roll_daemonset(cluster, params["name"], params["namespace"], module.check_mode, params.get("nodes"),
                          timing)


def run_node_rollout(module: Any) -> None:
    """istio_node_rollout: the module's whole body."""
    try:
        rollout = restart_if_stale(lambda: _rollout(module))
    except IstioError as exc:
        module.fail_json(msg=str(exc))
    result = rollout.result()
    if module._diff:
        result["diff"] = {"before": {step.node: step.pods for step in rollout.steps},
                          "after": {step.node: step.ready_pods for step in rollout.steps}}
    module.exit_json(**result)
