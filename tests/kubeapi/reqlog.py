"""The request log of one cluster: every API request in arrival order with
verb, resource, namespace, name, query parameters, dry-run flag, field manager, patch type,
status code and whether it persisted a change. Tests read it to assert
"the second run made zero writes" or the order of writes."""
from __future__ import annotations

import itertools
import threading
import time

MUTATING = ("create", "update", "patch", "delete", "deletecollection")


def persisted(entries: list[dict]) -> list[dict]:
    """Requests that stored a change (not dry-run, not a no-op, not failed)."""
    return [e for e in entries if e["persisted"]]


def mutating(entries: list[dict]) -> list[dict]:
    """Mutating requests sent, whatever their outcome."""
    return [e for e in entries if e["mutating"]]


class RequestLog:
    def __init__(self, limit: int = 100000):
        self._lock = threading.Lock()
        self._entries: list[dict] = []
        self._seq = itertools.count(1)
        self._limit = limit

    def start(self, **fields) -> dict:
        entry = {"seq": next(self._seq), "time": time.time(), "verb": "", "method": "", "path": "", "group": "",
                 "version": "", "resource": "", "subresource": "", "kind": "", "namespace": "", "name": "",
                 "dry_run": False, "field_manager": "", "patch_type": "", "user_agent": "", "code": 0,
                 "persisted": False, "mutating": False, "fault": "", "duration_ms": 0.0, "query": {}}
        entry.update(fields)
        entry["mutating"] = entry["verb"] in MUTATING
        with self._lock:
            self._entries.append(entry)
            if len(self._entries) > self._limit:
                del self._entries[: len(self._entries) - self._limit]
        return entry

    def entries(self, since: int = 0, resource_requests_only: bool = False) -> list[dict]:
        with self._lock:
            out = [dict(e) for e in self._entries if e["seq"] > since]
        if resource_requests_only:
            out = [e for e in out if e["resource"]]
        return out

    def last_seq(self) -> int:
        with self._lock:
            return self._entries[-1]["seq"] if self._entries else 0

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()
