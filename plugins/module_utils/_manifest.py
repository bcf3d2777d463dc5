# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""From a control-plane description to rendered objects, component by component.

``plan_revision`` is pure: it resolves the version, names the revision and merges
the values. ``ManifestRenderer`` turns plans into objects with the official
charts (through a ChartSource and a Helm engine). ``istio_crds``, ``revision_base``
and ``tag_objects`` choose what a revision's and a tag's units apply; istio_manifest
renders through the same functions, so that it shows what the cluster modules apply.
"""
from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from ansible_collections.servicemesh.istio.plugins.module_utils import _istiovalues as istiovalues
from ansible_collections.servicemesh.istio.plugins.module_utils._charts import ChartSource
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError, ValuesError
from ansible_collections.servicemesh.istio.plugins.module_utils._helm import (
    HelmPythonEngine, parse_manifests, parser_id)
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import IstioVersion, VersionCatalog
from ansible_collections.servicemesh.istio.plugins.module_utils._render_cache import RenderCache, render_key
from ansible_collections.servicemesh.istio.plugins.module_utils._revision import (
    DEFAULT_REVISION, IN_PLACE, helm_revision_value, revision_name, validate_dns_label,
    validate_revision_name, validate_tag_name)
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._duplicates import collapse_duplicates

DEFAULT_NAMESPACE = "istio-system"
DEFAULT_CNI_NAMESPACE = "istio-cni"
DEFAULT_ZTUNNEL_NAMESPACE = "ztunnel"
DEFAULT_GRACE_PERIOD = 30
CRD_VERSION_ANNOTATION = "servicemesh.istio/istio-version"
CRD_KIND = "CustomResourceDefinition"
# The official chart archives label every object (and pod template) with the IstioOperator that owns it,
# "unknown" when Helm renders them. No IstioOperator owns what this collection applies (its records and
# field manager do), and the reference operator's charts strip the label: so do we, for every component.
OWNING_RESOURCE_LABEL = "install.operator.istio.io/owning-resource"


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
    dual_stack: bool = False

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
                   ztunnel_namespace=params.get("ztunnel_namespace"), dual_stack=bool(params.get("dual_stack")))


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
                                              control_plane.ztunnel_namespace, images=version.images,
                                              dual_stack=control_plane.dual_stack)
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


def strip_owning_resource(value: Any) -> Any:
    """``value`` without OWNING_RESOURCE_LABEL in any ``labels`` map (the object's, its pod template's)."""
    if isinstance(value, dict):
        labels = value.get("labels")
        if isinstance(labels, dict):
            labels.pop(OWNING_RESOURCE_LABEL, None)
        for child in value.values():
            strip_owning_resource(child)
    elif isinstance(value, list):
        for child in value:
            strip_owning_resource(child)
    return value


def postprocess(obj: Dict[str, Any]) -> Dict[str, Any]:
    """What every module does to a rendered object: keyed-list duplicates collapsed and the owning-resource
    label stripped. A CRD has no pod template: only its own labels are looked at, not its (large) schema."""
    if obj.get("kind") == CRD_KIND:
        strip_owning_resource(obj.get("metadata"))
        return obj
    return strip_owning_resource(collapse_duplicates(obj))


def tag_webhook_names(tag: str, namespace: str) -> List[str]:
    """The revision-tag webhook configuration gets a namespace suffix outside istio-system."""
    base = "istio-revision-tag-%s" % tag
    return [base] if namespace == DEFAULT_NAMESPACE else [base, "%s-%s" % (base, namespace)]


class ManifestRenderer:
    """Renders Istio components from the official charts.

    Parsed output is kept in a RenderCache (by default beside the chart cache, ``<chart_cache_dir>/rendered``),
    so that an unchanged re-run neither renders nor parses; ``cache=RenderCache(None)`` turns it off."""

    def __init__(self, source: ChartSource, engine=None, cache: Optional[RenderCache] = None):
        self.source = source
        self.engine = engine or HelmPythonEngine()
        self.cache = cache if cache is not None else RenderCache(source.render_cache_dir)

    def _cache_key(self, location, values: Dict[str, Any], release_name: str, namespace: str,
                   is_upgrade: bool, skip_kinds: Sequence[str]) -> Optional[str]:
        engine_id = getattr(self.engine, "cache_id", None)
        if not engine_id or not self.cache.directory:
            return None  # an engine that does not say what it is (a test's) is never cached
        return render_key([engine_id, parser_id(), location.chart, location.version, self.source.digest(location),
                           istiovalues.values_digest(values), release_name, namespace, bool(is_upgrade),
                           sorted(skip_kinds)])

    def _render(self, component: str, chart: str, version: str, values: Dict[str, Any], release_name: str,
                namespace: str, is_upgrade: bool, skip_kinds: Sequence[str] = ()) -> Rendered:
        location = self.source.locate(chart, version)
        key = self._cache_key(location, values, release_name, namespace, is_upgrade, skip_kinds)
        parsed = self.cache.get(key) if key else None
        if parsed is None:
            text = self.engine.render(location, values, release_name, namespace, is_upgrade=is_upgrade)
            parsed, plain = parse_manifests(text, skip_kinds)
            if key:
                self.cache.put(key, parsed, plain=plain)  # before postprocess, which changes objects in place
        # here, so that every module renders the same objects and bad ones fail before any write
        objects = [postprocess(obj) for obj in parsed]
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
        # with the CRD templates off, Istio's chart still renders its CRD file verbatim: not parsed here
        rendered = self._render("base", "base", plan.version.chart_version, values, "default-base",
                                plan.namespace, is_upgrade, skip_kinds=() if include_crds else (CRD_KIND,))
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
        merged = istiovalues.cni_values(profile, values, platform, images=version.images)
        return self._render("cni", "cni", version.chart_version, merged, "istio-cni", namespace, is_upgrade)

    def ztunnel(self, version: IstioVersion, namespace: str = DEFAULT_ZTUNNEL_NAMESPACE,
                values: Optional[Dict[str, Any]] = None, platform: str = "",
                revision_values: Optional[Dict[str, Any]] = None, is_upgrade: bool = False) -> Rendered:
        validate_dns_label(namespace, "namespace")
        merged = istiovalues.ztunnel_values(values, platform, revision_values, images=version.images)
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


# -- what a revision's and a tag's units apply (the cluster modules and istio_manifest alike) -------------

def _is_crd(obj: Dict[str, Any]) -> bool:
    return obj.get("kind") == CRD_KIND


def _marked(crd: Dict[str, Any], version: str) -> Dict[str, Any]:
    """``crd`` annotated with ``version``: a copy down to its annotations, the (large) spec shared."""
    metadata = dict(crd.get("metadata") or {})
    metadata["annotations"] = dict(metadata.get("annotations") or {}, **{CRD_VERSION_ANNOTATION: version})
    return dict(crd, metadata=metadata)


def revision_base_render(renderer: ManifestRenderer, plan: RevisionPlan, include_crds: bool = True,
                         is_upgrade: bool = False) -> Rendered:
    """The one render of the base chart a revision needs: its CRDs (``include_crds``) and the default
    validator pointing at istiod, for ``istio_crds`` and ``revision_base`` to take their parts from."""
    return renderer.base(plan, include_crds=include_crds, default_revision=DEFAULT_REVISION, is_upgrade=is_upgrade)


def istio_crds(renderer: ManifestRenderer, plan: RevisionPlan, base: Optional[Rendered] = None) -> Rendered:
    """The Istio CRDs from the base chart, marked with the Istio version that applies them (a later
    install keeps back the CRDs a newer Istio applied); taken from ``base`` (revision_base_render) if given,
    which is left as it is."""
    rendered = base if base is not None else renderer.base(plan, include_crds=True, default_revision=None)
    return dataclasses.replace(rendered, objects=[_marked(obj, plan.version.version)
                                                  for obj in rendered.objects if _is_crd(obj)])


def takes_default_validator(plan: RevisionPlan, include_base: Optional[bool] = None) -> bool:
    """The revision ``default`` owns the cluster-wide default validator unless told otherwise."""
    return include_base if include_base is not None else plan.name == DEFAULT_REVISION


def revision_base(renderer: ManifestRenderer, plan: RevisionPlan, include_base: Optional[bool] = None,
                  is_upgrade: bool = False, base: Optional[Rendered] = None) -> Rendered:
    """The base chart's objects a revision applies besides the CRDs: the default validator (to istiod) and
    the reader account when it takes the default validator, nothing otherwise (a tag ``default`` brings them).
    Taken from ``base`` (revision_base_render, rendered with the same ``is_upgrade``) if given."""
    if base is None:
        base = renderer.base(plan, include_crds=False, default_revision=DEFAULT_REVISION, is_upgrade=is_upgrade)
    keep = takes_default_validator(plan, include_base)
    return dataclasses.replace(base, objects=[obj for obj in base.objects if keep and not _is_crd(obj)])


def tag_objects(renderer: ManifestRenderer, plan: RevisionPlan, tag: str, is_upgrade: bool = False) -> Rendered:
    """A tag's injector webhook and Service; the tag ``default`` also owns the cluster-wide default validator,
    pointing at the tag's revision, and the reader account."""
    if tag == plan.name:
        raise ValuesError("tag %r would share its name with a revision; pick another name" % tag)
    rendered = renderer.revision_tag(plan, tag, is_upgrade=is_upgrade)
    if tag == DEFAULT_REVISION:
        rendered.objects += renderer.base(plan, include_crds=False, default_revision=plan.name,
                                          is_upgrade=is_upgrade).objects
    return rendered
