"""The resource table: which group/version/resource exists, its kind, scope,
verbs, short names, categories, subresources, and the behaviours that differ
per kind (generation, status subresource, delete response, field selectors).

Built-in kinds are listed here; custom resources are added and removed as
CustomResourceDefinitions come and go (see ``Registry.register_crd``)."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import Optional

from . import schema as schemas

VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
NO_COLLECTION = ("create", "delete", "get", "list", "patch", "update", "watch")
CREATE_ONLY = ("create",)
SUB_VERBS = ("get", "patch", "update")
DEFAULT_FIELD_LABELS = ("metadata.name", "metadata.namespace")


@dataclass
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    verbs: tuple = VERBS
    short_names: tuple = ()
    categories: tuple = ()
    singular: str = ""
    subresources: tuple = ()            # e.g. ("status", "scale")
    generation: bool = False            # metadata.generation maintained
    builtin: bool = True
    return_deleted: bool = False        # DELETE answers with the object, not a Status
    unconditional_update: bool = True   # PUT without resourceVersion allowed
    field_labels: tuple = DEFAULT_FIELD_LABELS
    served_versions: tuple = ()         # every version the group-resource is served at
    storage_version: str = ""
    crd_name: str = ""
    printer_columns: tuple = ()         # CRD additionalPrinterColumns
    schema: schemas.Node = field(default_factory=lambda: schemas.GENERIC_BUILTIN, repr=False)
    openapi: Optional[dict] = field(default=None, repr=False)   # raw CRD schema
    scale_paths: Optional[tuple] = None  # (specReplicas, statusReplicas, labelSelector) paths
    virtual: bool = False               # create-only review kinds, nothing stored

    def __post_init__(self) -> None:
        if not self.singular:
            self.singular = self.kind.lower()
        if not self.served_versions:
            self.served_versions = (self.version,)
        if not self.storage_version:
            self.storage_version = self.version

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def gr(self) -> tuple[str, str]:
        return (self.group, self.plural)

    @property
    def qualified(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    def at_version(self, version: str) -> "ResourceType":
        return self if version == self.version else replace(self, version=version)


def _b(group: str, version: str, plural: str, kind: str, **kw) -> ResourceType:
    rt = ResourceType(group, version, plural, kind, **kw)
    if rt.builtin:
        rt.schema = schemas.builtin_schema(group, kind)
    return rt


ALL = ("all",)
EXT = ("api-extensions",)
STATUS = ("status",)
SCALE = ("status", "scale")

BUILTINS: list[ResourceType] = [
    # core/v1
    _b("", "v1", "bindings", "Binding", verbs=CREATE_ONLY),
    _b("", "v1", "componentstatuses", "ComponentStatus", namespaced=False, verbs=("get", "list"),
       short_names=("cs",)),
    _b("", "v1", "configmaps", "ConfigMap", short_names=("cm",)),
    _b("", "v1", "endpoints", "Endpoints", short_names=("ep",), singular="endpoints"),
    _b("", "v1", "events", "Event", short_names=("ev",),
       field_labels=DEFAULT_FIELD_LABELS + ("involvedObject.kind", "involvedObject.name",
                                            "involvedObject.namespace", "involvedObject.uid",
                                            "reason", "type", "source")),
    _b("", "v1", "limitranges", "LimitRange", short_names=("limits",)),
    _b("", "v1", "namespaces", "Namespace", namespaced=False, verbs=NO_COLLECTION,
       short_names=("ns",), subresources=("status", "finalize"), return_deleted=True,
       field_labels=("metadata.name", "status.phase")),
    _b("", "v1", "nodes", "Node", namespaced=False, short_names=("no",), subresources=("status", "proxy"),
       return_deleted=True, field_labels=("metadata.name", "spec.unschedulable")),
    _b("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", short_names=("pvc",),
       subresources=STATUS),
    _b("", "v1", "persistentvolumes", "PersistentVolume", namespaced=False, short_names=("pv",),
       subresources=STATUS),
    _b("", "v1", "pods", "Pod", short_names=("po",), categories=ALL,
       subresources=("status", "log", "eviction", "binding", "ephemeralcontainers"), return_deleted=True,
       field_labels=DEFAULT_FIELD_LABELS + ("status.phase", "spec.nodeName", "spec.restartPolicy",
                                            "spec.schedulerName", "spec.serviceAccountName",
                                            "spec.hostNetwork", "status.podIP", "status.nominatedNodeName")),
    _b("", "v1", "podtemplates", "PodTemplate"),
    _b("", "v1", "replicationcontrollers", "ReplicationController", short_names=("rc",), categories=ALL,
       subresources=SCALE, generation=True, scale_paths=(".spec.replicas", ".status.replicas", None)),
    _b("", "v1", "resourcequotas", "ResourceQuota", short_names=("quota",), subresources=STATUS),
    _b("", "v1", "secrets", "Secret", field_labels=DEFAULT_FIELD_LABELS + ("type",)),
    _b("", "v1", "serviceaccounts", "ServiceAccount", short_names=("sa",), subresources=("token",),
       return_deleted=True),
    _b("", "v1", "services", "Service", short_names=("svc",), categories=ALL,
       subresources=("status", "proxy"), return_deleted=True),
    # apps/v1
    _b("apps", "v1", "controllerrevisions", "ControllerRevision"),
    _b("apps", "v1", "daemonsets", "DaemonSet", short_names=("ds",), categories=ALL, subresources=STATUS,
       generation=True),
    _b("apps", "v1", "deployments", "Deployment", short_names=("deploy",), categories=ALL,
       subresources=SCALE, generation=True,
       scale_paths=(".spec.replicas", ".status.replicas", ".spec.selector")),
    _b("apps", "v1", "replicasets", "ReplicaSet", short_names=("rs",), categories=ALL, subresources=SCALE,
       generation=True, scale_paths=(".spec.replicas", ".status.replicas", ".spec.selector")),
    _b("apps", "v1", "statefulsets", "StatefulSet", short_names=("sts",), categories=ALL,
       subresources=SCALE, generation=True,
       scale_paths=(".spec.replicas", ".status.replicas", ".spec.selector")),
    # batch/v1
    _b("batch", "v1", "cronjobs", "CronJob", short_names=("cj",), categories=ALL, subresources=STATUS,
       generation=True),
    _b("batch", "v1", "jobs", "Job", categories=ALL, subresources=STATUS, generation=True),
    # rbac
    _b("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", namespaced=False),
    _b("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", namespaced=False),
    _b("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
    _b("rbac.authorization.k8s.io", "v1", "roles", "Role"),
    # admissionregistration
    _b("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration",
       namespaced=False, categories=EXT, generation=True),
    _b("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies", "ValidatingAdmissionPolicy",
       namespaced=False, categories=EXT, subresources=STATUS, generation=True),
    _b("admissionregistration.k8s.io", "v1", "validatingadmissionpolicybindings",
       "ValidatingAdmissionPolicyBinding", namespaced=False, categories=EXT, generation=True),
    _b("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations",
       "ValidatingWebhookConfiguration", namespaced=False, categories=EXT, generation=True),
    # apiextensions
    _b("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
       namespaced=False, short_names=("crd", "crds"), categories=EXT, subresources=STATUS, generation=True,
       return_deleted=True),
    # policy, autoscaling
    _b("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", short_names=("pdb",),
       subresources=STATUS, generation=True),
    _b("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", short_names=("hpa",),
       categories=ALL, subresources=STATUS, generation=True),
    # discovery, networking, coordination, scheduling, storage, events, certificates
    _b("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice"),
    _b("networking.k8s.io", "v1", "ingressclasses", "IngressClass", namespaced=False),
    _b("networking.k8s.io", "v1", "ingresses", "Ingress", short_names=("ing",), subresources=STATUS,
       generation=True),
    _b("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", short_names=("netpol",),
       generation=True),
    _b("coordination.k8s.io", "v1", "leases", "Lease"),
    _b("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", namespaced=False, short_names=("pc",)),
    _b("storage.k8s.io", "v1", "storageclasses", "StorageClass", namespaced=False, short_names=("sc",),
       return_deleted=True),
    _b("events.k8s.io", "v1", "events", "Event", short_names=("ev",)),
    _b("certificates.k8s.io", "v1", "certificatesigningrequests", "CertificateSigningRequest",
       namespaced=False, short_names=("csr",), subresources=("status", "approval")),
    # review kinds: create-only, nothing is stored
    _b("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", namespaced=False,
       verbs=CREATE_ONLY, virtual=True),
    _b("authentication.k8s.io", "v1", "tokenreviews", "TokenReview", namespaced=False, verbs=CREATE_ONLY,
       virtual=True),
    _b("authorization.k8s.io", "v1", "localsubjectaccessreviews", "LocalSubjectAccessReview",
       verbs=CREATE_ONLY, virtual=True),
    _b("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview",
       namespaced=False, verbs=CREATE_ONLY, virtual=True),
    _b("authorization.k8s.io", "v1", "selfsubjectrulesreviews", "SelfSubjectRulesReview",
       namespaced=False, verbs=CREATE_ONLY, virtual=True),
    _b("authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview", namespaced=False,
       verbs=CREATE_ONLY, virtual=True),
]

# Group order as the real server lists it in /apis.
GROUP_ORDER = [
    "apiregistration.k8s.io", "apps", "events.k8s.io", "authentication.k8s.io", "authorization.k8s.io",
    "autoscaling", "batch", "certificates.k8s.io", "networking.k8s.io", "policy",
    "rbac.authorization.k8s.io", "storage.k8s.io", "admissionregistration.k8s.io",
    "apiextensions.k8s.io", "scheduling.k8s.io", "coordination.k8s.io", "discovery.k8s.io",
]


def version_priority(version: str) -> tuple:
    """Kubernetes version ordering: GA > beta > alpha, higher numbers first,
    non-conforming names last (alphabetically)."""
    import re
    match = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not match:
        return (3, 0, 0, version)
    major = int(match.group(1))
    stage = {None: 0, "beta": 1, "alpha": 2}[match.group(2)]
    minor = int(match.group(3) or 0)
    return (stage, -major, -minor, version)


class Registry:
    """Lookup of resource types by group/version/plural, by kind, by short name."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._by_gvr: dict[tuple[str, str, str], ResourceType] = {}
        self._crd_types: dict[str, list[ResourceType]] = {}   # CRD name -> registered types
        for rt in BUILTINS:
            self._by_gvr[(rt.group, rt.version, rt.plural)] = rt

    # -- lookups -------------------------------------------------------------

    def get(self, group: str, version: str, plural: str) -> Optional[ResourceType]:
        return self._by_gvr.get((group, version, plural))

    def types(self) -> list[ResourceType]:
        with self._lock:
            return list(self._by_gvr.values())

    def by_kind(self, group: str, kind: str, version: str = "") -> Optional[ResourceType]:
        candidates = [rt for rt in self.types() if rt.group == group and rt.kind == kind and not rt.virtual
                      and (not version or rt.version == version)]
        if not candidates:
            return None
        return sorted(candidates, key=lambda rt: version_priority(rt.version))[0]

    def storage_type(self, group: str, plural: str) -> Optional[ResourceType]:
        """The type at its storage version for a group-resource."""
        for rt in self.types():
            if rt.group == group and rt.plural == plural and rt.version == rt.storage_version:
                return rt
        return None

    def stored_types(self) -> list[ResourceType]:
        return [rt for rt in self.types() if rt.version == rt.storage_version and not rt.virtual]

    def groups(self) -> dict[str, list[str]]:
        """group -> served versions, preferred first."""
        versions: dict[str, set] = {}
        for rt in self.types():
            versions.setdefault(rt.group, set()).add(rt.version)
        return {g: sorted(v, key=version_priority) for g, v in versions.items()}

    def ordered_groups(self) -> list[str]:
        groups = self.groups()
        known = [g for g in GROUP_ORDER if g in groups]
        custom = sorted(g for g in groups if g and g not in GROUP_ORDER)
        return known + custom

    def resources_in(self, group: str, version: str) -> list[ResourceType]:
        return sorted((rt for rt in self.types() if rt.group == group and rt.version == version),
                      key=lambda rt: rt.plural)

    # -- custom resources ----------------------------------------------------

    def register_crd(self, crd: dict) -> list[ResourceType]:
        types = crd_types(crd)
        with self._lock:
            self.unregister_crd(crd["metadata"]["name"])
            for rt in types:
                self._by_gvr[(rt.group, rt.version, rt.plural)] = rt
            self._crd_types[crd["metadata"]["name"]] = types
        return types

    def unregister_crd(self, name: str) -> None:
        with self._lock:
            for rt in self._crd_types.pop(name, []):
                self._by_gvr.pop((rt.group, rt.version, rt.plural), None)

    def crd_names(self) -> list[str]:
        return list(self._crd_types)


def crd_types(crd: dict) -> list[ResourceType]:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    versions = spec.get("versions") or []
    served = tuple(v["name"] for v in versions if v.get("served", True))
    storage = next((v["name"] for v in versions if v.get("storage")), served[0] if served else "")
    types = []
    for version in versions:
        if not version.get("served", True):
            continue
        subresources = version.get("subresources") or {}
        subs = tuple(s for s in ("status", "scale") if s in subresources)
        raw_schema = (version.get("schema") or {}).get("openAPIV3Schema")
        scale = subresources.get("scale")
        selectable = tuple(f["jsonPath"].lstrip(".") for f in version.get("selectableFields") or [])
        types.append(ResourceType(
            group=spec.get("group", ""), version=version["name"], plural=names.get("plural", ""),
            kind=names.get("kind", ""), namespaced=spec.get("scope", "Namespaced") == "Namespaced",
            short_names=tuple(names.get("shortNames") or ()), categories=tuple(names.get("categories") or ()),
            singular=names.get("singular") or names.get("kind", "").lower(), subresources=subs,
            generation=True, builtin=False, unconditional_update=False,
            field_labels=DEFAULT_FIELD_LABELS + selectable,
            served_versions=served, storage_version=storage, crd_name=crd["metadata"]["name"],
            printer_columns=tuple(version.get("additionalPrinterColumns") or ()),
            schema=schemas.from_openapi(raw_schema), openapi=raw_schema,
            scale_paths=(scale["specReplicasPath"], scale["statusReplicasPath"],
                         scale.get("labelSelectorPath")) if scale else None,
        ))
    return types
