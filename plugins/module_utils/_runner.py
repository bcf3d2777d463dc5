# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the modules run: parameters in, results out. Modules stay a few lines long."""
from __future__ import annotations

import os
from typing import Any, Dict, List

from ansible_collections.servicemesh.istio.plugins.module_utils import _ambient as ambient
from ansible_collections.servicemesh.istio.plugins.module_utils import _control_plane as control_plane
from ansible_collections.servicemesh.istio.plugins.module_utils import _dataplane as dataplane
from ansible_collections.servicemesh.istio.plugins.module_utils import _info as info
from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.servicemesh.istio.plugins.module_utils import _migration as migration
from ansible_collections.servicemesh.istio.plugins.module_utils import _report as report
from ansible_collections.servicemesh.istio.plugins.module_utils import _observability as observability
from ansible_collections.servicemesh.istio.plugins.module_utils._charts import ChartSource, ChartSourceOptions
from ansible_collections.servicemesh.istio.plugins.module_utils._control_plane import ControlPlaneRequest
from ansible_collections.servicemesh.istio.plugins.module_utils._istiocsr import IstioCsr, istio_csr_values
from ansible_collections.servicemesh.istio.plugins.module_utils._components import parse_components, render_component
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import load_catalog
from ansible_collections.servicemesh.istio.plugins.module_utils._manifest import (
    ControlPlane, ManifestRenderer, Rendered, plan_revision)
from ansible_collections.servicemesh.istio.plugins.module_utils._migration import MigrationRequest
from ansible_collections.servicemesh.istio.plugins.module_utils._revision import check_planned_tags, revision_name
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import connect
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._inventory import UnitKey
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._lease import StaleRun, guard
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef

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
        try:
            written = write_if_changed(params["dest"], to_yaml_documents(objects), module.check_mode)
        except OSError as exc:
            module.fail_json(msg="cannot write dest %s: %s" % (params["dest"], exc.strerror or exc))
        result["changed"] = written["changed"]
        result["dest"] = params["dest"]
        if module._diff:
            result["diff"] = written["diff"]
    module.exit_json(**result)


# -- cluster modules ------------------------------------------------------------------------------

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


def _observability(module) -> lifecycle.Outcome:
    params = module.params
    options = lifecycle_options(module)
    cluster = connect(params)
    target = lifecycle.resolve_tag_target(cluster, params.get("revision"),
                                          None if params.get("revision") else params["control_plane"],
                                          params["namespace"])
    kiali = params.get("kiali")
    request = observability.ObservabilityRequest(
        revision=target.key.name, namespace=target.key.namespace, prometheus=params["prometheus"],
        monitor_labels=params["monitor_labels"], kiali=(kiali.get("namespace") or "istio-system", kiali["name"])
        if kiali else None, tracing_provider=params.get("tracing_provider") or "",
        sampling=params["tracing_sampling"])
    guarded(cluster, params, request.key)
    if params["state"] == "absent":
        return observability.remove(cluster, request, options)
    return observability.ensure(cluster, request, options)


def run_observability(module) -> None:
    run_lifecycle(module, lambda: _observability(module))


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


# -- ambient mode ---------------------------------------------------------------------------------

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
