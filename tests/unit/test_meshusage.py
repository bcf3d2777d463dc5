# -*- coding: utf-8 -*-
"""Usage of a revision across the clusters of a mesh."""
from __future__ import annotations

from ansible_collections.servicemesh.istio.plugins.module_utils._inuse import Usage, UsageIndex
from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster import meshusage
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._inventory import InventoryRecord, UnitKey


def ns(name, **labels):
    return {"metadata": {"name": name, "labels": labels}}


def record(name="default-v1-29-6"):
    return InventoryRecord(UnitKey("revision", name, "istio-system"), metadata={"values": {}})


def test_usage_elsewhere_counts_and_is_named_by_cluster():
    local = UsageIndex([ns("istio-system")], [])
    remote = UsageIndex([ns("apps", **{"istio.io/rev": "default-v1-29-6"})],
                        [{"metadata": {"name": "p", "namespace": "apps",
                                       "annotations": {"istio.io/rev": "default-v1-29-6"}}}])
    usage = meshusage.revision_mesh_usage(local, {"cluster2": remote}, record())
    assert usage.in_use
    assert usage.namespaces == ["cluster2:apps"] and usage.pods == ["cluster2:apps/p"]


def test_unused_everywhere():
    idle = UsageIndex([ns("apps", **{"istio.io/rev": "other"})], [])
    assert not meshusage.revision_mesh_usage(idle, {"c2": idle, "c3": idle}, record()).in_use


def test_merge_keeps_local_names_and_tags():
    merged = meshusage.mesh_usage(Usage(["a"], [], ["t"]), {"c3": Usage(tags=["x"]), "c2": Usage(by_default=True)})
    assert merged.namespaces == ["a"] and merged.tags == ["t", "c3:x"] and merged.by_default


def test_option_spec_names_each_cluster():
    spec = meshusage.MESH_CLUSTERS_ARG
    assert spec["options"]["name"]["required"] and spec["options"]["kubeconfig"]["no_log"]
