# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""istio_migrate: workloads moved to a revision or tag in batches."""
from __future__ import annotations

from typing import Any, Dict

from ansible_collections.servicemesh.istio.plugins.module_utils import _migration as migration
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import load_catalog
from ansible_collections.servicemesh.istio.plugins.module_utils._migration import MigrationRequest
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import connect
from ansible_collections.servicemesh.istio.plugins.module_utils._runner import (
    control_plane_scope, guarded, lifecycle_options, renderer_for, require_libraries, restart_if_stale)


def migration_request(params: Dict[str, Any]) -> MigrationRequest:
    return MigrationRequest(
        control_plane=params["control_plane"], namespace=params["namespace"], revision=params.get("revision"),
        move=params["move"], tag=params["tag"], namespaces=params["namespaces"], batch_size=params["batch_size"],
        restart=params["restart"], restart_kinds=params["restart_kinds"], interval=params["wait_interval"])


def run_migrate(module) -> None:
    require_libraries(module)
    params = module.params
    options = lifecycle_options(module)
    request = migration_request(params)

    def run() -> migration.Migration:
        cluster = guarded(connect(params), params, control_plane_scope(request.control_plane, request.namespace))
        return migration.migrate(cluster, renderer_for(params), load_catalog(params.get("version_catalog")),
                                 request, options)
    try:
        done = restart_if_stale(run)
    except IstioError as exc:
        module.fail_json(msg=str(exc))
    result: Dict[str, Any] = {"changed": done.changed, "revision": done.revision, "namespaces": done.namespaces,
                              "batches": done.batches, "objects": done.tag.objects() if done.tag else []}
    if done.tag:
        result["previous_revision"] = done.tag.facts.get("previous_revision")
    if module._diff:
        result["diff"] = done.diff if not done.tag else _merged_diff(done.tag.diff(), done.diff)
    module.exit_json(**result)


def _merged_diff(*diffs: Dict[str, Any]) -> Dict[str, Any]:
    return {side: {k: v for diff in diffs for k, v in diff[side].items()} for side in ("before", "after")}
