"""Structural knowledge of objects: which lists are merged by key, which maps
are atomic, which nested structs exist in a fresh object.

Server-side apply (``x-kubernetes-list-type``/``-list-map-keys``/``-map-type``)
and strategic merge patch (``patchMergeKey``/``patchStrategy``) both read this.
Built-in kinds use the hand-written trees below (covering the fields the kinds
Istio renders actually use); custom resources get a tree built from their
CRD's ``openAPIV3Schema``. Anything not described is a granular struct for
maps and atomic for lists, which is also the Kubernetes default."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional


@dataclass
class Node:
    fields: dict = field(default_factory=dict)   # declared struct fields
    elem: Optional["Node"] = None                # map values / list items
    is_map: bool = False                         # keys are data, not declared fields
    list_type: str = ""                          # "", "atomic", "set" or "map"
    keys: tuple = ()                             # list-map keys
    atomic: bool = False                         # atomic map/struct
    smp_key: str = ""                            # strategic merge patchMergeKey
    smp_strategy: str = ""                       # "merge", "retainKeys", "merge,retainKeys"
    zero: bool = False                           # exists (empty) in a freshly made built-in object
    unknown_is_map: bool = False                 # preserve-unknown-fields: children are map entries

    def child(self, name: str) -> "Node":
        found = self.fields.get(name)
        if found is not None:
            return found
        if self.elem is not None and (self.is_map or not self.fields):
            return self.elem
        return ANY_MAP if self.unknown_is_map else ANY

    def declares(self, name: str) -> bool:
        """SSA records map entries (not struct fields) as owned even when they are maps."""
        if name in self.fields:
            return True
        return not (self.is_map or self.unknown_is_map)

    def item(self) -> "Node":
        return self.elem if self.elem is not None else ANY

    @property
    def granular_list(self) -> bool:
        return self.list_type in ("set", "map")


ANY = Node()
ANY_MAP = Node(is_map=True, unknown_is_map=True)
ANY_MAP.elem = ANY_MAP
ATOMIC = Node(atomic=True, list_type="atomic")
SCALAR_MAP = Node(is_map=True)          # map[string]string and friends
ATOMIC_MAP = Node(is_map=True, atomic=True)   # +mapType=atomic: owned and replaced as a whole


def struct(zero: bool = False, atomic: bool = False, smp: str = "", **fields: Node) -> Node:
    return Node(fields=dict(fields), zero=zero, atomic=atomic, smp_strategy=smp)


def list_map(keys: tuple, item: Optional[Node] = None, smp_key: Optional[str] = None,
             smp: str = "merge", zero: bool = False) -> Node:
    return Node(elem=item or Node(), list_type="map", keys=keys,
                smp_key=keys[0] if smp_key is None else smp_key, smp_strategy=smp, zero=zero)


def set_list(smp: str = "merge") -> Node:
    return Node(elem=ANY, list_type="set", smp_strategy=smp)


def atomic_list(smp_key: str = "", smp: str = "") -> Node:
    """Atomic for SSA; strategic merge may still merge it by key."""
    return Node(elem=Node(), list_type="atomic", smp_key=smp_key, smp_strategy=smp)


# --- shared pieces -----------------------------------------------------------

LABEL_SELECTOR = struct(atomic=True)
CONDITIONS = list_map(("type",))

OBJECT_META = struct(
    zero=True,
    labels=SCALAR_MAP, annotations=SCALAR_MAP,
    finalizers=set_list(),
    ownerReferences=list_map(("uid",)),
    managedFields=ATOMIC,
)

CONTAINER = struct(
    ports=list_map(("containerPort", "protocol"), smp_key="containerPort"),
    env=list_map(("name",)),
    envFrom=atomic_list(),
    volumeMounts=list_map(("mountPath",)),
    volumeDevices=list_map(("devicePath",)),
    resizePolicy=atomic_list(),
    args=ATOMIC, command=ATOMIC,
    resources=struct(limits=SCALAR_MAP, requests=SCALAR_MAP, claims=list_map(("name",))),
)

POD_SPEC = struct(
    zero=True,
    containers=list_map(("name",), CONTAINER, zero=True),
    initContainers=list_map(("name",), CONTAINER),
    ephemeralContainers=list_map(("name",), CONTAINER),
    volumes=list_map(("name",), smp="merge,retainKeys"),
    imagePullSecrets=list_map(("name",)),
    hostAliases=list_map(("ip",)),
    topologySpreadConstraints=list_map(("topologyKey", "whenUnsatisfiable"), smp_key="topologyKey"),
    schedulingGates=list_map(("name",)),
    resourceClaims=list_map(("name",), smp="merge,retainKeys"),
    tolerations=atomic_list(),
    readinessGates=atomic_list(),
    nodeSelector=ATOMIC_MAP,
)

POD_TEMPLATE = struct(zero=True, metadata=OBJECT_META, spec=POD_SPEC)
STATUS = struct(zero=True, conditions=CONDITIONS)


def kind_root(spec: Optional[Node] = None, status: Optional[Node] = None, **top: Node) -> Node:
    fields = {"metadata": OBJECT_META}
    if spec is not None:
        fields["spec"] = spec
    if status is not None:
        fields["status"] = status
    fields.update(top)
    return Node(fields=fields)


WORKLOAD_STATUS = struct(zero=True, conditions=CONDITIONS)

WEBHOOK = struct(namespaceSelector=LABEL_SELECTOR, objectSelector=LABEL_SELECTOR,
                 rules=atomic_list(), admissionReviewVersions=ATOMIC,
                 matchConditions=list_map(("name",)))

SERVICE_PORTS = list_map(("port", "protocol"), smp_key="port")

# Keyed by (group, kind).
BUILTIN: dict[tuple[str, str], Node] = {
    ("", "Pod"): kind_root(POD_SPEC, struct(zero=True, conditions=CONDITIONS,
                                            podIPs=list_map(("ip",)),
                                            containerStatuses=atomic_list(),
                                            initContainerStatuses=atomic_list())),
    ("", "PodTemplate"): kind_root(template=POD_TEMPLATE),
    ("", "Service"): kind_root(struct(zero=True, ports=SERVICE_PORTS, selector=ATOMIC_MAP,
                                      clusterIPs=ATOMIC, ipFamilies=ATOMIC, externalIPs=ATOMIC),
                               struct(zero=True, conditions=CONDITIONS)),
    ("", "Namespace"): kind_root(struct(zero=True, finalizers=ATOMIC), STATUS),
    ("", "Node"): kind_root(struct(zero=True, taints=atomic_list(), podCIDRs=set_list()),
                            struct(zero=True, conditions=CONDITIONS, addresses=atomic_list("type", "merge"),
                                   capacity=SCALAR_MAP, allocatable=SCALAR_MAP, images=ATOMIC)),
    ("", "ServiceAccount"): kind_root(secrets=list_map(("name",)), imagePullSecrets=atomic_list()),
    ("", "ConfigMap"): kind_root(data=SCALAR_MAP, binaryData=SCALAR_MAP),
    ("", "Secret"): kind_root(data=SCALAR_MAP, stringData=SCALAR_MAP),
    ("", "Endpoints"): kind_root(subsets=atomic_list()),
    ("", "ResourceQuota"): kind_root(struct(zero=True, hard=SCALAR_MAP, scopes=ATOMIC),
                                     struct(zero=True, hard=SCALAR_MAP, used=SCALAR_MAP)),
    ("", "LimitRange"): kind_root(struct(zero=True, limits=atomic_list())),
    ("", "ReplicationController"): kind_root(struct(zero=True, selector=ATOMIC_MAP, template=POD_TEMPLATE),
                                             WORKLOAD_STATUS),
    ("", "PersistentVolumeClaim"): kind_root(struct(zero=True, accessModes=ATOMIC), STATUS),
    ("apps", "Deployment"): kind_root(
        struct(zero=True, selector=LABEL_SELECTOR, template=POD_TEMPLATE,
               strategy=struct(zero=True, smp="retainKeys")), WORKLOAD_STATUS),
    ("apps", "DaemonSet"): kind_root(
        struct(zero=True, selector=LABEL_SELECTOR, template=POD_TEMPLATE,
               updateStrategy=struct(zero=True, smp="retainKeys")), WORKLOAD_STATUS),
    ("apps", "StatefulSet"): kind_root(
        struct(zero=True, selector=LABEL_SELECTOR, template=POD_TEMPLATE,
               volumeClaimTemplates=atomic_list(), updateStrategy=struct(zero=True, smp="retainKeys")),
        WORKLOAD_STATUS),
    ("apps", "ReplicaSet"): kind_root(struct(zero=True, selector=LABEL_SELECTOR, template=POD_TEMPLATE),
                                      WORKLOAD_STATUS),
    ("batch", "Job"): kind_root(struct(zero=True, selector=LABEL_SELECTOR, template=POD_TEMPLATE),
                                WORKLOAD_STATUS),
    ("batch", "CronJob"): kind_root(
        struct(zero=True, jobTemplate=struct(zero=True, metadata=OBJECT_META,
                                             spec=struct(zero=True, template=POD_TEMPLATE,
                                                         selector=LABEL_SELECTOR))),
        struct(zero=True, active=atomic_list())),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"): kind_root(
        webhooks=list_map(("name",), WEBHOOK)),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"): kind_root(
        webhooks=list_map(("name",), WEBHOOK)),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"): kind_root(
        struct(zero=True, validations=atomic_list(), auditAnnotations=atomic_list(),
               matchConditions=list_map(("name",)), variables=atomic_list(),
               matchConstraints=struct(resourceRules=atomic_list(), excludeResourceRules=atomic_list(),
                                       namespaceSelector=LABEL_SELECTOR, objectSelector=LABEL_SELECTOR)),
        STATUS),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"): kind_root(
        struct(zero=True, validationActions=set_list(),
               matchResources=struct(resourceRules=atomic_list(), excludeResourceRules=atomic_list(),
                                     namespaceSelector=LABEL_SELECTOR, objectSelector=LABEL_SELECTOR))),
    ("rbac.authorization.k8s.io", "Role"): kind_root(rules=atomic_list()),
    ("rbac.authorization.k8s.io", "ClusterRole"): kind_root(
        rules=atomic_list(), aggregationRule=struct(clusterRoleSelectors=atomic_list())),
    ("rbac.authorization.k8s.io", "RoleBinding"): kind_root(subjects=atomic_list(), roleRef=struct(zero=True)),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): kind_root(subjects=atomic_list(),
                                                                   roleRef=struct(zero=True)),
    ("apiextensions.k8s.io", "CustomResourceDefinition"): kind_root(
        struct(zero=True, versions=atomic_list(), names=struct(zero=True, shortNames=ATOMIC, categories=ATOMIC)),
        struct(zero=True, conditions=CONDITIONS, storedVersions=ATOMIC,
               acceptedNames=struct(zero=True, shortNames=ATOMIC, categories=ATOMIC))),
    ("policy", "PodDisruptionBudget"): kind_root(struct(zero=True, selector=LABEL_SELECTOR),
                                                 struct(zero=True, conditions=CONDITIONS, disruptedPods=SCALAR_MAP)),
    ("autoscaling", "HorizontalPodAutoscaler"): kind_root(
        struct(zero=True, metrics=atomic_list(),
               behavior=struct(scaleUp=struct(policies=atomic_list()), scaleDown=struct(policies=atomic_list()))),
        struct(zero=True, conditions=CONDITIONS, currentMetrics=atomic_list())),
    ("discovery.k8s.io", "EndpointSlice"): kind_root(endpoints=atomic_list(), ports=atomic_list()),
    ("networking.k8s.io", "NetworkPolicy"): kind_root(
        struct(zero=True, podSelector=LABEL_SELECTOR, ingress=atomic_list(), egress=atomic_list(),
               policyTypes=atomic_list())),
    ("networking.k8s.io", "Ingress"): kind_root(struct(zero=True, rules=atomic_list(), tls=atomic_list()),
                                                struct(zero=True)),
    ("coordination.k8s.io", "Lease"): kind_root(struct(zero=True)),
}

GENERIC_BUILTIN = kind_root(struct(zero=True), struct(zero=True))


def builtin_schema(group: str, kind: str) -> Node:
    return BUILTIN.get((group, kind), GENERIC_BUILTIN)


# --- custom resources ------------------------------------------------------

def from_openapi(raw: Optional[dict]) -> Node:
    """A Node tree for an object of a CRD version (``openAPIV3Schema``)."""
    root = _convert(raw or {"type": "object", "x-kubernetes-preserve-unknown-fields": True})
    fields = dict(root.fields)
    fields["metadata"] = OBJECT_META
    root.fields = fields
    return root


def _convert(raw: dict) -> Node:
    if raw.get("type") == "array" or "items" in raw:
        list_type = raw.get("x-kubernetes-list-type", "atomic")
        item = _convert(raw.get("items") or {})
        keys = tuple(raw.get("x-kubernetes-list-map-keys") or ())
        return Node(elem=item, list_type=list_type, keys=keys)
    node = Node(atomic=raw.get("x-kubernetes-map-type") == "atomic",
                unknown_is_map=bool(raw.get("x-kubernetes-preserve-unknown-fields")))
    props = raw.get("properties")
    if props:
        node.fields = {name: _convert(sub) for name, sub in props.items()}
    additional = raw.get("additionalProperties")
    if isinstance(additional, dict):
        node.is_map = True
        node.elem = _convert(additional)
    elif node.unknown_is_map and not props:
        node.is_map = True
        node.elem = ANY_MAP
    if raw.get("x-kubernetes-embedded-resource"):
        node.fields = dict(node.fields, metadata=OBJECT_META)
    return node
