# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An IstioOperator (the resource istioctl installs from) as this collection's inputs.

``convert`` is pure: it reads the resource and returns the control plane's inputs (name, namespace,
profile, revision, values), the gateways for istio_gateway, the node agents for istio_cni and
istio_ztunnel, and every field it could not map, each with its path and why. ``require_all_mapped``
turns that list into one error.

istioctl applies a component's ``k8s`` settings as patches on the rendered objects; the charts have
values keys for most of them, and those are what this returns. What has no key (``overlays``, a
pod-wide pull policy, ...) is listed, never dropped silently.
"""
from __future__ import annotations

import copy
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from ansible_collections.servicemesh.istio.plugins.module_utils import _istiovalues as istiovalues
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import ValuesError

API_VERSIONS = ("install.istio.io/v1alpha1", "operator.istio.io/v1alpha1")
KIND = "IstioOperator"
DEFAULT_NAMESPACE = "istio-system"
INGRESS_NAME, EGRESS_NAME = "istio-ingressgateway", "istio-egressgateway"

# istioctl's profiles, each applied over its ``default``: the profile of this collection it comes to, and the
# components it turns on or off (gateways by name). ``minimal`` and ``empty`` are istioctl's ``default`` with
# fewer components.
ISTIOCTL_PROFILES: Dict[str, Dict[str, Any]] = {
    "default": {"profile": "default", "ingress": [INGRESS_NAME]},
    "minimal": {"profile": "default"},
    "empty": {"profile": "default", "base": False, "pilot": False},
    "demo": {"profile": "demo", "ingress": [INGRESS_NAME], "egress": [EGRESS_NAME]},
    "preview": {"profile": "preview", "ingress": [INGRESS_NAME]},
    "stable": {"profile": "stable", "ingress": [INGRESS_NAME]},
    "remote": {"profile": "remote"},
    "ambient": {"profile": "ambient", "cni": True, "ztunnel": True},
    "openshift": {"profile": "openshift", "ingress": [INGRESS_NAME], "cni": True, "cni_namespace": "kube-system"},
    "openshift-ambient": {"profile": "openshift-ambient", "cni": True, "ztunnel": True,
                          "cni_namespace": "kube-system", "ztunnel_namespace": "kube-system"},
}
SPEC_KEYS = ("profile", "hub", "tag", "namespace", "revision", "compatibilityVersion", "meshConfig", "components",
             "values", "unvalidatedValues", "installPackagePath")
COMPONENT_KEYS = ("base", "pilot", "cni", "ztunnel", "istiodRemote", "ingressGateways", "egressGateways")

# A component's ``k8s`` fields that are one chart values key each, by chart; the others have their own mapping
# below (env, hpaSpec, replicaCount, service, ...) or none.
_SAME_KEY = ("resources", "nodeSelector", "tolerations", "affinity", "podAnnotations", "volumes", "volumeMounts")
K8S_KEYS: Dict[str, Dict[str, str]] = {
    "istiod": dict({key: "pilot." + key for key in _SAME_KEY}, serviceAnnotations="pilot.serviceAnnotations"),
    "gateway": dict({key: key for key in _SAME_KEY}, serviceAnnotations="service.annotations",
                    imagePullPolicy="imagePullPolicy", priorityClassName="priorityClassName",
                    podDisruptionBudget="podDisruptionBudget", strategy="strategy",
                    securityContext="securityContext", readinessProbe="readinessProbe"),
    "cni": {"resources": "resources", "tolerations": "tolerations", "affinity": "affinity",
            "podAnnotations": "podAnnotations"},
    "ztunnel": {"resources": "resources", "tolerations": "tolerations", "podAnnotations": "podAnnotations",
                "volumes": "volumes", "volumeMounts": "volumeMounts", "imagePullPolicy": "imagePullPolicy"},
}
# Why a k8s field has no values key in a chart (per chart; the default reason otherwise).
K8S_NO_KEY: Dict[str, Dict[str, str]] = {
    "istiod": {"imagePullPolicy": "the istiod chart has only global.imagePullPolicy, which every proxy takes too",
               "priorityClassName": "the istiod chart has only global.priorityClassName, for every component",
               "securityContext": "the istiod chart sets no pod security context",
               "readinessProbe": "the istiod chart's readiness probe is fixed"},
}
# The gateway Service fields the gateway chart takes as ``service.<field>``.
GATEWAY_SERVICE_KEYS = ("type", "ports", "loadBalancerIP", "loadBalancerSourceRanges", "loadBalancerClass",
                        "externalTrafficPolicy", "internalTrafficPolicy", "ipFamilyPolicy", "ipFamilies",
                        "externalIPs", "clusterIP", "allocateLoadBalancerNodePorts")
ISTIOD_SERVICE_KEYS = ("ipFamilyPolicy", "ipFamilies", "trafficDistribution")
# The legacy gateway charts' values (``values.gateways.istio-ingressgateway``) in the gateway chart's terms.
LEGACY_GATEWAY_VALUES = {
    "autoscaleEnabled": "autoscaling.enabled", "autoscaleMin": "autoscaling.minReplicas",
    "autoscaleMax": "autoscaling.maxReplicas",
    "cpu.targetAverageUtilization": "autoscaling.targetCPUUtilizationPercentage",
    "env": "env", "labels": "labels", "podAnnotations": "podAnnotations", "serviceAnnotations": "service.annotations",
    "type": "service.type", "ports": "service.ports", "loadBalancerIP": "service.loadBalancerIP",
    "loadBalancerSourceRanges": "service.loadBalancerSourceRanges",
    "externalTrafficPolicy": "service.externalTrafficPolicy", "ipFamilyPolicy": "service.ipFamilyPolicy",
    "ipFamilies": "service.ipFamilies", "nodeSelector": "nodeSelector", "tolerations": "tolerations",
    "resources": "resources", "affinity": "affinity",
}
# The HPA's metrics the charts take a target utilisation for, by chart.
HPA_TARGETS = {
    "istiod": {"cpu": "pilot.cpu.targetAverageUtilization", "memory": "pilot.memory.targetAverageUtilization"},
    "gateway": {"cpu": "autoscaling.targetCPUUtilizationPercentage",
                "memory": "autoscaling.targetMemoryUtilizationPercentage"},
}
AUTOSCALING = {
    "istiod": {"enabled": "pilot.autoscaleEnabled", "min": "pilot.autoscaleMin", "max": "pilot.autoscaleMax",
               "behavior": "pilot.autoscaleBehavior", "replicas": "pilot.replicaCount"},
    "gateway": {"enabled": "autoscaling.enabled", "min": "autoscaling.minReplicas", "max": "autoscaling.maxReplicas",
                "behavior": "autoscaling.autoscaleBehavior", "replicas": "replicaCount"},
}


class Unmapped:
    """The fields left out, each with its path and the reason."""

    def __init__(self) -> None:
        self.items: List[Dict[str, str]] = []

    def add(self, path: str, reason: str) -> None:
        self.items.append({"path": path, "reason": reason})


def _mapping(value: Any, path: str) -> Dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValuesError("%s must be a mapping, got %s" % (path, type(value).__name__))
    return dict(value)


def _list(value: Any, path: str) -> List[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValuesError("%s must be a list, got %s" % (path, type(value).__name__))
    return value


def _enabled(spec: Mapping[str, Any], default: bool) -> bool:
    enabled = spec.get("enabled")
    return default if enabled is None else bool(enabled)


def _set_unless_user(values: Dict[str, Any], path: str, value: Any) -> None:
    """Set ``path`` unless the resource's own values set it (the user's values win, as istioctl's do)."""
    if istiovalues.get_path(values, path) is None:
        istiovalues.set_path(values, path, value)


# -- k8s settings --------------------------------------------------------------------------------------

def _env_values(env: List[Any], path: str) -> Tuple[Dict[str, str], List[Dict[str, Any]]]:
    """A container env list as the charts take it: plain values as a map, ``valueFrom`` entries as a list."""
    plain: Dict[str, str] = {}
    from_refs: List[Dict[str, Any]] = []
    for index, item in enumerate(env):
        entry = _mapping(item, "%s[%d]" % (path, index))
        if not entry.get("name"):
            raise ValuesError("%s[%d] has no name" % (path, index))
        if "valueFrom" in entry:
            from_refs.append(copy.deepcopy(entry))
        else:
            plain[entry["name"]] = "" if entry.get("value") is None else str(entry["value"])
    return plain, from_refs


def _hpa_values(chart: str, hpa: Mapping[str, Any], path: str, target: str, unmapped: Unmapped) -> Dict[str, Any]:
    keys = AUTOSCALING[chart]
    values: Dict[str, Any] = {}
    istiovalues.set_path(values, keys["enabled"], True)
    for field, key in (("minReplicas", "min"), ("maxReplicas", "max"), ("behavior", "behavior")):
        if field in hpa:
            istiovalues.set_path(values, keys[key], copy.deepcopy(hpa[field]))
    for index, metric in enumerate(_list(hpa.get("metrics"), path + ".metrics")):
        metric = _mapping(metric, "%s.metrics[%d]" % (path, index))
        resource = _mapping(metric.get("resource"), "%s.metrics[%d].resource" % (path, index))
        utilization = (resource.get("target") or {}).get("averageUtilization", resource.get("targetAverageUtilization"))
        key = HPA_TARGETS[chart].get(resource.get("name", ""))
        if metric.get("type") == "Resource" and key and utilization is not None:
            istiovalues.set_path(values, key, utilization)
        else:
            unmapped.add("%s.metrics[%d]" % (path, index),
                         "the chart scales on a CPU or memory utilisation target only")
    reference = hpa.get("scaleTargetRef")
    if reference and (reference or {}).get("name") != target:
        unmapped.add(path + ".scaleTargetRef", "the chart's autoscaler always scales %s" % target)
    for field in sorted(set(hpa) - {"minReplicas", "maxReplicas", "behavior", "metrics", "scaleTargetRef"}):
        unmapped.add("%s.%s" % (path, field), "the chart's autoscaler has no such setting")
    return values


def _service_values(chart: str, service: Mapping[str, Any], path: str, unmapped: Unmapped) -> Dict[str, Any]:
    values: Dict[str, Any] = {}
    known = GATEWAY_SERVICE_KEYS if chart == "gateway" else ISTIOD_SERVICE_KEYS
    prefix = "service." if chart == "gateway" else "pilot."
    for field, value in service.items():
        if field in known:
            istiovalues.set_path(values, prefix + field, copy.deepcopy(value))
        else:
            unmapped.add("%s.%s" % (path, field), "the %s chart's Service has no values key for it" % chart)
    return values


def _istiod_pdb_values(pdb: Mapping[str, Any], path: str, unmapped: Unmapped) -> Dict[str, Any]:
    values: Dict[str, Any] = {}
    for field in ("minAvailable", "maxUnavailable", "unhealthyPodEvictionPolicy"):
        if field in pdb:
            istiovalues.set_path(values, "pilot.pdb." + field, pdb[field])
    for field in sorted(set(pdb) - {"minAvailable", "maxUnavailable", "unhealthyPodEvictionPolicy"}):
        unmapped.add("%s.%s" % (path, field), "the istiod chart's PodDisruptionBudget selects istiod itself")
    return values


def _istiod_strategy_values(strategy: Mapping[str, Any], path: str, unmapped: Unmapped) -> Dict[str, Any]:
    values: Dict[str, Any] = {}
    if strategy.get("type") not in (None, "RollingUpdate"):
        unmapped.add(path + ".type", "the istiod chart always rolls istiod out with RollingUpdate")
    rolling = _mapping(strategy.get("rollingUpdate"), path + ".rollingUpdate")
    for field, key in (("maxSurge", "pilot.rollingMaxSurge"), ("maxUnavailable", "pilot.rollingMaxUnavailable")):
        if field in rolling:
            istiovalues.set_path(values, key, rolling[field])
    return values


def k8s_values(chart: str, k8s: Mapping[str, Any], path: str, target: str, unmapped: Unmapped,
               user_values: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """A component's ``k8s`` settings as values of ``chart`` (istiod, gateway, cni, ztunnel); the fields
    without a key are added to ``unmapped``. ``target`` names the Deployment an HPA scales."""
    values: Dict[str, Any] = {}
    env_key = "pilot.env" if chart == "istiod" else "env"
    handlers: Dict[str, Callable[[Any, str], Dict[str, Any]]] = {}
    if chart in AUTOSCALING:
        handlers["hpaSpec"] = lambda value, where: _hpa_values(
            chart, _mapping(value, where), where, target, unmapped)
    if chart == "istiod":
        handlers["podDisruptionBudget"] = lambda value, where: _istiod_pdb_values(
            _mapping(value, where), where, unmapped)
        handlers["strategy"] = lambda value, where: _istiod_strategy_values(
            _mapping(value, where), where, unmapped)
    if chart in ("istiod", "gateway"):
        handlers["service"] = lambda value, where: _service_values(
            chart, _mapping(value, where), where, unmapped)
    for field, value in k8s.items():
        where = "%s.%s" % (path, field)
        if field in K8S_KEYS[chart]:
            istiovalues.set_path(values, K8S_KEYS[chart][field], copy.deepcopy(value))
        elif field in handlers:
            values = istiovalues.deep_merge(values, handlers[field](value, where))
        elif field == "env":
            plain, from_refs = _env_values(_list(value, where), where)
            if plain:
                istiovalues.set_path(values, env_key, plain)
            if from_refs and chart in ("istiod", "gateway"):
                istiovalues.set_path(values, env_key + "VarFrom", from_refs)
            elif from_refs:
                unmapped.add(where, "the %s chart takes plain env values only (not valueFrom)" % chart)
        elif field == "overlays":
            for index, overlay in enumerate(_list(value, where)):
                overlay = _mapping(overlay, "%s[%d]" % (where, index))
                unmapped.add("%s[%d]" % (where, index),
                             "overlays patch rendered objects (%s %s); set the chart values they stand for instead"
                             % (overlay.get("kind", "?"), overlay.get("name", "?")))
        elif field != "replicaCount":
            unmapped.add(where, K8S_NO_KEY.get(chart, {}).get(field, "the %s chart has no values key for it" % chart))
    if "replicaCount" in k8s:
        _replica_values(chart, k8s, path, values, user_values or {}, unmapped)
    return values


def _replica_values(chart: str, k8s: Mapping[str, Any], path: str, values: Dict[str, Any],
                    user_values: Mapping[str, Any], unmapped: Unmapped) -> None:
    """A fixed replica count: the charts render one only without their autoscaler."""
    if chart not in AUTOSCALING:
        unmapped.add(path + ".replicaCount", "a DaemonSet runs one pod per node")
        return
    keys = AUTOSCALING[chart]
    if "hpaSpec" in k8s or istiovalues.get_path(user_values, keys["enabled"]) is True:
        unmapped.add(path + ".replicaCount", "with autoscaling on, the autoscaler's bounds decide the replicas")
        return
    istiovalues.set_path(values, keys["enabled"], False)
    istiovalues.set_path(values, keys["replicas"], k8s["replicaCount"])


# -- components ------------------------------------------------------------------------------------------

def _component_image(chart_root: str, spec: Mapping[str, Any], values: Dict[str, Any]) -> None:
    for field in ("hub", "tag"):
        if spec.get(field) not in (None, ""):
            istiovalues.set_path(values, "%s.%s" % (chart_root, field), str(spec[field]))


def _legacy_gateway_values(legacy: Mapping[str, Any], path: str, unmapped: Unmapped) -> Dict[str, Any]:
    values: Dict[str, Any] = {}
    for key, value in _flatten_known(legacy, LEGACY_GATEWAY_VALUES):
        istiovalues.set_path(values, LEGACY_GATEWAY_VALUES[key], copy.deepcopy(value))
    for key in _unknown_paths(legacy, LEGACY_GATEWAY_VALUES):
        if key == "injectionTemplate" and legacy.get(key) == "gateway":
            continue  # the gateway chart's pods always take the gateway injection template
        if key in ("name", "enabled"):
            continue  # the component's name and enablement decide these
        unmapped.add("%s.%s" % (path, key), "the gateway chart has no values key for it")
    return values


def _flatten_known(tree: Mapping[str, Any], known: Mapping[str, str]) -> List[Tuple[str, Any]]:
    return [(key, istiovalues.get_path(tree, key)) for key in known if istiovalues.get_path(tree, key) is not None]


def _unknown_paths(tree: Mapping[str, Any], known: Mapping[str, str], prefix: str = "") -> List[str]:
    """The leaves and branches of ``tree`` that are not under a known key."""
    paths = []
    for key, value in tree.items():
        path = prefix + key
        if path in known:
            continue
        if isinstance(value, Mapping) and any(k.startswith(path + ".") for k in known):
            paths += _unknown_paths(value, known, path + ".")
        else:
            paths.append(path)
    return paths


def _gateway(kind: str, index: int, spec: Mapping[str, Any], namespace: str, revision: Optional[str],
             legacy_values: Mapping[str, Any], unmapped: Unmapped) -> Dict[str, Any]:
    path = "spec.components.%s[%d]" % (kind, index)
    default_name = INGRESS_NAME if kind == "ingressGateways" else EGRESS_NAME
    name = spec.get("name") or default_name
    values = copy.deepcopy(legacy_values)
    if spec.get("label"):
        values = istiovalues.deep_merge(values, {"labels": _mapping(spec["label"], path + ".label")})
    values = istiovalues.deep_merge(values, k8s_values("gateway", _mapping(spec.get("k8s"), path + ".k8s"),
                                                       path + ".k8s", name, unmapped, values))
    for field in ("hub", "tag"):
        if spec.get(field) not in (None, ""):
            unmapped.add("%s.%s" % (path, field), "a gateway's proxy image comes from the revision that injects it")
    for field in sorted(set(spec) - {"name", "namespace", "enabled", "label", "k8s", "hub", "tag"}):
        unmapped.add("%s.%s" % (path, field), "not a gateway component field")
    return {"name": name, "namespace": spec.get("namespace") or namespace,
            "preset": "ingress" if kind == "ingressGateways" else "egress", "revision": revision, "values": values}


def _gateways(components: Mapping[str, Any], profile: Mapping[str, Any], namespace: str, revision: Optional[str],
              legacy: Mapping[str, Any], unmapped: Unmapped) -> List[Dict[str, Any]]:
    gateways = []
    for kind, profile_key, legacy_name in (("ingressGateways", "ingress", INGRESS_NAME),
                                           ("egressGateways", "egress", EGRESS_NAME)):
        path = "spec.components." + kind
        entries = components[kind] if kind in components else [{"name": name} for name in profile.get(profile_key, [])]
        legacy_path = "spec.values.gateways." + legacy_name
        legacy_values = _legacy_gateway_values(_mapping(legacy.get(legacy_name), legacy_path), legacy_path, unmapped)
        enabled_by_values = (legacy.get(legacy_name) or {}).get("enabled") is True
        for index, entry in enumerate(_list(entries, path)):
            entry = _mapping(entry, "%s[%d]" % (path, index))
            if _enabled(entry, True) or enabled_by_values:
                gateways.append(_gateway(kind, index, entry, namespace, revision, legacy_values, unmapped))
    for name in sorted(set(legacy) - {INGRESS_NAME, EGRESS_NAME}):
        unmapped.add("spec.values.gateways." + name,
                     "only istio-ingressgateway and istio-egressgateway have values here")
    return gateways


def _legacy_cni_usage(legacy: Mapping[str, Any], values: Dict[str, Any], unmapped: Unmapped) -> None:
    """The deprecated ``values.istio_cni`` (whether istiod leaves the traffic redirection to CNI) as the
    istiod chart's ``pilot.cni``."""
    for field, value in legacy.items():
        if field in ("enabled", "provider"):
            _set_unless_user(values, "pilot.cni." + field, value)
        else:
            unmapped.add("spec.values.istio_cni." + field, "the istiod chart's pilot.cni takes enabled and provider")


def _agent(name: str, spec: Mapping[str, Any], enabled: bool, namespace: str, values: Mapping[str, Any],
           unmapped: Unmapped) -> Optional[Dict[str, Any]]:
    path = "spec.components." + name
    if not enabled:
        return None
    agent_values: Dict[str, Any] = {name: copy.deepcopy(dict(values))} if values else {}
    _component_image(name, spec, agent_values)
    agent_values = istiovalues.deep_merge(agent_values, k8s_values(
        name, _mapping(spec.get("k8s"), path + ".k8s"), path + ".k8s", name, unmapped))
    for field in sorted(set(spec) - {"enabled", "namespace", "hub", "tag", "k8s"}):
        unmapped.add("%s.%s" % (path, field), "not a component field")
    return {"namespace": spec.get("namespace") or namespace, "values": agent_values}


# -- the resource ----------------------------------------------------------------------------------------

def _check_resource(resource: Any) -> Dict[str, Any]:
    if not isinstance(resource, Mapping):
        raise ValuesError("an IstioOperator must be a mapping, got %s" % type(resource).__name__)
    if resource.get("kind", KIND) != KIND:
        raise ValuesError("expected kind IstioOperator, got %r" % resource.get("kind"))
    if resource.get("apiVersion", API_VERSIONS[0]) not in API_VERSIONS:
        raise ValuesError("expected apiVersion %s, got %r" % (" or ".join(API_VERSIONS), resource.get("apiVersion")))
    return _mapping(resource.get("spec"), "spec")


def _profile(spec: Mapping[str, Any], unmapped: Unmapped) -> Dict[str, Any]:
    name = spec.get("profile") or "default"
    if name not in ISTIOCTL_PROFILES:
        unmapped.add("spec.profile", "%r is not one of istioctl's profiles (%s); the default profile is used"
                     % (name, ", ".join(ISTIOCTL_PROFILES)))
        return ISTIOCTL_PROFILES["default"]
    return ISTIOCTL_PROFILES[name]


def _values(spec: Mapping[str, Any]) -> Dict[str, Any]:
    """``spec.values`` with ``spec.unvalidatedValues`` over it, as istioctl merges them."""
    return istiovalues.deep_merge(_mapping(spec.get("values"), "spec.values"),
                                  _mapping(spec.get("unvalidatedValues"), "spec.unvalidatedValues"))


def _namespace(resource: Mapping[str, Any], spec: Mapping[str, Any], values: Mapping[str, Any],
               pilot: Mapping[str, Any]) -> str:
    return (pilot.get("namespace") or spec.get("namespace") or istiovalues.get_path(values, "global.istioNamespace")
            or _mapping(resource.get("metadata"), "metadata").get("namespace") or DEFAULT_NAMESPACE)


def _revision(spec: Mapping[str, Any], values: Mapping[str, Any]) -> Optional[str]:
    revision = spec.get("revision") or values.get("revision")
    return None if revision in (None, "", "default") else str(revision)


def convert(resource: Any) -> Dict[str, Any]:
    """The collection's inputs for an IstioOperator (see the module docstring)."""
    spec = _check_resource(resource)
    unmapped = Unmapped()
    for field in sorted(set(spec) - set(SPEC_KEYS)):
        unmapped.add("spec." + field, "not an IstioOperator field this collection knows")
    if spec.get("installPackagePath"):
        unmapped.add("spec.installPackagePath", "the charts come from chart_dir or chart_repo")
    profile = _profile(spec, unmapped)
    components = _mapping(spec.get("components"), "spec.components")
    for field in sorted(set(components) - set(COMPONENT_KEYS)):
        unmapped.add("spec.components." + field, "not a component this collection installs")
    user_values = _values(spec)
    pilot = _mapping(components.get("pilot"), "spec.components.pilot")
    namespace = _namespace(resource, spec, user_values, pilot)
    revision = _revision(spec, user_values)

    values = copy.deepcopy(user_values)
    legacy_gateways = _mapping(values.pop("gateways", None), "spec.values.gateways")
    cni_values = _mapping(values.pop("cni", None), "spec.values.cni")
    ztunnel_values = _mapping(values.pop("ztunnel", None), "spec.values.ztunnel")
    values.pop("revision", None)  # the control plane's revision option
    _legacy_cni_usage(_mapping(values.pop("istio_cni", None), "spec.values.istio_cni"), values, unmapped)
    if istiovalues.get_path(values, "global.istioNamespace") == namespace:
        values["global"].pop("istioNamespace")
    elif istiovalues.get_path(values, "global.istioNamespace") is not None:
        unmapped.add("spec.values.global.istioNamespace",
                     "differs from the control plane's namespace %r, which sets it" % namespace)
        values["global"].pop("istioNamespace")
    if values.get("global") == {}:
        values.pop("global")
    if "defaultRevision" in values:
        unmapped.add("spec.values.defaultRevision", "point the revision tag 'default' at the revision instead "
                     "(the tags option)")
        values.pop("defaultRevision")

    for field, key in (("hub", "global.hub"), ("tag", "global.tag"), ("compatibilityVersion", "compatibilityVersion")):
        if spec.get(field) not in (None, ""):
            _set_unless_user(values, key, str(spec[field]))
    if spec.get("meshConfig") is not None:
        # istioctl merges spec.meshConfig over values.meshConfig
        values["meshConfig"] = istiovalues.deep_merge(values.get("meshConfig") or {},
                                                      _mapping(spec["meshConfig"], "spec.meshConfig"))

    control_plane = _enabled(pilot, profile.get("pilot", True))
    if pilot:
        _component_image("pilot", pilot, values)
        values = istiovalues.deep_merge(values, k8s_values(
            "istiod", _mapping(pilot.get("k8s"), "spec.components.pilot.k8s"), "spec.components.pilot.k8s",
            "istiod" if revision is None else "istiod-" + revision, unmapped, user_values))
        for field in sorted(set(pilot) - {"enabled", "namespace", "hub", "tag", "k8s"}):
            unmapped.add("spec.components.pilot." + field, "not a component field")

    base = _mapping(components.get("base"), "spec.components.base")
    if base.get("k8s"):
        unmapped.add("spec.components.base.k8s", "the base chart's objects (CRDs, validator) take no k8s settings")
    if components.get("istiodRemote"):
        unmapped.add("spec.components.istiodRemote",
                     "use the remote profile (profile: remote) with values.istiodRemote")

    cni_spec = _mapping(components.get("cni"), "spec.components.cni")
    cni = _agent("cni", cni_spec, _enabled(cni_spec, profile.get("cni", False)),
                 profile.get("cni_namespace", namespace), cni_values, unmapped)
    if cni is not None:
        _set_unless_user(values, "pilot.cni.enabled", True)  # istiod's injection leaves the redirection to CNI
    ztunnel_spec = _mapping(components.get("ztunnel"), "spec.components.ztunnel")
    ztunnel = _agent("ztunnel", ztunnel_spec, _enabled(ztunnel_spec, profile.get("ztunnel", False)),
                     profile.get("ztunnel_namespace", namespace), ztunnel_values, unmapped)
    if cni is None and cni_values:
        unmapped.add("spec.values.cni", "CNI is not enabled (spec.components.cni.enabled)")
    if ztunnel is None and ztunnel_values:
        unmapped.add("spec.values.ztunnel", "ztunnel is not enabled (spec.components.ztunnel.enabled)")

    return {
        "name": revision or "default",
        "namespace": namespace,
        "profile": profile["profile"],
        "revision": revision,
        "values": values,
        "control_plane": control_plane,
        "install_crds": _enabled(base, profile.get("base", True)),
        "gateways": _gateways(components, profile, namespace, revision, legacy_gateways, unmapped),
        "cni": cni,
        "ztunnel": ztunnel,
        "unmapped": unmapped.items,
    }


def unmapped_message(unmapped: List[Mapping[str, str]]) -> str:
    return "%d field(s) of the IstioOperator have no equivalent in this collection: %s" % (
        len(unmapped), "; ".join("%s (%s)" % (item["path"], item["reason"]) for item in unmapped))


def require_all_mapped(converted: Mapping[str, Any]) -> None:
    """One error listing every field ``convert`` could not map, if there is any."""
    if converted["unmapped"]:
        raise ValuesError(unmapped_message(converted["unmapped"]))
