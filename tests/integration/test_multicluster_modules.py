# -*- coding: utf-8 -*-
"""istio_cacerts, istio_remote_secret and istio_gateway through ansible-playbook on two test API servers:
check mode with diffs, redaction, a second run without writes, rotation on request, removal."""
from __future__ import annotations

import base64
import os

import pytest
import yaml

from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster import cacerts
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._apply import Applier
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef
from tests.helpers.ansible import ROOT, run_playbook
from tests.integration.test_multicluster import GATEWAY_CRD, Mesh

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHARTS = os.path.join(ROOT, "tests", "fixtures", "charts")


def remote_of(mesh):
    """Connection options of cluster2, the remote cluster of these tests."""
    two = mesh.clusters["cluster2"]
    return {"kubeconfig": two.kubeconfig, "context": two.context}


def playbook(tmp_path, mesh, tasks):
    """A play on localhost whose tasks reach cluster1."""
    one = mesh.clusters["cluster1"]
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
             "module_defaults": {"group/servicemesh.istio.istio": {"kubeconfig": one.kubeconfig,
                                                                   "context": one.context}},
             "tasks": tasks}]
    path = tmp_path / "play.yml"
    path.write_text(yaml.safe_dump(play, sort_keys=False))
    return str(path)


def tasks_for(remote, ca_dir, state="present"):
    gateway = {"preset": "eastwest", "network": "network1", "expose_services": True, "chart_dir": CHARTS,
               "version": "v1.30.3", "create_namespace": True, "state": state}
    return [
        {"name": "ca", "register": "ca", "servicemesh.istio.istio_cacerts": {
            "cluster_name": "cluster1", "create_namespace": True, "key_size": 2048, "create_root": True,
            "root_cert_file": os.path.join(ca_dir, "root-cert.pem"),
            "root_key_file": os.path.join(ca_dir, "root-key.pem"), "state": state}},
        {"name": "remote secret", "register": "secret", "servicemesh.istio.istio_remote_secret": {
            "name": "cluster2", "consumer": "cluster1", "server": "https://10.1.2.3:6443", "remote": remote,
            "state": state}},
        {"name": "gateway", "register": "gateway", "servicemesh.istio.istio_gateway": gateway},
    ]


@pytest.fixture
def mesh(kubeapi_clusters, tmp_path):
    mesh = Mesh(kubeapi_clusters, tmp_path, {})
    for name in mesh.clusters:
        mesh.connect(name).apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}},
                                 "test-setup")
    return mesh


def test_check_mode_diff_then_apply_then_nothing(mesh, tmp_path):
    remote = remote_of(mesh)
    path = playbook(tmp_path, mesh, tasks_for(remote, str(tmp_path / "ca")))

    marks = mesh.marks()
    checked = run_playbook(path, args=["--check", "--diff"])
    assert checked.ok, checked.stdout[-4000:]
    assert mesh.writes_since(marks) == {name: [] for name in mesh.clusters}
    assert not os.path.exists(tmp_path / "ca" / "root-key.pem")  # check mode makes no root files
    for task in ("ca", "remote secret", "gateway"):
        assert checked.result(task)["changed"], task
    assert "<redacted sha256:" in checked.stdout and "PRIVATE KEY" not in checked.stdout

    applied = run_playbook(path, args=["--diff"])
    assert applied.ok, applied.stdout[-4000:]
    ca = applied.result("ca")
    assert ca["status"] == "created" and ca["root_created"]
    assert "PRIVATE KEY" not in applied.stdout + applied.stderr
    secret = mesh.get("cluster1", "v1", "Secret", "istio-remote-secret-cluster2", "istio-system")
    kubeconfig = yaml.safe_load(base64.b64decode(secret["data"]["cluster2"]))
    assert kubeconfig["clusters"][0]["cluster"]["server"] == "https://10.1.2.3:6443"
    token = kubeconfig["users"][0]["user"]["token"]
    assert token not in applied.stdout + applied.stderr
    assert applied.result("gateway")["address"]

    marks = mesh.marks()
    again = run_playbook(path, args=["--diff"])
    assert again.ok and again.stats()["changed"] == 0, again.stdout[-4000:]
    assert mesh.writes_since(marks) == {name: [] for name in mesh.clusters}

    # rotation only on request
    other = cacerts.new_root(cacerts.CaSettings(key_size=2048))
    rotate = [{"name": "rotate", "register": "rotate", "servicemesh.istio.istio_cacerts": {
        "cluster_name": "cluster1", "key_size": 2048, "root_cert": other.cert_pem().decode(),
        "root_key": other.key_pem().decode(), "replace": True}}]
    rotate_path = playbook(tmp_path, mesh, rotate)
    rotated = run_playbook(rotate_path, args=["-vvv"], env={"TEST_ANSIBLE_CALLBACK": "ansible.builtin.default"})
    assert rotated.ok, rotated.stdout[-4000:]
    assert "PRIVATE KEY" not in rotated.stdout + rotated.stderr
    assert cacerts.judge_cacerts(mesh.get("cluster1", "v1", "Secret", "cacerts", "istio-system"), other).valid

    removed = run_playbook(playbook(tmp_path, mesh, tasks_for(remote, str(tmp_path / "ca"), "absent")))
    assert removed.ok, removed.stdout[-4000:]
    for kind, name in (("Secret", "cacerts"), ("Secret", "istio-remote-secret-cluster2"),
                       ("Service", "istio-eastwestgateway")):
        assert mesh.get("cluster1", "v1", kind, name, "istio-system") is None
    assert mesh.get("cluster2", "v1", "ServiceAccount", "istio-reader-service-account", "istio-system") is None


def test_gateway_exposure_needs_the_istio_crds(mesh, tmp_path):
    crd = ObjectRef.of("apiextensions.k8s.io/v1", "CustomResourceDefinition", GATEWAY_CRD["metadata"]["name"])
    Applier(mesh.connect("cluster1")).delete([crd], wait=True, timeout=30)
    path = playbook(tmp_path, mesh, tasks_for({}, str(tmp_path / "ca"))[2:])
    marks = mesh.marks()
    run = run_playbook(path)
    assert not run.ok and "does not serve Gateway (networking.istio.io/v1)" in run.stdout
    assert mesh.writes_since(marks) == {name: [] for name in mesh.clusters}
