# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Readiness predicates: ``predicate(live_object_or_None) -> (ready, reason)``.

Pure functions on the live object (None when it does not exist). The reason
says what is missing; it ends up in WaitTimeout messages.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Tuple

Readiness = Tuple[bool, str]
LiveObject = Optional[Mapping[str, Any]]


def _missing_or_stale(obj: LiveObject) -> Optional[Readiness]:
    """Not ready because the object is missing, or its controller has not seen its spec yet."""
    if obj is None:
        return False, "not found"
    generation = (obj.get("metadata") or {}).get("generation")
    observed = (obj.get("status") or {}).get("observedGeneration")
    if generation is not None and (observed is None or observed < generation):
        return False, "the controller has not yet observed generation %s" % generation
    return None


def _shortfall(have: int, want: int, what: str) -> Optional[Readiness]:
    return (False, "%d of %d %s" % (have, want, what)) if have < want else None


def _first_problem(*problems: Optional[Readiness]) -> Optional[Readiness]:
    return next((problem for problem in problems if problem), None)


def _condition(obj: Mapping[str, Any], kind: str) -> Optional[Mapping[str, Any]]:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return condition
    return None


def deployment_ready(obj: LiveObject) -> Readiness:
    problem = _missing_or_stale(obj)
    if problem:
        return problem
    wanted = (obj.get("spec") or {}).get("replicas", 1)
    if wanted == 0:
        return False, "scaled to zero replicas"
    progressing = _condition(obj, "Progressing")
    if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
        return False, "rollout exceeded its progress deadline: %s" % progressing.get("message", "")
    status = obj.get("status") or {}
    updated, available = status.get("updatedReplicas", 0), status.get("availableReplicas", 0)
    old = status.get("replicas", 0) - updated
    return _first_problem(
        _shortfall(updated, wanted, "replicas updated"),
        (False, "%d old replica(s) pending termination" % old) if old > 0 else None,
        _shortfall(available, wanted, "replicas available"),
    ) or (True, "%d of %d replicas available" % (available, wanted))


def daemonset_ready(obj: LiveObject) -> Readiness:
    problem = _missing_or_stale(obj)
    if problem:
        return problem
    status = obj.get("status") or {}
    scheduled = status.get("currentNumberScheduled", 0)
    if scheduled <= 0:
        return False, "no pods are scheduled"
    strategy = ((obj.get("spec") or {}).get("updateStrategy") or {}).get("type", "RollingUpdate")
    wanted = status.get("desiredNumberScheduled", scheduled)
    ready = status.get("numberReady", 0)
    return _first_problem(
        # with OnDelete, pods are only replaced when someone deletes them
        None if strategy == "OnDelete" else _shortfall(status.get("updatedNumberScheduled", 0), wanted,
                                                       "pods updated"),
        _shortfall(ready, scheduled, "pods ready"),
    ) or (True, "%d of %d pods ready" % (ready, scheduled))


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


def webhooks_served(obj: LiveObject) -> Readiness:
    """istiod has taken up a webhook configuration: every webhook that calls a Service carries its CA.

    Until then the API server cannot verify istiod, and pods that hook must inject are refused."""
    if obj is None:
        return False, "not found"
    waiting = [hook.get("name", "?") for hook in obj.get("webhooks") or []
               if (hook.get("clientConfig") or {}).get("service") and not hook["clientConfig"].get("caBundle")]
    if waiting:
        return False, "istiod has not yet written its CA into webhook(s) %s" % ", ".join(waiting)
    return True, "istiod's CA is in every webhook"


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


# Kinds whose objects report readiness through a condition, with the predicate that reads it. Objects of
# other kinds (ValidatingAdmissionPolicies and their bindings, for one) have no such condition: a wait for
# one would never end, so there is nothing to wait for once the server has taken them.
CONDITION_READINESS = {
    ("apiextensions.k8s.io", "CustomResourceDefinition"): crd_established,
}


def readiness_of(obj: Mapping[str, Any]) -> Optional[Callable[[LiveObject], Readiness]]:
    """The predicate telling when ``obj`` (a manifest) is ready, or None when it is ready once applied."""
    group = str(obj.get("apiVersion") or "").rpartition("/")[0]
    return CONDITION_READINESS.get((group, obj.get("kind")))
