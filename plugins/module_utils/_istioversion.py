# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Istio version catalog: concrete versions, ``vX.Y-latest`` aliases and end-of-life entries.

Resolution follows the reference operator: an alias resolves to its concrete
entry, an unknown name is an error listing what is supported, and an
end-of-life name is an error of its own. Unlike the reference, the leading
``v`` is optional and the default is the newest *stable* entry.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ansible_collections.servicemesh.istio.plugins.module_utils._errors import VersionError
from ansible_collections.servicemesh.istio.plugins.module_utils._istiovalues import CATALOG_IMAGES
from ansible_collections.servicemesh.istio.plugins.module_utils._version_catalog import CATALOG_YAML

try:
    import yaml
except ImportError:  # pragma: no cover - reported by the modules' dependency check
    yaml = None

_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?$")


@dataclass(frozen=True)
class IstioVersion:
    """A concrete, installable Istio version."""

    name: str  # catalog name, e.g. "v1.30.3"
    version: str  # semver without the "v", e.g. "1.30.3"; also the chart version
    prerelease: bool = False
    # image references pinned by the catalog (a mirror's), by CATALOG_IMAGES key; empty: the charts' own
    images: Mapping[str, str] = field(default_factory=dict, hash=False)

    @property
    def key(self) -> Tuple:
        return semver_key(self.version)

    @property
    def minor(self) -> Tuple[int, int]:
        return self.key[0], self.key[1]

    @property
    def chart_version(self) -> str:
        return self.version


def semver_key(version: str) -> Tuple:
    """A sort key for ``X.Y.Z[-pre]``: releases sort after their prereleases."""
    match = _SEMVER.match(version)
    if not match:
        raise VersionError("%r is not a semantic version (X.Y.Z or X.Y.Z-pre)" % version)
    major, minor, patch, pre = match.groups()
    pre_key = (1,) if pre is None else (0,) + tuple(
        (0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return int(major), int(minor), int(patch), pre_key


def normalize_name(name: str) -> str:
    """Catalog names carry a leading ``v``; users may leave it out."""
    name = str(name).strip()
    if name and name[0].isdigit():
        return "v" + name
    return name


class VersionCatalog:
    """Concrete versions, aliases and end-of-life names of one catalog document."""

    def __init__(self, document: Dict[str, Any], source: str = "built-in catalog"):
        self.source = source
        self.versions: Dict[str, IstioVersion] = {}
        self.aliases: Dict[str, str] = {}
        self.eol: List[str] = []
        self._load(document)

    @classmethod
    def from_yaml(cls, text: str, source: str) -> "VersionCatalog":
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise VersionError("cannot parse the version catalog %s: %s" % (source, exc))
        return cls(document or {}, source)

    @classmethod
    def from_file(cls, path: str) -> "VersionCatalog":
        try:
            with open(path, encoding="utf-8") as handle:
                return cls.from_yaml(handle.read(), path)
        except OSError as exc:
            raise VersionError("cannot read the version catalog %s: %s" % (path, exc))

    def _load(self, document: Dict[str, Any]) -> None:
        entries = document.get("versions") if isinstance(document, dict) else None
        if not isinstance(entries, list) or not entries:
            raise VersionError("the version catalog %s has no 'versions' list" % self.source)
        pending_aliases = []
        for entry in entries:
            if not isinstance(entry, dict) or not entry.get("name"):
                raise VersionError("the version catalog %s has an entry without a name: %r" % (self.source, entry))
            name = normalize_name(entry["name"])
            if entry.get("eol"):
                self.eol.append(name)
            elif "ref" in entry:
                for own_field in ("version", "images"):
                    if own_field in entry:
                        raise VersionError("catalog alias %s must not also have %s" % (
                            name, "a version" if own_field == "version" else own_field))
                pending_aliases.append((name, normalize_name(entry["ref"])))
            else:
                self.versions[name] = self._concrete(name, entry)
        for alias, ref in pending_aliases:
            if ref not in self.versions:
                raise VersionError("catalog alias %s points at %s, which is not a supported version" % (alias, ref))
            self.aliases[alias] = ref
        if not self.versions:
            raise VersionError("the version catalog %s has no supported version" % self.source)

    def _concrete(self, name: str, entry: Dict[str, Any]) -> IstioVersion:
        version = str(entry.get("version") or name.lstrip("v"))
        semver_key(version)  # validates
        prerelease = bool(entry.get("prerelease", "-" in version))
        return IstioVersion(name=name, version=version, prerelease=prerelease,
                            images=self._images(name, entry.get("images")))

    def _images(self, name: str, images: Any) -> Dict[str, str]:
        if images is None:
            return {}
        where = "the version catalog %s, entry %s:" % (self.source, name)
        if not isinstance(images, dict):
            raise VersionError("%s images must be a mapping of %s" % (where, ", ".join(CATALOG_IMAGES)))
        for key, ref in images.items():
            if key not in CATALOG_IMAGES:
                raise VersionError("%s unknown image %r; use %s" % (where, key, ", ".join(CATALOG_IMAGES)))
            if not isinstance(ref, str) or not ref:
                raise VersionError("%s images.%s must be a string" % (where, key))
            # the charts take a value without "/" for an image name, to be put after their own hub
            if key not in ("hub", "tag") and "/" not in ref:
                raise VersionError("%s images.%s %r must be a full image reference (registry/path/name:tag or "
                                   "...@sha256:digest)" % (where, key, ref))
        return dict(images)

    @property
    def default(self) -> IstioVersion:
        stable = [v for v in self.versions.values() if not v.prerelease] or list(self.versions.values())
        return max(stable, key=lambda v: v.key)

    def supported_names(self) -> List[str]:
        """Concrete names newest first, then aliases."""
        concrete = sorted(self.versions.values(), key=lambda v: v.key, reverse=True)
        return [v.name for v in concrete] + sorted(self.aliases)

    def is_alias(self, name: str) -> bool:
        return normalize_name(name) in self.aliases

    def resolve(self, name: Optional[str]) -> IstioVersion:
        """The concrete version for a name or alias; the default when name is empty."""
        if name is None or str(name).strip() == "":
            return self.default
        wanted = normalize_name(name)
        if wanted in self.eol:
            raise VersionError(
                "version %r is end-of-life and cannot be installed; use a supported version: %s"
                % (str(name), ", ".join(self.supported_names())))
        wanted = self.aliases.get(wanted, wanted)
        if wanted not in self.versions:
            raise VersionError(
                "version %r is not in the %s; supported versions: %s"
                % (str(name), self.source, ", ".join(self.supported_names())))
        return self.versions[wanted]


_BUILTIN: Optional[VersionCatalog] = None


def builtin_catalog() -> VersionCatalog:
    global _BUILTIN
    if _BUILTIN is None:
        _BUILTIN = VersionCatalog.from_yaml(CATALOG_YAML, "built-in catalog")
    return _BUILTIN


def load_catalog(path: Optional[str] = None) -> VersionCatalog:
    """The user's catalog file when given, else the one shipped with the collection."""
    return VersionCatalog.from_file(path) if path else builtin_catalog()
