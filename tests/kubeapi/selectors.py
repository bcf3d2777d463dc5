"""Label and field selectors: the query-string syntax (``a=b,c in (x,y),!d``)
and the structured ``LabelSelector`` (matchLabels + matchExpressions)."""
from __future__ import annotations

import re
from typing import Callable, Optional

from .errors import bad_request

Requirement = tuple[str, str, tuple]   # (key, operator, values)
_KEY = r"[A-Za-z0-9][-A-Za-z0-9_./]*"
_VALUE = r"[-A-Za-z0-9_.]*"
_TOKEN = re.compile(
    rf"\s*(?:(?P<not>!)\s*(?P<nkey>{_KEY})"
    rf"|(?P<key>{_KEY})\s*(?:(?P<setop>in|notin)\s*\((?P<values>[^)]*)\)"
    rf"|(?P<op>==|=|!=|>|<)\s*(?P<value>{_VALUE}))?)\s*(?:,|$)")


def parse_label_selector(text: Optional[str]) -> list[Requirement]:
    if not text:
        return []
    requirements: list[Requirement] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise bad_request(f"unable to parse requirement: found '{text[pos:]}', expected: identifier")
        requirements.append(_requirement(match))
        pos = match.end()
    return requirements


def _requirement(match: re.Match) -> Requirement:
    if match.group("not"):
        return (match.group("nkey"), "!", ())
    key = match.group("key")
    if match.group("setop"):
        values = tuple(v.strip() for v in match.group("values").split(",") if v.strip())
        return (key, match.group("setop"), values)
    op = match.group("op")
    if op is None:
        return (key, "exists", ())
    if op in (">", "<") and not re.fullmatch(r"-?\d+", match.group("value") or ""):
        raise bad_request(f"unable to parse requirement: for '{op}' operator, the value must be an integer")
    return (key, {"==": "="}.get(op, op), (match.group("value"),))


def _matches(req: Requirement, labels: dict) -> bool:
    key, op, values = req
    present = key in labels
    value = labels.get(key)
    if op == "=":
        return present and value == values[0]
    if op == "!=":
        return not present or value != values[0]
    if op == "in":
        return present and value in values
    if op == "notin":
        return not present or value not in values
    if op == "exists":
        return present
    if op == "!":
        return not present
    if op in (">", "<"):
        try:
            number = int(value) if present else None
        except (TypeError, ValueError):
            return False
        if number is None:
            return False
        return number > int(values[0]) if op == ">" else number < int(values[0])
    return False


def label_matcher(requirements: list[Requirement]) -> Callable[[dict], bool]:
    if not requirements:
        return lambda labels: True
    # Fast path for the common all-equality selector.
    if all(op == "=" for _unused, op, _unused in requirements):
        pairs = [(k, v[0]) for k, _unused, v in requirements]
        return lambda labels: all(labels.get(k) == v for k, v in pairs)
    return lambda labels: all(_matches(r, labels) for r in requirements)


def structured_selector_requirements(selector: Optional[dict]) -> Optional[list[Requirement]]:
    """Requirements of a metav1.LabelSelector; None means 'matches nothing'
    (a null selector), [] means 'matches everything' (an empty one)."""
    if selector is None:
        return None
    requirements: list[Requirement] = [(k, "=", (v,)) for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        op = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}.get(expr.get("operator"))
        if op is None:
            raise bad_request(f"{expr.get('operator')!r} is not a valid label selector operator")
        requirements.append((expr.get("key", ""), op, tuple(expr.get("values") or ())))
    return requirements


def selector_matches(selector: Optional[dict], labels: Optional[dict]) -> bool:
    requirements = structured_selector_requirements(selector)
    if requirements is None:
        return False
    return all(_matches(r, labels or {}) for r in requirements)


def selector_to_string(selector: Optional[dict]) -> str:
    """Render a LabelSelector the way Scale.status.selector shows it."""
    parts = []
    for key, op, values in sorted(structured_selector_requirements(selector) or []):
        if op == "=":
            parts.append(f"{key}={values[0]}")
        elif op in ("in", "notin"):
            parts.append(f"{key} {op} ({','.join(sorted(values))})")
        elif op == "exists":
            parts.append(key)
        else:
            parts.append(f"!{key}")
    return ",".join(parts)


# --- field selectors ---------------------------------------------------------

def parse_field_selector(text: Optional[str], supported: tuple) -> list[tuple[str, str, str]]:
    if not text:
        return []
    terms = []
    for part in _split_unescaped(text):
        part = part.strip()
        if not part:
            continue
        match = re.fullmatch(r"([^=!]+?)\s*(==|=|!=)\s*(.*)", part)
        if not match:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, value = match.group(1), match.group(2), match.group(3)
        if field not in supported:
            raise bad_request(f'field label not supported: {field}')
        terms.append((field, "!=" if op == "!=" else "=", _unescape(value)))
    return terms


def _split_unescaped(text: str) -> list[str]:
    parts, current, escaped = [], "", False
    for char in text:
        if escaped:
            current += "\\" + char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def field_value(obj: dict, path: str) -> str:
    """Field-selector value of an object: dotted path, rendered as a string."""
    current = obj
    for part in path.split("."):
        if not isinstance(current, dict):
            return ""
        current = current.get(part)
    if current is None:
        return ""
    if isinstance(current, bool):
        return "true" if current else "false"
    return str(current)


def field_matcher(terms: list[tuple[str, str, str]]) -> Callable[[dict], bool]:
    if not terms:
        return lambda obj: True

    def match(obj: dict) -> bool:
        for path, op, value in terms:
            actual = field_value(obj, path)
            if path == "spec.unschedulable" and actual == "":
                actual = "false"
            if (actual == value) != (op == "="):
                return False
        return True
    return match
