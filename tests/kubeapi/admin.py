"""Admin endpoints under ``/_test/`` (bearer token required), so that tests
driving a subprocess (ansible-playbook, kubectl) can read and steer the
server:

GET  /_test/requests[?since=N]   request log (``{"items": [...], "last": N}``)
GET  /_test/writes[?since=N]     requests that persisted a change
POST /_test/reset-log            clear the request log
GET|POST|DELETE /_test/faults    list / add (JSON Fault fields) / clear faults
POST /_test/pods                 create pods (JSON arguments of create_pods)
GET|POST /_test/unready          list / set ``{"kind","namespace","name","unready"}``
POST /_test/simulate-pods        ``{"kind","namespace","name","enabled"}``
GET|POST /_test/config           read / change simulation switches
GET  /_test/injection?namespace=&labels=a=b,c=d   revision a pod would be injected with
POST /_test/reset                wipe back to a fresh cluster
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import KubeHandler


def _body(raw: bytes) -> dict:
    if not raw:
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data


def _labels(text: str) -> dict:
    return dict(part.split("=", 1) for part in text.split(",") if "=" in part)


def handle_admin(handler: "KubeHandler", raw: bytes) -> None:
    cluster = handler.cluster
    method = handler.command
    path = handler.url_path[len("/_test/"):]
    query = handler.query
    try:
        body = _body(raw)
        result: Any
        since = int(query.get("since") or 0)
        if path == "requests" and method == "GET":
            result = {"items": cluster.requests(since), "last": cluster.log.last_seq()}
        elif path == "writes" and method == "GET":
            result = {"items": cluster.writes(since), "last": cluster.log.last_seq()}
        elif path == "reset-log" and method == "POST":
            cluster.reset_log()
            result = {"ok": True}
        elif path == "faults":
            if method == "POST":
                result = cluster.inject_fault(**body)
            elif method == "DELETE":
                cluster.clear_faults()
                result = {"ok": True}
            else:
                result = {"items": cluster.faults.list()}
        elif path == "pods" and method == "POST":
            result = {"items": cluster.create_pods(**body)}
        elif path == "unready":
            if method == "POST":
                cluster.set_unready(body["kind"], body.get("namespace", ""), body["name"],
                                    bool(body.get("unready", True)))
            result = {"items": [list(k) for k in sorted(cluster.unready)]}
        elif path == "simulate-pods" and method == "POST":
            cluster.simulate_pods(body["kind"], body.get("namespace", ""), body["name"],
                                  bool(body.get("enabled", True)))
            result = {"ok": True}
        elif path == "config":
            result = cluster.configure(**body) if method == "POST" else cluster.config.as_dict()
        elif path == "injection" and method == "GET":
            with cluster.store.lock:
                found = cluster.injection_for(query.get("namespace", ""), _labels(query.get("labels", "")))
            result = {"revision": found[0] if found else None,
                      "webhookConfiguration": found[1]["metadata"]["name"] if found else None}
        elif path == "reset" and method == "POST":
            cluster.reset()
            result = {"ok": True}
        else:
            handler.send_json(404, {"error": f"no admin endpoint {method} /_test/{path}"})
            return
    except (ValueError, KeyError, TypeError) as err:
        handler.send_json(400, {"error": str(err)})
        return
    handler.send_json(200, result)
