#!/usr/bin/env python
"""Render time per component through the collection's layer, next to a raw helm_python render, against the goal.

For each component (base with its CRDs, istiod, a revision tag, cni, ztunnel, gateway), the median of several
runs, taken in turn within each run so that a busy host slows all three alike:
- raw: helm_python.Chart.render of the same charts with the same values, release and namespace as the
  component renders (the charts loaded once);
- cold: ManifestRenderer with an empty render cache: render, YAML parsing, post-processing, writing the cache
  entry (the engine's loaded charts and the chart digests kept, as within one module run);
- cached: the same call again, as in an unchanged re-run: the cache entry read, post-processing, no render;
and each one's ratio to raw with PASS or MISS against the goal (<= 1.3x raw). By default the charts are the
fixture charts with CRDs as large as Istio's (benchmarks/large_crd_chart.py, generated into a temporary
directory). Usage:
    python benchmarks/bench_render.py [--chart-dir DIR] [--version v1.30.3] [--runs 15] [--goal 1.3]
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)
import conftest  # noqa: E402

conftest.use_collection()  # ansible_collections.servicemesh.istio importable, as in the tests

import helm_python  # noqa: E402
import large_crd_chart  # noqa: E402  (benchmarks/, the script's directory)

from ansible_collections.servicemesh.istio.plugins.module_utils._charts import (  # noqa: E402
    ChartSource, ChartSourceOptions)
from ansible_collections.servicemesh.istio.plugins.module_utils._helm import HelmPythonEngine  # noqa: E402
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import builtin_catalog  # noqa: E402
from ansible_collections.servicemesh.istio.plugins.module_utils._manifest import (  # noqa: E402
    ControlPlane, ManifestRenderer, plan_revision)
from ansible_collections.servicemesh.istio.plugins.module_utils._components import (  # noqa: E402
    parse_components, render_component)
from ansible_collections.servicemesh.istio.plugins.module_utils._render_cache import RenderCache  # noqa: E402

COMPONENTS = ["base", "istiod", {"component": "revision_tag", "tag": "default"}, "cni", "ztunnel",
              "gateway"]


class RecordingEngine(HelmPythonEngine):
    """The real engine, noting what it renders so that the raw renders can repeat exactly that."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def render(self, location, values, release_name, namespace, is_upgrade=False):
        self.calls.append((location.path, values, release_name, namespace, is_upgrade))
        return super().render(location, values, release_name, namespace, is_upgrade=is_upgrade)


def timed_ms(func):
    start = time.perf_counter()
    func()
    return (time.perf_counter() - start) * 1000


def verdict(ratio, goal):
    return "PASS" if ratio <= goal else "MISS"


def measure(renderer, cache_dir, plan, entry, runs):
    """(raw, cold, cached) medians in ms, and the component's object count."""
    renderer.engine.calls = []
    rendered = render_component(renderer, plan, entry)  # loads the charts, computes their digests
    charts = [(helm_python.Chart.load(path), values, name, namespace, upgrade)
              for path, values, name, namespace, upgrade in renderer.engine.calls]

    def raw():
        for chart, values, name, namespace, upgrade in charts:
            chart.render(values, name=name, namespace=namespace, is_install=not upgrade, is_upgrade=upgrade)

    def ours():
        render_component(renderer, plan, entry)

    samples = {"raw": [], "cold": [], "cached": []}
    for _run in range(runs):
        samples["raw"].append(timed_ms(raw))
        shutil.rmtree(cache_dir, ignore_errors=True)
        samples["cold"].append(timed_ms(ours))
        samples["cached"].append(timed_ms(ours))
    return {name: statistics.median(values) for name, values in samples.items()}, len(rendered.objects)


def main():
    assert conftest.ROOT == ROOT
    parser = argparse.ArgumentParser()
    parser.add_argument("--chart-dir", help="a chart_dir; by default the fixture charts with large CRDs")
    parser.add_argument("--version", default="v1.30.3")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--goal", type=float, default=1.3, help="the highest ratio to raw that passes")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="bench-render-")
    try:
        plan = plan_revision(ControlPlane(name="default", version=args.version, strategy="RevisionBased"),
                             builtin_catalog())
        chart_dir = args.chart_dir or large_crd_chart.write_chart_dir(os.path.join(work, "charts"),
                                                                      plan.version.chart_version)
        cache_dir = os.path.join(work, "rendered")
        renderer = ManifestRenderer(ChartSource(ChartSourceOptions(chart_dir=chart_dir)), engine=RecordingEngine(),
                                    cache=RenderCache(cache_dir))
        print("chart dir: %s  version: %s  runs: %d  goal: <= %.2fx the raw render"
              % (chart_dir, plan.version.name, args.runs, args.goal))
        print("%-13s %7s %9s %9s %8s %5s %9s %8s %5s"
              % ("component", "objects", "raw ms", "cold ms", "cold/raw", "", "cached ms", "cached/r", ""))
        missed = {"cold": [], "cached": []}
        for item in COMPONENTS:
            entry = parse_components([item])[0]
            medians, count = measure(renderer, cache_dir, plan, entry, args.runs)
            ratios = {name: medians[name] / medians["raw"] for name in ("cold", "cached")}
            for name, ratio in ratios.items():
                if ratio > args.goal:
                    missed[name].append(entry["component"])
            print("%-13s %7d %9.2f %9.2f %8.2f %5s %9.2f %8.2f %5s" % (
                entry["component"], count, medians["raw"], medians["cold"], ratios["cold"],
                verdict(ratios["cold"], args.goal), medians["cached"], ratios["cached"],
                verdict(ratios["cached"], args.goal)))
        for name, what in (("cached", "unchanged re-run (cached)"), ("cold", "first render (cold cache)")):
            print("goal %s <= %.2fx raw: %s" % (what, args.goal, "PASS for every component" if not missed[name]
                                                else "MISS for " + ", ".join(missed[name])))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
