# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One run's view of the cluster: every inventory record listed once, every object read at most once.

A ``Cluster`` keeps one ``Snapshot`` (``cluster.snapshot``) and tells it of each of its own writes, so
what the snapshot answers stays what the cluster holds as far as this run is concerned: the run holds
its scope's lease before its first write, and a run that finds another run changed the scope meanwhile
(``StaleRun``) starts again from an empty snapshot. Only decisions read through it (the records, the
objects an apply starts from, the CRDs' versions, the namespace); waits and leases always ask the API
server.

Reads are grouped: the records are one LIST of ConfigMaps by their label across namespaces; the objects
of one apply are one LIST per kind and namespace (cluster-scoped kinds: one LIST) where two or more of
them are wanted, else one GET each, all sent together.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef, copy_json
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._parallel import in_parallel

RECORD_LABEL = "servicemesh.istio/inventory"
# At least this many wanted objects of one kind in one namespace (or cluster-wide) are read with one LIST.
LIST_THRESHOLD = 2

Group = Tuple[str, str, str]  # (group, kind, namespace)


def group_of(ref: ObjectRef) -> Group:
    return ref.group, ref.kind, ref.namespace


def plan_reads(refs: Iterable[ObjectRef], known: Set[ObjectRef], listed: Set[Group],
               threshold: int = LIST_THRESHOLD) -> Tuple[List[Tuple[str, str, str]], List[ObjectRef]]:
    """Which LISTs (api_version, kind, namespace) and which GETs read ``refs`` that are not known yet.

    Pure: the same refs, known objects and listed groups always give the same requests."""
    wanted: Dict[Group, List[ObjectRef]] = {}
    for ref in dict.fromkeys(refs):
        if ref not in known and group_of(ref) not in listed:
            wanted.setdefault(group_of(ref), []).append(ref)
    lists, gets = [], []
    for (_unused, kind, namespace), members in wanted.items():
        if len(members) >= threshold:
            lists.append((members[0].api_version, kind, namespace))
        else:
            gets.extend(members)
    return lists, gets


def is_record(obj: Optional[Dict[str, Any]]) -> bool:
    return (((obj or {}).get("metadata") or {}).get("labels") or {}).get(RECORD_LABEL) == "true"


class Snapshot:
    """Reads of one cluster for one run (see the module docstring); ``cluster`` has ``get`` and ``list``."""

    def __init__(self, cluster: Any, threshold: int = LIST_THRESHOLD) -> None:
        self.cluster = cluster
        self.threshold = threshold
        self._objects: Dict[ObjectRef, Optional[Dict[str, Any]]] = {}
        self._listed: Set[Group] = set()
        self._records: Optional[Dict[ObjectRef, Dict[str, Any]]] = None

    # -- inventory records ----------------------------------------------------------------------
    def records(self) -> List[Dict[str, Any]]:
        """Every record ConfigMap in every namespace (one LIST the first time)."""
        if self._records is None:
            listed = self.cluster.list("v1", "ConfigMap", label_selector="%s=true" % RECORD_LABEL)
            self._records = {ObjectRef.from_object(cm, namespaced=True): cm for cm in listed}
        return [copy_json(cm) for cm in self._records.values()]

    def record(self, ref: ObjectRef) -> Optional[Dict[str, Any]]:
        self.records()
        found = (self._records or {}).get(ref)
        return copy_json(found) if found is not None else None

    # -- objects --------------------------------------------------------------------------------
    def get(self, ref: ObjectRef) -> Optional[Dict[str, Any]]:
        return self.get_many([ref])[ref]

    def get_many(self, refs: Iterable[ObjectRef]) -> Dict[ObjectRef, Optional[Dict[str, Any]]]:
        """The live objects (None: missing), read as ``plan_reads`` says for those not read yet."""
        refs = list(dict.fromkeys(refs))
        lists, gets = plan_reads(refs, set(self._objects), self._listed, self.threshold)
        answers = in_parallel(self._read, [(True, group) for group in lists] + [(False, ref) for ref in gets])
        for (api_version, kind, namespace), listed in zip(lists, answers):
            for item in listed:
                ref = ObjectRef.from_object(item, namespaced=bool(namespace))
                self._objects.setdefault(ref, item)
            self._listed.add((api_version.rpartition("/")[0], kind, namespace))
        for ref, live in zip(gets, answers[len(lists):]):
            self._objects[ref] = live
        found = {}
        for ref in refs:
            if ref not in self._objects:
                self._objects[ref] = None  # its kind was listed without it
            value = self._objects[ref]
            found[ref] = copy_json(value) if value is not None else None
        return found

    def _read(self, read: Tuple[bool, Any]) -> Any:
        """One LIST (api_version, kind, namespace) or one GET (a ref): the reads of ``get_many`` go together."""
        is_list, what = read
        if is_list:
            api_version, kind, namespace = what
            return self.cluster.list(api_version, kind, namespace=namespace or None)
        return self.cluster.get(what)

    def peek(self, ref: ObjectRef) -> Tuple[bool, Optional[Dict[str, Any]]]:
        """(whether this run has read or written the object, the object then), without a request."""
        if ref in self._objects:
            value = self._objects[ref]
            return True, copy_json(value) if value is not None else None
        return False, None

    # -- this run's writes ----------------------------------------------------------------------
    def wrote(self, ref: ObjectRef, stored: Optional[Dict[str, Any]]) -> None:
        """The object as the server stored it after this run's write."""
        if not stored:
            self.forget(ref)
            return
        self._objects[ref] = copy_json(stored)
        if self._records is not None and ref.kind == "ConfigMap" and not ref.group:
            if is_record(stored):
                self._records[ref] = copy_json(stored)
            else:
                self._records.pop(ref, None)

    def forget(self, ref: ObjectRef) -> None:
        """Deleted (or changed in a way only the server knows): read again when next asked."""
        self._objects.pop(ref, None)
        self._listed.discard(group_of(ref))
        if self._records is not None:
            self._records.pop(ref, None)

    def reset(self) -> None:
        self._objects.clear()
        self._listed.clear()
        self._records = None


def snapshot_of(cluster: Any) -> Optional[Snapshot]:
    """The cluster's snapshot, or None for stand-ins without one (then every read goes to the cluster)."""
    snapshot = getattr(cluster, "snapshot", None)
    return snapshot if isinstance(snapshot, Snapshot) else None
