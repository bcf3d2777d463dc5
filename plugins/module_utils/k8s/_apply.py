# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Server-side apply of rendered objects, idempotent and check-mode aware.

Per object, the applier first reads the live object (from the run's snapshot, see ``_snapshot``: one
LIST per kind and namespace, or per cluster-scoped kind, holding two or more of them, else one GET), then
decides every object of the set before it writes any:

* present, and its unit's record holds the fingerprint of our last write of this very body that the live
  object still shows (``_fieldset.applied_fingerprint``: our managed-fields entry is as that write left
  it): nothing more is sent -> unchanged;
* present and our field manager already owns exactly the desired fields with
  the desired values (proved from ``managedFields``, see ``_fieldset``): nothing
  more is sent -> unchanged;
* otherwise: dry-run apply; a missing object -> created; a present one is
  compared with the prediction (server bookkeeping ignored, our ownership
  included) -> updated if they differ, else unchanged.

If the server refuses any object (a conflict with another field manager, an
invalid field, a missing namespace), the whole set is refused, naming every
refused object, and nothing is written. Then, unless in check mode, the
created and updated objects are applied. Objects in a namespace, or of a kind,
that the same set creates first cannot be dry-run; they are checked when written.

Request cost per object (reads: a GET each, or one LIST per kind and
namespace holding two or more of them, shared with the rest of the run):

* first run: 1 read + 1 dry-run + 1 apply;
* identical second run: 1 read; a dry-run only where no fingerprint is recorded
  (records of older versions) and the server rewrites a value inside our fields
  (defaulted ``rules[].scope`` of webhooks, canonicalised quantities such as
  ``2048Mi``); no writes;
* a changed object: 1 read + 1 dry-run + 1 apply (and its record keeps the new fingerprint).

Changed CRDs add polls for ``Established`` and one discovery refresh. An
object someone else wrote between our read and our dry-run (istiod patching its
webhooks as it starts) is read once more and decided on as it is now.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._errors import (
    ApiError, ConflictError, InvalidObject, K8sError, KindNotServed)
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._fieldset import (
    applied_fingerprint, apply_is_noop, list_key, owned_fields, owns_path)
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import (
    ObjectRef, apply_rank, builtin_scope, combined_diff, copy_json, crd_scopes, diff_entry,
    normalized, sorted_for_apply, sorted_for_delete, strip_ca_bundles, strip_server_fields)
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._parallel import in_parallel
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._readiness import absent, crd_established
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._snapshot import snapshot_of
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._waiter import Check, SystemClock, wait_until

DEFAULT_FIELD_MANAGER = "servicemesh.istio"
CREATED, UPDATED, UNCHANGED, DELETED, ABSENT, RELEASED = (
    "created", "updated", "unchanged", "deleted", "absent", "released")
CHANGING_ACTIONS = frozenset({CREATED, UPDATED, DELETED})
# A namespace with at least this many objects of one kind is read with one LIST.
LIST_THRESHOLD = 2
# How often an object written by someone else between our read and our apply is read again.
STALE_READ_RETRIES = 2
# Answers that refuse an object (collected over the whole apply before any write), not transient faults.
REFUSALS = frozenset({400, 403, 404, 409, 422})


@dataclass
class ObjectResult:
    ref: ObjectRef
    action: str
    before: Dict[str, Any] = field(default_factory=dict)
    after: Dict[str, Any] = field(default_factory=dict)
    existed: bool = False  # the object was there before this run touched it
    note: str = ""
    fingerprint: str = ""  # _fieldset.applied_fingerprint after this run's write, or the recorded one

    @property
    def changed(self) -> bool:
        return self.action in CHANGING_ACTIONS

    def diff(self) -> Dict[str, Any]:
        return diff_entry(self.ref, self.before, self.after)

    def summary(self) -> Dict[str, Any]:
        item = dict(self.ref.to_record(), action=self.action)
        if self.note:
            item["note"] = self.note
        return item


@dataclass
class ResultSet:
    """Per-object results of one run, with Ansible's ``changed`` and ``diff``."""

    objects: List[ObjectResult] = field(default_factory=list)
    check_mode: bool = False

    @property
    def changed(self) -> bool:
        return any(result.changed for result in self.objects)

    @property
    def diffs(self) -> List[Dict[str, Any]]:
        """Per-object diffs (changed objects only), as a list Ansible accepts for ``diff``."""
        return [result.diff() for result in self.objects if result.changed]

    @property
    def diff(self) -> Dict[str, Any]:
        """One combined before/after diff keyed by object."""
        return combined_diff(self.diffs)

    def by_ref(self) -> Dict[ObjectRef, ObjectResult]:
        return {result.ref: result for result in self.objects}

    def summaries(self) -> List[Dict[str, Any]]:
        return [result.summary() for result in self.objects]


class ApplyResult(ResultSet):
    pass


class DeleteResult(ResultSet):
    pass


@dataclass
class _Item:
    ref: ObjectRef
    body: Dict[str, Any]
    body_sent: Dict[str, Any] = field(default_factory=dict)  # as decided for the live object


@dataclass
class ReadState:
    """The checked objects of one apply, and each one's live object (None: missing) before it."""

    items: List[_Item]
    live: Dict[ObjectRef, Optional[Dict[str, Any]]]
    # ref -> the fingerprint its unit's record holds of our last write (see _fieldset.applied_fingerprint)
    recorded: Dict[ObjectRef, str] = field(default_factory=dict)

    @property
    def missing(self) -> List[ObjectRef]:
        return [item.ref for item in self.items if self.live.get(item.ref) is None]


CRD_POLL_SECONDS = 0.2


class Applier:
    """Applies and deletes sets of objects on one cluster with one field manager."""

    def __init__(self, cluster: Any, field_manager: str = DEFAULT_FIELD_MANAGER,
                 force_conflicts: bool = False, check_mode: bool = False,
                 default_namespace: Optional[str] = None, crd_timeout: float = 60.0,
                 poll_interval: float = 1.0, clock: Any = None, defer_crd_wait: bool = False) -> None:
        self.cluster = cluster
        self.field_manager = field_manager
        self.force_conflicts = force_conflicts
        self.check_mode = check_mode
        self.default_namespace = default_namespace
        self.crd_timeout = crd_timeout
        self.poll_interval = poll_interval
        # a CRD is established within a second: polled more often than what is deleted
        self.crd_poll_interval = min(poll_interval, CRD_POLL_SECONDS)
        self.defer_crd_wait = defer_crd_wait
        self.unsettled: List[ObjectRef] = []
        self.clock = clock or SystemClock()

    # -- apply ---------------------------------------------------------------------------------
    def read(self, objects: Iterable[Mapping[str, Any]]) -> "ReadState":
        """Check the objects and read what is live, without writing: what ``apply`` starts from.

        Kinds that only the unit's own CRDs define cannot have objects yet; any other kind the
        server does not serve is refused here, before the first write."""
        items = self._prepare(objects)
        defined = [item for item in items if item.ref.is_crd]
        readable = [item for item in items if item.ref.is_crd
                    or not (any(_crd_defines(crd.body, item.ref) for crd in defined)
                            and not self.cluster.is_served(item.ref.api_version, item.ref.kind))]
        live: Dict[ObjectRef, Optional[Dict[str, Any]]] = {item.ref: None for item in items}
        live.update(self._read_live(readable))
        return ReadState(items, live)

    def apply(self, objects: Iterable[Mapping[str, Any]], state: Optional["ReadState"] = None) -> ApplyResult:
        """Apply ``objects`` (or what ``read`` returned) in dependency order; raises K8sError with
        ``partial`` set on failure."""
        result = ApplyResult(check_mode=self.check_mode)
        try:
            state = state or self.read(objects)
            crds = [item for item in state.items if item.ref.is_crd]
            others = [item for item in state.items if not item.ref.is_crd]
            self._apply_all(crds, state, result)
            self._settle_crds(crds, others, result)
            self._apply_all(others, state, result)
        except K8sError as exc:
            exc.partial = result
            raise
        return result

    def _prepare(self, objects: Iterable[Mapping[str, Any]]) -> List[_Item]:
        objects = [obj for obj in objects if obj]
        scopes = crd_scopes(objects)
        items: Dict[ObjectRef, _Item] = {}
        for obj in objects:
            ref = ObjectRef.from_object(obj, self._namespaced(obj, scopes), self.default_namespace)
            if ref in items:
                raise InvalidObject("%s is rendered twice" % ref)
            body = strip_ca_bundles(strip_server_fields(obj))
            if ref.namespace:
                body["metadata"]["namespace"] = ref.namespace
            else:
                body["metadata"].pop("namespace", None)
            items[ref] = _Item(ref, body)
        return sorted_for_apply(list(items.values()), lambda item: item.ref)

    def _namespaced(self, obj: Mapping[str, Any], scopes: Mapping[Tuple[str, str], bool]) -> bool:
        api_version, kind = obj.get("apiVersion") or "", obj.get("kind") or ""
        scope = builtin_scope(api_version, kind)
        if scope is None:
            scope = scopes.get((api_version.rpartition("/")[0], kind))
        if scope is None:
            try:
                scope = self.cluster.is_namespaced(api_version, kind)
            except KindNotServed:
                if not self.check_mode:
                    raise
                # its CRD may come from an earlier task that check mode did not run
                scope = bool((obj.get("metadata") or {}).get("namespace"))
        return scope

    def _apply_all(self, items: Sequence[_Item], state: ReadState, result: ApplyResult) -> None:
        """Decide every object first (dry runs, no writes), refusing the whole set if any is refused; then write."""
        decided: List[ObjectResult] = []
        refusals: List[K8sError] = []
        for _rank, group in itertools.groupby(items, key=lambda item: apply_rank(item.ref)):
            earlier = result.objects + decided
            for decision, refusal in in_parallel(lambda item, earlier=earlier: self._decide_or_refuse(
                    item, state, earlier), list(group)):
                if refusal is None:
                    decided.append(decision)
                else:
                    refusals.append(refusal)
        if refusals:
            raise refused(refusals)
        self._write_all(list(zip(items, decided)), result)

    def _write_all(self, pairs: Sequence[Tuple[_Item, ObjectResult]], result: ApplyResult) -> None:
        """Write rank by rank, the objects of one rank together. The first write goes alone (with the unchanged
        objects before it): it may take the run's lease and find the run stale, and then nothing else may be
        written. What was written is in ``result`` before the first error is raised."""
        alone = 0 if self.check_mode else next((n + 1 for n, (_i, d) in enumerate(pairs) if d.changed), 0)
        batches = [[pair] for pair in pairs[:alone]] + [
            list(group) for _rank, group in itertools.groupby(pairs[alone:], key=lambda p: apply_rank(p[0].ref))]
        for batch in batches:
            errors = in_parallel(self._write_or_error, batch)
            result.objects.extend(decision for (_item, decision), error in zip(batch, errors) if error is None)
            failed = [error for error in errors if error is not None]
            if failed:
                raise failed[0]

    def _write_or_error(self, pair: Tuple[_Item, ObjectResult]) -> Optional[Exception]:
        """Write one decided object (unless unchanged or in check mode); the error instead of raising it, so
        that the other writes of its rank still count."""
        item, decision = pair
        if not decision.changed or self.check_mode:
            return None
        try:
            decision.after = self._send(item.body_sent)
        except Exception as exc:  # pylint: disable=broad-except  # raised by the caller, in order
            return exc
        decision.fingerprint = applied_fingerprint(item.body_sent, decision.after, self.field_manager)
        return None

    def _decide_or_refuse(self, item: _Item, state: ReadState,
                          earlier: Sequence[ObjectResult]) -> Tuple[Optional[ObjectResult], Optional[K8sError]]:
        """(the decision, None), or (None, the server's or our refusal); other errors are raised."""
        try:
            return self._decide(item, state.live.get(item.ref), earlier, recorded=state.recorded.get(item.ref, "")), None
        except (ApiError, InvalidObject) as exc:
            if isinstance(exc, ApiError) and exc.status not in REFUSALS:
                raise
            return None, exc

    def _decide(self, item: _Item, live: Optional[Dict[str, Any]], decided: Sequence[ObjectResult],
                rereads: int = STALE_READ_RETRIES, recorded: str = "") -> ObjectResult:
        """What applying ``item`` would do, from the live object (and what our last write of it left, when
        recorded) and a dry run; nothing is written."""
        ref = item.ref
        if live and (live.get("metadata") or {}).get("deletionTimestamp"):
            raise InvalidObject("%s is being deleted; run again once it is gone" % ref)
        item.body_sent = keep_istiod_failure_policy(copy_json(item.body), live, self.field_manager)
        if live and recorded and applied_fingerprint(item.body_sent, live, self.field_manager) == recorded:
            return ObjectResult(ref, UNCHANGED, live, live, existed=True, fingerprint=recorded)
        if live and apply_is_noop(item.body_sent, live, self.field_manager):
            return ObjectResult(ref, UNCHANGED, live, live, existed=True, fingerprint=recorded)
        try:
            predicted, note = self._predict(ref, item.body_sent, decided)
        except ConflictError:
            # a conflict with a field someone took since our read (istiod's failurePolicy) is decided again
            # on the object as it is now; a conflict on what was already read is the user's to resolve
            fresh = self.cluster.get(ref) if live is not None and rereads else None
            if fresh is None or _resource_version(fresh) == _resource_version(live):
                raise
            return self._decide(item, fresh, decided, rereads - 1, recorded)
        if live is None:
            return ObjectResult(ref, CREATED, {}, predicted, existed=False, note=note)
        if rereads and _resource_version(predicted) and _resource_version(predicted) != _resource_version(live):
            # Written since the read (istiod patching its webhooks' caBundle right after it starts): the dry
            # run shows today's object, the read an older one. Compare with today's, or the older fields
            # would be reported as a change and the apply would send what the read said.
            return self._decide(item, self.cluster.get(ref), decided, rereads - 1, recorded)
        if same_state(predicted, live, self.field_manager):
            return ObjectResult(ref, UNCHANGED, live, live, existed=True, fingerprint=recorded)
        return ObjectResult(ref, UPDATED, live, predicted, existed=True, note=note)

    def _send(self, body: Mapping[str, Any], dry_run: bool = False) -> Dict[str, Any]:
        return self.cluster.apply(body, self.field_manager, force=self.force_conflicts, dry_run=dry_run)

    def _predict(self, ref: ObjectRef, body: Dict[str, Any],
                 decided: Sequence[ObjectResult]) -> Tuple[Dict[str, Any], str]:
        """What the server would store; without the server when the object waits for one created first."""
        blocker = _waits_for(ref, decided)
        if blocker:
            return body, ("predicted without the API server: %s" % blocker) if self.check_mode else ""
        try:
            return self._send(body, dry_run=True), ""
        except (ApiError, KindNotServed) as exc:
            # e.g. a namespace or CRD an earlier task would create; a real run fails if still missing
            if not self.check_mode or getattr(exc, "status", 404) != 404:
                raise
            return body, "predicted without the API server: %s" % exc

    def _read_live(self, items: Sequence[_Item]) -> Dict[ObjectRef, Optional[Dict[str, Any]]]:
        """Live objects by ref (None if missing): from the run's snapshot when the cluster keeps one (one
        LIST per crowded kind and namespace, or cluster-wide), else a LIST per crowded kind and namespace
        and GETs for the rest."""
        groups: Dict[Tuple[str, str, str], List[ObjectRef]] = {}
        for item in items:
            groups.setdefault((item.ref.api_version, item.ref.kind, item.ref.namespace), []).append(item.ref)
        live: Dict[ObjectRef, Optional[Dict[str, Any]]] = {}
        served: List[ObjectRef] = []
        for (api_version, kind, namespace), refs in groups.items():
            if not self._kind_served(api_version, kind):
                live.update((ref, None) for ref in refs)
            else:
                served.extend(refs)
        snapshot = snapshot_of(self.cluster)
        if snapshot is not None:
            live.update(snapshot.get_many(served))
            return live
        for (api_version, kind, namespace), refs in groups.items():
            refs = [ref for ref in refs if ref not in live]
            if namespace and len(refs) >= LIST_THRESHOLD:
                listed = {obj["metadata"]["name"]: obj for obj in self.cluster.list(api_version, kind, namespace)}
                live.update((ref, listed.get(ref.name)) for ref in refs)
            else:
                live.update((ref, self.cluster.get(ref)) for ref in refs)
        return live

    def _kind_served(self, api_version: str, kind: str) -> bool:
        if self.check_mode:
            return self.cluster.is_served(api_version, kind)
        self.cluster.resource(api_version, kind)  # raises KindNotServed with a clear message
        return True

    def _settle_crds(self, crds: Sequence[_Item], others: Sequence[_Item], result: ApplyResult) -> None:
        """After CRDs changed: wait until Established, refresh discovery, wait until their kinds are served;
        with ``defer_crd_wait`` and none of their kinds in this apply, not before ``settle``."""
        changed = [r.ref for r in result.objects if r.ref.is_crd and r.changed]
        if self.check_mode or not changed:
            return
        kinds = {(item.ref.api_version, item.ref.kind) for item in others
                 if any(_crd_defines(item_crd.body, item.ref) for item_crd in crds)}
        if self.defer_crd_wait and not kinds:
            self.unsettled.extend(changed)
            return
        self._await_established(changed)
        self._wait_kinds_served(sorted(kinds))

    def settle(self) -> None:
        """Wait for the CRDs whose wait ``defer_crd_wait`` put off (the server establishes them meanwhile)."""
        refs, self.unsettled = self.unsettled, []
        if refs:
            self._await_established(refs)

    def _await_established(self, refs: Sequence[ObjectRef]) -> None:
        wait_until(self.cluster, [Check(ref, crd_established) for ref in refs],
                   timeout=self.crd_timeout, interval=self.crd_poll_interval, clock=self.clock)
        self.cluster.refresh_discovery()

    def _wait_kinds_served(self, kinds: Sequence[Tuple[str, str]]) -> None:
        # discovery can lag a moment behind the Established condition
        deadline = self.clock.monotonic() + self.crd_timeout
        missing = [kind for kind in kinds if not self.cluster.is_served(*kind)]
        while missing:
            if self.clock.monotonic() >= deadline:
                raise KindNotServed("kinds still not served %gs after their CRDs were established: %s"
                                    % (self.crd_timeout, ", ".join("%s (%s)" % (k, v) for v, k in missing)))
            self.clock.sleep(self.crd_poll_interval)
            self.cluster.refresh_discovery()
            missing = [kind for kind in missing if not self.cluster.is_served(*kind)]

    # -- delete --------------------------------------------------------------------------------
    def delete(self, refs: Iterable[ObjectRef], wait: bool = False, timeout: float = 120.0,
               propagation_policy: str = "Background") -> DeleteResult:
        """Delete in reverse apply order; NotFound is fine; optionally wait until all are gone.

        Background propagation (as kubectl and ``helm uninstall``): the object
        goes at once and the garbage collector removes its dependents (pods,
        ReplicaSets) afterwards, so names are free for a re-install and nothing
        hangs on a slow garbage collector; ``wait`` waits for our objects only.
        """
        result = DeleteResult(check_mode=self.check_mode)
        try:
            for ref in sorted_for_delete(list(dict.fromkeys(refs)), lambda ref: ref):
                result.objects.append(self._delete_one(ref, propagation_policy))
            gone = [r.ref for r in result.objects if r.action == DELETED]
            if wait and gone and not self.check_mode:
                wait_until(self.cluster, [Check(ref, absent) for ref in gone], timeout=timeout,
                           interval=self.poll_interval, clock=self.clock)
        except K8sError as exc:
            exc.partial = result
            raise
        return result

    def _delete_one(self, ref: ObjectRef, propagation_policy: str) -> ObjectResult:
        try:
            before = self.cluster.get(ref)
        except KindNotServed:
            return ObjectResult(ref, ABSENT, note="kind not served")
        if before is None:
            return ObjectResult(ref, ABSENT)
        if self.check_mode:
            self.cluster.delete(ref, propagation_policy, dry_run=True)
        elif not self.cluster.delete(ref, propagation_policy):
            return ObjectResult(ref, ABSENT)
        return ObjectResult(ref, DELETED, before, {}, existed=True)


def _waits_for(ref: ObjectRef, decided: Sequence[ObjectResult]) -> str:
    """Why the server cannot dry-run ``ref`` yet: its namespace or CRD is created earlier in the same apply."""
    for done in decided:
        if done.action != CREATED:
            continue
        if done.ref.kind == "Namespace" and not done.ref.group and done.ref.name == ref.namespace:
            return "namespace %s would be created first" % ref.namespace
        if done.ref.is_crd and _crd_defines(done.after, ref):
            return "its CRD %s would be created first" % done.ref.name
    return ""


def refused(refusals: Sequence[K8sError]) -> K8sError:
    """One error for every object the server (or the applier) refused, before anything was written."""
    if len(refusals) == 1:
        return refusals[0]
    message = "%d objects were refused, so none was written:\n%s" % (
        len(refusals), "\n".join("  %s" % exc for exc in refusals))
    if all(isinstance(exc, ConflictError) for exc in refusals):
        return ConflictError(message, [pair for exc in refusals for pair in exc.conflicts])
    first = next((exc for exc in refusals if isinstance(exc, ApiError)), None)
    if first is None:
        return InvalidObject(message)
    return ApiError(message, status=first.status, reason=first.reason)


def same_state(predicted: Mapping[str, Any], live: Mapping[str, Any], field_manager: str) -> bool:
    """Same content, and our manager owns the same fields (so ownership changes are written too).

    Taking ownership matters: it is what lets a later apply remove a field we
    stop rendering, and what makes the next run provably a no-op.
    """
    return (normalized(predicted) == normalized(live)
            and _ownership(predicted, field_manager) == _ownership(live, field_manager))


def _ownership(obj: Mapping[str, Any], field_manager: str) -> Tuple[Optional[str], Any]:
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") == field_manager and entry.get("operation") == "Apply" \
                and not entry.get("subresource"):
            return entry.get("apiVersion"), entry.get("fieldsV1")
    return None, None


def _resource_version(obj: Optional[Mapping[str, Any]]) -> str:
    return ((obj or {}).get("metadata") or {}).get("resourceVersion") or ""


def keep_istiod_failure_policy(body: Dict[str, Any], live: Optional[Mapping[str, Any]],
                               field_manager: str) -> Dict[str, Any]:
    """Never fight istiod over ValidatingWebhookConfiguration ``failurePolicy``.

    istiod turns ``Ignore`` into ``Fail`` once it serves validation. When the
    object exists: a webhook's policy that we no longer own (istiod took it) is
    left out, so it stays istiod's; one we still own keeps its live value, so
    it is neither removed (which would default it to Fail) nor flipped back.
    """
    if not live or body.get("kind") != "ValidatingWebhookConfiguration":
        return body
    owned = owned_fields(live, field_manager)
    live_policies = {hook.get("name"): hook.get("failurePolicy") for hook in live.get("webhooks") or []}
    for hook in body.get("webhooks") or []:
        path = ["f:webhooks", list_key(name=hook.get("name")), "f:failurePolicy"]
        if hook.get("name") in live_policies and live_policies[hook["name"]] and owns_path(owned, path):
            hook["failurePolicy"] = live_policies[hook["name"]]
        else:
            hook.pop("failurePolicy", None)
    return body


def defines_kind_of(crds: Iterable[Mapping[str, Any]], objects: Iterable[Mapping[str, Any]]) -> bool:
    """Whether any of ``objects`` is of a kind one of ``crds`` defines."""
    crds = list(crds)
    return any(_crd_defines(crd, ObjectRef.from_object(obj, namespaced=False)) for obj in objects for crd in crds)


def _crd_defines(crd: Mapping[str, Any], ref: ObjectRef) -> bool:
    spec = (crd or {}).get("spec") or {}
    return spec.get("group") == ref.group and (spec.get("names") or {}).get("kind") == ref.kind
