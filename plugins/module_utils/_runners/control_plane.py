# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""istio_control_plane: the reference operator's Istio resource as one module."""
from __future__ import annotations

from typing import Any, Dict

from ansible_collections.servicemesh.istio.plugins.module_utils import _control_plane as control_plane
from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.servicemesh.istio.plugins.module_utils import _observability as observability
from ansible_collections.servicemesh.istio.plugins.module_utils._control_plane import ControlPlaneRequest
from ansible_collections.servicemesh.istio.plugins.module_utils._istiocsr import IstioCsr, istio_csr_values
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import load_catalog
from ansible_collections.servicemesh.istio.plugins.module_utils._manifest import ControlPlane, plan_revision
from ansible_collections.servicemesh.istio.plugins.module_utils._revision import check_planned_tags
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import connect
from ansible_collections.servicemesh.istio.plugins.module_utils._runner import (
    control_plane_scope, guarded, lifecycle_options, renderer_for, require_libraries, run_lifecycle)


def control_plane_request(params: Dict[str, Any]) -> ControlPlaneRequest:
    tracing = observability.Tracing.from_params(params.get("tracing"))
    csr = IstioCsr.from_params(params.get("cert_manager"), params["namespace"])
    values = istio_csr_values(observability.tracing_values(params.get("values") or {}, tracing), csr)
    fields = dict(params, values=values)
    return ControlPlaneRequest(
        ControlPlane.from_params(fields), tags=params["tags"], prune=params["prune"],
        prune_wait=params["prune_wait"], install_crds=params["install_crds"], include_base=params.get("include_base"),
        create_namespace=params["create_namespace"], allow_selector_overlap=params["allow_selector_overlap"],
        force=params["force"], remove_crds=params["remove_crds"],
        ignored_gateways=[(g.get("namespace") or params["namespace"], g["name"]) for g in params["ignored_gateways"]],
        istio_csr=csr)


def _control_plane(module) -> lifecycle.Outcome:
    params = module.params
    options = lifecycle_options(module)
    catalog = load_catalog(params.get("version_catalog"))
    request = control_plane_request(params)
    scope = control_plane_scope(request.control_plane.name, request.control_plane.namespace)
    if params["state"] == "absent":
        return control_plane.remove(guarded(connect(params), params, scope), request, options)
    plan = plan_revision(request.control_plane, catalog)
    check_planned_tags(plan.name, request.tags)
    cluster = guarded(connect(params), params, scope)
    outcome = control_plane.install(cluster, renderer_for(params), catalog, request, plan, options)
    outcome.facts.update(control_plane.report(cluster, catalog, request.control_plane))
    return outcome


def run_control_plane(module) -> None:
    require_libraries(module)
    run_lifecycle(module, lambda: _control_plane(module))
