"""The execution environment: ansible-builder makes a build context from the example definition in docs/,
and reads the collection's meta/execution-environment.yml (requirements.txt, bindep.txt) from the installed
artifact. Offline: nothing is pulled or built, only the context is written."""
from __future__ import annotations

import os
import shutil
import subprocess

import yaml

from tests.helpers.ansible import ROOT, ansible_env
from tests.helpers.artifact import BIN, build_artifact, install_artifact


def builder(*args, cwd):
    proc = subprocess.run([os.path.join(BIN, "ansible-builder")] + list(args), cwd=str(cwd), env=ansible_env(),
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def requirement_names(path):
    with open(path) as handle:
        lines = [line.split("#")[0].strip() for line in handle]
    return [line for line in lines if line and not line.startswith("-")]


def test_collection_metadata_names_its_requirements():
    with open(os.path.join(ROOT, "meta", "execution-environment.yml")) as handle:
        meta = yaml.safe_load(handle)
    assert meta["dependencies"] == {"python": "requirements.txt", "system": "bindep.txt"}
    assert requirement_names(os.path.join(ROOT, "requirements.txt"))
    assert requirement_names(os.path.join(ROOT, "bindep.txt"))


def test_builder_creates_a_context_with_the_collection(tmp_path):
    artifact = build_artifact(tmp_path)
    with open(os.path.join(ROOT, "docs", "execution-environment.yml")) as handle:
        definition = yaml.safe_load(handle)
    # The example installs the collection from Galaxy; here the artifact just built goes into the context.
    collections = definition["dependencies"]["galaxy"]["collections"]
    assert [c["name"] for c in collections] == ["servicemesh.istio", "kubernetes.core"]
    collections[0] = {"name": "collections/" + artifact.name, "type": "file"}
    definition["additional_build_files"] = [{"src": str(artifact), "dest": "collections"}]
    (tmp_path / "execution-environment.yml").write_text(yaml.safe_dump(definition))

    builder("create", "-f", "execution-environment.yml", "-c", "context", "--output-filename", "Containerfile",
            cwd=tmp_path)
    context = tmp_path / "context"
    containerfile = (context / "Containerfile").read_text()
    assert "FROM $EE_BASE_IMAGE" in containerfile or "registry.access.redhat.com/ubi9/ubi" in containerfile
    assert "ansible-galaxy collection install" in containerfile and "introspect" in containerfile
    requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert {"name": "collections/" + artifact.name, "type": "file"} in requirements["collections"]
    assert (context / "_build" / "collections" / artifact.name).is_file()


def test_builder_introspects_the_installed_collection(tmp_path):
    artifact = build_artifact(tmp_path)
    collections = tmp_path / "collections"
    install_artifact(artifact, collections)
    proc = builder("introspect", str(collections), "--write-pip", "pip.txt", "--write-bindep", "bindep.txt",
                   cwd=tmp_path)
    python = requirement_names(tmp_path / "pip.txt")
    system = requirement_names(tmp_path / "bindep.txt")
    assert [line.split()[0] for line in requirement_names(os.path.join(ROOT, "bindep.txt"))] == \
        [line.split()[0] for line in system], proc.stdout
    for needed in ("helm-python-sdk", "kubernetes", "cryptography"):
        assert any(line.startswith(needed) for line in python), (needed, python)
    shutil.rmtree(collections)
