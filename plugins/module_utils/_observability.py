# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Observability wiring for one control-plane revision, as the guides set it up by hand.

- Prometheus Operator: a ServiceMonitor for istiod's monitoring port and a PodMonitor for the proxies the
  revision injected (kept by the ``istio.io/rev`` annotation), both named after the revision;
- Kiali: the fields of an existing Kiali resource that point it at the control plane's namespace and at the
  revision's istiod, ConfigMap and injector (applied as this collection's fields only, so the rest of the
  resource stays the Kiali operator's and the user's);
- tracing: a meshConfig extension provider for istiod's values (``tracing_values``) and the mesh-wide
  Telemetry resource that turns it on.

A kind whose CRD the cluster does not serve is skipped with a warning: the rest is still wired.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError
from ansible_collections.servicemesh.istio.plugins.module_utils._revision import DEFAULT_REVISION
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._inventory import UnitKey
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._unit import remove_unit, sync_unit

UNIT_KIND = "observability"
MONITORING = "monitoring.coreos.com/v1"
KIALI = "kiali.io/v1alpha1"
TELEMETRY = "telemetry.istio.io/v1"
TRACERS = {"zipkin": "zipkin", "opentelemetry": "opentelemetry"}
DEFAULT_PORTS = {"zipkin": 9411, "opentelemetry": 4317}


class ObservabilityError(IstioError):
    """Observability settings that cannot be applied as asked."""


@dataclass
class Tracing:
    """A tracing backend, as istiod's meshConfig extension provider ``name``."""

    service: str
    provider: str = "zipkin"
    port: Optional[int] = None
    name: str = "tracing"

    def check(self) -> None:
        if self.provider not in TRACERS:
            raise ObservabilityError("tracing.provider must be one of %s, not %r" % (", ".join(TRACERS), self.provider))
        if not self.service:
            raise ObservabilityError("tracing.service (the backend's host, e.g. jaeger-collector.tracing."
                                     "svc.cluster.local) is required")

    @classmethod
    def from_params(cls, params: Optional[Dict[str, Any]]) -> Optional["Tracing"]:
        if not params:
            return None
        tracing = cls(service=params.get("service") or "", provider=params.get("provider") or "zipkin",
                      port=params.get("port"), name=params.get("name") or "tracing")
        tracing.check()
        return tracing


def tracing_values(values: Dict[str, Any], tracing: Optional[Tracing]) -> Dict[str, Any]:
    """istiod's values with the extension provider added (one of the same name replaced): the user's other
    providers and meshConfig stay."""
    if tracing is None:
        return values
    merged = copy.deepcopy(values)
    mesh = merged.setdefault("meshConfig", {})
    provider = {"name": tracing.name, TRACERS[tracing.provider]: {
        "service": tracing.service, "port": tracing.port or DEFAULT_PORTS[tracing.provider]}}
    others = [p for p in mesh.get("extensionProviders") or [] if p.get("name") != tracing.name]
    mesh["extensionProviders"] = others + [provider]
    return merged


@dataclass
class ObservabilityRequest:
    revision: str
    namespace: str
    prometheus: bool = False
    monitor_labels: Dict[str, str] = field(default_factory=dict)
    kiali: Optional[Tuple[str, str]] = None  # (namespace, name) of the Kiali resource
    tracing_provider: str = ""  # a meshConfig extension provider to turn on mesh-wide
    sampling: float = 1.0

    def check(self) -> None:
        if not 0 <= self.sampling <= 100:
            raise ObservabilityError("tracing_sampling is a percentage from 0 to 100, not %r" % self.sampling)

    @property
    def key(self) -> UnitKey:
        return UnitKey(UNIT_KIND, self.revision, self.namespace)


def _suffix(revision: str) -> str:
    return "" if revision == DEFAULT_REVISION else "-" + revision


def istiod_monitor(request: ObservabilityRequest) -> Dict[str, Any]:
    labels = dict(request.monitor_labels, **{"istio.io/rev": request.revision})
    return {"apiVersion": MONITORING, "kind": "ServiceMonitor",
            "metadata": {"name": "istiod" + _suffix(request.revision), "namespace": request.namespace,
                         "labels": labels},
            "spec": {"namespaceSelector": {"matchNames": [request.namespace]},
                     "selector": {"matchLabels": {"app": "istiod", "istio.io/rev": request.revision}},
                     "endpoints": [{"port": "http-monitoring", "interval": "15s"}]}}


def proxies_monitor(request: ObservabilityRequest) -> Dict[str, Any]:
    """Every pod the revision injected, wherever it runs (the sidecar's stats port and path)."""
    labels = dict(request.monitor_labels, **{"istio.io/rev": request.revision})
    return {"apiVersion": MONITORING, "kind": "PodMonitor",
            "metadata": {"name": "istio-proxies" + _suffix(request.revision), "namespace": request.namespace,
                         "labels": labels},
            "spec": {"namespaceSelector": {"any": True},
                     "selector": {"matchExpressions": [{"key": "security.istio.io/tlsMode", "operator": "Exists"}]},
                     "podMetricsEndpoints": [{
                         "path": "/stats/prometheus", "port": "http-envoy-prom", "interval": "15s",
                         "relabelings": [{"sourceLabels": ["__meta_kubernetes_pod_annotation_istio_io_rev"],
                                          "action": "keep", "regex": request.revision}]}]}}


def kiali_settings(request: ObservabilityRequest) -> Dict[str, Any]:
    namespace, name = request.kiali or ("", "")
    suffix = _suffix(request.revision)
    return {"apiVersion": KIALI, "kind": "Kiali", "metadata": {"name": name, "namespace": namespace},
            "spec": {"istio_namespace": request.namespace,
                     "external_services": {"istio": {
                         "config_map_name": "istio" + suffix, "istiod_deployment_name": "istiod" + suffix,
                         "istio_sidecar_injector_config_map_name": "istio-sidecar-injector" + suffix}}}}


def mesh_telemetry(request: ObservabilityRequest) -> Dict[str, Any]:
    """In the root namespace (the control plane's): the mesh-wide default."""
    return {"apiVersion": TELEMETRY, "kind": "Telemetry",
            "metadata": {"name": "mesh-default" + _suffix(request.revision), "namespace": request.namespace},
            "spec": {"tracing": [{"providers": [{"name": request.tracing_provider}],
                                  "randomSamplingPercentage": request.sampling}]}}


def wanted_objects(request: ObservabilityRequest, served: Any) -> Tuple[List[Dict[str, Any]], List[str]]:
    """The objects asked for whose kinds the cluster serves, and a warning for each kind it does not."""
    wanted: List[Dict[str, Any]] = []
    if request.prometheus:
        wanted += [istiod_monitor(request), proxies_monitor(request)]
    if request.kiali:
        wanted.append(kiali_settings(request))
    if request.tracing_provider:
        wanted.append(mesh_telemetry(request))
    kept, warnings = [], []
    for obj in wanted:
        if served(obj["apiVersion"], obj["kind"]):
            kept.append(obj)
        else:
            warnings.append("%s (%s) is not served by this cluster: install its operator or CRDs first; %s %s "
                            "was skipped" % (obj["kind"], obj["apiVersion"], obj["kind"], obj["metadata"]["name"]))
    return kept, warnings


def _kiali_missing(cluster: Any, objects: List[Dict[str, Any]]) -> List[str]:
    """A Kiali resource is the Kiali operator's: it is configured here, never created."""
    missing = []
    for obj in objects:
        if obj["kind"] == "Kiali" and cluster.get(ObjectRef.from_object(obj)) is None:
            missing.append("Kiali %s/%s does not exist; create it (the Kiali operator's resource) and run again"
                           % (obj["metadata"]["namespace"], obj["metadata"]["name"]))
    return missing


def ensure(cluster: Any, request: ObservabilityRequest, options: lifecycle.Options) -> lifecycle.Outcome:
    request.check()
    if lifecycle.find_revision(cluster, request.revision, request.namespace) is None:
        raise ObservabilityError("revision %r is not installed in namespace %s" % (request.revision,
                                                                                   request.namespace))
    objects, warnings = wanted_objects(request, cluster.is_served)
    missing = _kiali_missing(cluster, objects)
    warnings += missing
    objects = [o for o in objects if not (o["kind"] == "Kiali" and missing)]
    outcome = lifecycle.Outcome()
    outcome.results.append(sync_unit(cluster, request.key, objects, check_mode=options.check_mode,
                                     force_conflicts=options.force_conflicts,
                                     metadata={"revision": request.revision}))
    outcome.facts = {"revision": request.revision, "wired": sorted("%s %s" % (o["kind"], o["metadata"]["name"])
                                                                   for o in objects),
                     "warnings": warnings}
    return outcome


def remove(cluster: Any, request: ObservabilityRequest, options: lifecycle.Options) -> lifecycle.Outcome:
    outcome = lifecycle.Outcome()
    outcome.results.append(remove_unit(cluster, request.key, check_mode=options.check_mode))
    outcome.facts = {"revision": request.revision, "wired": [], "warnings": []}
    return outcome
