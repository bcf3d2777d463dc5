#!/usr/bin/env python
"""A full control-plane install, three ways, side by side in one run on the same API server, and the
install goals of issue 11 as ratios with PASS/MISS.

For the same rendered objects (base CRDs + istiod + the default validator, from the chart of large CRDs
that benchmarks/large_crd_chart.py writes when it is there, else the fixture charts, or --chart-dir), it measures
wall time, requests and persisted writes of:
- servicemesh.istio.istio_revision (through Ansible, as users run it; wait=false, as the others do not
  wait for istiod either);
- kubectl apply --server-side of the identical manifests;
- kubernetes.core.k8s applying them with server-side apply (through Ansible);
(these two with force_conflicts: istiod, here its stand-in, takes the validators' failurePolicy once it
serves, so their re-run conflicts otherwise; istio_revision leaves that field to istiod);
each first on an empty namespace and then re-run unchanged, and a no-op Ansible task (ping), so that the
module's own time is the end-to-end time minus Ansible's. Requests and writes are the API server's audit
log (writes: requests that stored a change), on the real test control plane of tests/cluster by default;
--server kubeapi runs on the Python test server instead (its own request log).
    python benchmarks/bench_install.py [--server real|kubeapi] [--chart-dir DIR] [--version v1.30.3] [--repeat N]
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)
import conftest  # noqa: E402

conftest.use_collection()  # ansible_collections.servicemesh.istio importable, as in the tests

from ansible_collections.servicemesh.istio.plugins.module_utils._charts import (  # noqa: E402
    ChartSource, ChartSourceOptions)
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import builtin_catalog  # noqa: E402
from ansible_collections.servicemesh.istio.plugins.module_utils._manifest import (  # noqa: E402
    ControlPlane, ManifestRenderer, plan_revision)
from ansible_collections.servicemesh.istio.plugins.module_utils._runner import to_yaml_documents  # noqa: E402
from tests.helpers.ansible import run_module  # noqa: E402

FIXTURE_CHARTS = os.path.join(ROOT, "tests", "fixtures", "charts")


def default_chart_dir(version):
    """The chart of large CRDs (as many lines as the real base chart's, see /tmp/large_crd_chart.txt) when
    its generator benchmarks/large_crd_chart.py is there, else the fixture charts."""
    here = os.path.dirname(os.path.abspath(__file__))
    if not os.path.exists(os.path.join(here, "large_crd_chart.py")):
        return FIXTURE_CHARTS
    sys.path.insert(0, here)
    import large_crd_chart  # pylint: disable=import-outside-toplevel
    dest = os.path.join(tempfile.gettempdir(), "istio-large-crd-charts")
    large_crd_chart.write_chart_dir(dest, version.lstrip("v"))
    return dest


def render(chart_dir, version):
    plan = plan_revision(ControlPlane(name="default", version=version), builtin_catalog())
    renderer = ManifestRenderer(ChartSource(ChartSourceOptions(chart_dir=chart_dir)))
    base = renderer.base(plan, include_crds=True, default_revision="default")
    return base.objects + renderer.istiod(plan).objects


class RealServer:
    """One real control plane (tests/cluster), started for the benchmark and stopped after it."""

    def __enter__(self):
        from tests.cluster import build
        from tests.cluster.controlplane import ControlPlane as Plane
        from tests.cluster.runtime import handle_for
        from tests.kubeapi import kubeconfig as kubeconfig_mod
        workdir = tempfile.mkdtemp(prefix="bench-install-")
        self.plane = Plane("cluster1", workdir, 2, build.ensure_binaries())
        self.plane.start()
        self.cluster = handle_for(self.plane, os.path.join(workdir, "cluster1.kubeconfig"), workdir)
        kubeconfig_mod.write(self.cluster.kubeconfig, self.plane.kubeconfig_dict())
        self.cluster.record_baseline()
        return self.cluster

    def __exit__(self, *exc):
        self.plane.stop()


class PythonServer:
    def __enter__(self):
        from tests.kubeapi.runtime import KubeAPI
        self.api = KubeAPI(1).__enter__()
        return self.api.handles[0]

    def __exit__(self, *exc):
        self.api.__exit__(*exc)


def measure(cluster, action):
    mark = cluster.last_request()
    start = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - start
    if isinstance(result, dict) and result.get("failed"):
        raise SystemExit("failed: %s" % result.get("msg"))
    return seconds, len(cluster.requests(since=mark)), len(cluster.writes(since=mark))


def fresh(cluster):
    cluster.reset()
    cluster.kubectl("create", "namespace", "istio-system")


def ways(cluster, args, manifest):
    ours = {"kubeconfig": cluster.kubeconfig, "version": args.version, "chart_dir": args.chart_dir, "wait": False}
    k8s = {"kubeconfig": cluster.kubeconfig, "src": manifest, "apply": True,
           "server_side_apply": {"field_manager": "bench", "force_conflicts": True}}
    kubectl = ("apply", "--server-side", "--force-conflicts", "-f", manifest)
    return [
        ("istio_revision", lambda: run_module("servicemesh.istio.istio_revision", ours)),
        ("kubectl --server-side", lambda: cluster.kubectl(*kubectl)),
        ("kubernetes.core.k8s", lambda: run_module("kubernetes.core.k8s", k8s)),
    ]


def median_run(runs):
    """(seconds, requests, writes): the median time, and the requests and writes of the last run."""
    return statistics.median(r[0] for r in runs), runs[-1][1], runs[-1][2]


def goal(label, figure, ratio, passed):
    print("%-4s %-62s %s" % ("PASS" if passed else "MISS", label, figure))
    return ratio


def report(rows, noop):
    ours, kubectl, k8s = (rows[name] for name in ("istio_revision", "kubectl --server-side", "kubernetes.core.k8s"))
    own = max(ours["first"][0] - noop, 0.0)
    print("\nGoals (issue 11):")
    goal("first install: >= 3x faster than kubernetes.core.k8s", "%.2f s vs %.2f s: %.2fx" % (
        ours["first"][0], k8s["first"][0], k8s["first"][0] / ours["first"][0]),
        k8s["first"][0] / ours["first"][0], k8s["first"][0] / ours["first"][0] >= 3)
    goal("module's own time (end to end - no-op task): <= 1.5x kubectl", "%.2f s (%.2f - %.2f) vs %.2f s: %.2fx" % (
        own, ours["first"][0], noop, kubectl["first"][0], own / kubectl["first"][0]),
        own / kubectl["first"][0], own / kubectl["first"][0] <= 1.5)
    goal("unchanged re-run: 0 writes", "%d writes" % ours["again"][2], 0, ours["again"][2] == 0)
    share = ours["again"][0] / ours["first"][0]
    goal("unchanged re-run: <= 35% of the first run's time", "%.2f s of %.2f s: %.0f%%" % (
        ours["again"][0], ours["first"][0], 100 * share), share, share <= 0.35)
    half = ours["again"][1] / max(kubectl["again"][1], 1)
    goal("unchanged re-run: <= half of kubectl's re-run requests", "%d vs %d: %.2fx" % (
        ours["again"][1], kubectl["again"][1], half), half, half <= 0.5)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", choices=("real", "kubeapi"), default="real")
    parser.add_argument("--chart-dir", default="")
    parser.add_argument("--version", default="v1.30.3")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each way (the median time is shown)")
    args = parser.parse_args()
    args.chart_dir = args.chart_dir or default_chart_dir(args.version)
    manifest = os.path.join(tempfile.mkdtemp(prefix="bench-"), "istio.yaml")
    objects = render(args.chart_dir, args.version)
    with open(manifest, "w", encoding="utf-8") as handle:
        handle.write(to_yaml_documents(objects))
    crd_lines = sum(to_yaml_documents([o]).count("\n") for o in objects if o.get("kind") == "CustomResourceDefinition")

    with (RealServer() if args.server == "real" else PythonServer()) as cluster:
        noop = statistics.median(measure(cluster, lambda: run_module("ansible.builtin.ping", {"data": "pong"}))[0]
                                 for _unused in range(max(args.repeat, 3)))
        rows = {}
        for name, action in ways(cluster, args, manifest):
            firsts, agains = [], []
            for _unused in range(args.repeat):
                fresh(cluster)
                firsts.append(measure(cluster, action))
                agains.append(measure(cluster, action))
            rows[name] = {"first": median_run(firsts), "again": median_run(agains)}

    print("server: %s; objects: %d (%d lines of CRDs; chart dir %s, version %s); no-op Ansible task %.2f s"
          % (args.server, len(objects), crd_lines, args.chart_dir, args.version, noop))
    print("%-22s %9s %9s %7s | %9s %9s %7s" % ("", "first s", "requests", "writes", "rerun s", "requests", "writes"))
    for name, row in rows.items():
        print("%-22s %9.2f %9d %7d | %9.2f %9d %7d" % ((name,) + row["first"] + row["again"]))
    report(rows, noop)


if __name__ == "__main__":
    sys.exit(main())
