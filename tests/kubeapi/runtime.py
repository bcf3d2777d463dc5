"""Running the API servers: in-process (``KubeAPI``, servers on background
threads) or as a subprocess (``KubeAPIProcess``, ``python -m tests.kubeapi``),
and the per-cluster handles tests use (``LocalCluster``/``RemoteCluster``,
same methods)."""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from typing import Any, Optional
from urllib.parse import urlencode, urlsplit

import yaml

from . import kubeconfig as kubeconfig_mod
from .cluster import Cluster
from .reqlog import mutating, persisted
from .server import KubeHTTPServer, make_ssl_context, serve_in_thread
from .simulate import SimConfig

READY_PREFIX = "kubeapi ready: "
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def forget_client_caches(url: str) -> None:
    """Discovery caches of kubectl and the Python client are keyed by host:port;
    a port reused from an earlier run must not serve that run's API list."""
    netloc = urlsplit(url).netloc
    home = os.path.expanduser("~")
    shutil.rmtree(os.path.join(home, ".kube", "cache", "discovery", netloc.replace(":", "_")), ignore_errors=True)
    cached = os.path.join(tempfile.gettempdir(), f"osrcp-{hashlib.md5(url.encode()).hexdigest()}.json")
    try:
        os.remove(cached)
    except OSError:
        pass


class ClusterServer:
    """One cluster served on 127.0.0.1."""

    def __init__(self, cluster: Cluster, port: int = 0, plain_http: bool = False, workdir: str = ""):
        self.cluster = cluster
        self.port = port
        self.plain_http = plain_http
        self.workdir = workdir or tempfile.mkdtemp(prefix=f"kubeapi-{cluster.name}-")
        self.server: Optional[KubeHTTPServer] = None
        self.thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        scheme = "http" if self.plain_http else "https"
        return f"{scheme}://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> "ClusterServer":
        context = None
        if not self.plain_http:
            cert, key = self.cluster.pki.write_server_files(self.workdir)
            context = make_ssl_context(cert, key)
        self.server = KubeHTTPServer(("127.0.0.1", self.port), self.cluster, context)
        forget_client_caches(self.url)
        self.thread = serve_in_thread(self.server)
        return self

    def stop(self) -> None:
        if self.server is None:
            return
        self.server.stopping.set()
        self.cluster.store.close_watchers()
        self.server.shutdown()
        self.server.close_connections()
        self.server.server_close()
        if self.thread is not None:
            self.thread.join(timeout=5)
        self.server = None


# --- handles -------------------------------------------------------------------------------

@dataclass(repr=False, eq=False)
class ClusterHandle:
    """What a test gets for one cluster. Subclasses implement the knobs:
    directly (in-process) or through the /_test/ endpoints."""

    name: str
    url: str
    token: str
    ca_pem: bytes
    kubeconfig: str
    workdir: str

    def __post_init__(self) -> None:
        self.context = self.name
        self.ca_file = ""
        if self.ca_pem:
            self.ca_file = os.path.join(self.workdir, f"{self.name}-ca.crt")
            with open(self.ca_file, "wb") as handle:
                handle.write(self.ca_pem)
        self.kubectl_cache = os.path.join(self.workdir, "kubectl-cache")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.url}>"

    # -- knobs (implemented by subclasses) ------------------------------------------------------

    def requests(self, since: int = 0) -> list[dict]:
        raise NotImplementedError

    def writes(self, since: int = 0) -> list[dict]:
        return persisted(self.requests(since))

    def mutating_requests(self, since: int = 0) -> list[dict]:
        return mutating(self.requests(since))

    def write_count(self, since: int = 0) -> int:
        """How many requests after ``since`` persisted a change."""
        return len(self.writes(since))

    def last_request(self) -> int:
        entries = self.requests()
        return entries[-1]["seq"] if entries else 0

    # -- clients --------------------------------------------------------------------------------

    def kubeconfig_for_context(self) -> str:
        """A kubeconfig file holding only this cluster's context."""
        path = os.path.join(self.workdir, f"{self.name}.kubeconfig")
        with open(self.kubeconfig) as handle:
            combined = yaml.safe_load(handle)
        return kubeconfig_mod.write(path, kubeconfig_mod.single(combined, self.context))

    def api_client(self):
        """A kubernetes.client.ApiClient for this cluster."""
        from kubernetes import client, config as kube_config
        configuration = client.Configuration()
        kube_config.load_kube_config(config_file=self.kubeconfig, context=self.context,
                                     client_configuration=configuration)
        return client.ApiClient(configuration)

    def dynamic_client(self):
        """A DynamicClient with a private discovery cache (no stale kinds)."""
        from kubernetes.dynamic import DynamicClient
        from kubernetes.dynamic.discovery import LazyDiscoverer
        cache = os.path.join(self.workdir, f"{self.name}-discovery-{os.getpid()}-{threading.get_ident()}.json")
        try:
            os.remove(cache)
        except OSError:
            pass
        return DynamicClient(self.api_client(), cache_file=cache, discoverer=LazyDiscoverer)

    def kubectl(self, *args: str, input: Optional[str] = None, check: bool = True, timeout: float = 60,
                binary: str = "") -> subprocess.CompletedProcess:
        """Run kubectl against this cluster (own discovery cache directory)."""
        exe = binary or shutil.which("kubectl")
        if not exe:
            raise FileNotFoundError("kubectl is not installed (CI installs Debian's kubernetes-client)")
        env = dict(os.environ, KUBECACHEDIR=self.kubectl_cache)
        cmd = [exe, "--kubeconfig", self.kubeconfig, "--context", self.context, *args]
        result = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout, env=env,
                                check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def http(self, method: str, path: str, body: Any = None, headers: Optional[dict] = None,
             query: Optional[dict] = None, raw: bool = False) -> tuple[int, dict, Any]:
        """One HTTP request to the server, authenticated with the admin token.
        Returns (status, headers, body parsed as JSON unless ``raw``)."""
        split = urlsplit(self.url)
        if split.scheme == "https":
            context = ssl.create_default_context(cadata=self.ca_pem.decode())
            conn = http.client.HTTPSConnection(split.hostname, split.port, context=context, timeout=30)
        else:
            conn = http.client.HTTPConnection(split.hostname, split.port, timeout=30)
        target = path + (f"?{urlencode(query)}" if query else "")
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        all_headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        all_headers.update(headers or {})
        try:
            conn.request(method, target, body=data, headers=all_headers)
            response = conn.getresponse()
            payload = response.read()
            response_headers = dict(response.getheaders())
        finally:
            conn.close()
        if raw:
            return response.status, response_headers, payload
        return response.status, response_headers, json.loads(payload) if payload.strip() else None

    def admin(self, method: str, path: str, body: Any = None, query: Optional[dict] = None) -> Any:
        """Call a /_test/ admin endpoint."""
        status, _unused, payload = self.http(method, f"/_test/{path}", body, query=query)
        if status != 200:
            raise RuntimeError(f"{method} /_test/{path}: {status} {payload}")
        return payload


class LocalCluster(ClusterHandle):
    """Handle on an in-process cluster: knobs are direct calls; ``.cluster`` is the Cluster."""

    def __init__(self, cluster: Cluster, url: str, kubeconfig: str, workdir: str):
        super().__init__(cluster.name, url, cluster.admin_token, cluster.pki.ca_pem if url.startswith("https")
                         else b"", kubeconfig, workdir)
        self.cluster = cluster

    def requests(self, since: int = 0) -> list[dict]:
        return self.cluster.requests(since)

    def reset_log(self) -> None:
        self.cluster.reset_log()

    def create_pods(self, namespace: str, count: int = 1, **kwargs: Any) -> list[dict]:
        return self.cluster.create_pods(namespace, count, **kwargs)

    def set_unready(self, kind: str, namespace: str, name: str, unready: bool = True) -> None:
        self.cluster.set_unready(kind, namespace, name, unready)

    def simulate_pods(self, kind: str, namespace: str, name: str, enabled: bool = True) -> None:
        self.cluster.simulate_pods(kind, namespace, name, enabled)

    def inject_fault(self, **spec: Any) -> dict:
        return self.cluster.inject_fault(**spec)

    def clear_faults(self) -> None:
        self.cluster.clear_faults()

    def configure(self, **flags: Any) -> dict:
        return self.cluster.configure(**flags)

    def injection(self, namespace: str, labels: Optional[dict] = None) -> Optional[str]:
        with self.cluster.store.lock:
            found = self.cluster.injection_for(namespace, labels or {})
        return found[0] if found else None

    def reset(self) -> None:
        self.cluster.reset()

    def checkpoint(self) -> dict:
        return self.cluster.checkpoint()

    def restore(self, checkpoint: dict) -> None:
        self.cluster.restore(checkpoint)

    def get_object(self, kind: str, namespace: str, name: str) -> Optional[dict]:
        return self.cluster.get_object(kind, namespace, name)

    def all_objects(self):
        """((group, plural), object) of everything stored (as the real cluster's handle gives it)."""
        return self.cluster.store.all_objects()


class RemoteCluster(ClusterHandle):
    """Handle on a cluster served by another process: knobs go through /_test/."""

    def requests(self, since: int = 0) -> list[dict]:
        return self.admin("GET", "requests", query={"since": since})["items"]

    def reset_log(self) -> None:
        self.admin("POST", "reset-log")

    def create_pods(self, namespace: str, count: int = 1, **kwargs: Any) -> list[dict]:
        return self.admin("POST", "pods", dict(kwargs, namespace=namespace, count=count))["items"]

    def set_unready(self, kind: str, namespace: str, name: str, unready: bool = True) -> None:
        self.admin("POST", "unready", {"kind": kind, "namespace": namespace, "name": name, "unready": unready})

    def simulate_pods(self, kind: str, namespace: str, name: str, enabled: bool = True) -> None:
        self.admin("POST", "simulate-pods", {"kind": kind, "namespace": namespace, "name": name,
                                             "enabled": enabled})

    def inject_fault(self, **spec: Any) -> dict:
        return self.admin("POST", "faults", spec)

    def clear_faults(self) -> None:
        self.admin("DELETE", "faults")

    def configure(self, **flags: Any) -> dict:
        return self.admin("POST", "config", flags)

    def injection(self, namespace: str, labels: Optional[dict] = None) -> Optional[str]:
        text = ",".join(f"{k}={v}" for k, v in (labels or {}).items())
        return self.admin("GET", "injection", query={"namespace": namespace, "labels": text})["revision"]

    def reset(self) -> None:
        self.admin("POST", "reset")


# --- runners ----------------------------------------------------------------------------------

class _Runner:
    """Start/stop/cleanup and context-manager plumbing shared by the runners."""
    workdir: str

    def start(self) -> "_Runner":
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.cleanup()


class KubeAPI(_Runner):
    """N in-process clusters on background threads and one kubeconfig."""

    def __init__(self, clusters: int = 1, kubeconfig: str = "", port: int = 0, plain_http: bool = False,
                 config: Optional[SimConfig] = None, names: Optional[list[str]] = None):
        self.workdir = tempfile.mkdtemp(prefix="kubeapi-")
        self.kubeconfig = kubeconfig or os.path.join(self.workdir, "kubeconfig")
        names = names or [f"cluster{i}" for i in range(1, clusters + 1)]
        self.servers = [ClusterServer(Cluster(name, SimConfig(**(config or SimConfig()).as_dict())),
                                      port + i if port else 0, plain_http, self.workdir)
                        for i, name in enumerate(names)]
        self.handles: list[LocalCluster] = []

    def start(self) -> "KubeAPI":
        for server in self.servers:
            server.start()
        entries = [(s.cluster.name, s.url, b"" if s.plain_http else s.cluster.pki.ca_pem, s.cluster.admin_token)
                   for s in self.servers]
        kubeconfig_mod.write(self.kubeconfig, kubeconfig_mod.build(entries))
        self.handles = [LocalCluster(s.cluster, s.url, self.kubeconfig, self.workdir) for s in self.servers]
        return self

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


class KubeAPIProcess(_Runner):
    """The same, as a child process (``python -m tests.kubeapi``)."""

    def __init__(self, clusters: int = 1, kubeconfig: str = "", extra_args: tuple = (), timeout: float = 30):
        self.workdir = tempfile.mkdtemp(prefix="kubeapi-proc-")
        self.kubeconfig = kubeconfig or os.path.join(self.workdir, "kubeconfig")
        self.clusters = clusters
        self.extra_args = tuple(extra_args)
        self.timeout = timeout
        self.process: Optional[subprocess.Popen] = None
        self.handles: list[RemoteCluster] = []
        self.ready: dict = {}

    def start(self) -> "KubeAPIProcess":
        cmd = [sys.executable, "-m", "tests.kubeapi", "--kubeconfig", self.kubeconfig,
               "--clusters", str(self.clusters), *self.extra_args]
        self.process = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
        line = self._read_ready()
        self.ready = json.loads(line[len(READY_PREFIX):])
        with open(self.kubeconfig) as handle:
            config = yaml.safe_load(handle)
        users = {u["name"]: u["user"] for u in config["users"]}
        clusters = {c["name"]: c["cluster"] for c in config["clusters"]}
        for ctx in config["contexts"]:
            cluster = clusters[ctx["context"]["cluster"]]
            ca = cluster.get("certificate-authority-data")
            import base64
            self.handles.append(RemoteCluster(ctx["name"], cluster["server"], users[ctx["context"]["user"]]["token"],
                                              base64.b64decode(ca) if ca else b"", self.kubeconfig, self.workdir))
        return self

    def _read_ready(self) -> str:
        result: list[str] = []

        def reader() -> None:
            for line in self.process.stdout:
                if line.startswith(READY_PREFIX):
                    result.append(line.strip())
                    return
        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        thread.join(self.timeout)
        if not result:
            self.stop()
            raise RuntimeError("the kubeapi subprocess did not report ready")
        return result[0]

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()
