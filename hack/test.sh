#!/usr/bin/env bash
# Installs everything the tests need and runs the whole test suite.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

if ! command -v kubectl >/dev/null 2>&1; then
  # The test API server is checked with the real kubectl.
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq kubernetes-client >/dev/null; fi
fi

set +e
# Two workers (this machine's cores); a test file stays on one worker, each worker has its own test API servers.
python -m pytest -q -n 2 --dist loadfile "$@"
status=$?
set -e
if [ "$status" = 5 ]; then
  echo "no tests were collected" >&2
  exit 1
fi
exit "$status"
