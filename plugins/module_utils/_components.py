# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The components istio_manifest renders, each through the function whose objects its cluster module applies.

- ``base``: the CRDs of the CRD unit and the base-chart objects of the revision unit (the default
  validator and the reader account, for the revision ``default``);
- ``istiod``: the revision unit's istiod chart;
- ``revision_tag``: the tag unit (for the tag ``default``, with the default validator to its revision);
- ``cni``, ``ztunnel``: the node agents' units;
- ``gateway``: the gateway unit, with istio_gateway's presets, network and exposure objects.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from ansible_collections.servicemesh.istio.plugins.module_utils import _istiovalues as istiovalues
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import ValuesError
from ansible_collections.servicemesh.istio.plugins.module_utils._manifest import (
    DEFAULT_CNI_NAMESPACE, DEFAULT_ZTUNNEL_NAMESPACE, ManifestRenderer, Rendered, RevisionPlan, istio_crds,
    revision_base, revision_base_render, tag_objects)
from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster import gateway
from ansible_collections.servicemesh.istio.plugins.module_utils._revision import DEFAULT_REVISION

# Each component's keys besides ``component``; the gateway's are istio_gateway's options.
COMPONENT_KEYS: Dict[str, frozenset] = {
    "base": frozenset({"include_crds"}),
    "istiod": frozenset(),
    "cni": frozenset({"namespace", "profile", "values"}),
    "ztunnel": frozenset({"namespace", "values"}),
    "gateway": frozenset({"name", "namespace", "values", "preset", "network", "expose_services", "expose_istiod",
                          "dual_stack"}),
    "revision_tag": frozenset({"tag"}),
}
COMPONENTS = tuple(COMPONENT_KEYS)
_BOOL, _STR, _MAP = (bool, "a boolean"), (str, "a string"), (dict, "a mapping")
KEY_TYPES = {"include_crds": _BOOL, "expose_services": _BOOL, "dual_stack": _BOOL, "expose_istiod": _MAP,
             "tag": _STR, "name": _STR, "namespace": _STR, "profile": _STR, "preset": _STR, "network": _STR}


def _check_key_types(entry: Dict[str, Any]) -> None:
    for key, (expected, described) in KEY_TYPES.items():
        if entry.get(key) is not None and not isinstance(entry[key], expected):
            raise ValuesError("components[%s].%s must be %s, got %r"
                              % (entry["component"], key, described, entry[key]))
    unknown = set(entry.get("expose_istiod") or {}) - {"revision", "namespace"}
    if unknown:
        raise ValuesError("components[gateway].expose_istiod has unknown keys %s; it takes revision, namespace"
                          % ", ".join(sorted(unknown)))


def parse_components(items: Optional[List[Any]]) -> List[Dict[str, Any]]:
    """Normalise the ``components`` option: names, or mappings with a ``component`` key."""
    parsed = []
    for item in items or ["base", "istiod"]:
        entry = {"component": item} if isinstance(item, str) else dict(item or {})
        component = entry.get("component")
        if component not in COMPONENT_KEYS:
            raise ValuesError("component %r is not one of %s" % (component, ", ".join(COMPONENTS)))
        unknown = set(entry) - COMPONENT_KEYS[component] - {"component"}
        if unknown:
            raise ValuesError("components entry %r has unknown keys %s; %s takes %s" % (
                item, ", ".join(sorted(unknown)), component,
                ", ".join(sorted(COMPONENT_KEYS[component])) or "no other key"))
        _check_key_types(entry)
        istiovalues.check_value_types(entry.get("values"), "components[%s].values" % component)
        parsed.append(entry)
    return parsed


def _base(renderer: ManifestRenderer, plan: RevisionPlan, include_crds: bool) -> Rendered:
    base = revision_base_render(renderer, plan, include_crds)  # one render for both parts
    rendered = revision_base(renderer, plan, base=base)
    if include_crds:
        rendered.objects = istio_crds(renderer, plan, base).objects + rendered.objects
    return rendered


def _gateway(renderer: ManifestRenderer, plan: RevisionPlan, entry: Dict[str, Any]) -> Rendered:
    # a dual-stack control plane's gateways are dual-stack unless the entry says otherwise
    dual_stack = entry.get("dual_stack")
    request = gateway.GatewayRequest.from_params(dict(
        entry, namespace=entry.get("namespace") or plan.namespace, revision=plan.name,
        dual_stack=istiovalues.is_dual_stack(plan.values) if dual_stack is None else dual_stack))
    rendered, exposed = gateway.render_gateway(renderer, plan.version, request)
    rendered.objects = rendered.objects + exposed
    return rendered


def render_component(renderer: ManifestRenderer, plan: RevisionPlan, entry: Dict[str, Any],
                     platform: str = "") -> Rendered:
    """One component of a control plane: the objects its cluster module applies on a first install."""
    component = entry["component"]
    if component == "istiod":
        return renderer.istiod(plan)
    if component == "base":
        return _base(renderer, plan, entry.get("include_crds", True))
    if component == "revision_tag":
        return tag_objects(renderer, plan, entry.get("tag") or DEFAULT_REVISION)
    if component == "cni":
        return renderer.cni(plan.version, entry.get("namespace") or DEFAULT_CNI_NAMESPACE,
                            entry.get("profile", plan.profile), entry.get("values"), platform)
    if component == "ztunnel":
        return renderer.ztunnel(plan.version, entry.get("namespace") or DEFAULT_ZTUNNEL_NAMESPACE,
                                entry.get("values"), platform, revision_values=plan.values)
    return _gateway(renderer, plan, entry)
