#!/usr/bin/env bash
# The linters, on the checkout as Ansible sees the collection (collections/ansible_collections/servicemesh/istio):
#   ansible-lint   ansible-lint, production profile (.ansible-lint)
#   changelog      antsibull-changelog lint (the fragments) and lint-changelog-yaml (changelogs/changelog.yaml)
#   docs           antsibull-docs lint-collection-docs --plugin-docs (module, plugin and role documentation)
# With names, only those run (e.g. `bash hack/lint.sh docs`). Every one runs even when an earlier one fails;
# the exit status is non-zero if any failed. tests/integration/test_lint.py runs them in the test suite.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
collection="$ROOT/collections/ansible_collections/servicemesh/istio"
export NO_COLOR=1  # plain text, for logs and test failure messages

lint_ansible_lint() {
  ansible-lint
}

lint_changelog() {
  antsibull-changelog lint && antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml
}

lint_docs() {
  # antsibull-docs copies the collection and its dependencies, tracked files only when they are in a git work
  # tree. kubernetes.core comes from the ansible package, here inside this checkout's (git-ignored) .venv, where
  # that would copy nothing: git must not look above the collection for a work tree.
  local core
  core=$(python -c 'import ansible_collections.kubernetes.core as m, os; print(os.path.dirname(m.__path__[0]))')
  GIT_CEILING_DIRECTORIES="$core" antsibull-docs lint-collection-docs --plugin-docs "$collection"
}

checks=("$@")
[ "${#checks[@]}" -gt 0 ] || checks=(ansible-lint changelog docs)
status=0
for check in "${checks[@]}"; do
  case "$check" in
    ansible-lint | changelog | docs) ;;
    *) echo "unknown check: $check (ansible-lint, changelog, docs)" >&2; exit 2 ;;
  esac
  echo "== $check"
  if "lint_${check//-/_}"; then
    echo "== $check: ok"
  else
    echo "== $check: FAILED" >&2
    status=1
  fi
done
exit "$status"
