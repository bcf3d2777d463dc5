"""Defaulting of built-in kinds, for the fields a real API server fills in
and that clients commonly read back (replicas, strategies, protocols,
container pull policy, service type, webhook policies...). Defaults are
idempotent: applying them twice changes nothing, so an identical write stays
a no-op."""
from __future__ import annotations

from typing import Callable


def _set(obj: dict, key: str, value) -> None:
    if obj.get(key) is None:
        obj[key] = value


def _dict(obj: dict, key: str) -> dict:
    value = obj.get(key)
    if not isinstance(value, dict):
        value = {}
        obj[key] = value
    return value


def _container(container: dict) -> None:
    image = container.get("image") or ""
    tag = image.rsplit("/", 1)[-1]
    latest = "@" not in image and (":" not in tag or tag.endswith(":latest"))
    _set(container, "imagePullPolicy", "Always" if latest else "IfNotPresent")
    _set(container, "terminationMessagePath", "/dev/termination-log")
    _set(container, "terminationMessagePolicy", "File")
    _set(container, "resources", {})
    for port in container.get("ports") or []:
        if isinstance(port, dict):
            _set(port, "protocol", "TCP")
    for env in container.get("env") or []:
        field_ref = (env.get("valueFrom") or {}).get("fieldRef") if isinstance(env, dict) else None
        if isinstance(field_ref, dict):
            _set(field_ref, "apiVersion", "v1")
    for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = container.get(probe_name)
        if isinstance(probe, dict):
            for key, value in (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1),
                               ("failureThreshold", 3)):
                _set(probe, key, value)
            http = probe.get("httpGet")
            if isinstance(http, dict):
                _set(http, "scheme", "HTTP")


def pod_spec(spec: dict) -> None:
    _set(spec, "restartPolicy", "Always")
    _set(spec, "terminationGracePeriodSeconds", 30)
    _set(spec, "dnsPolicy", "ClusterFirst")
    _set(spec, "securityContext", {})
    _set(spec, "schedulerName", "default-scheduler")
    if spec.get("serviceAccountName") and not spec.get("serviceAccount"):
        spec["serviceAccount"] = spec["serviceAccountName"]
    for key in ("containers", "initContainers"):
        for container in spec.get(key) or []:
            if isinstance(container, dict):
                _container(container)
    for volume in spec.get("volumes") or []:
        if not isinstance(volume, dict):
            continue
        for source in ("configMap", "secret"):
            if isinstance(volume.get(source), dict):
                _set(volume[source], "defaultMode", 420)
        if isinstance(volume.get("projected"), dict):
            _set(volume["projected"], "defaultMode", 420)


def _template(spec: dict) -> None:
    template = _dict(spec, "template")
    pod_spec(_dict(template, "spec"))


def deployment(obj: dict) -> None:
    spec = _dict(obj, "spec")
    _set(spec, "replicas", 1)
    _set(spec, "revisionHistoryLimit", 10)
    _set(spec, "progressDeadlineSeconds", 600)
    strategy = _dict(spec, "strategy")
    _set(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = _dict(strategy, "rollingUpdate")
        _set(rolling, "maxUnavailable", "25%")
        _set(rolling, "maxSurge", "25%")
    _template(spec)


def daemonset(obj: dict) -> None:
    spec = _dict(obj, "spec")
    _set(spec, "revisionHistoryLimit", 10)
    strategy = _dict(spec, "updateStrategy")
    _set(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = _dict(strategy, "rollingUpdate")
        _set(rolling, "maxUnavailable", 1)
        _set(rolling, "maxSurge", 0)
    _template(spec)


def statefulset(obj: dict) -> None:
    spec = _dict(obj, "spec")
    _set(spec, "replicas", 1)
    _set(spec, "revisionHistoryLimit", 10)
    _set(spec, "podManagementPolicy", "OrderedReady")
    strategy = _dict(spec, "updateStrategy")
    _set(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        _set(_dict(strategy, "rollingUpdate"), "partition", 0)
    _set(spec, "persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})
    _template(spec)


def replicaset(obj: dict) -> None:
    spec = _dict(obj, "spec")
    _set(spec, "replicas", 1)
    _template(spec)


def pod(obj: dict) -> None:
    spec = _dict(obj, "spec")
    pod_spec(spec)
    _set(spec, "enableServiceLinks", True)
    _set(spec, "preemptionPolicy", "PreemptLowerPriority")
    _set(spec, "priority", 0)
    _set(spec, "serviceAccountName", "default")
    _set(spec, "serviceAccount", spec["serviceAccountName"])


def service(obj: dict) -> None:
    spec = _dict(obj, "spec")
    _set(spec, "type", "ClusterIP")
    if spec["type"] == "ExternalName":
        return
    _set(spec, "sessionAffinity", "None")
    _set(spec, "internalTrafficPolicy", "Cluster")
    if spec["type"] in ("NodePort", "LoadBalancer"):
        _set(spec, "externalTrafficPolicy", "Cluster")
    if spec["type"] == "LoadBalancer":
        _set(spec, "allocateLoadBalancerNodePorts", True)
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            _set(port, "protocol", "TCP")
            if "port" in port:
                _set(port, "targetPort", port["port"])


def secret(obj: dict) -> None:
    _set(obj, "type", "Opaque")
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        import base64
        data = _dict(obj, "data")
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()


def _webhooks(obj: dict, mutating: bool) -> None:
    for hook in obj.get("webhooks") or []:
        if not isinstance(hook, dict):
            continue
        _set(hook, "failurePolicy", "Fail")
        _set(hook, "matchPolicy", "Equivalent")
        _set(hook, "namespaceSelector", {})
        _set(hook, "objectSelector", {})
        _set(hook, "timeoutSeconds", 10)
        if mutating:
            _set(hook, "reinvocationPolicy", "Never")
        for rule in hook.get("rules") or []:
            if isinstance(rule, dict):
                _set(rule, "scope", "*")
        service_ref = (hook.get("clientConfig") or {}).get("service")
        if isinstance(service_ref, dict):
            _set(service_ref, "port", 443)


def network_policy(obj: dict) -> None:
    spec = _dict(obj, "spec")
    if spec.get("policyTypes") is None:
        spec["policyTypes"] = ["Ingress"] + (["Egress"] if spec.get("egress") else [])


def crd(obj: dict) -> None:
    spec = _dict(obj, "spec")
    _set(spec, "conversion", {"strategy": "None"})
    names = _dict(spec, "names")
    if names.get("kind") and not names.get("singular"):
        names["singular"] = names["kind"].lower()
    if names.get("kind") and not names.get("listKind"):
        names["listKind"] = names["kind"] + "List"


def namespace(obj: dict) -> None:
    name = (obj.get("metadata") or {}).get("name")
    if name:
        labels = _dict(obj["metadata"], "labels")
        labels["kubernetes.io/metadata.name"] = name


def job(obj: dict) -> None:
    spec = _dict(obj, "spec")
    _set(spec, "backoffLimit", 6)
    _set(spec, "completions", 1)
    _set(spec, "parallelism", 1)
    _template(spec)


DEFAULTERS: dict[tuple[str, str], Callable[[dict], None]] = {
    ("apps", "Deployment"): deployment,
    ("apps", "DaemonSet"): daemonset,
    ("apps", "StatefulSet"): statefulset,
    ("apps", "ReplicaSet"): replicaset,
    ("batch", "Job"): job,
    ("", "Pod"): pod,
    ("", "Service"): service,
    ("", "Secret"): secret,
    ("", "Namespace"): namespace,
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"): lambda o: _webhooks(o, True),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"): lambda o: _webhooks(o, False),
    ("networking.k8s.io", "NetworkPolicy"): network_policy,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): crd,
}


def apply_defaults(group: str, kind: str, obj: dict) -> None:
    defaulter = DEFAULTERS.get((group, kind))
    if defaulter is not None:
        defaulter(obj)
