"""OpenAPI v3, just enough for clients.

``/openapi/v3`` lists every served group-version; ``/openapi/v3/<gv>`` is a
valid OpenAPI 3.0 document with one path per resource whose PATCH operation
carries ``x-kubernetes-group-version-kind`` and the ``fieldValidation``,
``dryRun``, ``fieldManager`` and ``force`` query parameters. That is what
kubectl checks before it relies on server-side field validation (its default
``--validate=strict``). Schemas are permissive objects for built-in kinds and
the CRD's ``openAPIV3Schema`` for custom resources. PATCH operations declare no
request body, so kubectl computes client-side-apply patches from its compiled
types (built-ins) or as JSON merge patches (custom resources), as it does when
a server publishes no strategic-merge metadata.

``/openapi/v2`` is not served (404); kubectl copes with that.
"""
from __future__ import annotations

import hashlib
import json
from typing import Optional

from .registry import Registry, ResourceType

QUERY_PARAMS = ("dryRun", "fieldManager", "fieldValidation", "force", "pretty")


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _schema_name(rt: ResourceType) -> str:
    group = ".".join(reversed(rt.group.split("."))) if rt.group else "core"
    return f"{group}.{rt.version}.{rt.kind}"


def _gvk(rt: ResourceType) -> dict:
    return {"group": rt.group, "version": rt.version, "kind": rt.kind}


def _parameters() -> list[dict]:
    return [{"name": name, "in": "query", "schema": {"type": "boolean" if name == "force" else "string"},
             "uniqueItems": True} for name in QUERY_PARAMS]


def _item_path(rt: ResourceType) -> str:
    base = "/" + _gv_path(rt.group, rt.version)
    if rt.namespaced:
        return f"{base}/namespaces/{{namespace}}/{rt.plural}/{{name}}"
    return f"{base}/{rt.plural}/{{name}}"


def _ref(rt: ResourceType) -> dict:
    return {"$ref": f"#/components/schemas/{_schema_name(rt)}"}


def gv_document(registry: Registry, group: str, version: str) -> Optional[dict]:
    types = list(registry.resources_in(group, version))
    if not types:
        return None
    paths: dict = {}
    schemas: dict = {}
    for rt in types:
        response = {"200": {"description": "OK", "content": {"application/json": {"schema": _ref(rt)}}}}
        operations: dict = {}
        if "get" in rt.verbs:
            operations["get"] = {"operationId": f"read{rt.kind}", "x-kubernetes-action": "get",
                                 "x-kubernetes-group-version-kind": _gvk(rt), "responses": response}
        if "patch" in rt.verbs:
            operations["patch"] = {"operationId": f"patch{rt.kind}", "x-kubernetes-action": "patch",
                                   "x-kubernetes-group-version-kind": _gvk(rt), "parameters": _parameters(),
                                   "responses": response}
        if operations:
            paths[_item_path(rt)] = operations
        schema = dict(rt.openapi) if rt.openapi else {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        schema["x-kubernetes-group-version-kind"] = [_gvk(rt)]
        schemas[_schema_name(rt)] = schema
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.4"}, "paths": paths,
            "components": {"schemas": schemas}}


def index(registry: Registry) -> dict:
    out = {}
    groups = registry.groups()
    for group in [""] + registry.ordered_groups():
        for version in groups.get(group, []):
            doc = gv_document(registry, group, version)
            digest = hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:128].upper()
            path = _gv_path(group, version)
            out[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
    return {"paths": out}


def serve(registry: Registry, parts: list[str], query: dict) -> tuple[int, dict]:
    not_found = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                 "message": "the server could not find the requested resource", "reason": "NotFound", "code": 404}
    if not parts or parts[0] != "v3":
        return 404, not_found
    rest = parts[1:]
    if not rest:
        return 200, index(registry)
    if rest[0] == "api" and len(rest) == 2:
        doc = gv_document(registry, "", rest[1])
    elif rest[0] == "apis" and len(rest) == 3:
        doc = gv_document(registry, rest[1], rest[2])
    else:
        doc = None
    return (200, doc) if doc is not None else (404, not_found)
