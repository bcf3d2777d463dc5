# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The labels and annotations the ``multicluster`` role puts on a control plane namespace, and takes back.

The role writes the cluster's network label (and, on a remote cluster, the annotation naming
the cluster that runs its control plane) with a plain patch: nothing records who wrote them.
On teardown it removes a key only while it still holds the value the role wrote; one that
someone changed since is theirs now and stays. The namespace itself always stays.

Pure: the ``multicluster_namespace_needs_update`` and ``multicluster_namespace_release`` filters are the adapters.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Sequence


def _metadata(namespaces: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    return (namespaces[0].get("metadata") or {}) if namespaces else {}


def lacks(live: Optional[Mapping[str, Any]], wanted: Mapping[str, Any]) -> bool:
    """Whether ``live`` misses one of ``wanted``'s keys or holds another value for it."""
    current = live or {}
    return any(key not in current or current[key] != value for key, value in wanted.items())


def needs_update(namespaces: Sequence[Mapping[str, Any]], labels: Optional[Mapping[str, Any]],
                 annotations: Optional[Mapping[str, Any]]) -> bool:
    """Whether the namespace as read (none: missing) must be created, or patched to hold ``labels`` and
    ``annotations``; false when it already does, so that a second run sends nothing."""
    metadata = _metadata(namespaces)
    return not namespaces or lacks(metadata.get("labels"), labels or {}) or \
        lacks(metadata.get("annotations"), annotations or {})


def still_ours(live: Optional[Mapping[str, Any]], written: Mapping[str, Any]) -> Dict[str, None]:
    """The keys of ``written`` that ``live`` still has with the same value, each to null (a merge patch removes it)."""
    current = live or {}
    return {key: None for key, value in written.items() if key in current and current[key] == value}


def release(namespaces: Sequence[Mapping[str, Any]], labels: Optional[Mapping[str, Any]],
            annotations: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """The merge patch's labels and annotations that take back ours, from the namespace as read (none: gone).

    ``needed`` says whether there is anything to take back, so that nothing is sent otherwise."""
    metadata = _metadata(namespaces)
    drop_labels = still_ours(metadata.get("labels"), labels or {})
    drop_annotations = still_ours(metadata.get("annotations"), annotations or {})
    return {"labels": drop_labels, "annotations": drop_annotations,
            "needed": bool(drop_labels or drop_annotations)}
