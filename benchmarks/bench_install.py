#!/usr/bin/env python
"""A full control-plane install on the test API server, three ways, from one run.

For the same rendered objects (base CRDs + istiod + the default validator from the fixture
charts, or a chart mirror of your own), prints wall time, requests and persisted writes of:
- servicemesh.istio.istio_revision (through Ansible, as users run it);
- kubectl apply --server-side of the identical manifests;
- kubernetes.core.k8s applying them with server-side apply (through Ansible);
each first on an empty cluster and then re-run unchanged, with ratios against kubectl.
    python benchmarks/bench_install.py [--chart-dir DIR] [--version v1.30.3]
"""
import argparse
import os
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
from tests.kubeapi.runtime import KubeAPI  # noqa: E402


def render(chart_dir, version):
    plan = plan_revision(ControlPlane(name="default", version=version), builtin_catalog())
    renderer = ManifestRenderer(ChartSource(ChartSourceOptions(chart_dir=chart_dir)))
    base = renderer.base(plan, include_crds=True, default_revision="default")
    return base.objects + renderer.istiod(plan).objects


def measure(cluster, action):
    mark = cluster.last_request()
    start = time.perf_counter()
    action()
    seconds = time.perf_counter() - start
    return seconds, len(cluster.requests(since=mark)), len(cluster.writes(since=mark))


def fresh(cluster):
    cluster.reset()
    cluster.kubectl("create", "namespace", "istio-system")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--chart-dir", default=os.path.join(ROOT, "tests", "fixtures", "charts"))
    parser.add_argument("--version", default="v1.30.3")
    args = parser.parse_args()
    manifest = os.path.join(tempfile.mkdtemp(prefix="bench-"), "istio.yaml")
    objects = render(args.chart_dir, args.version)
    with open(manifest, "w") as handle:
        handle.write(to_yaml_documents(objects))

    with KubeAPI(1) as api:
        cluster = api.handles[0]
        ours_args = {"kubeconfig": cluster.kubeconfig, "version": args.version, "chart_dir": args.chart_dir}
        k8s_args = {"kubeconfig": cluster.kubeconfig, "src": manifest, "apply": True,
                    "server_side_apply": {"field_manager": "bench"}}
        ways = [
            ("istio_revision", lambda: run_module("servicemesh.istio.istio_revision", ours_args)),
            ("kubectl --server-side", lambda: cluster.kubectl("apply", "--server-side", "-f", manifest)),
            ("kubernetes.core.k8s", lambda: run_module("kubernetes.core.k8s", k8s_args)),
        ]
        rows = []
        for name, action in ways:
            fresh(cluster)
            first = measure(cluster, action)
            again = measure(cluster, action)
            rows.append((name, first, again))

    print("objects: %d (chart dir %s, version %s)" % (len(objects), args.chart_dir, args.version))
    print("%-22s %9s %9s %7s | %9s %9s %7s | %8s" % ("", "first s", "requests", "writes", "rerun s", "requests",
                                                     "writes", "s/kubectl"))
    kubectl_first = rows[1][1][0]
    for name, first, again in rows:
        print("%-22s %9.2f %9d %7d | %9.2f %9d %7d | %8.2f" % ((name,) + first + again + (first[0] / kubectl_first,)))


if __name__ == "__main__":
    sys.exit(main())
