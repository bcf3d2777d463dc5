"""The linters of hack/lint.sh, in the test suite: ansible-lint (production profile), antsibull-changelog lint
and antsibull-docs lint-collection-docs. Each check is a test of its own, so a failure names the linter."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers.ansible import ROOT

LINT = os.path.join(ROOT, "hack", "lint.sh")


@pytest.mark.slow
@pytest.mark.parametrize("check", ["ansible-lint", "changelog", "docs"])
def test_lint(check):
    env = dict(os.environ)
    if sys.prefix != sys.base_prefix:  # hack/env.sh then activates the virtualenv running the tests
        env["VENV"] = sys.prefix
    proc = subprocess.run(["bash", LINT, check], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
                          check=False)
    assert proc.returncode == 0, "hack/lint.sh %s failed:\n%s\n%s" % (check, proc.stdout[-6000:], proc.stderr[-6000:])
    assert "== %s: ok" % check in proc.stdout
