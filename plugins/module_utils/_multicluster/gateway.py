# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Gateways from the official gateway chart, and the Istio objects that expose a cluster through them.

Presets give the chart the values each kind of gateway needs:

- ``ingress``: the chart's defaults (a LoadBalancer Service on 15021, 80, 443);
- ``egress``: a ClusterIP Service;
- ``eastwest``: the chart's ``networkGateway`` (the requested network view and
  the network label), Service ports 15021 (status), 15443 (mTLS between
  networks), 15012 (istiod's XDS and CA) and 15017 (its webhooks).

What goes through a gateway is exposed with Istio Gateway objects:

- *services*: ``*.local`` on 15443 with ``AUTO_PASSTHROUGH``, so that proxies in
  other networks reach this network's workloads by SNI;
- *istiod*: 15012 and 15017 passed through to an istiod's Service (port 443 for
  the webhooks), for remote clusters and external control planes; or, with TLS,
  terminated at the gateway with a certificate (``credentialName``) and sent on
  over TLS (a DestinationRule), as the external control plane guide does it.

Each gateway is one unit (``gateway/<name>``) with its exposure objects, so
removing it removes exactly those.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ansible_collections.servicemesh.istio.plugins.module_utils import _istiovalues as istiovalues
from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import IstioVersion, VersionCatalog
from ansible_collections.servicemesh.istio.plugins.module_utils._manifest import ManifestRenderer, Rendered
from ansible_collections.servicemesh.istio.plugins.module_utils._revision import DEFAULT_REVISION, helm_revision_value
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s import _readiness as readiness
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s import _inventory as inventory
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._inventory import UnitKey
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._unit import remove_unit, sync_unit
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._waiter import Check

INGRESS, EGRESS, EASTWEST = "ingress", "egress", "eastwest"
PRESETS = (INGRESS, EGRESS, EASTWEST)
DEFAULT_NAMES = {INGRESS: "istio-ingressgateway", EGRESS: "istio-egressgateway", EASTWEST: "istio-eastwestgateway"}
UNIT_KIND = "gateway"
NETWORK_LABEL = "topology.istio.io/network"
NETWORK_VIEW_ENV = "ISTIO_META_REQUESTED_NETWORK_VIEW"
PROXY_CONTAINER = "istio-proxy"
REV_LABEL = "istio.io/rev"
GATEWAY_API = "networking.istio.io/v1"
SERVICES_GATEWAY = "cross-network-gateway"
ISTIOD_GATEWAY, ISTIOD_ROUTES = "istiod-gateway", "istiod-vs"
MTLS_PORT, XDS_PORT, WEBHOOK_PORT, STATUS_PORT = 15443, 15012, 15017, 15021


class GatewayError(IstioError):
    """A gateway that cannot be rendered, exposed or placed as asked."""


def _port(name: str, number: int) -> Dict[str, Any]:
    return {"name": name, "port": number, "protocol": "TCP", "targetPort": number}


EASTWEST_PORTS = [_port("status-port", STATUS_PORT), _port("tls", MTLS_PORT), _port("tls-istiod", XDS_PORT),
                  _port("tls-webhook", WEBHOOK_PORT)]


def preset_values(preset: str, network: Optional[str]) -> Dict[str, Any]:
    if preset not in PRESETS:
        raise GatewayError("preset must be one of %s (got %r)" % (", ".join(PRESETS), preset))
    if preset == EASTWEST:
        if not network:
            raise GatewayError("an east-west gateway needs the network it serves (network)")
        return {"networkGateway": network, "service": {"ports": copy.deepcopy(EASTWEST_PORTS)}}
    if preset == EGRESS:
        return {"service": {"type": "ClusterIP"}}
    return {}


@dataclass(frozen=True)
class IstiodTls:
    """TLS terminated at the gateway (the external control plane guide's production variant): a ``SIMPLE``
    server with the certificate in the Secret ``credential_name`` for ``hosts``, and TLS again to istiod."""

    credential_name: str
    hosts: Tuple[str, ...] = ()

    def check(self) -> None:
        if not self.credential_name:
            raise GatewayError("expose_istiod.tls needs credential_name, the Secret holding the gateway's certificate")
        if not self.hosts:
            raise GatewayError("expose_istiod.tls needs hosts, the names remote clusters reach istiod at")


@dataclass
class IstiodExposure:
    """Which istiod to reach through the gateway: its revision and namespace; passed through, or over TLS."""

    revision: str = DEFAULT_REVISION
    namespace: str = "istio-system"
    tls: Optional[IstiodTls] = None

    @property
    def host(self) -> str:
        service = "istiod" if revision_is_default(self.revision) else "istiod-%s" % self.revision
        return "%s.%s.svc.cluster.local" % (service, self.namespace)


def revision_is_default(revision: str) -> bool:
    return not helm_revision_value(revision)


@dataclass
class GatewayRequest:
    name: Optional[str] = None
    namespace: str = "istio-system"
    preset: str = INGRESS
    network: Optional[str] = None
    revision: Optional[str] = None           # the control plane revision that injects the gateway
    values: Dict[str, Any] = field(default_factory=dict)
    expose_services: bool = False
    expose_istiod: Optional[IstiodExposure] = None
    create_namespace: bool = False
    wait_for_address: bool = True
    dual_stack: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "GatewayRequest":
        """istio_gateway's options (and istio_manifest's gateway entries, which take the same keys)."""
        namespace = params.get("namespace") or "istio-system"
        istiod = params.get("expose_istiod")
        tls = (istiod or {}).get("tls")
        exposure = None if istiod is None else IstiodExposure(
            revision=istiod.get("revision") or DEFAULT_REVISION, namespace=istiod.get("namespace") or namespace,
            tls=None if not tls else IstiodTls(tls.get("credential_name") or "", tuple(tls.get("hosts") or ())))
        return cls(name=params.get("name"), namespace=namespace, preset=params.get("preset") or INGRESS,
                   network=params.get("network"), revision=params.get("revision"),
                   values=params.get("values") or {}, expose_services=bool(params.get("expose_services")),
                   expose_istiod=exposure, create_namespace=bool(params.get("create_namespace")),
                   wait_for_address=params.get("wait_for_address", True),
                   dual_stack=bool(params.get("dual_stack")))

    @property
    def gateway_name(self) -> str:
        return self.name or DEFAULT_NAMES.get(self.preset, DEFAULT_NAMES[INGRESS])

    @property
    def key(self) -> UnitKey:
        return UnitKey(UNIT_KIND, self.gateway_name, self.namespace)

    def merged_values(self) -> Dict[str, Any]:
        istiovalues.check_value_types(self.values)
        if self.expose_istiod is not None and self.expose_istiod.tls is not None:
            self.expose_istiod.tls.check()
        if self.network and self.preset != EASTWEST:
            raise GatewayError("network is for the eastwest preset (got preset %s)" % self.preset)
        # the user's values win over dual-stack's, which win over the preset's
        layers = [preset_values(self.preset, self.network)]
        if self.dual_stack:
            layers.append(istiovalues.gateway_dual_stack_values())
        merged: Dict[str, Any] = {}
        for layer in layers + [self.values or {}]:
            merged = istiovalues.deep_merge(merged, layer)
        return merged


# -- rendering ---------------------------------------------------------------------------------------

def gateway_version(cluster: Any, catalog: VersionCatalog, version: Optional[str], revision: Optional[str],
                    check_mode: bool = False) -> Tuple[IstioVersion, List[str]]:
    """The version asked for; else that of the revision injecting the gateway; else the newest. With the
    warnings to give.

    A ``revision`` nothing on this cluster answers to is refused before anything is written: the
    gateway's pods would never get their proxy. It answers when it is a revision or a tag recorded here,
    or when an injector webhook serves it (a remote cluster's, patched by the istiod that reads it). In
    check mode it may be missing: an earlier task of the same run would have installed it."""
    if not revision:
        return catalog.resolve(version), []
    record = lifecycle.find_revision(cluster, lifecycle.tag_targets(cluster).get(revision, revision))
    if record is not None:
        return (catalog.resolve(version) if version else lifecycle.plan_from_record(record, catalog).version), []
    if cluster.list("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration",
                    label_selector="%s=%s" % (REV_LABEL, revision)):
        return catalog.resolve(version), []
    problem = ("revision %r is neither a revision nor a revision tag on this cluster, and no injector webhook "
               "serves it, so nothing would inject the gateway" % revision)
    if not check_mode:
        raise GatewayError(problem + "; install it first, or leave revision out")
    return catalog.resolve(version), [problem + " (yet: check mode predicts the gateway as if it were installed)"]


def _by_kind(objects: List[Dict[str, Any]], kind: str, name: str) -> Optional[Dict[str, Any]]:
    for obj in objects:
        if obj.get("kind") == kind and (obj.get("metadata") or {}).get("name") == name:
            return obj
    return None


def ensure_network(objects: List[Dict[str, Any]], name: str, network: str) -> None:
    """The network label on the Service and the pods, and the network view, whatever the chart version did."""
    service = _by_kind(objects, "Service", name)
    deployment = _by_kind(objects, "Deployment", name)
    for meta in ([service["metadata"]] if service else []) + ([deployment["metadata"]] if deployment else []):
        meta.setdefault("labels", {}).setdefault(NETWORK_LABEL, network)
    if deployment is None:
        return
    template = deployment.setdefault("spec", {}).setdefault("template", {})
    template.setdefault("metadata", {}).setdefault("labels", {}).setdefault(NETWORK_LABEL, network)
    for container in (template.get("spec") or {}).get("containers") or []:
        env = container.setdefault("env", []) if container.get("name") == PROXY_CONTAINER else None
        if env is not None and not any(item.get("name") == NETWORK_VIEW_ENV for item in env):
            env.insert(0, {"name": NETWORK_VIEW_ENV, "value": network})


def gateway_selector(objects: List[Dict[str, Any]], name: str) -> Dict[str, str]:
    """The pod labels Istio Gateway objects select this gateway by (its ``istio`` label)."""
    service = _by_kind(objects, "Service", name)
    selector = ((service or {}).get("spec") or {}).get("selector") or {}
    if not selector:
        raise GatewayError("the gateway chart rendered no Service %s with a selector" % name)
    return {"istio": selector["istio"]} if "istio" in selector else dict(selector)


def _service_ports(objects: List[Dict[str, Any]], name: str) -> List[int]:
    service = _by_kind(objects, "Service", name) or {}
    return [int(port.get("port", 0)) for port in (service.get("spec") or {}).get("ports") or []]


def services_exposure(namespace: str, selector: Mapping[str, str]) -> List[Dict[str, Any]]:
    server = {"port": {"number": MTLS_PORT, "name": "tls", "protocol": "TLS"},
              "tls": {"mode": "AUTO_PASSTHROUGH"}, "hosts": ["*.local"]}
    return [{"apiVersion": GATEWAY_API, "kind": "Gateway",
             "metadata": {"name": SERVICES_GATEWAY, "namespace": namespace},
             "spec": {"selector": dict(selector), "servers": [server]}}]


ISTIOD_TLS_RULE = "istiod-tls"


def istiod_tls_exposure(exposure: IstiodExposure, selector: Mapping[str, str]) -> List[Dict[str, Any]]:
    """The guide's TLS variant: SIMPLE servers with the certificate, HTTP routes, and a DestinationRule that
    speaks TLS to istiod (HTTP/2 for XDS on 15012, the webhooks on 443)."""
    tls = exposure.tls
    if tls is None:
        raise ValueError("istiod_tls_exposure needs an exposure with tls")
    hosts = list(tls.hosts)
    servers = [{"port": {"number": number, "name": name, "protocol": "HTTPS"},
                "tls": {"mode": "SIMPLE", "credentialName": tls.credential_name}, "hosts": hosts}
               for number, name in ((XDS_PORT, "https-xds"), (WEBHOOK_PORT, "https-webhook"))]
    routes = [{"match": [{"port": port}], "route": [{"destination": {"host": exposure.host, "port": {"number": target}}}]}
              for port, target in ((XDS_PORT, XDS_PORT), (WEBHOOK_PORT, 443))]
    rule = {"host": exposure.host, "trafficPolicy": {"portLevelSettings": [
        {"port": {"number": XDS_PORT}, "tls": {"mode": "SIMPLE"},
         "connectionPool": {"http": {"h2UpgradePolicy": "UPGRADE"}}},
        {"port": {"number": 443}, "tls": {"mode": "SIMPLE"}}]}}
    meta = {"namespace": exposure.namespace}
    return [{"apiVersion": GATEWAY_API, "kind": "Gateway", "metadata": dict(meta, name=ISTIOD_GATEWAY),
             "spec": {"selector": dict(selector), "servers": servers}},
            {"apiVersion": GATEWAY_API, "kind": "VirtualService", "metadata": dict(meta, name=ISTIOD_ROUTES),
             "spec": {"hosts": hosts, "gateways": [ISTIOD_GATEWAY], "http": routes}},
            {"apiVersion": GATEWAY_API, "kind": "DestinationRule", "metadata": dict(meta, name=ISTIOD_TLS_RULE),
             "spec": rule}]


def istiod_exposure(exposure: IstiodExposure, selector: Mapping[str, str]) -> List[Dict[str, Any]]:
    if exposure.tls is not None:
        return istiod_tls_exposure(exposure, selector)
    servers = [{"port": {"number": number, "name": name, "protocol": "TLS"}, "tls": {"mode": "PASSTHROUGH"},
                "hosts": ["*"]} for number, name in ((XDS_PORT, "tls-istiod"), (WEBHOOK_PORT, "tls-istiodwebhook"))]
    # the webhooks listen on 15017 in the pod and are served on 443 by istiod's Service
    routes = [{"match": [{"port": port, "sniHosts": ["*"]}],
               "route": [{"destination": {"host": exposure.host, "port": {"number": target}}}]}
              for port, target in ((XDS_PORT, XDS_PORT), (WEBHOOK_PORT, 443))]
    meta = {"namespace": exposure.namespace}
    return [{"apiVersion": GATEWAY_API, "kind": "Gateway", "metadata": dict(meta, name=ISTIOD_GATEWAY),
             "spec": {"selector": dict(selector), "servers": servers}},
            {"apiVersion": GATEWAY_API, "kind": "VirtualService", "metadata": dict(meta, name=ISTIOD_ROUTES),
             "spec": {"hosts": ["*"], "gateways": [ISTIOD_GATEWAY], "tls": routes}}]


def exposure_objects(request: GatewayRequest, objects: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The Gateway (and VirtualService) objects asked for; the gateway must listen on their ports."""
    name = request.gateway_name
    ports = _service_ports(objects, name)
    wanted: List[Tuple[str, List[int]]] = []
    exposed: List[Dict[str, Any]] = []
    selector = gateway_selector(objects, name) if request.expose_services or request.expose_istiod else {}
    if request.expose_services:
        wanted.append(("services", [MTLS_PORT]))
        exposed += services_exposure(request.namespace, selector)
    if request.expose_istiod is not None:
        wanted.append(("istiod", [XDS_PORT, WEBHOOK_PORT]))
        exposed += istiod_exposure(request.expose_istiod, selector)
    for what, needed in wanted:
        missing = [port for port in needed if port not in ports]
        if missing:
            raise GatewayError("gateway %s cannot expose %s: its Service has no port %s; use the eastwest preset "
                               "or add the ports to values.service.ports"
                               % (name, what, ", ".join(map(str, missing))))
    return exposed


def render_gateway(renderer: ManifestRenderer, version: IstioVersion, request: GatewayRequest,
                   is_upgrade: bool = False) -> Tuple[Rendered, List[Dict[str, Any]]]:
    """What the gateway's unit applies: the chart with the preset's values, the network on its objects, and
    the exposure objects asked for. istio_manifest renders gateways through this too."""
    revision = helm_revision_value(request.revision) if request.revision else ""
    rendered = renderer.gateway(version, request.gateway_name, request.namespace, request.merged_values(), revision,
                                is_upgrade=is_upgrade)
    if request.network:
        ensure_network(rendered.objects, request.gateway_name, request.network)
    return rendered, exposure_objects(request, rendered.objects)


# -- install and remove -------------------------------------------------------------------------------

def service_addresses(service: Optional[Mapping[str, Any]]) -> List[str]:
    ingress = (((service or {}).get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return [item.get("ip") or item.get("hostname") for item in ingress if item.get("ip") or item.get("hostname")]


def _has_address(service: Optional[Mapping[str, Any]]) -> readiness.Readiness:
    if service is None:
        return False, "not found"
    if service_addresses(service):
        return True, ""
    return False, "the load balancer has not assigned an address yet"


def gateway_checks(request: GatewayRequest, objects: List[Dict[str, Any]]) -> List[Check]:
    name, namespace = request.gateway_name, request.namespace
    checks = [Check(ObjectRef.of("apps/v1", "Deployment", name, namespace), readiness.deployment_ready)]
    service = _by_kind(objects, "Service", name) or {}
    if request.wait_for_address and (service.get("spec") or {}).get("type") == "LoadBalancer":
        checks.append(Check(ObjectRef.of("v1", "Service", name, namespace), _has_address))
    return checks


def _unserved_kinds(cluster: Any, objects: List[Dict[str, Any]]) -> List[str]:
    kinds = sorted({(obj["apiVersion"], obj["kind"]) for obj in objects})
    return ["%s (%s)" % (kind, api) for api, kind in kinds if not cluster.is_served(api, kind)]


def install_gateway(cluster: Any, renderer: ManifestRenderer, version: IstioVersion, request: GatewayRequest,
                    options: lifecycle.Options) -> lifecycle.Outcome:
    """Render, check, then apply the gateway and its exposure objects as one unit; wait for it."""
    must_create_namespace = lifecycle.namespace_missing(cluster, request.namespace, request.create_namespace)
    previous = None if must_create_namespace else inventory.load(cluster, request.key.namespace,
                                                                 request.key.kind, request.key.name)
    values = request.merged_values()
    rendered, exposed = render_gateway(renderer, version, request, is_upgrade=inventory.was_installed(previous))
    objects = list(rendered.objects)
    if not options.check_mode:
        _require_kinds(cluster, exposed)
    outcome = lifecycle.Outcome()
    if must_create_namespace:
        outcome.results.append(lifecycle.create_namespace(cluster, request.namespace, options))
    outcome.results.append(sync_unit(
        cluster, request.key, objects + exposed, check_mode=options.check_mode,
        force_conflicts=options.force_conflicts, chart_version=rendered.version, values=values,
        metadata={"version": version.name, "preset": request.preset, "network": request.network,
                  "revision": request.revision}))
    lifecycle.wait_for(cluster, gateway_checks(request, objects), options)
    outcome.facts = gateway_facts(cluster, request, version, objects, exposed)
    return outcome


def _require_kinds(cluster: Any, exposed: List[Dict[str, Any]]) -> None:
    """The Istio CRDs must be there (check mode lets an earlier task install them first)."""
    unserved = _unserved_kinds(cluster, exposed)
    if unserved:
        raise GatewayError("the cluster does not serve %s: install a control plane revision (with its CRDs) first"
                           % ", ".join(unserved))


def gateway_facts(cluster: Any, request: GatewayRequest, version: IstioVersion, objects: List[Dict[str, Any]],
                  exposed: List[Dict[str, Any]]) -> Dict[str, Any]:
    addresses = service_addresses(cluster.get(ObjectRef.of("v1", "Service", request.gateway_name,
                                                           request.namespace)))
    return {"name": request.gateway_name, "namespace": request.namespace, "version": version.name,
            "preset": request.preset, "network": request.network, "revision": request.revision,
            "selector": gateway_selector(objects, request.gateway_name), "addresses": addresses,
            "address": addresses[0] if addresses else None,
            "exposed": ["%s %s/%s" % (o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]) for o in exposed]}


def remove_gateway(cluster: Any, name: str, namespace: str, options: lifecycle.Options) -> lifecycle.Outcome:
    outcome = lifecycle.Outcome()
    outcome.results.append(remove_unit(cluster, UnitKey(UNIT_KIND, name, namespace), check_mode=options.check_mode,
                                       wait=options.wait, timeout=options.wait_timeout))
    outcome.facts = {"name": name, "namespace": namespace, "removed": outcome.changed}
    return outcome
