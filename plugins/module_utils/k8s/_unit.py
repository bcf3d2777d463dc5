# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Installing, updating and removing one unit (a revision, a tag, the CNI, ...).

``sync_unit`` applies what the unit renders now, prunes what it rendered last
time and no longer does (only objects we created), and records the result in
the unit's inventory. ``remove_unit`` deletes exactly what the inventory says
we created. Adopted objects (there before us) are released, never deleted;
CRDs and Namespaces are never deleted unless asked, because everything in them
(users' custom resources, workloads) would go too.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, List, Mapping, Optional, Tuple

from ansible_collections.servicemesh.istio.plugins.module_utils.k8s import _inventory as inventory
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._apply import (
    CREATED, DEFAULT_FIELD_MANAGER, RELEASED, Applier, ObjectResult, ReadState, ResultSet)
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._errors import K8sError
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._inventory import (
    InventoryEntry, InventoryRecord, UnitKey)
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import (
    ObjectRef, stable_digest)


@dataclass
class UnitResult(ResultSet):
    key: Optional[UnitKey] = None
    inventory_changed: bool = False
    record: Optional[InventoryRecord] = None  # as saved (None after a removal)

    @property
    def changed(self) -> bool:
        return self.inventory_changed or super().changed


def _is_protected(ref: ObjectRef, delete_crds: bool, delete_namespaces: bool) -> bool:
    if ref.is_crd:
        return not delete_crds
    if ref.kind == "Namespace" and not ref.group:
        return not delete_namespaces
    return False


def _released(ref: ObjectRef, note: str) -> ObjectResult:
    return ObjectResult(ref, RELEASED, existed=True, note=note)


class _Recorder:
    """Saves the unit's inventory with this run's chart version, values digest and metadata."""

    def __init__(self, cluster: Any, key: UnitKey, previous: Optional[InventoryRecord],
                 chart_version: str = "", values: Any = None,
                 metadata: Optional[Mapping[str, Any]] = None, check_mode: bool = False) -> None:
        self.cluster, self.key, self.previous, self.check_mode = cluster, key, previous, check_mode
        base = previous or InventoryRecord(key)
        self.chart_version = chart_version or base.chart_version
        self.values_digest = stable_digest(values) if values is not None else base.values_digest
        self.metadata = inventory.merge_metadata(base.metadata, metadata)

    def save(self, entries: List[InventoryEntry], in_progress: bool = False) -> Tuple[InventoryRecord, bool]:
        phase = "" if not in_progress else (inventory.UPGRADING if inventory.was_installed(self.previous)
                                            else inventory.INSTALLING)
        record = InventoryRecord(self.key, entries, self.chart_version, self.values_digest, self.metadata, phase)
        changed = inventory.save(self.cluster, record, previous=self.previous, check_mode=self.check_mode)
        if changed and not self.check_mode:
            self.previous = record
        return record, changed

    def save_intent(self, entries: List[InventoryEntry]) -> None:
        """Before the first write: every object the run may create, so a killed run is still undone."""
        if not self.check_mode and _differ(entries, self.previous.entries if self.previous else []):
            self.save(entries, in_progress=True)

    def save_after_failure(self, entries: List[InventoryEntry], exc: K8sError) -> None:
        """Record what a failed run left behind; the caller re-raises ``exc``, which stays the error shown."""
        if self.check_mode or exc.partial is None or not any(result.changed for result in exc.partial.objects):
            return  # nothing was written (a refusal before the first write): nothing to record
        try:
            self.save(entries, in_progress=True)
        except K8sError as also:
            exc.args = ("%s (and its inventory %s could not be saved: %s)" % (exc, self.key, also),)


def _done_refs(exc: K8sError) -> set:
    return {r.ref for r in exc.partial.objects} if exc.partial is not None else set()


def sync_unit(cluster: Any, unit_key: UnitKey, objects: Iterable[Mapping[str, Any]],
              metadata: Optional[Mapping[str, Any]] = None, check_mode: bool = False,
              force_conflicts: bool = False, prune: bool = True, chart_version: str = "",
              values: Any = None, field_manager: str = DEFAULT_FIELD_MANAGER,
              applier: Optional[Applier] = None) -> UnitResult:
    """Apply the unit's objects, prune what it no longer renders, save its inventory.

    ``metadata`` is merged into the stored metadata (a None value removes a
    key); ``values`` is only stored as a digest. On failure the objects created
    so far are still recorded, so a later run or removal knows they are ours.
    """
    applier = applier or Applier(cluster, field_manager, force_conflicts, check_mode,
                                 default_namespace=unit_key.namespace)
    previous = inventory.load(cluster, unit_key.namespace, unit_key.kind, unit_key.name)
    recorder = _Recorder(cluster, unit_key, previous, chart_version, values, metadata, check_mode)
    before = list(previous.entries) if previous else []
    state = applier.read(objects)
    state.recorded = {entry.ref: entry.applied for entry in before if entry.applied}
    intent = _intended_entries(before, state)
    recorder.save_intent(intent)
    try:
        applied = applier.apply(objects, state).objects
    except K8sError as exc:
        created = [r.ref for r in (exc.partial.objects if exc.partial else []) if r.action == CREATED]
        recorder.save_after_failure(_merge_entries(intent, _entries(created)), exc)
        raise
    result = UnitResult(list(applied), check_mode, key=unit_key)

    entries = _entries_after_apply(InventoryRecord(unit_key, intent), applied)
    rendered = {entry.ref for entry in entries}
    kept, releases, doomed = _sort_dropped([e for e in before if e.ref not in rendered], prune)
    result.objects.extend(releases)
    try:
        result.objects.extend(applier.delete(doomed).objects)
    except K8sError as exc:
        gone = _done_refs(exc)
        recorder.save_after_failure(entries + kept + [e for e in _entries(doomed) if e.ref not in gone], exc)
        raise
    result.record, result.inventory_changed = recorder.save(entries + kept)
    return result


def _intended_entries(before: List[InventoryEntry], state: ReadState) -> List[InventoryEntry]:
    """The record before the first write: what it had, plus each rendered object, ours if it is
    missing now (this run creates it) or was ours already."""
    known = {entry.ref: entry for entry in before}
    missing = set(state.missing)
    for item in state.items:
        ours = item.ref in missing or (item.ref in known and known[item.ref].created)
        known[item.ref] = InventoryEntry(item.ref, ours, known[item.ref].applied if item.ref in known else "")
    return list(known.values())


def _differ(entries: List[InventoryEntry], recorded: List[InventoryEntry]) -> bool:
    return set(entries) != set(recorded)


def _merge_entries(entries: List[InventoryEntry], more: List[InventoryEntry]) -> List[InventoryEntry]:
    known = {entry.ref for entry in entries}
    return entries + [entry for entry in more if entry.ref not in known]


def _entries_after_apply(previous: Optional[InventoryRecord],
                         applied: Iterable[ObjectResult]) -> List[InventoryEntry]:
    entries = []
    for applied_object in applied:
        before = previous.entry(applied_object.ref) if previous else None
        # once ours, always ours; otherwise ours only if this run created it
        created = (before is not None and before.created) or applied_object.action == CREATED
        applied = applied_object.fingerprint or (before.applied if before is not None else "")
        entries.append(InventoryEntry(applied_object.ref, created, applied))
    return entries


def _sort_dropped(dropped: List[InventoryEntry], prune: bool
                  ) -> Tuple[List[InventoryEntry], List[ObjectResult], List[ObjectRef]]:
    """Split objects no longer rendered into (still recorded, released, to delete)."""
    kept, releases, doomed = [], [], []
    for entry in dropped:
        if not entry.created:
            releases.append(_released(entry.ref, "adopted: no longer managed, left in place"))
        elif _is_protected(entry.ref, False, False):
            releases.append(_released(entry.ref, "no longer rendered; %ss are never pruned" % entry.ref.kind))
        elif prune:
            doomed.append(entry.ref)
        else:
            kept.append(entry)
    return kept, releases, doomed


def _entries(refs: Iterable[ObjectRef]) -> List[InventoryEntry]:
    return [InventoryEntry(ref, True) for ref in refs]


def remove_unit(cluster: Any, unit_key: UnitKey, check_mode: bool = False, delete_crds: bool = False,
                delete_namespaces: bool = False, wait: bool = False, timeout: float = 120.0,
                applier: Optional[Applier] = None) -> UnitResult:
    """Delete what the unit created (reverse apply order), then its inventory.

    Adopted objects, and CRDs and Namespaces unless asked, are released.
    Without an inventory there is nothing to do.
    """
    result = UnitResult(check_mode=check_mode, key=unit_key)
    record = inventory.load(cluster, unit_key.namespace, unit_key.kind, unit_key.name)
    if record is None:
        return result
    applier = applier or Applier(cluster, check_mode=check_mode, default_namespace=unit_key.namespace)
    doomed = []
    for entry in record.entries:
        if not entry.created:
            result.objects.append(_released(entry.ref, "adopted: left in place"))
        elif _is_protected(entry.ref, delete_crds, delete_namespaces):
            result.objects.append(_released(entry.ref, "%ss are only deleted when asked" % entry.ref.kind))
        else:
            doomed.append(entry.ref)
    try:
        deleted = applier.delete(doomed, wait=wait, timeout=timeout)
    except K8sError as exc:
        gone = _done_refs(exc)
        _Recorder(cluster, unit_key, record, check_mode=check_mode).save_after_failure(
            [entry for entry in record.entries if entry.ref not in gone], exc)
        raise
    result.objects.extend(deleted.objects)
    result.inventory_changed = inventory.delete(cluster, record, check_mode=check_mode)
    return result
