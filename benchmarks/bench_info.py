#!/usr/bin/env python
"""istio_info and in-use over many namespaces and pods, on the real test control plane (tests/cluster).

Creates N namespaces (every tenth labelled ``istio.io/rev=default``) and M pods spread over them (for a
scheduler that does not exist, so that neither the scheduler nor kwok works on them, nor the pod garbage
collector, which deletes pods bound to a node that does not exist: they stay Pending, which istio_info counts
as running), by concurrent requests; then runs istio_info and a no-op Ansible task, at
a tenth of the counts and at the full counts, and prints the goal of issue 11: list calls whose number
does not grow with the counts (each list is read in pages: its first page counts, the pages that follow its
continue token are shown apart), and at most 1 s of module time (end to end minus the no-op task).
    python benchmarks/bench_info.py [--namespaces 1000] [--pods 10000] [--threads 16]
"""
import argparse
import collections
import concurrent.futures
import os
import statistics
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import conftest  # noqa: E402

conftest.use_collection()

from bench_install import RealServer, measure  # noqa: E402
from tests.helpers.ansible import run_module  # noqa: E402

GOAL_SECONDS = 1.0


def namespace(index):
    labels = {"istio.io/rev": "default"} if index % 10 == 0 else {}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench-%04d" % index, "labels": labels}}


def pod(name):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "bench"}},
            "spec": {"schedulerName": "bench-nobody", "containers": [
                {"name": "app", "image": "registry.example/app:1"},
                {"name": "istio-proxy", "image": "registry.example/proxyv2:1.30.3"}]}}


def create(cluster, first_namespace, namespaces, pods, threads):
    """Namespaces [first, first+namespaces) and ``pods`` pods spread over them, concurrently."""
    def post(path, body):
        deadline = time.monotonic() + 60
        while True:
            status, _unused, answer = cluster.http("POST", path, body)
            # a new namespace's default ServiceAccount comes from the controller manager a moment later
            if status != 403 or "serviceaccount" not in str((answer or {}).get("message")) \
                    or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        if status not in (201, 409):
            raise SystemExit("POST %s: %s %s" % (path, status, (answer or {}).get("message")))
    indexes = range(first_namespace, first_namespace + namespaces)
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda i: post("/api/v1/namespaces", namespace(i)), indexes))
        jobs = [("/api/v1/namespaces/bench-%04d/pods" % indexes[n % namespaces], pod("p-%05d" % n))
                for n in range(pods)]
        list(pool.map(lambda job: post(*job), jobs))


def info_run(cluster, noop):
    args = {"kubeconfig": cluster.kubeconfig}
    seconds, requests, _writes = measure(cluster, lambda: run_module("servicemesh.istio.istio_info", args))
    mark = cluster.last_request()
    run_module("servicemesh.istio.istio_info", args)
    pages = [e for e in cluster.requests(since=mark) if e["verb"] == "list"]
    calls = collections.Counter(e["resource"] for e in pages if not e["query"].get("continue"))
    return {"seconds": seconds, "own": max(seconds - noop, 0.0), "requests": requests,
            "lists": sum(calls.values()), "pages": len(pages), "calls": calls,
            "per_list": collections.Counter(e["resource"] for e in pages)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--namespaces", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=10000)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()
    small_ns, small_pods = max(args.namespaces // 10, 1), max(args.pods // 10, 1)
    rows = []
    with RealServer() as cluster:
        noop = statistics.median(measure(cluster, lambda: run_module("ansible.builtin.ping", {"data": "pong"}))[0]
                                 for _unused in range(3))
        start = time.perf_counter()
        create(cluster, 0, small_ns, small_pods, args.threads)
        print("created %d namespaces and %d pods in %.1f s" % (small_ns, small_pods, time.perf_counter() - start))
        rows.append((small_ns, small_pods, info_run(cluster, noop)))
        start = time.perf_counter()
        create(cluster, small_ns, args.namespaces - small_ns, args.pods - small_pods, args.threads)
        print("created %d namespaces and %d pods in %.1f s" % (args.namespaces, args.pods,
                                                               time.perf_counter() - start))
        rows.append((args.namespaces, args.pods, info_run(cluster, noop)))
    print("no-op Ansible task %.2f s" % noop)
    print("%10s %8s | %9s %9s %9s %6s %6s" % ("namespaces", "pods", "end to end", "module s", "requests", "lists",
                                              "pages"))
    for count_ns, count_pods, row in rows:
        figures = (count_ns, count_pods, row["seconds"], row["own"], row["requests"], row["lists"], row["pages"])
        print("%10d %8d | %9.2f %9.2f %9d %6d %6d" % figures)
    full = rows[-1][2]
    print("list calls at full counts (pages): %s" % ", ".join(
        "%s x%d (%d)" % (resource, n, full["per_list"][resource]) for resource, n in sorted(full["calls"].items())))
    grows = rows[-1][2]["lists"] > rows[0][2]["lists"]
    print("%s list calls do not grow with the counts: %d at %d/%d, %d at %d/%d" % (
        "MISS" if grows else "PASS", rows[0][2]["lists"], small_ns, small_pods, rows[-1][2]["lists"],
        args.namespaces, args.pods))
    own = rows[-1][2]["own"]
    print("%s istio_info module time <= %.1f s over %d namespaces and %d pods: %.2f s (%.2fx the goal)" % (
        "PASS" if own <= GOAL_SECONDS else "MISS", GOAL_SECONDS, args.namespaces, args.pods, own,
        own / GOAL_SECONDS))


if __name__ == "__main__":
    sys.exit(main())
