"""python -m tests.cluster --kubeconfig FILE [--clusters N] [--nodes N]

Starts N independent real control planes (built on first use), writes one kubeconfig with contexts
cluster1..clusterN, prints a line containing ``ready`` once every API server serves, and stops
everything on SIGTERM or SIGINT."""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading

from .controlplane import ClusterSetRunner
from .runtime import READY_PREFIX


def main(argv: list) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.cluster", description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--clusters", type=int, default=1)
    parser.add_argument("--nodes", type=int, default=2, help="simulated nodes per cluster")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    runner = ClusterSetRunner(args.clusters, os.path.abspath(args.kubeconfig), args.nodes)
    try:
        runner.start()
        print(READY_PREFIX + json.dumps({"kubeconfig": runner.kubeconfig, "pid": os.getpid(), "clusters": [
            {"name": p.name, "context": p.name, "url": p.url} for p in runner.planes]}), flush=True)
        stop.wait()
    finally:
        runner.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
