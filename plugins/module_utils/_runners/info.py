# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""istio_info and istio_report: reads only."""
from __future__ import annotations

from typing import Any, Dict

from ansible_collections.servicemesh.istio.plugins.module_utils import _info as info
from ansible_collections.servicemesh.istio.plugins.module_utils import _report as report
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import load_catalog
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import connect
from ansible_collections.servicemesh.istio.plugins.module_utils._runner import write_if_changed


def run_info(module) -> None:
    params = module.params
    try:
        facts = info.gather(connect(params), load_catalog(params.get("version_catalog")))
    except IstioError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **facts)


DIAGRAM_SUFFIXES = (".mmd", ".md")


def _write_diagram(module, dest: str, graph: report.Graph) -> Dict[str, Any]:
    """The Mermaid file, and the SVG next to it; changed when either file's content changed."""
    mermaid_path, svg_path = report.diagram_paths(dest)
    files = [(mermaid_path, report.mermaid_file(report.mermaid(graph), dest)), (svg_path, report.svg(graph))]
    written = []
    for path, text in files:
        try:
            written.append(write_if_changed(path, text, module.check_mode))
        except OSError as exc:
            module.fail_json(msg="cannot write dest %s: %s" % (path, exc.strerror or exc))
    return {"changed": any(w["changed"] for w in written), "files": [path for path, _text in files],
            "diff": [w["diff"] for w in written if w["changed"]]}


def run_report(module) -> None:
    params = module.params
    if params.get("dest") and not params["dest"].endswith(DIAGRAM_SUFFIXES):
        module.fail_json(msg="dest %s must end in .mmd (Mermaid) or .md (Markdown with a Mermaid block); the SVG "
                             "is written next to it" % params["dest"])
    try:
        facts = info.gather(connect(params), load_catalog(params.get("version_catalog")))
    except IstioError as exc:
        module.fail_json(msg=str(exc))
    graph = report.mesh_graph(facts)
    result: Dict[str, Any] = {"changed": False, "report": report.report_lines(facts),
                              "mermaid": report.mermaid(graph), "files": []}
    if params.get("dest"):
        written = _write_diagram(module, params["dest"], graph)
        result.update(changed=written["changed"], files=written["files"])
        if module._diff:
            result["diff"] = written["diff"]
    module.exit_json(**result)
