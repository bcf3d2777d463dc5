# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What each installed unit put into the cluster, kept in the cluster.

One ConfigMap per unit (a revision, a tag, the CNI, ztunnel, a gateway, ...)
in the unit's namespace, named ``servicemesh-istio-<kind>-<name>``. It lists
the objects the unit applied and, for each, whether this collection created it
(ours to delete) or found it already there (adopted: released, never deleted).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._errors import InvalidObject
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef, canonical_json
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._snapshot import RECORD_LABEL, snapshot_of

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "servicemesh.istio"
INVENTORY_LABEL = RECORD_LABEL  # "servicemesh.istio/inventory"
UNIT_KIND_LABEL = "servicemesh.istio/unit-kind"
UNIT_LABEL = "servicemesh.istio/unit"
NAME_PREFIX = "servicemesh-istio-"
FORMAT_VERSION = "1"
INVENTORY_FIELD_MANAGER = "servicemesh.istio"
IN_PROGRESS_KEY = "inProgress"
INSTALLING, UPGRADING = "install", "upgrade"

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


@dataclass(frozen=True)
class UnitKey:
    """Which unit: its kind (``revision``, ``tag``, ...), name and the namespace holding its record."""

    kind: str
    name: str
    namespace: str

    def __post_init__(self) -> None:
        validate_unit_key(self)

    @property
    def configmap_name(self) -> str:
        return "%s%s-%s" % (NAME_PREFIX, self.kind, self.name)

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef.of("v1", "ConfigMap", self.configmap_name, self.namespace)

    def __str__(self) -> str:
        return "%s %s (namespace %s)" % (self.kind, self.name, self.namespace)


def validate_unit_key(key: UnitKey) -> None:
    if not key.kind or not _DNS_LABEL.match(key.kind) or len(key.kind) > 63:
        raise InvalidObject("unit kind %r must be a DNS label (lowercase, digits, '-'; at most 63)" % key.kind)
    if not key.name or len(key.name) > 63 or not _LABEL_VALUE.match(key.name):
        raise InvalidObject("unit name %r must be a valid label value (at most 63 characters, "
                            "alphanumerics, '-', '_', '.', starting and ending alphanumeric)" % key.name)
    if not key.namespace or not _DNS_LABEL.match(key.namespace) or len(key.namespace) > 63:
        raise InvalidObject("namespace %r of unit %s %s is not a valid namespace name"
                            % (key.namespace, key.kind, key.name))
    name = "%s%s-%s" % (NAME_PREFIX, key.kind, key.name)
    if len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
        raise InvalidObject("inventory name %r for unit %s %s is not a valid object name "
                            "(lowercase DNS subdomain, at most 253 characters)" % (name, key.kind, key.name))


@dataclass(frozen=True)
class InventoryEntry:
    ref: ObjectRef
    created: bool  # True: we created it; False: it already existed (adopted)
    # ``_fieldset.applied_fingerprint`` of our last write of the object: while the live object still shows
    # it, the next run knows the object unchanged without a dry run. Not part of the entry's identity.
    applied: str = field(default="", compare=False)

    def to_record(self) -> Dict[str, Any]:
        record = dict(self.ref.to_record(), created=self.created)
        if self.applied:
            record["applied"] = self.applied
        return record


@dataclass
class InventoryRecord:
    key: UnitKey
    entries: List[InventoryEntry] = field(default_factory=list)
    chart_version: str = ""
    values_digest: str = ""
    metadata: Dict[str, Any] = field(default_factory=dict)
    # Set before a run's first object write, cleared when the unit is complete; a record still in
    # progress is what a run that was killed or failed left behind. INSTALLING: no run had completed
    # the unit before; UPGRADING: one had.
    in_progress: str = ""
    created: str = ""  # the record's creationTimestamp: when the unit was first installed

    @property
    def installed(self) -> bool:
        """A run completed this unit once (so rendering it again is a Helm upgrade, not an install)."""
        return self.in_progress != INSTALLING

    def entry(self, ref: ObjectRef) -> Optional[InventoryEntry]:
        for entry in self.entries:
            if entry.ref == ref:
                return entry
        return None

    @property
    def created_refs(self) -> List[ObjectRef]:
        return [entry.ref for entry in self.entries if entry.created]

    @property
    def adopted_refs(self) -> List[ObjectRef]:
        return [entry.ref for entry in self.entries if not entry.created]

    def data(self) -> Dict[str, str]:
        """The ConfigMap data: every value a string, in a canonical form."""
        entries = sorted(self.entries, key=lambda entry: entry.ref)
        return {
            "formatVersion": FORMAT_VERSION,
            "objects": canonical_json([entry.to_record() for entry in entries]),
            "chartVersion": self.chart_version or "",
            "valuesDigest": self.values_digest or "",
            "metadata": canonical_json(self.metadata or {}),
            **({IN_PROGRESS_KEY: self.in_progress} if self.in_progress else {}),
        }

    def labels(self) -> Dict[str, str]:
        return {MANAGED_BY_LABEL: MANAGED_BY, INVENTORY_LABEL: "true",
                UNIT_KIND_LABEL: self.key.kind, UNIT_LABEL: self.key.name}

    def to_configmap(self) -> Dict[str, Any]:
        return {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": self.key.configmap_name, "namespace": self.key.namespace,
                             "labels": self.labels()},
                "data": self.data()}

    @classmethod
    def from_configmap(cls, configmap: Mapping[str, Any]) -> "InventoryRecord":
        metadata = configmap.get("metadata") or {}
        labels = metadata.get("labels") or {}
        data = configmap.get("data") or {}
        where = "inventory %s/%s" % (metadata.get("namespace"), metadata.get("name"))
        try:
            key = UnitKey(labels[UNIT_KIND_LABEL], labels[UNIT_LABEL], metadata["namespace"])
            entries = [InventoryEntry(ObjectRef.from_record(item), bool(item.get("created")),
                                      str(item.get("applied") or ""))
                       for item in json.loads(data.get("objects") or "[]")]
            extra = json.loads(data.get("metadata") or "{}")
            if data.get(IN_PROGRESS_KEY, "") not in ("", INSTALLING, UPGRADING):
                raise ValueError("%s is %r" % (IN_PROGRESS_KEY, data[IN_PROGRESS_KEY]))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidObject("%s is damaged (%s); fix or delete it" % (where, exc)) from exc
        return cls(key, entries, data.get("chartVersion", ""), data.get("valuesDigest", ""), extra,
                   data.get(IN_PROGRESS_KEY, ""), metadata.get("creationTimestamp") or "")


def was_installed(record: Optional[InventoryRecord]) -> bool:
    return record is not None and record.installed


def load(cluster: Any, namespace: str, kind: str, name: str) -> Optional[InventoryRecord]:
    """The unit's record, or None if it has none (or its namespace is missing); from the run's snapshot
    of every record when the cluster keeps one."""
    ref = UnitKey(kind, name, namespace).ref
    snapshot = snapshot_of(cluster)
    configmap = snapshot.record(ref) if snapshot else cluster.get(ref)
    return InventoryRecord.from_configmap(configmap) if configmap else None


def list_records(cluster: Any, kind: Optional[str] = None,
                 namespace: Optional[str] = None) -> List[InventoryRecord]:
    """All records (of one unit kind, in one namespace or across all), in a stable order."""
    snapshot = snapshot_of(cluster)
    if snapshot is not None:
        configmaps = [cm for cm in snapshot.records() if _selected(cm, kind, namespace)]
    else:
        selector = "%s=true" % INVENTORY_LABEL
        if kind:
            selector += ",%s=%s" % (UNIT_KIND_LABEL, kind)
        configmaps = cluster.list("v1", "ConfigMap", namespace=namespace, label_selector=selector)
    records = [InventoryRecord.from_configmap(cm) for cm in configmaps]
    return sorted(records, key=lambda record: (record.key.kind, record.key.namespace, record.key.name))


def _selected(configmap: Mapping[str, Any], kind: Optional[str], namespace: Optional[str]) -> bool:
    metadata = configmap.get("metadata") or {}
    return (not kind or (metadata.get("labels") or {}).get(UNIT_KIND_LABEL) == kind) \
        and (not namespace or metadata.get("namespace") == namespace)


_UNREAD: Any = object()


def save(cluster: Any, record: InventoryRecord, previous: Any = _UNREAD, check_mode: bool = False) -> bool:
    """Store the record; no write when nothing changed. Returns whether it changed.

    ``previous``: the record as loaded earlier in this run, or None if there
    was none (saves a GET); by default it is read from the cluster.
    """
    if previous is _UNREAD:
        previous = load(cluster, record.key.namespace, record.key.kind, record.key.name)
    if previous is not None and previous.data() == record.data():
        return False
    if not check_mode:
        cluster.apply(record.to_configmap(), INVENTORY_FIELD_MANAGER)
    return True


def delete(cluster: Any, record: InventoryRecord, check_mode: bool = False) -> bool:
    """Delete the record; returns whether there was one to delete."""
    if check_mode:
        snapshot = snapshot_of(cluster)
        return (snapshot.record(record.key.ref) if snapshot else cluster.get(record.key.ref)) is not None
    return cluster.delete(record.key.ref)


def merge_metadata(current: Mapping[str, Any], changes: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """``current`` updated with ``changes``; a None value removes the key."""
    merged = dict(current or {})
    for key, value in (changes or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


# The name the API promises; bound last so nothing in this module sees it instead of the builtin.
list = list_records  # noqa: A001 pylint: disable=redefined-builtin
