"""Two runs on one control plane at once: the lease makes them take turns, on the real control plane.

Each run impersonates its own user, so the API server's audit log tells their writes apart."""
import json
import os
import subprocess
import sys
import time

import pytest

from tests.helpers.ansible import ROOT, ansible_env
from tests.helpers.processes import continue_tree, stop_tree

pytestmark = pytest.mark.integration
CHARTS = os.path.join(ROOT, "tests", "fixtures", "charts")


@pytest.fixture
def cluster(k8s_cluster):
    if not getattr(k8s_cluster, "audit_log", ""):
        pytest.skip("needs the API server's audit log (the real control plane of tests/cluster)")
    k8s_cluster.kubectl("create", "namespace", "istio-system")
    return k8s_cluster


def playbook(tmp_path, cluster, user):
    defaults = {"kubeconfig": cluster.kubeconfig, "chart_dir": CHARTS, "impersonate_user": user,
                "impersonate_groups": ["system:masters"]}
    play = [{"hosts": "localhost", "gather_facts": False,
             "module_defaults": {"group/servicemesh.istio.istio": defaults},
             "tasks": [{"name": "install", "servicemesh.istio.istio_revision": {"version": "v1.29.6"},
                        "register": "installed"},
                       {"name": "say", "ansible.builtin.debug": {"var": "installed.changed"}}]}]
    path = str(tmp_path / ("%s.json" % user))
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(play, handle)
    return [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
            path]


def writes_by_run(cluster, users):
    """(user, verb, URI) of each persisted-kind request the runs made, in the order the server completed them."""
    cluster.last_request()  # flushes the audit log
    found = []
    with open(cluster.audit_log, encoding="utf-8") as log:
        for line in log:
            event = json.loads(line)
            user = (event.get("impersonatedUser") or {}).get("username")
            if event.get("stage") != "ResponseComplete" or user not in users:
                continue
            if event["verb"] in ("create", "update", "patch", "delete") and "dryRun" not in event["requestURI"] \
                    and 200 <= (event.get("responseStatus") or {}).get("code", 0) < 300:
                found.append((user, event["verb"], event["requestURI"]))
    return found


def lease_holder(cluster):
    lease = cluster.get_object("apis/coordination.k8s.io/v1/leases", "istio-system",
                               "servicemesh-istio-controlplane-default")
    return ((lease or {}).get("spec") or {}).get("holderIdentity") or ""


def lease_reads(cluster, user):
    cluster.last_request()  # flushes the audit log
    with open(cluster.audit_log, encoding="utf-8") as log:
        return sum(1 for line in log if '"%s"' % user in line and "/leases/" in line and '"verb":"get"' in line)


def until(probe, what, timeout=120):
    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_two_runs_on_one_control_plane_take_turns(cluster, tmp_path):
    start = {user: playbook(tmp_path, cluster, user) for user in ("run-a", "run-b")}

    def run(user):
        return subprocess.Popen(start[user], cwd=ROOT, env=ansible_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
    runs = {"run-a": run("run-a")}
    # run-a is frozen as soon as it holds the lease; run-b then reads the cluster and waits for the lease
    until(lambda: lease_holder(cluster), "run-a never took the lease")
    frozen = stop_tree(runs["run-a"].pid)
    try:
        before = lease_reads(cluster, "run-b")
        runs["run-b"] = run("run-b")
        until(lambda: lease_reads(cluster, "run-b") >= before + 3, "run-b never waited for the lease", timeout=25)
    finally:
        continue_tree(frozen)
    outputs = {user: proc.communicate(timeout=600)[0] for user, proc in runs.items()}
    for user, proc in runs.items():
        assert proc.returncode == 0, outputs[user][-3000:]
    writes = writes_by_run(cluster, set(runs))
    order = [user for user, _unused, _unused in writes]
    turns = [user for index, user in enumerate(order) if index == 0 or order[index - 1] != user]
    assert len(turns) == 2, "the runs' writes interleave: %s" % writes
    assert turns == ["run-a", "run-b"], writes
    second = "run-b"
    assert any("leases" in uri for user, _unused, uri in writes if user == second), "the second run never took the lease"
    # the second run waited, read the cluster again and found the first one's work done
    assert not [uri for user, _unused, uri in writes if user == second and "leases" not in uri], writes
    lease = cluster.get_object("apis/coordination.k8s.io/v1/leases", "istio-system",
                               "servicemesh-istio-controlplane-default")
    assert lease is not None and not lease["spec"].get("holderIdentity"), lease
