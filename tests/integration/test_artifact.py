"""The Galaxy artifact built from this checkout: what it leaves out, and that it installs offline.

The checkout is used as it is after the demo, the tests and hack/sanity.sh have run: decoys of what they
leave behind (the demo's kubeconfig with its token, logs, the sanity copy) are created first, and only the
decoys this test created are removed afterwards.
"""
from __future__ import annotations

import json
import os
import subprocess
import tarfile

import pytest

from tests.helpers.ansible import ROOT
from tests.helpers.artifact import BIN, build_artifact, galaxy, install_artifact

# Paths relative to the checkout, as run output would leave them.
DECOYS = [
    "out/demo-kubeconfig",
    "out/demo-kubeapi.log",
    "out/default-control-plane.yaml",
    "build/sanity/x",
    "build/sanity/ansible_collections/servicemesh/istio/galaxy.yml",
    "decoy-%d.log" % os.getpid(),
    "tests/unit/decoy-%d.log" % os.getpid(),
    "tests/.pytest_cache/decoy-%d" % os.getpid(),
]
# Top-level entries that must never ship.
NEVER_SHIPPED = {"out", "build", "hack", ".venv", ".collections", "collections", ".ci", "benchmarks", ".git"}


@pytest.fixture()
def decoys():
    made_files, made_dirs = [], []
    for relative in DECOYS:
        path = os.path.join(ROOT, relative)
        parent = os.path.dirname(path)
        missing = []
        while parent != ROOT and not os.path.isdir(parent):
            missing.append(parent)
            parent = os.path.dirname(parent)
        for directory in reversed(missing):
            os.makedirs(directory, exist_ok=True)
            made_dirs.append(directory)
        if os.path.exists(path):  # left by a real run: keep it, it is a decoy all the same
            continue
        with open(path, "w") as handle:
            handle.write("token: decoy-bearer-token\n")
        made_files.append(path)
    yield DECOYS
    for path in made_files:
        os.remove(path)
    for directory in reversed(made_dirs):
        try:
            os.rmdir(directory)
        except OSError:  # something else wrote there meanwhile
            pass


def test_artifact_leaves_out_run_output_and_tooling(tmp_path, decoys):
    artifact = build_artifact(tmp_path)
    with tarfile.open(artifact) as tar:
        names = [name.rstrip("/") for name in tar.getnames()]
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    assert manifest["collection_info"]["version"] == "0.2.0"
    assert not [url for url in manifest["collection_info"].values()
                if isinstance(url, str) and "example.invalid" in url]

    shipped = set(names)
    assert not shipped & set(decoys), sorted(shipped & set(decoys))
    assert not {name.split("/")[0] for name in names} & NEVER_SHIPPED
    leaked = [name for name in names if name.endswith(".log") or "__pycache__" in name.split("/")
              or ".pytest_cache" in name.split("/")
              or ("kubeconfig" in os.path.basename(name) and not name.endswith(".py"))]
    assert not leaked, leaked
    # what users need is there
    for needed in ("plugins/modules/istio_revision.py", "roles/control_plane/tasks/main.yml", "playbooks/site.yml",
                   "meta/runtime.yml", "README.md", "LICENSE", "requirements.txt"):
        assert needed in shipped, needed


def test_artifact_installs_offline(tmp_path):
    artifact = build_artifact(tmp_path)
    collections = tmp_path / "collections"
    env = install_artifact(artifact, collections)
    root = collections / "ansible_collections" / "servicemesh" / "istio"
    assert (root / "plugins" / "modules" / "istio_manifest.py").is_file() and not (root / "hack").exists()

    listed = galaxy("collection", "list", "servicemesh.istio", "--format", "json", env=env)
    assert str(collections / "ansible_collections") in json.loads(listed.stdout)
    doc = subprocess.run([os.path.join(BIN, "ansible-doc"), "servicemesh.istio.istio_manifest", "--json"], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=300, check=False)
    assert doc.returncode == 0, doc.stderr
    assert json.loads(doc.stdout)["servicemesh.istio.istio_manifest"]["doc"]["filename"].startswith(str(root))
