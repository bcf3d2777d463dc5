"""The integration suite's time on each server: the real control plane (tests/cluster) and the Python
test server (tests/kubeapi), the same test files run one after the other in one run of this script.

Run: python benchmarks/bench_suite.py [--workers 2] [test files ...]

The fixtures ``k8s_cluster``/``k8s_clusters`` hand the tests a real cluster unless
``ISTIO_TEST_SERVER=kubeapi``; both runs include their servers' start-up. It prints each wall time
and the ratio real / Python. A figure, not a timed test: nothing fails on it."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_FILES = ("tests/integration/test_control_plane_modules.py", "tests/integration/test_roles_control_plane.py",
                 "tests/integration/test_multicluster.py", "tests/integration/test_ambient.py")


def run_suite(files: list, workers: int, server: str, bindir: str) -> tuple:
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
    env.pop("ISTIO_TEST_KUBECONFIG", None)
    if server == "kubeapi":
        env["ISTIO_TEST_SERVER"] = "kubeapi"
    else:
        env.pop("ISTIO_TEST_SERVER", None)
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", str(workers), "--dist", "loadfile", *files],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    summary = (proc.stdout.strip().splitlines() or ["(no output)"])[-1]
    return elapsed, proc.returncode, summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("files", nargs="*", default=list(DEFAULT_FILES))
    args = parser.parse_args()
    sys.path.insert(0, ROOT)
    from tests.cluster import build
    # the build is a one-off, not part of the suite's time
    bindir = os.path.dirname(build.ensure_binaries()["kube-apiserver"])
    results = {}
    for server in ("kubeapi", "real"):
        results[server] = run_suite(args.files, args.workers, server, bindir)
        elapsed, code, summary = results[server]
        print(f"{server:8s} {elapsed:8.1f} s  exit {code}  {summary}", flush=True)
    ratio = results["real"][0] / results["kubeapi"][0]
    print(f"real control plane / Python test server: {ratio:.2f}x  ({len(args.files)} files, {args.workers} workers)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
