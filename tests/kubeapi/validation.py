"""Validation answered with 422 Invalid: object names, labels and
annotations, and the per-kind rules clients most often trip over."""
from __future__ import annotations

import json
import re
from typing import Callable, Optional

from .errors import FieldError
from .registry import ResourceType
from .selectors import selector_matches

DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")
MAX_ANNOTATIONS_SIZE = 256 * 1024

SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                 "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
                 "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
             "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
             "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
               "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
               "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")


def _name_rule(rt: ResourceType) -> Callable[[str], Optional[str]]:
    if rt.builtin and rt.group == "rbac.authorization.k8s.io":
        return _path_segment
    if rt.builtin and rt.plural == "namespaces":
        return lambda n: None if len(n) <= 63 and DNS1123_LABEL.fullmatch(n) else LABEL_MSG
    if rt.builtin and rt.plural == "services":
        return lambda n: None if len(n) <= 63 and DNS1035_LABEL.fullmatch(n) else DNS1035_MSG
    return lambda n: None if len(n) <= 253 and DNS1123_SUBDOMAIN.fullmatch(n) else SUBDOMAIN_MSG


def _path_segment(name: str) -> Optional[str]:
    if name in (".", ".."):
        return f"may not be '{name}'"
    for bad in ("/", "%"):
        if bad in name:
            return f"may not contain '{bad}'"
    return None


def qualified_name_error(key: str) -> Optional[str]:
    prefix, _unused, name = key.rpartition("/")
    if "/" in key and (not prefix or len(prefix) > 253 or not DNS1123_SUBDOMAIN.fullmatch(prefix)):
        return "prefix part " + SUBDOMAIN_MSG
    if not name or len(name) > 63 or not QUALIFIED_NAME.fullmatch(name):
        return ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
                "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
    return None


def validate_metadata(rt: ResourceType, obj: dict) -> list[FieldError]:
    errors: list[FieldError] = []
    meta = obj.get("metadata") or {}
    name = meta.get("name") or ""
    if not name:
        errors.append(FieldError("metadata.name", "Required value", "name or generateName is required"))
    else:
        problem = _name_rule(rt)(name)
        if problem:
            errors.append(FieldError("metadata.name", "Invalid value", problem, name, True))
    for key, value in (meta.get("labels") or {}).items():
        problem = qualified_name_error(key)
        if problem:
            errors.append(FieldError("metadata.labels", "Invalid value", problem, key, True))
        if len(value) > 63 or not LABEL_VALUE.fullmatch(value):
            errors.append(FieldError("metadata.labels", "Invalid value",
                                     "a valid label must be an empty string or consist of alphanumeric "
                                     "characters, '-', '_' or '.', and must start and end with an alphanumeric "
                                     "character", value, True))
    annotations = meta.get("annotations") or {}
    for key in annotations:
        problem = qualified_name_error(key)
        if problem:
            errors.append(FieldError("metadata.annotations", "Invalid value", problem, key, True))
    size = sum(len(k) + len(str(v)) for k, v in annotations.items())
    if size > MAX_ANNOTATIONS_SIZE:
        errors.append(FieldError("metadata.annotations", "Too long", f"must have at most {MAX_ANNOTATIONS_SIZE} "
                                 "bytes"))
    return errors


def _deployment_like(obj: dict, template_required: bool = True) -> list[FieldError]:
    errors = []
    spec = obj.get("spec") or {}
    selector = spec.get("selector")
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    if not selector:
        errors.append(FieldError("spec.selector", "Required value"))
    elif not (selector.get("matchLabels") or selector.get("matchExpressions")):
        errors.append(FieldError("spec.selector", "Invalid value", "empty selector is invalid for deployment",
                                 selector, True))
    elif not selector_matches(selector, labels):
        errors.append(FieldError("spec.template.metadata.labels", "Invalid value",
                                 "`selector` does not match template `labels`", labels, True))
    if template_required:
        errors.extend(_containers(template.get("spec") or {}, "spec.template.spec"))
    if isinstance(spec.get("replicas"), int) and spec["replicas"] < 0:
        errors.append(FieldError("spec.replicas", "Invalid value", "must be greater than or equal to 0",
                                 spec["replicas"], True))
    return errors


def _containers(pod_spec: dict, base: str) -> list[FieldError]:
    errors = []
    containers = pod_spec.get("containers")
    if not containers:
        return [FieldError(f"{base}.containers", "Required value")]
    seen = set()
    for i, container in enumerate(containers):
        name = (container or {}).get("name")
        if not name:
            errors.append(FieldError(f"{base}.containers[{i}].name", "Required value"))
        elif name in seen:
            errors.append(FieldError(f"{base}.containers[{i}].name", "Duplicate value", "", name, True))
        seen.add(name)
        if not (container or {}).get("image"):
            errors.append(FieldError(f"{base}.containers[{i}].image", "Required value"))
        errors.extend(_mount_paths(container or {}, f"{base}.containers[{i}]"))
    return errors + _volume_names(pod_spec, base)


def _volume_names(pod_spec: dict, base: str) -> list[FieldError]:
    errors, seen = [], set()
    for i, volume in enumerate(pod_spec.get("volumes") or []):
        name = volume.get("name") if isinstance(volume, dict) else None
        if not isinstance(name, str):
            continue
        if name in seen:
            errors.append(FieldError(f"{base}.volumes[{i}].name", "Duplicate value", "", name, True))
        seen.add(name)
    return errors


def _mount_paths(container: dict, base: str) -> list[FieldError]:
    errors, seen = [], set()
    for i, mount in enumerate(container.get("volumeMounts") or []):
        path = mount.get("mountPath") if isinstance(mount, dict) else None
        if not isinstance(path, str):
            continue
        if path in seen:
            errors.append(FieldError(f"{base}.volumeMounts[{i}].mountPath", "Invalid value", "must be unique",
                                     path, True))
        seen.add(path)
    return errors


class GoValue:
    """A value rendered as the Go validator prints it (not quoted)."""

    def __init__(self, text: str):
        self.text = text

    def __str__(self) -> str:
        return self.text


def port_num_or_name_errors(port, path: str) -> list[FieldError]:
    """A port given by number (1-65535) or by IANA service name."""
    if isinstance(port, int) and not isinstance(port, bool):
        if 0 < port < 65536:
            return []
        return [FieldError(path, "Invalid value", "must be between 1 and 65535, inclusive", port, True)]
    if not isinstance(port, str):
        return []
    problems = []
    if len(port) > 15:
        problems.append("must be no more than 15 characters")
    if not re.fullmatch(r"[-a-z0-9]+", port):
        problems.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search(r"[a-z]", port):
        problems.append("must contain at least one letter (a-z)")
    if "--" in port:
        problems.append("must not contain consecutive hyphens")
    if port[:1] == "-" or port[-1:] == "-":
        problems.append("must not begin or end with a hyphen")
    return [FieldError(path, "Invalid value", problem, port, True) for problem in problems]


def _pod(obj: dict) -> list[FieldError]:
    return _containers(obj.get("spec") or {}, "spec")


def _service(obj: dict) -> list[FieldError]:
    spec = obj.get("spec") or {}
    errors = []
    if spec.get("type") not in ("ExternalName",) and spec.get("clusterIP") != "None" and not spec.get("ports"):
        errors.append(FieldError("spec.ports", "Required value"))
    names: set = set()
    keys: set = set()
    for i, port in enumerate(spec.get("ports") or []):
        if not isinstance(port.get("port"), int) or not 0 < port["port"] < 65536:
            errors.append(FieldError(f"spec.ports[{i}].port", "Invalid value",
                                     "must be between 1 and 65535, inclusive", port.get("port"), True))
        if len(spec["ports"]) > 1 and not port.get("name"):
            errors.append(FieldError(f"spec.ports[{i}].name", "Required value"))
        if port.get("name") in names:
            errors.append(FieldError(f"spec.ports[{i}].name", "Duplicate value", "", port.get("name"), True))
        names.add(port.get("name"))
        if "targetPort" in port:
            errors.extend(port_num_or_name_errors(port["targetPort"], f"spec.ports[{i}].targetPort"))
        key = (port.get("port"), str(port.get("protocol") or "TCP"))
        if not isinstance(key[0], int):
            continue
        if key in keys:
            # the Go validator prints the key struct it compares
            value = {"Name": "", "Protocol": key[1], "AppProtocol": None, "Port": key[0], "TargetPort": 0,
                     "NodePort": 0}
            errors.append(FieldError(f"spec.ports[{i}]", "Duplicate value", "",
                                     GoValue(json.dumps(value, separators=(",", ":"))), True))
        keys.add(key)
    return errors


def _configmap(obj: dict) -> list[FieldError]:
    errors = []
    for field in ("data", "binaryData"):
        for key in obj.get(field) or {}:
            if not CONFIG_KEY.fullmatch(key) or len(key) > 253:
                errors.append(FieldError(f"{field}[{key}]", "Invalid value",
                                         "a valid config key must consist of alphanumeric characters, '-', '_' "
                                         "or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used "
                                         "for validation is '[-._a-zA-Z0-9]+')", key, True))
    return errors


def _crd(obj: dict) -> list[FieldError]:
    errors = []
    spec = obj.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group") or ""
    if not group:
        errors.append(FieldError("spec.group", "Required value"))
    for key in ("plural", "kind"):
        if not names.get(key):
            errors.append(FieldError(f"spec.names.{key}", "Required value"))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        errors.append(FieldError("spec.scope", "Unsupported value", 'supported values: "Cluster", "Namespaced"',
                                 spec.get("scope"), True))
    name = (obj.get("metadata") or {}).get("name")
    if names.get("plural") and group and name != f"{names['plural']}.{group}":
        errors.append(FieldError("metadata.name", "Invalid value", "must be spec.names.plural+\".\"+spec.group",
                                 name, True))
    versions = spec.get("versions") or []
    if not versions:
        errors.append(FieldError("spec.versions", "Invalid value", "must have exactly one version marked as "
                                 "storage version", versions, True))
    elif sum(1 for v in versions if v.get("storage")) != 1:
        errors.append(FieldError("spec.versions", "Invalid value",
                                 "must have exactly one version marked as storage version", versions, True))
    for i, version in enumerate(versions):
        if not (version.get("schema") or {}).get("openAPIV3Schema"):
            errors.append(FieldError(f"spec.versions[{i}].schema.openAPIV3Schema", "Required value",
                                     "schemas are required"))
    return errors


def _rolebinding(obj: dict) -> list[FieldError]:
    ref = obj.get("roleRef") or {}
    errors = []
    if not ref.get("name"):
        errors.append(FieldError("roleRef.name", "Required value"))
    if ref.get("kind") not in ("Role", "ClusterRole"):
        errors.append(FieldError("roleRef.kind", "Unsupported value", 'supported values: "Role", "ClusterRole"',
                                 ref.get("kind"), True))
    return errors


VALIDATORS: dict[tuple[str, str], Callable[[dict], list[FieldError]]] = {
    ("apps", "Deployment"): _deployment_like,
    ("apps", "DaemonSet"): _deployment_like,
    ("apps", "StatefulSet"): _deployment_like,
    ("apps", "ReplicaSet"): _deployment_like,
    ("", "Pod"): _pod,
    ("", "Service"): _service,
    ("", "ConfigMap"): _configmap,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _crd,
    ("rbac.authorization.k8s.io", "RoleBinding"): _rolebinding,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): _rolebinding,
}

# Fields that may not change after creation: (group, kind) -> dotted paths.
IMMUTABLE: dict[tuple[str, str], tuple] = {
    ("apps", "Deployment"): ("spec.selector",),
    ("apps", "DaemonSet"): ("spec.selector",),
    ("apps", "StatefulSet"): ("spec.selector",),
    ("apps", "ReplicaSet"): ("spec.selector",),
    ("rbac.authorization.k8s.io", "RoleBinding"): ("roleRef",),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): ("roleRef",),
    ("", "Service"): ("spec.clusterIP",),
    ("apiextensions.k8s.io", "CustomResourceDefinition"): ("spec.group", "spec.names.plural", "spec.scope"),
}


def _lookup(obj: dict, dotted: str):
    current = obj
    for part in dotted.split("."):
        if not isinstance(current, dict):
            return None
        current = current.get(part)
    return current


def validate(rt: ResourceType, obj: dict, old: Optional[dict] = None) -> list[FieldError]:
    errors = validate_metadata(rt, obj)
    if rt.builtin:
        checker = VALIDATORS.get((rt.group, rt.kind))
        if checker is not None:
            errors.extend(checker(obj))
        if old is not None:
            for path in IMMUTABLE.get((rt.group, rt.kind), ()):
                before, after = _lookup(old, path), _lookup(obj, path)
                if before is not None and before != after:
                    detail = "field is immutable"
                    errors.append(FieldError(path, "Invalid value", detail, after, True))
    return errors


# --- decoding: fields a typed Go struct would refuse ---------------------------------------

def _json_type(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "string"


def _string_map(value, struct: str, path: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, dict):
        return f"json: cannot unmarshal {_json_type(value)} into Go struct field {struct}.{path} of type " \
               "map[string]string"
    for item in value.values():
        # Go decodes a JSON null into a string as "", without an error
        if item is not None and not isinstance(item, str):
            return f"json: cannot unmarshal {_json_type(item)} into Go struct field {struct}.{path} of type string"
    return ""


def _container_strings(spec: dict, prefix: str) -> str:
    for key in ("containers", "initContainers"):
        for container in spec.get(key) or []:
            if not isinstance(container, dict):
                continue
            for field in ("name", "image"):
                if container.get(field) is not None and not isinstance(container[field], str):
                    return f"json: cannot unmarshal {_json_type(container[field])} into Go struct field " \
                           f"Container.{prefix}.{key}.{field} of type string"
            for env in container.get("env") or []:
                for field in ("name", "value"):
                    if isinstance(env, dict) and env.get(field) is not None and not isinstance(env[field], str):
                        return f"json: cannot unmarshal {_json_type(env[field])} into Go struct field " \
                               f"EnvVar.{prefix}.{key}.env.{field} of type string"
    return ""


def decode_nulls(rt: ResourceType, obj: dict) -> None:
    """Go decodes a JSON null inside map[string]string as the empty string; do the same."""
    maps = [(obj.get("metadata") or {}).get(field) for field in ("labels", "annotations")]
    if rt.group == "" and rt.kind in ("ConfigMap", "Secret"):
        maps += [obj.get("data"), obj.get("stringData")]
    for mapping in maps:
        if isinstance(mapping, dict):
            for key, value in mapping.items():
                if value is None:
                    mapping[key] = ""


def decode_error(rt: ResourceType, obj: dict) -> str:
    """What decoding into the Go type would refuse, for the strings YAML most
    often turns into booleans or numbers; "" when nothing."""
    meta = obj.get("metadata") or {}
    for field in ("labels", "annotations"):
        problem = _string_map(meta.get(field), "ObjectMeta", f"metadata.{field}")
        if problem:
            return problem
    if rt.group == "" and rt.kind in ("ConfigMap", "Secret"):
        for field in ("data", "stringData") if rt.kind == "Secret" else ("data",):
            problem = _string_map(obj.get(field), rt.kind, field)
            if problem:
                return problem
    spec = obj.get("spec") or {}
    if rt.kind == "Pod":
        return _container_strings(spec, "spec")
    template_spec = ((spec.get("template") or {}).get("spec")) if isinstance(spec, dict) else None
    if isinstance(template_spec, dict):
        return _container_strings(template_spec, "spec.template.spec")
    return ""


# --- warnings: duplicates that create and update accept (server-side apply refuses them) ------

POD_SPEC_PATHS = {
    ("", "Pod"): "spec", ("", "PodTemplate"): "template.spec", ("", "ReplicationController"): "spec.template.spec",
    ("apps", "Deployment"): "spec.template.spec", ("apps", "DaemonSet"): "spec.template.spec",
    ("apps", "StatefulSet"): "spec.template.spec", ("apps", "ReplicaSet"): "spec.template.spec",
    ("batch", "Job"): "spec.template.spec", ("batch", "CronJob"): "spec.jobTemplate.spec.template.spec",
}


def _pod_spec_at(obj: dict, dotted: str) -> Optional[dict]:
    spec = _lookup(obj, dotted)
    return spec if isinstance(spec, dict) else None


def _containers_with_paths(spec: dict, base: str) -> list[tuple[str, dict]]:
    """Init containers, containers, then ephemeral containers, as the API server visits them."""
    out = []
    for key in ("initContainers", "containers", "ephemeralContainers"):
        items = spec.get(key)
        for i, container in enumerate(items if isinstance(items, list) else []):
            if isinstance(container, dict):
                out.append((f"{base}.{key}[{i}]", container))
    return out


def _env_warnings(path: str, container: dict) -> list[str]:
    warnings, seen = [], set()
    env = container.get("env")
    for i, item in enumerate(env if isinstance(env, list) else []):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str):
            continue
        if name in seen:
            ref, value = f"$({name})", str(item.get("value") or "")
            # X="$(X)suffix" after X="abc" extends the earlier value: no warning
            if item.get("valueFrom") is not None or value == ref or ref not in value:
                warnings.append(f'{path}.env[{i}]: hides previous definition of {json.dumps(name)}, which may be '
                                'dropped when using apply')
        seen.add(name)
    return warnings


def _port_warnings(containers: list[tuple[str, dict]]) -> list[str]:
    warnings, by_key = [], {}
    for path, container in containers:
        ports = container.get("ports")
        for i, port in enumerate(ports if isinstance(ports, list) else []):
            if not isinstance(port, dict):
                continue
            here = f"{path}.ports[{i}]"
            key = (port.get("containerPort"), port.get("protocol") or "TCP")
            for other_path, other in by_key.get(key, []):
                if (port.get("hostIP") or "", port.get("hostPort") or 0) == (other.get("hostIP") or "",
                                                                             other.get("hostPort") or 0):
                    warnings.append(f"{here}: duplicate port definition with {other_path}")
                elif not port.get("hostPort") or not other.get("hostPort"):
                    warnings.append(f"{here}: overlapping port definition with {other_path}")
            by_key.setdefault(key, []).append((here, port))
    return warnings


def duplicate_warnings(rt: ResourceType, obj: dict) -> list[str]:
    """Warnings the API server gives for duplicated env names, container ports
    and image pull secrets in a pod spec."""
    base = POD_SPEC_PATHS.get((rt.group, rt.kind)) if rt.builtin else None
    spec = _pod_spec_at(obj, base) if base else None
    if spec is None:
        return []
    warnings, seen = [], set()
    secrets = spec.get("imagePullSecrets")
    for i, ref in enumerate(secrets if isinstance(secrets, list) else []):
        name = ref.get("name") if isinstance(ref, dict) else None
        if name in seen:
            warnings.append(f"{base}.imagePullSecrets[{i}].name: duplicate name {json.dumps(name)}")
        seen.add(name)
    containers = _containers_with_paths(spec, base)
    warnings += [w for path, container in containers for w in _env_warnings(path, container)]
    return warnings + _port_warnings(containers)
