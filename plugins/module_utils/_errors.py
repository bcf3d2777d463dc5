# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Errors raised by the collection's pure logic and adapters.

Every error carries a message meant for the playbook author: it names the
offending input and, where there is one, the way out.
"""
from __future__ import annotations


class IstioError(Exception):
    """Base class: a problem the user can fix in their input or environment."""


class VersionError(IstioError):
    """An unknown, end-of-life or malformed Istio version."""


class RevisionNameError(IstioError):
    """A revision or tag name that cannot be used for Kubernetes objects."""


class ValuesError(IstioError):
    """Helm values of the wrong shape, or an unknown profile."""


class ChartSourceError(IstioError):
    """A chart that cannot be found, downloaded or verified."""


class RenderError(IstioError):
    """The Helm engine refused to render a chart."""
