"""Server-side apply and managed fields.

Field sets are Python sets of paths; a path is a tuple of fieldsV1 path
elements, spelled as in ``managedFields[].fieldsV1``: ``f:name`` for a field,
``k:{"name":"x"}`` for a list-map item, ``v:"x"`` for a set item.

The algorithm follows structured-merge-diff: an apply merges the
configuration into the live object, removes what the applier owned before
but no longer applies (unless someone else owns it), and reports a conflict
when it changes a field another manager owns. Updates (create/update/patch)
take over the fields they change and drop fields they remove."""
from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional

from .errors import ApiError
from .schema import Node

Path = tuple
FieldSet = set
MISSING = object()
KEY_DEFAULTS = {"protocol": "TCP"}

# Fields the server owns; never tracked in managedFields.
STRIPPED: FieldSet = {
    ("f:apiVersion",), ("f:kind",), ("f:metadata",), ("f:metadata", "f:name"),
    ("f:metadata", "f:namespace"), ("f:metadata", "f:creationTimestamp"), ("f:metadata", "f:selfLink"),
    ("f:metadata", "f:uid"), ("f:metadata", "f:generation"), ("f:metadata", "f:managedFields"),
    ("f:metadata", "f:resourceVersion"), ("f:metadata", "f:deletionTimestamp"),
    ("f:metadata", "f:deletionGracePeriodSeconds"), ("f:metadata", "f:generateName"),
}


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


# --- path elements -------------------------------------------------------------

def item_element(item: Any, node: Node) -> str:
    """The path element of an item of a granular list."""
    if node.list_type == "set":
        return "v:" + _dump(item)
    if not isinstance(item, dict):
        raise ApiError(422, f"associative list with keys has an element that is not a map: {_dump(item)}", "Invalid")
    key = {}
    for name in node.keys:
        if name in item:
            key[name] = item[name]
        elif name in KEY_DEFAULTS:
            key[name] = KEY_DEFAULTS[name]
        else:
            child = node.item().fields.get(name)
            raise ApiError(422, f'associative list with keys has an element that omits key field "{name}"'
                           + ("" if child is None else " (and doesn't have default value)"), "Invalid")
    return "k:" + _dump(key)


def _is_leaf(value: Any, node: Node) -> bool:
    if isinstance(value, dict):
        return node.atomic
    if isinstance(value, list):
        return not node.granular_list
    return True


# --- ToFieldSet: what an applied configuration sets -------------------------------

def to_field_set(value: Any, node: Node, path: Path = ()) -> FieldSet:
    out: FieldSet = set()
    _collect(value, node, path, out)
    return out


def _collect(value: Any, node: Node, path: Path, out: FieldSet) -> None:
    if _is_leaf(value, node):
        if path:
            out.add(path)
        return
    if isinstance(value, dict):
        for key, child_value in value.items():
            child = node.child(key)
            child_path = path + ("f:" + key,)
            _collect(child_value, child, child_path, out)
            if child_value is None or child_value == {} or not node.declares(key):
                out.add(child_path)
        return
    for item in value:
        item_path = path + (item_element(item, node),)
        if node.list_type == "map":
            _collect(item, node.item(), item_path, out)
        out.add(item_path)


# --- Compare: what changed between two objects -------------------------------------

@dataclass
class Comparison:
    added: FieldSet = field(default_factory=set)
    modified: FieldSet = field(default_factory=set)
    removed: FieldSet = field(default_factory=set)

    def changed(self) -> FieldSet:
        return self.added | self.modified

    def empty(self) -> bool:
        return not (self.added or self.modified or self.removed)


def compare(old: Any, new: Any, node: Node, typed: bool = False) -> Comparison:
    """``typed``: built-in objects, in which Go non-pointer structs (spec,
    metadata, template...) exist even when empty."""
    result = Comparison()
    _compare(old, new, node, (), result, typed)
    return result


def _compare(old: Any, new: Any, node: Node, path: Path, out: Comparison, typed: bool) -> None:
    if typed and node.zero:
        # Go non-pointer structs (and non-omitempty lists) always exist in built-in objects.
        if old is MISSING and isinstance(new, (dict, list)):
            old = type(new)()
        elif new is MISSING and isinstance(old, (dict, list)):
            new = type(old)()
    leaf = (old is MISSING or _is_leaf(old, node)) and (new is MISSING or _is_leaf(new, node))
    shapes_differ = old is not MISSING and new is not MISSING and type(old) is not type(new) \
        and not (isinstance(old, (int, float)) and isinstance(new, (int, float)))
    if leaf or shapes_differ:
        if old is MISSING:
            out.added.add(path)
        elif new is MISSING:
            out.removed.add(path)
        elif old != new:
            out.modified.add(path)
        return
    sample = new if new is not MISSING else old
    if isinstance(sample, dict):
        _compare_maps(old, new, node, path, out, typed)
    else:
        _compare_lists(old, new, node, path, out, typed)
    if path:
        if old is MISSING:
            out.added.add(path)
        elif new is MISSING:
            out.removed.add(path)


def _compare_maps(old: Any, new: Any, node: Node, path: Path, out: Comparison, typed: bool) -> None:
    old_map = old if isinstance(old, dict) else {}
    new_map = new if isinstance(new, dict) else {}
    for key in list(old_map) + [k for k in new_map if k not in old_map]:
        _compare(old_map.get(key, MISSING), new_map.get(key, MISSING), node.child(key),
                 path + ("f:" + key,), out, typed)


def _group_items(items: Any, node: Node) -> dict:
    """Items by path element; a key that occurs more than once (create and
    update accept that) maps to all its items."""
    grouped: dict = {}
    for item in items if isinstance(items, list) else []:
        grouped.setdefault(item_element(item, node), []).append(item)
    return grouped


def _compare_lists(old: Any, new: Any, node: Node, path: Path, out: Comparison, typed: bool) -> None:
    old_groups = _group_items(old, node)
    new_groups = _group_items(new, node)
    item_node = node.item() if node.list_type == "map" else Node()
    for element in list(old_groups) + [e for e in new_groups if e not in old_groups]:
        before_all = old_groups.get(element, [])
        after_all = new_groups.get(element, [])
        if len(before_all) > 1 or len(after_all) > 1:
            # Duplicated keys are owned as a whole, without their fields, as
            # structured-merge-diff does.
            if before_all != after_all:
                target = out.added if not before_all else out.removed if not after_all else out.modified
                target.add(path + (element,))
            continue
        before = before_all[0] if before_all else MISSING
        after = after_all[0] if after_all else MISSING
        if node.list_type == "set":
            if before is MISSING:
                out.added.add(path + (element,))
            elif after is MISSING:
                out.removed.add(path + (element,))
            continue
        _compare(before, after, item_node, path + (element,), out, typed)


# --- Merge: the applied configuration over the live object -------------------------

def merge(live: Any, config: Any, node: Node) -> Any:
    if config is None:
        return None
    if live is MISSING or live is None or _is_leaf(config, node) or type(live) is not type(config):
        return _copy(config)
    if isinstance(config, dict):
        result = dict(live)
        for key, value in config.items():
            merged = merge(live.get(key, MISSING), value, node.child(key))
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        return result
    return _merge_lists(live, config, node)


def _copy(value: Any) -> Any:
    return json.loads(json.dumps(value)) if isinstance(value, (dict, list)) else value


def _merge_lists(live: list, config: list, node: Node) -> list:
    """Items shared by both follow the configuration's order; items only in
    the live list keep their place; new items are inserted in order."""
    live_pes = [item_element(v, node) for v in live]
    conf_pes = [item_element(v, node) for v in config]
    live_by = dict(zip(live_pes, live))
    conf_by = dict(zip(conf_pes, config))
    for pe in {pe for pe in live_pes if live_pes.count(pe) > 1}:
        live_by[pe] = MISSING       # an applied item replaces all live duplicates of its key
    shared = [pe for pe in conf_pes if pe in live_by]
    item_node = node.item() if node.list_type == "map" else Node()
    out, done = [], set()
    li = ri = 0
    next_shared = shared.pop(0) if shared else None
    while li < len(live_pes) or ri < len(conf_pes):
        if li < len(live_pes) and ri < len(conf_pes):
            pe = live_pes[li]
            if pe == conf_pes[ri]:
                out.append(merge(live_by[pe], conf_by[pe], item_node))
                done.add(pe)
                li += 1
                ri += 1
                next_shared = shared.pop(0) if shared else None
                continue
            if pe in conf_by and next_shared is not None and next_shared != pe:
                li += 1
                continue
        if li < len(live_pes):
            pe = live_pes[li]
            if pe not in conf_by:
                out.append(live[li])
                li += 1
                continue
            if pe in done:
                li += 1
        if ri < len(conf_pes):
            pe = conf_pes[ri]
            done.add(pe)
            out.append(merge(live_by.get(pe, MISSING), conf_by[pe], item_node))
            ri += 1
            if next_shared is not None and next_shared == pe:
                next_shared = shared.pop(0) if shared else None
    return out


# --- removing fields ------------------------------------------------------------

def remove_paths(value: Any, paths: Iterable[Path], node: Node) -> Any:
    """Remove the nodes at ``paths`` (a path under another removed one is
    redundant); containers left empty by a removal go too."""
    chosen = set(paths)
    result = value
    for path in sorted(chosen, key=len):
        if any(path[:i] in chosen for i in range(1, len(path))):
            continue
        result = _remove(result, path, node)
    return result


def _remove(value: Any, path: Path, node: Node) -> Any:
    if not path:
        return MISSING
    head, rest = path[0], path[1:]
    if isinstance(value, dict) and head.startswith("f:"):
        name = head[2:]
        if name not in value:
            return value
        child = _remove(value[name], rest, node.child(name))
        result = dict(value)
        if child is MISSING or (rest and child in ({}, [])):
            result.pop(name)
        else:
            result[name] = child
        return result
    if isinstance(value, list) and head[:2] in ("k:", "v:"):
        item_node = node.item() if node.list_type == "map" else Node()
        out = []
        keys = {"f:" + k for k in node.keys}
        for item in value:
            if item_element(item, node) == head and not (len(rest) == 1 and rest[0] in keys):
                item = _remove(item, rest, item_node)
                if item is MISSING or (rest and item == {}):
                    continue
            out.append(item)
        return out
    return value


def has_descendant(paths: FieldSet, prefix: Path) -> bool:
    size = len(prefix)
    return any(len(p) > size and p[:size] == prefix for p in paths)


# --- fieldsV1 encoding --------------------------------------------------------------

def encode(paths: FieldSet) -> dict:
    tree: dict = {}
    for path in paths:
        node = tree
        for element in path:
            node = node.setdefault(element, {})
        node["."] = {}
    return _finish(tree)


def _finish(tree: dict) -> dict:
    out = {}
    children = {k: v for k, v in tree.items() if k != "."}
    if "." in tree and children:
        out["."] = {}
    for key in sorted(children, key=_element_order):
        out[key] = _finish(children[key])
    return out


def _element_order(element: str) -> tuple:
    return ({"f": 0, "k": 1, "v": 2, "i": 3}.get(element[0], 4), element)


def decode(fields_v1: Optional[dict]) -> FieldSet:
    out: FieldSet = set()
    _decode(fields_v1 or {}, (), out)
    return out


def _decode(tree: dict, path: Path, out: FieldSet) -> None:
    for key, sub in tree.items():
        if key == ".":
            out.add(path)
            continue
        child = path + (key,)
        if not sub:
            out.add(child)
        else:
            _decode(sub, child, out)


def render_path(path: Path) -> str:
    """``.spec.containers[name="x"].image`` as used in conflict messages."""
    text = ""
    for element in path:
        kind, body = element[0], element[2:]
        if kind == "f":
            text += "." + body
        elif kind == "k":
            pairs = json.loads(body)
            text += "[" + ",".join(f"{k}={_dump(v)}" for k, v in pairs.items()) + "]"
        elif kind == "v":
            text += "[" + body + "]"
        else:
            text += "[" + body + "]"
    return text


# --- managed fields bookkeeping --------------------------------------------------------

@dataclass
class Entry:
    manager: str
    operation: str
    api_version: str
    fields: FieldSet
    time: str = ""
    subresource: str = ""
    read_as: Optional[tuple] = None     # (fields, fieldsV1) as read, to skip re-encoding

    @property
    def key(self) -> tuple:
        return (self.manager, self.operation, self.subresource)

    def to_json(self) -> dict:
        out = {"manager": self.manager, "operation": self.operation, "apiVersion": self.api_version}
        if self.time:
            out["time"] = self.time
        out["fieldsType"] = "FieldsV1"
        unchanged = self.read_as is not None and self.read_as[0] == self.fields
        out["fieldsV1"] = self.read_as[1] if unchanged else encode(self.fields)
        if self.subresource:
            out["subresource"] = self.subresource
        return out


def _rfc3339(value: Any) -> str:
    """Times sent back by clients come in other spellings (+00:00, fractions)."""
    if not value:
        return ""
    text = str(value).replace("Z", "+00:00")
    try:
        stamp = datetime.datetime.fromisoformat(text)
    except ValueError:
        return str(value)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=datetime.timezone.utc)
    return stamp.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_entries(obj: dict) -> list[Entry]:
    entries = []
    for raw in (obj.get("metadata") or {}).get("managedFields") or []:
        if not isinstance(raw, dict):
            continue
        fields = decode(raw.get("fieldsV1"))
        entries.append(Entry(raw.get("manager", ""), raw.get("operation", "Update"), raw.get("apiVersion", ""),
                             fields, _rfc3339(raw.get("time")), raw.get("subresource") or "",
                             (frozenset(fields), raw.get("fieldsV1"))))
    return entries


def same_entries(a: Optional[list], b: Optional[list]) -> bool:
    """Equal managedFields, whatever the spelling of times and key order."""
    def norm(raw: Optional[list]) -> list:
        return sorted((e.key, e.api_version, e.time, sorted(e.fields)) for e in
                      read_entries({"metadata": {"managedFields": raw or []}}))
    return norm(a) == norm(b)


def write_entries(entries: list[Entry]) -> list[dict]:
    kept = [e for e in entries if e.fields]
    kept.sort(key=lambda e: (e.operation, e.time or "", e.manager))
    return [e.to_json() for e in kept]


def scope_filter(scope: str) -> Callable[[Path], bool]:
    """Which paths a write may own: ``main`` (everything but status when the
    kind has a status subresource), ``status`` (only status) or ``all``."""
    if scope == "status":
        return lambda p: bool(p) and p[0] == "f:status"
    if scope == "main":
        return lambda p: not p or p[0] != "f:status"
    return lambda p: True


def _filter(paths: FieldSet, keep: Callable[[Path], bool]) -> FieldSet:
    return {p for p in paths if p not in STRIPPED and keep(p)}


def _strip_for_apply(obj: Any) -> Any:
    if not isinstance(obj, dict):
        return obj
    out = dict(obj)
    metadata = dict(out.get("metadata") or {})
    for key in ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink",
                "deletionTimestamp", "deletionGracePeriodSeconds"):
        metadata.pop(key, None)
    out["metadata"] = metadata
    return out


def _manager_text(entry: Entry) -> str:
    """A manager as conflict messages name it: appliers by name, updaters with
    their API version (and subresource)."""
    text = json.dumps(entry.manager)
    if entry.subresource:
        text += f" with subresource {json.dumps(entry.subresource)}"
    if entry.operation == "Update":
        text += f" using {entry.api_version}"
    return text


def conflict_error(conflicts: dict) -> ApiError:
    """409 in the shape kube-apiserver uses for apply conflicts; ``conflicts``
    maps managers (``_manager_text``) to the paths they own that the apply changes."""
    total = sum(len(paths) for paths in conflicts.values())
    causes = []
    lines = []
    for manager, paths in sorted(conflicts.items()):
        rendered = sorted(render_path(p) for p in paths)
        for text in rendered:
            causes.append({"reason": "FieldManagerConflict", "message": f"conflict with {manager}", "field": text})
        lines.append(f"conflicts with {manager}:\n" + "\n".join(f"- {t}" for t in rendered))
    if total == 1:
        message = f"Apply failed with 1 conflict: {causes[0]['message']}: {causes[0]['field']}"
    else:
        message = f"Apply failed with {total} conflicts: " + "\n".join(lines)
    return ApiError(409, message, "Conflict", {"causes": causes})   # no name or kind, as the real server


def apply(live: Optional[dict], config: dict, node: Node, manager: str, api_version: str, force: bool,
          scope: str, subresource: str, typed: bool = False) -> tuple[dict, list[dict]]:
    """Merge ``config`` into ``live`` for ``manager``; return the new object
    (managedFields not yet set) and the new managedFields list."""
    ignored = scope_filter(scope)
    base = _strip_for_apply(live) if live is not None else {}
    entries = read_entries(live) if live is not None else []
    key = (manager, "Apply", subresource)
    previous = next((e for e in entries if e.key == key), None)
    config_clean = _strip_for_apply(config)
    config_set = _filter(to_field_set(config_clean, node), ignored)
    merged = merge(base, config_clean, node)
    others = [e for e in entries if e.key != key]
    owned_elsewhere: FieldSet = set().union(*(e.fields for e in others)) if others else set()
    if previous is not None:
        keep = config_set | owned_elsewhere
        drop = {p for p in previous.fields - keep if not has_descendant(keep, p)}
        merged = remove_paths(merged, drop, node)
    diff = compare(base, merged, node, typed=typed)
    changed = _filter(diff.changed(), ignored)
    removed = _filter(diff.removed, ignored)
    conflicts = {}
    for entry in others:
        clash = entry.fields & changed
        if clash:
            conflicts.setdefault(_manager_text(entry), set()).update(clash)
    if conflicts and not force:
        raise conflict_error(conflicts)
    for entry in others:
        entry.fields = entry.fields - changed - removed
    unchanged = previous is not None and previous.fields == config_set and previous.api_version == api_version
    mine = Entry(manager, "Apply", api_version, config_set,
                 previous.time if unchanged and previous.time else now_rfc3339(), subresource)
    result = others + [mine]
    return merged, write_entries(result)


def record_update(old: Optional[dict], new: dict, node: Node, manager: str, api_version: str,
                  scope: str, subresource: str, builtin: bool) -> list[dict]:
    """managedFields after a non-apply write by ``manager``."""
    ignored = scope_filter(scope)
    entries = read_entries(old) if old is not None else []
    before = _strip_for_apply(old) if old is not None else MISSING
    diff = compare(before, _strip_for_apply(new), node, typed=builtin)
    added = _filter(diff.added, ignored)
    modified = _filter(diff.modified, ignored)
    removed = _filter(diff.removed, ignored)
    key = (manager, "Update", subresource)
    mine = next((e for e in entries if e.key == key), None)
    for entry in entries:
        if entry is not mine:
            entry.fields = entry.fields - added - modified - removed
    if mine is None:
        mine = Entry(manager, "Update", api_version, set(), "", subresource)
        entries.append(mine)
    new_fields = (mine.fields - removed) | modified | added
    if new_fields != mine.fields or added or modified or removed or mine.api_version != api_version:
        mine.time = now_rfc3339()
    mine.fields = new_fields
    mine.api_version = api_version
    return write_entries(entries)
