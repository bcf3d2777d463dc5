"""Benchmark of the test API server: label-filtered lists over 10,000 pods.

Run: python benchmarks/bench_kubeapi.py [--pods 10000] [--rounds 5] [--in-process]

The server runs in its own process (as kubectl or ansible-playbook would see
it); pods are created through the /_test/pods helper. For each selector it
prints the matching item count, the response size, the server-side handling
time (from the request log: until the answer is encoded), the round trip seen by
the client (request sent to last byte received) and the client's JSON decoding
time, which on a loaded 2-core machine is the largest part for big answers."""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.kubeapi import KubeAPI, KubeAPIProcess  # noqa: E402

SELECTORS = (
    ("app=app-3 (1/10 match)", "app=app-3"),
    ("tier=db,app in (app-0,app-2) (1/5 match)", "tier=db,app in (app-0,app-2)"),
    ("app!=none (all match)", "app!=none"),
    ("app=none (no match)", "app=none"),
)


def populate(handle, count: int) -> float:
    started = time.perf_counter()
    for batch in range(0, count, 500):
        size = min(500, count - batch)
        labels = {"app": f"app-{batch // 500 % 10}", "tier": "db" if batch // 500 % 2 == 0 else "web"}
        handle.create_pods("default", size, labels=labels, name_prefix=f"p{batch}")
    return time.perf_counter() - started


def timed_list(handle, selector: str) -> tuple[float, float, float, int, int]:
    started = time.perf_counter()
    code, _unused, data = handle.http("GET", "/api/v1/pods", query={"labelSelector": selector}, raw=True)
    received = time.perf_counter()
    items = len(json.loads(data)["items"])
    decoded = time.perf_counter()
    assert code == 200
    server = handle.requests(handle.last_request() - 1)[-1]["duration_ms"] / 1000
    return received - started, server, decoded - received, items, len(data)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--in-process", action="store_true", help="serve from this process (shares the GIL)")
    args = parser.parse_args()
    runner = KubeAPI(1) if args.in_process else KubeAPIProcess(1)
    with runner:
        handle = runner.handles[0]
        stored = populate(handle, args.pods)
        print(f"stored {args.pods} pods in {stored:.1f}s")
        worst = 0.0
        for label, selector in SELECTORS:
            runs = [timed_list(handle, selector) for _unused in range(args.rounds)]
            trip = statistics.median(r[0] for r in runs)
            server = statistics.median(r[1] for r in runs)
            decode = statistics.median(r[2] for r in runs)
            items, size = runs[0][3], runs[0][4]
            if items < args.pods:
                worst = max(worst, trip)
            print(f"list pods labelSelector={label}: {items} items, {size / 1e6:.1f} MB, server {server * 1000:.0f} ms, "
                  f"round trip {trip * 1000:.0f} ms, client JSON decode {decode * 1000:.0f} ms "
                  f"(medians of {args.rounds})")
        print(f"label-filtered list over {args.pods} pods: {'under' if worst < 1 else 'OVER'} one second "
              f"(slowest filtered round trip {worst * 1000:.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
