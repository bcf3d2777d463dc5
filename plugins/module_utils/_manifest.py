# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""From a control-plane description to rendered objects, component by component.

``plan_revision`` is pure: it resolves the version, names the revision and merges
the values. ``ManifestRenderer`` turns plans into objects with the official
charts (through a ChartSource and a Helm engine).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from ansible_collections.servicemesh.istio.plugins.module_utils import _istiovalues as istiovalues
from ansible_collections.servicemesh.istio.plugins.module_utils._charts import ChartSource
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError, ValuesError
from ansible_collections.servicemesh.istio.plugins.module_utils._helm import HelmPythonEngine, parse_manifests
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import IstioVersion, VersionCatalog
from ansible_collections.servicemesh.istio.plugins.module_utils._revision import (
    DEFAULT_REVISION, IN_PLACE, helm_revision_value, revision_name, validate_dns_label,
    validate_revision_name, validate_tag_name)
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._duplicates import collapse_duplicates

DEFAULT_NAMESPACE = "istio-system"
DEFAULT_CNI_NAMESPACE = "istio-cni"
DEFAULT_ZTUNNEL_NAMESPACE = "ztunnel"
DEFAULT_GRACE_PERIOD = 30


@dataclass
class ControlPlane:
    """The fields of an Istio resource, as the modules take them."""

    name: str = "default"
    version: Optional[str] = None
    namespace: str = DEFAULT_NAMESPACE
    strategy: str = IN_PLACE
    grace_period_seconds: int = DEFAULT_GRACE_PERIOD
    profile: Optional[str] = None
    values: Dict[str, Any] = field(default_factory=dict)
    platform: str = ""
    revision: Optional[str] = None  # an explicit revision name overrides the computed one
    ztunnel_namespace: Optional[str] = None  # ambient: istiod trusts ztunnel from this namespace

    @classmethod
    def from_params(cls, params: Dict[str, Any]) -> "ControlPlane":
        strategy = params.get("update_strategy") or {}
        grace = strategy.get("inactive_revision_deletion_grace_period_seconds")
        return cls(name=params.get("name") or "default", version=params.get("version"),
                   namespace=params.get("namespace") or DEFAULT_NAMESPACE,
                   strategy=strategy.get("type") or IN_PLACE,
                   grace_period_seconds=DEFAULT_GRACE_PERIOD if grace is None else max(int(grace), 0),
                   profile=params.get("profile"), values=params.get("values") or {},
                   platform=params.get("platform") or "", revision=params.get("revision"),
                   ztunnel_namespace=params.get("ztunnel_namespace"))


@dataclass
class RevisionPlan:
    """One control-plane revision, ready to render."""

    name: str
    helm_revision: str
    version: IstioVersion
    requested_version: str
    namespace: str
    profile: str
    values: Dict[str, Any]

    @property
    def is_remote(self) -> bool:
        return self.values.get("profile") == "remote"

    @property
    def release_name(self) -> str:
        return "%s-istiod" % self.name


def plan_revision(control_plane: ControlPlane, catalog: VersionCatalog) -> RevisionPlan:
    """Resolve, name and merge, failing before anything touches a cluster."""
    validate_dns_label(control_plane.namespace, "namespace")
    version = catalog.resolve(control_plane.version)
    requested = control_plane.version or version.name
    if control_plane.revision:
        name = validate_revision_name(control_plane.revision)
    else:
        name = revision_name(control_plane.name, requested, control_plane.strategy)
    helm_revision = helm_revision_value(name)
    values = istiovalues.control_plane_values(control_plane.profile, control_plane.values,
                                              control_plane.namespace, helm_revision, control_plane.platform,
                                              control_plane.ztunnel_namespace)
    return RevisionPlan(name=name, helm_revision=helm_revision, version=version, requested_version=requested,
                        namespace=control_plane.namespace, profile=istiovalues.check_profile(control_plane.profile),
                        values=values)


@dataclass
class Rendered:
    """The output of one chart render."""

    component: str
    chart: str
    version: str
    origin: str
    release_name: str
    namespace: str
    values: Dict[str, Any]
    objects: List[Dict[str, Any]]

    @property
    def values_digest(self) -> str:
        return istiovalues.values_digest(self.values)


def _named(obj: Dict[str, Any], kind: str, *names: str) -> bool:
    return obj.get("kind") == kind and obj.get("metadata", {}).get("name") in names


def tag_webhook_names(tag: str, namespace: str) -> List[str]:
    """The revision-tag webhook configuration gets a namespace suffix outside istio-system."""
    base = "istio-revision-tag-%s" % tag
    return [base] if namespace == DEFAULT_NAMESPACE else [base, "%s-%s" % (base, namespace)]


class ManifestRenderer:
    """Renders Istio components from the official charts."""

    def __init__(self, source: ChartSource, engine=None):
        self.source = source
        self.engine = engine or HelmPythonEngine()

    def _render(self, component: str, chart: str, version: str, values: Dict[str, Any], release_name: str,
                namespace: str, is_upgrade: bool) -> Rendered:
        location = self.source.locate(chart, version)
        text = self.engine.render(location, values, release_name, namespace, is_upgrade=is_upgrade)
        # here, so that every module renders the same objects and bad ones fail before any write
        objects = [collapse_duplicates(obj) for obj in parse_manifests(text)]
        return Rendered(component, chart, location.version, location.origin, release_name, namespace,
                        values, objects)

    def istiod(self, plan: RevisionPlan, is_upgrade: bool = False) -> Rendered:
        return self._render("istiod", "istiod", plan.version.chart_version, plan.values, plan.release_name,
                            plan.namespace, is_upgrade)

    def base(self, plan: RevisionPlan, include_crds: bool = True, default_revision: Optional[str] = None,
             is_upgrade: bool = False) -> Rendered:
        """CRDs and/or the cluster-wide default validator pointing at ``default_revision``.

        The validator's target is the chart's ``defaultRevision``: ``default`` means the
        Service ``istiod``, any other revision ``istiod-<revision>``."""
        values = copy.deepcopy(plan.values)
        values["defaultRevision"] = default_revision or ""
        istiovalues.set_path(values, "base.enableCRDTemplates", bool(include_crds))
        rendered = self._render("base", "base", plan.version.chart_version, values, "default-base",
                                plan.namespace, is_upgrade)
        if not include_crds:
            rendered.objects = [o for o in rendered.objects if o.get("kind") != "CustomResourceDefinition"]
        if not default_revision:
            rendered.objects = [o for o in rendered.objects if not _is_default_validation(o)]
        return rendered

    def revision_tag(self, plan: RevisionPlan, tag: str, is_upgrade: bool = False) -> Rendered:
        """The tag's injector webhook and Service, taken from the istiod chart's tag templates."""
        validate_tag_name(tag)
        if plan.is_remote:
            raise ValuesError("revision tag %r cannot point at the remote revision %r" % (tag, plan.name))
        values = copy.deepcopy(plan.values)
        values["revisionTags"] = [tag]
        rendered = self._render("revision_tag", "istiod", plan.version.chart_version, values,
                                "%s-revisiontags" % tag, plan.namespace, is_upgrade)
        webhooks = tag_webhook_names(tag, plan.namespace)
        rendered.objects = [o for o in rendered.objects
                            if _named(o, "MutatingWebhookConfiguration", *webhooks)
                            or _named(o, "Service", "istiod-revision-tag-%s" % tag)]
        if not rendered.objects:
            raise IstioError("chart istiod %s rendered no objects for revision tag %r" % (rendered.version, tag))
        return rendered

    def cni(self, version: IstioVersion, namespace: str = DEFAULT_CNI_NAMESPACE, profile: Optional[str] = None,
            values: Optional[Dict[str, Any]] = None, platform: str = "", is_upgrade: bool = False) -> Rendered:
        validate_dns_label(namespace, "namespace")
        merged = istiovalues.cni_values(profile, values, platform)
        return self._render("cni", "cni", version.chart_version, merged, "istio-cni", namespace, is_upgrade)

    def ztunnel(self, version: IstioVersion, namespace: str = DEFAULT_ZTUNNEL_NAMESPACE,
                values: Optional[Dict[str, Any]] = None, platform: str = "",
                revision_values: Optional[Dict[str, Any]] = None, is_upgrade: bool = False) -> Rendered:
        validate_dns_label(namespace, "namespace")
        merged = istiovalues.ztunnel_values(values, platform, revision_values)
        return self._render("ztunnel", "ztunnel", version.chart_version, merged, "ztunnel", namespace, is_upgrade)

    def gateway(self, version: IstioVersion, name: str, namespace: str, values: Optional[Dict[str, Any]] = None,
                revision: str = "", is_upgrade: bool = False) -> Rendered:
        validate_dns_label(name, "gateway name")
        validate_dns_label(namespace, "namespace")
        istiovalues.check_value_types(values)
        merged = istiovalues.deep_merge({"revision": revision} if revision else {}, values or {})
        return self._render("gateway", "gateway", version.chart_version, merged, name, namespace, is_upgrade)


def _is_default_validation(obj: Dict[str, Any]) -> bool:
    name = obj.get("metadata", {}).get("name", "")
    return (_named(obj, "ValidatingWebhookConfiguration", "istiod-default-validator")
            or (obj.get("kind", "").startswith("ValidatingAdmissionPolicy") and name.startswith("stable-channel-default")))


COMPONENTS = ("base", "istiod", "cni", "ztunnel", "gateway", "revision_tag")
_COMPONENT_KEYS = {"component", "tag", "name", "namespace", "values", "profile", "include_crds"}


def parse_components(items: Optional[List[Any]]) -> List[Dict[str, Any]]:
    """Normalise the ``components`` option: names, or mappings with a ``component`` key."""
    parsed = []
    for item in items or ["base", "istiod"]:
        entry = {"component": item} if isinstance(item, str) else dict(item or {})
        unknown = set(entry) - _COMPONENT_KEYS
        if unknown:
            raise ValuesError("components entry %r has unknown keys %s" % (item, ", ".join(sorted(unknown))))
        if entry.get("component") not in COMPONENTS:
            raise ValuesError("component %r is not one of %s" % (entry.get("component"), ", ".join(COMPONENTS)))
        istiovalues.check_value_types(entry.get("values"), "components[%s].values" % entry["component"])
        parsed.append(entry)
    return parsed


def render_component(renderer: ManifestRenderer, plan: RevisionPlan, entry: Dict[str, Any],
                     platform: str = "") -> Rendered:
    """One component of a control plane, the way an install would render it."""
    component = entry["component"]
    if component == "istiod":
        return renderer.istiod(plan)
    if component == "base":
        default_revision = DEFAULT_REVISION if plan.name == DEFAULT_REVISION else None
        return renderer.base(plan, include_crds=entry.get("include_crds", True), default_revision=default_revision)
    if component == "revision_tag":
        return renderer.revision_tag(plan, entry.get("tag") or DEFAULT_REVISION)
    if component == "cni":
        return renderer.cni(plan.version, entry.get("namespace") or DEFAULT_CNI_NAMESPACE,
                            entry.get("profile", plan.profile), entry.get("values"), platform)
    if component == "ztunnel":
        return renderer.ztunnel(plan.version, entry.get("namespace") or DEFAULT_ZTUNNEL_NAMESPACE,
                                entry.get("values"), platform, revision_values=plan.values)
    values = istiovalues.deep_merge({"service": {"ports": [{"name": "status-port", "port": 15021}]}},
                                    entry.get("values") or {})
    return renderer.gateway(plan.version, entry.get("name") or "istio-ingressgateway",
                            entry.get("namespace") or plan.namespace, values, plan.helm_revision)
