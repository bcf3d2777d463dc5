"""A load balancer for the real test control plane, as a cloud's (or MetalLB's) controller would be.

The control plane in ``tests/cluster`` runs without a cloud provider, so nothing gives a
``LoadBalancer`` Service an address and whatever waits for one (gateways, the multicluster
playbook) would wait forever. ``LoadBalancers`` watches every cluster of a test and writes
``status.loadBalancer.ingress`` for Services that have none, from an address range of its own per
cluster.

It acts as a service account of its own (``kube-system/test-load-balancer``, allowed only to read
Services and write their status), so its writes are not the test's: the audit policy leaves
service accounts out of the request log, as it leaves out the other controllers. The account and
its RBAC are made before the test's own objects and go with the next reset.

It serves only clusters that ``tests/cluster`` started (the planes of the pool): the Python server
assigns addresses itself, and an ``ISTIO_TEST_KUBECONFIG`` cluster has a load balancer of its own
or none to stand in for.
"""
from __future__ import annotations

import http.client
import json
import ssl
import threading
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urlsplit

NAME = "test-load-balancer"
NAMESPACE = "kube-system"
POLL_SECONDS = 0.5
RULES = [{"apiGroups": [""], "resources": ["services"], "verbs": ["get", "list", "watch"]},
         {"apiGroups": [""], "resources": ["services/status"], "verbs": ["patch", "update"]}]


class ServiceAccountClient:
    """JSON over HTTPS to one test cluster as a service account of its own in kube-system, made
    (with a ClusterRole of ``rules``) by the admin; the request log leaves service accounts out."""

    def __init__(self, handle: Any, name: str, rules: List[dict]):
        self.handle = handle
        binding = {"kind": "ServiceAccount", "name": name, "namespace": NAMESPACE}
        for path, body in (
                ("/api/v1/namespaces/%s/serviceaccounts" % NAMESPACE,
                 {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": NAMESPACE}}),
                ("/apis/rbac.authorization.k8s.io/v1/clusterroles",
                 {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": name},
                  "rules": rules}),
                ("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
                 {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                  "metadata": {"name": name},
                  "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
                  "subjects": [binding]})):
            status, _unused, reply = handle.http("POST", path, body)
            if status not in (201, 409):
                raise AssertionError("%s on %s: %s %s" % (name, handle.name, status, reply))
        status, _unused, reply = handle.http(
            "POST", "/api/v1/namespaces/%s/serviceaccounts/%s/token" % (NAMESPACE, name),
            {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 3600}})
        if status != 201:
            raise AssertionError("%s token on %s: %s %s" % (name, handle.name, status, reply))
        self.token = reply["status"]["token"]
        self.context = ssl.create_default_context(cadata=handle.ca_pem.decode())
        self._conn: Optional[http.client.HTTPSConnection] = None
        self._lock = threading.Lock()

    def call(self, method: str, path: str, body: Any = None,
             content_type: str = "application/merge-patch+json") -> Tuple[int, Any]:
        """One request on a kept-alive connection (one TLS handshake, not one per request)."""
        headers = {"Authorization": "Bearer " + self.token, "Content-Type": content_type}
        data = json.dumps(body).encode() if body is not None else None
        with self._lock:
            for attempt in (1, 2):
                if self._conn is None:
                    split = urlsplit(self.handle.url)
                    self._conn = http.client.HTTPSConnection(split.hostname, split.port, context=self.context,
                                                             timeout=30)
                try:
                    self._conn.request(method, path, body=data, headers=headers)
                    response = self._conn.getresponse()
                    payload = response.read()
                    break
                except (OSError, http.client.HTTPException):
                    self._conn.close()
                    self._conn = None
                    if attempt == 2:
                        raise
        return response.status, json.loads(payload) if payload.strip() else None

    def items(self, path: str) -> List[dict]:
        status, listing = self.call("GET", path)
        if status != 200:
            return []
        return (listing or {}).get("items") or []


class _Assigner:
    """One cluster: its client and the addresses handed out."""

    def __init__(self, handle: Any, index: int):
        self.handle = handle
        self.prefix = "172.18.%d." % (200 + index)
        self.next_host = 0
        self.client = ServiceAccountClient(handle, NAME, RULES)
        self.call = self.client.call

    def assign(self) -> None:
        status, listing = self.call("GET", "/api/v1/services")
        if status != 200:
            return
        for service in listing.get("items") or []:
            spec, meta = service.get("spec") or {}, service["metadata"]
            if spec.get("type") != "LoadBalancer" or \
                    ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
                continue
            self.next_host += 1
            patch = {"status": {"loadBalancer": {"ingress": [
                {"ip": self.prefix + str(self.next_host), "ipMode": "VIP"}]}}}
            self.call("PATCH", "/api/v1/namespaces/%s/services/%s/status" % (meta["namespace"], meta["name"]), patch)


class LoadBalancers:
    """Addresses for the LoadBalancer Services of these clusters until ``stop()``."""

    def __init__(self, handles: List[Any], pool: Any):
        ours = {plane.url for plane in getattr(pool, "planes", [])}
        self.assigners = [_Assigner(h, i) for i, h in enumerate(handles, 1) if getattr(h, "url", None) in ours]
        self.stopping = threading.Event()
        self.errors: Dict[str, str] = {}
        self.thread = threading.Thread(target=self._run, name="test-load-balancer", daemon=True)
        if self.assigners:
            self.thread.start()

    def _run(self) -> None:
        while not self.stopping.is_set():
            for assigner in self.assigners:
                try:
                    assigner.assign()
                except Exception as exc:  # a cluster being reset or stopped; try again
                    self.errors[assigner.handle.name] = str(exc)
            self.stopping.wait(POLL_SECONDS)

    def stop(self) -> None:
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(timeout=10)
