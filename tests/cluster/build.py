"""Builds (once per version) the binaries of the test control plane from Go modules.

kube-apiserver, kube-controller-manager, kube-scheduler, kubectl and etcd come from the wrapper
module in ``gomod/`` (it pins the staging modules that ``k8s.io/kubernetes`` lists at v0.0.0);
kwok is installed from its own module. The binaries land in a directory per version under
``~/.cache/servicemesh.istio/testcluster`` (``ISTIO_TEST_CLUSTER_CACHE`` to move it), outside the
repository, so only a fresh machine builds.

    python -m tests.cluster.build        # build or reuse, print the directory
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from typing import Dict

HERE = os.path.dirname(os.path.abspath(__file__))
GOMOD = os.path.join(HERE, "gomod")
KUBERNETES_VERSION = "v1.34.4"
KWOK_VERSION = "v0.7.0"
KUBE_PACKAGES = {
    "etcd": "go.etcd.io/etcd/server/v3",
    "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
    "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
    "kube-scheduler": "k8s.io/kubernetes/cmd/kube-scheduler",
    "kubectl": "k8s.io/kubernetes/cmd/kubectl",
}
# `go build` names the etcd binary after its package directory (server).
BUILT_NAMES = {"etcd": "server"}
BINARIES = tuple(KUBE_PACKAGES) + ("kwok",)


def cache_root() -> str:
    default = os.path.join(os.path.expanduser("~"), ".cache", "servicemesh.istio", "testcluster")
    return os.environ.get("ISTIO_TEST_CLUSTER_CACHE", default)


def _module_digest() -> str:
    """The cache key follows the wrapper module, so a version bump rebuilds."""
    digest = hashlib.sha256()
    for name in ("go.mod", "go.sum", "tools.go"):
        with open(os.path.join(GOMOD, name), "rb") as handle:
            digest.update(handle.read())
    digest.update(KWOK_VERSION.encode())
    digest.update(" ".join(_version_flags()).encode())
    return digest.hexdigest()[:12]


def _version_flags() -> list:
    """What Kubernetes' own build stamps into its binaries, so that they report their version
    (kubectl refuses to talk to a server whose version it cannot parse)."""
    major, minor = KUBERNETES_VERSION.lstrip("v").split(".")[:2]
    stamped = {"gitVersion": KUBERNETES_VERSION, "gitMajor": major, "gitMinor": minor, "gitTreeState": "clean",
               "buildDate": "1970-01-01T00:00:00Z"}
    return [f"-X k8s.io/{package}/version.{key}={value}" for package in ("component-base", "client-go/pkg")
            for key, value in stamped.items()]


def bin_dir() -> str:
    return os.path.join(cache_root(), f"k8s-{KUBERNETES_VERSION}-{_module_digest()}")


def binaries(directory: str = "") -> Dict[str, str]:
    directory = directory or bin_dir()
    return {name: os.path.join(directory, name) for name in BINARIES}


def _complete(directory: str) -> bool:
    return all(os.access(path, os.X_OK) for path in binaries(directory).values())


def _go_env() -> Dict[str, str]:
    env = dict(os.environ, CGO_ENABLED="0", GOFLAGS="-mod=mod -buildvcs=false")
    env.setdefault("GOTOOLCHAIN", "local")
    return env


def _run(cmd: list, cwd: str, env: Dict[str, str], what: str) -> None:
    started = time.monotonic()
    print(f"[testcluster] building {what} ...", file=sys.stderr, flush=True)
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    count = 0
    tail: list = []
    for line in proc.stdout:
        count += 1
        tail = (tail + [line.rstrip()])[-30:]
        if count % 200 == 0:  # `go build -v` names each package it compiles
            print(f"[testcluster]   {what}: {count} packages, {time.monotonic() - started:.0f} s",
                  file=sys.stderr, flush=True)
    if proc.wait() != 0:
        raise RuntimeError(f"building {what} failed ({proc.returncode}):\n" + "\n".join(tail))
    print(f"[testcluster] built {what} in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)


def ensure_binaries() -> Dict[str, str]:
    """The binaries' paths, building whatever is missing (one builder at a time: test workers share it)."""
    directory = bin_dir()
    if _complete(directory):
        return binaries(directory)
    os.makedirs(cache_root(), exist_ok=True)
    with open(os.path.join(cache_root(), ".build.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _complete(directory):
            return binaries(directory)
        return _build(directory)


def _build(directory: str) -> Dict[str, str]:
    if not shutil.which("go"):
        raise RuntimeError("Go is needed to build the test control plane (go not found on PATH)")
    started = time.monotonic()
    staging = directory + ".partial"
    os.makedirs(staging, exist_ok=True)
    env = _go_env()
    missing = [n for n in KUBE_PACKAGES if not os.access(os.path.join(staging, n), os.X_OK)]
    if missing:
        _run(["go", "build", "-v", "-trimpath", "-ldflags", " ".join(["-s -w", *_version_flags()]), "-o", staging + os.sep,
              *[KUBE_PACKAGES[n] for n in missing]], GOMOD, env, "Kubernetes " + KUBERNETES_VERSION + " and etcd")
        for name, built in BUILT_NAMES.items():
            if os.path.exists(os.path.join(staging, built)):
                os.replace(os.path.join(staging, built), os.path.join(staging, name))
    if not os.access(os.path.join(staging, "kwok"), os.X_OK):
        _run(["go", "install", "-v", "-trimpath", "-ldflags", "-s -w", f"sigs.k8s.io/kwok/cmd/kwok@{KWOK_VERSION}"],
             HERE, dict(env, GOBIN=staging, GOFLAGS="-buildvcs=false"), "kwok " + KWOK_VERSION)
    if os.path.isdir(directory):
        shutil.rmtree(directory)
    os.replace(staging, directory)
    print(f"[testcluster] control plane binaries ready in {time.monotonic() - started:.0f} s: {directory}",
          file=sys.stderr, flush=True)
    return binaries(directory)


if __name__ == "__main__":
    print(os.path.dirname(ensure_binaries()["kube-apiserver"]))
