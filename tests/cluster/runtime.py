"""The handle tests get for a real cluster: the same methods as the test API server's handles
(``tests.kubeapi.runtime.ClusterHandle``) where a real server can give them.

* ``requests``/``writes``/``last_request`` come from the API server's audit log, restricted to the
  test's own identity (controllers, kwok and the istiod stand-in are left out, as the Python
  server leaves out its simulated controllers). An update or patch counts as a write only when it
  stored a change: the object's managed-fields entry for that request's manager carries a time not
  older than the request (a no-op server-side apply leaves it as it was).
* ``reset`` deletes what the test created: namespaces and cluster-scoped objects that were not
  there when the cluster started, and new objects in the built-in namespaces.
* ``create_pods`` creates real Pods (the scheduler binds them, kwok runs them, the injector webhook
  is really called); ``injection`` asks the API server with a dry-run Pod.
* Fault injection, simulated readiness and other knobs of the Python server do not exist here:
  tests that need them use the ``kubeapi_*`` fixtures and say why.
"""
from __future__ import annotations

import datetime
import json
import os
import time
import uuid
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple
from urllib.parse import parse_qs, quote, urlsplit

from tests.kubeapi.runtime import ClusterHandle

from . import build

READY_PREFIX = "testcluster ready: "
MUTATING = ("create", "update", "patch", "delete", "deletecollection")
BUILTIN_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# Kinds the control plane itself keeps in every namespace, never the test's.
SYSTEM_KINDS = ("events", "leases", "endpoints", "endpointslices", "controllerrevisions")
CRD_STORAGE_TIMEOUT = 30.0
RESET_TIMEOUT = 180.0


def _parse_time(text: str) -> float:
    text = text.replace("Z", "+00:00")
    if "." in text:
        head, _unused, rest = text.partition(".")
        digits = "".join(ch for ch in rest if ch.isdigit())[:6]
        text = f"{head}.{digits}+00:00"
    return datetime.datetime.fromisoformat(text).timestamp()


def audit_entry(seq: int, event: dict) -> dict:
    """An audit event in the shape of the Python server's request log."""
    ref = event.get("objectRef") or {}
    query = parse_qs(urlsplit(event.get("requestURI", "")).query)
    verb = event.get("verb", "")
    return {"seq": seq, "time": _parse_time(event["requestReceivedTimestamp"]), "verb": verb,
            "method": "", "path": urlsplit(event.get("requestURI", "")).path,
            "group": ref.get("apiGroup", ""), "version": ref.get("apiVersion", ""), "resource": ref.get("resource", ""),
            "subresource": ref.get("subresource", ""), "namespace": ref.get("namespace", ""), "name": ref.get("name", ""),
            "dry_run": bool(query.get("dryRun")), "field_manager": (query.get("fieldManager") or [""])[0],
            "query": {key: values[0] for key, values in query.items()},
            "user_agent": event.get("userAgent", ""), "code": (event.get("responseStatus") or {}).get("code", 0),
            "user": (event.get("user") or {}).get("username", ""), "mutating": verb in MUTATING, "persisted": False}


class RealCluster(ClusterHandle):
    """Handle on a real control plane (``tests.cluster``) or on ``ISTIO_TEST_KUBECONFIG``'s cluster."""

    def __init__(self, name: str, url: str, token: str, ca_pem: bytes, kubeconfig: str, workdir: str,
                 audit_log: str = "", user: str = "admin", context: str = ""):
        super().__init__(name, url, token, ca_pem, kubeconfig, workdir)
        self.context = context or name
        self.audit_log = audit_log
        self.user = user
        self.baseline: Set[Tuple[str, str, str]] = set()
        self._resources: Optional[List[Tuple[str, str, bool]]] = None

    def kubectl(self, *args: str, input: Optional[str] = None, check: bool = True, timeout: float = 60,
                binary: str = "") -> Any:
        """kubectl of the control plane's own version (a real cluster rejects what a skewed one sends)."""
        built = build.binaries().get("kubectl", "")
        return super().kubectl(*args, input=input, check=check, timeout=timeout,
                               binary=binary or (built if os.access(built, os.X_OK) else ""))

    # -- request log ----------------------------------------------------------------------------

    def _sync_audit(self) -> None:
        """Events are written after the response; a marker request that shows up in the log
        means every earlier request of ours has been written too."""
        marker = f"audit-mark-{uuid.uuid4().hex[:12]}"
        self.http("GET", f"/api/v1/namespaces/default/configmaps/{marker}")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with open(self.audit_log, "rb") as handle:
                if marker.encode() in handle.read():
                    return
            time.sleep(0.02)
        raise AssertionError("the API server did not write its audit log")

    def _events(self) -> List[dict]:
        if not self.audit_log:
            raise NotImplementedError("a cluster given by ISTIO_TEST_KUBECONFIG has no request log")
        self._sync_audit()
        events = []
        with open(self.audit_log) as handle:
            for line in handle:
                event = json.loads(line)
                if event.get("stage") == "ResponseComplete" and \
                        (event.get("user") or {}).get("username") == self.user:
                    events.append(event)
        return events

    def requests(self, since: int = 0) -> List[dict]:
        entries = [audit_entry(seq, e) for seq, e in enumerate(self._events(), 1) if seq > since]
        for entry in entries:
            entry["persisted"] = self._persisted(entry)
        return [e for e in entries if not e["path"].startswith("/api/v1/namespaces/default/configmaps/audit-mark-")]

    def last_request(self) -> int:
        return len(self._events())

    def _persisted(self, entry: dict) -> bool:
        if not entry["mutating"] or entry["dry_run"] or not 200 <= entry["code"] < 300:
            return False
        if entry["verb"] in ("create", "delete", "deletecollection"):
            return True
        status, _unused, current = self.http("GET", entry["path"])
        if status != 200:
            return True  # gone since: whatever it was, it changed the object
        request_second = int(entry["time"])
        for field in (current.get("metadata") or {}).get("managedFields") or []:
            if field.get("subresource", "") == entry["subresource"] and field.get("time") and \
                    _parse_time(field["time"]) >= request_second:
                return True
        return False

    # -- objects --------------------------------------------------------------------------------

    def get_object(self, kind_path: str, namespace: str, name: str) -> Optional[dict]:
        """``kind_path`` is a resource path prefix such as ``api/v1/configmaps`` or
        ``apis/apps/v1/deployments``."""
        prefix, _unused, plural = kind_path.rpartition("/")
        path = f"/{prefix}/namespaces/{namespace}/{plural}/{name}" if namespace else f"/{prefix}/{plural}/{name}"
        status, _unused, body = self.http("GET", path)
        return body if status == 200 else None

    def create_pods(self, namespace: str, count: int = 1, labels: Optional[dict] = None,
                    annotations: Optional[dict] = None, phase: str = "Running", ready: Optional[bool] = None,
                    owner: Optional[dict] = None, inject: bool = False, name_prefix: str = "",
                    containers: Optional[list] = None, node: str = "", timeout: float = 60) -> List[dict]:
        """Real Pods. Injection is the webhook's decision (``inject`` is accepted for the Python
        server's signature). ``phase``/``ready`` other than Running and Ready are written to the
        status once kwok has run the pod."""
        del inject
        metadata: Dict[str, Any] = {"generateName": f"{name_prefix or 'pod'}-", "labels": dict(labels or {}),
                                    "annotations": dict(annotations or {})}
        if owner:
            metadata["ownerReferences"] = [self._owner_reference(namespace, owner)]
        spec: Dict[str, Any] = {"containers": containers or [{"name": "app", "image": "registry.example/app:1"}],
                                "terminationGracePeriodSeconds": 0}
        if node:
            spec["nodeName"] = node
        created = []
        for _unused in range(count):
            status, _unused, body = self.http("POST", f"/api/v1/namespaces/{namespace}/pods",
                                              {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec})
            if status != 201:
                raise AssertionError(f"creating a pod in {namespace}: {status} {body}")
            created.append(body)
        return [self._settle_pod(p, phase, ready, timeout) for p in created]

    def _owner_reference(self, namespace: str, owner: dict) -> dict:
        kinds = {"Deployment": "apis/apps/v1/deployments", "ReplicaSet": "apis/apps/v1/replicasets",
                 "DaemonSet": "apis/apps/v1/daemonsets", "StatefulSet": "apis/apps/v1/statefulsets",
                 "Job": "apis/batch/v1/jobs"}
        found = self.get_object(kinds[owner["kind"]], namespace, owner["name"])
        if found is None:
            raise ValueError(f"owner {owner['kind']}/{owner['name']} not found in {namespace}")
        return {"apiVersion": found["apiVersion"], "kind": found["kind"], "name": owner["name"],
                "uid": found["metadata"]["uid"], "controller": True}

    def _settle_pod(self, pod: dict, phase: str, ready: Optional[bool], timeout: float) -> dict:
        namespace, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        path = f"/api/v1/namespaces/{namespace}/pods/{name}"
        deadline = time.monotonic() + timeout
        while True:
            status, _unused, current = self.http("GET", path)
            if status == 200 and (current.get("status") or {}).get("podIP"):
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"pod {namespace}/{name} was not run by kwok in {timeout:.0f} s")
            time.sleep(0.1)
        want_ready = (phase == "Running") if ready is None else ready
        if phase == "Running" and want_ready:
            return current
        conditions = [dict(c, status="False") if c.get("type") in ("Ready", "ContainersReady") else c
                      for c in current["status"].get("conditions") or []]
        patch = {"status": {"phase": phase, "conditions": conditions}}
        status, _unused, body = self.http("PATCH", path + "/status", patch,
                                          headers={"Content-Type": "application/merge-patch+json"})
        if status != 200:
            raise AssertionError(f"setting pod {namespace}/{name} {phase}: {status} {body}")
        return body

    def injection(self, namespace: str, labels: Optional[dict] = None) -> Optional[str]:
        """The revision whose injector the API server calls for a Pod here (a dry-run create)."""
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "injection-probe-",
                                                               "labels": dict(labels or {})},
               "spec": {"containers": [{"name": "app", "image": "registry.example/app:1"}]}}
        status, _unused, body = self.http("POST", f"/api/v1/namespaces/{namespace}/pods", pod, query={"dryRun": "All"})
        if status != 201:
            raise AssertionError(f"a pod in {namespace} was refused: {status} {(body or {}).get('message')}")
        return ((body["metadata"].get("annotations") or {})).get("istio.io/rev")

    # -- reset ----------------------------------------------------------------------------------

    def _resource_types(self) -> List[Tuple[str, str, bool]]:
        """(list path prefix, plural, namespaced) of every kind that can be listed and deleted."""
        found = []
        groups = [("api/v1", self._get_json("/api/v1"))]
        for group in (self._get_json("/apis") or {}).get("groups") or []:
            version = group["preferredVersion"]["groupVersion"]
            groups.append((f"apis/{version}", self._get_json(f"/apis/{version}")))
        for prefix, listing in groups:
            for res in (listing or {}).get("resources") or []:
                verbs = set(res.get("verbs") or [])
                if "/" not in res["name"] and {"list", "delete"} <= verbs:
                    found.append((prefix, res["name"], bool(res.get("namespaced"))))
        return found

    def _get_json(self, path: str) -> Optional[dict]:
        """A GET that may race with a group or kind being removed (then None)."""
        status, _unused, raw = self.http("GET", path, raw=True)
        try:
            return json.loads(raw) if status == 200 else None
        except ValueError:
            return None

    def _inventory(self) -> Set[Tuple[str, str, str]]:
        """(resource, namespace, name) of what is there now, leaving out the namespaces' contents
        except in the built-in namespaces."""
        seen = set()
        for prefix, plural, namespaced in self._resource_types():
            if namespaced and plural in SYSTEM_KINDS:
                continue
            body = self._get_json(f"/{prefix}/{plural}")
            for item in (body or {}).get("items") or []:
                meta = item["metadata"]
                namespace = meta.get("namespace", "")
                if namespaced and namespace not in BUILTIN_NAMESPACES:
                    continue
                seen.add((f"{prefix}/{plural}", namespace, meta["name"]))
        return seen

    def all_objects(self) -> Iterator[Tuple[Tuple[str, str], dict]]:
        """((group, plural), object) of everything stored, but what the control plane itself keeps
        churning (events, leases, endpoints); the same shape as the Python server's store."""
        for prefix, plural, namespaced in self._resource_types():
            if namespaced and plural in SYSTEM_KINDS:
                continue
            group = prefix.split("/")[1] if prefix.startswith("apis/") else ""
            for item in (self._get_json(f"/{prefix}/{plural}") or {}).get("items") or []:
                yield (group, plural), item

    def record_baseline(self) -> None:
        self.baseline = self._inventory()

    def reset(self) -> None:
        """Delete what is not in the baseline and wait until it is gone."""
        extra = self._inventory() - self.baseline
        for resource, namespace, name in sorted(extra):
            if self._generated(resource, namespace, name):
                continue
            if resource.endswith("/customresourcedefinitions"):
                self._await_crd_storage(name)
            self.http("DELETE", self._object_path(resource, namespace, name),
                      {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background",
                       "gracePeriodSeconds": 0})
        deadline = time.monotonic() + RESET_TIMEOUT
        while True:
            left = [e for e in self._inventory() - self.baseline if not self._generated(*e)]
            if not left:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"reset: still there after {RESET_TIMEOUT:.0f} s: {left[:10]}")
            time.sleep(0.2)

    def _await_crd_storage(self, name: str) -> None:
        """Until the CRD's objects can be listed: a CRD deleted while its storage is still initializing keeps
        its cleanup finalizer for minutes (kube-apiserver's finalizer backs off after "storage is
        (re)initializing"), which a test that installs without waiting reaches."""
        crd = self._get_json("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/%s" % quote(name, safe=""))
        spec = (crd or {}).get("spec") or {}
        served = [v["name"] for v in spec.get("versions") or [] if v.get("served")]
        if not served:
            return
        path = "/apis/%s/%s/%s?limit=1" % (spec["group"], served[0], spec["names"]["plural"])
        deadline = time.monotonic() + CRD_STORAGE_TIMEOUT
        while self._get_json(path) is None and time.monotonic() < deadline:
            time.sleep(0.2)

    @staticmethod
    def _generated(resource: str, namespace: str, name: str) -> bool:
        """Objects the control plane recreates by itself for the namespaces the test made."""
        del namespace
        return resource == "api/v1/serviceaccounts" and name == "default" or \
            resource == "api/v1/configmaps" and name == "kube-root-ca.crt"

    @staticmethod
    def _object_path(resource: str, namespace: str, name: str) -> str:
        prefix, _unused, plural = resource.rpartition("/")
        name = quote(name, safe="")
        return f"/{prefix}/namespaces/{namespace}/{plural}/{name}" if namespace else f"/{prefix}/{plural}/{name}"

    # -- what the Python server has and a real one does not -------------------------------------

    def _not_here(self, what: str):
        raise NotImplementedError(f"{what} exists only on the Python test server (use the kubeapi_* fixtures)")

    def set_unready(self, *args: Any, **kwargs: Any) -> None:
        self._not_here("set_unready")

    def simulate_pods(self, kind: str, namespace: str, name: str, enabled: bool = True) -> None:
        """Nothing to switch on: the real controllers and kwok run every workload's pods."""
        del kind, namespace, name
        if not enabled:
            self._not_here("workloads without pods")

    def inject_fault(self, **spec: Any) -> dict:
        self._not_here("fault injection")

    def clear_faults(self) -> None:
        self._not_here("fault injection")

    def configure(self, nodes: Optional[int] = None, **flags: Any) -> dict:
        """Only the node count can be set here: nodes node-1..node-N (kwok runs them)."""
        if flags:
            self._not_here("configure(%s)" % ", ".join(flags))
        if nodes is not None:
            self._set_nodes(nodes)
        return {"nodes": nodes}

    def _set_nodes(self, count: int) -> None:
        wanted = {f"node-{i}" for i in range(1, count + 1)}
        have = {item["metadata"]["name"] for item in (self._get_json("/api/v1/nodes") or {}).get("items") or []}
        for name in sorted(wanted - have):
            status, _unused, body = self.http("POST", "/api/v1/nodes", node_object(name))
            if status != 201:
                raise AssertionError(f"creating node {name}: {status} {body}")
        for name in sorted(have - wanted):
            self.http("DELETE", f"/api/v1/nodes/{name}")

    def reset_log(self) -> None:
        self._not_here("reset_log")


def node_object(name: str) -> dict:
    """A node kwok takes over (it manages every node) with room for any test's pods."""
    room = {"cpu": "32", "memory": "256Gi", "pods": "250"}
    return {"apiVersion": "v1", "kind": "Node", "metadata": {
        "name": name, "annotations": {"kwok.x-k8s.io/node": "fake"},
        "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                   "type": "kwok"}}, "status": {"allocatable": room, "capacity": room}}


def handle_for(plane: Any, kubeconfig: str, workdir: str) -> RealCluster:
    handle = RealCluster(plane.name, plane.url, plane.admin_token, plane.pki.ca_pem, kubeconfig, workdir,
                         audit_log=plane.audit_log)
    os.makedirs(handle.kubectl_cache, exist_ok=True)
    return handle
