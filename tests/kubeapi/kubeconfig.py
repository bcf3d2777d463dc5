"""Kubeconfig with one context per cluster (cluster1, cluster2, ...)."""
from __future__ import annotations

import base64
import os
from typing import Iterable

import yaml


def build(entries: Iterable[tuple[str, str, bytes, str]]) -> dict:
    """entries: (name, server URL, CA PEM or b"" for plain HTTP, token)."""
    clusters, users, contexts = [], [], []
    for name, url, ca_pem, token in entries:
        cluster = {"server": url}
        if ca_pem:
            cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
        clusters.append({"name": name, "cluster": cluster})
        users.append({"name": f"{name}-admin", "user": {"token": token}})
        contexts.append({"name": name, "context": {"cluster": name, "user": f"{name}-admin"}})
    return {"apiVersion": "v1", "kind": "Config", "preferences": {}, "clusters": clusters, "users": users,
            "contexts": contexts, "current-context": contexts[0]["name"] if contexts else ""}


def write(path: str, config: dict) -> str:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as handle:
        yaml.safe_dump(config, handle, sort_keys=False)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def single(config: dict, context: str) -> dict:
    """A kubeconfig holding only one context (current)."""
    ctx = next(c for c in config["contexts"] if c["name"] == context)
    cluster = next(c for c in config["clusters"] if c["name"] == ctx["context"]["cluster"])
    user = next(u for u in config["users"] if u["name"] == ctx["context"]["user"])
    return {"apiVersion": "v1", "kind": "Config", "preferences": {}, "clusters": [cluster], "users": [user],
            "contexts": [ctx], "current-context": context}
