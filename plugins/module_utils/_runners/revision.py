# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""istio_revision, istio_revision_tag and istio_prune: the lower-level lifecycle modules."""
from __future__ import annotations

from typing import Any, Dict

from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import load_catalog
from ansible_collections.servicemesh.istio.plugins.module_utils._manifest import ControlPlane, plan_revision
from ansible_collections.servicemesh.istio.plugins.module_utils._revision import check_planned_tags, revision_name
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import connect
from ansible_collections.servicemesh.istio.plugins.module_utils._runner import (
    control_plane_scope, guarded, lifecycle_options, renderer_for, require_libraries, run_lifecycle)


def _revision_to_remove(params: Dict[str, Any], catalog) -> str:
    """The revision ``state: absent`` means; no version resolution unless it is needed for the name."""
    if params.get("revision"):
        return params["revision"]
    control_plane = ControlPlane.from_params(params)
    version = control_plane.version or catalog.default.name
    return revision_name(control_plane.name, version, control_plane.strategy)


def _revision(module) -> lifecycle.Outcome:
    params = module.params
    options = lifecycle_options(module)
    catalog = load_catalog(params.get("version_catalog"))
    if params["state"] == "absent":
        name = _revision_to_remove(params, catalog)
        cluster = connect(params)
        found = lifecycle.find_revision(cluster, name, params["namespace"])
        guarded(cluster, params, control_plane_scope(str(found.metadata.get("controlPlane")), found.key.namespace)
                if found else control_plane_scope(params["name"], params["namespace"]))
        outcome = lifecycle.remove_revision(cluster, name, options, force=params["force"],
                                            namespace=params["namespace"])
        if params["remove_crds"]:
            crds = lifecycle.remove_crds(cluster, options, force=params["force"])
            outcome.results.extend(crds.results)
            outcome.facts.update(crds.facts)
        return outcome
    control_plane = ControlPlane.from_params(params)
    plan = plan_revision(control_plane, catalog)
    check_planned_tags(plan.name, params.get("tags"))
    cluster = guarded(connect(params), params, control_plane_scope(control_plane.name, plan.namespace))
    return lifecycle.install_revision(
        cluster, renderer_for(params), control_plane, plan, options,
        include_base=params.get("include_base"), crds=params["install_crds"],
        create_namespace_if_missing=params["create_namespace"],
        allow_selector_overlap=params["allow_selector_overlap"])


def run_revision(module) -> None:
    require_libraries(module)
    run_lifecycle(module, lambda: _revision(module))


def _revision_tag(module) -> lifecycle.Outcome:
    params = module.params
    options = lifecycle_options(module)
    catalog = load_catalog(params.get("version_catalog"))
    cluster = connect(params)
    if params["state"] == "absent":
        return lifecycle.remove_tag(cluster, params["name"], options, force=params["force"])
    target = lifecycle.resolve_tag_target(cluster, params.get("revision"), params.get("control_plane"),
                                          params.get("namespace"))
    guarded(cluster, params, control_plane_scope(str(target.metadata.get("controlPlane")), target.key.namespace))
    return lifecycle.install_tag(cluster, renderer_for(params), catalog, params["name"], target, options,
                                 force=params["force"])


def run_revision_tag(module) -> None:
    require_libraries(module)
    run_lifecycle(module, lambda: _revision_tag(module))


def _mesh_clusters(params: Dict[str, Any]):
    """The mesh's other clusters, by name, when the caller can see them all."""
    if params.get("mesh_clusters") is None:
        return None
    return {entry["name"]: connect({k: v for k, v in entry.items() if k != "name"}, params.get("request_timeout"))
            for entry in params["mesh_clusters"]}


def run_prune(module) -> None:
    params = module.params
    run_lifecycle(module, lambda: lifecycle.prune_control_plane(
        guarded(connect(params), params, control_plane_scope(params["name"], params["namespace"])),
        params["name"], params["namespace"], lifecycle_options(module), force=params["force"],
        grace_seconds=params.get("grace_period_seconds"), mesh=_mesh_clusters(params)))
