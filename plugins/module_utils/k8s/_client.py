# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connecting to a cluster, and the few API calls the adapter makes.

The connection options, their environment variables (``K8S_AUTH_*``) and their
documentation are kubernetes.core's: modules use ``CONNECTION_ARG_SPEC`` and
``extends_documentation_fragment: [kubernetes.core.k8s_auth_options, servicemesh.istio.connection]``
(kubernetes.core's options plus ``request_timeout``).

Notes on reusing ``kubernetes.core``'s ``get_api_client``:

* It loads kubeconfig files into the kubernetes client's process-wide default
  configuration and then copies that default, so a second cluster configured
  only by ``host``/``api_key`` would inherit the first one's CA and client
  certificate. ``connect`` hides the default from it while it runs.
* It pools clients by a digest of the final configuration: two clusters get
  two clients, the same cluster twice shares one client and its discovery.
* urllib3's own retries are narrowed to reconnects (see ``_leave_retries_to_us``).
* Discovery is lazy and cached on disk per host and user (``/tmp/k8srcp-*.json``),
  shared by every process. A kind that is missing from the cache triggers a
  refresh by itself; ``Cluster.refresh_discovery`` forces one, which the
  applier does after creating or changing CRDs.
"""
from __future__ import annotations

import copy
import functools
import gc
import http.client
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, TypeVar

from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._errors import (
    ApiError, ClusterUnreachable, ConflictError, K8sError, KindNotServed)
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import (
    ObjectRef, builtin_scope, split_api_version)
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._snapshot import Snapshot

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException
    HAS_KUBERNETES_CORE = True
except ImportError:
    AUTH_ARG_SPEC = {}
    HAS_KUBERNETES_CORE = False

try:
    import kubernetes
    import kubernetes.client.rest
    import urllib3
    from kubernetes.client.exceptions import ApiException
    from kubernetes.dynamic.exceptions import ResourceNotFoundError, ResourceNotUniqueError
    HAS_KUBERNETES = True
except ImportError:
    HAS_KUBERNETES = False

T = TypeVar("T")

# Seconds to connect, and to wait for each answer; a request that times out is retried like a dropped one.
DEFAULT_REQUEST_TIMEOUT = 30.0
CONNECT_TIMEOUT = 10.0
# kubernetes.core's connection options, as nested options name other clusters with them. Its kubeconfig
# is no_log as a whole, which masks a kubeconfig path in every message; IstioModule masks an inline
# kubeconfig's credentials instead.
CLUSTER_ARG_SPEC: Dict[str, Any] = copy.deepcopy(AUTH_ARG_SPEC)
if "kubeconfig" in CLUSTER_ARG_SPEC:
    CLUSTER_ARG_SPEC["kubeconfig"]["no_log"] = False
# a module's own connection: those plus the request timeout
CONNECTION_ARG_SPEC: Dict[str, Any] = dict(copy.deepcopy(CLUSTER_ARG_SPEC), request_timeout={
    "type": "float", "default": DEFAULT_REQUEST_TIMEOUT})
CONNECTION_DOC_FRAGMENT = "kubernetes.core.k8s_auth_options"

# Objects per LIST request (kubectl's --chunk-size); a list takes as many requests as it has pages.
LIST_PAGE_SIZE = 500
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
_MAX_RETRY_AFTER = 60.0
_default_config_lock = threading.Lock()
# the dynamic client's discovery cache is not thread-safe (a miss rebuilds it), and dry runs go out in parallel
_discovery_lock = threading.RLock()


@dataclass
class RetryPolicy:
    """How often and how long to retry throttling, server errors and dropped connections.

    Every request the adapter sends is safe to repeat: GET, LIST, server-side
    apply (declarative, same result twice) and DELETE (NotFound is success).
    """

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 8.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def delay(self, attempt: int, retry_after: Optional[float] = None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), _MAX_RETRY_AFTER)
        return min(self.base_delay * (2 ** attempt), self.max_delay)


class Cluster:
    """One API server: a DynamicClient plus error translation and retries."""

    def __init__(self, client: Any, host: str, retry: Optional[RetryPolicy] = None) -> None:
        self.client = client
        self.host = host
        self.retry = retry or RetryPolicy()
        # called with the object's ref before every real (not dry-run) write: the run's leases
        self.write_guards: List[Callable[[ObjectRef], None]] = []
        # this run's reads for its decisions, kept current with its own writes (see _snapshot)
        self.snapshot = Snapshot(self)
        # the kinds this run found served, looked up again after a refresh of discovery
        self._served: Dict[Tuple[str, str], Dict[str, str]] = {}

    def _before_write(self, ref: ObjectRef, dry_run: bool) -> None:
        if not dry_run:
            for before_write in self.write_guards:
                before_write(ref)

    # -- discovery -----------------------------------------------------------------------------
    def resource(self, api_version: str, kind: str) -> Any:
        """The dynamic-client Resource for a kind; KindNotServed if the server lacks it."""
        group, version = split_api_version(api_version)
        lookup = {"api_version": api_version, "kind": kind}
        if not group:
            # without the prefix "v1" would also match v1 of every group
            lookup.update(prefix="api", api_version=version)
        try:
            with _discovery_lock:
                found = self._call("discover %s %s" % (api_version, kind), lambda: self.client.resources.get(**lookup))
                self._served[(api_version, kind)] = lookup
                return found
        except (ResourceNotFoundError, ResourceNotUniqueError) as exc:
            raise KindNotServed("%s (%s) is not served by %s; is its CRD installed and established?"
                                % (kind, api_version, self.host)) from exc

    def is_served(self, api_version: str, kind: str) -> bool:
        try:
            self.resource(api_version, kind)
        except KindNotServed:
            return False
        return True

    def is_namespaced(self, api_version: str, kind: str) -> bool:
        scope = builtin_scope(api_version, kind)
        if scope is None:
            scope = bool(self.resource(api_version, kind).namespaced)
        return scope

    def refresh_discovery(self) -> None:
        """Discovery read again. The kinds this run used are looked up again at once (a request per API
        group version): the cache on disk, which the next run starts from, keeps them, and the next run
        does not read them again."""
        with _discovery_lock:
            self._call("refresh discovery", self.client.resources.invalidate_cache)
            for key, lookup in list(self._served.items()):
                try:
                    self._call("discover %s %s" % key, functools.partial(self.client.resources.get, **lookup))
                except (ResourceNotFoundError, ResourceNotUniqueError):
                    del self._served[key]  # gone since (its CRD deleted)

    # -- reads ---------------------------------------------------------------------------------
    def get(self, ref: ObjectRef) -> Optional[Dict[str, Any]]:
        """The live object, or None if it does not exist."""
        resource = self.resource(ref.api_version, ref.kind)
        try:
            return self._request("get %s" % ref, lambda: self.client.get(
                resource, name=ref.name, namespace=ref.namespace or None, serialize=False))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def list(self, api_version: str, kind: str, namespace: Optional[str] = None,
             label_selector: Optional[str] = None) -> List[Dict[str, Any]]:
        """All objects of a kind (in one namespace, or everywhere), with apiVersion and kind set.

        Read in pages of ``LIST_PAGE_SIZE`` that follow ``metadata.continue``, each a request of its own
        (bounded and retried like any other); a continue token that expired (410 Gone) starts the list
        again from its first page, once."""
        resource = self.resource(api_version, kind)
        what = "list %s%s" % (kind, " in %s" % namespace if namespace else "")
        items: List[Dict[str, Any]] = []
        token, restarts = None, 1
        while True:
            try:
                body = self._request(what, functools.partial(
                    self.client.get, resource, namespace=namespace or None, label_selector=label_selector,
                    limit=LIST_PAGE_SIZE, _continue=token, serialize=False))
            except ApiError as exc:
                if exc.status != 410 or token is None or not restarts:
                    raise
                items, token, restarts = [], None, restarts - 1  # the token expired: from the first page again
                continue
            items.extend(body.get("items") or [])
            token = (body.get("metadata") or {}).get("continue")
            if not token:
                break
        for item in items:
            # LIST responses leave these out of the items
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return items

    # -- writes --------------------------------------------------------------------------------
    def apply(self, body: Mapping[str, Any], field_manager: str, force: bool = False,
              dry_run: bool = False) -> Dict[str, Any]:
        """Server-side apply of one object; returns the object the server stored (or would)."""
        ref = ObjectRef.from_object(body)
        resource = self.resource(ref.api_version, ref.kind)
        self._before_write(ref, dry_run)
        kwargs: Dict[str, Any] = {"field_manager": field_manager, "force_conflicts": force}
        if dry_run:
            kwargs["dry_run"] = "All"
        what = ("dry-run apply %s" if dry_run else "apply %s") % ref
        try:
            stored = self._request(what, lambda: self.client.server_side_apply(
                resource, body=dict(body), namespace=ref.namespace or None, serialize=False, **kwargs))
        except ApiError as exc:
            # apply creates missing objects, so a 404 means a missing namespace,
            # or a kind the (possibly stale) discovery cache still listed
            if exc.status == 404:
                self.refresh_discovery()
                self.resource(ref.api_version, ref.kind)
            raise
        if not dry_run:
            self.snapshot.wrote(ref, stored)
        return stored

    def patch(self, ref: ObjectRef, patch: Mapping[str, Any], field_manager: str,
              dry_run: bool = False) -> Dict[str, Any]:
        """A JSON merge patch (a null removes a key, whoever set it: what apply cannot do for fields
        another manager owns, such as a namespace label put there by kubectl)."""
        resource = self.resource(ref.api_version, ref.kind)
        self._before_write(ref, dry_run)
        kwargs: Dict[str, Any] = {"field_manager": field_manager, "content_type": "application/merge-patch+json"}
        if dry_run:
            kwargs["dry_run"] = "All"
        stored = self._request(("dry-run patch %s" if dry_run else "patch %s") % ref, lambda: self.client.patch(
            resource, body=dict(patch), name=ref.name, namespace=ref.namespace or None, serialize=False, **kwargs))
        if not dry_run:
            self.snapshot.wrote(ref, stored)
        return stored

    def delete(self, ref: ObjectRef, propagation_policy: str = "Background",
               dry_run: bool = False) -> bool:
        """Delete one object; False if it was already gone."""
        resource = self.resource(ref.api_version, ref.kind)
        self._before_write(ref, dry_run)
        kwargs: Dict[str, Any] = {"propagation_policy": propagation_policy}
        if dry_run:
            kwargs["dry_run"] = "All"
        else:
            self.snapshot.forget(ref)
        try:
            self._request("delete %s" % ref, lambda: self.client.delete(
                resource, name=ref.name, namespace=ref.namespace or None, serialize=False, **kwargs))
        except ApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    # -- plumbing ------------------------------------------------------------------------------
    def _request(self, what: str, send: Callable[[], Any]) -> Dict[str, Any]:
        response = self._call(what, send)
        return _decode(response.data) if response.data else {}

    def _call(self, what: str, send: Callable[[], T]) -> T:
        attempt = 0
        while True:
            try:
                return send()
            except ApiException as exc:
                if exc.status == 0:
                    raise self._unreachable(what, exc.reason) from exc
                if exc.status not in RETRIED_STATUSES or attempt + 1 >= self.retry.attempts:
                    raise api_error(what, exc) from exc
                pause = self.retry.delay(attempt, _retry_after(exc))
            except (urllib3.exceptions.HTTPError, http.client.HTTPException, ConnectionError) as exc:
                if not _is_transient_network_error(exc) or attempt + 1 >= self.retry.attempts:
                    raise self._unreachable(what, exc) from exc
                pause = self.retry.delay(attempt)
            attempt += 1
            self.retry.sleep(pause)

    def _unreachable(self, what: str, cause: Any) -> ClusterUnreachable:
        return ClusterUnreachable("cannot reach the Kubernetes API server at %s (%s): %s"
                                  % (self.host, what, _first_line(cause)))


def _decode(data: bytes) -> Any:
    """JSON, with the cyclic garbage collector paused: decoded JSON holds no cycles, and a page of a big
    list allocates enough objects to start collections that walk everything decoded so far (four times
    the decoding itself, for 10,000 pods)."""
    paused = gc.isenabled()
    gc.disable()
    try:
        return json.loads(data)
    finally:
        if paused:
            gc.enable()


def api_error(what: str, exc: Any) -> ApiError:
    """Turn an ApiException into our error, with the Status message in front."""
    status = _status_body(exc)
    message = status.get("message") or exc.reason or "HTTP %s" % exc.status
    conflicts = _field_conflicts(status)
    if exc.status == 409 and conflicts:
        fields = "; ".join("%s (owned by %s)" % (path, manager) for manager, path in conflicts)
        return ConflictError("%s: conflict with other field managers on %s. Leave these fields to "
                             "their owner, or set force_conflicts to take them over."
                             % (what, fields), conflicts)
    return ApiError("%s: %s (HTTP %s %s)" % (what, message, exc.status, status.get("reason") or exc.reason),
                    status=exc.status, reason=status.get("reason") or "")


def _status_body(exc: Any) -> Dict[str, Any]:
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        status = json.loads(body) if body else {}
    except ValueError:
        return {"message": body.strip()} if isinstance(body, str) else {}
    return status if isinstance(status, dict) else {}


def _field_conflicts(status: Mapping[str, Any]) -> List[tuple]:
    """(manager, field) from the causes of a server-side apply conflict."""
    conflicts = []
    for cause in (status.get("details") or {}).get("causes") or []:
        # StatusCause.Type is serialised as "reason"
        if cause.get("reason") != "FieldManagerConflict":
            continue
        message = cause.get("message") or ""
        # e.g. 'conflict with "kubectl-edit" using apps/v1'
        manager = message.split('"')[1] if message.count('"') >= 2 else message
        conflicts.append((manager, cause.get("field") or "?"))
    return conflicts


def _retry_after(exc: Any) -> Optional[float]:
    headers = getattr(exc, "headers", None) or {}
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _is_transient_network_error(exc: BaseException) -> bool:
    """Dropped or reset connections and timeouts; not DNS, TLS or malformed URLs."""
    reason = getattr(exc, "reason", None)
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and isinstance(reason, BaseException):
        exc = reason
    permanent = (urllib3.exceptions.NameResolutionError, urllib3.exceptions.SSLError,
                 urllib3.exceptions.LocationParseError, urllib3.exceptions.ProxySchemeUnknown)
    return not isinstance(exc, permanent)


def _first_line(value: Any) -> str:
    text = str(value).strip()
    return text.splitlines()[0] if text else type(value).__name__


def connect(params: Mapping[str, Any], request_timeout: Optional[float] = None,
            retry: Optional[RetryPolicy] = None) -> Cluster:
    """A Cluster from connection parameters (module params or a plain dict).

    Unset options fall back to the ``K8S_AUTH_*`` environment variables, then
    in-cluster configuration, then ``~/.kube/config`` (kubernetes.core rules).
    ``request_timeout`` (or the parameter of that name) bounds every request.
    """
    if not (HAS_KUBERNETES and HAS_KUBERNETES_CORE):
        raise K8sError("the kubernetes Python library and the kubernetes.core collection are required")
    timeout = float(params.get("request_timeout") or request_timeout or DEFAULT_REQUEST_TIMEOUT)
    if timeout <= 0:
        raise K8sError("request_timeout must be a positive number of seconds, not %g" % timeout)
    auth = {key: params[key] for key in CLUSTER_ARG_SPEC if params.get(key) is not None}
    _bound_every_request(timeout)
    try:
        k8s_client = _get_api_client_isolated(auth)
    except (CoreException, kubernetes.config.ConfigException, ValueError, OSError) as exc:
        raise K8sError("cannot configure a Kubernetes client from %s: %s"
                       % (_describe_target(auth), _first_line(exc))) from exc
    except (ApiException, urllib3.exceptions.HTTPError) as exc:
        # the first discovery request runs while the client is built
        raise ClusterUnreachable("cannot reach the Kubernetes API server configured by %s: %s"
                                 % (_describe_target(auth), _first_line(getattr(exc, "reason", exc)))) from exc
    _leave_retries_to_us(k8s_client.client)
    return Cluster(k8s_client.client, k8s_client.configuration.host, retry)


def _leave_retries_to_us(dynamic_client: Any) -> None:
    """Stop urllib3 from retrying on its own, so RetryPolicy is the one place that does.

    By default urllib3 silently repeats GET and DELETE on 429/503 for as long
    as Retry-After says (uncapped), and gives PATCH no retries at all. Only
    quick reconnects stay with urllib3. The client may be shared through
    kubernetes.core's pool; every user of it then gets these settings.
    """
    pool_manager = dynamic_client.client.rest_client.pool_manager
    pool_manager.connection_pool_kw["retries"] = urllib3.util.Retry(
        total=None, connect=2, read=0, redirect=5, status=0, other=0, respect_retry_after_header=False)
    pool_manager.clear()  # pools made during discovery were built with the old settings


def _bound_every_request(timeout: float) -> None:
    """A connect and a read timeout on every request of this process, discovery included, unless a call
    sets its own. The kubernetes client sends none by default, so a server that accepts a connection and
    never answers would hold a task forever. Set before the client is built: building it already asks
    the server (discovery). One module run has one ``request_timeout``, so one setting serves all."""
    rest = kubernetes.client.rest.RESTClientObject
    rest.servicemesh_request_bounds = (min(CONNECT_TIMEOUT, timeout), timeout)
    if getattr(rest, "servicemesh_unbounded_request", None) is not None:
        return
    send = rest.request

    def bounded(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not kwargs.get("_request_timeout"):
            kwargs["_request_timeout"] = self.servicemesh_request_bounds
        return send(self, *args, **kwargs)
    rest.servicemesh_unbounded_request = send
    rest.request = bounded


def _get_api_client_isolated(auth: Mapping[str, Any]) -> Any:
    """get_api_client without state leaking between clusters through the default configuration."""
    configuration_class = kubernetes.client.Configuration
    with _default_config_lock:
        saved = configuration_class._default
        configuration_class._default = None
        try:
            return get_api_client(module=None, **auth)
        finally:
            configuration_class._default = saved


def _describe_target(auth: Mapping[str, Any]) -> str:
    if auth.get("host"):
        return "host %s" % auth["host"]
    parts = []
    if isinstance(auth.get("kubeconfig"), str):
        parts.append("kubeconfig %s" % auth["kubeconfig"])
    elif auth.get("kubeconfig"):
        parts.append("an inline kubeconfig")
    if auth.get("context"):
        parts.append("context %s" % auth["context"])
    return ", ".join(parts) or "the default kubeconfig or in-cluster configuration"
