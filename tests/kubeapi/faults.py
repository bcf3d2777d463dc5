"""Fault injection: make the next N requests that match a verb/resource (and
optionally namespace/name) fail with an HTTP status (429 with Retry-After,
500, 503...), have their connection reset, be delayed, or be held until the
faults are cleared and then dropped unanswered (a client killed mid-run: the
test kills it while its request is held, and the request never lands)."""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, asdict, field
from typing import Optional

ACTIONS = ("status", "reset", "delay")
_ids = itertools.count(1)


@dataclass
class Fault:
    verb: str = "*"              # get, list, watch, create, update, patch, apply, delete, deletecollection, *
    resource: str = "*"          # plural ("pods", "deployments"), "plural/subresource", or *
    namespace: str = "*"
    name: str = "*"
    count: int = 1               # how many matching requests fail (0 or less: unlimited)
    status: int = 0              # HTTP status to answer with (action "status")
    reset: bool = False          # drop the connection without an answer
    delay: float = 0.0           # seconds to wait before handling (or before the failure)
    retry_after: int = 1         # Retry-After seconds for 429/503
    message: str = ""
    group: str = "*"
    persisted: bool = False      # only requests that change storage (mutating verbs, no dry run)
    skip: int = 0                # let this many matching requests through first
    hold: bool = False           # hold the request until the faults are cleared, then drop it
    id: int = field(default_factory=lambda: next(_ids))
    hits: int = 0
    passed: int = 0

    def matches(self, verb: str, group: str, resource: str, namespace: str, name: str,
                persisted: bool = False) -> bool:
        verbs = {verb, "patch"} if verb == "apply" else {verb}
        return (persisted or not self.persisted) and (self.verb in ("*", "") or self.verb in verbs) \
            and (self.resource in ("*", "") or self.resource == resource or self.resource == resource.split("/")[0]) \
            and (self.group in ("*",) or self.group == group) \
            and (self.namespace in ("*", "") or self.namespace == namespace) \
            and (self.name in ("*", "") or self.name == name)

    def as_dict(self) -> dict:
        return asdict(self)


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Fault] = []
        self._cleared = threading.Event()

    def add(self, **spec) -> Fault:
        known = {k: v for k, v in spec.items() if k in Fault.__dataclass_fields__ and k not in ("id", "hits")}
        unknown = set(spec) - set(known) - {"id", "hits"}
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        fault = Fault(**known)
        if not (fault.status or fault.reset or fault.delay or fault.hold):
            raise ValueError("a fault needs status, reset, delay or hold")
        with self._lock:
            self._rules.append(fault)
        return fault

    def take(self, verb: str, group: str, resource: str, namespace: str, name: str,
             persisted: bool = False) -> Optional[Fault]:
        """The first armed fault matching this request, consuming one use."""
        with self._lock:
            for fault in self._rules:
                if fault.matches(verb, group, resource, namespace, name, persisted):
                    if fault.passed < fault.skip:
                        fault.passed += 1
                        return None
                    fault.hits += 1
                    if fault.count > 0 and fault.hits >= fault.count:
                        self._rules.remove(fault)
                    return fault
        return None

    def list(self) -> list[dict]:
        with self._lock:
            return [f.as_dict() for f in self._rules]

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._cleared.set()
            self._cleared = threading.Event()

    def wait_until_cleared(self, timeout: float = 600.0) -> None:
        with self._lock:
            cleared = self._cleared
        cleared.wait(timeout)
