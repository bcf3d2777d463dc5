#!/usr/bin/env bash
# ansible-test sanity on a copy of the tracked files laid out as ansible_collections/servicemesh/istio,
# with kubernetes.core (from the ansible package) beside it for the import checks.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
build="$ROOT/build/sanity"
dest="$build/ansible_collections/servicemesh/istio"
rm -rf "$build"
mkdir -p "$dest" "$build/ansible_collections/kubernetes"
git -C "$ROOT" ls-files -z --cached --others --exclude-standard | (cd "$ROOT" && xargs -0 cp --parents -t "$dest")
site=$(python -c 'import ansible_collections.kubernetes.core as m, os; print(os.path.dirname(m.__path__[0]))')
ln -s "$site/core" "$build/ansible_collections/kubernetes/core"
# ansible-test bootstraps pip in its virtualenvs with a script it downloads from the internet; offline,
# give it one of ours that uses the interpreter's bundled ensurepip and the package registry instead.
for version in 24.2 24.3 25.0 25.1 25.2; do
  cache="$HOME/.ansible/test/cache/get_pip_${version//./_}.py"
  [ -f "$cache" ] && continue
  mkdir -p "$(dirname "$cache")"
  cat > "$cache" <<'PY'
import subprocess
import sys

subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)
PY
done
cd "$dest"
git init -q && git add -A >/dev/null
# What ships to users: plugins, roles, playbooks and metadata (tests/ is this project's own tooling).
targets=(plugins/ roles/ playbooks/ meta/ extensions/)
[ "$#" -gt 0 ] && targets=()
exec ansible-test sanity --color no --python "$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
  --skip-test shellcheck "${targets[@]}" "$@"
