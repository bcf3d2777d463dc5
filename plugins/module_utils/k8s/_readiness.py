# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Readiness predicates: ``predicate(live_object_or_None) -> (ready, reason)``.

Pure functions on the live object (None when it does not exist). The reason
says what is missing; it ends up in WaitTimeout messages.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Tuple

Readiness = Tuple[bool, str]
LiveObject = Optional[Mapping[str, Any]]


def _generation_observed(obj: Mapping[str, Any]) -> Optional[str]:
    generation = (obj.get("metadata") or {}).get("generation")
    observed = (obj.get("status") or {}).get("observedGeneration")
    if generation is not None and (observed is None or observed < generation):
        return "the controller has not yet observed generation %s" % generation
    return None


def _condition(obj: Mapping[str, Any], kind: str) -> Optional[Mapping[str, Any]]:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return condition
    return None


def deployment_ready(obj: LiveObject) -> Readiness:
    if obj is None:
        return False, "not found"
    pending = _generation_observed(obj)
    if pending:
        return False, pending
    wanted = (obj.get("spec") or {}).get("replicas", 1)
    if wanted == 0:
        return False, "scaled to zero replicas"
    status = obj.get("status") or {}
    progressing = _condition(obj, "Progressing")
    if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
        return False, "rollout exceeded its progress deadline: %s" % progressing.get("message", "")
    updated = status.get("updatedReplicas", 0)
    if updated < wanted:
        return False, "%d of %d replicas updated" % (updated, wanted)
    old = status.get("replicas", 0) - updated
    if old > 0:
        return False, "%d old replica(s) pending termination" % old
    available = status.get("availableReplicas", 0)
    if available < wanted:
        return False, "%d of %d replicas available" % (available, wanted)
    return True, "%d of %d replicas available" % (available, wanted)


def daemonset_ready(obj: LiveObject) -> Readiness:
    if obj is None:
        return False, "not found"
    pending = _generation_observed(obj)
    if pending:
        return False, pending
    status = obj.get("status") or {}
    scheduled = status.get("currentNumberScheduled", 0)
    if scheduled <= 0:
        return False, "no pods are scheduled"
    strategy = ((obj.get("spec") or {}).get("updateStrategy") or {}).get("type", "RollingUpdate")
    wanted = status.get("desiredNumberScheduled", scheduled)
    updated = status.get("updatedNumberScheduled", 0)
    # with OnDelete, pods are only replaced when someone deletes them
    if strategy != "OnDelete" and updated < wanted:
        return False, "%d of %d pods updated" % (updated, wanted)
    ready = status.get("numberReady", 0)
    if ready < scheduled:
        return False, "%d of %d pods ready" % (ready, scheduled)
    return True, "%d of %d pods ready" % (ready, scheduled)


def crd_established(obj: LiveObject) -> Readiness:
    if obj is None:
        return False, "not found"
    names = _condition(obj, "NamesAccepted")
    if names and names.get("status") == "False":
        return False, "names not accepted: %s" % names.get("message", "")
    established = _condition(obj, "Established")
    if established and established.get("status") == "True":
        return True, "established"
    return False, "not established yet"


def present(obj: LiveObject) -> Readiness:
    """For objects whose existence is the signal (a remote revision's injector MutatingWebhookConfiguration)."""
    return (True, "present") if obj is not None else (False, "not found")


def absent(obj: LiveObject) -> Readiness:
    if obj is None:
        return True, "gone"
    finalizers = (obj.get("metadata") or {}).get("finalizers") or []
    if finalizers:
        return False, "still present, waiting for finalizers %s" % ", ".join(finalizers)
    return False, "still present"

