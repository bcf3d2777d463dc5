# -*- coding: utf-8 -*-
"""istio_cacerts, istio_remote_secret and istio_gateway through ansible-playbook on two real clusters:
check mode with diffs, redaction, a second run without writes, rotation on request, removal; the
remote secret's credentials against the other cluster's real authentication and RBAC."""
from __future__ import annotations

import base64
import os
import time

import pytest
import yaml

from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster import cacerts
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._apply import Applier
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef
from tests.cluster.fixtures import on_python_server
from tests.helpers.ansible import ROOT, run_playbook
from tests.integration.test_multicluster import (GATEWAY_CRD, Mesh, mesh_network,  # noqa: F401 (a fixture) pylint: disable=unused-import
                                                 who_am_i)

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.usefixtures("mesh_network")]

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
def mesh(k8s_clusters, tmp_path):
    mesh = Mesh(k8s_clusters, tmp_path, {})
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


def wait_for(probe, timeout=60):
    """probe() until it gives something (the EndpointSlice controller works on its own time)."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def _refused_as(call):
    """The HTTP status ``call`` is refused with (None when it is allowed)."""
    from kubernetes.client.rest import ApiException
    try:
        call()
    except ApiException as refused:
        return refused.status
    return None


def test_remote_secret_authenticates_on_the_remote_cluster_with_rbac_enforced(mesh, tmp_path):
    """The kubeconfig in cluster1's remote secret for cluster2, used against cluster2's real API
    server: it is the reader service account, allowed what istiod reads across the cluster and
    refused (403) anything else; removing the secret revokes the token (401)."""
    if on_python_server():
        pytest.skip("authorization is the real API server's: the Python server has no RBAC")
    from kubernetes import client as k8s, config as k8s_config
    from kubernetes.client.rest import ApiException

    two = mesh.clusters["cluster2"]
    pod = two.create_pods("default", labels={"app": "workload"}, name_prefix="workload")[0]["metadata"]["name"]
    two.kubectl("create", "service", "clusterip", "workload", "--tcp=8080:8080", "-n", "default")
    task = {"name": "remote secret", "servicemesh.istio.istio_remote_secret": {
        "name": "cluster2", "consumer": "cluster1", "remote": remote_of(mesh)}}
    applied = run_playbook(playbook(tmp_path, mesh, [task]))
    assert applied.ok, applied.stdout[-4000:]

    secret = mesh.get("cluster1", "v1", "Secret", "istio-remote-secret-cluster2", "istio-system")
    config = yaml.safe_load(base64.b64decode(secret["data"]["cluster2"]))
    assert config["clusters"][0]["cluster"]["server"] == two.url  # https://127.0.0.1:<port>
    path = tmp_path / "reader.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    assert who_am_i(str(path)) == ("system:serviceaccount:istio-system:istio-reader-service-account", two.url)

    api = k8s_config.new_client_from_config(config_file=str(path))
    core, discovery = k8s.CoreV1Api(api), k8s.DiscoveryV1Api(api)

    # what istiod reads in a cluster it discovers from, everywhere in it
    assert pod in [p.metadata.name for p in core.list_pod_for_all_namespaces().items]
    assert "workload" in [s.metadata.name for s in core.list_service_for_all_namespaces().items]
    assert wait_for(lambda: [e for s in discovery.list_endpoint_slice_for_all_namespaces().items
                             if (s.metadata.labels or {}).get("kubernetes.io/service-name") == "workload"
                             for e in s.endpoints or [] if pod == (e.target_ref and e.target_ref.name)])
    assert {"default", "kube-system", "istio-system"} <= {n.metadata.name for n in core.list_namespace().items}

    # and nothing it must not do: the API server answers 403 and changes nothing
    refused = {
        "create a namespace": lambda: core.create_namespace(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "taken-over"}}),
        "delete a pod": lambda: core.delete_namespaced_pod(pod, "default"),
        "create a secret in kube-system": lambda: core.create_namespaced_secret("kube-system", {
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "planted"}, "stringData": {"k": "v"}}),
        "change a service": lambda: core.patch_namespaced_service(
            "kubernetes", "default", {"metadata": {"labels": {"taken": "over"}}}),
        "read RBAC": lambda: k8s.RbacAuthorizationV1Api(api).list_cluster_role(),
    }
    for what, call in refused.items():
        with pytest.raises(ApiException) as denied:
            call()
        assert denied.value.status == 403, (what, denied.value.status, denied.value.body)
        assert "istio-reader-service-account" in denied.value.body, what
    assert two.get_object("api/v1/pods", "default", pod) is not None
    assert two.get_object("api/v1/namespaces", "", "taken-over") is None
    assert two.get_object("api/v1/secrets", "kube-system", "planted") is None
    assert "taken" not in (two.get_object("api/v1/services", "default", "kubernetes")["metadata"].get("labels") or {})

    # removing the remote secret revokes this consumer's token on cluster2
    task["servicemesh.istio.istio_remote_secret"]["state"] = "absent"
    removed = run_playbook(playbook(tmp_path, mesh, [task]))
    assert removed.ok, removed.stdout[-4000:]
    # the API server caches a token's authentication for a few seconds, so RBAC (403) goes first
    assert wait_for(lambda: _refused_as(core.list_namespace) == 401, timeout=30), _refused_as(core.list_namespace)
