# -*- coding: utf-8 -*-
"""Gateways from the gateway chart (fixture), their presets and the objects that expose a cluster."""
from __future__ import annotations

import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import builtin_catalog
from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster import gateway as gw
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef
from tests.unit.test_lifecycle import OPTIONS, cluster, install, renderer  # noqa: F401 pylint: disable=unused-import

VERSION = builtin_catalog().resolve("v1.30.3")


def obj(fake, kind, name, namespace="istio-system", api="v1"):
    return fake.get(ObjectRef.of(api, kind, name, namespace))


def eastwest(**kwargs):
    kwargs.setdefault("preset", gw.EASTWEST)
    kwargs.setdefault("network", "network1")
    return gw.GatewayRequest(**kwargs)


def test_eastwest_gateway_carries_the_network(cluster, renderer):  # noqa: F811
    outcome = gw.install_gateway(cluster, renderer, VERSION, eastwest(), OPTIONS)
    assert outcome.changed and outcome.facts["name"] == "istio-eastwestgateway"
    service = obj(cluster, "Service", "istio-eastwestgateway")
    assert [p["port"] for p in service["spec"]["ports"]] == [15021, 15443, 15012, 15017]
    assert service["metadata"]["labels"][gw.NETWORK_LABEL] == "network1"
    deployment = obj(cluster, "Deployment", "istio-eastwestgateway", api="apps/v1")
    pod = deployment["spec"]["template"]
    assert pod["metadata"]["labels"][gw.NETWORK_LABEL] == "network1"
    env = pod["spec"]["containers"][0]["env"]
    assert [e for e in env if e["name"] == gw.NETWORK_VIEW_ENV] == [{"name": gw.NETWORK_VIEW_ENV, "value": "network1"}]
    assert outcome.facts["selector"] == {"istio": "eastwestgateway"}


def test_network_is_added_when_a_chart_leaves_it_out():
    objects = [{"kind": "Service", "metadata": {"name": "g"}, "spec": {"selector": {"istio": "g"}}},
               {"kind": "Deployment", "metadata": {"name": "g"},
                "spec": {"template": {"spec": {"containers": [{"name": "istio-proxy"}]}}}}]
    gw.ensure_network(objects, "g", "net2")
    assert objects[0]["metadata"]["labels"] == {gw.NETWORK_LABEL: "net2"}
    template = objects[1]["spec"]["template"]
    assert template["metadata"]["labels"] == {gw.NETWORK_LABEL: "net2"}
    assert template["spec"]["containers"][0]["env"] == [{"name": gw.NETWORK_VIEW_ENV, "value": "net2"}]


def test_exposure_objects(cluster, renderer):  # noqa: F811
    request = eastwest(expose_services=True, expose_istiod=gw.IstiodExposure())
    outcome = gw.install_gateway(cluster, renderer, VERSION, request, OPTIONS)
    services = obj(cluster, "Gateway", gw.SERVICES_GATEWAY, api=gw.GATEWAY_API)
    assert services["spec"] == {"selector": {"istio": "eastwestgateway"}, "servers": [
        {"port": {"number": 15443, "name": "tls", "protocol": "TLS"}, "tls": {"mode": "AUTO_PASSTHROUGH"},
         "hosts": ["*.local"]}]}
    istiod = obj(cluster, "Gateway", gw.ISTIOD_GATEWAY, api=gw.GATEWAY_API)
    assert [s["port"]["number"] for s in istiod["spec"]["servers"]] == [15012, 15017]
    routes = obj(cluster, "VirtualService", gw.ISTIOD_ROUTES, api=gw.GATEWAY_API)["spec"]["tls"]
    assert [(r["match"][0]["port"], r["route"][0]["destination"]["port"]["number"]) for r in routes] == [
        (15012, 15012), (15017, 443)]
    assert routes[0]["route"][0]["destination"]["host"] == "istiod.istio-system.svc.cluster.local"
    assert len(outcome.facts["exposed"]) == 3


def test_external_istiod_exposure_names_its_revision():
    exposure = gw.IstiodExposure(revision="external-istiod", namespace="external-istiod")
    assert exposure.host == "istiod-external-istiod.external-istiod.svc.cluster.local"
    objects = gw.istiod_exposure(exposure, {"istio": "ingressgateway"})
    assert {o["metadata"]["namespace"] for o in objects} == {"external-istiod"}


def test_second_run_writes_nothing_and_removal_is_exact(cluster, renderer):  # noqa: F811
    request = eastwest(expose_services=True)
    gw.install_gateway(cluster, renderer, VERSION, request, OPTIONS)
    cluster.reset_calls()
    again = gw.install_gateway(cluster, renderer, VERSION, request, OPTIONS)
    assert not again.changed and cluster.writes() == []
    before = set(cluster.store)
    removed = gw.remove_gateway(cluster, "istio-eastwestgateway", "istio-system", OPTIONS)
    assert removed.changed
    gone = before - set(cluster.store)
    assert {ref.kind for ref in gone} == {"Deployment", "Service", "ServiceAccount", "Role", "RoleBinding",
                                          "HorizontalPodAutoscaler", "Gateway", "ConfigMap"}
    assert not gw.remove_gateway(cluster, "istio-eastwestgateway", "istio-system", OPTIONS).changed


@pytest.mark.parametrize("request_, message", [
    (gw.GatewayRequest(preset="eastwest"), "needs the network"),
    (gw.GatewayRequest(preset="sideways"), "preset must be one of"),
    (gw.GatewayRequest(network="n1"), "network is for the eastwest preset"),
    (gw.GatewayRequest(expose_services=True), "cannot expose services: its Service has no port 15443"),
    (gw.GatewayRequest(expose_istiod=gw.IstiodExposure()), "no port 15012, 15017"),
])
def test_bad_requests_fail_before_any_write(cluster, renderer, request_, message):  # noqa: F811
    with pytest.raises(gw.GatewayError, match=message):
        gw.install_gateway(cluster, renderer, VERSION, request_, OPTIONS)
    assert cluster.writes() == []


def test_missing_istio_crds(cluster, renderer):  # noqa: F811
    cluster.unserved.add(("networking.istio.io", "Gateway"))
    with pytest.raises(gw.GatewayError, match="does not serve Gateway"):
        gw.install_gateway(cluster, renderer, VERSION, eastwest(expose_services=True), OPTIONS)
    assert cluster.writes() == []
    check = type(OPTIONS)(check_mode=True, wait=False)
    outcome = gw.install_gateway(cluster, renderer, VERSION, eastwest(expose_services=True), check)
    assert outcome.changed and cluster.writes() == []
    predicted = [o for o in outcome.objects() if o["kind"] == "Gateway"]
    assert predicted and predicted[0]["action"] == "created"


def test_presets_and_user_values():
    assert gw.GatewayRequest(preset="egress").merged_values()["service"]["type"] == "ClusterIP"
    merged = eastwest(values={"service": {"type": "NodePort"}}).merged_values()
    assert merged["service"]["type"] == "NodePort" and len(merged["service"]["ports"]) == 4
    assert gw.GatewayRequest(preset="egress").gateway_name == "istio-egressgateway"


def test_version_follows_the_injecting_revision(cluster, renderer):  # noqa: F811
    install(cluster, renderer, name="default", version="v1.29.6")
    catalog = builtin_catalog()
    assert gw.gateway_version(cluster, catalog, None, "default") == (catalog.resolve("v1.29.6"), [])
    assert gw.gateway_version(cluster, catalog, "v1.30.2", "default")[0].name == "v1.30.2"
    with pytest.raises(gw.GatewayError, match="revision 'missing' is neither a revision nor a revision tag"):
        gw.gateway_version(cluster, catalog, None, "missing")
    version, warnings = gw.gateway_version(cluster, catalog, None, "missing", check_mode=True)
    assert version.name == catalog.resolve(None).name and "check mode" in warnings[0]


def test_a_remote_revision_known_only_by_its_webhook(cluster):  # noqa: F811
    """A remote cluster's injector is served by the istiod of another cluster: the webhook is what it has."""
    cluster.put({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
                 "metadata": {"name": "istio-sidecar-injector-r1", "labels": {"istio.io/rev": "r1"}}})
    catalog = builtin_catalog()
    assert gw.gateway_version(cluster, catalog, None, "r1") == (catalog.resolve(None), [])
    assert gw.gateway_version(cluster, catalog, "v1.29.6", "r1")[0].name == "v1.29.6"


def test_revision_labels_the_pods(cluster, renderer):  # noqa: F811
    gw.install_gateway(cluster, renderer, VERSION, gw.GatewayRequest(revision="canary"), OPTIONS)
    pod = obj(cluster, "Deployment", "istio-ingressgateway", api="apps/v1")["spec"]["template"]
    assert pod["metadata"]["labels"]["istio.io/rev"] == "canary"


def test_addresses():
    assert gw.service_addresses({"status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}, {"hostname": "h"}]}}}) \
        == ["1.2.3.4", "h"]
    assert gw.service_addresses(None) == []


def test_istiod_over_tls_as_the_external_control_plane_guide_does_it():
    exposure = gw.IstiodExposure(revision="external-istiod", namespace="external-istiod",
                                 tls=gw.IstiodTls("external-istiod-tls", ("istiod.example.com",)))
    gateway, routes, rule = gw.istiod_exposure(exposure, {"istio": "ingressgateway"})
    assert [(s["port"]["number"], s["port"]["protocol"], s["tls"], s["hosts"]) for s in gateway["spec"]["servers"]] \
        == [(port, "HTTPS", {"mode": "SIMPLE", "credentialName": "external-istiod-tls"}, ["istiod.example.com"])
            for port in (15012, 15017)]
    assert routes["spec"]["hosts"] == ["istiod.example.com"] and "tls" not in routes["spec"]
    assert [(r["match"][0]["port"], r["route"][0]["destination"]["port"]["number"]) for r in routes["spec"]["http"]] \
        == [(15012, 15012), (15017, 443)]
    assert rule["kind"] == "DestinationRule" and rule["spec"]["host"] == exposure.host
    settings = {p["port"]["number"]: p for p in rule["spec"]["trafficPolicy"]["portLevelSettings"]}
    assert settings[15012]["tls"] == {"mode": "SIMPLE"} and settings[443]["tls"] == {"mode": "SIMPLE"}
    assert settings[15012]["connectionPool"]["http"]["h2UpgradePolicy"] == "UPGRADE"


@pytest.mark.parametrize("tls, message", [({"credential_name": "", "hosts": ["a"]}, "needs credential_name"),
                                          ({"credential_name": "s", "hosts": []}, "needs hosts")])
def test_tls_exposure_needs_a_secret_and_hosts(tls, message):
    request = gw.GatewayRequest.from_params({"expose_istiod": {"revision": "r", "tls": tls}})
    with pytest.raises(gw.GatewayError, match=message):
        request.merged_values()


def test_tls_exposure_from_params():
    request = gw.GatewayRequest.from_params({"namespace": "istio-system", "expose_istiod": {
        "revision": "external-istiod", "namespace": "external-istiod",
        "tls": {"credential_name": "cert", "hosts": ["10.0.0.9"]}}})
    assert request.expose_istiod.tls == gw.IstiodTls("cert", ("10.0.0.9",))
    assert gw.GatewayRequest.from_params({"expose_istiod": {"revision": "r"}}).expose_istiod.tls is None
