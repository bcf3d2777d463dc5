# -*- coding: utf-8 -*-
"""playbooks/multicluster.yml on 3 real clusters: a cluster leaving the mesh one at a time, and the data
plane's options (the Istio CNI before the control plane, ingress and egress gateways following the control
plane's revision, the Gateway API CRDs), each set up, run again without writes, and removed.

Uses the ``Mesh`` helper and ``mesh_network`` fixture of test_multicluster.py (load balancer addresses,
the east-west forwarding of the webhooks).
"""
from __future__ import annotations

import os

import pytest
import yaml

from tests.helpers.ansible import ROOT
from tests.integration.test_multicluster import (KEPT_KINDS, KEPT_NAMES, Mesh, assert_no_change, assert_ok,
                                                 assert_remote_secret, revision_values)
from tests.integration.test_multicluster import mesh_network  # noqa: F401 (a fixture) pylint: disable=unused-import

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.usefixtures("mesh_network")]

GATEWAY_API = os.path.join(ROOT, "tests", "fixtures", "gateway-api", "standard-install.yaml")
# The Gateway API bundle is never removed by this collection (its admission policies are not CRDs).
GATEWAY_API_KINDS = {("admissionregistration.k8s.io", "validatingadmissionpolicies"),
                     ("admissionregistration.k8s.io", "validatingadmissionpolicybindings")}


def leftovers(mesh, name, kept=()):
    now = mesh.snapshot(name)
    assert mesh.baseline[name] - now == set(), "removal deleted what was there before on %s" % name
    return {item for item in now - mesh.baseline[name]
            if item[0] not in KEPT_KINDS | set(kept) and item[2] not in KEPT_NAMES}


class LeavingMesh(Mesh):
    """A Mesh whose inventory can mark hosts as leaving and set data-plane options per host."""

    def __init__(self, clusters, tmp_path, hosts):
        super().__init__(clusters, tmp_path, hosts)
        self.host_vars = {}

    def inventory(self, hosts=None):
        path = super().inventory(hosts)
        if self.host_vars:
            with open(path, encoding="utf-8") as handle:
                data = yaml.safe_load(handle)
            for host, extra in self.host_vars.items():
                data["all"]["hosts"][host].update(extra)
            with open(path, "w", encoding="utf-8") as handle:
                yaml.safe_dump(data, handle)
        return path


# -- one cluster leaves a multi-primary mesh -------------------------------------------------------

@pytest.mark.parametrize("k8s_clusters", [3], indirect=True)
def test_a_cluster_leaves_and_the_others_keep_each_other(k8s_clusters, tmp_path):
    mesh = LeavingMesh(k8s_clusters, tmp_path, {"east": ("cluster1", "primary", "network1"),
                                                "west": ("cluster2", "primary", "network1"),
                                                "north": ("cluster3", "primary", "network1")})
    assert_ok(mesh.play())
    for on in ("cluster1", "cluster2", "cluster3"):
        for of in {"cluster1", "cluster2", "cluster3"} - {on}:
            assert_remote_secret(mesh, on, of)

    # north leaves while a namespace there uses its control plane: refused, nothing written anywhere
    mesh.host_vars = {"north": {"istio_cluster_state": "absent"}}
    north = mesh.clusters["cluster3"]
    north.kubectl("create", "namespace", "shop")
    north.kubectl("label", "namespace", "shop", "istio-injection=enabled")
    marks = mesh.marks()
    refused = mesh.play()
    assert not refused.ok and "is in use and was not removed" in refused.stdout, refused.stdout[-3000:]
    assert mesh.writes_since(marks) == {name: [] for name in mesh.clusters}
    north.kubectl("delete", "namespace", "shop", "--wait=true", timeout=120)

    # check mode predicts the leave and writes nothing
    marks = mesh.marks()
    checked = mesh.play("--check")
    assert_ok(checked)
    assert mesh.writes_since(marks) == {name: [] for name in mesh.clusters}

    marks = mesh.marks()
    left = mesh.play()
    assert_ok(left)
    writes = mesh.writes_since(marks)
    # the staying clusters only lost what pointed at north, and north's tokens on them (leases aside)
    for name in ("cluster1", "cluster2"):
        changes = [(write[0], write[1]) for write in writes[name] if write[1] != "leases"]
        assert changes and {change[0] for change in changes} <= {"delete", "patch"}, writes[name]
        touched = {change[1] for change in changes}
        assert touched <= {"secrets", "configmaps", "serviceaccounts", "clusterroles", "clusterrolebindings"}, writes[name]
    assert_remote_secret(mesh, "cluster1", "cluster2")
    assert_remote_secret(mesh, "cluster2", "cluster1")
    for on in ("cluster1", "cluster2"):
        assert mesh.get(on, "v1", "Secret", "istio-remote-secret-cluster3", "istio-system") is None
        assert mesh.get(on, "apps/v1", "Deployment", "istiod", "istio-system") is not None
        assert mesh.get(on, "v1", "Secret", "cacerts", "istio-system") is not None
    # north is as it was before the mesh: no control plane, secrets, tokens or cacerts
    assert leftovers(mesh, "cluster3") == set()
    facts = left.result("servicemesh.istio.multicluster : Report the mesh", "north")
    assert facts["ansible_facts"]["istio_multicluster"]["state"] == "absent"

    # a second run with north still marked leaving changes nothing anywhere
    marks = mesh.marks()
    assert_no_change(mesh, mesh.play(), marks)

    # the rest of the mesh goes too
    assert_ok(mesh.play(extra={"istio_multicluster_state": "absent"}))
    for name in mesh.clusters:
        assert leftovers(mesh, name) == set(), name


# -- the data plane: CNI, ingress and egress gateways, Gateway API; a remote leaves ---------------------

@pytest.mark.parametrize("k8s_clusters", [3], indirect=True)
def test_data_plane_cni_gateways_and_gateway_api(k8s_clusters, tmp_path):
    mesh = LeavingMesh(k8s_clusters, tmp_path, {"primary": ("cluster1", "primary", "network1"),
                                                "remote-a": ("cluster2", "remote", "network1"),
                                                "remote-b": ("cluster3", "remote", "network1")})
    options = {"istio_multicluster_cni": True, "istio_ingress_gateway": True, "istio_egress_gateway": True,
               "istio_egress_gateway_values": {"replicaCount": 1},
               "istio_gateway_api_crds_file": GATEWAY_API}
    marks = mesh.marks()
    installed = mesh.play(extra=options)
    assert_ok(installed)

    for name in mesh.clusters:
        # the CNI went on before the control plane
        writes = [(write[1], write[3] or "") for write in mesh.writes_since(marks)[name]]
        cni_first = next(i for i, write in enumerate(writes) if write[0] == "daemonsets")
        revision_first = next(i for i, write in enumerate(writes) if write[1].startswith("servicemesh-istio-revision-"))
        assert cni_first < revision_first, (name, writes[:20])
        assert mesh.get(name, "apps/v1", "DaemonSet", "istio-cni-node", "istio-cni") is not None
        assert revision_values(mesh, name)["pilot"]["cni"]["enabled"] is True
        for preset, namespace, service_type in (("ingress", "istio-ingress", "LoadBalancer"),
                                                ("egress", "istio-egress", "ClusterIP")):
            deployment = mesh.get(name, "apps/v1", "Deployment", "istio-%sgateway" % preset, namespace)
            assert deployment is not None, (name, preset)
            # injected by the control plane's revision: "default" is the chart's default, no istio.io/rev label
            labels = deployment["spec"]["template"]["metadata"]["labels"]
            assert labels["sidecar.istio.io/inject"] == "true" and "istio.io/rev" not in labels, labels
            service = mesh.get(name, "v1", "Service", "istio-%sgateway" % preset, namespace)
            assert service["spec"]["type"] == service_type
        assert mesh.get(name, "apiextensions.k8s.io/v1", "CustomResourceDefinition",
                        "gateways.gateway.networking.k8s.io") is not None

    marks = mesh.marks()
    assert_no_change(mesh, mesh.play(extra=options), marks)

    # remote-b leaves: its gateways, CNI and remote profile go, the primary drops its secret
    mesh.host_vars = {"remote-b": {"istio_cluster_state": "absent"}}
    assert_ok(mesh.play(extra=options))
    assert leftovers(mesh, "cluster3", kept=GATEWAY_API_KINDS) == set()
    assert mesh.get("cluster1", "v1", "Secret", "istio-remote-secret-cluster3", "istio-system") is None
    assert_remote_secret(mesh, "cluster1", "cluster2")
    assert mesh.get("cluster2", "apps/v1", "DaemonSet", "istio-cni-node", "istio-cni") is not None
    assert mesh.get("cluster2", "apps/v1", "Deployment", "istio-ingressgateway", "istio-ingress") is not None
    marks = mesh.marks()
    assert_no_change(mesh, mesh.play(extra=options), marks)

    assert_ok(mesh.play(extra=dict(options, istio_multicluster_state="absent")))
    for name in mesh.clusters:
        assert leftovers(mesh, name, kept=GATEWAY_API_KINDS) == set(), name
