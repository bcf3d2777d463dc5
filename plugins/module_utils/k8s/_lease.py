# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One run at a time per control plane (or CNI, ztunnel, gateway): a ``coordination.k8s.io`` Lease,
named as the scope's inventory record.

The lease is taken just before a run's first write, so runs with nothing to change write nothing.
If another run held it, or took it after this run read the cluster (its ``leaseTransitions``
moved), this run decided on stale reads: ``StaleRun`` is raised with the lease now ours, and the
caller starts again from the reads (nothing was written). A lease is renewed while the run goes
on; one left by a killed run expires after ``LEASE_SECONDS`` (at once for a run on this host whose
process is gone). Releasing clears the holder, or deletes the lease when the run removed the scope.
"""
from __future__ import annotations

import atexit
import datetime
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from ansible_collections.servicemesh.istio.plugins.module_utils import _clock as times
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._errors import ApiError, K8sError
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._snapshot import snapshot_of
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._waiter import SystemClock

LEASE_SECONDS = 30
RENEW_SECONDS = 10.0
POLL_SECONDS = 1.0


class LeaseHeld(K8sError):
    """Another run kept the lease for longer than this run may wait."""


class StaleRun(K8sError):
    """The lease is ours now, but another run changed the cluster after this run read it."""


def holder_identity() -> str:
    """This process, as other runs see it in the lease: host, process id, and a nonce."""
    return "%s/%d/%s" % (socket.gethostname()[:40], os.getpid(), uuid.uuid4().hex[:8])


def _gone_from_this_host(holder: str) -> bool:
    """A holder that ran on this host and whose process has ended (killed): its lease need not expire."""
    host, _unused, rest = holder.partition("/")
    pid = rest.partition("/")[0]
    if host != socket.gethostname()[:40] or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


@dataclass(frozen=True)
class LeaseState:
    """What decides whether a run may take the lease: pure data from the live Lease."""

    holder: str = ""
    renewed: Optional[datetime.datetime] = None
    duration: int = LEASE_SECONDS
    transitions: int = 0
    uid: str = ""
    resource_version: str = ""

    @classmethod
    def of(cls, lease: Optional[Mapping[str, Any]]) -> "LeaseState":
        if not lease:
            return cls()
        spec = lease.get("spec") or {}
        metadata = lease.get("metadata") or {}
        renewed = times.parse_time(spec.get("renewTime") or spec.get("acquireTime"))
        return cls(spec.get("holderIdentity") or "", renewed,
                   int(spec.get("leaseDurationSeconds") or LEASE_SECONDS), int(spec.get("leaseTransitions") or 0),
                   metadata.get("uid") or "", metadata.get("resourceVersion") or "")

    def held_by_other(self, me: str, now: datetime.datetime,
                      gone: Callable[[str], bool] = _gone_from_this_host) -> bool:
        if not self.holder or self.holder == me or gone(self.holder):
            return False
        return self.renewed is None or now < self.renewed + datetime.timedelta(seconds=self.duration)

    def identity(self) -> Tuple[str, int]:
        return self.uid, self.transitions


class RunLock:
    """The lease of one scope (``namespace``/``name``), taken on the first write of this run."""

    def __init__(self, cluster: Any, record: ObjectRef, holder: str, wait_timeout: float,
                 clock: Any = None) -> None:
        self.cluster = cluster
        # named as the scope's record, which says whether the scope still exists when the run ends
        self.record = record
        self.ref = ObjectRef.of("coordination.k8s.io/v1", "Lease", record.name, record.namespace)
        self.holder = holder
        self.wait_timeout = wait_timeout
        self.clock = clock or SystemClock()
        self.seen: Tuple[str, int] = ("", 0)
        self.observed = LeaseState()
        self.held: Optional[LeaseState] = None
        self.lost = ""
        self._stop = threading.Event()
        self._renewer: Optional[threading.Thread] = None
        self._mutex = threading.Lock()

    @property
    def manager(self) -> str:
        # one field manager per run: two runs creating the lease at once conflict instead of sharing it
        return "servicemesh.istio-lease-" + self.holder

    def observe(self) -> None:
        """At the start of the run (and of each restart), with its other reads."""
        if self.held is None:
            self.observed = LeaseState.of(self.cluster.get(self.ref))
            self.seen = self.observed.identity()

    def before_write(self, ref: ObjectRef) -> None:
        """The cluster's write guard: take the lease before the first write (namespaces may come first:
        the lease lives in one)."""
        if ref != self.ref and not (ref.kind == "Namespace" and not ref.group):
            self.ensure()

    def ensure(self) -> None:
        """Take the lease if this run does not hold it yet."""
        if self.lost:
            raise K8sError("%s: this run lost its lease (%s); nothing more is written, run again" % (self.ref,
                                                                                                     self.lost))
        if self.held is not None:
            return
        waited = self._take()
        self._renewer = threading.Thread(target=self._renew_until_released, daemon=True, name="lease-renewal")
        self._renewer.start()
        if waited or self.held.transitions != self.seen[1] + 1 or (self.seen[0] and self.held.uid != self.seen[0]):
            snapshot = snapshot_of(self.cluster)
            if snapshot is not None:
                snapshot.reset()  # the restart reads the cluster again
            raise StaleRun("%s: another run changed this scope after this run read it" % self.ref)

    def _take(self) -> bool:
        deadline = self.clock.monotonic() + self.wait_timeout
        waited = False
        while True:
            live = LeaseState.of(self.cluster.get(self.ref))
            now = times.now()
            if live.held_by_other(self.holder, now):
                if self.clock.monotonic() >= deadline:
                    raise LeaseHeld("%s is held by another run (%s, renewed %s); waited %gs. Run again once it "
                                    "has finished, or delete the Lease if that run is gone for good"
                                    % (self.ref, live.holder, live.renewed, self.wait_timeout))
                waited = True
                self.clock.sleep(POLL_SECONDS)
                continue
            try:
                self.held = self._write(live, now, taking=True)
                return waited
            except ApiError as exc:
                if exc.status != 409:  # 409: another run wrote it between our read and our write
                    raise
                waited = True

    def _write(self, live: LeaseState, now: datetime.datetime, taking: bool = False,
               release: bool = False) -> LeaseState:
        spec: Dict[str, Any] = {"leaseDurationSeconds": LEASE_SECONDS,
                                "leaseTransitions": live.transitions + 1 if taking else live.transitions}
        if not release:
            spec.update(holderIdentity=self.holder, renewTime=times.micro_time(now))
            if taking:
                spec["acquireTime"] = times.micro_time(now)
        metadata: Dict[str, Any] = {"name": self.ref.name, "namespace": self.ref.namespace}
        if live.resource_version:
            metadata["resourceVersion"] = live.resource_version  # a precondition: 409 if it moved
        body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": metadata, "spec": spec}
        return LeaseState.of(self.cluster.apply(body, self.manager, force=bool(live.resource_version)))

    def _renew_until_released(self) -> None:
        while not self._stop.wait(RENEW_SECONDS):
            with self._mutex:
                if self.held is None:
                    return
                try:
                    self.held = self._write(self.held, times.now())
                except K8sError as exc:
                    self.lost = str(exc)
                    return

    def release(self) -> None:
        """Clear the holder, or delete the lease when the run removed its scope (its record is gone), unless
        the lease is no longer ours; errors are left to expiry."""
        self._stop.set()
        with self._mutex:
            if self.held is None:
                self._drop_orphan()
                return
            if self.lost:
                return
            try:
                if self._record_gone():
                    self.cluster.delete(self.ref)
                else:
                    self._write(self.held, times.now(), release=True)
            except K8sError:
                pass  # it expires by itself
            self.held = None

    def _record_gone(self) -> bool:
        """Whether the scope's record is gone; the run's snapshot knows (it saw every write of this run)."""
        snapshot = snapshot_of(self.cluster)
        if snapshot is not None:
            return snapshot.record(self.record) is None
        return self.cluster.get(self.record) is None

    def _drop_orphan(self) -> None:
        """A lease that a killed run left on a scope which is gone now (the run that found it had nothing
        left to write): no run would take it again, so it goes."""
        if not self.observed.resource_version or self.observed.held_by_other(self.holder, times.now()):
            return
        try:
            if self._record_gone():
                self.cluster.delete(self.ref)
        except K8sError:
            pass


_LOCKS: Dict[ObjectRef, RunLock] = {}
_HOLDER = holder_identity()


def guard(cluster: Any, record: ObjectRef, wait_timeout: float) -> RunLock:
    """Make ``cluster`` take the lease of the scope whose record is ``record`` before its first write. One
    lock per scope and process: a restart after ``StaleRun`` keeps the lease; it is released when the
    process ends."""
    lock = _LOCKS.get(record)
    if lock is None:
        lock = _LOCKS[record] = RunLock(cluster, record, _HOLDER, wait_timeout)
        atexit.register(lock.release)
    lock.cluster = cluster
    lock.observe()
    cluster.write_guards.append(lock.before_write)
    return lock
