# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Errors of the Kubernetes adapter; every message names the object or the host."""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError


class K8sError(IstioError):
    """Base class of the adapter's errors.

    ``partial`` may carry what was done before the failure (an ApplyResult or a
    DeleteResult) so that callers can still record it.
    """

    def __init__(self, message: str, partial: Any = None) -> None:
        super().__init__(message)
        self.partial = partial


class ClusterUnreachable(K8sError):
    """No usable answer from the API server (connection refused, TLS, DNS, timeouts)."""


class KindNotServed(K8sError):
    """The API server does not serve this apiVersion/kind (CRD missing or not established)."""


class ApiError(K8sError):
    """The API server answered with an error Status."""

    def __init__(self, message: str, status: int = 0, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class ConflictError(ApiError):
    """Server-side apply refused to take fields owned by another field manager."""

    def __init__(self, message: str, conflicts: Sequence[Tuple[str, str]] = ()) -> None:
        super().__init__(message, status=409, reason="Conflict")
        # (manager, field) pairs as the API server reported them
        self.conflicts: List[Tuple[str, str]] = list(conflicts)


class InvalidObject(K8sError):
    """A rendered object the adapter cannot handle (no name, no namespace, duplicate)."""


class WaitTimeout(K8sError):
    """Objects did not become ready in time; ``pending`` lists (object, reason)."""

    def __init__(self, timeout: float, pending: Sequence[Tuple[str, str]],
                 message: Optional[str] = None) -> None:
        self.timeout = timeout
        self.pending: List[Tuple[str, str]] = list(pending)
        lines = ["  %s: %s" % item for item in self.pending]
        super().__init__(message or "timed out after %gs waiting for %d object(s):\n%s"
                         % (timeout, len(self.pending), "\n".join(lines)))
