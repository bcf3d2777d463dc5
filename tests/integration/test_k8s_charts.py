# -*- coding: utf-8 -*-
"""The adapter with real rendered Istio objects (fixture charts) on the real control plane: install, re-run,
upgrade render, remove."""
from __future__ import annotations

import os

import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils._charts import ChartSource, ChartSourceOptions
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import builtin_catalog
from ansible_collections.servicemesh.istio.plugins.module_utils._manifest import (
    ControlPlane, ManifestRenderer, plan_revision)
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._apply import Applier
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import connect
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._inventory import UnitKey
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._unit import remove_unit, sync_unit

pytestmark = pytest.mark.integration

CHARTS = os.path.join(os.path.dirname(__file__), "..", "fixtures", "charts")
NAMESPACE = "istio-system"


@pytest.fixture(scope="module")
def rendered():
    renderer = ManifestRenderer(ChartSource(ChartSourceOptions(chart_dir=CHARTS)))
    plan = plan_revision(ControlPlane(name="k8s-adapter", version="v1.30.3", strategy="RevisionBased"),
                         builtin_catalog())

    def render(is_upgrade):
        return (list(renderer.base(plan, include_crds=True, default_revision=None).objects)
                + list(renderer.istiod(plan, is_upgrade=is_upgrade).objects))
    return render


def test_istiod_install_rerun_upgrade_render_and_remove(k8s_cluster, rendered):
    kubeapi = k8s_cluster
    cluster = connect({"kubeconfig": kubeapi.kubeconfig, "context": kubeapi.context})
    Applier(cluster).apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}])
    key = UnitKey("revision", "k8s-adapter", NAMESPACE)
    objects = rendered(is_upgrade=False)
    first = sync_unit(cluster, key, objects, metadata={"version": "1.30.3"})
    assert first.changed and len(first.objects) == len(objects)
    assert [r.ref.kind for r in first.objects][0] == "CustomResourceDefinition"
    assert [r.ref.kind for r in first.objects][-1].endswith("WebhookConfiguration")

    since = kubeapi.last_request()
    again = sync_unit(cluster, key, objects, metadata={"version": "1.30.3"})
    upgrade = sync_unit(cluster, key, rendered(is_upgrade=True), metadata={"version": "1.30.3"})
    assert not again.changed and not upgrade.changed
    assert kubeapi.writes(since) == []
    reads = [e for e in kubeapi.requests(since) if e["verb"] in ("get", "list")]
    dry_runs = [e for e in kubeapi.requests(since) if e["dry_run"]]
    # one read per object, fewer with LISTs; dry runs only where the server rewrites values inside our fields:
    # defaulted webhook rules, and istiod's memory request 2048Mi that the API server stores as 2Gi
    assert len(reads) <= 2 * (len(objects) + 1)
    assert {e["resource"] for e in dry_runs} <= {"mutatingwebhookconfigurations", "validatingwebhookconfigurations",
                                                 "deployments"}

    # CRDs too, so the shared server is left as it was (CRDs that were there before are only adopted)
    adopted = {r.ref for r in first.objects if r.existed}
    removed = remove_unit(cluster, key, wait=True, timeout=30, delete_crds=True)
    assert {r.ref for r in removed.objects if r.action == "released"} == adopted
    for result in removed.objects:
        if result.ref not in adopted:
            assert cluster.get(result.ref) is None, result.ref
    assert cluster.get(ObjectRef.of("v1", "ConfigMap", key.configmap_name, NAMESPACE)) is None
