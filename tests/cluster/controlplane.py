"""A real Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and kwok (simulated nodes and pods), plus the stand-in for istiod's webhooks
(``injector.py``) reached through the API server's egress selector.

One ``ControlPlane`` is one cluster; ``start_clusters`` starts several and writes one kubeconfig
with contexts ``cluster1``..``clusterN``. Every process runs in its own process group and is
stopped on ``stop()``; all state lives in a temporary directory.
"""
from __future__ import annotations

import base64
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request
from typing import Dict, List, Optional

import yaml
from cryptography.hazmat.primitives import serialization

from tests.kubeapi import certs, kubeconfig as kubeconfig_mod

from . import build
from .injector import IstiodStandIn
from .runtime import node_object

SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.1/16"
START_TIMEOUT = 120.0
# Users whose writes are not the test's: they are left out of the request log.
SYSTEM_USERS = ("system:kube-controller-manager", "system:kube-scheduler", "kwok", "istiod",
                "system:apiserver")

AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": ["RequestReceived"],
    "rules": [
        {"level": "None", "users": list(SYSTEM_USERS)},
        {"level": "None", "userGroups": ["system:serviceaccounts", "system:nodes"]},
        {"level": "None", "nonResourceURLs": ["/healthz*", "/readyz*", "/livez*", "/metrics"]},
        {"level": "Metadata"},
    ],
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write(path: str, data, mode: int = 0o600) -> str:
    text = data if isinstance(data, (str, bytes)) else yaml.safe_dump(data, sort_keys=False)
    with open(path, "wb" if isinstance(text, bytes) else "w") as handle:
        handle.write(text)
    os.chmod(path, mode)
    return path


class ControlPlane:
    """One cluster: its PKI, processes and admin identity."""

    def __init__(self, name: str, workdir: str, nodes: int = 2, bins: Optional[Dict[str, str]] = None):
        self.name = name
        self.workdir = os.path.join(workdir, name)
        os.makedirs(self.workdir, exist_ok=True)
        self.nodes = nodes
        self.bins = bins or build.ensure_binaries()
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.tokens = {user: secrets.token_hex(16) for user in ("admin", "system:kube-controller-manager",
                                                                "system:kube-scheduler", "kwok", "istiod")}
        self.pki = certs.generate(name)
        self.processes: List[subprocess.Popen] = []
        self.audit_log = os.path.join(self.workdir, "audit.log")
        self.egress_socket = os.path.join(self.workdir, "egress.sock")
        self.standin: Optional[IstiodStandIn] = None

    @property
    def admin_token(self) -> str:
        return self.tokens["admin"]

    # -- files ----------------------------------------------------------------------------------

    def _path(self, name: str) -> str:
        return os.path.join(self.workdir, name)

    def _write_files(self) -> None:
        _write(self._path("ca.crt"), self.pki.ca_pem)
        self.pki.write_server_files(self.workdir)
        key = self.pki.signing_key
        _write(self._path("sa.key"), key.private_bytes(serialization.Encoding.PEM,
                                                       serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
        _write(self._path("sa.pub"), key.public_key().public_bytes(serialization.Encoding.PEM,
                                                                   serialization.PublicFormat.SubjectPublicKeyInfo))
        groups = {"admin": "system:masters", "kwok": "system:masters", "istiod": "system:masters"}
        _write(self._path("tokens.csv"), "".join(
            f'{token},{user},{user},"{groups.get(user, "")}"\n' for user, token in self.tokens.items()))
        _write(self._path("audit-policy.yaml"), AUDIT_POLICY)
        _write(self._path("egress.yaml"), {
            "apiVersion": "apiserver.k8s.io/v1beta1", "kind": "EgressSelectorConfiguration",
            "egressSelections": [{"name": "cluster", "connection": {
                "proxyProtocol": "HTTPConnect", "transport": {"uds": {"udsName": self.egress_socket}}}}]})
        for user in self.tokens:
            _write(self._path(f"{user.split(':')[-1]}.kubeconfig"), self.kubeconfig_dict(user))

    def kubeconfig_dict(self, user: str = "admin", context: str = "") -> dict:
        context = context or self.name
        return kubeconfig_mod.build([(context, self.url, self.pki.ca_pem, self.tokens[user])])

    # -- processes -----------------------------------------------------------------------------

    def _spawn(self, name: str, args: List[str]) -> subprocess.Popen:
        log = open(self._path(f"{name}.log"), "ab")
        proc = subprocess.Popen([self.bins[name], *args], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.workdir)
        log.close()
        self.processes.append(proc)
        return proc

    def _start_etcd(self) -> str:
        client, peer = free_port(), free_port()
        self._spawn("etcd", [
            "--name", self.name, "--data-dir", self._path("etcd"),
            "--listen-client-urls", f"http://127.0.0.1:{client}", "--advertise-client-urls", f"http://127.0.0.1:{client}",
            "--listen-peer-urls", f"http://127.0.0.1:{peer}", "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-cluster", f"{self.name}=http://127.0.0.1:{peer}", "--unsafe-no-fsync",
            "--log-level", "warn", "--quota-backend-bytes", str(4 << 30)])
        return f"http://127.0.0.1:{client}"

    def _start_apiserver(self, etcd: str) -> None:
        self._spawn("kube-apiserver", [
            "--etcd-servers", etcd, "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
            "--secure-port", str(self.port), "--cert-dir", self.workdir,
            "--tls-cert-file", self._path("apiserver.crt"), "--tls-private-key-file", self._path("apiserver.key"),
            "--client-ca-file", self._path("ca.crt"), "--token-auth-file", self._path("tokens.csv"),
            "--authorization-mode", "RBAC", "--allow-privileged=true",
            "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
            "--service-account-key-file", self._path("sa.pub"),
            "--service-account-signing-key-file", self._path("sa.key"),
            "--service-cluster-ip-range", SERVICE_CIDR,
            # Webhooks are called at their Service's endpoints, through the egress proxy (no kube-proxy here).
            "--enable-aggregator-routing=true", "--egress-selector-config-file", self._path("egress.yaml"),
            "--audit-policy-file", self._path("audit-policy.yaml"), "--audit-log-path", self.audit_log,
            "--audit-log-format", "json", "--audit-log-mode", "blocking", "--audit-log-maxsize", "0",
            "--profiling=false", "--v=1"])

    def _start_controllers(self) -> None:
        self._spawn("kube-controller-manager", [
            "--kubeconfig", self._path("kube-controller-manager.kubeconfig"),
            "--authentication-kubeconfig", self._path("kube-controller-manager.kubeconfig"),
            "--authorization-kubeconfig", self._path("kube-controller-manager.kubeconfig"),
            "--service-account-private-key-file", self._path("sa.key"), "--root-ca-file", self._path("ca.crt"),
            "--use-service-account-credentials=true", "--leader-elect=false",
            "--bind-address", "127.0.0.1", "--secure-port", "0", "--cluster-cidr", POD_CIDR,
            "--controllers", "*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-route",
            # Simulated nodes on a loaded 2-core machine: no eviction because a heartbeat came late.
            "--node-monitor-grace-period", "120s",
            "--profiling=false", "--v=1"])
        self._spawn("kube-scheduler", [
            "--kubeconfig", self._path("kube-scheduler.kubeconfig"),
            "--authentication-kubeconfig", self._path("kube-scheduler.kubeconfig"),
            "--authorization-kubeconfig", self._path("kube-scheduler.kubeconfig"),
            "--leader-elect=false", "--bind-address", "127.0.0.1", "--secure-port", "0", "--v=1"])
        self._spawn("kwok", [
            "--kubeconfig", self._path("kwok.kubeconfig"), "--manage-all-nodes=true",
            "--cidr", POD_CIDR, "--node-ip", "10.0.0.1",
            # Heartbeats through node leases, as kubelets send them (kwok's status-only heartbeat comes
            # every 20-45 s, close to the node monitor's grace period).
            "--node-lease-duration-seconds", "40", "--server-address", f"127.0.0.1:{free_port()}"])

    def start(self) -> "ControlPlane":
        self._write_files()
        self.standin = IstiodStandIn(self.egress_socket, self._path("istiod.kubeconfig"), self.name).start()
        etcd = self._start_etcd()
        self._wait_http(etcd + "/health", "etcd", tls=False)
        self._start_apiserver(etcd)
        self._wait_http(self.url + "/readyz", "kube-apiserver")
        self._start_controllers()
        self._create_nodes()
        self._wait_default_service_account()
        return self

    def _wait_http(self, url: str, what: str, tls: bool = True) -> None:
        context = ssl.create_default_context(cadata=self.pki.ca_pem.decode()) if tls else None
        deadline = time.monotonic() + START_TIMEOUT
        last = ""
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                request = urllib.request.Request(url, headers={"Authorization": f"Bearer {self.admin_token}"})
                with urllib.request.urlopen(request, timeout=5, context=context) as response:
                    if response.status == 200:
                        return
            except Exception as exc:  # not up yet
                last = str(exc)
            time.sleep(0.2)
        raise RuntimeError(f"{self.name}: {what} did not become ready in {START_TIMEOUT:.0f} s ({last})")

    def _check_alive(self) -> None:
        for proc in self.processes:
            if proc.poll() is not None:
                name = os.path.basename(proc.args[0])
                with open(self._path(f"{name}.log"), "rb") as handle:
                    tail = handle.read()[-3000:].decode(errors="replace")
                raise RuntimeError(f"{self.name}: {name} exited with {proc.returncode}:\n{tail}")

    def kubectl(self, *args: str, input: Optional[str] = None) -> str:
        cmd = [self.bins["kubectl"], "--kubeconfig", self._path("admin.kubeconfig"), *args]
        result = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=60,
                                env=dict(os.environ, KUBECACHEDIR=self._path("kubectl-cache")), check=False)
        if result.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)}: {result.stderr}")
        return result.stdout

    def _create_nodes(self) -> None:
        self.kubectl("apply", "-f", "-", input=yaml.safe_dump_all([node_object(f"node-{i}")
                                                                   for i in range(1, self.nodes + 1)]))

    def _wait_default_service_account(self) -> None:
        """Pods can be created once the service-account controller has run."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                self.kubectl("get", "serviceaccount", "default", "-n", "default")
                self.kubectl("get", "configmap", "kube-root-ca.crt", "-n", "default")
                return
            except RuntimeError:
                time.sleep(0.3)
        raise RuntimeError(f"{self.name}: the controllers did not start in {START_TIMEOUT:.0f} s")

    def stop(self) -> None:
        for proc in reversed(self.processes):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for proc in reversed(self.processes):
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.processes.clear()
        if self.standin is not None:
            self.standin.stop()
            self.standin = None


class ClusterSetRunner:
    """Several independent control planes and one kubeconfig naming them all."""

    def __init__(self, clusters: int = 1, kubeconfig: str = "", nodes: int = 2, names: Optional[List[str]] = None):
        self.workdir = tempfile.mkdtemp(prefix="testcluster-")
        self.kubeconfig = kubeconfig or os.path.join(self.workdir, "kubeconfig")
        self.names = names or [f"cluster{i}" for i in range(1, clusters + 1)]
        self.nodes = nodes
        self.planes: List[ControlPlane] = []

    def start(self) -> "ClusterSetRunner":
        bins = build.ensure_binaries()
        try:
            for name in self.names:
                self.planes.append(ControlPlane(name, self.workdir, self.nodes, bins).start())
        except BaseException:
            self.stop()
            raise
        self.write_kubeconfig()
        return self

    def write_kubeconfig(self) -> str:
        entries = [(p.name, p.url, p.pki.ca_pem, p.admin_token) for p in self.planes]
        return kubeconfig_mod.write(self.kubeconfig, kubeconfig_mod.build(entries))

    def stop(self) -> None:
        for plane in self.planes:
            plane.stop()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
