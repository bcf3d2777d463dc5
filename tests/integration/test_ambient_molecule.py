# -*- coding: utf-8 -*-
"""The molecule scenario extensions/molecule/ambient: create (starts the real test control plane with
`python -m tests.cluster`), prepare, converge (playbooks/ambient.yml), idempotence, verify, destroy (stops it)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.helpers.ansible import ROOT, ansible_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_molecule_ambient_scenario():
    molecule = shutil.which("molecule", path=os.path.dirname(sys.executable)) or shutil.which("molecule")
    assert molecule, "molecule is part of the test requirements"
    proc = subprocess.run([molecule, "test", "-s", "ambient"], cwd=os.path.join(ROOT, "extensions"),
                          env=ansible_env({"ANSIBLE_STDOUT_CALLBACK": "default", "NO_COLOR": "1"}),
                          capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    assert "idempotence: Executed: Successful" in proc.stdout + proc.stderr
