# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Helm engine, behind one small interface.

``HelmPythonEngine`` renders in-process with ``helm_python`` (the Helm v4 SDK).
Another backend (say, the ``helm`` CLI) only needs ``render()`` with the same
signature. Rendering is offline: the Istio charts use no ``lookup``.
"""
from __future__ import annotations

import threading
from typing import Any, Dict, List, Optional

from ansible_collections.servicemesh.istio.plugins.module_utils._charts import ChartLocation
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import RenderError, ValuesError

try:
    import yaml
    _Loader = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
except ImportError:  # pragma: no cover - reported by the modules' dependency check
    yaml = None
    _Loader = None

HELM_IMPORT_ERROR: Optional[str] = None
try:
    import helm_python
except ImportError as exc:  # pragma: no cover - reported by the modules' dependency check
    helm_python = None
    HELM_IMPORT_ERROR = str(exc)


def parser_id() -> str:
    """What parse_manifests parses with, for the render cache's key."""
    return "pyyaml %s %s" % (getattr(yaml, "__version__", "?"), getattr(_Loader, "__name__", "?"))


class HelmPythonEngine:
    """Renders charts with helm_python; loaded charts are kept for the life of the engine.

    ``cache_id`` names the engine in the render cache's key: the same chart, values and release give the
    same output with the same engine version (the render is offline; the charts use no ``lookup``). An
    engine without ``cache_id`` is never cached."""

    name = "helm_python"

    def __init__(self):
        if helm_python is None:
            raise RenderError("the helm-python-sdk Python package is required to render charts: %s"
                              % HELM_IMPORT_ERROR)
        self._charts: Dict[str, Any] = {}
        self._lock = threading.Lock()
        self.cache_id = "helm_python %s %s" % (getattr(helm_python, "__version__", "?"), _sdk_version())

    def _load(self, location: ChartLocation):
        with self._lock:
            chart = self._charts.get(location.path)
            if chart is None:
                try:
                    chart = helm_python.Chart.load(location.path)
                except helm_python.HelmError as exc:
                    raise RenderError("cannot load chart %s %s from %s: %s"
                                      % (location.chart, location.version, location.origin, exc))
                self._charts[location.path] = chart
            return chart

    def render(self, location: ChartLocation, values: Dict[str, Any], release_name: str, namespace: str,
               is_upgrade: bool = False) -> Dict[str, str]:
        """Template path -> rendered text, as Helm produces it."""
        chart = self._load(location)
        try:
            return chart.render(values, name=release_name, namespace=namespace,
                                is_install=not is_upgrade, is_upgrade=is_upgrade)
        except helm_python.HelmValuesError as exc:
            raise ValuesError("chart %s %s rejected the values: %s" % (location.chart, location.version, exc))
        except helm_python.HelmError as exc:
            raise RenderError("chart %s %s failed to render: %s" % (location.chart, location.version, exc))


def _sdk_version() -> str:
    try:
        return str(helm_python.helm_sdk_version())
    except Exception:  # pylint: disable=broad-except  # an older binding: the package version alone
        return "?"


def parse_manifests(rendered: Dict[str, str]) -> List[Dict[str, Any]]:
    """Parsed objects in a stable order (template path, then position); NOTES and empty
    documents are dropped. The text is parsed as YAML only, never templated again."""
    objects: List[Dict[str, Any]] = []
    for path in sorted(rendered):
        if path.endswith("NOTES.txt"):
            continue
        text = rendered[path]
        if not text or not text.strip():
            continue
        try:
            documents = list(yaml.load_all(text, Loader=_Loader))
        except yaml.YAMLError as exc:
            raise RenderError("template %s rendered invalid YAML: %s" % (path, exc))
        for document in documents:
            if isinstance(document, dict) and document.get("kind"):
                objects.append(document)
    return objects
