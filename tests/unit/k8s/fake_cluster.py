# -*- coding: utf-8 -*-
"""An in-memory stand-in for ``_client.Cluster``, just enough for the applier's logic.

Server-side apply here is simplified: the applied body replaces the object's
content (other managers' edits are not merged), maps are granular and lists
atomic in the recorded field sets. The integration tests run the real protocol.
"""
from __future__ import annotations

import copy
import itertools

from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._errors import ApiError, KindNotServed
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef, builtin_scope
from tests.kubeapi.patch import merge_patch  # the Python test server's: the same RFC 7386 merge


def fields_of(value, top=True):
    if isinstance(value, dict) and (value or top):
        result = {}
        for key, child in value.items():
            if top and key in ("apiVersion", "kind"):
                continue
            if top and key == "metadata":
                child = {k: v for k, v in child.items() if k not in ("name", "namespace")}
                if not child:
                    continue
            result["f:" + key] = fields_of(child, top=False)
        return result
    return {}


class FakeCluster:
    host = "https://fake:6443"

    def __init__(self, normalise=None):
        self.store = {}
        self.calls = []
        self.unserved = set()          # (group, kind) not served yet
        self.pending_kinds = set()     # served once discovery is refreshed
        self.normalise = normalise or (lambda body: body)
        self._versions = itertools.count(1)

    # discovery
    def resource(self, api_version, kind):
        if (api_version.rpartition("/")[0], kind) in self.unserved:
            raise KindNotServed("%s (%s) is not served" % (kind, api_version))
        return object()

    def is_served(self, api_version, kind):
        return (api_version.rpartition("/")[0], kind) not in self.unserved

    def is_namespaced(self, api_version, kind):
        scope = builtin_scope(api_version, kind)
        return True if scope is None else scope

    def refresh_discovery(self):
        self.calls.append(("REFRESH", None))
        self.unserved -= self.pending_kinds
        self.pending_kinds = set()

    # reads
    def get(self, ref):
        self.resource(ref.api_version, ref.kind)
        self.calls.append(("GET", ref))
        return copy.deepcopy(self.store.get(ref))

    def list(self, api_version, kind, namespace=None, label_selector=None):
        self.resource(api_version, kind)
        self.calls.append(("LIST", (kind, namespace)))
        wanted = dict(term.split("=", 1) for term in label_selector.split(",")) if label_selector else {}
        return [copy.deepcopy(obj) for ref, obj in self.store.items()
                if ref.kind == kind and (namespace is None or ref.namespace == namespace)
                and wanted.items() <= (obj["metadata"].get("labels") or {}).items()]

    # writes
    def apply(self, body, field_manager, force=False, dry_run=False):
        ref = ObjectRef.from_object(body)
        self.resource(ref.api_version, ref.kind)
        if ref.namespace and ObjectRef.of("v1", "Namespace", ref.namespace) not in self.store:
            raise ApiError("apply %s: namespaces \"%s\" not found" % (ref, ref.namespace), 404, "NotFound")
        self.calls.append(("APPLY-DRYRUN" if dry_run else "APPLY", ref))
        live = self.store.get(ref)
        stored = self.normalise(copy.deepcopy(dict(body)))
        metadata = stored.setdefault("metadata", {})
        others = [entry for entry in ((live or {}).get("metadata") or {}).get("managedFields", [])
                  if entry["manager"] != field_manager]
        metadata["managedFields"] = others + [{
            "manager": field_manager, "operation": "Apply", "apiVersion": body["apiVersion"],
            "fieldsType": "FieldsV1", "fieldsV1": fields_of(body), "time": "now"}]
        metadata["uid"] = (live or {}).get("metadata", {}).get("uid") or "uid-%s" % ref.name
        if live is not None and (dry_run or self._same(live, stored)):
            # a dry run stores nothing, so the version stays (as on a real API server)
            metadata["resourceVersion"] = live["metadata"]["resourceVersion"]
        else:
            metadata["resourceVersion"] = str(next(self._versions))
        if ref.is_crd:
            stored["status"] = {"conditions": [{"type": "Established", "status": "True"}]}
            spec = stored["spec"]
            if (spec["group"], spec["names"]["kind"]) in self.unserved:
                self.pending_kinds.add((spec["group"], spec["names"]["kind"]))
        if not dry_run:
            self.store[ref] = stored
        return copy.deepcopy(stored)

    @staticmethod
    def _same(a, b):
        def strip(obj):
            return {k: v for k, v in obj.items() if k != "metadata"}
        return strip(a) == strip(b) and a["metadata"].get("labels") == b["metadata"].get("labels")

    def patch(self, ref, patch, field_manager, dry_run=False):
        self.resource(ref.api_version, ref.kind)
        self.calls.append(("PATCH-DRYRUN" if dry_run else "PATCH", ref))
        merged = merge_patch(copy.deepcopy(self.store[ref]), patch)
        if not dry_run:
            merged["metadata"]["resourceVersion"] = str(next(self._versions))
            self.store[ref] = merged
        return copy.deepcopy(merged)

    def delete(self, ref, propagation_policy="Background", dry_run=False):
        self.resource(ref.api_version, ref.kind)
        self.calls.append(("DELETE-DRYRUN" if dry_run else "DELETE", ref))
        if ref not in self.store:
            return False
        if not dry_run:
            del self.store[ref]
        return True

    # test helpers
    def put(self, obj, manager="someone-else"):
        ref = ObjectRef.from_object(obj)
        stored = copy.deepcopy(obj)
        stored["metadata"]["resourceVersion"] = str(next(self._versions))
        stored["metadata"]["managedFields"] = [{"manager": manager, "operation": "Update",
                                                "apiVersion": obj["apiVersion"], "fieldsV1": fields_of(obj)}]
        self.store[ref] = stored
        return ref

    def writes(self):
        return [call for call in self.calls if call[0] in ("APPLY", "DELETE", "PATCH")]

    def verbs(self):
        return [verb for verb, _unused in self.calls]

    def reset_calls(self):
        self.calls = []
