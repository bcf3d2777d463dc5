"""Custom resources against their CRD's structural schema: pruning of unknown
fields (reported for ``fieldValidation``), ``default`` values, and the
OpenAPI checks that answer 422 (type, required, enum, bounds, pattern).
CEL rules (``x-kubernetes-validations``) are not evaluated."""
from __future__ import annotations

import copy
import re
from typing import Any, Optional

from .errors import FieldError

META_FIELDS = {"name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
               "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels",
               "annotations", "ownerReferences", "finalizers", "managedFields"}


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def prune(obj: dict, schema: Optional[dict]) -> tuple[dict, list[str]]:
    """Drop fields the schema does not know; return the object and the dropped paths."""
    unknown: list[str] = []
    if not schema:
        return obj, unknown
    result = {}
    props = schema.get("properties") or {}
    for key, value in obj.items():
        if key in ("apiVersion", "kind"):
            result[key] = value
        elif key == "metadata" and isinstance(value, dict):
            result[key] = _prune_meta(value, "metadata", unknown)
        elif key in props:
            result[key] = _prune(value, props[key], key, unknown)
        elif schema.get("x-kubernetes-preserve-unknown-fields"):
            result[key] = value
        else:
            unknown.append(key)
    return result, unknown


def _prune_meta(meta: dict, path: str, unknown: list) -> dict:
    out = {}
    for key, value in meta.items():
        if key in META_FIELDS:
            out[key] = value
        else:
            unknown.append(_join(path, key))
    return out


def _prune(value: Any, schema: dict, path: str, unknown: list) -> Any:
    if isinstance(value, dict):
        if schema.get("x-kubernetes-embedded-resource"):
            out = prune(value, schema)
            unknown.extend(_join(path, u) for u in out[1])
            return out[0]
        props = schema.get("properties")
        additional = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields")
        out = {}
        for key, item in value.items():
            if props and key in props:
                out[key] = _prune(item, props[key], _join(path, key), unknown)
            elif isinstance(additional, dict):
                out[key] = _prune(item, additional, _join(path, key), unknown)
            elif preserve or additional is True:
                out[key] = item
            elif props is None and not additional and schema.get("type") != "object":
                out[key] = item
            else:
                unknown.append(_join(path, key))
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_prune(item, schema["items"], f"{path}[{i}]", unknown) for i, item in enumerate(value)]
    return value


def apply_defaults(value: Any, schema: Optional[dict]) -> Any:
    if not schema:
        return value
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for key, sub in props.items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                value[key] = apply_defaults(value[key], sub)
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            for key in value:
                if key not in props:
                    value[key] = apply_defaults(value[key], additional)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [apply_defaults(item, schema["items"]) for item in value]
    return value


_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}


_TYPE_NAMES = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (list, "array"),
               (dict, "object"))


def _type_name(value: Any) -> str:
    return next((name for kind, name in _TYPE_NAMES if isinstance(value, kind)), "null")


def validate(obj: dict, schema: Optional[dict]) -> list[FieldError]:
    errors: list[FieldError] = []
    if not schema:
        return errors
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
    top = dict(schema)
    top["properties"] = {k: v for k, v in (schema.get("properties") or {}).items()
                         if k not in ("apiVersion", "kind", "metadata")}
    _check(body, top, "", errors)
    return errors


def _check(value: Any, schema: dict, path: str, errors: list) -> None:
    if value is None:
        if not schema.get("nullable"):
            errors.append(FieldError(path, "Invalid value", f"{path} in body must be of type "
                                     f"{schema.get('type', 'object')}: \"null\"", None, True))
        return
    if schema.get("x-kubernetes-int-or-string"):
        if not isinstance(value, (int, str)) or isinstance(value, bool):
            errors.append(FieldError(path, "Invalid value", f"{path} in body must be of type integer,string: "
                                     f'"{_type_name(value)}"', value, True))
        return
    expected = schema.get("type")
    if expected and expected in _TYPES and not _TYPES[expected](value):
        errors.append(FieldError(path, "Invalid value", f"{path} in body must be of type {expected}: "
                                 f'"{_type_name(value)}"', value, True))
        return
    if "enum" in schema and value not in schema["enum"]:
        supported = ", ".join(f'"{e}"' if isinstance(e, str) else str(e) for e in schema["enum"])
        errors.append(FieldError(path, "Unsupported value", f"supported values: {supported}", value, True))
    _check_bounds(value, schema, path, errors)
    if isinstance(value, dict):
        _check_object(value, schema, path, errors)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            _check(item, schema["items"], f"{path}[{i}]", errors)


def _check_object(value: dict, schema: dict, path: str, errors: list) -> None:
    for name in schema.get("required") or []:
        if name not in value:
            errors.append(FieldError(_join(path, name), "Required value"))
    props = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    for key, item in value.items():
        if key in props:
            _check(item, props[key], _join(path, key), errors)
        elif isinstance(additional, dict):
            _check(item, additional, _join(path, key), errors)


def _check_bounds(value: Any, schema: dict, path: str, errors: list) -> None:
    checks = []
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            checks.append(f"should be greater than or equal to {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            checks.append(f"should be less than or equal to {schema['maximum']}")
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            checks.append(f"may not be longer than {schema['maxLength']}")
        if "minLength" in schema and len(value) < schema["minLength"]:
            checks.append(f"should be at least {schema['minLength']} chars long")
        pattern = schema.get("pattern")
        if pattern:
            try:
                if not re.search(pattern, value):
                    checks.append(f"should match '{pattern}'")
            except re.error:
                pass
    if isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            checks.append(f"must have at most {schema['maxItems']} items")
        if "minItems" in schema and len(value) < schema["minItems"]:
            checks.append(f"should have at least {schema['minItems']} items")
    for detail in checks:
        errors.append(FieldError(path, "Invalid value", f"{path} in body {detail}", value, True))
