# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helm values for the Istio charts: profiles, layering, forced values and type checks.

Layering follows the reference operator: the ``default`` profile, then the chosen
profile, then the user's values (user wins), then ``global.platform`` if it is
not set, then the forced values. The profile names users pick are the
operator's; most of them only select a chart-native profile (``values.profile``),
which the charts' own profile files then expand at render time.
"""
from __future__ import annotations

import copy
import hashlib
import json
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from ansible_collections.servicemesh.istio.plugins.module_utils._errors import ValuesError

# The operator's profiles, expressed as the values each one contributes.
PROFILES: Dict[str, Dict[str, Any]] = {
    "default": {
        "defaultRevision": "",
        "global": {"istioNamespace": "istio-system", "configValidation": True},
        "ztunnel": {"resourceName": "ztunnel"},
    },
    "ambient": {"profile": "ambient"},
    "demo": {"profile": "demo"},
    "empty": {},
    "openshift": {"global": {"platform": "openshift"}},
    "openshift-ambient": {"profile": "ambient", "global": {"platform": "openshift"}},
    "preview": {"profile": "preview"},
    "remote": {"profile": "remote"},
    "stable": {"profile": "stable"},
}
# Profiles the charts themselves ship as files/profile-<name>.yaml.
CHART_PROFILES = ("ambient", "demo", "preview", "remote", "stable")
PLATFORMS = ("gke", "k3d", "k3s", "microk8s", "minikube", "openshift")
NO_PLATFORM = ("", "kubernetes")
RESOURCE_SCOPES = ("undefined", "all", "cluster", "namespace")

# Expected types of the values our logic or the charts depend on. Keys not listed
# pass through unchecked (the charts accept many more).
_MAP, _LIST, _STR, _BOOL, _INT = "a mapping", "a list", "a string", "a boolean", "an integer"
VALUE_TYPES: Dict[str, str] = {
    "global": _MAP, "global.istioNamespace": _STR, "global.hub": _STR, "global.variant": _STR,
    "global.platform": _STR, "global.meshID": _STR, "global.network": _STR,
    "global.multiCluster": _MAP, "global.multiCluster.clusterName": _STR, "global.multiCluster.enabled": _BOOL,
    "global.remotePilotAddress": _STR, "global.externalIstiod": _BOOL, "global.configCluster": _BOOL,
    "global.configValidation": _BOOL, "global.operatorManageWebhooks": _BOOL, "global.proxy": _MAP,
    "global.proxy_init": _MAP, "global.resourceScope": _STR, "global.meshNetworks": _MAP,
    "global.imagePullSecrets": _LIST, "global.defaultNodeSelector": _MAP, "global.defaultTolerations": _LIST,
    "pilot": _MAP, "pilot.autoscaleEnabled": _BOOL, "pilot.autoscaleMin": _INT, "pilot.autoscaleMax": _INT,
    "pilot.replicaCount": _INT, "pilot.env": _MAP, "pilot.cni": _MAP, "pilot.cni.enabled": _BOOL,
    "pilot.trustedZtunnelNamespace": _STR, "pilot.resources": _MAP, "pilot.nodeSelector": _MAP,
    "pilot.tolerations": _LIST, "pilot.podAnnotations": _MAP, "pilot.extraContainerArgs": _LIST,
    "pilot.hub": _STR, "pilot.image": _STR, "pilot.variant": _STR, "pilot.ipFamilyPolicy": _STR,
    "pilot.ipFamilies": _LIST, "global.ipFamilyPolicy": _STR, "global.ipFamilies": _LIST,
    "meshConfig": _MAP, "meshConfig.discoverySelectors": _LIST, "meshConfig.defaultConfig": _MAP,
    "meshConfig.trustDomain": _STR, "meshConfig.accessLogFile": _STR, "meshConfig.extensionProviders": _LIST,
    "sidecarInjectorWebhook": _MAP, "sidecarInjectorWebhook.enableNamespacesByDefault": _BOOL,
    "revision": _STR, "revisionTags": _LIST, "profile": _STR, "compatibilityVersion": _STR,
    "defaultRevision": _STR, "istiodRemote": _MAP, "istiodRemote.enabled": _BOOL,
    "istiodRemote.injectionPath": _STR, "istiodRemote.injectionURL": _STR, "telemetry": _MAP,
    "base": _MAP, "experimental": _MAP, "gatewayClasses": _MAP,
    "cni": _MAP, "cni.ambient": _MAP, "cni.ambient.enabled": _BOOL,
    "cni.ambient.reconcileIptablesOnStartup": _BOOL, "cni.cniBinDir": _STR, "cni.cniConfDir": _STR,
    "cni.chained": _BOOL, "cni.provider": _STR, "cni.excludeNamespaces": _LIST,
    "ztunnel": _MAP, "ztunnel.env": _MAP, "ztunnel.resourceName": _STR, "ztunnel.updateStrategy": _MAP,
    "ztunnel.terminationGracePeriodSeconds": _INT, "ztunnel.logLevel": _STR,
}
# Image references a version catalog entry may pin (an air-gapped mirror, say): ``hub`` and ``tag`` for
# every image, or one full reference per image. For each chart: the values key a reference fills, the
# catalog image it takes, and the user's keys that choose that image themselves (and so win).
CATALOG_IMAGES = ("hub", "tag", "pilot", "proxyv2", "install-cni", "ztunnel")
_OWN_IMAGE = ("image", "hub", "tag")
CHART_IMAGES: Dict[str, Tuple[Tuple[str, str, Tuple[str, ...]], ...]] = {
    "istiod": (("pilot.image", "pilot", tuple("pilot." + k for k in _OWN_IMAGE) + _OWN_IMAGE),
               ("global.proxy.image", "proxyv2", ("global.proxy.image",)),
               ("global.proxy_init.image", "proxyv2", ("global.proxy_init.image",))),
    "cni": (("cni.image", "install-cni", tuple("cni." + k for k in _OWN_IMAGE) + _OWN_IMAGE),),
    "ztunnel": (("image", "ztunnel", _OWN_IMAGE + tuple("ztunnel." + k for k in _OWN_IMAGE)),),
}
# Maps whose every value must be a string (Kubernetes env values, labels).
STRING_MAPS = ("pilot.env", "ztunnel.env", "cni.env")
_ABSENT = object()  # get_path default that no values tree can hold


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> Dict[str, Any]:
    """Maps merge recursively; lists, scalars and type changes take the override."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def get_path(values: Mapping[str, Any], path: str, default: Any = None) -> Any:
    node: Any = values
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def set_path(values: Dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = values
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[parts[-1]] = value


def _type_ok(value: Any, expected: str) -> bool:
    if expected == _MAP:
        return isinstance(value, Mapping)
    if expected == _LIST:
        return isinstance(value, list)
    if expected == _STR:
        return isinstance(value, str)
    if expected == _BOOL:
        return isinstance(value, bool)
    if expected == _QUANTITY:
        return isinstance(value, (str, int, float)) and not isinstance(value, bool)
    return isinstance(value, int) and not isinstance(value, bool)


def _describe(value: Any) -> str:
    return "%s %r" % (type(value).__name__, value) if not isinstance(value, (dict, list)) else type(value).__name__


def _walk(values: Mapping[str, Any], prefix: str = "") -> Iterable[Tuple[str, Any]]:
    for key, value in values.items():
        if not isinstance(key, str):
            raise ValuesError("values key %r under %r must be a string" % (key, prefix or "values"))
        path = prefix + key
        yield path, value
        if isinstance(value, Mapping):
            yield from _walk(value, path + ".")


_QUANTITY = "a quantity (such as 100m, 512Mi or 2)"


def _expected_type(path: str) -> Optional[str]:
    """Known keys, and container ``resources`` wherever a chart takes them (``pilot.resources``,
    ``global.proxy.resources``, ztunnel's top-level ``resources``, ...)."""
    if path in VALUE_TYPES:
        return VALUE_TYPES[path]
    parts = path.split(".")
    if parts[-1] == "resources":
        return _MAP
    if len(parts) >= 2 and parts[-2] == "resources" and parts[-1] in ("requests", "limits"):
        return _MAP
    if len(parts) >= 3 and parts[-3] == "resources" and parts[-2] in ("requests", "limits"):
        return _QUANTITY
    return None


def check_value_types(values: Any, what: str = "values") -> None:
    """Fail on the first known key whose value has the wrong type, naming it."""
    if values is None:
        return
    if not isinstance(values, Mapping):
        raise ValuesError("%s must be a mapping, got %s" % (what, _describe(values)))
    for path, value in _walk(values):
        expected = _expected_type(path)
        if expected and value is not None and not _type_ok(value, expected):
            hint = " (quote it in YAML)" if expected == _STR and isinstance(value, (int, float)) else ""
            raise ValuesError("%s.%s must be %s, got %s%s" % (what, path, expected, _describe(value), hint))
        if path in STRING_MAPS and isinstance(value, Mapping):
            for name, item in value.items():
                if not isinstance(item, str):
                    raise ValuesError("%s.%s.%s must be a string, got %s (quote it in YAML)"
                                      % (what, path, name, _describe(item)))
    _check_enums(values, what)


def _check_enums(values: Mapping[str, Any], what: str) -> None:
    chart_profile = values.get("profile")
    if chart_profile and chart_profile not in CHART_PROFILES:
        raise ValuesError(
            "%s.profile %r is not a chart profile (%s); operator profiles such as 'default', 'empty' or "
            "'openshift' go in the profile option" % (what, chart_profile, ", ".join(CHART_PROFILES)))
    platform = get_path(values, "global.platform")
    if platform not in (None,) + NO_PLATFORM and platform not in PLATFORMS:
        raise ValuesError("%s.global.platform %r is not a known platform; use one of %s"
                          % (what, platform, ", ".join(PLATFORMS)))
    scope = get_path(values, "global.resourceScope")
    if scope is not None and scope not in RESOURCE_SCOPES:
        raise ValuesError("%s.global.resourceScope %r must be one of %s" % (what, scope, ", ".join(RESOURCE_SCOPES)))


def check_profile(profile: Optional[str]) -> str:
    """The profile name to use; '' means default. Unknown names are errors."""
    profile = profile or "default"
    if profile not in PROFILES:
        raise ValuesError("profile %r is not known; use one of %s" % (profile, ", ".join(sorted(PROFILES))))
    return profile


def check_platform(platform: Optional[str]) -> str:
    platform = platform or ""
    if platform not in NO_PLATFORM and platform not in PLATFORMS:
        raise ValuesError("platform %r is not known; use one of kubernetes, %s" % (platform, ", ".join(PLATFORMS)))
    return "" if platform in NO_PLATFORM else platform


def profile_layers(profile: Optional[str], platform: str = "") -> List[str]:
    """``default`` first, then the chosen profile (``openshift`` when none is chosen there)."""
    chosen = check_profile(profile)
    if chosen == "default" and platform == "openshift":
        chosen = "openshift"
    return ["default"] if chosen == "default" else ["default", chosen]


def _is_set(values: Optional[Mapping[str, Any]], path: str) -> bool:
    return get_path(values or {}, path, _ABSENT) is not _ABSENT


def apply_catalog_images(values: Dict[str, Any], user_values: Optional[Mapping[str, Any]],
                         images: Optional[Mapping[str, str]], chart: str) -> None:
    """The catalog entry's image references, where the user's own values choose no image: as in the
    reference operator, a user's ``global.hub`` or ``global.tag`` chooses every image, so none is set."""
    if not images or _is_set(user_values, "global.hub") or _is_set(user_values, "global.tag"):
        return
    for key in ("hub", "tag"):
        if images.get(key) and not _is_set(values, "global." + key):
            set_path(values, "global." + key, images[key])
    for path, image, own_keys in CHART_IMAGES[chart]:
        if images.get(image) and not any(_is_set(user_values, key) for key in own_keys):
            set_path(values, path, images[image])


def layer_values(profile: Optional[str], user_values: Optional[Mapping[str, Any]], platform: str = "",
                 base: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """Profiles, then ``base`` (values taken from another unit), then user values, then the platform."""
    check_value_types(user_values)
    platform = check_platform(platform)
    merged: Dict[str, Any] = {}
    for name in profile_layers(profile, platform):
        merged = deep_merge(merged, PROFILES[name])
    merged = deep_merge(merged, base or {})
    merged = deep_merge(merged, user_values or {})
    # absent, not falsy: a user's "" chooses no platform and must not become the platform option
    if platform and get_path(merged, "global.platform", _ABSENT) is _ABSENT:
        set_path(merged, "global.platform", platform)
    return merged


# Dual-stack, as the reference operator's guide sets it by hand: istiod and the proxies told to use both IP
# families, and the Services asked for an address of each (refused by a cluster that is not dual-stack).
DUAL_STACK_ENV = "ISTIO_DUAL_STACK"
DUAL_STACK_SERVICE = {"ipFamilyPolicy": "RequireDualStack", "ipFamilies": ["IPv4", "IPv6"]}


def control_plane_dual_stack_values() -> Dict[str, Any]:
    """istiod chart values for dual-stack: istiod's env, the proxies' metadata (through the mesh config),
    istiod's Service (``pilot.*``, which the revision tags' Services share) and a remote profile's Service
    (``global.*``)."""
    return {"pilot": dict(copy.deepcopy(DUAL_STACK_SERVICE), env={DUAL_STACK_ENV: "true"}),
            "meshConfig": {"defaultConfig": {"proxyMetadata": {DUAL_STACK_ENV: "true"}}},
            "global": copy.deepcopy(DUAL_STACK_SERVICE)}


def is_dual_stack(values: Mapping[str, Any]) -> bool:
    """Whether a control plane's merged values run istiod dual-stack (the option, or the user's own env)."""
    return str(get_path(values, "pilot.env." + DUAL_STACK_ENV, "")).lower() == "true"


def gateway_dual_stack_values() -> Dict[str, Any]:
    """Gateway chart values for dual-stack: its Service, and its proxy's env (whatever the injecting
    revision's mesh config says)."""
    return {"service": copy.deepcopy(DUAL_STACK_SERVICE), "env": {DUAL_STACK_ENV: "true"}}


def control_plane_values(profile: Optional[str], user_values: Optional[Mapping[str, Any]], namespace: str,
                         helm_revision: str, platform: str = "", ztunnel_namespace: Optional[str] = None,
                         images: Optional[Mapping[str, str]] = None, dual_stack: bool = False) -> Dict[str, Any]:
    """The fully merged values of one control-plane revision (istiod chart); with ``dual_stack``, its
    values come under the user's (who may set the same keys otherwise)."""
    user_values = user_values or {}
    _check_forced_values(user_values, namespace, helm_revision)
    values = layer_values(profile, user_values, platform,
                          base=control_plane_dual_stack_values() if dual_stack else None)
    apply_catalog_images(values, user_values, images, "istiod")
    values.pop("ztunnel", None)  # the default profile's ztunnel settings are for the ztunnel chart
    values.pop("defaultRevision", None)
    values["revision"] = helm_revision
    set_path(values, "global.istioNamespace", namespace)
    if ztunnel_namespace and is_ambient(values):
        trust_ztunnel_namespace(values, ztunnel_namespace)
    return values


def is_ambient(values: Mapping[str, Any]) -> bool:
    return values.get("profile") == "ambient" or get_path(values, "pilot.env.PILOT_ENABLE_AMBIENT") == "true"


def trust_ztunnel_namespace(values: Dict[str, Any], ztunnel_namespace: str) -> None:
    """istiod only accepts ztunnel's certificate requests from the namespace it trusts; a different
    namespace given by the user would break ambient silently, so it is an error."""
    for path in ("pilot.trustedZtunnelNamespace", "trustedZtunnelNamespace"):
        given = get_path(values, path)
        if given not in (None, "", ztunnel_namespace):
            raise ValuesError("values.%s is %r but ztunnel runs in namespace %r; leave it out, it is set from "
                              "the ztunnel namespace" % (path, given, ztunnel_namespace))
    set_path(values, "pilot.trustedZtunnelNamespace", ztunnel_namespace)


def _check_forced_values(user_values: Mapping[str, Any], namespace: str, helm_revision: str) -> None:
    user_namespace = get_path(user_values, "global.istioNamespace")
    if user_namespace not in (None, namespace):
        raise ValuesError("values.global.istioNamespace (%r) must match the namespace (%r); leave it out, it is set "
                          "from the namespace" % (user_namespace, namespace))
    user_revision = user_values.get("revision")
    if user_revision not in (None, helm_revision):
        raise ValuesError("values.revision (%r) is computed from the name and update strategy (%r); leave it out"
                          % (user_revision, helm_revision))


def cni_values(profile: Optional[str], user_values: Optional[Mapping[str, Any]], platform: str = "",
               images: Optional[Mapping[str, str]] = None) -> Dict[str, Any]:
    """CNI values: profiles, user values and platform; no forced values (as the reference)."""
    values = layer_values(profile, user_values, platform)
    values.pop("ztunnel", None)
    apply_catalog_images(values, user_values, images, "cni")
    return values


def ztunnel_values(user_values: Optional[Mapping[str, Any]], platform: str = "",
                   revision_values: Optional[Mapping[str, Any]] = None,
                   images: Optional[Mapping[str, str]] = None) -> Dict[str, Any]:
    """ztunnel values: always the ambient profile; a followed revision's global, meshConfig and
    revision come first, user values override; ``ztunnel.*`` is flattened onto the top level
    because the ztunnel chart has no descoping template."""
    base = {key: revision_values[key] for key in ("global", "meshConfig", "revision")
            if revision_values and key in revision_values}
    values = layer_values("ambient", user_values, platform, base=base)
    nested = values.pop("ztunnel", None) or {}
    values = deep_merge(values, nested)
    apply_catalog_images(values, user_values, images, "ztunnel")
    return values


def values_digest(values: Mapping[str, Any]) -> str:
    """A stable digest of a values tree, recorded to tell whether a unit's input changed."""
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
