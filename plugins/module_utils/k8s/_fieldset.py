# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading server-side apply's ``managedFields`` (FieldsV1) without a schema.

Used to prove, without asking the API server, that applying an object again
would change nothing: our field manager already owns exactly the fields of the
desired object and every one of them already has the desired value. Whenever
the proof cannot be made (unknown list semantics, defaulted values, other
versions) the answer is "not proven" and the caller asks the server instead.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Dict, List, Mapping, Optional

_MISSING = object()
# Key fields the API server defaults when an applied list item leaves them out
# (container and service ports); the recorded item key then carries the default.
_KEY_DEFAULTS = {"protocol": "TCP"}
# Identity fields are part of every apply body but never recorded as owned.
_TOP_LEVEL_IDENTITY = ("apiVersion", "kind")
_METADATA_IDENTITY = ("name", "namespace")


def owned_fields(live: Optional[Mapping[str, Any]], manager: str,
                 api_version: Optional[str] = None) -> Optional[Dict[str, Any]]:
    """FieldsV1 our ``manager`` owns through Apply on the main resource, or None.

    With ``api_version`` set, an entry recorded for another version counts as
    none: field paths can differ between versions.
    """
    for entry in ((live or {}).get("metadata") or {}).get("managedFields") or []:
        if (entry.get("manager") == manager and entry.get("operation") == "Apply"
                and not entry.get("subresource") and entry.get("fieldsType", "FieldsV1") == "FieldsV1"):
            if api_version and entry.get("apiVersion") != api_version:
                return None
            return entry.get("fieldsV1") or {}
    return None


def _apply_entry(obj: Optional[Mapping[str, Any]], manager: str) -> Optional[Mapping[str, Any]]:
    for entry in ((obj or {}).get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") == manager and entry.get("operation") == "Apply" and not entry.get("subresource"):
            return entry
    return None


def applied_fingerprint(body: Mapping[str, Any], stored: Optional[Mapping[str, Any]], manager: str) -> str:
    """What an apply of ``body`` left in ``stored`` (the object as the server returned it), as one digest.

    The same fingerprint taken later from the live object and the same body means that applying it again
    changes nothing: our manager's entry in ``managedFields`` (its fields and its time) is exactly what our
    own apply left, and no one else can change a value of a field we own without taking that field from
    us, which changes the entry (other managers' fields, such as a ``caBundle``, do not count). "" when
    there is no entry of ours."""
    entry = _apply_entry(stored, manager)
    if entry is None:
        return ""
    metadata = (stored or {}).get("metadata") or {}
    proof = {"body": body, "uid": metadata.get("uid", ""), "apiVersion": entry.get("apiVersion"),
             "fieldsV1": entry.get("fieldsV1"), "time": entry.get("time")}
    text = json.dumps(proof, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def owns_path(fields: Optional[Mapping[str, Any]], path: List[str]) -> bool:
    """Whether ``fields`` contains the FieldsV1 ``path`` (e.g. ["f:webhooks", 'k:{"name":"x"}'])."""
    node: Any = fields
    for step in path:
        if not isinstance(node, Mapping) or step not in node:
            return False
        node = node[step]
    return True


def list_key(**key_fields: Any) -> str:
    """The FieldsV1 element key of an associative-list item, e.g. ``k:{"name":"x"}``."""
    return "k:" + json.dumps(key_fields, sort_keys=True, separators=(",", ":"))


def apply_is_noop(desired: Mapping[str, Any], live: Optional[Mapping[str, Any]], manager: str) -> bool:
    """True only if applying ``desired`` as ``manager`` provably changes nothing in ``live``."""
    if not live:
        return False
    body = _without_identity(desired)
    fields = owned_fields(live, manager, desired.get("apiVersion"))
    if not body:
        # nothing but a name: the server keeps no entry for an empty field set
        return not owned_fields(live, manager)
    if fields is None:
        return False
    return _matches(body, _without_identity(live), fields, top=True)


def _without_identity(obj: Mapping[str, Any]) -> Dict[str, Any]:
    body = {k: v for k, v in obj.items() if k not in _TOP_LEVEL_IDENTITY}
    metadata = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _METADATA_IDENTITY}
    if metadata:
        body["metadata"] = metadata
    else:
        body.pop("metadata", None)
    return body


def _children(fields: Mapping[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in fields.items() if k != "."}


def _matches(desired: Any, live: Any, fields: Any, top: bool = False) -> bool:
    if not isinstance(fields, Mapping):
        return False
    if isinstance(desired, Mapping):
        return _map_matches(desired, live, fields, top)
    if isinstance(desired, list):
        return _list_matches(desired, live, fields)
    # a leaf: owned as a whole, value identical including its JSON type
    return not _children(fields) and _same_scalar(desired, live)


def _same_scalar(a: Any, b: Any) -> bool:
    # bool is an int in Python, and 1 vs 1.0 may be serialised differently
    return type(a) is type(b) and a == b


def _map_matches(desired: Mapping[str, Any], live: Any, fields: Mapping[str, Any], top: bool) -> bool:
    if not isinstance(live, Mapping):
        return False
    children = _children(fields)
    if not children and not top:
        # an atomic struct (e.g. a label selector) or an empty map: owned as a whole
        return _same_json(desired, live)
    if set(children) != {"f:" + key for key in desired}:
        return False
    return all(_matches(value, live.get(key, _MISSING), children["f:" + key])
               for key, value in desired.items())


def _list_matches(desired: List[Any], live: Any, fields: Mapping[str, Any]) -> bool:
    if not isinstance(live, list):
        return False
    children = _children(fields)
    if not children:
        # atomic list: replaced as a whole
        return _same_json(desired, live)
    if len(children) != len(desired):
        return False
    if all(key.startswith("k:") for key in children):
        return _associative_list_matches(desired, live, children)
    if all(key.startswith("v:") for key in children):
        return _set_list_matches(desired, live, children)
    return False


def _associative_list_matches(desired: List[Any], live: List[Any], children: Mapping[str, Any]) -> bool:
    live_positions = []
    for element_key, element_fields in children.items():
        key_fields = _parse_element_key(element_key)
        if key_fields is None:
            return False
        desired_items = [item for item in desired if _has_key(item, key_fields)]
        live_items = [(i, item) for i, item in enumerate(live) if _has_key(item, key_fields)]
        if len(desired_items) != 1 or len(live_items) != 1:
            return False
        if not _matches(desired_items[0], live_items[0][1], element_fields):
            return False
        live_positions.append((desired.index(desired_items[0]), live_items[0][0]))
    # the merged list keeps the applied order; a reordered live list is a change
    return _same_relative_order(live_positions)


def _set_list_matches(desired: List[Any], live: List[Any], children: Mapping[str, Any]) -> bool:
    try:
        owned = {json.loads(key[2:]) for key in children}
    except (ValueError, TypeError):
        return False
    if any(isinstance(item, (dict, list)) for item in desired) or set(desired) != owned:
        return False
    ours_in_live = [item for item in live if item in owned]
    return _same_json(ours_in_live, desired)


def _parse_element_key(element_key: str) -> Optional[Dict[str, Any]]:
    try:
        key_fields = json.loads(element_key[2:])
    except ValueError:
        return None
    return key_fields if isinstance(key_fields, dict) and key_fields else None


def _has_key(item: Any, key_fields: Mapping[str, Any]) -> bool:
    return isinstance(item, Mapping) and all(
        _same_scalar(item[key], value) if key in item else _KEY_DEFAULTS.get(key) == value
        for key, value in key_fields.items())


def _same_relative_order(positions: List[tuple]) -> bool:
    in_live_order = [desired_index for desired_index, _position in sorted(positions, key=lambda p: p[1])]
    return in_live_order == sorted(in_live_order)


def _same_json(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
