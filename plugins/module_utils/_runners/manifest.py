# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""istio_manifest: charts rendered offline, into the result or a file."""
from __future__ import annotations

from typing import Any, Dict

from ansible_collections.servicemesh.istio.plugins.module_utils._charts import ChartSource, ChartSourceOptions
from ansible_collections.servicemesh.istio.plugins.module_utils._components import parse_components, render_component
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import load_catalog
from ansible_collections.servicemesh.istio.plugins.module_utils._manifest import ControlPlane, ManifestRenderer, plan_revision
from ansible_collections.servicemesh.istio.plugins.module_utils._runner import (
    component_summary, require_libraries, to_yaml_documents, write_if_changed)


def run_manifest(module) -> None:
    require_libraries(module)
    params = module.params
    try:
        catalog = load_catalog(params.get("version_catalog"))
        control_plane = ControlPlane.from_params(params)
        plan = plan_revision(control_plane, catalog)
        components = parse_components(params.get("components"))
        renderer = ManifestRenderer(ChartSource(ChartSourceOptions.from_params(params)))
        rendered = [render_component(renderer, plan, entry, control_plane.platform) for entry in components]
    except IstioError as exc:
        module.fail_json(msg=str(exc))
    objects = [obj for item in rendered for obj in item.objects]
    result: Dict[str, Any] = {"changed": False, "revision": plan.name, "version": plan.version.name,
                              "values": plan.values, "objects": objects,
                              "components": [component_summary(item) for item in rendered]}
    if params.get("dest"):
        try:
            written = write_if_changed(params["dest"], to_yaml_documents(objects), module.check_mode)
        except OSError as exc:
            module.fail_json(msg="cannot write dest %s: %s" % (params["dest"], exc.strerror or exc))
        result["changed"] = written["changed"]
        result["dest"] = params["dest"]
        if module._diff:
            result["diff"] = written["diff"]
    module.exit_json(**result)
