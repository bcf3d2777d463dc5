# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the official Istio charts come from at run time.

Three sources, tried in this order:
- ``chart_dir``: a local mirror for air-gapped use, laid out as
  ``<chart_dir>/<version>/<chart>/`` (unpacked; ``v<version>`` works too) or
  ``<chart_dir>/<chart>-<version>.tgz``. When it is set, nothing is downloaded.
- the on-disk cache (``chart_cache_dir``): archives downloaded before, kept with
  the digest the repository index gave for them; a hit makes no request.
- the Helm repository (``chart_repo``, by default the official Istio one):
  ``index.yaml``, then the archive, whose sha256 must match the index.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

from ansible_collections.servicemesh.istio.plugins.module_utils._errors import ChartSourceError

try:
    import yaml
except ImportError:  # pragma: no cover - reported by the modules' dependency check
    yaml = None

DEFAULT_CHART_REPO = "https://istio-release.storage.googleapis.com/charts"
CHARTS = ("base", "istiod", "cni", "ztunnel", "gateway")
_MIRROR_HINT = ("to install without network access, set chart_dir to a mirror laid out as "
                "<chart_dir>/<version>/<chart>/ or <chart_dir>/<chart>-<version>.tgz")


def default_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "servicemesh.istio", "charts")


def chart_digest(path: str) -> str:
    """sha256 of a chart archive, or of an unpacked chart's files (their relative paths and contents)."""
    if os.path.isfile(path):
        with open(path, "rb") as handle:
            return sha256_hex(handle.read())
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(root, name)
            with open(full, "rb") as handle:
                content = handle.read()
            relative = os.path.relpath(full, path).replace(os.sep, "/")
            digest.update(("%s\0%d\0" % (relative, len(content))).encode("utf-8"))
            digest.update(content)
    return digest.hexdigest()


@dataclass(frozen=True)
class ChartLocation:
    """One chart at one version: an unpacked directory or an archive file on disk."""

    chart: str
    version: str
    path: str
    origin: str  # where it came from, for messages and results: a path or a URL

    @property
    def is_archive(self) -> bool:
        return os.path.isfile(self.path)


@dataclass
class ChartSourceOptions:
    chart_dir: Optional[str] = None
    chart_repo: Optional[str] = None
    chart_cache_dir: Optional[str] = None
    validate_certs: bool = True
    timeout: int = 60

    @classmethod
    def from_params(cls, params: Dict[str, Any]) -> "ChartSourceOptions":
        return cls(chart_dir=params.get("chart_dir"), chart_repo=params.get("chart_repo"),
                   chart_cache_dir=params.get("chart_cache_dir"),
                   validate_certs=params.get("chart_repo_validate_certs", True))


def _http_get(url: str, validate_certs: bool, timeout: int) -> bytes:
    # Ansible's own HTTP client: proxies, CA bundles and redirects as users configure them.
    from ansible.module_utils.urls import open_url
    response = open_url(url, validate_certs=validate_certs, timeout=timeout, follow_redirects="safe")
    return response.read()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ChartSource:
    """Finds charts in the mirror directory, the cache or the repository."""

    def __init__(self, options: ChartSourceOptions, fetch: Optional[Callable[[str], bytes]] = None):
        self.options = options
        self.repo = (options.chart_repo or DEFAULT_CHART_REPO).rstrip("/")
        self.cache_dir = options.chart_cache_dir or default_cache_dir()
        self._fetch = fetch or (lambda url: _http_get(url, options.validate_certs, options.timeout))
        self._index: Optional[Dict[str, Any]] = None
        self.downloads: List[str] = []  # URLs fetched by this instance, for results and tests
        self._digests: Dict[str, str] = {}

    @property
    def render_cache_dir(self) -> str:
        """Where parsed render output is kept (see _render_cache), beside the downloaded archives."""
        return os.path.join(self.cache_dir, "rendered")

    def digest(self, location: ChartLocation) -> str:
        """The chart's digest (chart_digest), computed once per location for the life of this source."""
        known = self._digests.get(location.path)
        if known is None:
            try:
                known = chart_digest(location.path)
            except OSError as exc:
                raise ChartSourceError("cannot read chart %s %s at %s: %s"
                                       % (location.chart, location.version, location.path, exc))
            self._digests[location.path] = known
        return known

    def locate(self, chart: str, version: str) -> ChartLocation:
        if chart not in CHARTS:
            raise ChartSourceError("unknown chart %r; the Istio charts are %s" % (chart, ", ".join(CHARTS)))
        version = version.lstrip("v")
        if self.options.chart_dir:
            return self._from_mirror(chart, version)
        return self._from_cache(chart, version) or self._download(chart, version)

    # -- mirror directory -------------------------------------------------
    def _mirror_candidates(self, chart: str, version: str) -> List[str]:
        root = os.path.expanduser(self.options.chart_dir)
        return [os.path.join(root, version, chart), os.path.join(root, "v" + version, chart),
                os.path.join(root, "%s-%s.tgz" % (chart, version))]

    def _from_mirror(self, chart: str, version: str) -> ChartLocation:
        candidates = self._mirror_candidates(chart, version)
        for path in candidates:
            if os.path.isfile(os.path.join(path, "Chart.yaml")) or (path.endswith(".tgz") and os.path.isfile(path)):
                return ChartLocation(chart, version, path, path)
        raise ChartSourceError("chart %s %s is not in chart_dir %s; looked for %s"
                               % (chart, version, self.options.chart_dir, ", ".join(candidates)))

    # -- cache --------------------------------------------------------------
    def _cache_paths(self, chart: str, version: str):
        archive = os.path.join(self.cache_dir, "%s-%s.tgz" % (chart, version))
        return archive, archive + ".sha256"

    def _from_cache(self, chart: str, version: str) -> Optional[ChartLocation]:
        archive, digest_file = self._cache_paths(chart, version)
        try:
            with open(digest_file, encoding="ascii") as handle:
                expected = handle.read().strip()
            with open(archive, "rb") as handle:
                data = handle.read()
        except OSError:
            return None
        if sha256_hex(data) != expected:
            return None  # damaged or partial: download again
        self._digests[archive] = expected
        return ChartLocation(chart, version, archive, archive)

    def _store(self, chart: str, version: str, data: bytes, digest: str) -> str:
        archive, digest_file = self._cache_paths(chart, version)
        try:
            os.makedirs(self.cache_dir, exist_ok=True)
            self._write_atomically(archive, data)
            self._write_atomically(digest_file, digest.encode("ascii"))
        except OSError as exc:
            raise ChartSourceError("cannot write the chart cache %s: %s" % (self.cache_dir, exc))
        return archive

    @staticmethod
    def _write_atomically(path: str, data: bytes) -> None:
        # Parallel playbook runs may fill the cache at once; a rename is all-or-nothing.
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".partial-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)

    # -- repository ------------------------------------------------------------
    def _get(self, url: str) -> bytes:
        try:
            data = self._fetch(url)
        except Exception as exc:  # any transport failure is reported the same way
            raise ChartSourceError("cannot download %s: %s; nothing usable is cached in %s; %s"
                                   % (url, exc, self.cache_dir, _MIRROR_HINT))
        self.downloads.append(url)
        return data

    def index(self) -> Dict[str, Any]:
        if self._index is None:
            url = self.repo + "/index.yaml"
            try:
                document = yaml.safe_load(self._get(url))
            except yaml.YAMLError as exc:
                raise ChartSourceError("the chart repository index %s is not valid YAML: %s" % (url, exc))
            if not isinstance(document, dict) or not isinstance(document.get("entries"), dict):
                raise ChartSourceError("the chart repository index %s has no entries" % url)
            self._index = document
        return self._index

    def _index_entry(self, chart: str, version: str) -> Dict[str, Any]:
        entries = self.index()["entries"].get(chart) or []
        for entry in entries:
            if str(entry.get("version", "")).lstrip("v") == version:
                return entry
        known = sorted({str(e.get("version")) for e in entries})
        raise ChartSourceError("chart %s version %s is not in %s/index.yaml (it has %s)"
                               % (chart, version, self.repo, ", ".join(known[-10:]) or "no versions"))

    def _archive_url(self, entry: Dict[str, Any], chart: str, version: str) -> str:
        urls = entry.get("urls") or ["%s-%s.tgz" % (chart, version)]
        url = urls[0]
        return url if "://" in url else "%s/%s" % (self.repo, url.lstrip("/"))

    def _download(self, chart: str, version: str) -> ChartLocation:
        entry = self._index_entry(chart, version)
        url = self._archive_url(entry, chart, version)
        data = self._get(url)
        expected = str(entry.get("digest") or "").lower().replace("sha256:", "")
        actual = sha256_hex(data)
        if not expected:
            raise ChartSourceError("the index entry for %s %s has no digest; refusing an unverified chart" % (chart, version))
        if actual != expected:
            raise ChartSourceError("digest mismatch for %s: the index says sha256:%s, the download is sha256:%s"
                                   % (url, expected, actual))
        path = self._store(chart, version, data, actual)
        self._digests[path] = actual
        return ChartLocation(chart, version, path, url)
