"""Object verbs as the API server implements them: get, list, create, update,
patch (merge, JSON, strategic, apply), with dry-run, preconditions,
generation, status subresource, managed fields and no-op detection.

``ApiCore`` is the base of ``cluster.Cluster``; deletion lives in
``lifecycle.py`` and reactions to writes in ``controllers.py``."""
from __future__ import annotations

import base64
import dataclasses
import json
import random
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import yaml

from . import crschema, defaults, patch as patches, ssa, typed, validation
from .errors import (ApiError, FieldError, already_exists, bad_request, invalid,
                     not_found, plain_error, stale_conflict, unsupported_media_type)
from .registry import Registry, ResourceType
from .selectors import field_matcher, label_matcher, parse_field_selector, parse_label_selector
from .store import Store, meta

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
APPLY_PATCH_CBOR = "application/apply-patch+cbor"
PATCH_TYPES = [JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, APPLY_PATCH]
NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"


@dataclass
class Call:
    """One API request, as the HTTP layer parsed it."""
    verb: str
    rt: ResourceType
    namespace: str = ""
    name: str = ""
    subresource: str = ""
    query: dict = field(default_factory=dict)
    body: Any = None
    content_type: str = JSON
    user_agent: str = ""
    record: dict = field(default_factory=dict)   # request-log entry, filled as we go
    warnings: list = field(default_factory=list)

    @property
    def dry_run(self) -> bool:
        return self.query.get("dryRun") == "All"

    def flag(self, name: str) -> bool:
        return str(self.query.get(name, "")).lower() in ("1", "t", "true")

    @property
    def field_manager(self) -> str:
        manager = self.query.get("fieldManager")
        if manager:
            return manager
        agent = self.user_agent or "unknown"
        return agent.split("/", 1)[0][:128]


def now() -> str:
    return ssa.now_rfc3339()


def deep(obj: Any) -> Any:
    """Fast deep copy of JSON data."""
    return json.loads(json.dumps(obj))


def random_suffix(length: int = 5) -> str:
    return "".join(random.choice(NAME_CHARS) for _unused in range(length))


def object_key(rt: ResourceType, obj: dict) -> tuple:
    m = meta(obj)
    return (m.get("namespace", "") if rt.namespaced else "", m.get("name", ""))


class ApiCore:
    registry: Registry
    store: Store

    # Hooks implemented by the mixins.
    def after_write(self, rt: ResourceType, old: Optional[dict], new: dict) -> None: ...
    def delete_object(self, rt: ResourceType, obj: dict, policy: str) -> tuple[dict, bool]: ...
    def reconcile_deletions(self) -> None: ...

    # -- helpers -----------------------------------------------------------------

    def storage_rt(self, rt: ResourceType) -> ResourceType:
        return self.registry.storage_type(rt.group, rt.plural) or rt

    def lookup(self, rt: ResourceType, namespace: str, name: str) -> Optional[dict]:
        return self.store.get(rt.gr, namespace if rt.namespaced else "", name)

    def must_get(self, rt: ResourceType, namespace: str, name: str) -> dict:
        obj = self.lookup(rt, namespace, name)
        if obj is None:
            raise not_found(rt.plural, rt.group, name)
        return obj

    def at_version(self, rt: ResourceType, obj: dict) -> dict:
        """The object as served at the request's version (CRD conversion 'None')."""
        if obj.get("apiVersion") == rt.group_version:
            return obj
        out = dict(obj)
        out["apiVersion"] = rt.group_version
        return out

    def _check_type(self, rt: ResourceType, body: Any) -> dict:
        if not isinstance(body, dict):
            raise bad_request("the object provided is unrecognized (must be of type " + rt.kind + ")")
        api_version = body.get("apiVersion")
        kind = body.get("kind")
        if api_version and api_version != rt.group_version:
            group, _unused, version = api_version.rpartition("/")
            if group != rt.group or version not in rt.served_versions:
                raise bad_request(f"the API version in the data ({api_version}) does not match the expected "
                                  f"API version ({rt.group_version})")
        if kind and kind != rt.kind:
            raise bad_request(f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})")
        obj = {"apiVersion": rt.group_version, "kind": rt.kind}
        obj.update((k, v) for k, v in deep(body).items() if k not in obj)
        if not isinstance(obj.get("metadata"), dict):
            obj["metadata"] = {}
        return obj

    def _check_namespace(self, call: Call, obj: dict) -> None:
        m = obj["metadata"]
        if not call.rt.namespaced:
            m.pop("namespace", None)
            return
        body_ns = m.get("namespace")
        if body_ns and call.namespace and body_ns != call.namespace:
            raise bad_request("the namespace of the provided object does not match the namespace sent on "
                              "the request")
        m["namespace"] = call.namespace or body_ns or ""

    def _require_namespace(self, namespace: str, creating: bool) -> None:
        ns = self.store.get(("", "namespaces"), "", namespace)
        if ns is None:
            raise not_found("namespaces", "", namespace)
        if creating and meta(ns).get("deletionTimestamp"):
            raise ApiError(403, f"unable to create new content in namespace {namespace} because it is being "
                           "terminated", "Forbidden",
                           {"name": namespace, "kind": "namespaces",
                            "causes": [{"reason": "NamespaceTerminating", "message": "namespace "
                                        f"{namespace} is being terminated", "field": "metadata.namespace"}]})

    def _decode(self, call: Call, rt: ResourceType, obj: dict) -> dict:
        """What decoding does: prune and default custom resources; for built-ins
        drop unknown fields, encode as the Go type would, warn about duplicates
        and default."""
        if rt.builtin:
            validation.decode_nulls(rt, obj)
            self._check_decodable(rt, obj)
            root = typed.kind_type(rt.group, rt.version, rt.kind)
            if root is not None:
                unknown = typed.prune_unknown(obj, root)
                try:
                    typed.normalize(obj, root)
                except typed.DecodeError as exc:
                    raise self._undecodable(rt, exc.in_field) from None
                self._field_validation(call, rt, unknown)
            call.warnings.extend(validation.duplicate_warnings(rt, obj))
            defaults.apply_defaults(rt.group, rt.kind, obj)
            return obj
        pruned, unknown = crschema.prune(obj, rt.openapi)
        self._field_validation(call, rt, unknown)
        return crschema.apply_defaults(pruned, rt.openapi)

    def _undecodable(self, rt: ResourceType, problem: str) -> ApiError:
        return bad_request(f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: {problem}')

    def _check_decodable(self, rt: ResourceType, obj: dict) -> None:
        problem = validation.decode_error(rt, obj)
        if problem:
            raise self._undecodable(rt, problem)

    def _field_validation(self, call: Call, rt: ResourceType, unknown: list[str]) -> None:
        if not unknown:
            return
        mode = call.query.get("fieldValidation", "Warn")
        if mode == "Strict":
            rendered = ", ".join(f'unknown field "{u}"' for u in unknown)
            raise ApiError(400, f"{rt.kind} in version \"{rt.version}\" cannot be handled as a {rt.kind}: "
                           f"strict decoding error: {rendered}", "BadRequest")
        if mode == "Warn":
            call.warnings.extend(f'unknown field "{u}"' for u in unknown)

    def _validate(self, rt: ResourceType, obj: dict, old: Optional[dict] = None) -> None:
        errors = validation.validate(rt, obj, old)
        if not rt.builtin:
            errors.extend(crschema.validate(obj, rt.openapi))
        errors.extend(self.validate_kind(rt, obj, old))
        if errors:
            raise invalid(rt.kind, rt.group, meta(obj).get("name", ""), errors)

    def validate_kind(self, rt: ResourceType, obj: dict, old: Optional[dict]) -> list[FieldError]:
        return []

    def _scope(self, rt: ResourceType, subresource: str) -> str:
        if subresource == "status":
            return "status"
        return "main" if rt.has_status else "all"

    # -- reads ---------------------------------------------------------------------

    def get(self, call: Call) -> tuple[int, dict]:
        obj = self.must_get(call.rt, call.namespace, call.name)
        if call.subresource == "scale":
            return 200, self.scale_of(call.rt, obj)
        return 200, self.at_version(call.rt, obj)

    def matcher(self, call: Call) -> Callable[[dict], bool]:
        labels = label_matcher(parse_label_selector(call.query.get("labelSelector")))
        fields = field_matcher(parse_field_selector(call.query.get("fieldSelector"), call.rt.field_labels))

        def match(obj: dict) -> bool:
            return labels(meta(obj).get("labels") or {}) and fields(obj)
        return match

    def list_objects(self, call: Call) -> tuple[list[dict], dict]:
        """Matching objects (one page) and the list metadata."""
        rt = call.rt
        match = self.matcher(call)
        with self.store.lock:
            rv = self.store.rv
            candidates = self.store.label_candidates(rt.gr, parse_label_selector(call.query.get("labelSelector")))
            items = self.store.items(rt.gr, call.namespace if rt.namespaced else "", candidates)
        start = self._continue_start(call.query.get("continue"))
        if start is not None:
            items = [o for o in items if _sort_key(o) > start]
        limit = _int(call.query.get("limit"), 0)
        selected: list[dict] = []
        more = False
        remaining = 0
        for index, obj in enumerate(items):
            if not match(obj):
                continue
            if limit and len(selected) >= limit:
                more = True
                if not call.query.get("labelSelector") and not call.query.get("fieldSelector"):
                    remaining = len(items) - index
                break
            selected.append(obj)
        list_meta: dict = {"resourceVersion": str(rv)}
        if more:
            list_meta["continue"] = _continue_token(rv, _sort_key(selected[-1]))
            if remaining:
                list_meta["remainingItemCount"] = remaining
        return selected, list_meta

    def list(self, call: Call) -> tuple[int, "EncodedList"]:
        items, list_meta = self.list_objects(call)
        return 200, EncodedList(self, call.rt, items, list_meta)

    def _continue_start(self, token: Optional[str]) -> Optional[tuple]:
        if not token:
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            ns, _unused, name = data["start"].rstrip("\x00").partition("/")
            return (ns, name) if name else ("", ns)
        except (ValueError, KeyError, TypeError):
            raise bad_request("continue key is not valid: invalid continue token") from None

    # -- create -------------------------------------------------------------------------

    def create(self, call: Call) -> tuple[int, dict]:
        rt = call.rt
        obj = self._check_type(rt, call.body)
        self._check_namespace(call, obj)
        obj = self._decode(call, rt, obj)
        managed = self._record(call, None, obj)
        return self._create(call, obj, managed)

    def _record(self, call: Call, old: Optional[dict], new: dict) -> list[dict]:
        """managedFields after a non-apply write. A request may overwrite them:
        ``[{}]`` clears them, another non-empty list replaces them; an empty or
        missing list keeps the server's (clients unaware of the field)."""
        rt = call.rt
        incoming = new["metadata"].get("managedFields")
        if incoming == [{}]:
            return []
        base = self._comparable(old, rt) if old is not None else None
        if incoming and (old is None or not ssa.same_entries(incoming, meta(old).get("managedFields"))):
            base = dict(base or {"metadata": {}})
            base["metadata"] = dict(base.get("metadata") or {}, managedFields=incoming)
            if old is None:
                entries = ssa.read_entries(base)
                extra = ssa.record_update(None, new, rt.schema, call.field_manager, rt.group_version,
                                          self._scope(rt, call.subresource), call.subresource, rt.builtin)
                return ssa.write_entries(entries + ssa.read_entries({"metadata": {"managedFields": extra}}))
        return ssa.record_update(base, new, rt.schema, call.field_manager, rt.group_version,
                                 self._scope(rt, call.subresource), call.subresource, rt.builtin)

    def _create(self, call: Call, obj: dict, managed: list[dict]) -> tuple[int, dict]:
        rt = call.rt
        m = obj["metadata"]
        if rt.namespaced:
            if not m.get("namespace"):
                raise bad_request("an empty namespace may not be set during creation")
            self._require_namespace(m["namespace"], True)
        if not m.get("name") and m.get("generateName"):
            m["name"] = m["generateName"] + random_suffix()
        self._prepare_create(rt, obj)
        m = obj["metadata"]
        if managed:
            m["managedFields"] = managed
        else:
            m.pop("managedFields", None)
        self._validate(rt, obj)
        if self.lookup(rt, m.get("namespace", ""), m["name"]) is not None:
            raise already_exists(rt.plural, rt.group, m["name"])
        if call.dry_run:
            m.pop("resourceVersion", None)
            return 201, self.at_version(rt, obj)
        stored = self.persist(rt, obj, None)
        call.record["persisted"] = True
        self.after_write(self.storage_rt(rt), None, stored)
        return 201, self.at_version(rt, stored)

    def _prepare_create(self, rt: ResourceType, obj: dict) -> None:
        """Strategy PrepareForCreate plus system metadata."""
        m = obj["metadata"]
        for key in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            m.pop(key, None)
        m["uid"] = str(uuid.uuid4())
        m["creationTimestamp"] = now()
        if rt.generation:
            m["generation"] = 1
        else:
            m.pop("generation", None)
        if rt.has_status and not (rt.builtin and rt.plural == "nodes"):
            obj.pop("status", None)
        self.prepare_kind(rt, obj, None)
        self._default_stored(rt, obj)
        obj["apiVersion"] = self.storage_rt(rt).group_version
        obj["metadata"] = _ordered_meta(m)

    def _default_stored(self, rt: ResourceType, obj: dict) -> None:
        """Custom resources are defaulted again after the strategy (the real
        server also defaults when reading from storage): a schema default of
        ``status`` shows up although create/update reset status."""
        if not rt.builtin:
            crschema.apply_defaults(obj, rt.openapi)

    def prepare_kind(self, rt: ResourceType, obj: dict, old: Optional[dict]) -> None:
        """Per-kind strategy hook (initial status, IP allocation...)."""

    # -- update ---------------------------------------------------------------------------

    def update(self, call: Call) -> tuple[int, dict]:
        rt = call.rt
        if call.subresource == "scale":
            return self.update_scale(call)
        obj = self._check_type(rt, call.body)
        self._check_namespace(call, obj)
        if obj["metadata"].get("name") and obj["metadata"]["name"] != call.name:
            raise bad_request(f"the name of the object ({obj['metadata']['name']}) does not match the name on "
                              f"the URL ({call.name})")
        obj["metadata"]["name"] = call.name
        obj = self._decode(call, rt, obj)
        old = self.must_get(rt, call.namespace, call.name)
        wanted_rv = obj["metadata"].get("resourceVersion")
        if not wanted_rv and not rt.unconditional_update:
            raise invalid(rt.kind, rt.group, call.name, [FieldError(
                "metadata.resourceVersion", "Invalid value", "must be specified for an update", "0x0", False)])
        return self._update(call, old, obj)

    def _update(self, call: Call, old: dict, new: dict, managed: Optional[list] = None) -> tuple[int, dict]:
        rt = call.rt
        wanted_rv = new["metadata"].get("resourceVersion")
        if wanted_rv and wanted_rv != meta(old).get("resourceVersion"):
            raise stale_conflict(rt.plural, rt.group, call.name)
        if managed is None:
            managed = self._record(call, old, new)
        merged = self._prepare_update(rt, old, new, call.subresource)
        if managed:
            merged["metadata"]["managedFields"] = managed
        else:
            merged["metadata"].pop("managedFields", None)
        self._validate(rt, merged, old)
        if _same(old, merged):
            return 200, self.at_version(rt, old)
        if call.dry_run:
            return 200, self.at_version(rt, merged)
        call.record["persisted"] = True
        m = merged["metadata"]
        if m.get("deletionTimestamp") and not m.get("finalizers"):
            return 200, self.at_version(rt, self.finish_deletion(rt, merged))
        stored = self.persist(rt, merged, old)
        self.after_write(self.storage_rt(rt), old, stored)
        if m.get("deletionTimestamp"):
            self.reconcile_deletions()
        return 200, self.at_version(rt, stored)

    def _comparable(self, old: dict, rt: ResourceType) -> dict:
        """The live object at the request's version, for field-manager comparison."""
        return self.at_version(rt, old)

    def _prepare_update(self, rt: ResourceType, old: dict, new: dict, subresource: str) -> dict:
        """Strategy PrepareForUpdate: system metadata is kept, status and spec
        are reset depending on the endpoint, generation follows spec changes."""
        old_meta = meta(old)
        if subresource == "status":
            merged = dict(old)
            merged["metadata"] = dict(old_meta)
            if "status" in new:
                merged["status"] = new["status"]
            else:
                merged.pop("status", None)
        else:
            merged = new
            merged["metadata"] = dict(new["metadata"])
            if rt.has_status:
                if "status" in old:
                    merged["status"] = old["status"]
                else:
                    merged.pop("status", None)
        m = merged["metadata"]
        for key in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "namespace",
                    "name", "generation", "resourceVersion"):
            if key in old_meta:
                m[key] = old_meta[key]
            else:
                m.pop(key, None)
        if old_meta.get("deletionTimestamp"):
            m["finalizers"] = [f for f in m.get("finalizers") or [] if f in (old_meta.get("finalizers") or [])]
            if not m["finalizers"]:
                m.pop("finalizers")
        m.pop("selfLink", None)
        merged["apiVersion"] = old.get("apiVersion", merged.get("apiVersion"))
        if rt.generation and _spec_of(old, rt) != _spec_of(merged, rt):
            m["generation"] = int(old_meta.get("generation") or 0) + 1
        self.prepare_kind(rt, merged, old)
        self._default_stored(rt, merged)
        merged["metadata"] = _ordered_meta(m)
        return merged

    # -- patch ------------------------------------------------------------------------------

    def patch(self, call: Call) -> tuple[int, dict]:
        rt = call.rt
        content_type = call.content_type
        if content_type not in PATCH_TYPES:
            raise unsupported_media_type(content_type, PATCH_TYPES + [APPLY_PATCH_CBOR])
        if content_type == STRATEGIC_PATCH and not rt.builtin:
            raise unsupported_media_type(content_type, [JSON_PATCH, MERGE_PATCH, APPLY_PATCH, APPLY_PATCH_CBOR])
        if content_type == APPLY_PATCH:
            return self.apply(call)
        if call.subresource == "scale":
            return self.patch_scale(call)
        old = self.must_get(rt, call.namespace, call.name)
        current = deep(self.at_version(rt, old))
        patched = self._apply_patch(content_type, current, call.body, rt)
        obj = self._check_type(rt, patched)
        obj["metadata"]["name"] = call.name
        if rt.namespaced:
            obj["metadata"]["namespace"] = call.namespace
        obj = self._decode(call, rt, obj)
        return self._update(call, old, obj)

    def _apply_patch(self, content_type: str, current: dict, body: Any, rt: ResourceType) -> Any:
        if content_type == JSON_PATCH:
            return patches.json_patch(current, body)
        if not isinstance(body, dict):
            raise bad_request("json: cannot unmarshal array into Go value of type map[string]interface {}")
        if content_type == MERGE_PATCH:
            return patches.merge_patch(current, body)
        result = patches.strategic_merge(current, body, rt.schema)
        return {} if result is patches.MISSING else result

    def apply(self, call: Call) -> tuple[int, dict]:
        rt = call.rt
        manager = call.query.get("fieldManager")
        if not manager:
            raise ApiError(422, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is '
                           "required for apply patch", "Invalid")
        config = self._check_type(rt, call.body)
        sent = _gvknn(rt, config)
        self._check_typed_patch(rt, config, sent)
        name = config["metadata"].get("name")
        if name and name != call.name:
            raise bad_request(f"the name of the object ({name}) does not match the name on the URL ({call.name})")
        config["metadata"]["name"] = call.name
        self._check_namespace(call, config)
        config = self._apply_config(call, rt, config)
        force = call.flag("force")
        old = self.lookup(rt, call.namespace, call.name)
        scope = self._scope(rt, call.subresource)
        if old is None:
            if call.subresource:
                raise not_found(rt.plural, rt.group, call.name)
            merged, managed = ssa.apply(None, config, rt.schema, manager, rt.group_version, force, scope,
                                        "", rt.builtin)
            merged = self._decode_builtin(rt, deep(merged), sent)
            return self._create(call, merged, managed)
        live = self._comparable(old, rt)
        merged, managed = ssa.apply(live, config, rt.schema, manager, rt.group_version, force, scope,
                                    call.subresource, rt.builtin)
        merged = self._decode_builtin(rt, deep(merged), _gvknn(rt, merged))
        merged["metadata"].pop("resourceVersion", None)
        wanted = config["metadata"].get("resourceVersion")
        if wanted:
            merged["metadata"]["resourceVersion"] = wanted
        return self._update(call, old, merged, managed)

    def _check_typed_patch(self, rt: ResourceType, config: dict, sent: str) -> None:
        """Server-side apply converts the configuration of a built-in kind to a
        typed value first; undeclared fields, wrong JSON types and duplicate keys
        fail there, whatever ``fieldValidation`` says, with a plain 500."""
        root = typed.kind_type(rt.group, rt.version, rt.kind) if rt.builtin else None
        if root is None:
            return
        problems = typed.patch_errors(config, root, rt.schema)
        if problems:
            rendered = problems[0] if len(problems) == 1 else "errors:\n" + "\n".join(f"  {p}" for p in problems)
            raise plain_error(f"failed to create typed patch object ({sent}): {rendered}")

    def _apply_config(self, call: Call, rt: ResourceType, config: dict) -> dict:
        if rt.builtin:
            if typed.kind_type(rt.group, rt.version, rt.kind) is None:
                self._check_decodable(rt, config)
            return config
        pruned, unknown = crschema.prune(config, rt.openapi)
        self._field_validation(call, rt, unknown)
        return pruned

    def _decode_builtin(self, rt: ResourceType, obj: dict, gvknn: str) -> dict:
        """The merged object of an apply, converted to the Go type and defaulted."""
        if not rt.builtin:
            return crschema.apply_defaults(obj, rt.openapi)
        root = typed.kind_type(rt.group, rt.version, rt.kind)
        try:
            if root is not None:
                typed.normalize(obj, root)
        except typed.DecodeError as exc:
            gvk = f"{rt.group}/{rt.version}, Kind={rt.kind}"
            raise plain_error(f"failed to convert new object ({gvknn}) to proper version: unable to convert "
                              f"unstructured object to {gvk}: {exc}") from None
        defaults.apply_defaults(rt.group, rt.kind, obj)
        return obj

    # -- scale subresource ---------------------------------------------------------------------

    def scale_of(self, rt: ResourceType, obj: dict) -> dict:
        if not rt.scale_paths:
            raise not_found(rt.plural + "/scale", rt.group, meta(obj).get("name", ""))
        spec_path, status_path, selector_path = rt.scale_paths
        m = meta(obj)
        scale = {"kind": "Scale", "apiVersion": "autoscaling/v1",
                 "metadata": {k: m[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                              if k in m},
                 "spec": {"replicas": _path_get(obj, spec_path) or 0},
                 "status": {"replicas": _path_get(obj, status_path) or 0}}
        if selector_path:
            selector = _path_get(obj, selector_path)
            if isinstance(selector, dict):
                from .selectors import selector_to_string
                selector = selector_to_string(selector)
            if selector:
                scale["status"]["selector"] = selector
        return scale

    def _write_scale(self, call: Call, old: dict, replicas: Any) -> tuple[int, dict]:
        rt = call.rt
        if not isinstance(replicas, int) or replicas < 0:
            raise invalid("Scale", "autoscaling", call.name, [FieldError(
                "spec.replicas", "Invalid value", "must be greater than or equal to 0", replicas, True)])
        new = deep(old)
        _path_set(new, rt.scale_paths[0], replicas)
        inner = dataclasses.replace(call, subresource="")
        status, body = self._update(inner, old, new)
        return status, self.scale_of(rt, self.lookup(rt, call.namespace, call.name) if not call.dry_run else body)

    def update_scale(self, call: Call) -> tuple[int, dict]:
        old = self.must_get(call.rt, call.namespace, call.name)
        body = call.body if isinstance(call.body, dict) else {}
        wanted = meta(body).get("resourceVersion")
        if wanted and wanted != meta(old).get("resourceVersion"):
            raise stale_conflict(call.rt.plural, call.rt.group, call.name)
        return self._write_scale(call, old, (body.get("spec") or {}).get("replicas"))

    def patch_scale(self, call: Call) -> tuple[int, dict]:
        old = self.must_get(call.rt, call.namespace, call.name)
        current = self.scale_of(call.rt, old)
        patched = self._apply_patch(call.content_type, deep(current), call.body, call.rt)
        return self._write_scale(call, old, (patched.get("spec") or {}).get("replicas"))

    # -- storage ---------------------------------------------------------------------------------

    def persist(self, rt: ResourceType, obj: dict, old: Optional[dict]) -> dict:
        """Store an object (at its storage version)."""
        srt = self.storage_rt(rt)
        obj["apiVersion"] = srt.group_version
        return self.store.put(srt.gr, obj, old is None)

    def controller_write(self, rt: ResourceType, old: dict, change: Callable[[dict], None],
                         manager: str = "kube-controller-manager", subresource: str = "status") -> dict:
        """A write made by a simulated controller: not a client request, so it is
        not logged; it still gets managed fields and a new resourceVersion."""
        with self.store.lock:
            current = self.store.get(rt.gr, *object_key(rt, old))
            if current is None:
                return old
            new = deep(current)
            change(new)
            if _same(current, new):
                return current
            managed = ssa.record_update(current, new, rt.schema, manager, rt.group_version,
                                        "status" if subresource == "status" else "all", subresource, rt.builtin)
            new["metadata"]["managedFields"] = managed
            if subresource != "status" and rt.generation and _spec_of(current, rt) != _spec_of(new, rt):
                new["metadata"]["generation"] = int(meta(current).get("generation") or 0) + 1
            return self.store.put(rt.gr, new, False)


class EncodedList:
    """A list answer whose items are written from the per-object JSON cache,
    so large lists cost a join rather than a full re-encoding."""

    def __init__(self, api: ApiCore, rt: ResourceType, items: list[dict], list_meta: dict):
        self.api = api
        self.rt = rt
        self.items = items
        self.metadata = list_meta

    def head(self) -> dict:
        return {"kind": self.rt.kind + "List", "apiVersion": self.rt.group_version, "metadata": self.metadata}

    def encode(self) -> bytes:
        rt = self.rt
        store = self.api.store
        if rt.builtin:
            parts = [store.encoded(rt.gr, o, True) for o in self.items]
        else:
            parts = [store.encoded(rt.gr, o, False) if o.get("apiVersion") == rt.group_version
                     else json.dumps(self.api.at_version(rt, o), separators=(",", ":")).encode()
                     for o in self.items]
        head = json.dumps(self.head(), separators=(",", ":")).encode()
        return head[:-1] + b',"items":[' + b",".join(parts) + b"]}\n"

    def as_dict(self) -> dict:
        return json.loads(self.encode())


# -- module helpers ------------------------------------------------------------------------

META_ORDER = ("name", "generateName", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
              "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences",
              "finalizers", "managedFields")


def _ordered_meta(m: dict) -> dict:
    out = {k: m[k] for k in META_ORDER if k in m}
    out.update({k: v for k, v in m.items() if k not in out})
    return out


def _gvknn(rt: ResourceType, obj: dict) -> str:
    """``namespace/name; group/version, Kind=Kind`` of an object, as Go's field manager names it."""
    m = meta(obj)
    return f"{m.get('namespace') or ''}/{m.get('name') or ''}; {rt.group}/{rt.version}, Kind={rt.kind}"


def _spec_of(obj: dict, rt: ResourceType) -> dict:
    skip = ("metadata", "status") if rt.has_status else ("metadata",)
    return {k: v for k, v in obj.items() if k not in skip and k not in ("apiVersion", "kind")}


def _same(old: dict, new: dict) -> bool:
    """Equal apart from resourceVersion and apiVersion (a no-op write)."""
    a = {k: v for k, v in old.items() if k not in ("metadata", "apiVersion")}
    b = {k: v for k, v in new.items() if k not in ("metadata", "apiVersion")}
    if a != b:
        return False
    ma = {k: v for k, v in meta(old).items() if k != "resourceVersion"}
    mb = {k: v for k, v in meta(new).items() if k != "resourceVersion"}
    return ma == mb


def _sort_key(obj: dict) -> tuple:
    m = meta(obj)
    return (m.get("namespace") or "", m.get("name") or "")


def _continue_token(rv: int, last: tuple) -> str:
    start = f"{last[0]}/{last[1]}" if last[0] else last[1]
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start + "\x00"}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _path_get(obj: dict, path: str) -> Any:
    current: Any = obj
    for part in path.lstrip(".").split("."):
        if not isinstance(current, dict):
            return None
        current = current.get(part)
    return current


def _path_set(obj: dict, path: str, value: Any) -> None:
    parts = path.lstrip(".").split(".")
    current = obj
    for part in parts[:-1]:
        current = current.setdefault(part, {})
    current[parts[-1]] = value


def parse_body(raw: bytes, content_type: str) -> Any:
    """Request bodies are JSON; apply patches may be YAML."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        if content_type == APPLY_PATCH:
            try:
                loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
                return yaml.load(raw, Loader=loader)
            except yaml.YAMLError as exc:
                raise bad_request(f"error decoding YAML: {exc}") from None
        raise bad_request("the object provided is unrecognized: invalid JSON body") from None
