"""The molecule scenario extensions/molecule/control_plane (install, idempotence, canary upgrade, verify against
the real test control plane it starts itself with `python -m tests.cluster`), run the way a developer runs it:
`molecule test -s control_plane` from extensions/."""
import os
import shutil
import subprocess
import sys

import pytest

from tests.helpers.ansible import ROOT, ansible_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_molecule_control_plane_scenario():
    molecule = os.path.join(os.path.dirname(sys.executable), "molecule")
    if not os.path.exists(molecule):
        molecule = shutil.which("molecule")
    assert molecule, "molecule is not installed (test-requirements.txt)"
    env = ansible_env({"NO_COLOR": "1", "PY_COLORS": "0", "ANSIBLE_FORCE_COLOR": "0"})
    env.pop("ANSIBLE_STDOUT_CALLBACK", None)  # molecule's idempotence check reads the default output
    proc = subprocess.run([molecule, "test", "-s", "control_plane"], cwd=os.path.join(ROOT, "extensions"), env=env,
                          capture_output=True, text=True, timeout=900, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-8000:]
    for action in ("create", "converge", "idempotence", "side_effect", "verify", "destroy"):
        assert "%s: Executed: Successful" % action in output, output[-8000:]
