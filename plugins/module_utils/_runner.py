# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the modules run: parameters in, results out. Modules stay a few lines long."""
from __future__ import annotations

import os
from typing import Any, Dict, List

from ansible_collections.servicemesh.istio.plugins.module_utils._charts import ChartSource, ChartSourceOptions
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import load_catalog
from ansible_collections.servicemesh.istio.plugins.module_utils._manifest import (
    ControlPlane, ManifestRenderer, Rendered, parse_components, plan_revision, render_component)

try:
    import yaml
    _Dumper = getattr(yaml, "CSafeDumper", None) or yaml.SafeDumper
except ImportError:  # pragma: no cover - reported below
    yaml = None


def require_libraries(module) -> None:
    from ansible_collections.servicemesh.istio.plugins.module_utils._helm import HELM_IMPORT_ERROR
    if yaml is None:
        module.fail_json(msg="the PyYAML Python package is required")
    if HELM_IMPORT_ERROR:
        module.fail_json(msg="the helm-python-sdk Python package is required: %s" % HELM_IMPORT_ERROR)


def to_yaml_documents(objects: List[Dict[str, Any]]) -> str:
    return yaml.dump_all(objects, Dumper=_Dumper, default_flow_style=False, sort_keys=False, explicit_start=True)


def component_summary(rendered: Rendered) -> Dict[str, Any]:
    return {"component": rendered.component, "chart": rendered.chart, "chart_version": rendered.version,
            "origin": rendered.origin, "release_name": rendered.release_name, "namespace": rendered.namespace,
            "objects": len(rendered.objects), "values_digest": rendered.values_digest}


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return ""


def write_if_changed(path: str, text: str, check_mode: bool) -> Dict[str, Any]:
    """Write ``text`` to ``path`` unless it is already there; return the change and its diff."""
    before = _read_text(path)
    changed = before != text
    if changed and not check_mode:
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    return {"changed": changed, "diff": {"before": before, "after": text, "before_header": path, "after_header": path}}


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
        written = write_if_changed(params["dest"], to_yaml_documents(objects), module.check_mode)
        result["changed"] = written["changed"]
        result["dest"] = params["dest"]
        if module._diff:
            result["diff"] = written["diff"]
    module.exit_json(**result)
