# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What ``istioctl create-remote-secret | kubectl apply`` does, as two units on two clusters.

On the *remote* cluster (the one istiod will read): a service account, a
ClusterRole and binding that let it read what discovery needs, and a
long-lived token Secret the token controller fills in. On the *receiving*
cluster (a primary, or the external control plane's cluster): a Secret with a
kubeconfig for that service account, labelled so that istiod picks it up.

Differences from istioctl, on purpose:

- each receiving cluster can get its own token Secret (``consumer``), so that
  dropping one primary from the mesh revokes its credentials only;
- the reader objects are applied under their own field manager and adopted
  when they exist, so the charts' own reader service account is never rewritten
  or deleted by us;
- the kubeconfig's server can be overridden (a cluster whose API address seen
  from the primary is not the one Ansible uses, e.g. kind's node address).
"""
from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s import _inventory as inventory
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._inventory import UnitKey
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._unit import remove_unit, sync_unit
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._waiter import Check, wait_until

try:
    import yaml
    _Dumper = getattr(yaml, "CSafeDumper", None) or yaml.SafeDumper
except ImportError:  # pragma: no cover - the module reports it
    yaml = None

REMOTE, CONFIG = "remote", "config"
READER_SERVICE_ACCOUNT = "istio-reader-service-account"
CONFIG_SERVICE_ACCOUNT = "istiod"
TOKEN_SECRET_TYPE = "kubernetes.io/service-account-token"
SERVICE_ACCOUNT_ANNOTATION = "kubernetes.io/service-account.name"
MULTICLUSTER_LABEL = "istio/multiCluster"
CLUSTER_ANNOTATION = "networking.istio.io/cluster"
# istiod of an external control plane mounts this Secret and reads the key "config"
CONFIG_SECRET_NAME, CONFIG_SECRET_KEY = "istio-kubeconfig", "config"
REMOTE_FIELD_MANAGER = "servicemesh.istio/remote-secret"
READER_UNIT, TOKEN_UNIT, SECRET_UNIT = "remote-reader", "remote-token", "remote-secret"

_READ = ["get", "list", "watch"]
# What istiod reads in a cluster it discovers from but does not configure.
READER_RULES: List[Dict[str, Any]] = [
    # mesh configuration kinds (the config cluster is read the same way)
    {"apiGroups": ["config.istio.io", "security.istio.io", "networking.istio.io", "telemetry.istio.io",
                   "extensions.istio.io", "authentication.istio.io", "rbac.istio.io"],
     "resources": ["*"], "verbs": _READ},
    # services, endpoints and workloads; secrets for gateways' TLS credentials
    {"apiGroups": [""], "resources": ["endpoints", "pods", "services", "nodes", "namespaces", "secrets",
                                      "replicationcontrollers"], "verbs": _READ},
    {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": _READ},
    {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": _READ},
    {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses", "ingressclasses"], "verbs": _READ},
    {"apiGroups": ["gateway.networking.k8s.io", "networking.x-k8s.io"], "resources": ["*"], "verbs": _READ},
    {"apiGroups": ["multicluster.x-k8s.io"], "resources": ["serviceexports", "serviceimports"], "verbs": _READ},
    {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"], "verbs": _READ},
    # authenticating proxies of that cluster
    {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
    {"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"], "verbs": ["create"]},
]

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class RemoteSecretError(IstioError):
    """Input or cluster state that does not allow a remote secret."""


def label_safe(name: str, limit: int = 63) -> str:
    """``name`` if short enough, else a cut with a digest, so that distinct names stay distinct."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    return "%s-%s" % (name[:limit - 9].rstrip("-."), digest)


@dataclass
class RemoteSecretSpec:
    """One remote cluster's credentials, for one receiving cluster."""

    name: str                              # the remote cluster's name (its CLUSTER_ID)
    namespace: str = "istio-system"        # where the Secret goes on the receiving cluster
    remote_namespace: Optional[str] = None  # where the service account lives on the remote cluster
    type: str = REMOTE
    service_account: Optional[str] = None
    create_service_account: Optional[bool] = None
    consumer: str = ""                     # the receiving cluster's name: its own token
    server: Optional[str] = None
    secret_name: Optional[str] = None

    def check(self) -> None:
        if self.type not in (REMOTE, CONFIG):
            raise RemoteSecretError("type must be remote or config (got %r)" % self.type)
        if not self.name or len(self.name) > 200 or not _SUBDOMAIN.match(self.name):
            raise RemoteSecretError("cluster name %r must be lowercase letters, digits, '-' and '.', at most 200 "
                                    "characters (it names the Secret)" % self.name)
        for value, what in ((self.namespace, "namespace"), (self.sa_namespace, "remote_namespace"),
                            (self.sa_name, "service_account")):
            if not _LABEL.match(value or "") or len(value) > 63:
                raise RemoteSecretError("%s %r is not a valid name" % (what, value))
        if self.consumer and (not _SUBDOMAIN.match(self.consumer) or len(self.consumer) > 200):
            raise RemoteSecretError("consumer %r must be lowercase letters, digits, '-' and '.'" % self.consumer)
        if self.type == CONFIG and self.create_service_account:
            raise RemoteSecretError("type config uses istiod's own service account on the config cluster, "
                                    "which the remote profile with global.configCluster creates with its RBAC; "
                                    "create_service_account is for type remote")
        if self.server is not None and not re.match(r"^https?://[^\s/]+", self.server):
            raise RemoteSecretError("server %r must be a URL such as https://10.0.0.1:6443" % self.server)

    @property
    def sa_namespace(self) -> str:
        return self.remote_namespace or self.namespace

    @property
    def sa_name(self) -> str:
        default = READER_SERVICE_ACCOUNT if self.type == REMOTE else CONFIG_SERVICE_ACCOUNT
        return self.service_account or default

    @property
    def creates_service_account(self) -> bool:
        return self.type == REMOTE if self.create_service_account is None else self.create_service_account

    @property
    def target_secret_name(self) -> str:
        if self.secret_name:
            return self.secret_name
        return CONFIG_SECRET_NAME if self.type == CONFIG else "istio-remote-secret-%s" % self.name

    @property
    def data_key(self) -> str:
        return CONFIG_SECRET_KEY if self.type == CONFIG else self.name

    @property
    def token_secret_name(self) -> str:
        if not self.consumer:
            return "%s-istio-remote-secret-token" % self.sa_name  # the name istioctl uses
        return "%s-remote-secret-%s" % (self.sa_name, self.consumer)

    @property
    def reader_name(self) -> str:
        return label_safe("servicemesh-istio-reader-%s" % self.sa_namespace)

    # unit keys
    @property
    def reader_key(self) -> UnitKey:
        return UnitKey(READER_UNIT, self.sa_name, self.sa_namespace)

    @property
    def token_key(self) -> UnitKey:
        return UnitKey(TOKEN_UNIT, label_safe(self.token_secret_name), self.sa_namespace)

    @property
    def secret_key(self) -> UnitKey:
        return UnitKey(SECRET_UNIT, label_safe(self.target_secret_name), self.namespace)


# -- objects -------------------------------------------------------------------------------------

def reader_objects(spec: RemoteSecretSpec) -> List[Dict[str, Any]]:
    """The service account (only its name: it may be the charts') and its read-only RBAC."""
    subject = {"kind": "ServiceAccount", "name": spec.sa_name, "namespace": spec.sa_namespace}
    labels = {"app.kubernetes.io/managed-by": "servicemesh.istio", "app": "istio-reader"}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": spec.sa_name, "namespace": spec.sa_namespace}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": spec.reader_name, "labels": labels}, "rules": READER_RULES},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": spec.reader_name, "labels": labels},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": spec.reader_name},
         "subjects": [subject]},
    ]


def token_secret(spec: RemoteSecretSpec) -> Dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "type": TOKEN_SECRET_TYPE,
            "metadata": {"name": spec.token_secret_name, "namespace": spec.sa_namespace,
                         "annotations": {SERVICE_ACCOUNT_ANNOTATION: spec.sa_name},
                         "labels": {"app.kubernetes.io/managed-by": "servicemesh.istio",
                                    "servicemesh.istio/remote-secret-for": label_safe(spec.consumer or "any")}}}


def kubeconfig_text(cluster_name: str, server: str, ca_data: str, token: str) -> str:
    """A kubeconfig with one cluster, user and context, all named after the remote cluster."""
    cluster: Dict[str, Any] = {"server": server}
    if ca_data:
        cluster["certificate-authority-data"] = ca_data
    config = {"apiVersion": "v1", "kind": "Config", "preferences": {},
              "clusters": [{"name": cluster_name, "cluster": cluster}],
              "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
              "current-context": cluster_name,
              "users": [{"name": cluster_name, "user": {"token": token}}]}
    return yaml.dump(config, Dumper=_Dumper, default_flow_style=False, sort_keys=False)


def remote_secret(spec: RemoteSecretSpec, kubeconfig: str) -> Dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": spec.target_secret_name, "namespace": spec.namespace,
                         "labels": {MULTICLUSTER_LABEL: "true",
                                    "app.kubernetes.io/managed-by": "servicemesh.istio"},
                         "annotations": {CLUSTER_ANNOTATION: spec.name}},
            "data": {spec.data_key: base64.b64encode(kubeconfig.encode("utf-8")).decode("ascii")}}


# -- the token -----------------------------------------------------------------------------------

def _token_filled(obj: Optional[Mapping[str, Any]]) -> Tuple[bool, str]:
    if obj is None:
        return False, "not found"
    if not (obj.get("data") or {}).get("token"):
        return False, "the token controller has not filled in the token yet"
    return True, ""


def read_token(cluster: Any, spec: RemoteSecretSpec, options: lifecycle.Options) -> Tuple[str, str]:
    """(token, base64 CA) from the token Secret, waiting for the token controller; empty in check mode
    when the Secret is not there yet."""
    ref = ObjectRef.of("v1", "Secret", spec.token_secret_name, spec.sa_namespace)
    live = cluster.get(ref)
    if not _token_filled(live)[0]:
        if options.check_mode:
            return "", ""
        wait_until(cluster, [Check(ref, _token_filled)], options.wait_timeout, min(options.wait_interval, 1.0))
        live = cluster.get(ref)
    data = (live or {}).get("data") or {}
    token = base64.b64decode(data.get("token") or "").decode("utf-8")
    ca_data = data.get("ca.crt") or ""
    return token, base64.b64encode(base64.b64decode(ca_data)).decode("ascii") if ca_data else ""


# -- install and remove -------------------------------------------------------------------------

def _preflight(target: Any, remote: Any, spec: RemoteSecretSpec, options: lifecycle.Options) -> None:
    """Reads only: namespaces on both sides, and a service account we are not to create.

    In check mode what is missing may be made by an earlier task that did not run: the
    prediction goes on, and a real run fails here if it is still missing."""
    if options.check_mode:
        return
    lifecycle.namespace_missing(target, spec.namespace, False)
    try:
        lifecycle.namespace_missing(remote, spec.sa_namespace, False)
    except lifecycle.LifecycleError as exc:
        raise RemoteSecretError("on the remote cluster %s: %s" % (spec.name, exc)) from exc
    if spec.creates_service_account:
        return
    if remote.get(ObjectRef.of("v1", "ServiceAccount", spec.sa_name, spec.sa_namespace)) is None:
        raise RemoteSecretError(
            "service account %s/%s does not exist on the remote cluster %s; install its revision first (for type "
            "config: the remote profile with global.configCluster) or set create_service_account"
            % (spec.sa_namespace, spec.sa_name, spec.name))


def ensure_remote_secret(target: Any, remote: Any, spec: RemoteSecretSpec,
                         options: lifecycle.Options) -> lifecycle.Outcome:
    spec.check()
    _preflight(target, remote, spec, options)
    outcome = lifecycle.Outcome()
    unit_args = {"check_mode": options.check_mode, "force_conflicts": options.force_conflicts}
    if spec.creates_service_account:
        outcome.results.append(sync_unit(remote, spec.reader_key, reader_objects(spec),
                                         field_manager=REMOTE_FIELD_MANAGER, **unit_args))
    outcome.results.append(sync_unit(remote, spec.token_key, [token_secret(spec)], field_manager=REMOTE_FIELD_MANAGER,
                                     metadata={"serviceAccount": spec.sa_name, "consumer": spec.consumer},
                                     **unit_args))
    token, ca_data = read_token(remote, spec, options)
    server = spec.server or remote.host
    secret = remote_secret(spec, kubeconfig_text(spec.name, server, ca_data, token))
    outcome.results.append(sync_unit(target, spec.secret_key, [secret], **unit_args,
                                     metadata={"cluster": spec.name, "server": server,
                                               "serviceAccount": "%s/%s" % (spec.sa_namespace, spec.sa_name)}))
    outcome.facts = _facts(spec, server)
    outcome.facts["token_issued"] = bool(token)
    return outcome


def _facts(spec: RemoteSecretSpec, server: Optional[str]) -> Dict[str, Any]:
    return {"cluster": spec.name, "type": spec.type, "secret_name": spec.target_secret_name,
            "namespace": spec.namespace, "server": server,
            "service_account": "%s/%s" % (spec.sa_namespace, spec.sa_name),
            "token_secret": spec.token_secret_name}


def remove_remote_secret(target: Any, remote: Optional[Any], spec: RemoteSecretSpec,
                         options: lifecycle.Options) -> lifecycle.Outcome:
    """The Secret on the receiving cluster; with the remote cluster, this consumer's token too, and
    the reader objects once no other consumer's token uses them."""
    spec.check()
    outcome = lifecycle.Outcome()
    outcome.results.append(remove_unit(target, spec.secret_key, check_mode=options.check_mode))
    if remote is not None:
        outcome.results.append(remove_unit(remote, spec.token_key, check_mode=options.check_mode))
        if not _other_tokens(remote, spec):
            outcome.results.append(remove_unit(remote, spec.reader_key, check_mode=options.check_mode))
    outcome.facts = _facts(spec, spec.server)
    return outcome


def _other_tokens(remote: Any, spec: RemoteSecretSpec) -> List[inventory.InventoryRecord]:
    records = inventory.list_records(remote, kind=TOKEN_UNIT, namespace=spec.sa_namespace)
    return [r for r in records if r.key != spec.token_key and r.metadata.get("serviceAccount") == spec.sa_name]
