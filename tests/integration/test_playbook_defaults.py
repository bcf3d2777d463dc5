"""What the collection's playbooks choose when you do not: where render output goes, and which Python runs the
modules. Against the installed artifact, as a user (or an execution environment) has it."""
from __future__ import annotations

import glob
import json
import os
import stat
import subprocess
import sys

import pytest
import yaml

from tests.helpers.ansible import ROOT, PlaybookRun
from tests.helpers.artifact import BIN, build_artifact, install_artifact

CHARTS = os.path.join(ROOT, "tests", "fixtures", "charts")
MISSING_PYTHON = "/nonexistent/bin/python3"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The artifact installed offline, made read-only (for root too, the test compares the tree)."""
    tmp = tmp_path_factory.mktemp("installed")
    collections = tmp / "collections"
    env = install_artifact(build_artifact(tmp), collections)
    root = collections / "ansible_collections" / "servicemesh" / "istio"
    for path in [str(root)] + glob.glob(str(root / "**"), recursive=True):
        mode = os.stat(path).st_mode
        os.chmod(path, mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    yield env, root
    for path in [str(root)] + glob.glob(str(root / "**"), recursive=True):
        os.chmod(path, os.stat(path).st_mode | stat.S_IWUSR)


def tree(root):
    return {path: os.stat(path).st_mtime_ns for path in glob.glob(str(root / "**"), recursive=True)}


def playbook(name, cwd, env, extra_vars=None, inventory="localhost,", unset=()):
    env = dict(env)
    for key in unset:
        env.pop(key, None)
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", inventory, "-c", "local", name]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    proc = subprocess.run(cmd, cwd=str(cwd), env=env, capture_output=True, text=True, timeout=600, check=False)
    return proc


def render_vars(**extra):
    return dict({"istio_chart_dir": CHARTS}, **extra)


def test_render_writes_to_the_working_directory_not_the_collection(installed, tmp_path):
    env, root = installed
    before = tree(root)
    proc = playbook("servicemesh.istio.render", tmp_path, env, render_vars())
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    kinds = [doc["kind"] for doc in yaml.safe_load_all((tmp_path / "default-control-plane.yaml").read_text())]
    assert "Deployment" in kinds
    assert tree(root) == before
    assert not os.path.exists(os.path.join(str(root), "out"))

    # site.yml renders without a cluster the same way; istio_render_dir may be relative to the working directory
    proc = playbook("servicemesh.istio.site", tmp_path, env, render_vars(istio_render_dir="manifests"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (tmp_path / "manifests" / "default-control-plane.yaml").is_file()
    assert tree(root) == before


def test_no_playbook_sets_the_interpreter_as_a_play_variable():
    for path in glob.glob(os.path.join(ROOT, "playbooks", "*.yml")):
        with open(path) as handle:
            plays = yaml.safe_load(handle)
        for play in plays:
            assert "ansible_python_interpreter" not in (play.get("vars") or {}), path


def test_interpreter_you_configure_is_used(installed, tmp_path):
    env, _unused = installed
    # ANSIBLE_PYTHON_INTERPRETER is respected: a Python that does not exist fails the module...
    failed = playbook("servicemesh.istio.render", tmp_path, dict(env, ANSIBLE_PYTHON_INTERPRETER=MISSING_PYTHON),
                      render_vars())
    assert failed.returncode != 0 and MISSING_PYTHON in failed.stdout + failed.stderr
    # ... so is the inventory ...
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": {"ansible_python_interpreter": MISSING_PYTHON}}}}))
    failed = playbook("servicemesh.istio.render", tmp_path, env, render_vars(), inventory=str(inventory),
                      unset=["ANSIBLE_PYTHON_INTERPRETER"])
    assert failed.returncode != 0 and MISSING_PYTHON in failed.stdout + failed.stderr
    # ... and istio_python_interpreter wins over both.
    ran = playbook("servicemesh.istio.render", tmp_path, dict(env, ANSIBLE_PYTHON_INTERPRETER=MISSING_PYTHON),
                   render_vars(istio_python_interpreter=sys.executable), inventory=str(inventory))
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]


def test_without_one_the_python_running_ansible_playbook_is_used(installed, tmp_path):
    env, _unused = installed
    proc = playbook("servicemesh.istio.render", tmp_path, env, render_vars(), unset=["ANSIBLE_PYTHON_INTERPRETER"])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    chosen = PlaybookRun(proc).result("Choose the Python interpreter")
    assert chosen["ansible_facts"]["ansible_python_interpreter"] == sys.executable, chosen
