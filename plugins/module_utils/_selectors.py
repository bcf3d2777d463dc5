# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether two control planes' ``meshConfig.discoverySelectors`` can select the same namespace.

A control plane's selectors are ORed; a control plane without selectors sees every
namespace. Two selectors overlap unless their requirements on some label key
contradict each other, so the check errs on the side of reporting an overlap.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Set

_ANY = None  # no constraint on the values of a key


class _KeyConstraint:
    """What one selector demands of one label key."""

    def __init__(self) -> None:
        self.allowed: Optional[Set[str]] = _ANY  # the value must be one of these
        self.excluded: Set[str] = set()
        self.must_exist = False
        self.must_not_exist = False

    def allow(self, values: Set[str]) -> None:
        self.must_exist = True
        self.allowed = set(values) if self.allowed is _ANY else self.allowed & set(values)

    def merge(self, other: "_KeyConstraint") -> "_KeyConstraint":
        merged = _KeyConstraint()
        merged.allowed = other.allowed if self.allowed is _ANY else (
            self.allowed if other.allowed is _ANY else self.allowed & other.allowed)
        merged.excluded = self.excluded | other.excluded
        merged.must_exist = self.must_exist or other.must_exist
        merged.must_not_exist = self.must_not_exist or other.must_not_exist
        return merged

    def satisfiable(self) -> bool:
        if self.must_exist and self.must_not_exist:
            return False
        if self.allowed is not _ANY:
            return bool(self.allowed - self.excluded) and not self.must_not_exist
        return True


def _constraints(selector: Mapping[str, Any]) -> Dict[str, _KeyConstraint]:
    constraints: Dict[str, _KeyConstraint] = {}
    for key, value in (selector.get("matchLabels") or {}).items():
        constraints.setdefault(key, _KeyConstraint()).allow({str(value)})
    for expression in selector.get("matchExpressions") or []:
        constraint = constraints.setdefault(expression.get("key"), _KeyConstraint())
        operator, values = expression.get("operator"), {str(v) for v in expression.get("values") or []}
        if operator == "In":
            constraint.allow(values)
        elif operator == "NotIn":
            constraint.excluded |= values
        elif operator == "Exists":
            constraint.must_exist = True
        elif operator == "DoesNotExist":
            constraint.must_not_exist = True
    return constraints


def selectors_intersect(first: Mapping[str, Any], second: Mapping[str, Any]) -> bool:
    """Whether some set of namespace labels satisfies both label selectors."""
    a, b = _constraints(first), _constraints(second)
    for key in set(a) | set(b):
        merged = a.get(key, _KeyConstraint()).merge(b.get(key, _KeyConstraint()))
        if not merged.satisfiable():
            return False
    return True


def discovery_selectors(values: Mapping[str, Any]) -> List[Mapping[str, Any]]:
    return list(((values or {}).get("meshConfig") or {}).get("discoverySelectors") or [])


def selectors_overlap(first: List[Mapping[str, Any]], second: List[Mapping[str, Any]]) -> bool:
    """Control planes without selectors see everything, so they overlap with anyone."""
    if not first or not second:
        return True
    return any(selectors_intersect(a, b) for a in first for b in second)
