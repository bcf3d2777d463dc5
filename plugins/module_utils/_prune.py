# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which inactive revisions of a control plane may be removed, and when.

The reference operator times the grace period from the moment its InUse
condition last flipped. A push-style tool has no controller watching, so the
time a revision was first seen unused is recorded in its inventory record
(``inactive_since``); the grace period then spans separate playbook runs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Dict, List, Optional

from ansible_collections.servicemesh.istio.plugins.module_utils._clock import (  # noqa: F401 (the lifecycle's names) pylint: disable=unused-import
    format_time, parse_time, utcnow)
from ansible_collections.servicemesh.istio.plugins.module_utils._inuse import Usage

KEEP, PRUNE = "keep", "prune"


@dataclass
class RevisionState:
    """What the decision needs to know about one revision."""

    name: str
    usage: Usage
    inactive_since: Optional[datetime] = None
    external_istiod: bool = False


@dataclass
class PruneDecision:
    name: str
    action: str
    reason: str
    inactive_since: Optional[datetime] = None  # the value to record from now on
    prune_after: Optional[datetime] = None
    held_by: List[str] = field(default_factory=list)

    def as_dict(self) -> Dict[str, object]:
        return {"revision": self.name, "action": self.action, "reason": self.reason,
                "inactive_since": format_time(self.inactive_since), "prune_after": format_time(self.prune_after),
                "held_by": self.held_by}


def decide(revision: RevisionState, active: str, grace_seconds: int, now: datetime,
           force: bool = False) -> PruneDecision:
    """Keep or prune one revision; never the active one, never one in use unless forced."""
    held_by = revision.usage.reasons()
    if revision.name == active:
        return PruneDecision(revision.name, KEEP, "it is the active revision", None, held_by=held_by)
    if revision.usage.in_use and not force:
        return PruneDecision(revision.name, KEEP, "it is in use: " + "; ".join(held_by), None, held_by=held_by)
    if revision.usage.in_use:
        return PruneDecision(revision.name, PRUNE, "forced while in use: " + "; ".join(held_by),
                             revision.inactive_since, held_by=held_by)
    if revision.external_istiod and not force:
        return PruneDecision(revision.name, KEEP, "EXTERNAL_ISTIOD is set: its use on remote clusters cannot be seen",
                             revision.inactive_since or now)
    since = revision.inactive_since or now
    prune_after = since + timedelta(seconds=max(grace_seconds, 0))
    if now >= prune_after:
        return PruneDecision(revision.name, PRUNE, "unused since %s" % format_time(since), since, prune_after)
    return PruneDecision(revision.name, KEEP, "unused since %s; the grace period ends at %s"
                         % (format_time(since), format_time(prune_after)), since, prune_after)


def next_prune_time(decisions: List[PruneDecision]) -> Optional[datetime]:
    pending = [d.prune_after for d in decisions if d.action == KEEP and d.prune_after]
    return min(pending) if pending else None
