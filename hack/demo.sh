#!/usr/bin/env bash
# Installs everything and runs the main job: the site playbook.
# With no arguments it renders a RevisionBased control plane to out/ from the chart mirror
# given in ISTIO_CHART_DIR (by default the test fixture charts, as this machine has no internet).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
chart_dir="${ISTIO_CHART_DIR:-$ROOT/tests/fixtures/charts}"
exec ansible-playbook -i localhost, -c local playbooks/site.yml -e "istio_chart_dir=$chart_dir" "$@"
