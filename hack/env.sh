# Sourced by the other hack/ scripts: a virtualenv with everything installed, and the
# checkout visible to Ansible as the collection servicemesh.istio.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
# shellcheck disable=SC1091
. "$VENV/bin/activate"
stamp="$VENV/.installed-$(cat "$ROOT/requirements.txt" "$ROOT/test-requirements.txt" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  python -m pip install --quiet --disable-pip-version-check -r "$ROOT/test-requirements.txt"
  touch "$stamp"
fi

# The same tree pytest-ansible uses for the tests (collections/ansible_collections/servicemesh/istio): the shell
# entry points (the demo, the linters, molecule) need it for ansible-playbook. pytest-ansible keeps a tree it finds.
mkdir -p "$ROOT/collections/ansible_collections/servicemesh"
[ -e "$ROOT/collections/ansible_collections/servicemesh/istio" ] || ln -s "$ROOT" "$ROOT/collections/ansible_collections/servicemesh/istio"
export ANSIBLE_COLLECTIONS_PATH="$ROOT/collections${ANSIBLE_COLLECTIONS_PATH:+:$ANSIBLE_COLLECTIONS_PATH}"
export ANSIBLE_NOCOLOR=1
# The modules need this virtualenv's packages, whatever python3 interpreter discovery would pick.
export ANSIBLE_PYTHON_INTERPRETER="$VENV/bin/python"
cd "$ROOT"
