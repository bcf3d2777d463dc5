# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Helm engine, behind one small interface.

``HelmPythonEngine`` renders in-process with ``helm_python`` (the Helm v4 SDK).
Another backend (say, the ``helm`` CLI) only needs ``render()`` with the same
signature. Rendering is offline: the Istio charts use no ``lookup``.
"""
from __future__ import annotations

import concurrent.futures
import os
import re
import threading
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

from ansible_collections.servicemesh.istio.plugins.module_utils._charts import ChartLocation
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import RenderError, ValuesError

try:
    import yaml
    _Loader = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
except ImportError:  # pragma: no cover - reported by the modules' dependency check
    yaml = None
    _Loader = None

_LIBRARY: Dict[str, Any] = {}


def helm_library() -> Any:
    """``helm_python``, imported on first use (None if it is missing): it loads the Helm SDK's Go library,
    some 0.15 s that the modules which never render (istio_info) need not pay."""
    if "module" not in _LIBRARY:
        try:
            import helm_python  # pylint: disable=import-outside-toplevel
            _LIBRARY.update(module=helm_python, error=None)
        except ImportError as exc:  # pragma: no cover - reported by the modules' dependency check
            _LIBRARY.update(module=None, error=str(exc))
    return _LIBRARY["module"]


def helm_import_error() -> Optional[str]:
    """Why ``helm_python`` cannot be imported, or None."""
    helm_library()
    return _LIBRARY["error"]


PARALLEL_PARSE_BYTES = 256 * 1024
# a line that starts with "---" separates documents, as in Helm (releaseutil.SplitManifests), whose own
# pattern backtracks over every run of whitespace in Python's engine (0.1 s on Istio's CRDs)
_SEPARATOR = re.compile(r"^---.*$", re.MULTILINE)


def parser_id() -> str:
    """What parse_manifests parses with, for the render cache's key."""
    return "go-yaml via helm_python %s; pyyaml %s %s" % (
        getattr(helm_library(), "__version__", "?"), getattr(yaml, "__version__", "?"), getattr(_Loader, "__name__", "?"))


class HelmPythonEngine:
    """Renders charts with helm_python; loaded charts are kept for the life of the engine.

    ``cache_id`` names the engine in the render cache's key: the same chart, values and release give the
    same output with the same engine version (the render is offline; the charts use no ``lookup``). An
    engine without ``cache_id`` is never cached."""

    name = "helm_python"

    def __init__(self):
        self._helm = helm_library()
        if self._helm is None:
            raise RenderError("the helm-python-sdk Python package is required to render charts: %s"
                              % helm_import_error())
        self._charts: Dict[str, Any] = {}
        self._lock = threading.Lock()
        self.cache_id = "helm_python %s %s" % (getattr(self._helm, "__version__", "?"), _sdk_version(self._helm))

    def _load(self, location: ChartLocation):
        with self._lock:
            chart = self._charts.get(location.path)
            if chart is None:
                try:
                    chart = self._helm.Chart.load(location.path)
                except self._helm.HelmError as exc:
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
        except self._helm.HelmValuesError as exc:
            raise ValuesError("chart %s %s rejected the values: %s" % (location.chart, location.version, exc))
        except self._helm.HelmError as exc:
            raise RenderError("chart %s %s failed to render: %s" % (location.chart, location.version, exc))


def _sdk_version(helm: Any) -> str:
    try:
        return str(helm.helm_sdk_version())
    except Exception:  # pylint: disable=broad-except  # an older binding: the package version alone
        return "?"


class Manifests(NamedTuple):
    objects: List[Dict[str, Any]]
    plain: bool  # JSON data only (all of it read by Go): the render cache need not check it


def parse_manifests(rendered: Dict[str, str], skip_kinds: Sequence[str] = ()) -> Manifests:
    """Parsed objects in a stable order (template path, then position); NOTES and empty
    documents are dropped, and documents of ``skip_kinds`` are not even parsed. The text is parsed as
    YAML only, never templated again."""
    documents = [(path, text) for path in sorted(rendered) if not path.endswith("NOTES.txt")
                 for text in _SEPARATOR.split(rendered[path] or "")
                 if text.strip() and not _is_of_kind(text, skip_kinds)]
    if sum(len(text) for _path, text in documents) < PARALLEL_PARSE_BYTES:
        parsed = [_parse_document(path, text) for path, text in documents]
    else:  # Go reads without Python's lock: large outputs (the CRDs) are read on several cores
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            parsed = list(pool.map(lambda item: _parse_document(*item), documents))
    objects = [document for found, _by_go in parsed for document in found
               if isinstance(document, dict) and document.get("kind")]
    return Manifests(objects, all(by_go for _found, by_go in parsed))


def _is_of_kind(text: str, kinds: Sequence[str]) -> bool:
    """Whether a document's top-level ``kind:`` (a line of its own at column 0: nested keys are indented
    and block scalars too) is one of ``kinds``."""
    return any(re.search(r"^kind:[ \t]*['\"]?%s['\"]?[ \t]*$" % re.escape(kind), text, re.MULTILINE)
               for kind in kinds)


def _parse_document(path: str, text: str) -> Tuple[List[Any], bool]:
    """One document, and whether Go's YAML reader read it (Kubernetes' own YAML-to-JSON, several times
    faster than PyYAML on CRDs); what Go refuses (not a mapping, duplicate keys) is read by PyYAML, whose
    errors say more and whose reading of such documents the collection has always had."""
    helm = helm_library()
    if helm is not None:
        try:
            return [helm.values_from_yaml(text)], True
        except helm.HelmError:
            pass
    try:
        return list(yaml.load_all(text, Loader=_Loader)), False
    except yaml.YAMLError as exc:
        raise RenderError("template %s rendered invalid YAML: %s" % (path, exc))
