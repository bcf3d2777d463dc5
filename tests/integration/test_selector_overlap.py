"""Several meshes through the control_plane role (playbooks/install.yml): a namespace both meshes select is
refused before any write, naming the role's variable; istio_allow_selector_overlap lets it through."""
import os

import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils.k8s import _inventory as inventory
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import connect
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._inventory import InventoryRecord, UnitKey
from tests.helpers.ansible import ROOT, run_playbook

pytestmark = pytest.mark.integration
CHARTS = os.path.join(ROOT, "tests", "fixtures", "charts")
INSTALL = os.path.join(ROOT, "playbooks", "install.yml")


def create_namespace(cluster, name, labels):
    status, _unused, body = cluster.http("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                                        "metadata": {"name": name, "labels": labels}})
    assert status == 201, body


def install(cluster, **extra):
    extra_vars = {"istio_kubeconfig": cluster.kubeconfig, "istio_context": cluster.context, "istio_chart_dir": CHARTS,
                  "istio_name": "mesh1", "istio_namespace": "istio-mesh1", "istio_version": "v1.30.3",
                  "istio_values": {"meshConfig": {"discoverySelectors": [{"matchLabels": {"istio-discovery": "mesh1"}}]}}}
    extra_vars.update(extra)
    return run_playbook(INSTALL, extra_vars, args=["--check"])


def test_role_refuses_a_namespace_both_meshes_select_unless_allowed(k8s_cluster):
    cluster = k8s_cluster
    create_namespace(cluster, "istio-mesh1", {"istio-discovery": "mesh1"})
    create_namespace(cluster, "shop", {"team": "a"})
    create_namespace(cluster, "istio-other", {"team": "b"})
    # another mesh, selecting team=a: it could share a namespace with mesh1, but none is shared yet
    record = InventoryRecord(UnitKey("revision", "other", "istio-other"), metadata={
        "controlPlane": "other", "version": "v1.30.3",
        "values": {"meshConfig": {"discoverySelectors": [{"matchLabels": {"team": "a"}}]}}})
    inventory.save(connect({"kubeconfig": cluster.kubeconfig, "context": cluster.context}), record)

    since = cluster.last_request()
    could = install(cluster)
    assert could.ok, could.stdout[-3000:]

    status, _unused, body = cluster.http("PATCH", "/api/v1/namespaces/shop", {"metadata": {"labels": {
        "istio-discovery": "mesh1"}}}, headers={"Content-Type": "application/merge-patch+json"})
    assert status == 200, body
    since = cluster.last_request()
    refused = install(cluster)
    output = refused.stdout + refused.stderr
    assert not refused.ok and "both select namespaces shop" in output, output[-3000:]
    assert "istio_allow_selector_overlap: true" in output
    assert cluster.writes(since) == []

    allowed = install(cluster, istio_allow_selector_overlap=True)
    assert allowed.ok, allowed.stdout[-3000:]
    assert cluster.writes(since) == []
