# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Times as Kubernetes writes them (RFC 3339, UTC) and ages as ``kubectl get`` prints them."""
from __future__ import annotations

import datetime
from typing import Optional

_SECONDS = "%Y-%m-%dT%H:%M:%SZ"
_MICROSECONDS = "%Y-%m-%dT%H:%M:%S.%fZ"  # a Lease's MicroTime


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def utcnow() -> datetime.datetime:
    """Now, to the second, as object timestamps are."""
    return now().replace(microsecond=0)


def format_time(moment: Optional[datetime.datetime]) -> Optional[str]:
    return moment.astimezone(datetime.timezone.utc).strftime(_SECONDS) if moment else None


def micro_time(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).strftime(_MICROSECONDS)


def parse_time(text: Optional[str]) -> Optional[datetime.datetime]:
    """A Time or MicroTime; None when absent or unreadable (a hand-edited field is not worth failing for)."""
    for layout in (_SECONDS, _MICROSECONDS):
        try:
            return datetime.datetime.strptime(text or "", layout).replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            continue
    return None


def human_age(created: Optional[str], at: Optional[datetime.datetime] = None) -> str:
    """The AGE column of ``kubectl get``: the two largest units, fewer as the age grows."""
    moment = parse_time(created)
    if moment is None:
        return "<unknown>"
    seconds = int(((at or now()) - moment).total_seconds())
    if seconds < -1:
        return "<invalid>"
    return _human_duration(max(seconds, 0))


def _pair(major: int, major_unit: str, minor: int, minor_unit: str) -> str:
    return "%d%s%s" % (major, major_unit, "%d%s" % (minor, minor_unit) if minor else "")


def _human_duration(seconds: int) -> str:
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return "%ds" % seconds
    if minutes < 10:
        return _pair(minutes, "m", seconds % 60, "s")
    if minutes < 180:
        return "%dm" % minutes
    if hours < 8:
        return _pair(hours, "h", minutes % 60, "m")
    if hours < 48:
        return "%dh" % hours
    if days < 8:
        return _pair(days, "d", hours % 24, "h")
    if days < 365 * 2:
        return "%dd" % days
    if days < 365 * 8:
        return _pair(days // 365, "y", days % 365, "d")
    return "%dy" % (days // 365)
