"""A stand-in for istiod's webhooks on the test control plane.

Why a stand-in and not pilot-discovery itself: building istio.io/istio adds a second Go build of
the size of Kubernetes' to every cold CI run, which the 60-minute budget of a cold run cannot take
beside the control plane, and istiod needs a real pod network to serve. The stand-in does what the
tests need istiod for, the way istiod does it:

* The API server really calls the webhooks the charts install. It is started with
  ``--enable-aggregator-routing`` (the webhook Service's ready endpoints are dialled) and an egress
  selector that sends that traffic to this process over a unix socket (HTTP CONNECT), so nothing
  leaves loopback. A CONNECT to ``<pod IP>:15017`` is answered only while that pod is an istiod pod
  (``app=istiod``) that kwok reports Running and Ready; otherwise the call fails, and with the
  injector's ``failurePolicy: Fail`` the API server refuses the pod, as on a real cluster.
* ``/inject``: decides as istiod's injector does (already-injected pods, ``hostNetwork``, the
  ``sidecar.istio.io/inject`` label or annotation) and returns the JSON patch: the ``istio-proxy``
  container (or, for gateways, the ``auto`` image replaced), ``istio-init`` unless the CNI is on,
  the volumes, the ``sidecar.istio.io/status`` and ``istio.io/rev`` annotations and Istio's labels.
  The proxy image comes from the revision's ``istio-sidecar-injector`` ConfigMap values.
* ``/validate``: admits (config validation itself is out of scope).
* Like istiod, it patches the ``caBundle`` of its revision's webhook configurations with its own CA,
  and switches its validators to ``failurePolicy: Fail`` once serving.
"""
from __future__ import annotations

import base64
import datetime
import http.server
import json
import os
import socketserver
import ssl
import tempfile
import threading
import urllib.error
import urllib.request
from typing import Dict, Optional, Tuple

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

WEBHOOK_PORT = 15017
POLL_SECONDS = 0.3
FIELD_MANAGER = "pilot-discovery"
PROXY_VOLUMES = ["workload-socket", "credential-socket", "workload-certs", "istio-envoy", "istio-data",
                 "istio-podinfo", "istio-token", "istiod-ca-cert"]


# --- certificates ---------------------------------------------------------------------------------

def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


class _Certificates:
    """istiod's self-signed CA and one serving certificate per Service DNS name."""

    def __init__(self, workdir: str):
        self.workdir = workdir
        self.key = ec.generate_private_key(ec.SECP256R1())
        start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
        self.start, self.end = start, start + datetime.timedelta(days=30)
        self.ca = (x509.CertificateBuilder().subject_name(_name("istiod-standin-ca")).issuer_name(
            _name("istiod-standin-ca")).public_key(self.key.public_key()).serial_number(
            x509.random_serial_number()).not_valid_before(start).not_valid_after(self.end).add_extension(
            x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(self.key, hashes.SHA256()))
        self.ca_pem = self.ca.public_bytes(serialization.Encoding.PEM)
        self._contexts: Dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def context_for(self, server_name: str) -> ssl.SSLContext:
        with self._lock:
            if server_name not in self._contexts:
                self._contexts[server_name] = self._make_context(server_name)
            return self._contexts[server_name]

    def _make_context(self, server_name: str) -> ssl.SSLContext:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder().subject_name(_name(server_name)).issuer_name(self.ca.subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(self.start).not_valid_after(self.end)
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(server_name)]), critical=False)
                .sign(self.key, hashes.SHA256()))
        path = os.path.join(self.workdir, f"{server_name}.pem")
        with open(path, "wb") as handle:
            handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
            handle.write(cert.public_bytes(serialization.Encoding.PEM))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(path)
        context.set_alpn_protocols(["http/1.1"])
        return context

    def server_context(self) -> ssl.SSLContext:
        context = self.context_for("istiod.istio-system.svc")

        def pick(sock: ssl.SSLObject, server_name: Optional[str], _ctx: ssl.SSLContext) -> None:
            if server_name:
                sock.context = self.context_for(server_name)
        context.sni_callback = pick
        return context


# --- the API ----------------------------------------------------------------------------------------

class _Api:
    """Just enough of a client: JSON over HTTPS with the stand-in's own token."""

    def __init__(self, kubeconfig: str):
        with open(kubeconfig) as handle:
            config = yaml.safe_load(handle)
        cluster = config["clusters"][0]["cluster"]
        self.server = cluster["server"]
        self.token = config["users"][0]["user"]["token"]
        self.context = ssl.create_default_context(
            cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())

    def call(self, method: str, path: str, body=None, content_type: str = "application/json"):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.server + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": content_type, "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10, context=self.context) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise


def _ready(pod: dict) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and not pod["metadata"].get("deletionTimestamp") and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


def serving_istiods(pods: list) -> Dict[str, Tuple[str, str, str]]:
    """{pod IP: (namespace, revision, pilot image)} of the istiod pods that would answer webhook calls."""
    found = {}
    for pod in pods:
        ip = (pod.get("status") or {}).get("podIP")
        if ip and _ready(pod):
            labels = pod["metadata"].get("labels") or {}
            image = ((pod.get("spec") or {}).get("containers") or [{}])[0].get("image", "")
            found[ip] = (pod["metadata"]["namespace"], labels.get("istio.io/rev") or "default", image)
    return found


# --- injection, as istiod's injector decides it ---------------------------------------------------

def _truthy_off(value: Optional[str]) -> bool:
    return value is not None and value.lower() in ("false", "no", "n", "0", "off")


def skip_reason(pod: dict) -> str:
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    annotations, labels = meta.get("annotations") or {}, meta.get("labels") or {}
    if "sidecar.istio.io/status" in annotations:
        return "already injected"
    if spec.get("hostNetwork"):
        return "host network"
    if _truthy_off(labels.get("sidecar.istio.io/inject")) or _truthy_off(annotations.get("sidecar.istio.io/inject")):
        return "injection disabled on the pod"
    return ""


def proxy_image(values: dict, pilot_image: str = "") -> str:
    """The proxy image of the injector's values; an empty tag means istiod's own version, which
    is the tag of its pilot image."""
    glob = values.get("global") or {}
    image = (glob.get("proxy") or {}).get("image") or "proxyv2"
    if "/" in image:
        return image
    own_tag = pilot_image.rpartition(":")[2] if ":" in pilot_image.rpartition("/")[2] else "latest"
    return f"{glob.get('hub') or 'docker.io/istio'}/{image}:{glob.get('tag') or own_tag}"


def _cni_enabled(values: dict) -> bool:
    return bool((values.get("istio_cni") or {}).get("enabled") or
                ((values.get("pilot") or {}).get("cni") or {}).get("enabled"))


def injected(pod: dict, revision: str, values: dict, pilot_image: str = "") -> dict:
    """The pod as istiod's sidecar template leaves it (the parts tests and the collection read)."""
    pod = json.loads(json.dumps(pod))
    meta, spec = pod.setdefault("metadata", {}), pod.setdefault("spec", {})
    labels, annotations = meta.setdefault("labels", {}), meta.setdefault("annotations", {})
    image = proxy_image(values, pilot_image)
    containers = spec.setdefault("containers", [])
    gateway = next((c for c in containers if c.get("name") == "istio-proxy"), None)
    init = [] if gateway is not None or _cni_enabled(values) else ["istio-init"]
    if gateway is not None:
        if gateway.get("image") in (None, "", "auto"):
            gateway["image"] = image
    else:
        containers.append({"name": "istio-proxy", "image": image, "args": ["proxy", "sidecar"],
                           "ports": [{"containerPort": 15090, "name": "http-envoy-prom", "protocol": "TCP"}]})
        if containers and len(containers) > 1:
            annotations.setdefault("kubectl.kubernetes.io/default-container", containers[0]["name"])
    if init:
        spec.setdefault("initContainers", []).insert(0, {"name": "istio-init", "image": image,
                                                         "args": ["istio-iptables"]})
    existing = {v.get("name") for v in spec.get("volumes") or []}
    spec.setdefault("volumes", []).extend({"name": name, "emptyDir": {}} for name in PROXY_VOLUMES
                                          if name not in existing)
    labels.setdefault("security.istio.io/tlsMode", "istio")
    labels.setdefault("service.istio.io/canonical-name", labels.get("app.kubernetes.io/name") or labels.get(
        "app") or meta.get("generateName", "pod").rstrip("-") or "pod")
    labels.setdefault("service.istio.io/canonical-revision", labels.get("app.kubernetes.io/version") or
                      labels.get("version") or "latest")
    annotations["istio.io/rev"] = revision
    annotations["sidecar.istio.io/status"] = json.dumps({
        "initContainers": init or None, "containers": ["istio-proxy"], "volumes": PROXY_VOLUMES,
        "imagePullSecrets": None, "revision": revision}, separators=(",", ":"))
    return pod


def injection_patch(pod: dict, revision: str, values: dict, pilot_image: str = "") -> list:
    after = injected(pod, revision, values, pilot_image)
    patch = [{"op": "add", "path": "/metadata/labels", "value": after["metadata"]["labels"]},
             {"op": "add", "path": "/metadata/annotations", "value": after["metadata"]["annotations"]}]
    for field in ("initContainers", "containers", "volumes"):
        if field in after["spec"]:
            patch.append({"op": "add", "path": f"/spec/{field}", "value": after["spec"][field]})
    return patch


# --- the stand-in ----------------------------------------------------------------------------------

class _WebhookHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # the API server logs the calls it makes
        pass

    def do_POST(self) -> None:
        if self.server.ip not in self.server.standin.istiods:
            # That istiod has stopped: its connections end with it (the API server keeps them alive).
            self.close_connection = True
            return
        review = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        request = review.get("request") or {}
        response: dict = {"uid": request.get("uid", ""), "allowed": True}
        if self.path.startswith("/inject"):
            standin, (namespace, revision, pilot_image) = self.server.standin, self.server.istiod
            pod = request.get("object") or {}
            if not skip_reason(pod):
                values = standin.injector_values(namespace, revision)
                patch = injection_patch(pod, revision, values, pilot_image)
                response.update(patchType="JSONPatch", patch=base64.b64encode(json.dumps(patch).encode()).decode())
        body = json.dumps({"apiVersion": review.get("apiVersion", "admission.k8s.io/v1"),
                           "kind": "AdmissionReview", "response": response}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Tunnel:
    """What _WebhookHandler sees as its server: the stand-in and the istiod it plays."""

    def __init__(self, standin: "IstiodStandIn", ip: str, istiod: Tuple[str, str, str]):
        self.standin, self.ip, self.istiod = standin, ip, istiod


class _EgressHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 8192:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        line = head.split(b"\r\n", 1)[0].decode(errors="replace").split()
        standin: IstiodStandIn = self.server.standin
        target = line[1] if len(line) > 1 and line[0] == "CONNECT" else ""
        host, _unused, port = target.rpartition(":")
        istiod = standin.istiods.get(host) if port == str(WEBHOOK_PORT) else None
        if istiod is None:
            self.request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
            return
        self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        try:
            tls = standin.tls.wrap_socket(self.request, server_side=True)
            _WebhookHandler(tls, ("apiserver", 0), _Tunnel(standin, host, istiod))
        except (ssl.SSLError, OSError):
            pass


class _EgressServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class IstiodStandIn:
    """Webhook answers and webhook-configuration upkeep for every istiod revision of one cluster."""

    def __init__(self, socket_path: str, kubeconfig: str, cluster: str):
        self.socket_path = socket_path
        self.kubeconfig = kubeconfig
        self.cluster = cluster
        self.workdir = tempfile.mkdtemp(prefix=f"istiod-standin-{cluster}-")
        self.certs = _Certificates(self.workdir)
        self.tls = self.certs.server_context()
        self.istiods: Dict[str, Tuple[str, str, str]] = {}
        self._stop = threading.Event()
        self._server: Optional[_EgressServer] = None
        self._threads: list = []
        self._api: Optional[_Api] = None
        self.errors: list = []

    def start(self) -> "IstiodStandIn":
        if os.path.exists(self.socket_path):
            os.remove(self.socket_path)
        self._server = _EgressServer(self.socket_path, _EgressHandler)
        self._server.standin = self
        for target in (self._server.serve_forever, self._watch):
            thread = threading.Thread(target=target, daemon=True, name=f"istiod-standin-{self.cluster}")
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def api(self) -> _Api:
        if self._api is None:
            self._api = _Api(self.kubeconfig)
        return self._api

    def injector_values(self, namespace: str, revision: str) -> dict:
        name = "istio-sidecar-injector" + ("" if revision == "default" else f"-{revision}")
        config = self.api.call("GET", f"/api/v1/namespaces/{namespace}/configmaps/{name}") or {}
        try:
            return json.loads((config.get("data") or {}).get("values") or "{}")
        except ValueError:
            return {}

    def _watch(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            try:
                pods = self.api.call("GET", "/api/v1/pods?labelSelector=app%3Distiod") or {}
                self.istiods = serving_istiods(pods.get("items") or [])
                if self.istiods:
                    self._patch_webhooks({rev for _unused, rev, _unused in self.istiods.values()})
            except (OSError, ValueError, urllib.error.URLError) as exc:  # the API server is starting or stopping
                self.errors = (self.errors + [str(exc)])[-20:]

    def _patch_webhooks(self, revisions: set) -> None:
        ca = base64.b64encode(self.certs.ca_pem).decode()
        for kind, fail_close in (("mutatingwebhookconfigurations", False), ("validatingwebhookconfigurations", True)):
            path = f"/apis/admissionregistration.k8s.io/v1/{kind}"
            for config in (self.api.call("GET", path) or {}).get("items") or []:
                labels = config["metadata"].get("labels") or {}
                if labels.get("istio.io/rev") not in revisions:
                    continue
                patch = _webhook_patch(config, ca, fail_close)
                if patch:
                    self.api.call("PATCH", f"{path}/{config['metadata']['name']}?fieldManager={FIELD_MANAGER}",
                                  patch, "application/json-patch+json")


def _webhook_patch(config: dict, ca: str, fail_close: bool) -> list:
    patch = []
    for index, hook in enumerate(config.get("webhooks") or []):
        if (hook.get("clientConfig") or {}).get("caBundle") != ca:
            patch.append({"op": "add", "path": f"/webhooks/{index}/clientConfig/caBundle", "value": ca})
        if fail_close and hook.get("failurePolicy") != "Fail":
            patch.append({"op": "add", "path": f"/webhooks/{index}/failurePolicy", "value": "Fail"})
    return patch
