# -*- coding: utf-8 -*-
"""Usage of a revision across the clusters of a mesh."""
from __future__ import annotations

from ansible_collections.servicemesh.istio.plugins.module_utils._inuse import Usage, UsageIndex
from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster import meshusage

REVISION = "default-v1-29-6"


def ns(name, **labels):
    return {"metadata": {"name": name, "labels": labels}}


def across(local, **others):
    return meshusage.mesh_usage(local.usage(REVISION), {name: index.usage(REVISION) for name, index in others.items()})


def test_usage_elsewhere_counts_and_is_named_by_cluster():
    local = UsageIndex([ns("istio-system")], [])
    remote = UsageIndex([ns("apps", **{"istio.io/rev": REVISION})],
                        [{"metadata": {"name": "p", "namespace": "apps", "annotations": {"istio.io/rev": REVISION}}}])
    usage = across(local, cluster2=remote)
    assert usage.in_use
    assert usage.namespaces == ["cluster2:apps"] and usage.pods == ["cluster2:apps/p"]
    assert "namespace cluster2:apps" in usage.reasons()


def test_unused_everywhere():
    idle = UsageIndex([ns("apps", **{"istio.io/rev": "other"})], [])
    assert not across(idle, c2=idle, c3=idle).in_use


def test_merge_keeps_local_names_and_tags():
    merged = meshusage.mesh_usage(Usage(["a"], [], ["t"]), {"c3": Usage(tags=["x"]), "c2": Usage(by_default=True)})
    assert merged.namespaces == ["a"] and merged.tags == ["t", "c3:x"] and merged.by_default


def test_option_spec_names_each_cluster():
    spec = meshusage.MESH_CLUSTERS_ARG
    # an inline kubeconfig's credentials are masked by IstioModule; a path is not a secret
    assert spec["options"]["name"]["required"] and spec["options"]["kubeconfig"]["no_log"] is False
