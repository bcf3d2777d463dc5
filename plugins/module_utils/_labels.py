# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Labels this collection puts on objects it did not create (namespaces, services, service accounts, pods).

Mesh enrolment (``istio.io/dataplane-mode``), discovery-selector labels and waypoint
use (``istio.io/use-waypoint``) are fields of the user's objects. Each unit applies
them with server-side apply under a field manager of its own, as a patch holding
just those labels. To take them back the unit applies the object again with no
labels: the API server then drops exactly the labels only this unit held, keeps
those another manager holds as well (the user set the same label), and the object
itself is never created or deleted.

The unit's inventory record lists the labelled objects (metadata ``labelled``), so
a later run un-labels objects it no longer lists, and a removal un-labels them all.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s import _inventory as inventory
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._apply import Applier, ObjectResult
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._fieldset import owned_fields
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._inventory import InventoryRecord, UnitKey
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._unit import UnitResult, remove_unit, sync_unit
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._waiter import Check

LABELS_UNIT = "labels"
LABELLED_KEY = "labelled"
MANAGER_PREFIX = "servicemesh.istio/"
MAX_MANAGER_LENGTH = 128
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


class LabelError(IstioError):
    """Labels that cannot be applied: bad syntax, a missing object, another owner's value."""


@dataclass
class LabelTarget:
    """One object and the labels this unit wants on it."""

    ref: ObjectRef
    labels: Dict[str, str] = field(default_factory=dict)

    def to_record(self) -> Dict[str, Any]:
        return dict(self.ref.to_record(), labels=dict(self.labels))

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> "LabelTarget":
        return cls(ObjectRef.from_record(record), dict(record.get("labels") or {}))


def namespace_ref(name: str) -> ObjectRef:
    return ObjectRef.of("v1", "Namespace", name)


def service_ref(name: str, namespace: str) -> ObjectRef:
    return ObjectRef.of("v1", "Service", name, namespace)


# The namespaced kinds a label set or a waypoint labels, by the option that lists them.
NAMESPACED_KINDS = {"services": "Service", "service_accounts": "ServiceAccount", "pods": "Pod"}


def namespaced_ref(kind: str, name: str, namespace: str) -> ObjectRef:
    return ObjectRef.of("v1", kind, name, namespace)


# -- input ----------------------------------------------------------------------------------------

def label_value(key: str, value: Any) -> str:
    """A label value as Kubernetes wants it; YAML's ``true`` becomes ``"true"``."""
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
        raise LabelError("label %s: value %r is not a valid label value (at most 63 characters, alphanumerics, "
                         "'-', '_', '.', starting and ending alphanumeric)" % (key, value))
    return value


def check_label_key(key: str) -> None:
    prefix, name = key.rpartition("/")[::2]
    if not _LABEL_NAME.match(name) or (prefix and (len(prefix) > 253 or not _LABEL_PREFIX.match(prefix))):
        raise LabelError("%r is not a valid label key (an optional DNS-subdomain prefix and '/', then a name of "
                         "at most 63 characters)" % key)


def clean_labels(labels: Optional[Mapping[str, Any]]) -> Dict[str, str]:
    cleaned = {}
    for key, value in (labels or {}).items():
        check_label_key(str(key))
        cleaned[str(key)] = label_value(str(key), value)
    return cleaned


def merge_targets(targets: Iterable[LabelTarget]) -> List[LabelTarget]:
    """One target per object, its labels merged; the same label wanted with two values is an error."""
    merged: Dict[ObjectRef, LabelTarget] = {}
    for target in targets:
        into = merged.setdefault(target.ref, LabelTarget(target.ref))
        for key, value in target.labels.items():
            if into.labels.get(key, value) != value:
                raise LabelError("%s: label %s is wanted both as %r and as %r"
                                 % (target.ref, key, into.labels[key], value))
            into.labels[key] = value
    return [target for target in merged.values() if target.labels]


# -- ownership ------------------------------------------------------------------------------------

def field_manager(key: UnitKey) -> str:
    """The unit's own field manager: one per unit, so units never take each other's labels away."""
    manager = "%s%s/%s/%s" % (MANAGER_PREFIX, key.kind, key.namespace, key.name)
    if len(manager) <= MAX_MANAGER_LENGTH:
        return manager
    digest = hashlib.sha256(manager.encode("utf-8")).hexdigest()[:16]
    return "%s%s/%s" % (MANAGER_PREFIX, key.kind, digest)


def owned_labels(live: Optional[Mapping[str, Any]], manager: str) -> List[str]:
    """The label keys ``manager`` holds on ``live`` through server-side apply."""
    fields = owned_fields(live, manager) or {}
    labels = (fields.get("f:metadata") or {}).get("f:labels") or {}
    return sorted(key[2:] for key in labels if key.startswith("f:"))


def _live_labels(live: Mapping[str, Any]) -> Dict[str, str]:
    return (live.get("metadata") or {}).get("labels") or {}


def _is_going(live: Optional[Mapping[str, Any]]) -> bool:
    return live is None or bool((live.get("metadata") or {}).get("deletionTimestamp"))


def read_targets(cluster: Any, targets: Sequence[LabelTarget], manager: str,
                 force_conflicts: bool = False) -> None:
    """Reads only: every object exists, and no label we want holds another owner's different value."""
    problems = []
    for target in targets:
        live = cluster.get(target.ref)
        if _is_going(live):
            problems.append("%s %s" % (target.ref, "is being deleted" if live else "doesn't exist"))
            continue
        ours = set(owned_labels(live, manager))
        current = _live_labels(live)
        for key, value in sorted(target.labels.items()):
            if key in current and current[key] != value and key not in ours and not force_conflicts:
                problems.append("%s already has %s=%s, set by someone else (wanted %s)"
                                % (target.ref, key, current[key], value))
    if problems:
        raise LabelError("cannot label: %s; labels are only added to existing objects, and another owner's value "
                         "is only replaced with force_conflicts" % "; ".join(problems))


# -- applying -------------------------------------------------------------------------------------

def _patch(ref: ObjectRef, labels: Mapping[str, str]) -> Dict[str, Any]:
    metadata: Dict[str, Any] = {"name": ref.name}
    if ref.namespace:
        metadata["namespace"] = ref.namespace
    if labels:
        metadata["labels"] = dict(labels)
    return {"apiVersion": ref.api_version, "kind": ref.kind, "metadata": metadata}


def apply_labels(cluster: Any, targets: Sequence[LabelTarget], manager: str,
                 options: lifecycle.Options) -> List[ObjectResult]:
    applier = Applier(cluster, manager, options.force_conflicts, options.check_mode)
    return list(applier.apply([_patch(t.ref, t.labels) for t in targets]).objects)


def release_labels(cluster: Any, refs: Iterable[ObjectRef], manager: str,
                   options: lifecycle.Options) -> List[ObjectResult]:
    """Give up our labels on ``refs``; objects that are gone or hold none of ours are left alone."""
    applier = Applier(cluster, manager, False, options.check_mode)
    results = []
    for ref in refs:
        live = cluster.get(ref)
        if _is_going(live) or not owned_labels(live, manager):
            continue
        results.extend(applier.apply([_patch(ref, {})]).objects)
    return results


# -- units ----------------------------------------------------------------------------------------

def recorded_targets(record: Optional[InventoryRecord]) -> List[LabelTarget]:
    if record is None:
        return []
    return [LabelTarget.from_record(item) for item in record.metadata.get(LABELLED_KEY) or []]


def _records(targets: Iterable[LabelTarget]) -> List[Dict[str, Any]]:
    return [target.to_record() for target in sorted(targets, key=lambda target: target.ref)]


def sync_labelled_unit(cluster: Any, key: UnitKey, objects: Sequence[Mapping[str, Any]],
                       targets: Sequence[LabelTarget], options: lifecycle.Options,
                       metadata: Optional[Mapping[str, Any]] = None,
                       checks: Sequence[Check] = ()) -> lifecycle.Outcome:
    """Apply the unit's own objects, wait for them, then label; un-label what is no longer listed.

    Call ``read_targets`` first. The record lists old and new labelled objects before any
    label is written, so a run that fails half-way still knows what it may have labelled."""
    manager = field_manager(key)
    previous = inventory.load(cluster, key.namespace, key.kind, key.name)
    before = recorded_targets(previous)
    wanted = {target.ref for target in targets}
    dropped = [target for target in before if target.ref not in wanted]
    outcome = lifecycle.Outcome()
    unit_metadata = dict(metadata or {}, **{LABELLED_KEY: _records(list(targets) + dropped)})
    synced = sync_unit(cluster, key, objects, metadata=unit_metadata, check_mode=options.check_mode,
                       force_conflicts=options.force_conflicts)
    outcome.results.append(synced)
    lifecycle.wait_for(cluster, list(checks), options)
    outcome.results.append(UnitResult(apply_labels(cluster, targets, manager, options), options.check_mode))
    outcome.results.append(UnitResult(release_labels(cluster, [t.ref for t in dropped], manager, options),
                                      options.check_mode))
    if dropped and synced.record is not None:
        final = inventory.merge_metadata(synced.record.metadata, {LABELLED_KEY: _records(targets)})
        record = InventoryRecord(key, synced.record.entries, synced.record.chart_version,
                                 synced.record.values_digest, final)
        saved = inventory.save(cluster, record, check_mode=options.check_mode)
        outcome.results.append(UnitResult([], options.check_mode, key=key, inventory_changed=saved))
    return outcome


def remove_labelled_unit(cluster: Any, key: UnitKey, options: lifecycle.Options) -> lifecycle.Outcome:
    """Un-label first (nothing routes to what is about to go), then delete what the unit created."""
    outcome = lifecycle.Outcome()
    record = inventory.load(cluster, key.namespace, key.kind, key.name)
    if record is None:
        return outcome
    refs = [target.ref for target in recorded_targets(record)]
    outcome.results.append(UnitResult(release_labels(cluster, refs, field_manager(key), options),
                                      options.check_mode))
    outcome.results.append(remove_unit(cluster, key, check_mode=options.check_mode, wait=options.wait,
                                       timeout=options.wait_timeout))
    return outcome


# -- the labels unit (istio_labels) ---------------------------------------------------------------

def targets_from_params(namespaces: Optional[Mapping[str, Any]],
                        services: Optional[Sequence[Mapping[str, Any]]],
                        service_accounts: Optional[Sequence[Mapping[str, Any]]] = None,
                        pods: Optional[Sequence[Mapping[str, Any]]] = None) -> List[LabelTarget]:
    targets = [LabelTarget(namespace_ref(str(name)), clean_labels(_label_map(labels, "namespaces.%s" % name)))
               for name, labels in (namespaces or {}).items()]
    for option, entries in (("services", services), ("service_accounts", service_accounts), ("pods", pods)):
        targets.extend(_namespaced_targets(option, entries or []))
    return merge_targets(targets)


def _namespaced_targets(option: str, entries: Sequence[Mapping[str, Any]]) -> List[LabelTarget]:
    targets = []
    for entry in entries:
        if not entry.get("name") or not entry.get("namespace"):
            raise LabelError("%s entries need a name and a namespace: %r" % (option, entry))
        where = "%s[%s/%s].labels" % (option, entry["namespace"], entry["name"])
        targets.append(LabelTarget(namespaced_ref(NAMESPACED_KINDS[option], entry["name"], entry["namespace"]),
                                   clean_labels(_label_map(entry.get("labels"), where))))
    return targets


def _label_map(labels: Any, where: str) -> Optional[Mapping[str, Any]]:
    if labels is not None and not isinstance(labels, Mapping):
        raise LabelError("%s must be a mapping of label keys to values, got %s %r"
                         % (where, type(labels).__name__, labels))
    return labels


def check_record_namespace(cluster: Any, key: UnitKey) -> None:
    if _is_going(cluster.get(namespace_ref(key.namespace))):
        raise LabelError("namespace %s, where the record of %s is kept, doesn't exist or is being deleted"
                         % (key.namespace, key))


def sync_labels(cluster: Any, key: UnitKey, targets: Sequence[LabelTarget],
                options: lifecycle.Options) -> lifecycle.Outcome:
    check_record_namespace(cluster, key)
    read_targets(cluster, targets, field_manager(key), options.force_conflicts)
    outcome = sync_labelled_unit(cluster, key, [], targets, options)
    outcome.facts = {"labelled": _records(targets)}
    return outcome
