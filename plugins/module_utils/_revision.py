# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Revision naming, as the reference operator names IstioRevisions.

- InPlace: the revision is the control plane's name.
- RevisionBased: ``<name>-<version with dots replaced by dashes>``; the version is
  taken as written (an alias is not resolved), so ``v1.30-latest`` gives
  ``<name>-v1-30-latest``.
- The revision ``default`` is rendered with ``revision: ""`` so that its injector
  serves ``istio-injection=enabled``.
"""
from __future__ import annotations

import re
from typing import List, Optional

from ansible_collections.servicemesh.istio.plugins.module_utils._errors import RevisionNameError
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import normalize_name

IN_PLACE = "InPlace"
REVISION_BASED = "RevisionBased"
STRATEGIES = (IN_PLACE, REVISION_BASED)
DEFAULT_REVISION = "default"

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_MAX = 63
# The longest object name that must stay a DNS-1123 label is the Service
# "istiod-<rev>"; Service names are limited to 63 characters.
_REVISION_MAX = _LABEL_MAX - len("istiod-")
# Revision tags: the Service "istiod-revision-tag-<tag>".
_TAG_MAX = _LABEL_MAX - len("istiod-revision-tag-")


def revision_name(name: str, version: Optional[str], strategy: Optional[str] = IN_PLACE) -> str:
    """The revision name of a control plane, validated."""
    strategy = strategy or IN_PLACE
    if strategy not in STRATEGIES:
        raise RevisionNameError(
            "update strategy %r is not supported; use one of %s" % (strategy, ", ".join(STRATEGIES)))
    validate_dns_label(name, "control plane name")
    if strategy == IN_PLACE:
        revision = name
    else:
        if not version:
            raise RevisionNameError("a RevisionBased control plane needs a version to name its revision")
        revision = "%s-%s" % (name, normalize_name(version).replace(".", "-"))
    return validate_revision_name(revision)


def helm_revision_value(revision: str) -> str:
    """The chart's ``revision`` value: empty for the revision named ``default``."""
    return "" if revision == DEFAULT_REVISION else revision


def validate_dns_label(value: str, what: str, max_length: int = _LABEL_MAX) -> str:
    if not isinstance(value, str) or not value:
        raise RevisionNameError("%s must be a non-empty string" % what)
    if len(value) > max_length:
        raise RevisionNameError(
            "%s %r is %d characters long; at most %d fit in the object names and labels derived from it"
            % (what, value, len(value), max_length))
    if not _DNS1123_LABEL.match(value):
        raise RevisionNameError(
            "%s %r is not a DNS-1123 label (lower-case letters, digits and '-', starting and ending "
            "with a letter or digit)" % (what, value))
    return value


def validate_revision_name(revision: str) -> str:
    return validate_dns_label(revision, "revision name", _REVISION_MAX)


def validate_tag_name(tag: str) -> str:
    return validate_dns_label(tag, "revision tag name", _TAG_MAX)


def check_planned_tags(revision: str, tags: Optional[List[str]]) -> None:
    """Tags a caller will point at ``revision`` once it is installed, checked before its first write:
    a tag named like the revision would answer to the same ``istio.io/rev`` value."""
    for tag in tags or []:
        validate_tag_name(tag)
        if tag == revision:
            raise RevisionNameError("tag %r is named like the revision it would point at; pick another name" % tag)
