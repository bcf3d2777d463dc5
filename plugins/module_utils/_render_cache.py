# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsed chart output kept on disk, so that an unchanged re-run neither renders a chart nor parses its YAML.

One JSON file per render, named by the digest of everything the output depends on (``render_key``: the
chart's digest, the values' digest, the release name and namespace, install or upgrade, the Helm engine's
and the YAML parser's versions, the entry format). The objects are the parser's output, before the
collection's own post-processing, which runs on every render, cached or not.

Best effort, never an error: a missing, unreadable or read-only directory means no cache (the collection
runs from read-only installed copies and in execution environments), a corrupt entry is ignored and
written again, and only the newest ``max_entries`` files are kept. Files are written atomically (a
temporary file renamed into place), so parallel runs may share the directory. Entries are JSON, read
back as plain data: nothing in them is executed. The directory is created private to the user, who
must be the only one able to write it (its entries become the objects applied to a cluster).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import time
from typing import Any, Dict, List, Optional, Sequence

FORMAT = 1
MAX_ENTRIES = 64
SUFFIX = ".json"
PARTIAL_AGE = 3600  # seconds after which a temporary file is a killed run's
_SCALARS = (str, int, bool, type(None))  # floats are looked at: NaN and infinities are not JSON


def render_key(parts: Sequence[Any]) -> str:
    """The file name stem of one render's entry: a digest of what its output depends on."""
    text = json.dumps([FORMAT] + list(parts), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_plain(value: Any) -> bool:
    """Whether a JSON round trip gives ``value`` back unchanged: dicts with string keys, lists, strings,
    finite numbers, booleans and None (YAML can also give dates, bytes and non-string keys)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    return False
                if not isinstance(child, _SCALARS):
                    stack.append(child)
        elif isinstance(item, list):
            stack.extend(child for child in item if not isinstance(child, _SCALARS))
        elif isinstance(item, float):
            if math.isnan(item) or math.isinf(item):
                return False
        elif not isinstance(item, _SCALARS):
            return False  # dates, bytes, sets, ...
    return True


def keep_newest(entries: Dict[str, float], limit: int) -> List[str]:
    """The entries to delete (oldest first) so that ``limit`` remain; ``entries`` maps a name to its mtime."""
    ordered = sorted(entries, key=lambda name: (entries[name], name))
    return ordered[:max(len(ordered) - limit, 0)]


class RenderCache:
    """A directory of per-key JSON files; ``directory=None`` is no cache."""

    def __init__(self, directory: Optional[str], max_entries: int = MAX_ENTRIES):
        self.directory = directory
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0

    def _path(self, key: str) -> str:
        return os.path.join(self.directory or "", key + SUFFIX)

    def get(self, key: str) -> Optional[List[Dict[str, Any]]]:
        """The cached objects, or None (no cache, no entry, or an entry that cannot be read as one)."""
        if not self.directory:
            return None
        try:
            with open(self._path(key), "rb") as handle:
                entry = json.loads(handle.read())
        except (OSError, ValueError):
            self.misses += 1
            return None
        objects = entry.get("objects") if isinstance(entry, dict) and entry.get("key") == key else None
        if not isinstance(objects, list) or not all(isinstance(obj, dict) for obj in objects):
            self.misses += 1
            return None
        self.hits += 1
        try:
            os.utime(self._path(key))  # newest again: kept by keep_newest
        except OSError:
            pass
        return objects

    def put(self, key: str, objects: List[Dict[str, Any]], plain: bool = False) -> bool:
        """Store ``objects`` under ``key``; False when there is no cache or they are not plain data
        (``plain``: the caller knows they are, as JSON they were read from)."""
        if not self.directory or not (plain or is_plain(objects)):
            return False
        data = json.dumps({"format": FORMAT, "key": key, "objects": objects}, separators=(",", ":"))
        tmp = None
        try:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".partial-")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(data)
            os.replace(tmp, self._path(key))
            tmp = None
        except OSError:
            return False
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
        self._prune()
        return True

    def _prune(self) -> None:
        entries: Dict[str, float] = {}
        stale: List[str] = []
        try:
            names = os.listdir(self.directory)
        except OSError:
            return
        for name in names:
            try:
                mtime = os.stat(os.path.join(self.directory, name)).st_mtime
            except OSError:
                continue  # removed by a parallel run
            if name.endswith(SUFFIX) and not name.startswith("."):
                entries[name] = mtime
            elif name.startswith(".partial-") and mtime < time.time() - PARTIAL_AGE:
                stale.append(name)  # left by a killed run
        for name in stale + keep_newest(entries, self.max_entries):
            try:
                os.unlink(os.path.join(self.directory, name))
            except OSError:
                pass
