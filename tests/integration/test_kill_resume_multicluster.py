"""A multi-cluster removal killed after any of its writes on its first cluster (two clusters) is completed by
a re-run that removes exactly the mesh.

On the Python test server, for the reason test_kill_resume.py gives (a write held until the kill); a file of
its own so that the test runner can put it on another worker than the single-cluster sweeps."""
import json
import os
import subprocess
import sys

import pytest

from tests.helpers.ansible import ROOT, ansible_env
from tests.helpers.processes import kill_tree
from tests.integration.test_kill_resume import sweep_points, until_held

pytestmark = pytest.mark.integration
# Fewer points than the single-cluster sweeps: each costs two runs of the whole multi-cluster playbook, and
# the kill points they share (between any two writes of a unit, record and lease) are swept there.
SPREAD_POINTS = 6


def mesh_playbook(mesh, extra):
    from tests.integration.test_multicluster import PLAYBOOK
    return [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", mesh.inventory(), "-c", "local",
            PLAYBOOK, "-e", json.dumps(extra)]


def test_a_killed_multicluster_removal_resumes_and_removes_exactly_the_mesh(kubeapi_clusters, tmp_path):
    from tests.integration.test_multicluster import Mesh, assert_removed_exactly
    mesh = Mesh(kubeapi_clusters, tmp_path, {"east": ("cluster1", "primary", "network1"),
                                             "west": ("cluster2", "primary", "network2")})
    east = mesh.clusters["cluster1"]
    removal = {"istio_multicluster_state": "absent"}

    installed = mesh.play()
    assert installed.ok, installed.stdout[-3000:]
    # The installed mesh is put back from a checkpoint before each kill: installing it again each time would
    # double the sweep's time for no more coverage (the install's own kills are the sweeps above).
    checkpoints = {name: cluster.checkpoint() for name, cluster in mesh.clusters.items()}
    installed_objects = {name: mesh.snapshot(name) for name in mesh.clusters}

    def install():
        for name, cluster in mesh.clusters.items():
            cluster.restore(checkpoints[name])
            assert mesh.snapshot(name) == installed_objects[name]

    mark = east.last_request()
    removed = mesh.play(extra=removal)
    assert removed.ok, removed.stdout[-3000:]
    total = east.write_count(since=mark)
    assert_removed_exactly(mesh)
    for point in sweep_points(total, SPREAD_POINTS):
        install()
        east.inject_fault(persisted=True, skip=point, hold=True, count=0)
        proc = subprocess.Popen(mesh_playbook(mesh, removal), cwd=ROOT, env=ansible_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        try:
            until_held(east, proc)
            kill_tree(proc.pid)
            proc.wait(timeout=60)
        finally:
            east.clear_faults()
        again = mesh.play(extra=removal)
        assert again.ok, "killed after write %d of %d, the re-run failed: %s" % (point, total, again.stdout[-3000:])
        assert_removed_exactly(mesh)
