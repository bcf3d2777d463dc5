"""PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and
strategic merge patch with its directives ($patch, $retainKeys,
$setElementOrder, $deleteFromPrimitiveList)."""
from __future__ import annotations

import copy
from typing import Any

from .errors import ApiError
from .schema import Node

MISSING = object()


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --- JSON patch --------------------------------------------------------------

def _patch_error(message: str) -> ApiError:
    # kube-apiserver answers patch application failures with 422.
    return ApiError(422, message, "Invalid")


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise _patch_error(f"invalid JSON pointer: {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _index(container: list, token: str, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return len(container)
    if not token.isdigit():
        raise _patch_error(f"invalid array index: {token}")
    index = int(token)
    limit = len(container) if allow_end else len(container) - 1
    if index > limit:
        raise _patch_error(f"array index out of bounds: {index}")
    return index


def _resolve(doc: Any, tokens: list[str]) -> Any:
    for token in tokens:
        if isinstance(doc, dict):
            if token not in doc:
                raise _patch_error(f"doc is missing path: /{'/'.join(tokens)}")
            doc = doc[token]
        elif isinstance(doc, list):
            doc = doc[_index(doc, token, False)]
        else:
            raise _patch_error(f"doc is missing path: /{'/'.join(tokens)}")
    return doc


def _add(doc: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent = _resolve(doc, tokens[:-1])
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, True), value)
    else:
        raise _patch_error(f"doc is missing path: /{'/'.join(tokens)}")
    return doc


def _remove(doc: Any, tokens: list[str]) -> Any:
    if not tokens:
        raise _patch_error("cannot remove the whole document")
    parent = _resolve(doc, tokens[:-1])
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise _patch_error(f"Unable to remove nonexistent key: {last}: missing value")
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_index(parent, last, False))
    raise _patch_error(f"doc is missing path: /{'/'.join(tokens)}")


def json_patch(doc: Any, operations: Any) -> Any:
    if not isinstance(operations, list):
        raise ApiError(400, "json: cannot unmarshal object into Go value of type jsonpatch.Patch",
                       "BadRequest")
    doc = copy.deepcopy(doc)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op:
            raise _patch_error("Unexpected kind: missing op")
        kind = op["op"]
        path = _pointer(op.get("path", ""))
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove(doc, path)
        elif kind == "replace":
            _resolve(doc, path)
            if not path:
                doc = copy.deepcopy(op.get("value"))
            else:
                _remove(doc, path)
                doc = _add(doc, path, copy.deepcopy(op.get("value")))
        elif kind in ("move", "copy"):
            source = _pointer(op.get("from", ""))
            value = _resolve(doc, source)
            value = _remove(doc, source) if kind == "move" else copy.deepcopy(value)
            doc = _add(doc, path, value)
        elif kind == "test":
            if _resolve(doc, path) != op.get("value"):
                raise _patch_error(f"testing value /{'/'.join(path)} failed: test failed")
        else:
            raise _patch_error(f"Unexpected kind: {kind}")
    return doc


# --- strategic merge patch ---------------------------------------------------

DIRECTIVE = "$patch"
RETAIN = "$retainKeys"
ORDER_PREFIX = "$setElementOrder/"
DELETE_PRIMITIVE_PREFIX = "$deleteFromPrimitiveList/"


def strategic_merge(original: Any, patch: Any, node: Node) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get(DIRECTIVE)
    if directive == "replace":
        return _strip_directives(patch)
    if directive == "delete":
        return MISSING
    if directive not in (None, "merge"):
        raise ApiError(400, f"Unknown patch type: {directive}", "BadRequest")
    result = dict(original) if isinstance(original, dict) else {}
    orders = {}
    for key, value in patch.items():
        if key in (DIRECTIVE, RETAIN):
            continue
        if key.startswith(ORDER_PREFIX):
            orders[key[len(ORDER_PREFIX):]] = value
            continue
        if key.startswith(DELETE_PRIMITIVE_PREFIX):
            field = key[len(DELETE_PRIMITIVE_PREFIX):]
            if isinstance(result.get(field), list):
                result[field] = [v for v in result[field] if v not in (value or [])]
            continue
        if value is None:
            result.pop(key, None)
            continue
        merged = _merge_field(result.get(key, MISSING), value, node.child(key))
        if merged is MISSING:
            result.pop(key, None)
        else:
            result[key] = merged
    for field, order in orders.items():
        if isinstance(result.get(field), list):
            result[field] = _apply_order(result[field], order, node.child(field))
    if RETAIN in patch:
        keep = set(patch[RETAIN] or [])
        result = {k: v for k, v in result.items() if k in keep}
    return result


def _merge_field(original: Any, value: Any, node: Node) -> Any:
    if isinstance(value, dict):
        base = original if isinstance(original, dict) else {}
        return strategic_merge(base, value, node)
    if isinstance(value, list):
        if "merge" in node.smp_strategy.split(","):
            base = original if isinstance(original, list) else []
            return _merge_list(base, value, node)
        return [_strip_directives(v) for v in value]
    return value


def _merge_list(original: list, patch: list, node: Node) -> list:
    if any(isinstance(v, dict) and v.get(DIRECTIVE) == "replace" for v in patch):
        return [_strip_directives(v) for v in patch
                if not (isinstance(v, dict) and v.get(DIRECTIVE) == "replace")]
    key = node.smp_key
    if not key or not all(isinstance(v, dict) for v in patch):
        # Primitive list with merge strategy: union, keeping order.
        result = list(original)
        for value in patch:
            if isinstance(value, dict) and value.get(DIRECTIVE) == "delete":
                continue
            if value not in result:
                result.append(value)
        return result
    result = [copy.deepcopy(v) for v in original]
    for item in patch:
        position = next((i for i, v in enumerate(result)
                         if isinstance(v, dict) and v.get(key) == item.get(key)), None)
        if item.get(DIRECTIVE) == "delete":
            if position is not None:
                result.pop(position)
            continue
        if position is None:
            result.append(strategic_merge({}, item, node.item()))
        else:
            result[position] = strategic_merge(result[position], item, node.item())
    return result


def _apply_order(items: list, order: list, node: Node) -> list:
    """Items named in $setElementOrder come first in that order; the rest keep
    their relative order after them."""
    key = node.smp_key

    def identity(value: Any) -> Any:
        if key and isinstance(value, dict):
            return value.get(key)
        return value
    wanted = [identity(o) for o in order]
    ranked = {w: i for i, w in enumerate(wanted)}
    listed = sorted((v for v in items if identity(v) in ranked), key=lambda v: ranked[identity(v)])
    rest = [v for v in items if identity(v) not in ranked]
    return listed + rest


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items()
                if k not in (DIRECTIVE, RETAIN) and not k.startswith(ORDER_PREFIX)
                and not k.startswith(DELETE_PRIMITIVE_PREFIX)}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value
