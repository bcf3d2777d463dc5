# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Control-plane lifecycle on one cluster: revisions, tags, CRDs and pruning.

What the reference operator's Istio, IstioRevision and IstioRevisionTag
controllers do, done push-style. The cluster keeps the state between runs in
inventory records (one ConfigMap per unit):

- ``controlplane/<name>``: the control plane's active revision and strategy;
- ``revision/<revision>``: the objects of one revision and its merged values;
- ``tag/<tag>``: the objects of one revision tag and its target;
- ``crds/istio``: the Istio CRDs (never deleted unless asked).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, Iterable, List, Mapping, Optional

from ansible_collections.servicemesh.istio.plugins.module_utils import _prune as prune
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError
from ansible_collections.servicemesh.istio.plugins.module_utils._inuse import Usage, UsageIndex, namespace_reference
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import (
    IstioVersion, VersionCatalog, semver_key)
from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster.meshusage import mesh_usage
from ansible_collections.servicemesh.istio.plugins.module_utils._manifest import (
    CRD_VERSION_ANNOTATION, ControlPlane, ManifestRenderer, Rendered, RevisionPlan, istio_crds, revision_base,
    revision_base_render, tag_objects, takes_default_validator)
from ansible_collections.servicemesh.istio.plugins.module_utils._revision import validate_tag_name
from ansible_collections.servicemesh.istio.plugins.module_utils._selectors import (
    discovery_selectors, overlap_refusal, selectors_overlap, shared_namespaces)
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s import _inventory as inventory
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s import _readiness as readiness
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._apply import (
    DEFAULT_FIELD_MANAGER, Applier, defines_kind_of)
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._inventory import InventoryRecord, UnitKey
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._snapshot import snapshot_of
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._unit import UnitResult, remove_unit, sync_unit
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._waiter import Check, wait_until

CONTROL_PLANE, REVISION, TAG, CRDS = "controlplane", "revision", "tag", "crds"


class LifecycleError(IstioError):
    """A request that would break the mesh (in use, missing target, name clash)."""


@dataclass
class Options:
    """How a change is made: the same for every unit of one module run."""

    check_mode: bool = False
    force_conflicts: bool = False
    wait: bool = True
    wait_timeout: float = 300.0
    wait_interval: float = 2.0


@dataclass
class Outcome:
    """What a lifecycle call did, for the module result."""

    results: List[UnitResult] = field(default_factory=list)
    facts: Dict[str, Any] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(result.changed for result in self.results)

    def diff(self) -> Dict[str, Any]:
        """Every unit's before/after, keyed by object, merged into one diff."""
        before: Dict[str, Any] = {}
        after: Dict[str, Any] = {}
        for result in self.results:
            combined = result.diff
            before.update(combined.get("before") or {})
            after.update(combined.get("after") or {})
        return {"before": before, "after": after}

    def objects(self) -> List[Dict[str, Any]]:
        return [summary for result in self.results for summary in result.summaries()]


# -- reading the cluster's state ----------------------------------------------------------------

def revision_records(cluster: Any, control_plane: Optional[str] = None,
                     namespace: Optional[str] = None) -> List[InventoryRecord]:
    records = inventory.list_records(cluster, kind=REVISION, namespace=namespace)
    if control_plane is not None:
        records = [r for r in records if r.metadata.get("controlPlane") == control_plane]
    return records


def find_revision(cluster: Any, name: str, namespace: Optional[str] = None) -> Optional[InventoryRecord]:
    """The revision's record; ``namespace`` chooses when control planes in several namespaces share a name."""
    matches = [r for r in inventory.list_records(cluster, kind=REVISION) if r.key.name == name]
    if len(matches) > 1 and namespace:
        matches = [r for r in matches if r.key.namespace == namespace]
    if len(matches) > 1:
        raise LifecycleError("revision %r is recorded in several namespaces (%s)"
                             % (name, ", ".join(r.key.namespace for r in matches)))
    return matches[0] if matches else None


def tag_targets(cluster: Any, records: Optional[List[InventoryRecord]] = None) -> Dict[str, str]:
    """Tag name -> revision, from the tag records (read here unless given)."""
    if records is None:
        records = inventory.list_records(cluster, kind=TAG)
    return {r.key.name: r.metadata.get("revision", "") for r in records}


def usage_index(cluster: Any) -> UsageIndex:
    namespaces = cluster.list("v1", "Namespace")
    pods = cluster.list("v1", "Pod")
    return UsageIndex(namespaces, pods, tag_targets(cluster))


def revision_usage(index: UsageIndex, record: InventoryRecord) -> Usage:
    values = record.metadata.get("values") or {}
    by_default = bool((values.get("sidecarInjectorWebhook") or {}).get("enableNamespacesByDefault"))
    return index.usage(record.key.name, enable_namespaces_by_default=by_default)


def plan_from_record(record: InventoryRecord, catalog: VersionCatalog) -> RevisionPlan:
    """Re-create a revision's plan from what its record stored (for tags, ztunnel, ...)."""
    meta = record.metadata
    name = meta.get("version", "")
    # a version dropped from the catalog since the install is still what is running
    version = catalog.versions.get(name) or IstioVersion(name=name, version=name.lstrip("v"))
    values = meta.get("values") or {}
    return RevisionPlan(name=record.key.name, helm_revision=values.get("revision", ""), version=version,
                        requested_version=meta.get("requestedVersion", version.name),
                        namespace=record.key.namespace, profile=meta.get("profile", "default"), values=values)


def is_remote(record: InventoryRecord) -> bool:
    return (record.metadata.get("values") or {}).get("profile") == "remote"


def is_external_istiod(values: Mapping[str, Any]) -> bool:
    """Either form makes the chart set EXTERNAL_ISTIOD on istiod."""
    env = (values.get("pilot") or {}).get("env") or {}
    return (str(env.get("EXTERNAL_ISTIOD", "")).lower() == "true"
            or (values.get("global") or {}).get("externalIstiod") is True)


def watched_cluster(values: Mapping[str, Any]) -> str:
    """The cluster whose API server istiod reads config from ("" for its own, unnamed)."""
    env = (values.get("pilot") or {}).get("env") or {}
    return str(env.get("CLUSTER_ID") or ((values.get("global") or {}).get("multiCluster") or {}).get("clusterName")
               or "")


# -- readiness ----------------------------------------------------------------------------------

def revision_checks(plan: RevisionPlan) -> List[Check]:
    """istiod's Deployment for a local revision; the injector webhook for a remote one."""
    suffix = "-" + plan.helm_revision if plan.helm_revision else ""
    if plan.is_remote:
        webhook = "istio-sidecar-injector" + suffix
        if plan.namespace != "istio-system":
            webhook += "-" + plan.namespace
        return [Check(ObjectRef.of("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", webhook),
                      readiness.present)]
    return [Check(ObjectRef.of("apps/v1", "Deployment", "istiod" + suffix, plan.namespace),
                  readiness.deployment_ready)]


def injector_checks(objects: Iterable[Mapping[str, Any]]) -> List[Check]:
    """The unit's sidecar injector webhooks, ready once istiod has written its CA into them: before that,
    pods in injected namespaces are refused. Only for local istiods (a remote revision's are patched by
    the primary's istiod, which may not read this cluster yet)."""
    return [Check(ObjectRef.from_object(obj, namespaced=False), readiness.webhooks_served)
            for obj in objects if obj.get("kind") == "MutatingWebhookConfiguration"]


def revision_ready(cluster: Any, plan: RevisionPlan) -> Dict[str, Any]:
    for check in revision_checks(plan):
        ready, reason = check.predicate(cluster.get(check.ref))
        if not ready:
            return {"ready": False, "reason": "%s: %s" % (check.ref, reason)}
    return {"ready": True, "reason": ""}


def wait_for(cluster: Any, checks: List[Check], options: Options) -> None:
    if options.wait and not options.check_mode and checks:
        wait_until(cluster, checks, options.wait_timeout, options.wait_interval)


# -- namespaces and CRDs ------------------------------------------------------------------------

def namespace_missing(cluster: Any, namespace: str, create: bool) -> bool:
    """Whether the namespace must be created; an error if it is missing and may not be."""
    ref = ObjectRef.of("v1", "Namespace", namespace)
    live = _read(cluster, [ref])[ref]
    if live is not None:
        if (live.get("metadata") or {}).get("deletionTimestamp"):
            raise LifecycleError("namespace %r is being deleted" % namespace)
        return False
    if not create:
        raise LifecycleError("namespace %r doesn't exist; create it first or set create_namespace" % namespace)
    return True


def create_namespace(cluster: Any, namespace: str, options: Options) -> UnitResult:
    """Namespaces we create are never deleted by us: users' workloads may live there."""
    applier = Applier(cluster, check_mode=options.check_mode)
    applied = applier.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}])
    return UnitResult(list(applied.objects), options.check_mode)


@dataclass
class CrdSet:
    objects: List[Dict[str, Any]]
    chart_version: str
    version: str


def render_crds(cluster: Any, renderer: ManifestRenderer, plan: RevisionPlan,
                rendered: Optional[Rendered] = None) -> CrdSet:
    """The Istio CRDs from the base chart (or ``rendered``), minus those a newer Istio already applied."""
    base = istio_crds(renderer, plan, rendered)
    crds = base.objects
    newer = set(_newer_live_crds(cluster, crds, plan.version.version))
    return CrdSet([crd for crd in crds if crd["metadata"]["name"] not in newer], base.version, plan.version.name)


def _read(cluster: Any, refs: List[ObjectRef]) -> Dict[ObjectRef, Optional[Dict[str, Any]]]:
    """The objects from the run's snapshot (the applier reads them from there again), or one GET each."""
    snapshot = snapshot_of(cluster)
    return snapshot.get_many(refs) if snapshot is not None else {ref: cluster.get(ref) for ref in refs}


def _newer_live_crds(cluster: Any, crds: List[Dict[str, Any]], version: str) -> List[str]:
    newer = []
    lives = _read(cluster, [ObjectRef.from_object(crd, namespaced=False) for crd in crds])
    for crd in crds:
        live = lives[ObjectRef.from_object(crd, namespaced=False)]
        live_version = ((live or {}).get("metadata", {}).get("annotations") or {}).get(CRD_VERSION_ANNOTATION)
        if live_version and semver_key(live_version) > semver_key(version):
            newer.append(crd["metadata"]["name"])
    return newer


def apply_crds(cluster: Any, crds: CrdSet, namespace: str, options: Options,
               applier: Optional[Applier] = None) -> UnitResult:
    """The CRDs as one unit; never pruned, so CRDs kept back as newer stay recorded."""
    key = UnitKey(CRDS, "istio", namespace)
    return sync_unit(cluster, key, crds.objects, metadata={"version": crds.version}, check_mode=options.check_mode,
                     force_conflicts=options.force_conflicts, prune=False, chart_version=crds.chart_version,
                     applier=applier)


def crd_applier(cluster: Any, namespace: str, options: Options, then_applied: List[Dict[str, Any]],
                crds: Optional[CrdSet]) -> Applier:
    """The CRD unit's applier: when what is applied next uses none of their kinds, the wait for the CRDs
    to be established is put off until ``settle()``, so that the server establishes them meanwhile."""
    return Applier(cluster, DEFAULT_FIELD_MANAGER, options.force_conflicts, options.check_mode,
                   default_namespace=namespace,
                   defer_crd_wait=crds is not None and not defines_kind_of(crds.objects, then_applied))


# -- revisions ------------------------------------------------------------------------------------

def _check_no_tag_named(cluster: Any, name: str) -> None:
    clash = [r for r in inventory.list_records(cluster, kind=TAG) if r.key.name == name]
    if clash:
        raise LifecycleError("revision %r would share its name with the revision tag in namespace %s; "
                             "rename one of them" % (name, clash[0].key.namespace))


def check_selector_overlap(cluster: Any, control_plane: ControlPlane, plan: RevisionPlan) -> None:
    """Several meshes in one cluster must not watch the same namespace (the reference leaves this to luck).

    Only namespaces both select are refused; the namespaces are read only for selectors that could overlap."""
    namespaces = None
    for record in inventory.list_records(cluster, kind=REVISION):
        same = (record.metadata.get("controlPlane"), record.key.namespace) == (control_plane.name, plan.namespace)
        theirs, ours = watched_cluster(record.metadata.get("values") or {}), watched_cluster(plan.values)
        if same or is_remote(record) or (theirs and ours and theirs != ours):
            continue  # an external istiod watches another cluster's namespaces
        mine, others = discovery_selectors(plan.values), discovery_selectors(record.metadata.get("values"))
        if not selectors_overlap(mine, others):
            continue
        if namespaces is None:
            namespaces = {item["metadata"]["name"]: (item["metadata"].get("labels") or {})
                          for item in cluster.list("v1", "Namespace")}
        shared = shared_namespaces(mine, others, namespaces)
        if shared:
            raise LifecycleError(overlap_refusal(
                "control plane %r (namespace %s)" % (control_plane.name, plan.namespace),
                "control plane %r (revision %s, namespace %s)" % (record.metadata.get("controlPlane"),
                                                                  record.key.name, record.key.namespace), shared))


DEFAULT_VALIDATOR = ObjectRef.of("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration",
                                 "istiod-default-validator")


def check_default_validator_free(cluster: Any, key: UnitKey) -> None:
    """There is one cluster-wide default validator; a second control plane must not take it over."""
    for kind in (REVISION, TAG):
        for record in inventory.list_records(cluster, kind=kind):
            if record.key != key and record.entry(DEFAULT_VALIDATOR) is not None:
                raise LifecycleError(
                    "the cluster-wide default validator istiod-default-validator belongs to %s; set include_base "
                    "to false for this control plane, or remove that one first" % record.key)


def revision_metadata(control_plane: ControlPlane, plan: RevisionPlan) -> Dict[str, Any]:
    return {"controlPlane": control_plane.name, "version": plan.version.name,
            "requestedVersion": plan.requested_version, "profile": plan.profile,
            "strategy": control_plane.strategy, "values": plan.values}


def install_revision(cluster: Any, renderer: ManifestRenderer, control_plane: ControlPlane, plan: RevisionPlan,
                     options: Options, include_base: Optional[bool] = None, crds: bool = True,
                     create_namespace_if_missing: bool = False, allow_selector_overlap: bool = False) -> Outcome:
    """Apply one revision (istiod, and the base validator for ``default``), record it, wait for it.

    Everything is read and rendered before the first write, so bad input changes nothing."""
    _check_no_tag_named(cluster, plan.name)
    if not allow_selector_overlap and not plan.is_remote:
        check_selector_overlap(cluster, control_plane, plan)
    must_create_namespace = namespace_missing(cluster, plan.namespace, create_namespace_if_missing)
    key = UnitKey(REVISION, plan.name, plan.namespace)
    previous = None if must_create_namespace else inventory.load(cluster, key.namespace, key.kind, key.name)
    is_upgrade = inventory.was_installed(previous)
    base = revision_base_render(renderer, plan, crds, is_upgrade)  # the CRDs and the validator: one render
    crd_set = render_crds(cluster, renderer, plan, base) if crds else None
    rendered = renderer.istiod(plan, is_upgrade=is_upgrade)
    if takes_default_validator(plan, include_base):
        check_default_validator_free(cluster, key)
    objects = list(rendered.objects) + revision_base(renderer, plan, include_base, base=base).objects

    outcome = Outcome()
    if must_create_namespace:
        outcome.results.append(create_namespace(cluster, plan.namespace, options))
    crds_applier = crd_applier(cluster, plan.namespace, options, objects, crd_set)
    if crd_set is not None:
        outcome.results.append(apply_crds(cluster, crd_set, plan.namespace, options, crds_applier))
    outcome.results.append(sync_unit(
        cluster, key, objects, metadata=revision_metadata(control_plane, plan), check_mode=options.check_mode,
        force_conflicts=options.force_conflicts, chart_version=rendered.version, values=plan.values))
    outcome.results.append(record_control_plane(cluster, control_plane, plan, options))
    crds_applier.settle()
    wait_for(cluster, revision_checks(plan) + ([] if plan.is_remote else injector_checks(objects)), options)
    outcome.facts = {"revision": plan.name, "version": plan.version.name, "namespace": plan.namespace,
                     "values": plan.values, "upgraded": is_upgrade}
    return outcome


def record_control_plane(cluster: Any, control_plane: ControlPlane, plan: RevisionPlan,
                         options: Options) -> UnitResult:
    """The control plane's own record: which revision is active and how it is updated."""
    key = UnitKey(CONTROL_PLANE, control_plane.name, plan.namespace)
    previous = inventory.load(cluster, key.namespace, key.kind, key.name)
    metadata = inventory.merge_metadata(previous.metadata if previous else {}, {
        "activeRevision": plan.name, "version": plan.version.name, "requestedVersion": plan.requested_version,
        "strategy": control_plane.strategy, "gracePeriodSeconds": control_plane.grace_period_seconds,
        "profile": plan.profile})
    record = InventoryRecord(key, [], plan.version.chart_version, "", metadata)
    changed = inventory.save(cluster, record, previous=previous, check_mode=options.check_mode)
    return UnitResult([], options.check_mode, key=key, inventory_changed=changed, record=record)


def remove_revision(cluster: Any, name: str, options: Options, force: bool = False,
                    namespace: Optional[str] = None) -> Outcome:
    """Delete a revision's objects, refusing while anything uses it unless forced."""
    outcome = Outcome()
    record = find_revision(cluster, name, namespace)
    if record is None:
        outcome.facts = {"revision": name, "removed": False}
        return outcome
    usage = revision_usage(usage_index(cluster), record)
    if usage.in_use and not force:
        raise LifecycleError("revision %r is in use and was not removed: %s; move these to another revision "
                             "or set force" % (name, "; ".join(usage.reasons())))
    return delete_revision(cluster, record, usage, options)


def delete_revision(cluster: Any, record: InventoryRecord, usage: Usage, options: Options) -> Outcome:
    """Delete a revision found and checked by the caller; ``usage`` is what the check saw."""
    outcome = Outcome()
    outcome.results.append(remove_unit(cluster, record.key, check_mode=options.check_mode,
                                       wait=options.wait, timeout=options.wait_timeout))
    outcome.results.extend(_forget_active(cluster, record, options))
    outcome.facts = {"revision": record.key.name, "removed": True, "usage": usage.as_dict()}
    return outcome


def remove_crds(cluster: Any, options: Options, force: bool = False) -> Outcome:
    """Delete the Istio CRDs we created, once no revision is left and no custom resource of theirs exists:
    deleting a CRD deletes every object of its kind, which are users' objects."""
    outcome = Outcome()
    # every control plane that applied the CRDs keeps a record of them; the first one created them
    records = inventory.list_records(cluster, kind=CRDS)
    if not records:
        return outcome
    remaining = ["%s (namespace %s)" % (r.key.name, r.key.namespace)
                 for r in inventory.list_records(cluster, kind=REVISION)]
    if remaining:
        raise LifecycleError("the Istio CRDs are still needed by revisions %s; remove those first"
                             % ", ".join(remaining))
    users = [] if force else [user for record in records for user in _custom_resources(cluster, record)]
    if users:
        raise LifecycleError("the Istio CRDs were kept: removing them would delete %s; delete those first "
                             "or set force" % ", ".join(users[:10]))
    for record in records:
        outcome.results.append(remove_unit(cluster, record.key, check_mode=options.check_mode, delete_crds=True,
                                           wait=options.wait, timeout=options.wait_timeout))
    outcome.facts["crds_removed"] = sorted(r.ref.name for unit in outcome.results for r in unit.objects
                                           if r.ref.is_crd and r.changed)
    return outcome


def _custom_resources(cluster: Any, record: InventoryRecord) -> List[str]:
    found = []
    for ref in record.created_refs:
        crd = cluster.get(ref)
        if not crd:
            continue
        spec = crd.get("spec") or {}
        version = next((v["name"] for v in spec.get("versions") or [] if v.get("storage")), "v1")
        kind = (spec.get("names") or {}).get("kind", "")
        for obj in cluster.list("%s/%s" % (spec.get("group"), version), kind):
            meta = obj.get("metadata") or {}
            found.append("%s %s/%s" % (kind, meta.get("namespace", ""), meta.get("name")))
    return found


def _forget_active(cluster: Any, record: InventoryRecord, options: Options) -> List[UnitResult]:
    """When a control plane's active revision is removed, the control plane record goes too."""
    cp_name = record.metadata.get("controlPlane")
    cp = inventory.load(cluster, record.key.namespace, CONTROL_PLANE, cp_name) if cp_name else None
    if cp is None or cp.metadata.get("activeRevision") != record.key.name:
        return []
    changed = inventory.delete(cluster, cp, check_mode=options.check_mode)
    return [UnitResult([], options.check_mode, key=cp.key, inventory_changed=changed)]


# -- tags -----------------------------------------------------------------------------------------

def resolve_tag_target(cluster: Any, revision: Optional[str], control_plane: Optional[str],
                       namespace: Optional[str]) -> InventoryRecord:
    """The revision a tag should point at: named directly, or a control plane's active one."""
    if control_plane:
        records = inventory.list_records(cluster, kind=CONTROL_PLANE, namespace=namespace)
        matches = [r for r in records if r.key.name == control_plane]
        if not matches:
            raise LifecycleError("control plane %r is not installed%s" % (
                control_plane, " in namespace %s" % namespace if namespace else ""))
        revision = matches[0].metadata.get("activeRevision")
    target = find_revision(cluster, revision) if revision else None
    if target is None:
        raise LifecycleError("revision %r does not exist; install it before pointing a tag at it" % revision)
    if is_remote(target):
        raise LifecycleError("a revision tag cannot point at the remote revision %r" % target.key.name)
    return target


def _check_tag_stays_in_its_mesh(cluster: Any, tag: str, target: InventoryRecord, force: bool) -> None:
    """Moving a tag between revisions of one control plane is routine; taking it from another control
    plane (another mesh's namespaces follow it) needs ``force``."""
    for old in inventory.list_records(cluster, kind=TAG):
        current = find_revision(cluster, old.metadata.get("revision", ""), old.key.namespace) \
            if old.key.name == tag else None
        if current is None or force:
            continue
        if (current.metadata.get("controlPlane"), current.key.namespace) != \
                (target.metadata.get("controlPlane"), target.key.namespace):
            raise LifecycleError(
                "tag %r points at revision %s of control plane %r (namespace %s); moving it to control plane %r "
                "(namespace %s) would move that mesh's workloads; set force to do it"
                % (tag, current.key.name, current.metadata.get("controlPlane"), current.key.namespace,
                   target.metadata.get("controlPlane"), target.key.namespace))


def install_tag(cluster: Any, renderer: ManifestRenderer, catalog: VersionCatalog, tag: str,
                target: InventoryRecord, options: Options, force: bool = False) -> Outcome:
    """Point ``tag`` at ``target``; moving it is the same call. The ``default`` tag also owns the
    cluster-wide default validator."""
    validate_tag_name(tag)
    if find_revision(cluster, tag) is not None:
        raise LifecycleError("tag %r would share its name with a revision; pick another name" % tag)
    _check_tag_stays_in_its_mesh(cluster, tag, target, force)
    plan = plan_from_record(target, catalog)
    key = UnitKey(TAG, tag, plan.namespace)
    previous = inventory.load(cluster, key.namespace, key.kind, key.name)
    is_upgrade = inventory.was_installed(previous)
    # rendered before the first write (the removal below), so objects the renderer refuses change nothing
    rendered = tag_objects(renderer, plan, tag, is_upgrade=is_upgrade)
    objects = list(rendered.objects)
    outcome = Outcome()
    for old in inventory.list_records(cluster, kind=TAG):
        if old.key.name == tag and old.key.namespace != plan.namespace:
            outcome.results.append(remove_unit(cluster, old.key, check_mode=options.check_mode))
    outcome.results.append(sync_unit(
        cluster, key, objects, metadata={"revision": plan.name, "version": plan.version.name},
        check_mode=options.check_mode, force_conflicts=options.force_conflicts, chart_version=rendered.version,
        values={"revision": plan.name, "values": plan.values}))
    wait_for(cluster, injector_checks(objects), options)
    outcome.facts = {"tag": tag, "revision": plan.name, "namespace": plan.namespace,
                     "previous_revision": previous.metadata.get("revision") if previous else None}
    return outcome


def remove_tag(cluster: Any, tag: str, options: Options, force: bool = False) -> Outcome:
    outcome = Outcome()
    records = [r for r in inventory.list_records(cluster, kind=TAG) if r.key.name == tag]
    if records and not force:
        index = usage_index(cluster)
        users = [ns for ns in index.namespaces if _namespace_points_at(index, ns, tag)]
        if users:
            raise LifecycleError("tag %r is in use by namespaces %s; relabel them or set force"
                                 % (tag, ", ".join(sorted(users))))
    for record in records:
        outcome.results.append(remove_unit(cluster, record.key, check_mode=options.check_mode))
    outcome.facts = {"tag": tag, "removed": bool(records)}
    return outcome


def _namespace_points_at(index: UsageIndex, namespace: str, tag: str) -> bool:
    return namespace_reference(index.namespaces[namespace]) == tag


# -- pruning --------------------------------------------------------------------------------------

def prune_control_plane(cluster: Any, name: str, namespace: str, options: Options, force: bool = False,
                        now: Optional[datetime] = None, grace_seconds: Optional[int] = None,
                        mesh: Optional[Mapping[str, Any]] = None) -> Outcome:
    """Remove the control plane's inactive revisions that nothing uses once their grace period is over.

    ``mesh`` maps the names of the mesh's other clusters to their clients: use there counts too, and
    revisions with EXTERNAL_ISTIOD (whose use elsewhere is then visible) may be pruned."""
    outcome = Outcome()
    cp = inventory.load(cluster, namespace, CONTROL_PLANE, name)
    if cp is None:
        # nothing installed (or a check-mode run before the install): nothing to prune
        outcome.facts = {"active_revision": None, "decisions": [], "pruned": [], "next_prune_at": None}
        return outcome
    active = cp.metadata.get("activeRevision", "")
    grace = cp.metadata.get("gracePeriodSeconds", 30) if grace_seconds is None else grace_seconds
    now = now or prune.utcnow()
    index = usage_index(cluster)
    remote_indexes = {cluster_name: usage_index(other) for cluster_name, other in (mesh or {}).items()}
    decisions = []
    for record in revision_records(cluster, control_plane=name, namespace=namespace):
        usage = revision_usage(index, record)
        if remote_indexes:
            usage = mesh_usage(usage, {n: revision_usage(i, record) for n, i in remote_indexes.items()})
        state = prune.RevisionState(record.key.name, usage, prune.parse_time(record.metadata.get("inactiveSince")),
                                    is_external_istiod(record.metadata.get("values") or {}) and not mesh)
        decision = prune.decide(state, active, grace, now, force=force)
        decisions.append(decision)
        if decision.action == prune.PRUNE:
            outcome.results.append(remove_unit(cluster, record.key, check_mode=options.check_mode,
                                               wait=options.wait, timeout=options.wait_timeout))
        else:
            outcome.results.append(_record_inactive_since(cluster, record, decision.inactive_since, options))
    next_time = prune.next_prune_time(decisions)
    outcome.facts = {"active_revision": active, "decisions": [d.as_dict() for d in decisions],
                     "pruned": [d.name for d in decisions if d.action == prune.PRUNE],
                     "next_prune_at": prune.format_time(next_time)}
    return outcome


def _record_inactive_since(cluster: Any, record: InventoryRecord, since: Optional[datetime],
                           options: Options) -> UnitResult:
    metadata = inventory.merge_metadata(record.metadata, {"inactiveSince": prune.format_time(since)})
    updated = InventoryRecord(record.key, record.entries, record.chart_version, record.values_digest, metadata)
    changed = inventory.save(cluster, updated, previous=record, check_mode=options.check_mode)
    return UnitResult([], options.check_mode, key=record.key, inventory_changed=changed)
