#!/usr/bin/env bash
# ansible-test on a copy of the checkout laid out as ansible_collections/servicemesh/istio (tests/sanity/run.py):
#   bash hack/sanity.sh [--core 2.17] [sanity|units] [ansible-test arguments...]
# Without arguments: every sanity test, on the whole tree (tests included), with the virtualenv's ansible-core.
# `--core X.Y` takes that ansible-core from a virtualenv cached in ~/.cache/servicemesh.istio/ansible-core.
# The test suite runs sanity for every ansible-core version meta/runtime.yml admits, and units
# (tests/sanity/test_ansible_test.py).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
exec python -m tests.sanity.run "$@"
