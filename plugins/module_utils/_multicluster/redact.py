# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keeping keys, tokens and kubeconfigs out of results, diffs and error messages.

Ansible's ``no_log`` only hides module *parameters*; what a module generates
(a CA key, a service-account token, a kubeconfig) must be kept out of its
result by the module itself.
"""
from __future__ import annotations

import copy
import hashlib
import re
from typing import Any, Dict, Iterable, List, Mapping

_PEM_BLOCK = re.compile(r"-----BEGIN [A-Z0-9 ]+-----.*?-----END [A-Z0-9 ]+-----", re.S)
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
# base64 long enough to be a key, certificate or kubeconfig (hex digests are shorter than this)
_LONG_BASE64 = re.compile(r"[A-Za-z0-9+/]{96,}={0,2}")
SECRET_FIELDS = ("data", "stringData")


def scrub(text: str) -> str:
    """``text`` without PEM blocks, JWTs and long base64 runs (for error messages)."""
    text = _PEM_BLOCK.sub("<redacted PEM>", text)
    text = _JWT.sub("<redacted token>", text)
    return _LONG_BASE64.sub("<redacted>", text)


def fingerprint(value: Any) -> str:
    """A short digest that shows whether a hidden value changed, and nothing of the value."""
    raw = value.encode("utf-8") if isinstance(value, str) else bytes(value or b"")
    return hashlib.sha256(raw).hexdigest()[:12]


def redact_object(obj: Mapping[str, Any]) -> Dict[str, Any]:
    """A Secret's data values replaced by digests; other objects unchanged (copied)."""
    result = copy.deepcopy(dict(obj or {}))
    if result.get("kind") != "Secret":
        return result
    for field in SECRET_FIELDS:
        values = result.get(field)
        if isinstance(values, dict):
            result[field] = {key: "<redacted sha256:%s>" % fingerprint(value) for key, value in values.items()}
    annotations = (result.get("metadata") or {}).get("annotations") or {}
    # kubectl keeps the whole applied object, data included, in this annotation
    annotations.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    return result


def redacted_diffs(diffs: Iterable[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """Per-object Ansible diffs with Secret contents hidden."""
    return [dict(diff, before=redact_object(diff.get("before") or {}), after=redact_object(diff.get("after") or {}))
            for diff in diffs]
