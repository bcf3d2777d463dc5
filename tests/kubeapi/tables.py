"""Server-side printing (``Accept: application/json;as=Table;g=meta.k8s.io;v=v1``),
which ``kubectl get`` asks for: the usual columns for common built-in kinds,
``additionalPrinterColumns`` for custom resources, Name/Created At otherwise."""
from __future__ import annotations

import datetime
import re
from typing import Any, Callable, Optional

from .registry import ResourceType
from .selectors import selector_to_string
from .store import meta

Column = tuple[str, str, str, int]   # name, type, format, priority


def _col(name: str, kind: str = "string", fmt: str = "", priority: int = 0) -> Column:
    return (name, kind, fmt, priority)


NAME = _col("Name", fmt="name")
AGE = _col("Age", "string")


def human_duration(seconds: float) -> str:
    """Ages as kubectl shows them (5s, 3m20s, 4h, 2d3h, ...)."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes, hours, days = s // 60, s // 3600, s // 86400
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 192:
        return f"{days}d" if hours % 24 == 0 else f"{days}d{hours % 24}h"
    if days < 730:
        return f"{days}d"
    years = days // 365
    if years < 8:
        return f"{years}y" if days % 365 == 0 else f"{years}y{days % 365}d"
    return f"{years}y"


def _since(timestamp: Any) -> str:
    if not timestamp:
        return "<unknown>"
    try:
        then = datetime.datetime.strptime(str(timestamp), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return str(timestamp)
    return human_duration((datetime.datetime.now(datetime.timezone.utc) - then).total_seconds())


def _age(obj: dict) -> Any:
    return _since(meta(obj).get("creationTimestamp"))


def _created(obj: dict) -> Any:
    return meta(obj).get("creationTimestamp")


def _pod_cells(obj: dict) -> list:
    status = obj.get("status") or {}
    statuses = status.get("containerStatuses") or []
    total = len((obj.get("spec") or {}).get("containers") or [])
    ready = sum(1 for s in statuses if s.get("ready"))
    restarts = sum(int(s.get("restartCount") or 0) for s in statuses)
    phase = "Terminating" if meta(obj).get("deletionTimestamp") else status.get("phase", "Pending")
    return [meta(obj)["name"], f"{ready}/{total}", phase, restarts, _age(obj), status.get("podIP") or "<none>",
            (obj.get("spec") or {}).get("nodeName") or "<none>", "<none>", "<none>"]


def _images(obj: dict) -> tuple[str, str]:
    containers = (((obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    return ",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers)


def _deployment_cells(obj: dict) -> list:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _images(obj)
    return [meta(obj)["name"], f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
            status.get("updatedReplicas", 0), status.get("availableReplicas", 0), _age(obj), names, images,
            selector_to_string(spec.get("selector")) or "<none>"]


def _daemonset_cells(obj: dict) -> list:
    status = obj.get("status") or {}
    node_selector = (((obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
    names, images = _images(obj)
    return [meta(obj)["name"], status.get("desiredNumberScheduled", 0), status.get("currentNumberScheduled", 0),
            status.get("numberReady", 0), status.get("updatedNumberScheduled", 0), status.get("numberAvailable", 0),
            ",".join(f"{k}={v}" for k, v in node_selector.items()) or "<none>", _age(obj), names, images]


def _service_cells(obj: dict) -> list:
    spec = obj.get("spec") or {}
    ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    external = ",".join(i.get("ip") or i.get("hostname", "") for i in ingress) or \
        ("<pending>" if spec.get("type") == "LoadBalancer" else "<none>")
    ports = ",".join(f"{p.get('port')}{':' + str(p['nodePort']) if p.get('nodePort') else ''}/{p.get('protocol', 'TCP')}"
                     for p in spec.get("ports") or []) or "<none>"
    selector = ",".join(f"{k}={v}" for k, v in (spec.get("selector") or {}).items()) or "<none>"
    return [meta(obj)["name"], spec.get("type", "ClusterIP"), spec.get("clusterIP", "<none>"), external, ports,
            _age(obj), selector]


def _simple(*fields: Callable[[dict], Any]) -> Callable[[dict], list]:
    return lambda obj: [meta(obj)["name"]] + [f(obj) for f in fields]


def _node_status(obj: dict) -> str:
    ready = next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), {})
    return "Ready" if ready.get("status") == "True" else "NotReady"


BUILTIN_TABLES: dict[tuple[str, str], tuple[list[Column], Callable[[dict], list]]] = {
    ("", "Pod"): ([NAME, _col("Ready"), _col("Status"), _col("Restarts", "string"), AGE, _col("IP", priority=1),
                   _col("Node", priority=1), _col("Nominated Node", priority=1),
                   _col("Readiness Gates", priority=1)], _pod_cells),
    ("apps", "Deployment"): ([NAME, _col("Ready"), _col("Up-to-date", "integer"), _col("Available", "integer"), AGE,
                              _col("Containers", priority=1), _col("Images", priority=1),
                              _col("Selector", priority=1)], _deployment_cells),
    ("apps", "DaemonSet"): ([NAME, _col("Desired", "integer"), _col("Current", "integer"), _col("Ready", "integer"),
                             _col("Up-to-date", "integer"), _col("Available", "integer"), _col("Node Selector"), AGE,
                             _col("Containers", priority=1), _col("Images", priority=1)], _daemonset_cells),
    ("", "Service"): ([NAME, _col("Type"), _col("Cluster-IP"), _col("External-IP"), _col("Port(s)"), AGE,
                       _col("Selector", priority=1)], _service_cells),
    ("", "Namespace"): ([NAME, _col("Status"), AGE],
                        _simple(lambda o: (o.get("status") or {}).get("phase", "Active"), _age)),
    ("", "ConfigMap"): ([NAME, _col("Data", "integer"), AGE],
                        _simple(lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {}), _age)),
    ("", "Secret"): ([NAME, _col("Type"), _col("Data", "integer"), AGE],
                     _simple(lambda o: o.get("type", "Opaque"), lambda o: len(o.get("data") or {}), _age)),
    ("", "ServiceAccount"): ([NAME, _col("Secrets", "integer"), AGE],
                             _simple(lambda o: len(o.get("secrets") or []), _age)),
    ("", "Node"): ([NAME, _col("Status"), _col("Roles"), AGE, _col("Version")],
                   _simple(_node_status, lambda o: "<none>", _age,
                           lambda o: ((o.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion", ""))),
    ("apiextensions.k8s.io", "CustomResourceDefinition"): ([NAME, _col("Created At", "date")], _simple(_created)),
}


def _jsonpath(obj: Any, path: str) -> Any:
    """The subset of JSONPath used in printer columns: .a.b, [n], [?(@.k=="v")]."""
    tokens = re.findall(r"\.([A-Za-z0-9_\-]+)|\[(\d+)\]|\[\?\(@\.([A-Za-z0-9_\-]+)\s*==\s*['\"]([^'\"]*)['\"]\)\]",
                        path)
    current = obj
    for field, index, key, value in tokens:
        if current is None:
            return None
        if field:
            current = current.get(field) if isinstance(current, dict) else None
        elif index:
            current = current[int(index)] if isinstance(current, list) and int(index) < len(current) else None
        else:
            matches = [i for i in current or [] if isinstance(i, dict) and str(i.get(key)) == value]
            current = matches[0] if matches else None
    return current


def _columns(rt: ResourceType) -> tuple[list[Column], Callable[[dict], list]]:
    if rt.builtin:
        return BUILTIN_TABLES.get((rt.group, rt.kind), ([NAME, _col("Created At", "date")], _simple(_created)))
    if not rt.printer_columns:
        return [NAME, _col("Age", "date")], _simple(_age)
    columns = [NAME] + [_col(c["name"], c.get("type", "string"), c.get("format", ""), c.get("priority", 0))
                        for c in rt.printer_columns]
    specs = [(c.get("jsonPath", ""), c.get("type", "string")) for c in rt.printer_columns]
    return columns, lambda obj: [meta(obj)["name"]] + [_cell(_jsonpath(obj, p), t) for p, t in specs]


def _cell(value: Any, kind: str = "string") -> Any:
    if kind == "date" and value:
        return _since(value)
    if isinstance(value, (dict, list)):
        import json
        return json.dumps(value, separators=(",", ":"))
    return value


def _row_object(obj: dict, include: str) -> Optional[dict]:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta(obj)}


def column_definitions(rt: ResourceType) -> list[dict]:
    columns, _unused = _columns(rt)
    return [{"name": n, "type": t, "format": f, "description": "", "priority": p} for n, t, f, p in columns]


def rows(rt: ResourceType, objs: list[dict], include: str) -> list[dict]:
    _unused, cells = _columns(rt)
    out = []
    for obj in objs:
        row: dict = {"cells": cells(obj)}
        row_object = _row_object(obj, include)
        if row_object is not None:
            row["object"] = row_object
        out.append(row)
    return out


def table(rt: ResourceType, objs: list[dict], list_meta: dict, include: str, with_columns: bool = True) -> dict:
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta,
            "columnDefinitions": column_definitions(rt) if with_columns else [],
            "rows": rows(rt, objs, include)}


def wants_table(accept: str) -> bool:
    return "as=Table" in accept


def wants_partial(accept: str) -> bool:
    return "as=PartialObjectMetadata" in accept
