# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The STATUS and IN USE columns of the reference operator's resources, from what a run reads.

The reference derives a resource's state from its conditions in a fixed order: the reason of the
first one that is not true, else ``Healthy``. A revision's order is Reconciled, Ready,
DependenciesHealthy (InUse does not count); a tag's is Reconciled, InUse, so an unused tag shows
``NotReferencedByAnything``. Here a unit is "reconciled" when its record is complete: one still in
progress is what a failed or killed run left behind.
"""
from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Tuple

from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._inventory import InventoryRecord

HEALTHY = "Healthy"
RECONCILE_ERROR = "ReconcileError"
NAME_ALREADY_EXISTS = "NameAlreadyExists"
REF_NOT_FOUND = "RefNotFound"
REFERENCED = "ReferencedByWorkloads"
NOT_REFERENCED = "NotReferencedByAnything"


def in_use_reason(in_use: bool) -> str:
    return REFERENCED if in_use else NOT_REFERENCED


def reconcile_problem(record: InventoryRecord, clashes: Iterable[Tuple[str, str, str]]) -> Optional[str]:
    """Why the unit is not reconciled: a run left it half done, or an older unit holds its name."""
    if (record.key.kind, record.key.namespace, record.key.name) in set(clashes):
        return NAME_ALREADY_EXISTS
    return RECONCILE_ERROR if record.in_progress else None


def revision_state(reconcile: Optional[str], ready: bool, remote: bool, dependency_problem: str) -> str:
    if reconcile:
        return reconcile
    if not ready:
        return "RemoteIstiodNotReady" if remote else "IstiodNotReady"
    return dependency_problem or HEALTHY


def tag_state(reconcile: Optional[str], target_found: bool, in_use: bool) -> str:
    if reconcile:
        return reconcile
    if not target_found:
        return REF_NOT_FOUND
    return HEALTHY if in_use else NOT_REFERENCED


def name_clashes(revisions: List[InventoryRecord], tags: List[InventoryRecord]) -> List[Tuple[str, str, str]]:
    """Units sharing a name across revisions and tags: the younger of each pair, as (kind, namespace, name).

    Both would answer to ``istio.io/rev=<name>``; as in the reference, the older one keeps the name."""
    by_name: Dict[str, List[InventoryRecord]] = {}
    for record in revisions + tags:
        by_name.setdefault(record.key.name, []).append(record)
    younger = []
    for records in by_name.values():
        if len({r.key.kind for r in records}) < 2:
            continue
        oldest = min(records, key=lambda r: (r.created or "~", r.key.kind))
        younger += [(r.key.kind, r.key.namespace, r.key.name) for r in records if r is not oldest]
    return sorted(younger)
