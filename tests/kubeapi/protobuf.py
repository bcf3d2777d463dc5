"""Decoding of ``application/vnd.kubernetes.protobuf`` request bodies.

Go clients built on typed clientsets (``kubectl create namespace|secret|
serviceaccount|deployment|token|role...``, ``kubectl auth can-i``) send built-in
objects as protobuf and accept JSON back, and they do not fall back to JSON
when a server refuses protobuf. This module turns such bodies into the JSON
the rest of the server works with.

The envelope is the 4-byte magic ``k8s\\0`` followed by a ``runtime.Unknown``
message (typeMeta, raw). Messages are described below in a compact notation,
``number:jsonName:type`` separated by spaces, covering the kinds those commands
create. Types: ``s`` string, ``b`` bool, ``i`` integer, ``y`` bytes (base64 in
JSON), ``t`` metav1.Time, ``q`` Quantity, ``x`` IntOrString, ``mT`` map of T,
``*T`` repeated T, a message name, ``^Name`` a message embedded inline (Go
struct embedding). A trailing ``?`` marks a Go pointer: its zero value is kept,
other zero values are dropped as ``omitempty`` would. A body of another kind,
or a field number not listed, is refused with a clear error rather than
silently misread."""
from __future__ import annotations

import base64
import datetime
from typing import Any, Optional

from .errors import ApiError

MAGIC = b"k8s\x00"
PROTOBUF = "application/vnd.kubernetes.protobuf"

MESSAGES_SPEC = {
    "Unknown": "1:typeMeta:TypeMeta 2:raw:raw 3:contentEncoding:s 4:contentType:s",
    "TypeMeta": "1:apiVersion:s 2:kind:s",
    "ObjectMeta": "1:name:s 2:generateName:s 3:namespace:s 4:selfLink:s 5:uid:s 6:resourceVersion:s "
                  "7:generation:i 8:creationTimestamp:t 9:deletionTimestamp:t 10:deletionGracePeriodSeconds:i? "
                  "11:labels:ms 12:annotations:ms 13:ownerReferences:*OwnerReference 14:finalizers:*s",
    "OwnerReference": "5:apiVersion:s 1:kind:s 3:name:s 4:uid:s 6:controller:b? 7:blockOwnerDeletion:b?",
    "LabelSelector": "1:matchLabels:ms 2:matchExpressions:*LabelSelectorRequirement",
    "LabelSelectorRequirement": "1:key:s 2:operator:s 3:values:*s",
    "DeleteOptions": "1:gracePeriodSeconds:i? 2:preconditions:Preconditions 3:orphanDependents:b? "
                     "4:propagationPolicy:s? 5:dryRun:*s",
    "Preconditions": "1:uid:s? 2:resourceVersion:s?",
    # core/v1
    "Namespace": "1:metadata:ObjectMeta 2:spec:NamespaceSpec 3:status:Ignored",
    "NamespaceSpec": "1:finalizers:*s",
    "ServiceAccount": "1:metadata:ObjectMeta 2:secrets:*ObjectReference 3:imagePullSecrets:*LocalObjectReference "
                      "4:automountServiceAccountToken:b?",
    "ObjectReference": "1:kind:s 2:namespace:s 3:name:s 4:uid:s 5:apiVersion:s 6:resourceVersion:s 7:fieldPath:s",
    "LocalObjectReference": "1:name:s",
    "Secret": "1:metadata:ObjectMeta 5:immutable:b? 2:data:my 4:stringData:ms 3:type:s",
    "ConfigMap": "1:metadata:ObjectMeta 4:immutable:b? 2:data:ms 3:binaryData:my",
    "Service": "1:metadata:ObjectMeta 2:spec:ServiceSpec 3:status:Ignored",
    "ServiceSpec": "1:ports:*ServicePort 2:selector:ms 3:clusterIP:s 18:clusterIPs:*s 4:type:s 5:externalIPs:*s "
                   "7:sessionAffinity:s 8:loadBalancerIP:s 9:loadBalancerSourceRanges:*s 10:externalName:s "
                   "11:externalTrafficPolicy:s 12:healthCheckNodePort:i 13:publishNotReadyAddresses:b "
                   "19:ipFamilies:*s 17:ipFamilyPolicy:s? 20:allocateLoadBalancerNodePorts:b? "
                   "21:loadBalancerClass:s? 22:internalTrafficPolicy:s? 23:trafficDistribution:s?",
    "ServicePort": "1:name:s 2:protocol:s 6:appProtocol:s? 3:port:i 4:targetPort:x 5:nodePort:i",
    "PodTemplateSpec": "1:metadata:ObjectMeta 2:spec:PodSpec",
    "PodSpec": "1:volumes:*Volume 20:initContainers:*Container 2:containers:*Container 3:restartPolicy:s "
               "4:terminationGracePeriodSeconds:i? 5:activeDeadlineSeconds:i? 6:dnsPolicy:s 7:nodeSelector:ms "
               "8:serviceAccountName:s 9:serviceAccount:s 21:automountServiceAccountToken:b? 10:nodeName:s "
               "11:hostNetwork:b 12:hostPID:b 13:hostIPC:b 14:securityContext:PodSecurityContext "
               "15:imagePullSecrets:*LocalObjectReference 16:hostname:s 17:subdomain:s 19:schedulerName:s "
               "22:tolerations:*Toleration 24:priorityClassName:s 25:priority:i? 30:enableServiceLinks:b? "
               "31:preemptionPolicy:s?",
    "PodSecurityContext": "2:runAsUser:i? 6:runAsGroup:i? 3:runAsNonRoot:b? 4:supplementalGroups:*i 5:fsGroup:i?",
    "Toleration": "1:key:s 2:operator:s 3:value:s 4:effect:s 5:tolerationSeconds:i?",
    "Container": "1:name:s 2:image:s 3:command:*s 4:args:*s 5:workingDir:s 6:ports:*ContainerPort "
                 "19:envFrom:*EnvFromSource 7:env:*EnvVar 8:resources:ResourceRequirements "
                 "9:volumeMounts:*VolumeMount 10:livenessProbe:Probe 11:readinessProbe:Probe 22:startupProbe:Probe "
                 "13:terminationMessagePath:s 20:terminationMessagePolicy:s 14:imagePullPolicy:s "
                 "15:securityContext:SecurityContext 16:stdin:b 17:stdinOnce:b 18:tty:b",
    "ContainerPort": "1:name:s 2:hostPort:i 3:containerPort:i 4:protocol:s 5:hostIP:s",
    "EnvVar": "1:name:s 2:value:s 3:valueFrom:EnvVarSource",
    "EnvVarSource": "1:fieldRef:ObjectFieldSelector 2:resourceFieldRef:ResourceFieldSelector "
                    "3:configMapKeyRef:ConfigMapKeySelector 4:secretKeyRef:SecretKeySelector",
    "ObjectFieldSelector": "1:apiVersion:s 2:fieldPath:s",
    "ResourceFieldSelector": "1:containerName:s 2:resource:s 3:divisor:q",
    "ConfigMapKeySelector": "1:localObjectReference:^LocalObjectReference 2:key:s 3:optional:b?",
    "SecretKeySelector": "1:localObjectReference:^LocalObjectReference 2:key:s 3:optional:b?",
    "EnvFromSource": "1:prefix:s 2:configMapRef:ConfigMapEnvSource 3:secretRef:SecretEnvSource",
    "ConfigMapEnvSource": "1:localObjectReference:^LocalObjectReference 2:optional:b?",
    "SecretEnvSource": "1:localObjectReference:^LocalObjectReference 2:optional:b?",
    "ResourceRequirements": "1:limits:mq 2:requests:mq",
    "VolumeMount": "1:name:s 2:readOnly:b 3:mountPath:s 4:subPath:s 5:mountPropagation:s? 6:subPathExpr:s",
    "Probe": "1:handler:^ProbeHandler 2:initialDelaySeconds:i 3:timeoutSeconds:i 4:periodSeconds:i "
             "5:successThreshold:i 6:failureThreshold:i 7:terminationGracePeriodSeconds:i?",
    "ProbeHandler": "1:exec:ExecAction 2:httpGet:HTTPGetAction 3:tcpSocket:TCPSocketAction",
    "ExecAction": "1:command:*s",
    "HTTPGetAction": "1:path:s 2:port:x 3:host:s 4:scheme:s",
    "TCPSocketAction": "1:port:x 2:host:s",
    "SecurityContext": "1:capabilities:Capabilities 2:privileged:b? 4:runAsUser:i? 8:runAsGroup:i? "
                       "5:runAsNonRoot:b? 6:readOnlyRootFilesystem:b? 7:allowPrivilegeEscalation:b?",
    "Capabilities": "1:add:*s 2:drop:*s",
    "Volume": "1:name:s 2:volumeSource:^VolumeSource",
    "VolumeSource": "1:hostPath:HostPathVolumeSource 2:emptyDir:EmptyDirVolumeSource 6:secret:SecretVolumeSource "
                    "10:persistentVolumeClaim:PersistentVolumeClaimVolumeSource 16:downwardAPI:DownwardAPIVolumeSource "
                    "19:configMap:ConfigMapVolumeSource 26:projected:ProjectedVolumeSource",
    "HostPathVolumeSource": "1:path:s 2:type:s?",
    "EmptyDirVolumeSource": "1:medium:s 2:sizeLimit:q",
    "SecretVolumeSource": "1:secretName:s 2:items:*KeyToPath 3:defaultMode:i? 4:optional:b?",
    "ConfigMapVolumeSource": "1:localObjectReference:^LocalObjectReference 2:items:*KeyToPath 3:defaultMode:i? "
                             "4:optional:b?",
    "KeyToPath": "1:key:s 2:path:s 3:mode:i?",
    "PersistentVolumeClaimVolumeSource": "1:claimName:s 2:readOnly:b",
    "DownwardAPIVolumeSource": "1:items:*DownwardAPIVolumeFile 2:defaultMode:i?",
    "DownwardAPIVolumeFile": "1:path:s 2:fieldRef:ObjectFieldSelector 3:resourceFieldRef:ResourceFieldSelector "
                             "4:mode:i?",
    "ProjectedVolumeSource": "1:sources:*VolumeProjection 2:defaultMode:i?",
    "VolumeProjection": "1:secret:SecretProjection 2:downwardAPI:DownwardAPIVolumeSource "
                        "3:configMap:ConfigMapProjection 4:serviceAccountToken:ServiceAccountTokenProjection",
    "SecretProjection": "1:localObjectReference:^LocalObjectReference 2:items:*KeyToPath 4:optional:b?",
    "ConfigMapProjection": "1:localObjectReference:^LocalObjectReference 2:items:*KeyToPath 4:optional:b?",
    "ServiceAccountTokenProjection": "1:audience:s 2:expirationSeconds:i? 3:path:s",
    # apps/v1
    "Deployment": "1:metadata:ObjectMeta 2:spec:DeploymentSpec 3:status:Ignored",
    "DeploymentSpec": "1:replicas:i? 2:selector:LabelSelector 3:template:PodTemplateSpec 4:strategy:DeploymentStrategy "
                      "5:minReadySeconds:i 6:revisionHistoryLimit:i? 7:paused:b 9:progressDeadlineSeconds:i?",
    "DeploymentStrategy": "1:type:s 2:rollingUpdate:RollingUpdateDeployment",
    "RollingUpdateDeployment": "1:maxUnavailable:x 2:maxSurge:x",
    "Ignored": "",   # status of a request body: server-owned, skipped
    # authentication, authorization, policy
    "TokenRequest": "1:metadata:ObjectMeta 2:spec:TokenRequestSpec 3:status:Ignored",
    "TokenRequestSpec": "1:audiences:*s 4:expirationSeconds:i? 3:boundObjectRef:BoundObjectReference",
    "BoundObjectReference": "1:kind:s 2:apiVersion:s 3:name:s 4:uid:s",
    "SelfSubjectReview": "1:metadata:ObjectMeta 2:status:Ignored",
    "SelfSubjectAccessReview": "1:metadata:ObjectMeta 2:spec:SelfSubjectAccessReviewSpec 3:status:Ignored",
    "SelfSubjectRulesReview": "1:metadata:ObjectMeta 2:spec:SelfSubjectRulesReviewSpec 3:status:Ignored",
    "SelfSubjectRulesReviewSpec": "1:namespace:s",
    "SelfSubjectAccessReviewSpec": "1:resourceAttributes:ResourceAttributes 2:nonResourceAttributes:NonResourceAttributes",
    "ResourceAttributes": "1:namespace:s 2:verb:s 3:group:s 4:version:s 5:resource:s 6:subresource:s 7:name:s",
    "NonResourceAttributes": "1:path:s 2:verb:s",
    "Eviction": "1:metadata:ObjectMeta 2:deleteOptions:DeleteOptions",
    # rbac/v1, scheduling/v1
    "Role": "1:metadata:ObjectMeta 2:rules:*PolicyRule",
    "ClusterRole": "1:metadata:ObjectMeta 2:rules:*PolicyRule 3:aggregationRule:AggregationRule",
    "RoleBinding": "1:metadata:ObjectMeta 2:subjects:*Subject 3:roleRef:RoleRef",
    "ClusterRoleBinding": "1:metadata:ObjectMeta 2:subjects:*Subject 3:roleRef:RoleRef",
    "PolicyRule": "1:verbs:*s 2:apiGroups:*s 3:resources:*s 4:resourceNames:*s 5:nonResourceURLs:*s",
    "Subject": "1:kind:s 2:apiGroup:s 3:name:s 4:namespace:s",
    "RoleRef": "1:apiGroup:s 2:kind:s 3:name:s",
    "AggregationRule": "1:clusterRoleSelectors:*LabelSelector",
    "PriorityClass": "1:metadata:ObjectMeta 2:value:i 3:globalDefault:b 4:description:s 5:preemptionPolicy:s?",
}

# (group, kind) of top-level objects this module can read.
TOP_LEVEL = {("", "Namespace"), ("", "ServiceAccount"), ("", "Secret"), ("", "ConfigMap"), ("", "Service"),
             ("apps", "Deployment"), ("authentication.k8s.io", "TokenRequest"),
             ("authentication.k8s.io", "SelfSubjectReview"), ("authorization.k8s.io", "SelfSubjectAccessReview"),
             ("authorization.k8s.io", "SelfSubjectRulesReview"), ("policy", "Eviction"),
             ("rbac.authorization.k8s.io", "Role"), ("rbac.authorization.k8s.io", "ClusterRole"),
             ("rbac.authorization.k8s.io", "RoleBinding"), ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
             ("scheduling.k8s.io", "PriorityClass"), ("meta.k8s.io", "DeleteOptions"), ("", "DeleteOptions")}


def _parse_specs() -> dict:
    messages = {}
    for name, spec in MESSAGES_SPEC.items():
        fields = {}
        for entry in spec.split():
            number, json_name, kind = entry.split(":")
            pointer = kind.endswith("?")
            fields[int(number)] = (json_name, kind.rstrip("?"), pointer)
        messages[name] = fields
    return messages


MESSAGES = _parse_specs()


def _unsupported(message: str) -> ApiError:
    return ApiError(415, f"{message}; the test API server reads protobuf bodies only for the kinds listed in "
                    "tests/kubeapi/protobuf.py - send application/json instead", "UnsupportedMediaType")


# --- wire format ---------------------------------------------------------------------------

def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ApiError(400, "truncated protobuf body", "BadRequest")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes) -> list[tuple[int, int, Any]]:
    """(field number, wire type, value) in order."""
    out = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            value = data[pos:pos + length]
            pos += length
        elif wire == 1:
            value = int.from_bytes(data[pos:pos + 8], "little")
            pos += 8
        elif wire == 5:
            value = int.from_bytes(data[pos:pos + 4], "little")
            pos += 4
        else:
            raise ApiError(400, f"unsupported protobuf wire type {wire}", "BadRequest")
        out.append((number, wire, value))
    return out


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _scalar(kind: str, wire: int, value: Any) -> Any:
    if kind == "s":
        return bytes(value).decode("utf-8")
    if kind == "y":
        return base64.b64encode(bytes(value)).decode()
    if kind == "b":
        return bool(value)
    if kind == "i":
        return _signed(value)
    if kind == "t":
        fields = {n: v for n, _unused, v in _fields(value)}
        seconds = _signed(fields.get(1, 0))
        if not seconds:
            return None
        stamp = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
        return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    if kind == "q":
        fields = {n: v for n, _unused, v in _fields(value)}
        return bytes(fields.get(1, b"")).decode()
    if kind == "x":
        fields = {n: v for n, _unused, v in _fields(value)}
        if fields.get(1, 0) == 1:
            return bytes(fields.get(3, b"")).decode()
        return _signed(fields.get(2, 0))
    return None


def _empty(value: Any) -> bool:
    return value in (None, "", 0, False, {}, [])


def decode_message(name: str, data: bytes) -> dict:
    spec = MESSAGES.get(name)
    if name == "Ignored":
        return {}
    if spec is None:
        raise _unsupported(f"protobuf message {name} is not supported")
    out: dict = {}
    for number, wire, value in _fields(data):
        field = spec.get(number)
        if field is None:
            raise _unsupported(f"protobuf field {number} of {name} is not supported")
        json_name, kind, pointer = field
        repeated = kind.startswith("*")
        base = kind.lstrip("*")
        if base.startswith("m") and len(base) == 2:
            entry = {n: v for n, _unused, v in _fields(value)}
            key = bytes(entry.get(1, b"")).decode()
            out.setdefault(json_name, {})[key] = _scalar(base[1], 2, entry.get(2, b""))
            continue
        if repeated and base == "i" and wire == 2:   # packed integers
            items, pos = [], 0
            while pos < len(value):
                item, pos = _varint(value, pos)
                items.append(_signed(item))
            out.setdefault(json_name, []).extend(items)
            continue
        if base in ("s", "y", "b", "i", "t", "q", "x"):
            decoded = _scalar(base, wire, value)
        elif base.startswith("^"):
            out.update(decode_message(base[1:], value))
            continue
        else:
            decoded = decode_message(base, value)
        if repeated:
            out.setdefault(json_name, []).append(decoded)
        elif pointer or not _empty(decoded):
            out[json_name] = decoded
    return out


def decode(body: bytes, group: str, kind_hint: str = "") -> dict:
    """A Kubernetes protobuf request body as the equivalent JSON object."""
    if not body.startswith(MAGIC):
        raise ApiError(400, "protobuf body without the k8s envelope", "BadRequest")
    envelope = {n: v for n, _unused, v in _fields(body[len(MAGIC):])}
    type_meta = {n: v for n, _unused, v in _fields(envelope.get(1, b""))}
    api_version = bytes(type_meta.get(1, b"")).decode()
    kind = bytes(type_meta.get(2, b"")).decode() or kind_hint
    body_group = api_version.rpartition("/")[0] if "/" in api_version else ""
    if (body_group or group, kind) not in TOP_LEVEL:
        raise _unsupported(f"protobuf bodies of kind {kind!r} are not supported")
    obj = decode_message(kind, envelope.get(2, b""))
    ordered: dict = {}
    if api_version:
        ordered["apiVersion"] = api_version
    ordered["kind"] = kind
    ordered.update(obj)
    return ordered


def is_protobuf(content_type: Optional[str]) -> bool:
    return (content_type or "").split(";")[0].strip() == PROTOBUF
