# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a revision is in use anywhere in the mesh, not only on the cluster that runs it.

A control plane with ``EXTERNAL_ISTIOD`` serves remote clusters too: their
namespaces and pods use it through the remote revision of the same name. The
reference operator cannot see those clusters and so never prunes such a
revision. When every cluster of the mesh is reachable (a multi-cluster
inventory), usage is the union over all of them and pruning can go ahead.

Pure and free of the lifecycle module, so that the pruning code can import it.
"""
from __future__ import annotations

import copy
from typing import Any, Dict, Mapping

from ansible_collections.servicemesh.istio.plugins.module_utils._inuse import Usage
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import CLUSTER_ARG_SPEC

# The option a pruning module takes: the mesh's other clusters, each a name plus connection options.
MESH_CLUSTERS_ARG: Dict[str, Any] = {
    "type": "list", "elements": "dict",
    "options": dict(copy.deepcopy(CLUSTER_ARG_SPEC), name={"type": "str", "required": True}),
}


def mesh_usage(local: Usage, others: Mapping[str, Usage]) -> Usage:
    """``local`` plus the usage on other clusters, each name prefixed with its cluster."""
    merged = Usage(list(local.namespaces), list(local.pods), list(local.tags), local.by_default)
    for cluster, usage in sorted(others.items()):
        merged.namespaces += ["%s:%s" % (cluster, name) for name in usage.namespaces]
        merged.pods += ["%s:%s" % (cluster, name) for name in usage.pods]
        merged.tags += ["%s:%s" % (cluster, name) for name in usage.tags]
        merged.by_default = merged.by_default or usage.by_default
    return merged
