"""pytest fixtures for the test API server (loaded by the root conftest.py).

Session-scoped servers, function-scoped resets:

``kubeapi``           one in-process cluster (``LocalCluster``) for the session
``kubeapi_clean``     the same, reset to a fresh cluster before the test
``kubeapi_clusters``  a ``ClusterSet`` of in-process clusters sharing one
                      kubeconfig (contexts cluster1, cluster2, ...); 2 by default,
                      ``@pytest.mark.parametrize("kubeapi_clusters", [3], indirect=True)``
                      for another count; reset before each test
``kubeapi_process``   one cluster served by ``python -m tests.kubeapi`` in a child
                      process (``RemoteCluster``: knobs go through /_test/)
``kubeapi_factory``   ``factory(clusters=1, process=False, **SimConfig fields)``
                      for servers of one's own, stopped at session end
``kubeapi_api_client`` / ``kubeapi_dynamic``  kubernetes clients for ``kubeapi_clean``
``kubectl_binary``    path of kubectl; fails (does not skip) when it is missing
"""
from __future__ import annotations

import shutil
from typing import Any, Iterator

import pytest

from .runtime import ClusterHandle, KubeAPI, KubeAPIProcess
from .simulate import SimConfig


class ClusterSet(list):
    """Handles of several clusters plus the kubeconfig that names them all."""

    def __init__(self, handles: list, kubeconfig: str):
        super().__init__(handles)
        self.kubeconfig = kubeconfig

    def reset(self) -> None:
        for handle in self:
            handle.reset()

    def env(self) -> dict:
        return self[0].env()


@pytest.fixture(scope="session")
def kubeapi_factory() -> Iterator[Any]:
    started: list = []

    def factory(clusters: int = 1, process: bool = False, **config: Any):
        if process:
            runner = KubeAPIProcess(clusters).start()
        else:
            runner = KubeAPI(clusters, config=SimConfig(**config)).start()
        started.append(runner)
        handles = ClusterSet(runner.handles, runner.kubeconfig)
        return handles

    yield factory
    for runner in started:
        runner.cleanup()


@pytest.fixture(scope="session")
def _kubeapi_single() -> Iterator[KubeAPI]:
    api = KubeAPI(1).start()
    yield api
    api.cleanup()


@pytest.fixture(scope="session")
def kubeapi(_kubeapi_single: KubeAPI) -> ClusterHandle:
    """One in-process cluster for the whole session (state is shared)."""
    return _kubeapi_single.handles[0]


@pytest.fixture
def kubeapi_clean(kubeapi: ClusterHandle) -> ClusterHandle:
    """The session cluster, reset to a fresh state for this test."""
    kubeapi.reset()
    return kubeapi


@pytest.fixture(scope="session")
def _kubeapi_sets() -> Iterator[dict]:
    sets: dict = {}
    yield sets
    for api in sets.values():
        api.cleanup()


@pytest.fixture
def kubeapi_clusters(request: pytest.FixtureRequest, _kubeapi_sets: dict) -> ClusterSet:
    """Several clusters (2 unless parametrized indirectly), reset for this test."""
    count = int(getattr(request, "param", 2))
    api = _kubeapi_sets.get(count)
    if api is None:
        api = _kubeapi_sets[count] = KubeAPI(count).start()
    clusters = ClusterSet(api.handles, api.kubeconfig)
    clusters.reset()
    return clusters


@pytest.fixture(scope="session")
def kubeapi_process() -> Iterator[ClusterHandle]:
    """One cluster in a child process; reset it yourself if you need a clean one."""
    runner = KubeAPIProcess(1).start()
    yield runner.handles[0]
    runner.cleanup()


@pytest.fixture
def kubeapi_api_client(kubeapi_clean: ClusterHandle) -> Iterator[Any]:
    client = kubeapi_clean.api_client()
    yield client
    client.close()


@pytest.fixture
def kubeapi_dynamic(kubeapi_clean: ClusterHandle) -> Any:
    return kubeapi_clean.dynamic_client()


@pytest.fixture(scope="session")
def kubectl_binary() -> str:
    """kubectl is a hard requirement of the integration suite: CI installs
    Debian's kubernetes-client, so a missing binary is a failure, not a skip."""
    path = shutil.which("kubectl")
    if not path:
        pytest.fail("kubectl is not installed; .ci/run installs Debian's kubernetes-client", pytrace=False)
    return path
