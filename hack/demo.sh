#!/usr/bin/env bash
# Installs everything and runs the main job: playbooks/site.yml installs an Istio control plane.
#
# With ISTIO_KUBECONFIG set, it installs onto that cluster (charts from the official Istio Helm
# repository, or from the mirror in ISTIO_CHART_DIR). Without it (this machine has no cluster and no
# internet) it starts the project's test Kubernetes API server, installs from the test fixture charts,
# prints what istio_info sees, and renders the same control plane to out/ too.
# Extra arguments go to ansible-playbook, e.g. -e istio_version=v1.29.6.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
mkdir -p out
playbook=(ansible-playbook -i localhost, -c local playbooks/site.yml)

if [ -n "${ISTIO_KUBECONFIG:-}" ]; then
  exec "${playbook[@]}" -e "istio_kubeconfig=$ISTIO_KUBECONFIG" \
    ${ISTIO_CHART_DIR:+-e "istio_chart_dir=$ISTIO_CHART_DIR"} "$@"
fi

chart_dir="${ISTIO_CHART_DIR:-$ROOT/tests/fixtures/charts}"
kubeconfig="$ROOT/out/demo-kubeconfig"
python -m tests.kubeapi --kubeconfig "$kubeconfig" > out/demo-kubeapi.log 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "ready" out/demo-kubeapi.log 2>/dev/null && break; sleep 0.1; done
echo "test Kubernetes API server: $(head -n1 out/demo-kubeapi.log)"

"${playbook[@]}" -e "istio_kubeconfig=$kubeconfig" -e "istio_chart_dir=$chart_dir" "$@"
"${playbook[@]}" -e istio_action=render -e "istio_chart_dir=$chart_dir" -e istio_render_dir=out "$@"
ansible localhost -c local -m servicemesh.istio.istio_info -a "kubeconfig=$kubeconfig" \
  | sed -n '/"control_planes"/,/\]/p'
KUBECONFIG="$kubeconfig" kubectl get deployments,mutatingwebhookconfigurations -A 2>/dev/null || true
