# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one Ansible adapter layer: what every module's runner shares (libraries checked, options read, the
lease taken, a lifecycle outcome turned into the module's result). The runners themselves are in
``_runners/``, one file per family of modules, so that a module loads only the code it runs; domain code
never sees ``module``."""
from __future__ import annotations

import os
from typing import Any, Dict, List

from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.servicemesh.istio.plugins.module_utils._charts import ChartSource, ChartSourceOptions
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError
from ansible_collections.servicemesh.istio.plugins.module_utils._manifest import ManifestRenderer, Rendered
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._inventory import UnitKey
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._lease import StaleRun, guard

try:
    import yaml
    _Dumper = getattr(yaml, "CSafeDumper", None) or yaml.SafeDumper
except ImportError:  # pragma: no cover - reported below
    yaml = None


def require_libraries(module) -> None:
    from ansible_collections.servicemesh.istio.plugins.module_utils._helm import helm_import_error
    if yaml is None:
        module.fail_json(msg="the PyYAML Python package is required")
    if helm_import_error():
        module.fail_json(msg="the helm-python-sdk Python package is required: %s" % helm_import_error())


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


def lifecycle_options(module) -> lifecycle.Options:
    params = module.params
    return lifecycle.Options(check_mode=module.check_mode, force_conflicts=params.get("force_conflicts", False),
                             wait=params.get("wait", True), wait_timeout=params.get("wait_timeout") or 300)


def renderer_for(params: Dict[str, Any]) -> ManifestRenderer:
    return ManifestRenderer(ChartSource(ChartSourceOptions.from_params(params)))


def exit_with_outcome(module, outcome: lifecycle.Outcome, **extra: Any) -> None:
    result: Dict[str, Any] = dict(outcome.facts)
    result.update(extra)
    result["changed"] = outcome.changed
    result["objects"] = outcome.objects()
    if module._diff:
        result["diff"] = outcome.diff()
    module.exit_json(**result)


RESTARTS_AFTER_ANOTHER_RUN = 3


def restart_if_stale(action):
    """``action()``, started again from its reads when another run changed the same scope meanwhile
    (``StaleRun`` comes before this run's first write, with the lease then ours)."""
    for _unused in range(RESTARTS_AFTER_ANOTHER_RUN):
        try:
            return action()
        except StaleRun:
            continue
    return action()


def run_lifecycle(module, action) -> None:
    """Run ``action() -> Outcome``; a user-fixable problem fails the task with its message."""
    try:
        outcome = restart_if_stale(action)
    except IstioError as exc:
        module.fail_json(msg=str(exc))
    exit_with_outcome(module, outcome)


def guarded(cluster, params: Dict[str, Any], scope: UnitKey):
    """``cluster``, taking the lease of the scope (a unit: its record names it) before its first write."""
    guard(cluster, scope.ref, float(params.get("wait_timeout") or 300))
    return cluster


def control_plane_scope(name: str, namespace: str) -> UnitKey:
    return UnitKey(lifecycle.CONTROL_PLANE, name, namespace)
