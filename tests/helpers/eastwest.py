"""The network between the real test clusters that a multicluster mesh needs, and what istiod does
across it.

``tests/cluster`` gives each cluster an istiod stand-in that its API server reaches through an
egress socket (HTTP CONNECT to ``<istiod pod IP>:15017``); it answers only for the istiod pods of
its own cluster. A remote cluster of a mesh has no istiod: its webhooks point at the address of
another cluster's gateway (``global.remotePilotAddress``), which forwards port 15017 to that
cluster's istiod. For the clusters of one test, ``EastWest`` adds:

* **the gateways' forwarding.** It sits in front of each cluster's egress socket (the socket file
  is moved aside and a relay listens at its path). A CONNECT to ``<address>:15017``, where
  ``<address>`` is a cluster's LoadBalancer address, goes where Istio's gateway would send it:
  the ``Gateway`` objects that select that Service's pods and listen on 15017, a
  ``VirtualService`` bound to one of them with a TLS route for port 15017, its destination
  Service, and that Service's ready endpoints. The connection is relayed to the egress socket of
  the cluster that owns the address, as a CONNECT to that endpoint: its istiod stand-in answers,
  or refuses if no istiod serves there. Every other CONNECT passes through unchanged.
* **istiod patching the clusters it reads.** An istiod with ``EXTERNAL_ISTIOD=true`` that holds a
  remote secret (``istio/multiCluster=true``) whose kubeconfig reaches another test cluster
  patches that cluster's webhook configurations of its revision with its CA bundle and switches
  their validators to ``failurePolicy: Fail`` (istiod's multicluster controller does this through
  the remote secret). Until the remote secret is there, the remote cluster's webhooks have no CA
  and its API server refuses the injector's certificate, as on a real mesh.

Both act as a service account of their own per cluster (the request log leaves them out). Nothing
here runs on the Python server or on ``ISTIO_TEST_KUBECONFIG`` clusters.
"""
from __future__ import annotations

import base64
import os
import socket
import socketserver
import threading
from typing import Any, Dict, List, Optional, Tuple

import yaml

from tests.helpers.loadbalancer import ServiceAccountClient

NAME = "test-istiod-peer"
WEBHOOK_PORT = 15017
POLL_SECONDS = 1.0
FIELD_MANAGER = "pilot-discovery"
RULES = [
    {"apiGroups": [""], "resources": ["pods", "services", "secrets"], "verbs": ["get", "list"]},
    {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list"]},
    {"apiGroups": ["networking.istio.io"], "resources": ["gateways", "virtualservices"], "verbs": ["get", "list"]},
    {"apiGroups": ["admissionregistration.k8s.io"],
     "resources": ["mutatingwebhookconfigurations", "validatingwebhookconfigurations"],
     "verbs": ["get", "list", "patch"]},
]


def _selects(selector: Optional[dict], labels: Optional[dict]) -> bool:
    selector = selector or {}
    return bool(selector) and all((labels or {}).get(k) == v for k, v in selector.items())


def _env(pod: dict) -> Dict[str, str]:
    return {item["name"]: item["value"] for container in (pod.get("spec") or {}).get("containers") or []
            for item in container.get("env") or [] if "value" in item}


def _ready(pod: dict) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and not pod["metadata"].get("deletionTimestamp") and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


def _splice(one: socket.socket, other: socket.socket) -> None:
    def pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
    back = threading.Thread(target=pump, args=(other, one), daemon=True)
    back.start()
    pump(one, other)
    back.join()


class _Cluster:
    """One test cluster: its handle, egress socket, and the relay in front of it."""

    def __init__(self, handle: Any, plane: Any):
        self.handle, self.url = handle, handle.url
        self.socket_path = plane.egress_socket
        self.inner_path = self.socket_path + ".inner"
        self.client = ServiceAccountClient(handle, NAME, RULES)
        self.ca = base64.b64encode(plane.standin.certs.ca_pem).decode()
        self.relay: Optional[socketserver.UnixStreamServer] = None


class _Relay(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class EastWest:
    """Forwarding and webhook upkeep between the clusters ``handles`` (planes of ``pool``)."""

    def __init__(self, handles: List[Any], pool: Any):
        by_url = {plane.url: plane for plane in getattr(pool, "planes", [])}
        self.clusters = [_Cluster(h, by_url[h.url]) for h in handles
                         if getattr(h, "url", None) in by_url and by_url[h.url].standin is not None]
        self.errors: Dict[str, str] = {}
        self.stopping = threading.Event()
        for cluster in self.clusters:
            self._relay_in_front(cluster)
        self.thread = threading.Thread(target=self._run, name="test-eastwest", daemon=True)
        if self.clusters:
            self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        for cluster in self.clusters:
            if cluster.relay is not None:
                os.rename(cluster.inner_path, cluster.socket_path)  # replaces the relay's socket file
                cluster.relay.shutdown()
                cluster.relay.server_close()
                cluster.relay = None
        if self.thread.is_alive():
            self.thread.join(timeout=10)

    # -- the gateways' forwarding ----------------------------------------------------------------

    def _relay_in_front(self, cluster: _Cluster) -> None:
        network = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                network.relay(cluster, self.request)

        os.rename(cluster.socket_path, cluster.inner_path)
        cluster.relay = _Relay(cluster.socket_path, Handler)
        threading.Thread(target=cluster.relay.serve_forever, daemon=True, name="test-eastwest-relay").start()

    def relay(self, cluster: _Cluster, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 8192:
            chunk = client.recv(4096)
            if not chunk:
                return
            head += chunk
        line = head.split(b"\r\n", 1)[0].decode(errors="replace").split()
        host, _unused, port = (line[1] if len(line) > 1 and line[0] == "CONNECT" else "").rpartition(":")
        target, inner = None, cluster.inner_path
        if port == str(WEBHOOK_PORT):
            target = self.route(host)
        if target is not None:
            owner, endpoint = target
            inner = owner.inner_path
            rest = head.split(b"\r\n", 1)[1] if b"\r\n" in head else b""
            head = ("CONNECT %s:%d HTTP/1.1\r\n" % (endpoint, WEBHOOK_PORT)).encode() + rest
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            upstream.connect(inner)
            upstream.sendall(head)
        except OSError:
            client.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
            upstream.close()
            return
        _splice(client, upstream)
        upstream.close()

    def route(self, address: str) -> Optional[Tuple[_Cluster, str]]:
        """(owning cluster, endpoint IP) that a connection to ``address``:15017 is forwarded to."""
        for cluster in self.clusters:
            try:
                endpoint = self._route_in(cluster, address)
            except Exception as exc:  # the cluster is being reset: no route
                self.errors["route " + address] = str(exc)
                endpoint = None
            if endpoint is not None:
                return cluster, endpoint
        return None

    @staticmethod
    def _route_in(cluster: _Cluster, address: str) -> Optional[str]:
        client = cluster.client
        services = [s for s in client.items("/api/v1/services")
                    if (s.get("spec") or {}).get("type") == "LoadBalancer"
                    and address in [i.get("ip") for i in ((s.get("status") or {}).get("loadBalancer") or {})
                                    .get("ingress") or []]
                    and WEBHOOK_PORT in [p.get("port") for p in s["spec"].get("ports") or []]]
        if not services:
            return None
        selector = services[0]["spec"].get("selector")
        listening = {(g["metadata"]["namespace"], g["metadata"]["name"])
                     for g in client.items("/apis/networking.istio.io/v1/gateways")
                     if _selects((g.get("spec") or {}).get("selector"), selector)
                     and any((srv.get("port") or {}).get("number") == WEBHOOK_PORT
                             for srv in (g.get("spec") or {}).get("servers") or [])}
        for vs in client.items("/apis/networking.istio.io/v1/virtualservices"):
            namespace, spec = vs["metadata"]["namespace"], vs.get("spec") or {}
            bound = {tuple(ref.split("/", 1)) if "/" in ref else (namespace, ref) for ref in spec.get("gateways") or []}
            if not bound & listening:
                continue
            # TLS routes pass through; HTTP routes follow a gateway that terminates TLS (SIMPLE)
            for tls in (spec.get("tls") or []) + (spec.get("http") or []):
                if not any(m.get("port") == WEBHOOK_PORT for m in tls.get("match") or []):
                    continue
                for route in tls.get("route") or []:
                    parts = ((route.get("destination") or {}).get("host") or "").split(".")
                    service, service_ns = parts[0], parts[1] if len(parts) > 1 else namespace
                    slices = client.items("/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices?labelSelector="
                                          "kubernetes.io%%2Fservice-name%%3D%s" % (service_ns, service))
                    for item in slices:
                        for endpoint in item.get("endpoints") or []:
                            if (endpoint.get("conditions") or {}).get("ready") is not False and \
                                    endpoint.get("addresses"):
                                return endpoint["addresses"][0]
        return None

    # -- istiod patching the clusters it reads -------------------------------------------------------

    def _run(self) -> None:
        while not self.stopping.wait(POLL_SECONDS):
            for cluster in self.clusters:
                try:
                    self._patch_remotes(cluster)
                except Exception as exc:  # a cluster being reset; try again
                    self.errors[cluster.handle.name] = str(exc)

    def _patch_remotes(self, owner: _Cluster) -> None:
        revisions = {(pod["metadata"].get("labels") or {}).get("istio.io/rev") or "default"
                     for pod in owner.client.items("/api/v1/pods?labelSelector=app%3Distiod")
                     if _ready(pod) and _env(pod).get("EXTERNAL_ISTIOD") == "true"}
        if not revisions:
            return
        servers = set()
        for secret in owner.client.items("/api/v1/secrets?labelSelector=istio%2FmultiCluster%3Dtrue"):
            for value in (secret.get("data") or {}).values():
                try:
                    config = yaml.safe_load(base64.b64decode(value))
                    servers.update(c["cluster"]["server"] for c in config.get("clusters") or [])
                except Exception:  # not a kubeconfig
                    continue
        for remote in self.clusters:
            if remote is not owner and remote.url in servers:
                self._patch_webhooks(remote, revisions, owner.ca)

    @staticmethod
    def _patch_webhooks(remote: _Cluster, revisions: set, ca: str) -> None:
        for kind, fail_close in (("mutatingwebhookconfigurations", False), ("validatingwebhookconfigurations", True)):
            path = "/apis/admissionregistration.k8s.io/v1/" + kind
            for config in remote.client.items(path):
                if (config["metadata"].get("labels") or {}).get("istio.io/rev") not in revisions:
                    continue
                patch = []
                for index, hook in enumerate(config.get("webhooks") or []):
                    if (hook.get("clientConfig") or {}).get("caBundle") != ca:
                        patch.append({"op": "add", "path": "/webhooks/%d/clientConfig/caBundle" % index, "value": ca})
                    if fail_close and hook.get("failurePolicy") != "Fail":
                        patch.append({"op": "add", "path": "/webhooks/%d/failurePolicy" % index, "value": "Fail"})
                if patch:
                    remote.client.call("PATCH", "%s/%s?fieldManager=%s" % (path, config["metadata"]["name"],
                                                                           FIELD_MANAGER),
                                       patch, "application/json-patch+json")
