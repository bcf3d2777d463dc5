# -*- coding: utf-8 -*-
"""Cluster.list in pages (limit and continue) against the Python test server.

The Python test server, not the real control plane: it makes more pods than a page in one request, logs
each request's query (limit, continue), and expires a continue token on cue (a fault with status 410),
which a real server does only after its compaction window (five minutes by default).
"""
from __future__ import annotations

import itertools

import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import (
    LIST_PAGE_SIZE, RetryPolicy, connect)
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef

pytestmark = pytest.mark.integration

_names = itertools.count(1)


@pytest.fixture(scope="module")
def cluster(kubeapi):
    return connect({"kubeconfig": kubeapi.kubeconfig, "context": kubeapi.context},
                   retry=RetryPolicy(attempts=2, base_delay=0.05, max_delay=0.1))


@pytest.fixture
def pods(cluster, kubeapi):
    """A namespace of its own with two full pages of pods and one more; its name."""
    name = "paging-%d" % next(_names)
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, "test")
    kubeapi.create_pods(name, count=2 * LIST_PAGE_SIZE + 1)
    yield name
    kubeapi.clear_faults()
    cluster.delete(ObjectRef.of("v1", "Namespace", name))


def _lists(kubeapi, since, namespace):
    return [e for e in kubeapi.requests(since) if e["verb"] == "list" and e["namespace"] == namespace]


def test_a_list_longer_than_a_page_is_read_page_by_page(cluster, kubeapi, pods):
    since = kubeapi.last_request()
    listed = cluster.list("v1", "Pod", namespace=pods)
    assert len(listed) == 2 * LIST_PAGE_SIZE + 1
    assert len({pod["metadata"]["name"] for pod in listed}) == len(listed)
    assert all(pod["kind"] == "Pod" and pod["apiVersion"] == "v1" for pod in listed)
    pages = _lists(kubeapi, since, pods)
    assert [e["query"].get("limit") for e in pages] == [str(LIST_PAGE_SIZE)] * 3
    tokens = [e["query"].get("continue") for e in pages]
    assert tokens[0] is None and all(tokens[1:]) and tokens[1] != tokens[2]


def test_an_expired_continue_token_starts_the_list_again_once(cluster, kubeapi, pods):
    kubeapi.inject_fault(verb="list", resource="pods", namespace=pods, status=410, skip=1,
                         message="The provided continue parameter is too old to display a consistent list result.")
    since = kubeapi.last_request()
    assert len(cluster.list("v1", "Pod", namespace=pods)) == 2 * LIST_PAGE_SIZE + 1
    pages = _lists(kubeapi, since, pods)
    assert [(e["code"], bool(e["query"].get("continue"))) for e in pages] == [
        (200, False), (410, True), (200, False), (200, True), (200, True)]
