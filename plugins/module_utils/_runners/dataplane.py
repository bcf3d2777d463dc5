# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""istio_cni, istio_ztunnel and istio_ambient_plan: the node agents and the ambient plan."""
from __future__ import annotations

import os
from typing import Any, Dict

from ansible_collections.servicemesh.istio.plugins.module_utils import _ambient as ambient
from ansible_collections.servicemesh.istio.plugins.module_utils import _dataplane as dataplane
from ansible_collections.servicemesh.istio.plugins.module_utils import _info as info
from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import load_catalog
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import connect
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._inventory import UnitKey
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef
from ansible_collections.servicemesh.istio.plugins.module_utils._runner import (
    guarded, lifecycle_options, renderer_for, require_libraries, run_lifecycle)


def _followed_revision(cluster, params: Dict[str, Any]):
    """ztunnel follows a revision named directly or a control plane's active revision."""
    if not (params.get("revision") or params.get("control_plane")):
        return None
    return lifecycle.resolve_tag_target(cluster, params.get("revision"), params.get("control_plane"),
                                        params.get("control_plane_namespace"))


def _agent(module, kind: str) -> lifecycle.Outcome:
    params = module.params
    options = lifecycle_options(module)
    version = load_catalog(params.get("version_catalog")).resolve(params.get("version"))
    cluster = guarded(connect(params), params, UnitKey(kind, dataplane.SINGLETON, params["namespace"]))
    if params["state"] == "absent":
        outcome = dataplane.remove_agent(cluster, kind, options)
    elif kind == dataplane.CNI:
        outcome = dataplane.install_cni(cluster, renderer_for(params), version, params["namespace"],
                                        params.get("profile"), params.get("values"), params["platform"],
                                        options, params["create_namespace"])
    else:
        outcome = dataplane.install_ztunnel(cluster, renderer_for(params), version, params["namespace"],
                                            params.get("values"), params["platform"], options,
                                            _followed_revision(cluster, params), params["create_namespace"])
    outcome.facts[kind] = dataplane.agent_status(kind, params["state"], outcome.facts,
                                                 options.wait and not options.check_mode,
                                                 lambda: dataplane.agent_facts(cluster, kind))
    return outcome


def run_agent(module, kind: str) -> None:
    """istio_cni and istio_ztunnel: one singleton per cluster each."""
    require_libraries(module)
    run_lifecycle(module, lambda: _agent(module, kind))


def _ambient_view(cluster, catalog) -> ambient.ClusterView:
    """The one read of the cluster a plan needs: istio_info's facts, the namespaces, the Gateway API CRD."""
    namespaces = cluster.list("v1", "Namespace")
    facts = info.gather(cluster, catalog, namespaces=namespaces)
    names = [item["metadata"]["name"] for item in namespaces]
    crd = cluster.get(ObjectRef.of("apiextensions.k8s.io/v1", "CustomResourceDefinition", ambient.GATEWAY_CRD))
    return ambient.ClusterView(facts=facts, namespaces=names, gateway_api=crd is not None)


def run_ambient_plan(module) -> None:
    """istio_ambient_plan: reads only; the plan, or every problem in one message."""
    params = module.params
    request = ambient.AmbientRequest.from_params(params)
    crds_file_is_file = bool(request.crds_file) and os.path.isfile(request.crds_file)
    try:
        catalog = load_catalog(params.get("version_catalog"))
        if not params["summary_only"]:
            ambient.check_request(request, crds_file_is_file)
        view = _ambient_view(connect(params), catalog) if request.state == "present" else None
        result = {} if params["summary_only"] else ambient.plan(
            request, catalog, view, module.check_mode, crds_file_is_file)
    except ambient.AmbientRefused as exc:
        module.fail_json(msg=str(exc), problems=exc.problems)
    except IstioError as exc:
        module.fail_json(msg=str(exc))
    facts = ambient.summary(request, view, module.check_mode)
    module.exit_json(changed=False, plan=result, summary=facts, message=ambient.message(request, facts))
