# -*- coding: utf-8 -*-
"""Cluster.list reads a kind in pages (limit and continue), and starts again once when the token expired."""
from __future__ import annotations

import json
import types

import pytest
from kubernetes.client.exceptions import ApiException

from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._client import LIST_PAGE_SIZE, Cluster, RetryPolicy
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._errors import ApiError


class PagingClient:
    """Serves ``count`` ConfigMaps in pages of the requested limit; fails the pages ``expire`` names with 410."""

    def __init__(self, count, expire=()):
        self.items = [{"metadata": {"name": "cm-%05d" % n, "namespace": "ns"}} for n in range(count)]
        self.expire = list(expire)
        self.calls = []
        self.resources = types.SimpleNamespace(get=lambda **lookup: "configmaps")

    def get(self, resource, **kwargs):
        self.calls.append(kwargs)
        if len(self.calls) in self.expire:
            exc = ApiException(status=410, reason="Gone")
            exc.body = json.dumps({"kind": "Status", "reason": "Expired", "message": "too old resource version"})
            raise exc
        start = int(kwargs["_continue"] or 0)
        end = start + kwargs["limit"]
        body = {"items": self.items[start:end], "metadata": {"continue": str(end) if end < len(self.items) else ""}}
        return types.SimpleNamespace(data=json.dumps(body).encode())


def cluster_on(client):
    return Cluster(client, "https://k8s.example:6443", RetryPolicy(attempts=2, sleep=lambda seconds: None))


def test_a_list_follows_the_continue_token_page_by_page():
    client = PagingClient(2 * LIST_PAGE_SIZE + 1)
    items = cluster_on(client).list("v1", "ConfigMap", namespace="ns", label_selector="a=b")
    assert [item["metadata"]["name"] for item in items] == [item["metadata"]["name"] for item in client.items]
    assert all(item["apiVersion"] == "v1" and item["kind"] == "ConfigMap" for item in items)
    assert [(call["limit"], call["_continue"]) for call in client.calls] == [
        (LIST_PAGE_SIZE, None), (LIST_PAGE_SIZE, str(LIST_PAGE_SIZE)), (LIST_PAGE_SIZE, str(2 * LIST_PAGE_SIZE))]
    assert all(call["namespace"] == "ns" and call["label_selector"] == "a=b" for call in client.calls)


def test_an_expired_continue_token_starts_the_list_again_once():
    client = PagingClient(LIST_PAGE_SIZE + 1, expire=[2])
    items = cluster_on(client).list("v1", "ConfigMap")
    assert len(items) == LIST_PAGE_SIZE + 1
    assert [call["_continue"] for call in client.calls] == [None, str(LIST_PAGE_SIZE), None, str(LIST_PAGE_SIZE)]


@pytest.mark.parametrize("expire, calls", [([2, 4], 4), ([1], 1)], ids=["twice", "first page"])
def test_a_list_starts_again_at_most_once_and_only_for_a_token(expire, calls):
    client = PagingClient(LIST_PAGE_SIZE + 1, expire=expire)
    with pytest.raises(ApiError, match="list ConfigMap: too old resource version") as raised:
        cluster_on(client).list("v1", "ConfigMap")
    assert raised.value.status == 410 and len(client.calls) == calls
