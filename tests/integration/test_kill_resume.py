"""A run killed after any of its writes is completed by a re-run, and undone by an uninstall that leaves
exactly the objects that were there before.

On the Python test server, because the kill must land exactly between two writes: the server holds the
write after the Nth until the test has killed the run's whole process tree, then drops it unanswered (a
real API server cannot hold a request). Covered: a RevisionBased install with a tag and a canary upgrade here,
a multi-cluster removal in test_kill_resume_multicluster.py. ``ISTIO_KILL_SWEEP=all`` kills after every
write; by default each sweep takes points spread over the write sequence."""
import json
import os
import subprocess
import sys
import time

import pytest

from tests.helpers.ansible import ROOT, ansible_env
from tests.helpers.processes import kill_tree

pytestmark = pytest.mark.integration
CHARTS = os.path.join(ROOT, "tests", "fixtures", "charts")
# Left by controllers or the server itself, not by the collection.
TRANSIENT = {("", "events"), ("events.k8s.io", "events")}
SPREAD_POINTS = 10

INSTALL = [
    {"name": "revision", "servicemesh.istio.istio_revision": {
        "version": "v1.29.6", "update_strategy": {"type": "RevisionBased"}}},
    {"name": "tag", "servicemesh.istio.istio_revision_tag": {"name": "default", "control_plane": "default"}},
]
CANARY = [
    {"name": "revision", "servicemesh.istio.istio_revision": {
        "version": "v1.30.3", "update_strategy": {"type": "RevisionBased"}}},
    {"name": "tag", "servicemesh.istio.istio_revision_tag": {"name": "default", "control_plane": "default"}},
]
UNINSTALL = [
    {"name": "tag", "servicemesh.istio.istio_revision_tag": {"name": "default", "state": "absent",
                                                             "force": True}},
    {"name": "old revision", "servicemesh.istio.istio_revision": {
        "state": "absent", "revision": "default-v1-29-6", "force": True}},
    {"name": "new revision", "servicemesh.istio.istio_revision": {
        "state": "absent", "revision": "default-v1-30-3", "force": True, "remove_crds": True}},
]


def write_playbook(path, cluster, tasks):
    defaults = {"kubeconfig": cluster.kubeconfig, "chart_dir": CHARTS}
    play = [{"hosts": "localhost", "gather_facts": False, "module_defaults": {
        "group/servicemesh.istio.istio": defaults},
        "tasks": tasks}]
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(play, handle)
    return path


def start(playbook):
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
           playbook]
    return subprocess.Popen(cmd, cwd=ROOT, env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def run(playbook):
    proc = start(playbook)
    out, _unused = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-4000:]
    return out


def snapshot(cluster):
    return {(gr, obj["metadata"].get("namespace") or "", obj["metadata"]["name"])
            for gr, obj in cluster.all_objects() if gr not in TRANSIENT}


def held_writes(cluster):
    return sum(fault["hits"] for fault in cluster.admin("GET", "faults")["items"])


def until_held(cluster, proc):
    """Until the server holds one of the run's writes; False if the run finished first."""
    deadline = time.monotonic() + 300
    while held_writes(cluster) == 0:
        if proc.poll() is not None:
            return False
        assert time.monotonic() < deadline, "the run neither wrote nor finished"
        time.sleep(0.05)
    return True


def kill_after(cluster, playbook, writes):
    """Run the playbook, kill its process tree while its write number ``writes + 1`` is held.
    Returns False when the run finished first (it makes fewer writes)."""
    cluster.inject_fault(persisted=True, skip=writes, hold=True, count=0)
    proc = start(playbook)
    try:
        if not until_held(cluster, proc):
            return False
        killed = kill_tree(proc.pid)
        proc.wait(timeout=60)
        assert len(killed) > 1, "the module process was not found under ansible-playbook"
        return True
    finally:
        if proc.poll() is None:
            kill_tree(proc.pid)
            proc.wait(timeout=60)
        cluster.clear_faults()  # the held write is dropped, never stored


def sweep_points(total, spread=SPREAD_POINTS):
    """``spread`` points over the write sequence (each kill re-installs first), or every write on demand."""
    if os.environ.get("ISTIO_KILL_SWEEP") == "all" or total <= spread:
        return list(range(1, total))
    return sorted({max(1, round(index * (total - 1) / (spread - 1))) for index in range(spread)})


@pytest.fixture
def cluster(kubeapi_clean):
    kubeapi_clean.kubectl("create", "namespace", "istio-system")
    return kubeapi_clean


def count_writes(cluster, playbook):
    mark = cluster.last_request()
    run(playbook)
    return cluster.write_count(since=mark)


def assert_kills_resume_and_uninstall(cluster, tmp_path, before_tasks, tasks):
    """For each kill point of ``tasks`` (run after ``before_tasks``): kill, re-run, uninstall, compare."""
    setup = write_playbook(str(tmp_path / "setup.json"), cluster, before_tasks) if before_tasks else None
    playbook = write_playbook(str(tmp_path / "run.json"), cluster, tasks)
    uninstall = write_playbook(str(tmp_path / "uninstall.json"), cluster, UNINSTALL)
    baseline = snapshot(cluster)
    if setup:
        run(setup)
        # put back from a checkpoint before each kill: installing it again each time costs a whole run per
        # point for no more coverage (the install's own kills are the other sweep)
        installed, installed_objects = cluster.checkpoint(), snapshot(cluster)
    total = count_writes(cluster, playbook)
    run(uninstall)
    assert snapshot(cluster) == baseline
    assert total > SPREAD_POINTS, total
    for point in sweep_points(total):
        if setup:
            cluster.restore(installed)
            assert snapshot(cluster) == installed_objects
        assert kill_after(cluster, playbook, point), "the run finished in fewer than %d writes" % point
        run(playbook)
        after = snapshot(cluster)
        run(uninstall)
        now = snapshot(cluster)
        assert now - baseline == set(), "killed after write %d of %d, left after uninstall: %s" % (
            point, total, sorted(now - baseline))
        assert baseline - now == set(), "killed after write %d, uninstall deleted what was there before" % point
        assert after - baseline, "the re-run installed nothing"


def test_a_killed_revision_based_install_with_a_tag_resumes_and_uninstalls_cleanly(cluster, tmp_path):
    assert_kills_resume_and_uninstall(cluster, tmp_path, None, INSTALL)


def test_a_killed_canary_upgrade_resumes_and_uninstalls_cleanly(cluster, tmp_path):
    assert_kills_resume_and_uninstall(cluster, tmp_path, INSTALL, CANARY)
