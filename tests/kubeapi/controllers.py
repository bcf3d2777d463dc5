"""What the control plane does in reaction to writes, run synchronously:

* per-kind strategy (namespace finalizer and phase, Service IPs and ports,
  initial Pod status);
* CRD establishment (registers the kind, sets acceptedNames, Established and
  NamesAccepted) and removal;
* namespace bootstrap (``default`` ServiceAccount, ``kube-root-ca.crt``);
* the token controller for ``kubernetes.io/service-account-token`` Secrets;
* TokenRequest and the review kinds;
* hand-off to the workload simulation (``simulate.py``)."""
from __future__ import annotations

import base64
import datetime
import ipaddress
import time
from dataclasses import dataclass
from typing import Optional

from . import certs
from .api import Call, deep, now
from .errors import ApiError, FieldError, bad_request, not_found
from .registry import ResourceType
from .store import meta

SA_TOKEN_TYPE = "kubernetes.io/service-account-token"
SA_NAME_ANNOTATION = "kubernetes.io/service-account.name"
SA_UID_ANNOTATION = "kubernetes.io/service-account.uid"
CRDS = ("apiextensions.k8s.io", "customresourcedefinitions")
ADMIN_USER = {"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]}


@dataclass
class Identity:
    username: str
    groups: list
    uid: str = ""
    secret: tuple = ()          # (namespace, name) of a legacy token Secret
    expires: float = 0.0


class ControllersMixin:
    issuer = "https://kubernetes.default.svc.cluster.local"

    def _init_controllers(self) -> None:
        self.tokens: dict[str, Identity] = {}
        self._next_ip = 1
        self._next_node_port = 30000
        self._next_lb_ip = 1

    # -- strategy hooks -------------------------------------------------------------

    def prepare_kind(self, rt: ResourceType, obj: dict, old: Optional[dict]) -> None:
        if not rt.builtin:
            return
        kind = (rt.group, rt.kind)
        if kind == ("", "Namespace"):
            spec = obj.setdefault("spec", {})
            if old is None:
                spec.setdefault("finalizers", ["kubernetes"])
                obj["status"] = {"phase": "Active"}
            else:
                spec["finalizers"] = (old.get("spec") or {}).get("finalizers", spec.get("finalizers"))
        elif kind == ("", "Service"):
            self._prepare_service(obj, old)
        elif kind == ("", "Pod") and old is None:
            obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}

    def _prepare_service(self, obj: dict, old: Optional[dict]) -> None:
        spec = obj.setdefault("spec", {})
        old_spec = (old or {}).get("spec") or {}
        if spec.get("type") == "ExternalName":
            return
        for key in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
            if spec.get(key) in (None, "", []) and key in old_spec:
                spec[key] = old_spec[key]
        if not spec.get("clusterIP"):
            spec["clusterIP"] = self._allocate_ip()
        if not spec.get("clusterIPs"):
            spec["clusterIPs"] = [spec["clusterIP"]]
        if spec["clusterIP"] != "None":
            spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            old_ports = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
                         for p in old_spec.get("ports") or []}
            for port in spec.get("ports") or []:
                if not port.get("nodePort"):
                    port["nodePort"] = old_ports.get((port.get("port"), port.get("protocol", "TCP"))) or \
                        self._allocate_node_port()
        if old is None:
            obj["status"] = {"loadBalancer": {}}

    def _allocate_ip(self) -> str:
        self._next_ip += 1
        return str(ipaddress.ip_address("10.96.0.0") + self._next_ip)

    def _allocate_node_port(self) -> int:
        self._next_node_port += 1
        return self._next_node_port

    def validate_kind(self, rt: ResourceType, obj: dict, old: Optional[dict]) -> list[FieldError]:
        if rt.builtin and rt.kind == "Secret" and obj.get("type") == SA_TOKEN_TYPE:
            if not (meta(obj).get("annotations") or {}).get(SA_NAME_ANNOTATION):
                return [FieldError(f"metadata.annotations[{SA_NAME_ANNOTATION}]", "Required value")]
        return []

    # -- reactions ---------------------------------------------------------------------

    def after_write(self, rt: ResourceType, old: Optional[dict], new: dict) -> None:
        gr = rt.gr
        if gr == CRDS:
            self._establish_crd(new)
        elif gr == ("", "namespaces") and old is None:
            self._bootstrap_namespace(meta(new)["name"])
        elif gr == ("", "serviceaccounts") and old is None:
            self._fill_tokens_for(meta(new)["namespace"], meta(new)["name"])
        elif gr == ("", "secrets") and new.get("type") == SA_TOKEN_TYPE:
            self._fill_token_secret(new)
        self.simulate_after_write(rt, old, new)

    def after_delete(self, rt: ResourceType, obj: dict) -> None:
        m = meta(obj)
        if rt.gr == CRDS:
            self._remove_crd(obj)
        elif rt.gr == ("", "serviceaccounts"):
            for secret in self.store.items(("", "secrets"), m["namespace"]):
                annotations = meta(secret).get("annotations") or {}
                if secret.get("type") == SA_TOKEN_TYPE and annotations.get(SA_NAME_ANNOTATION) == m["name"]:
                    self.delete_object(rt_of(self, "", "secrets"), secret, "Background")
        elif rt.gr == ("", "secrets"):
            for token in [t for t, ident in self.tokens.items() if ident.secret == (m.get("namespace"), m["name"])]:
                del self.tokens[token]
        self.simulate_after_delete(rt, obj)

    # -- CRDs ---------------------------------------------------------------------------

    def _establish_crd(self, crd: dict) -> None:
        if meta(crd).get("deletionTimestamp"):
            return
        self.registry.register_crd(crd)
        spec = crd.get("spec") or {}
        names = dict(spec.get("names") or {})
        names.setdefault("singular", names.get("kind", "").lower())
        names.setdefault("listKind", names.get("kind", "") + "List")
        storage = next((v["name"] for v in spec.get("versions") or [] if v.get("storage")), "")
        crd_rt = rt_of(self, "apiextensions.k8s.io", "customresourcedefinitions")

        def change(obj: dict) -> None:
            status = obj.setdefault("status", {})
            status["acceptedNames"] = names
            stored = list(status.get("storedVersions") or [])
            if storage and storage not in stored:
                stored.append(storage)
            status["storedVersions"] = stored
            _condition(status, "NamesAccepted", "True", "NoConflicts", "no conflicts found")
            _condition(status, "Established", "True", "InitialNamesAccepted", "the initial names have been accepted")
        self.controller_write(crd_rt, crd, change, manager="kube-apiserver")

    def _remove_crd(self, crd: dict) -> None:
        spec = crd.get("spec") or {}
        plural = (spec.get("names") or {}).get("plural", "")
        self.registry.unregister_crd(meta(crd)["name"])
        self.store.drop_group((spec.get("group", ""), plural))

    # -- namespaces, tokens ------------------------------------------------------------------

    def _bootstrap_namespace(self, namespace: str) -> None:
        if not self.config.namespace_bootstrap:
            return
        self.create_internal("", "ServiceAccount", {"metadata": {"name": "default", "namespace": namespace}})
        self.create_internal("", "ConfigMap", {
            "metadata": {"name": "kube-root-ca.crt", "namespace": namespace,
                         "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to "
                                         "verify the kube-apiserver when using internal endpoints such as the "
                                         "internal service IP or kubernetes.default.svc. No other usage is "
                                         "guaranteed across distributions of Kubernetes clusters."}},
            "data": {"ca.crt": self.pki.ca_pem.decode()}}, manager="kube-controller-manager")

    def _fill_tokens_for(self, namespace: str, name: str) -> None:
        for secret in self.store.items(("", "secrets"), namespace):
            annotations = meta(secret).get("annotations") or {}
            if secret.get("type") == SA_TOKEN_TYPE and annotations.get(SA_NAME_ANNOTATION) == name:
                self._fill_token_secret(secret)

    def _fill_token_secret(self, secret: dict) -> None:
        m = meta(secret)
        if m.get("deletionTimestamp"):
            return
        sa_name = (m.get("annotations") or {}).get(SA_NAME_ANNOTATION)
        sa = self.store.get(("", "serviceaccounts"), m["namespace"], sa_name or "")
        data = secret.get("data") or {}
        if sa is None or (data.get("token") and data.get("ca.crt") and data.get("namespace")):
            return
        sa_uid = meta(sa)["uid"]
        token = self.pki.sign_jwt(certs.token_claims("kubernetes/serviceaccount", m["namespace"], sa_name, sa_uid,
                                                     secret_name=m["name"]))
        self.tokens[token] = Identity(f"system:serviceaccount:{m['namespace']}:{sa_name}",
                                      _sa_groups(m["namespace"]), sa_uid, secret=(m["namespace"], m["name"]))

        def change(obj: dict) -> None:
            obj["metadata"].setdefault("annotations", {})[SA_UID_ANNOTATION] = sa_uid
            values = obj.setdefault("data", {})
            values["ca.crt"] = _b64(self.pki.ca_pem)
            values["namespace"] = _b64(m["namespace"].encode())
            values["token"] = _b64(token.encode())
        self.controller_write(rt_of(self, "", "secrets"), secret, change, subresource="")

    def issue_token(self, namespace: str, name: str, audiences: tuple = (), seconds: int = 3600) -> tuple[str, str]:
        """A bound token for a ServiceAccount (TokenRequest); returns (token, expiry)."""
        sa = self.store.get(("", "serviceaccounts"), namespace, name)
        if sa is None:
            raise not_found("serviceaccounts", "", name)
        seconds = max(int(seconds or 3600), 600)
        claims = certs.token_claims(self.issuer, namespace, name, meta(sa)["uid"], audiences=audiences,
                                    expiration_seconds=seconds)
        token = self.pki.sign_jwt(claims)
        self.tokens[token] = Identity(f"system:serviceaccount:{namespace}:{name}", _sa_groups(namespace),
                                      meta(sa)["uid"], expires=claims["exp"])
        expiry = datetime.datetime.fromtimestamp(claims["exp"], datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return token, expiry

    def authenticate(self, token: str) -> Optional[Identity]:
        if token == self.admin_token:
            return Identity(ADMIN_USER["username"], ADMIN_USER["groups"])
        ident = self.tokens.get(token)
        if ident is None:
            return None
        if ident.expires and ident.expires < time.time():
            return None
        if ident.secret and self.store.get(("", "secrets"), *ident.secret) is None:
            return None
        return ident

    # -- subresource and virtual creates ---------------------------------------------------------

    def create_subresource(self, call: Call) -> tuple[int, dict]:
        rt = call.rt
        if rt.plural == "serviceaccounts" and call.subresource == "token":
            body = call.body if isinstance(call.body, dict) else {}
            spec = body.get("spec") or {}
            token, expiry = self.issue_token(call.namespace, call.name, tuple(spec.get("audiences") or ()),
                                             spec.get("expirationSeconds") or 3600)
            out = {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                   "metadata": {"name": call.name, "namespace": call.namespace,
                                "creationTimestamp": None},
                   "spec": {"audiences": list(spec.get("audiences") or [self.issuer]),
                            "expirationSeconds": spec.get("expirationSeconds") or 3600,
                            "boundObjectRef": spec.get("boundObjectRef")},
                   "status": {"token": token, "expirationTimestamp": expiry}}
            return 201, out
        if rt.plural == "pods" and call.subresource == "eviction":
            pod = self.must_get(rt, call.namespace, call.name)
            if not call.dry_run:
                self.delete_object(self.storage_rt(rt), pod, "Background")
                call.record["persisted"] = True
            return 201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
        raise ApiError(405, f"the server does not allow this method on the requested resource "
                       f"({call.rt.plural}/{call.subresource})", "MethodNotAllowed")

    def review(self, call: Call, identity: Optional[Identity]) -> tuple[int, dict]:
        body = call.body if isinstance(call.body, dict) else {}
        if not body:
            raise bad_request("the object provided is unrecognized")
        out = deep(body)
        out["apiVersion"] = call.rt.group_version
        out["kind"] = call.rt.kind
        out.setdefault("metadata", {})["creationTimestamp"] = None
        user = identity or Identity(ADMIN_USER["username"], ADMIN_USER["groups"])
        kind = call.rt.kind
        if kind == "TokenReview":
            who = self.authenticate((body.get("spec") or {}).get("token", ""))
            out["status"] = {"authenticated": True, "user": {"username": who.username, "uid": who.uid,
                                                             "groups": who.groups}} if who else {}
        elif kind == "SelfSubjectReview":
            out["status"] = {"userInfo": {"username": user.username, "groups": user.groups}}
        elif kind == "SelfSubjectRulesReview":
            out["status"] = {"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                             "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}], "incomplete": False}
        else:
            out["status"] = {"allowed": True, "reason": "RBAC is not enforced by the test API server"}
        return 201, out

    # -- internal object creation ------------------------------------------------------------------

    def create_internal(self, group: str, kind: str, obj: dict, manager: str = "kube-controller-manager",
                        status: Optional[dict] = None) -> dict:
        """Create an object as a controller would (not logged as a client request)."""
        rt = self.registry.by_kind(group, kind)
        if rt is None:
            raise ValueError(f"unknown kind {group}/{kind}")
        body = deep(obj)
        body["apiVersion"] = rt.group_version
        body["kind"] = rt.kind
        m = body.setdefault("metadata", {})
        call = Call("create", rt, m.get("namespace", ""), query={"fieldManager": manager})
        call.body = body
        code, created = self.create(call)
        stored = self.lookup(rt, meta(created).get("namespace", ""), meta(created)["name"])
        if status is not None and stored is not None:
            stored = self.controller_write(rt, stored, lambda o: o.__setitem__("status", deep(status)),
                                           manager=manager)
        return stored or created


def rt_of(cluster, group: str, plural: str) -> ResourceType:
    rt = cluster.registry.storage_type(group, plural)
    assert rt is not None, (group, plural)
    return rt


def _condition(status: dict, kind: str, value: str, reason: str, message: str) -> None:
    conditions = list(status.get("conditions") or [])
    current = next((c for c in conditions if c.get("type") == kind), None)
    if current is not None and current.get("status") == value and current.get("reason") == reason:
        return
    entry = {"type": kind, "status": value, "lastTransitionTime": now(), "reason": reason, "message": message}
    conditions = [c for c in conditions if c.get("type") != kind] + [entry]
    status["conditions"] = conditions


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _sa_groups(namespace: str) -> list:
    return ["system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"]
