"""Object storage for one cluster: objects per group-resource keyed by
(namespace, name), one resourceVersion counter (like etcd's revision), a
bounded event history for watch resume, watcher fan-out and an index of
owner UID -> dependents for garbage collection.

Stored objects are never mutated after they are stored: every write stores a
new dict. Readers can therefore hand out references without copying, which
keeps large lists cheap."""
from __future__ import annotations

import copy
import json
import queue
import threading
from collections import deque
from dataclasses import dataclass
from typing import Callable, Iterable, Optional

GR = tuple  # (group, plural)
Key = tuple  # (namespace, name)


@dataclass(frozen=True)
class Event:
    rv: int
    type: str            # ADDED, MODIFIED, DELETED
    gr: GR
    namespace: str
    obj: dict
    old: Optional[dict]


class Watcher:
    """A subscription to the events of one group-resource (optionally one namespace)."""

    def __init__(self, store: "Store", gr: GR, namespace: str):
        self.store = store
        self.gr = gr
        self.namespace = namespace
        self.events: "queue.Queue[Optional[Event]]" = queue.Queue()
        self.closed = False

    def offer(self, event: Event) -> None:
        if event.gr == self.gr and (not self.namespace or event.namespace == self.namespace):
            self.events.put(event)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.store.unsubscribe(self)
            self.events.put(None)


class TooOld(Exception):
    def __init__(self, requested: int, oldest: int):
        super().__init__(f"too old resource version: {requested} ({oldest})")
        self.requested = requested
        self.oldest = oldest


def meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


def key_of(obj: dict) -> Key:
    m = meta(obj)
    return (m.get("namespace") or "", m.get("name") or "")


class Store:
    def __init__(self, history: int = 10000):
        self.lock = threading.RLock()
        self.rv = 1
        self._buckets: dict[GR, dict[Key, dict]] = {}
        self._history: deque = deque()
        self._history_limit = history
        self._compacted = 0           # newest resourceVersion dropped from history
        self._watchers: set = set()
        self._owners: dict[str, set] = {}   # owner uid -> {(gr, ns, name)}
        self._encoded: dict = {}             # (gr, key, typed) -> (object, JSON bytes)
        self._uids: dict[str, tuple] = {}   # uid -> (gr, ns, name)
        self._sorted: dict[GR, list] = {}    # cached etcd-ordered keys per group-resource
        self._labels: dict[GR, dict] = {}    # label key -> value -> {keys}: selector index

    # -- reads ---------------------------------------------------------------

    def get(self, gr: GR, namespace: str, name: str) -> Optional[dict]:
        return self._buckets.get(gr, {}).get((namespace, name))

    def items(self, gr: GR, namespace: str = "", only: Optional[set] = None) -> list[dict]:
        """Objects of a group-resource sorted by (namespace, name), like etcd
        keys; ``only`` restricts to a set of keys (from ``label_candidates``)."""
        with self.lock:
            bucket = self._buckets.get(gr, {})
            if only is not None and len(only) < len(bucket) // 4:
                keys = sorted(k for k in only if k in bucket and (not namespace or k[0] == namespace))
                return [bucket[k] for k in keys]
            keys = self._sorted.get(gr)
            if keys is None:
                keys = self._sorted[gr] = sorted(bucket)
            return [bucket[k] for k in keys if (not namespace or k[0] == namespace)
                    and (only is None or k in only)]

    def label_candidates(self, gr: GR, requirements: list) -> Optional[set]:
        """Keys that can match the equality/set/exists parts of a label selector;
        None when the selector has no such part."""
        index = self._labels.get(gr, {})
        found: Optional[set] = None
        for key, op, values in requirements:
            if op == "=" or op == "in":
                by_value = index.get(key, {})
                keys = set().union(*(by_value.get(v, ()) for v in values)) if values else set()
            elif op == "exists":
                keys = set().union(*index.get(key, {}).values()) if key in index else set()
            else:
                continue
            found = keys if found is None else found & keys
            if not found:
                return set()
        return found

    def count(self, gr: GR, namespace: str = "") -> int:
        bucket = self._buckets.get(gr, {})
        if not namespace:
            return len(bucket)
        return sum(1 for k in bucket if k[0] == namespace)

    def encoded(self, gr: GR, obj: dict, typed: bool) -> bytes:
        """JSON of a stored object, cached (stored objects never change). ``typed``
        drops apiVersion/kind, as items of built-in lists are rendered."""
        cache_key = (gr, key_of(obj), typed)
        hit = self._encoded.get(cache_key)
        if hit is not None and hit[0] is obj:
            return hit[1]
        body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")} if typed else obj
        data = json.dumps(body, separators=(",", ":")).encode()
        self._encoded[cache_key] = (obj, data)
        return data

    def groups(self) -> list[GR]:
        return [gr for gr, bucket in self._buckets.items() if bucket]

    def dependents(self, owner_uid: str) -> list[tuple]:
        return sorted(self._owners.get(owner_uid, ()))

    def by_uid(self, uid: str) -> Optional[tuple]:
        return self._uids.get(uid)

    # -- writes ---------------------------------------------------------------

    def next_rv(self) -> int:
        with self.lock:
            self.rv += 1
            return self.rv

    def put(self, gr: GR, obj: dict, created: bool) -> dict:
        """Store ``obj`` (a fresh dict owned by the store from now on) with a new
        resourceVersion and notify watchers."""
        with self.lock:
            rv = self.next_rv()
            obj["metadata"]["resourceVersion"] = str(rv)
            key = key_of(obj)
            bucket = self._buckets.setdefault(gr, {})
            old = bucket.get(key)
            bucket[key] = obj
            if old is None:
                self._sorted.pop(gr, None)
            self._index(gr, key, old, obj)
            self._emit(Event(rv, "ADDED" if created or old is None else "MODIFIED", gr, key[0], obj, old))
            return obj

    def remove(self, gr: GR, namespace: str, name: str) -> Optional[dict]:
        with self.lock:
            bucket = self._buckets.get(gr, {})
            old = bucket.pop((namespace, name), None)
            if old is None:
                return None
            for typed in (True, False):
                self._encoded.pop((gr, (namespace, name), typed), None)
            self._sorted.pop(gr, None)
            rv = self.next_rv()
            final = dict(old)
            final["metadata"] = dict(old["metadata"], resourceVersion=str(rv))
            self._index(gr, (namespace, name), old, None)
            self._emit(Event(rv, "DELETED", gr, namespace, final, old))
            return final

    def drop_group(self, gr: GR) -> None:
        """Forget a group-resource without events (a CRD went away)."""
        with self.lock:
            bucket = self._buckets.pop(gr, {})
            for key, obj in bucket.items():
                self._index(gr, key, obj, None)
            self._sorted.pop(gr, None)
            self._labels.pop(gr, None)
            self._encoded = {k: v for k, v in self._encoded.items() if k[0] != gr}

    def _index_labels(self, gr: GR, key: Key, old: Optional[dict], new: Optional[dict]) -> None:
        before = meta(old).get("labels") or {} if old is not None else {}
        after = meta(new).get("labels") or {} if new is not None else {}
        if before == after:
            return
        index = self._labels.setdefault(gr, {})
        for label, value in before.items():
            if after.get(label) != value or label not in after:
                keys = index.get(label, {}).get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[label][value]
        for label, value in after.items():
            if before.get(label) != value or label not in before:
                index.setdefault(label, {}).setdefault(value, set()).add(key)

    def _index(self, gr: GR, key: Key, old: Optional[dict], new: Optional[dict]) -> None:
        self._index_labels(gr, key, old, new)
        ref = (gr, key[0], key[1])
        for obj, add in ((old, False), (new, True)):
            if obj is None:
                continue
            uid = meta(obj).get("uid")
            if uid:
                if add:
                    self._uids[uid] = ref
                elif self._uids.get(uid) == ref:
                    del self._uids[uid]
            for owner in meta(obj).get("ownerReferences") or []:
                owner_uid = owner.get("uid")
                if not owner_uid:
                    continue
                dependents = self._owners.setdefault(owner_uid, set())
                if add:
                    dependents.add(ref)
                else:
                    dependents.discard(ref)
                    if not dependents:
                        del self._owners[owner_uid]

    # -- watch ------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        self._history.append(event)
        if len(self._history) > self._history_limit:
            dropped = self._history.popleft()
            self._compacted = dropped.rv
        for watcher in list(self._watchers):
            watcher.offer(event)

    def subscribe(self, gr: GR, namespace: str, since: Optional[int]) -> Watcher:
        """Watch events after resourceVersion ``since`` (None: only new ones)."""
        with self.lock:
            watcher = Watcher(self, gr, namespace)
            if since is not None:
                if since < self._compacted:
                    raise TooOld(since, self._compacted + 1)
                for event in self._history:
                    if event.rv > since:
                        watcher.offer(event)
            self._watchers.add(watcher)
            return watcher

    def unsubscribe(self, watcher: Watcher) -> None:
        with self.lock:
            self._watchers.discard(watcher)

    def close_watchers(self) -> None:
        with self.lock:
            watchers = list(self._watchers)
        for watcher in watchers:
            watcher.close()

    # -- bulk -------------------------------------------------------------------

    def clear(self, keep: Callable[[GR, dict], bool]) -> None:
        """Drop everything ``keep`` rejects, without events, and close watches."""
        with self.lock:
            for gr in list(self._buckets):
                bucket = self._buckets[gr]
                for key in [k for k, obj in bucket.items() if not keep(gr, obj)]:
                    self._index(gr, key, bucket.pop(key), None)
            self._history.clear()
            self._encoded.clear()
            self._sorted.clear()
            self._compacted = self.rv
        self.close_watchers()

    def checkpoint(self) -> dict:
        """Every stored object as of now, for ``restore`` (copies: what is stored may be rewritten later)."""
        with self.lock:
            return {gr: copy.deepcopy(bucket) for gr, bucket in self._buckets.items() if bucket}

    def restore(self, checkpoint: dict) -> None:
        """Back to a ``checkpoint``: no events (watches are closed); resourceVersions keep growing."""
        with self.lock:
            self.clear(lambda gr, obj: False)
            for gr, bucket in checkpoint.items():
                restored = self._buckets.setdefault(gr, {})
                for key, obj in copy.deepcopy(bucket).items():
                    restored[key] = obj
                    self._index(gr, key, None, obj)
                self._sorted.pop(gr, None)

    def all_objects(self) -> Iterable[tuple[GR, dict]]:
        with self.lock:
            snapshot = [(gr, list(bucket.values())) for gr, bucket in self._buckets.items()]
        for gr, objs in snapshot:
            for obj in objs:
                yield gr, obj
