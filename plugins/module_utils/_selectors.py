# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether two control planes' ``meshConfig.discoverySelectors`` select the same namespace.

A control plane's selectors are ORed; a control plane without selectors sees every
namespace. Two selectors *could* overlap unless their requirements on some label key
contradict each other (``selectors_intersect``: a namespace with both sets of labels
could exist). They *do* overlap when a namespace of the cluster is selected by both
(``shared_namespaces``); only that is refused, since the meshes then watch the same
namespace. Contradicting selectors are decided without looking at a namespace.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Set

_ANY = None  # no constraint on the values of a key
NAME_LABEL = "kubernetes.io/metadata.name"  # the API server puts it on every namespace
# how callers allow an overlap anyway: the modules' option and the control_plane role's variable
ALLOW_OPTION = "allow_selector_overlap"
ALLOW_ROLE_VARIABLE = "istio_allow_selector_overlap"


def _value(value: Any) -> str:
    """A selector value as istiod reads it: YAML's true is the label value "true"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


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
        constraints.setdefault(key, _KeyConstraint()).allow({_value(value)})
    for expression in selector.get("matchExpressions") or []:
        constraint = constraints.setdefault(expression.get("key"), _KeyConstraint())
        operator, values = expression.get("operator"), {_value(v) for v in expression.get("values") or []}
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


# -- the namespaces that are there --------------------------------------------------------------

def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Whether a namespace with ``labels`` is selected by one label selector."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != _value(value):
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression.get("key"), expression.get("operator")
        values = {_value(v) for v in expression.get("values") or []}
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def selected_by(selectors: List[Mapping[str, Any]], labels: Mapping[str, str]) -> bool:
    return not selectors or any(selector_matches(selector, labels) for selector in selectors)


def shared_namespaces(first: List[Mapping[str, Any]], second: List[Mapping[str, Any]],
                      namespaces: Mapping[str, Mapping[str, str]]) -> List[str]:
    """The namespaces (name -> labels) both control planes' selectors select."""
    if not selectors_overlap(first, second):
        return []
    shared = []
    for name, labels in namespaces.items():
        labels = dict(labels, **{NAME_LABEL: name})
        if selected_by(first, labels) and selected_by(second, labels):
            shared.append(name)
    return sorted(shared)


def overlap_refusal(ours: str, theirs: str, shared: List[str]) -> str:
    """The refusal, naming how to allow it with the module (its option) and with the role (its variable)."""
    return ("the discovery selectors of %s and of %s both select namespaces %s, which both meshes would then "
            "watch; give each mesh meshConfig.discoverySelectors that select disjoint namespaces, or allow it: "
            "%s: true (the control_plane role: %s: true)"
            % (ours, theirs, ", ".join(shared), ALLOW_OPTION, ALLOW_ROLE_VARIABLE))
