"""Build and install this checkout's Galaxy artifact, with the ansible-galaxy of the test virtualenv."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional

from tests.helpers.ansible import ROOT, ansible_env

BIN = os.path.dirname(sys.executable)


def galaxy(*args: str, env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([os.path.join(BIN, "ansible-galaxy")] + list(args), cwd=ROOT, env=env or ansible_env(),
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def build_artifact(tmp_path: Path) -> Path:
    """``ansible-galaxy collection build`` of the checkout into ``tmp_path/dist``; the tarball's path."""
    out = tmp_path / "dist"
    galaxy("collection", "build", "--output-path", str(out), ROOT)
    (artifact,) = out.glob("servicemesh-istio-*.tar.gz")
    return artifact


def install_artifact(artifact: Path, collections: Path) -> Dict[str, str]:
    """Install offline into ``collections``; the environment that sees only that tree (and the Python path,
    where the ansible package keeps kubernetes.core)."""
    env = ansible_env({"ANSIBLE_COLLECTIONS_PATH": str(collections)})
    installed = galaxy("collection", "install", "--offline", "-p", str(collections), str(artifact), env=env)
    assert "servicemesh.istio:" in installed.stdout and "was installed successfully" in installed.stdout, \
        installed.stdout
    return env
