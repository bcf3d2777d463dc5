"""Deletion: DeleteOptions (propagationPolicy, preconditions, dry-run),
finalizers that delay deletion, garbage collection of dependents through
ownerReferences, foreground/orphan propagation, and the namespace and CRD
cleanup that their controllers perform. Everything runs synchronously inside
the request that triggered it, so tests observe a settled state."""
from __future__ import annotations

from typing import Any, Optional

from .api import Call, deep, now
from .errors import ApiError, conflict
from .registry import ResourceType
from .store import meta

PROTECTED_NAMESPACES = ("default", "kube-system", "kube-public")
FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"
CRD_CLEANUP = "customresourcecleanup.apiextensions.k8s.io"
NAMESPACES = ("", "namespaces")
CRDS = ("apiextensions.k8s.io", "customresourcedefinitions")


class LifecycleMixin:
    _pending: set
    _gone: dict
    _reconciling: bool = False
    _reconcile_again: bool = False

    # -- request verbs ------------------------------------------------------------

    def delete(self, call: Call) -> tuple[int, dict]:
        rt = call.rt
        obj = self.must_get(rt, call.namespace, call.name)
        options = call.body if isinstance(call.body, dict) else {}
        self._check_preconditions(rt, obj, options.get("preconditions") or {})
        if rt.builtin and rt.plural == "namespaces" and call.name in PROTECTED_NAMESPACES:
            raise ApiError(403, f'namespaces "{call.name}" is forbidden: this namespace may not be deleted',
                           "Forbidden", {"name": call.name, "kind": "namespaces"})
        policy = self._policy(call, options)
        if call.dry_run:
            return 200, self.at_version(rt, self._deleted_preview(rt, obj, policy))
        result, deleted = self.delete_object(self.storage_rt(rt), obj, policy)
        call.record["persisted"] = True
        if deleted and not rt.return_deleted:
            return 200, _success(rt, result)
        return 200, self.at_version(rt, result)

    def delete_collection(self, call: Call) -> tuple[int, dict]:
        rt = call.rt
        options = call.body if isinstance(call.body, dict) else {}
        policy = self._policy(call, options)
        items, _unused = self.list_objects(call)
        out = []
        for obj in items:
            if call.dry_run:
                out.append(self._deleted_preview(rt, obj, policy))
                continue
            current = self.store.get(rt.gr, *_key(rt, obj))
            if current is None:
                continue
            result, _unused = self.delete_object(self.storage_rt(rt), current, policy)
            call.record["persisted"] = True
            out.append(result)
        items = [{k: v for k, v in o.items() if k not in ("apiVersion", "kind")} if rt.builtin
                 else self.at_version(rt, o) for o in out]
        return 200, {"kind": rt.kind + "List", "apiVersion": rt.group_version,
                     "metadata": {"resourceVersion": str(self.store.rv)}, "items": items}

    def _policy(self, call: Call, options: dict) -> str:
        policy = call.query.get("propagationPolicy") or options.get("propagationPolicy")
        orphan = call.query.get("orphanDependents", options.get("orphanDependents"))
        if policy is None and orphan is not None:
            policy = "Orphan" if str(orphan).lower() == "true" else "Background"
        policy = policy or "Background"
        if policy not in ("Orphan", "Background", "Foreground"):
            raise ApiError(422, f'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: '
                           f'"{policy}": supported values: "Foreground", "Background", "Orphan", "nil"', "Invalid")
        return policy

    def _check_preconditions(self, rt: ResourceType, obj: dict, pre: dict) -> None:
        m = meta(obj)
        if pre.get("uid") and pre["uid"] != m.get("uid"):
            raise conflict(rt.plural, rt.group, m.get("name", ""),
                           f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: "
                           f"{m.get('uid')}")
        if pre.get("resourceVersion") and pre["resourceVersion"] != m.get("resourceVersion"):
            raise conflict(rt.plural, rt.group, m.get("name", ""),
                           f"Precondition failed: ResourceVersion in precondition: {pre['resourceVersion']}, "
                           f"ResourceVersion in object meta: {m.get('resourceVersion')}")

    def _deleted_preview(self, rt: ResourceType, obj: dict, policy: str) -> dict:
        finalizers = self._finalizers_for(rt, obj, policy)
        if not finalizers and not self._controller_pending(rt, obj):
            return obj
        return self._terminating(rt, obj, finalizers)

    # -- deletion machinery ------------------------------------------------------------

    def _finalizers_for(self, rt: ResourceType, obj: dict, policy: str) -> list:
        finalizers = list(meta(obj).get("finalizers") or [])
        if rt.gr == CRDS and CRD_CLEANUP not in finalizers:
            finalizers.append(CRD_CLEANUP)
        if policy == "Foreground" and self._live_dependents(meta(obj).get("uid")) and FOREGROUND not in finalizers:
            finalizers.append(FOREGROUND)
        return finalizers

    def _controller_pending(self, rt: ResourceType, obj: dict) -> bool:
        """A namespace waits for its content; spec.finalizers holds 'kubernetes'."""
        return rt.gr == NAMESPACES and bool((obj.get("spec") or {}).get("finalizers"))

    def _terminating(self, rt: ResourceType, obj: dict, finalizers: list) -> dict:
        new = deep(obj)
        m = new["metadata"]
        m["deletionTimestamp"] = now()
        m["deletionGracePeriodSeconds"] = 0
        if finalizers:
            m["finalizers"] = finalizers
        if rt.generation and m.get("generation"):
            m["generation"] = int(m["generation"]) + 1
        if rt.gr == NAMESPACES:
            new.setdefault("status", {})["phase"] = "Terminating"
        if rt.gr == CRDS:
            _set_condition(new, "Terminating", "True", "InstanceDeletionInProgress",
                           "CustomResource deletion is in progress")
        return new

    def delete_object(self, rt: ResourceType, obj: dict, policy: str) -> tuple[dict, bool]:
        """Delete (or start deleting) a stored object. Returns the object as it
        ends up and whether it is gone."""
        with self.store.lock:
            if meta(obj).get("deletionTimestamp"):
                return obj, False
            uid = meta(obj).get("uid")
            if policy == "Orphan":
                self._orphan_dependents(uid)
            finalizers = self._finalizers_for(rt, obj, policy)
            if not finalizers and not self._controller_pending(rt, obj):
                return self.finish_deletion(rt, obj), True
            stored = self.store.put(rt.gr, self._terminating(rt, obj, finalizers), False)
            self._pending.add((rt.gr, *_key(rt, stored)))
            self._start_termination(rt, stored)
            self.reconcile_deletions()
            current = self.store.get(rt.gr, *_key(rt, stored))
            if current is None:
                return self._gone.get((rt.gr, *_key(rt, stored)), stored), True
            return current, False

    def finish_deletion(self, rt: ResourceType, obj: dict) -> dict:
        """Remove the object for good, then collect its dependents."""
        with self.store.lock:
            key = _key(rt, obj)
            final = self.store.remove(rt.gr, *key)
            if final is None:
                return obj
            self._pending.discard((rt.gr, *key))
            if len(self._gone) > 1000:
                self._gone.clear()
            self._gone[(rt.gr, *key)] = final
            self.after_delete(rt, final)
            self._collect_garbage(meta(final).get("uid"))
            self.reconcile_deletions()
            return final

    def _start_termination(self, rt: ResourceType, obj: dict) -> None:
        m = meta(obj)
        if rt.gr == NAMESPACES:
            for content_rt in self.registry.stored_types():
                if content_rt.namespaced:
                    for item in self.store.items(content_rt.gr, m["name"]):
                        self.delete_object(content_rt, item, "Background")
        elif rt.gr == CRDS and CRD_CLEANUP in (m.get("finalizers") or []):
            cr_rt = self._crd_storage_type(obj)
            if cr_rt is not None:
                for item in self.store.items(cr_rt.gr):
                    self.delete_object(cr_rt, item, "Background")
        if FOREGROUND in (m.get("finalizers") or []):
            for dep_rt, dep in self._live_dependents(m.get("uid")):
                self.delete_object(dep_rt, dep, "Foreground")

    def _crd_storage_type(self, crd: dict) -> Optional[ResourceType]:
        spec = crd.get("spec") or {}
        return self.registry.storage_type(spec.get("group", ""), (spec.get("names") or {}).get("plural", ""))

    def _live_dependents(self, uid: Optional[str]) -> list[tuple[ResourceType, dict]]:
        out = []
        for gr, ns, name in self.store.dependents(uid or ""):
            obj = self.store.get(gr, ns, name)
            dep_rt = self.registry.storage_type(*gr)
            if obj is not None and dep_rt is not None:
                out.append((dep_rt, obj))
        return out

    def _orphan_dependents(self, uid: Optional[str]) -> None:
        for dep_rt, dep in self._live_dependents(uid):
            self.controller_write(dep_rt, dep, lambda o: _drop_owner(o, uid),
                                  manager="kube-controller-manager", subresource="")

    def _collect_garbage(self, owner_uid: Optional[str]) -> None:
        """Dependents whose owners are all gone are deleted; the others lose the
        dangling reference."""
        for dep_rt, dep in self._live_dependents(owner_uid):
            owners = meta(dep).get("ownerReferences") or []
            alive = [o for o in owners if o.get("uid") != owner_uid and self.store.by_uid(o.get("uid", ""))]
            if alive:
                self.controller_write(dep_rt, dep, lambda o: _drop_owner(o, owner_uid),
                                      manager="kube-controller-manager", subresource="")
            else:
                current = self.store.get(dep_rt.gr, *_key(dep_rt, dep))
                if current is not None:
                    self.delete_object(dep_rt, current, "Background")

    def reconcile_deletions(self) -> None:
        """Finish deletions whose finalizers the simulated controllers own."""
        if self._reconciling:
            self._reconcile_again = True
            return
        self._reconciling = True
        try:
            again = True
            while again:
                self._reconcile_again = False
                for entry in sorted(self._pending):
                    self._reconcile_one(entry)
                again = self._reconcile_again
        finally:
            self._reconciling = False

    def _reconcile_one(self, entry: tuple) -> None:
        gr, ns, name = entry
        obj = self.store.get(gr, ns, name)
        rt = self.registry.storage_type(*gr)
        if obj is None or rt is None:
            self._pending.discard(entry)
            return
        finalizers = list(meta(obj).get("finalizers") or [])
        keep = [f for f in finalizers if not self._finalizer_done(rt, obj, f)]
        spec_done = rt.gr == NAMESPACES and (obj.get("spec") or {}).get("finalizers") and \
            self._namespace_empty(name)
        if keep == finalizers and not spec_done:
            return
        if not keep and (rt.gr != NAMESPACES or spec_done or not (obj.get("spec") or {}).get("finalizers")):
            self.finish_deletion(rt, obj)
            return

        def change(o: dict) -> None:
            if keep:
                o["metadata"]["finalizers"] = keep
            else:
                o["metadata"].pop("finalizers", None)
            if spec_done:
                o["spec"]["finalizers"] = []
        self.controller_write(rt, obj, change, subresource="")
        self._reconcile_again = True

    def _finalizer_done(self, rt: ResourceType, obj: dict, finalizer: str) -> bool:
        if finalizer == FOREGROUND:
            return not self._live_dependents(meta(obj).get("uid"))
        if finalizer == ORPHAN:
            self._orphan_dependents(meta(obj).get("uid"))
            return True
        if finalizer == CRD_CLEANUP and rt.gr == CRDS:
            cr_rt = self._crd_storage_type(obj)
            return cr_rt is None or self.store.count(cr_rt.gr) == 0
        return False

    def _namespace_empty(self, namespace: str) -> bool:
        for content_rt in self.registry.stored_types():
            if content_rt.namespaced and self.store.count(content_rt.gr, namespace):
                return False
        return True


def _set_condition(obj: dict, kind: str, status: str, reason: str, message: str) -> None:
    conditions = [c for c in (obj.setdefault("status", {}).get("conditions") or []) if c.get("type") != kind]
    conditions.append({"type": kind, "status": status, "lastTransitionTime": now(), "reason": reason,
                       "message": message})
    obj["status"]["conditions"] = conditions


def _key(rt: ResourceType, obj: dict) -> tuple:
    m = meta(obj)
    return (m.get("namespace", "") if rt.namespaced else "", m.get("name", ""))


def _drop_owner(obj: dict, uid: Optional[str]) -> None:
    refs = [r for r in obj["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
    if refs:
        obj["metadata"]["ownerReferences"] = refs
    else:
        obj["metadata"].pop("ownerReferences", None)


def _success(rt: ResourceType, obj: dict) -> dict[str, Any]:
    details = {"name": meta(obj).get("name", "")}
    if rt.group:
        details["group"] = rt.group
    details["kind"] = rt.plural
    details["uid"] = meta(obj).get("uid", "")
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
