#!/usr/bin/env bash
# Installs everything the tests need, builds (or reuses) the real Kubernetes control plane the
# integration tests run on, and runs the whole test suite.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

# kube-apiserver, controller-manager, scheduler, etcd, kwok and kubectl from Go modules, cached in
# ~/.cache/servicemesh.istio/testcluster: only a fresh machine builds (a few minutes, with progress).
bindir="$(python -m tests.cluster.build)"
# kubectl of the control plane's own version, for the tests and for the Python test server's checks.
export PATH="$bindir:$PATH"

set +e
# Two workers (this machine's cores); a test file stays on one worker, each worker starts its own clusters.
# Files go out in collection order, the longest first (conftest.py); the 40 slowest tests are listed at the
# end, to keep the run short.
python -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder --durations=40 "$@"
status=$?
set -e
if [ "$status" = 5 ]; then
  echo "no tests were collected" >&2
  exit 1
fi
exit "$status"
