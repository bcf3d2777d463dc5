#!/usr/bin/env python
"""Render time per component through the collection's layer, next to a raw helm_python render.

Prints, for each component, the median of several runs of:
- raw: helm_python.Chart.render of the same chart with the same values (chart loaded once);
- ours: ManifestRenderer (chart lookup, render, YAML parsing, filtering), with the engine's chart cache warm;
and their ratio, so the overhead of our layer is visible. Usage:
    python benchmarks/bench_render.py [--chart-dir DIR] [--version v1.30.3] [--runs 15]
"""
import argparse
import os
import statistics
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)
import conftest  # noqa: E402

conftest.use_collection()  # ansible_collections.servicemesh.istio importable, as in the tests

import helm_python  # noqa: E402

from ansible_collections.servicemesh.istio.plugins.module_utils._charts import (  # noqa: E402
    ChartSource, ChartSourceOptions)
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import builtin_catalog  # noqa: E402
from ansible_collections.servicemesh.istio.plugins.module_utils._manifest import (  # noqa: E402
    ControlPlane, ManifestRenderer, plan_revision)
from ansible_collections.servicemesh.istio.plugins.module_utils._components import (  # noqa: E402
    parse_components, render_component)


def median_ms(func, runs):
    samples = []
    for _run in range(runs):
        start = time.perf_counter()
        func()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main():
    assert conftest.ROOT == ROOT
    parser = argparse.ArgumentParser()
    parser.add_argument("--chart-dir", default=os.path.join(ROOT, "tests", "fixtures", "charts"))
    parser.add_argument("--version", default="v1.30.3")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    plan = plan_revision(ControlPlane(name="default", version=args.version, strategy="RevisionBased"),
                         builtin_catalog())
    source = ChartSource(ChartSourceOptions(chart_dir=args.chart_dir))
    renderer = ManifestRenderer(source)
    print("chart dir: %s  version: %s  runs: %d" % (args.chart_dir, plan.version.name, args.runs))
    print("%-14s %10s %10s %8s %8s" % ("component", "raw ms", "ours ms", "ratio", "objects"))
    for item in ["base", "istiod", {"component": "revision_tag", "tag": "default"}, "cni", "ztunnel", "gateway"]:
        entry = parse_components([item])[0]
        rendered = render_component(renderer, plan, entry)  # warms the engine's chart cache
        chart = helm_python.Chart.load(source.locate(rendered.chart, plan.version.chart_version).path)

        def raw():
            chart.render(rendered.values, name=rendered.release_name, namespace=rendered.namespace, is_install=True)

        raw_ms = median_ms(raw, args.runs)
        ours_ms = median_ms(lambda: render_component(renderer, plan, entry), args.runs)
        print("%-14s %10.2f %10.2f %8.2f %8d" % (entry["component"], raw_ms, ours_ms, ours_ms / raw_ms,
                                                 len(rendered.objects)))


if __name__ == "__main__":
    main()
