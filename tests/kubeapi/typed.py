"""Built-in kinds as Go types: which fields exist and what JSON type each has.

The real API server decodes built-in objects into Go structs, and server-side
apply first converts the applied configuration to a typed value
(structured-merge-diff). That is what refuses unknown fields and wrongly typed
values, drops ``omitempty`` fields left empty and writes quantities in
canonical form. The field tree comes from the generated models of the
``kubernetes`` client (a requirement of the collection; their sources are
read, not imported), which carry the OpenAPI field names, types and required
fields of every built-in kind; list
semantics (keys, sets) still come from ``schema.py``. Without the client the
checks are skipped."""
from __future__ import annotations

import ast
import functools
import importlib.util
import json
import os
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Optional

from . import quantity
from .schema import Node

SCALARS = ("string", "number", "boolean", "quantity")
# "intorstring": intstr.IntOrString, which typed conversion accepts as any value but
# decoding reads as a string or an int32.
KEY_DEFAULTS = {"protocol": "TCP"}

# Go struct fields of type resource.Quantity: "map" for resource lists (rounded
# up to milli units by defaulting), "scalar" otherwise.
QUANTITIES = {
    "ResourceRequirements.limits": "map", "ResourceRequirements.requests": "map",
    "VolumeResourceRequirements.limits": "map", "VolumeResourceRequirements.requests": "map",
    "PodSpec.overhead": "map", "ContainerStatus.allocatedResources": "map",
    "LimitRangeItem.default": "map", "LimitRangeItem.defaultRequest": "map", "LimitRangeItem.max": "map",
    "LimitRangeItem.min": "map", "LimitRangeItem.maxLimitRequestRatio": "map",
    "ResourceQuotaSpec.hard": "map", "ResourceQuotaStatus.hard": "map", "ResourceQuotaStatus.used": "map",
    "NodeStatus.capacity": "map", "NodeStatus.allocatable": "map", "PersistentVolumeSpec.capacity": "map",
    "PersistentVolumeClaimStatus.capacity": "map", "PersistentVolumeClaimStatus.allocatedResources": "map",
    "EmptyDirVolumeSource.sizeLimit": "scalar", "ResourceFieldSelector.divisor": "scalar",
    "MetricTarget.value": "scalar", "MetricTarget.averageValue": "scalar",
    "MetricValueStatus.value": "scalar", "MetricValueStatus.averageValue": "scalar",
    "HPAScalingRules.tolerance": "scalar",
}

# Go *string fields: an empty string is a value there, not an omitted field.
POINTER_STRINGS = {
    "PersistentVolumeClaimSpec.storageClassName", "PersistentVolumeClaimSpec.volumeMode",
    "PersistentVolumeClaimSpec.volumeAttributesClassName", "PersistentVolumeSpec.volumeMode",
    "HostPathVolumeSource.type", "VolumeMount.mountPropagation", "VolumeMount.recursiveReadOnly",
    "Container.restartPolicy", "EphemeralContainer.restartPolicy", "PodSpec.runtimeClassName",
    "PodSpec.preemptionPolicy", "PodSpec.hostnameOverride", "SecurityContext.procMount",
    "SeccompProfile.localhostProfile", "AppArmorProfile.localhostProfile", "PodDNSConfigOption.value",
    "ServiceSpec.ipFamilyPolicy", "ServiceSpec.loadBalancerClass", "ServiceSpec.internalTrafficPolicy",
    "ServiceSpec.trafficDistribution", "ServicePort.appProtocol", "ContainerPort.appProtocol",
    "EndpointPort.appProtocol", "EndpointPort.name", "WebhookClientConfig.url", "ServiceReference.path",
    "Rule.scope", "MutatingWebhook.failurePolicy", "MutatingWebhook.matchPolicy", "MutatingWebhook.sideEffects",
    "MutatingWebhook.reinvocationPolicy", "ValidatingWebhook.failurePolicy", "ValidatingWebhook.matchPolicy",
    "ValidatingWebhook.sideEffects", "IngressSpec.ingressClassName", "HTTPIngressPath.pathType",
    "PodDisruptionBudgetSpec.unhealthyPodEvictionPolicy", "JobSpec.completionMode", "JobSpec.managedBy",
    "JobSpec.podReplacementPolicy", "CronJobSpec.timeZone", "HPAScalingRules.selectPolicy",
    "StorageClass.volumeBindingMode", "LeaseSpec.holderIdentity",
    "JSONSchemaProps.x-kubernetes-list-type", "JSONSchemaProps.x-kubernetes-map-type",
}

# Kinds whose client model is not named V<version><Kind>.
MODEL_NAMES = {("", "Event"): "CoreV1Event", ("events.k8s.io", "Event"): "EventsV1Event"}
VERSION_PREFIX = re.compile(r"^(?:[A-Z][a-z]+)?V\d+(?:(?:alpha|beta)\d+)?(?=[A-Z])")


@dataclass(eq=False)
class Type:
    kind: str                                    # "struct", "list", "map", "any", "intorstring" or SCALARS
    name: str = ""                               # Go struct name (structs)
    fields: dict = field(default_factory=dict)   # JSON name -> Type (structs)
    required: frozenset = frozenset()            # fields without omitempty
    keep: frozenset = frozenset()                # fields whose empty value is kept (required, *string)
    elem: Optional["Type"] = None                # list items / map values
    milli: bool = False                          # quantity in a resource list


ANY = Type("any")
_lock = threading.RLock()
_structs: dict[str, Type] = {}
_kinds: dict[tuple, Optional[Type]] = {}


@functools.lru_cache(maxsize=None)
def _model_files() -> dict:
    """Model class -> source file of the client's generated models. The
    sources are read rather than imported: importing the package and the
    pydantic models a kind needs costs about a second per process."""
    spec = importlib.util.find_spec("kubernetes")       # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        return {}
    folder = os.path.join(list(spec.submodule_search_locations)[0], "client", "models")
    try:
        with open(os.path.join(folder, "__init__.py"), encoding="utf-8") as handle:
            index = handle.read()
    except OSError:
        return {}
    pairs = re.findall(r"from kubernetes\.client\.models\.(\w+) import (\w+)", index)
    return {cls: os.path.join(folder, module + ".py") for module, cls in pairs}


@dataclass
class Model:
    types: dict           # attribute -> OpenAPI type ("str", "List[V1Container]", ...)
    names: dict           # attribute -> JSON name
    required: set         # attributes that are neither Optional nor defaulted
    int_or_string: set    # attributes typed int | str (IntOrString; older clients say "object")


def _literal(source: str, name: str) -> Optional[dict]:
    found = re.search(r"^    " + name + r"\b[^=\n]*=\s*(\{.*?\})", source, re.M | re.S)
    return ast.literal_eval(found.group(1)) if found else None


def _model(name: str) -> Optional[Model]:
    path = _model_files().get(name)
    if path is None:
        return None
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    types, names = _literal(source, "openapi_types"), _literal(source, "attribute_map")
    if types is None or names is None:
        return None
    model = Model(types, names, set(), set())
    for attr in types:
        found = re.search(r"^    " + attr + r": ([^\n]+?)(?: = ([^\n]*))?$", source, re.M)
        if found is None:       # models without annotations say nothing about required fields
            continue
        annotation, default = found.group(1), found.group(2) or ""
        if not annotation.startswith("Optional[") and not default.startswith(("None", "Field(default=")):
            model.required.add(attr)
        if re.search(r"StrictInt \| StrictStr|Union\[StrictInt, StrictStr\]", annotation):
            model.int_or_string.add(attr)
    return model


def kind_type(group: str, version: str, kind: str) -> Optional[Type]:
    """The Go type of a built-in kind, or None when the client does not know it."""
    key = (group, version, kind)
    with _lock:
        if key not in _kinds:
            name = MODEL_NAMES.get((group, kind), version.capitalize() + kind)
            model = _model(name)
            known = model is not None and "kind" in model.names.values()
            _kinds[key] = _struct(name) if known else None
        return _kinds[key]


def _struct(model_name: str) -> Type:
    node = _structs.get(model_name)
    if node is not None:
        return node
    node = Type("struct", name=VERSION_PREFIX.sub("", model_name))
    _structs[model_name] = node          # before the fields: types are recursive
    model = _model(model_name)
    if model is None:
        node.kind = "any"
        return node
    for attr, spec in model.types.items():
        json_name = model.names[attr]
        shape = QUANTITIES.get(f"{node.name}.{json_name}")
        if shape == "map":
            node.fields[json_name] = Type("map", elem=Type("quantity", milli=True))
        elif shape == "scalar":
            node.fields[json_name] = Type("quantity")
        elif attr in model.int_or_string:
            node.fields[json_name] = Type("intorstring")
        else:
            node.fields[json_name] = _parse(spec)
    node.required = frozenset(model.names[a] for a in model.required)
    node.keep = node.required | {f for f in node.fields if f"{node.name}.{f}" in POINTER_STRINGS}
    return node


def _parse(spec: str) -> Type:
    spec = spec.strip()
    simple = {"str": "string", "datetime": "string", "date": "string", "bytearray": "string",
              "int": "number", "float": "number", "bool": "boolean", "object": "any"}
    if spec in simple:
        return ANY if spec == "object" else Type(simple[spec])
    match = re.fullmatch(r"[Ll]ist\[(.+)\]", spec)
    if match:
        return Type("list", elem=_parse(match.group(1)))
    match = re.fullmatch(r"[Dd]ict[\[(]str, (.+)[\])]", spec)
    if match:
        return Type("map", elem=_parse(match.group(1)))
    return _struct(spec)


# --- Go's renderings of unstructured values, as structured-merge-diff prints them -----

def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 63:
        return str(int(value))       # integral JSON numbers decode as int64
    return repr(value)


def _plain(value: Any) -> str:
    """``%v``"""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _number(value)
    if value is None:
        return "<nil>"
    if isinstance(value, list):
        return "[" + " ".join(_plain(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_plain(value[k])}" for k in sorted(value)) + "]"
    return str(value)


def _sharp(value: Any) -> str:
    """``%#v``"""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[]interface {}{" + ", ".join(_sharp(v) for v in value) + "}"
    if isinstance(value, dict):
        return "map[string]interface {}{" + ", ".join(f"{json.dumps(k)}:{_sharp(value[k])}" for k in sorted(value)) + "}"
    return "interface {}(nil)" if value is None else _plain(value)


def _go_type(value: Any) -> str:
    """``%T``"""
    for kind, name in ((bool, "bool"), (int, "int64"), (float, "float64"), (str, "string"),
                       (list, "[]interface {}"), (dict, "map[string]interface {}")):
        if isinstance(value, kind):
            return name
    return "<nil>"


# --- server-side apply: the typed patch object ------------------------------------------

def patch_errors(obj: dict, root: Type, node: Node) -> list[str]:
    """What converting an applied configuration to a typed value refuses:
    undeclared fields, wrong JSON types, duplicate keys in list-maps and sets."""
    errors: list[tuple[str, str]] = []
    _check(obj, root, node, "", errors)
    return [f"{path}: {message}" if path else message for path, message in sorted(errors)]


def _scalar_error(value: Any, kind: str) -> str:
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "number" and not is_number:
        return f"expected numeric (int or float), got {_go_type(value)}"
    if kind == "string" and not isinstance(value, str):
        return f"expected string, got &value.valueUnstructured{{Value:{_sharp(value)}}}"
    if kind == "boolean" and not isinstance(value, bool):
        return f"expected boolean, got &{{{_plain(value)}}}"
    if kind == "quantity" and isinstance(value, (dict, list)):
        return f"expected any scalar, got &{{{_plain(value)}}}"
    return ""


def _check(value: Any, t: Type, node: Node, path: str, out: list) -> None:
    if value is None or t.kind in ("any", "intorstring"):
        return
    if t.kind in SCALARS:
        problem = _scalar_error(value, t.kind)
        if problem:
            out.append((path, problem))
        return
    if t.kind == "list":
        if not isinstance(value, list):
            out.append((path, f"expected list, got &{{{_plain(value)}}}"))
        else:
            _check_items(value, t, node, path, out)
        return
    if not isinstance(value, dict):
        out.append((path, f"expected map, got &{{{_plain(value)}}}"))
        return
    for key, item in value.items():
        child = t.fields.get(key) if t.kind == "struct" else t.elem
        if child is None:
            # structured-merge-diff stops at the first undeclared field of a map
            out.append((f"{path}.{key}", "field not declared in schema"))
            return
        _check(item, child, node.child(key), f"{path}.{key}", out)


def _element(item: Any, node: Node) -> Optional[str]:
    """The path element of a list-map or set item as structured-merge-diff
    prints it: ``[name="x"]``, ``[containerPort=80,protocol="TCP"]``, ``[="x"]``."""
    if node.list_type == "set":
        return None if isinstance(item, (dict, list)) or item is None else f"[={json.dumps(item)}]"
    pairs = []
    for key in sorted(node.keys):
        if key in item:
            pairs.append(f"{key}={json.dumps(item[key], separators=(',', ':'))}")
        elif key in KEY_DEFAULTS:
            pairs.append(f"{key}={json.dumps(KEY_DEFAULTS[key])}")
    return "[" + ",".join(pairs) + "]" if pairs else None


def _check_items(items: list, t: Type, node: Node, path: str, out: list) -> None:
    seen: set = set()
    for index, item in enumerate(items):
        element = f"[{index}]"
        if node.list_type == "map" and not isinstance(item, dict):
            out.append((path, f"element {index}: associative list with keys may not have non-map elements"))
            return
        if node.granular_list:
            keyed = _element(item, node)
            if keyed is not None:
                if keyed in seen:
                    out.append((path, f"duplicate entries for key {keyed}"))
                seen.add(keyed)
                element = keyed
        _check(item, t.elem or ANY, node.item(), path + element, out)


# --- decoding into Go structs: unknown fields, omitempty, quantities -------------------------------

def prune_unknown(obj: Any, t: Type, path: str = "") -> list[str]:
    """Drop fields the Go type does not declare (as decoding does); return their
    paths as the strict decoder names them (``spec.containers[0].imagez``)."""
    unknown: list[str] = []
    _prune(obj, t, path, unknown)
    return unknown


def _prune(value: Any, t: Type, path: str, unknown: list) -> None:
    if t.kind == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            _prune(item, t.elem or ANY, f"{path}[{index}]", unknown)
        return
    if t.kind not in ("struct", "map") or not isinstance(value, dict):
        return
    for key in list(value):
        child = t.fields.get(key) if t.kind == "struct" else t.elem
        child_path = f"{path}.{key}" if path else key
        if child is None:
            unknown.append(child_path)
            del value[key]
        else:
            _prune(value[key], child, child_path, unknown)


class DecodeError(ValueError):
    """What decoding into the Go type refuses. ``str()`` is the message of a
    conversion from an unstructured object (server-side apply); ``in_field``
    the JSON decoder's, which names the struct field when ``json_kind`` is set."""

    def __init__(self, message: str, json_kind: str = ""):
        super().__init__(message)
        self.json_kind = json_kind
        self.path: list[str] = []     # field names, filled in while unwinding
        self.struct = ""              # the Go struct holding the field

    @property
    def in_field(self) -> str:
        if not self.json_kind:
            return str(self)
        return (f"json: cannot unmarshal {self.json_kind} into Go struct field "
                f"{self.struct}.{'.'.join(self.path)} of type int32")


def _empty(value: Any, t: Type) -> bool:
    return value is None or (t.kind in ("string", "list", "map") and value in ("", [], {}))


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return f"number {value!r}"
    return "array" if isinstance(value, list) else "object"


def normalize(value: Any, t: Type) -> None:
    """Encode as Go would after decoding: quantities in canonical form, empty
    ``omitempty`` fields dropped (raises ``DecodeError`` for what Go cannot
    decode). Zero numbers and false are kept: whether a field is a Go pointer
    is not known here."""
    if t.kind == "list" and isinstance(value, list):
        elem = t.elem or ANY
        for index, item in enumerate(value):
            value[index] = _normalized(item, elem)
        return
    if t.kind not in ("struct", "map") or not isinstance(value, dict):
        return
    is_map = t.kind == "map"
    for key in list(value):
        child = t.elem if is_map else t.fields.get(key)
        if child is None:
            continue
        try:
            value[key] = _normalized(value[key], child)
        except DecodeError as exc:
            exc.path.insert(0, key)
            exc.struct = exc.struct or ("" if is_map else t.name)
            raise
        if not is_map and key not in t.keep and _empty(value[key], child):
            del value[key]


def _normalized(value: Any, t: Type) -> Any:
    kind = t.kind
    if value is None or kind in ("string", "number", "boolean", "any"):
        return value
    if kind == "quantity":
        try:
            return quantity.canonical(value, t.milli)
        except quantity.QuantityError as exc:
            raise DecodeError(str(exc)) from None
    if kind == "intorstring":
        if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        json_kind = _json_kind(value)
        raise DecodeError(f"json: cannot unmarshal {json_kind} into Go value of type int32", json_kind)
    normalize(value, t)
    return value
