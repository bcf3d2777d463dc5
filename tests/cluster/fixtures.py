"""pytest fixtures for the real control plane (loaded by the root conftest.py).

``k8s_cluster``   one real cluster, reset to its starting state before the test
``k8s_shared``    the same cluster, not reset: for tests that work in names of their own
``k8s_clusters``  a ``ClusterSet`` of real clusters sharing one kubeconfig (contexts cluster1, ...);
                  2 by default, ``@pytest.mark.parametrize("k8s_clusters", [3], indirect=True)``
                  for another count; reset before the test

Each test worker starts its clusters on first use and keeps them for the session (a start takes
seconds, a reset much less). With ``ISTIO_TEST_KUBECONFIG`` set, the tests run on that existing
cluster instead (its contexts in order, or the current one); it has no request log, so tests that
count writes fail there rather than pass unchecked. ``ISTIO_TEST_SERVER=kubeapi`` hands the same
tests the Python test server instead (``benchmarks/bench_suite.py`` compares the two).
"""
from __future__ import annotations

import os
import tempfile
import threading
from typing import Iterator, List

import pytest
import yaml

from tests.kubeapi import kubeconfig as kubeconfig_mod
from tests.kubeapi.fixtures import ClusterSet
from tests.kubeapi.runtime import KubeAPI

from .controlplane import ControlPlane, build
from .runtime import RealCluster, handle_for

EXTERNAL = "ISTIO_TEST_KUBECONFIG"
SERVER_SWITCH = "ISTIO_TEST_SERVER"


class ClusterPool:
    """The clusters of one test worker, started as they are first needed."""

    def __init__(self) -> None:
        self.workdir = tempfile.mkdtemp(prefix="testcluster-pool-")
        self.planes: List[ControlPlane] = []
        self.handles: List[RealCluster] = []
        self._lock = threading.Lock()

    def take(self, count: int) -> ClusterSet:
        with self._lock:
            self._grow(count)
        handles = self.handles[:count]
        kubeconfig = os.path.join(self.workdir, f"kubeconfig-{count}")
        entries = [(f"cluster{i}", p.url, p.pki.ca_pem, p.admin_token) for i, p in enumerate(self.planes[:count], 1)]
        kubeconfig_mod.write(kubeconfig, kubeconfig_mod.build(entries))
        views = []
        for index, handle in enumerate(handles, 1):
            view = RealCluster(f"cluster{index}", handle.url, handle.token, handle.ca_pem, kubeconfig, self.workdir,
                               audit_log=handle.audit_log)
            view.baseline = handle.baseline
            view.kubectl_cache = handle.kubectl_cache
            views.append(view)
        return ClusterSet(views, kubeconfig)

    def _grow(self, count: int) -> None:
        missing = count - len(self.planes)
        if missing <= 0:
            return
        bins = build.ensure_binaries()
        start = len(self.planes) + 1
        planes = [ControlPlane(f"cluster{i}", self.workdir, 2, bins) for i in range(start, start + missing)]
        errors: list = []

        def run(plane: ControlPlane) -> None:
            try:
                plane.start()
            except Exception as exc:  # reported below, after every start has ended
                errors.append(exc)
        threads = [threading.Thread(target=run, args=(p,)) for p in planes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.planes.extend(planes)
        if errors:
            raise errors[0]
        for plane in planes:
            handle = handle_for(plane, os.path.join(self.workdir, f"{plane.name}.kubeconfig"), self.workdir)
            kubeconfig_mod.write(handle.kubeconfig, plane.kubeconfig_dict())
            handle.record_baseline()
            self.handles.append(handle)

    def stop(self) -> None:
        for plane in self.planes:
            plane.stop()


class ExternalClusters:
    """The clusters of ``ISTIO_TEST_KUBECONFIG``: its contexts, in order."""

    def __init__(self, path: str):
        self.kubeconfig = path
        with open(path) as handle:
            config = yaml.safe_load(handle)
        self.contexts = [c["name"] for c in config.get("contexts") or []]
        current = config.get("current-context")
        if current in self.contexts:
            self.contexts.remove(current)
            self.contexts.insert(0, current)
        self.handles: List[RealCluster] = []
        self.workdir = tempfile.mkdtemp(prefix="testcluster-external-")

    def take(self, count: int) -> ClusterSet:
        if count > len(self.contexts):
            pytest.fail(f"{EXTERNAL} names {len(self.contexts)} contexts; this test needs {count}", pytrace=False)
        while len(self.handles) < count:
            context = self.contexts[len(self.handles)]
            single = kubeconfig_mod.single(yaml.safe_load(open(self.kubeconfig)), context)
            cluster = single["clusters"][0]["cluster"]
            import base64
            handle = RealCluster(context, cluster["server"], single["users"][0]["user"].get("token", ""),
                                 base64.b64decode(cluster.get("certificate-authority-data", "")), self.kubeconfig,
                                 self.workdir, context=context)
            handle.record_baseline()
            self.handles.append(handle)
        return ClusterSet(self.handles[:count], self.kubeconfig)

    def stop(self) -> None:
        pass


@pytest.fixture(scope="session")
def k8s_pool() -> Iterator[object]:
    external = os.environ.get(EXTERNAL)
    pool = ExternalClusters(external) if external else ClusterPool()
    yield pool
    pool.stop()


def on_python_server() -> bool:
    """``ISTIO_TEST_SERVER=kubeapi`` runs the same tests on the Python server (for the benchmark)."""
    return os.environ.get(SERVER_SWITCH) == "kubeapi"


@pytest.fixture
def k8s_cluster(request: pytest.FixtureRequest) -> RealCluster:
    """One real cluster, reset to how it started."""
    if on_python_server():
        return request.getfixturevalue("kubeapi_clean")
    cluster = request.getfixturevalue("k8s_pool").take(1)[0]
    cluster.reset()
    return cluster


@pytest.fixture(scope="session")
def k8s_shared(request: pytest.FixtureRequest):
    """One real cluster shared by the tests that ask for it, never reset: they work in names of their own."""
    if on_python_server():
        return request.getfixturevalue("kubeapi")
    return request.getfixturevalue("k8s_pool").take(1)[0]


@pytest.fixture
def k8s_clusters(request: pytest.FixtureRequest) -> ClusterSet:
    """Several real clusters (2 unless parametrized indirectly), reset to how they started."""
    count = int(getattr(request, "param", 2))
    if on_python_server():
        sets = request.getfixturevalue("_kubeapi_sets")
        if count not in sets:
            sets[count] = KubeAPI(count).start()
        clusters = ClusterSet(sets[count].handles, sets[count].kubeconfig)
    else:
        clusters = request.getfixturevalue("k8s_pool").take(count)
    clusters.reset()
    return clusters
