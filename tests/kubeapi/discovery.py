"""Discovery documents: /version, /api, /apis, /apis/<group>,
/api[s]/<group>/<version>, in the legacy format and in aggregated discovery
(apidiscovery.k8s.io/v2 and v2beta1), both derived from the registry."""
from __future__ import annotations

import hashlib
import base64
from typing import Optional

from .registry import Registry, ResourceType

KUBE_VERSION = {
    "major": "1", "minor": "32", "gitVersion": "v1.32.4", "gitCommit": "59526cd4867447956156ae3a602fcbac10a2c335",
    "gitTreeState": "clean", "buildDate": "2025-04-22T16:03:15Z", "goVersion": "go1.23.6", "compiler": "gc",
    "platform": "linux/amd64",
}

# subresource -> ((group, version, kind) of its body or None for the parent kind, verbs)
SUBRESOURCES = {
    "status": (None, ("get", "patch", "update")),
    "scale": (("autoscaling", "v1", "Scale"), ("get", "patch", "update")),
    "token": (("authentication.k8s.io", "v1", "TokenRequest"), ("create",)),
    "log": (("", "v1", "Pod"), ("get",)),
    "eviction": (("policy", "v1", "Eviction"), ("create",)),
    "binding": (("", "v1", "Binding"), ("create",)),
    "ephemeralcontainers": (None, ("get", "patch", "update")),
    "finalize": (None, ("update",)),
    "proxy": (("", "v1", "NodeProxyOptions"), ("create", "delete", "get", "patch", "update")),
    "approval": (None, ("get", "patch", "update")),
}


def storage_version_hash(rt: ResourceType) -> str:
    digest = hashlib.sha256(f"{rt.group}/{rt.storage_version}/{rt.kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def version_doc() -> dict:
    return dict(KUBE_VERSION)


def core_versions(address: str) -> dict:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}]}


def _group_entry(name: str, versions: list[str]) -> dict:
    gvs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": gvs, "preferredVersion": gvs[0]}


def group_list(registry: Registry) -> dict:
    groups = registry.groups()
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [_group_entry(g, groups[g]) for g in registry.ordered_groups()]}


def group_doc(registry: Registry, group: str) -> Optional[dict]:
    versions = registry.groups().get(group)
    if not versions or not group:
        return None
    return dict(_group_entry(group, versions), kind="APIGroup", apiVersion="v1")


def _subresource_kind(rt: ResourceType, sub: str) -> tuple:
    kind, _unused = SUBRESOURCES.get(sub, (None, ()))
    if sub == "proxy" and rt.plural == "services":
        kind = ("", "v1", "ServiceProxyOptions")
    return kind


def resource_list(registry: Registry, group: str, version: str) -> Optional[dict]:
    types = registry.resources_in(group, version)
    if not types:
        return None
    resources = []
    for rt in types:
        entry = {"name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced, "kind": rt.kind,
                 "verbs": list(rt.verbs)}
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        if not rt.virtual:
            entry["storageVersionHash"] = storage_version_hash(rt)
        resources.append(entry)
        for sub in rt.subresources:
            sub_entry = {"name": f"{rt.plural}/{sub}", "singularName": "", "namespaced": rt.namespaced}
            kind = _subresource_kind(rt, sub)
            if kind is not None:
                sub_entry.update({"group": kind[0], "version": kind[1], "kind": kind[2]})
            else:
                sub_entry["kind"] = rt.kind
            sub_entry["verbs"] = list(SUBRESOURCES.get(sub, (None, ("get",)))[1])
            resources.append(sub_entry)
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/{version}" if group else version,
            "resources": resources}


def _aggregated_resource(rt: ResourceType) -> dict:
    entry = {"resource": rt.plural, "responseKind": {"group": "", "version": "", "kind": rt.kind},
             "scope": "Namespaced" if rt.namespaced else "Cluster", "singularResource": rt.singular,
             "verbs": list(rt.verbs)}
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    subs = []
    for sub in rt.subresources:
        kind = _subresource_kind(rt, sub)
        response = {"group": kind[0], "version": kind[1], "kind": kind[2]} if kind else \
            {"group": "", "version": "", "kind": rt.kind}
        subs.append({"subresource": sub, "responseKind": response,
                     "verbs": list(SUBRESOURCES.get(sub, (None, ("get",)))[1])})
    if subs:
        entry["subresources"] = subs
    return entry


def aggregated(registry: Registry, core: bool, version: str) -> dict:
    """APIGroupDiscoveryList for /api (core) or /apis."""
    groups = registry.groups()
    names = [""] if core else registry.ordered_groups()
    items = []
    for name in names:
        versions = []
        for v in groups.get(name, []):
            versions.append({"version": v, "resources": [_aggregated_resource(rt)
                                                         for rt in registry.resources_in(name, v)],
                             "freshness": "Current"})
        metadata: dict = {"creationTimestamp": None}
        if name:
            metadata = {"name": name, "creationTimestamp": None}
        items.append({"metadata": metadata, "versions": versions})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": f"apidiscovery.k8s.io/{version}", "metadata": {},
            "items": items}


def aggregated_version(accept: str) -> Optional[str]:
    """The aggregated discovery version the client accepts first, if any."""
    for part in accept.split(","):
        params = dict(p.strip().split("=", 1) for p in part.split(";")[1:] if "=" in p)
        if params.get("as") == "APIGroupDiscoveryList" and params.get("g") == "apidiscovery.k8s.io":
            return params.get("v")
    return None
