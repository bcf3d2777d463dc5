# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Polling objects until predicates hold, with a clock tests can replace."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._errors import WaitTimeout
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._parallel import in_parallel
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._readiness import Readiness, readiness_of
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._snapshot import snapshot_of

Predicate = Callable[[Optional[Mapping[str, Any]]], Readiness]


class SystemClock:
    @staticmethod
    def monotonic() -> float:
        return time.monotonic()

    @staticmethod
    def sleep(seconds: float) -> None:
        time.sleep(seconds)


@dataclass(frozen=True)
class Check:
    ref: ObjectRef
    predicate: Predicate


def wait_until(cluster: Any, checks: Sequence[Check], timeout: float, interval: float = 2.0,
               clock: Any = None) -> Dict[ObjectRef, str]:
    """Poll until every check holds; returns ref -> reason of the last (ready) answer.

    Objects already ready are not fetched again, nor those this run has just read or written that were
    ready then (the run's snapshot); the others are fetched together. Raises WaitTimeout naming each object still not ready and why.
    """
    clock = clock or SystemClock()
    deadline = clock.monotonic() + timeout
    done: Dict[ObjectRef, str] = {}
    pending: List[Check] = []
    snapshot = snapshot_of(cluster)
    for check in checks:
        known, obj = snapshot.peek(check.ref) if snapshot is not None else (False, None)
        ready, reason = check.predicate(obj) if known else (False, "")
        if ready:
            done[check.ref] = reason
        else:
            pending.append(check)
    if not pending:
        return done
    while True:
        still: List[Tuple[Check, str]] = []
        for check, obj in zip(pending, in_parallel(lambda check: cluster.get(check.ref), pending)):
            ready, reason = check.predicate(obj)
            if ready:
                done[check.ref] = reason
            else:
                still.append((check, reason))
        if not still:
            return done
        remaining = deadline - clock.monotonic()
        if remaining <= 0:
            raise WaitTimeout(timeout, [(str(check.ref), reason) for check, reason in still])
        clock.sleep(min(interval, remaining))
        pending = [check for check, _reason in still]


def readiness_checks(objects: Sequence[Mapping[str, Any]]) -> List[Check]:
    """A check for each object that reports readiness through a condition (``_readiness.readiness_of``)."""
    checks = []
    for obj in objects:
        predicate = readiness_of(obj)
        if predicate is not None:
            checks.append(Check(ObjectRef.from_object(obj), predicate))
    return checks
