"""ansible-test on the whole tree, tests included: sanity for every ansible-core version meta/runtime.yml admits, and units.

The newest version runs every sanity test. The older ones run the tests whose verdict depends on the
ansible-core that runs them: what it can compile and import, how it reads module documentation (and the YAML
in it), argument specs and meta/runtime.yml, its changelog and ignore-file rules. The code-style linters run
once, on the newest: pep8 is the same pycodestyle check everywhere, and the newest pylint, with the newest
ansible-core's list of deprecated calls, is the strictest (and the slowest part of a run). Each version's
ansible-core lives in a cached virtualenv (tests/sanity/run.py).
"""
from __future__ import annotations

import os

import pytest
import yaml
from packaging.specifiers import SpecifierSet

from tests.sanity import run

NEWEST = max(run.CORE_RELEASES, key=lambda version: tuple(int(part) for part in version.split(".")))
VERSION_SENSITIVE = ("action-plugin-docs", "ansible-doc", "changelog", "compile", "ignores", "import",
                     "runtime-metadata", "validate-modules", "yamllint")
# shellcheck is not installed here; the shell scripts of this project are development tooling (hack/).
SKIPPED = ("shellcheck",)


def requires_ansible():
    with open(os.path.join(run.ROOT, "meta", "runtime.yml"), encoding="utf-8") as handle:
        return SpecifierSet(yaml.safe_load(handle)["requires_ansible"])


def test_every_admitted_version_is_tested_and_no_other():
    admitted = requires_ansible()
    assert all(release in admitted for release in run.CORE_RELEASES.values()), run.CORE_RELEASES
    assert all(release.startswith(version + ".") for version, release in run.CORE_RELEASES.items())
    # the oldest admitted minor version is tested, and nothing older is admitted
    oldest = min(run.CORE_RELEASES, key=lambda version: tuple(int(part) for part in version.split(".")))
    major, minor = (int(part) for part in oldest.split("."))
    assert "%d.%d.0" % (major, minor) in admitted
    assert "%d.%d.999" % (major, minor - 1) not in admitted
    # one ignore file per tested version, none for others
    ignore_files = {name[len("ignore-"):-len(".txt")] for name in os.listdir(os.path.join(run.ROOT, "tests", "sanity"))
                    if name.startswith("ignore-")}
    assert ignore_files == set(run.CORE_RELEASES)


def sanity_args(version):
    args = []
    for test in SKIPPED:
        args += ["--skip-test", test]
    if version != NEWEST:
        for test in VERSION_SENSITIVE:
            args += ["--test", test]
    return args


@pytest.mark.slow
@pytest.mark.parametrize("version", sorted(run.CORE_RELEASES, reverse=True))
def test_sanity(version):
    proc = run.ansible_test(version, "sanity", sanity_args(version), timeout=1800, capture=True)
    assert proc.returncode == 0, "ansible-test sanity with ansible-core %s:\n%s\n%s" % (
        run.CORE_RELEASES[version], proc.stdout[-8000:], proc.stderr[-8000:])
    assert "Running sanity test" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_units():
    """tests/unit under ansible-test units, with the test virtualenv's ansible-core and Python packages."""
    proc = run.ansible_test(run.running_core().rsplit(".", 1)[0], "units", [], timeout=1800, capture=True)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, "ansible-test units:\n%s\n%s" % (proc.stdout[-8000:], proc.stderr[-8000:])
    assert " passed" in output and " failed" not in output and "no tests ran" not in output, output[-3000:]
