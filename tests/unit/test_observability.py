"""The observability objects for a revision, and the tracing provider in istiod's values."""
import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils import _observability as obs


def request(**kwargs):
    return obs.ObservabilityRequest(**dict({"revision": "default-v1-30-3", "namespace": "istio-system"}, **kwargs))


def test_a_tracing_provider_joins_the_users_providers_and_replaces_its_namesake():
    values = {"meshConfig": {"accessLogFile": "/dev/stdout", "extensionProviders": [
        {"name": "tracing", "zipkin": {"service": "old", "port": 1}}, {"name": "otel-logs", "envoyOtelAls": {}}]}}
    merged = obs.tracing_values(values, obs.Tracing(service="jaeger.tracing.svc.cluster.local"))
    assert merged["meshConfig"]["accessLogFile"] == "/dev/stdout"
    assert merged["meshConfig"]["extensionProviders"] == [
        {"name": "otel-logs", "envoyOtelAls": {}},
        {"name": "tracing", "zipkin": {"service": "jaeger.tracing.svc.cluster.local", "port": 9411}}]
    assert values["meshConfig"]["extensionProviders"][0]["zipkin"]["service"] == "old", "the input is left alone"
    otel = obs.tracing_values({}, obs.Tracing(service="otel", provider="opentelemetry", name="otel"))
    assert otel["meshConfig"]["extensionProviders"] == [{"name": "otel", "opentelemetry": {"service": "otel",
                                                                                           "port": 4317}}]
    assert obs.tracing_values(values, None) is values


@pytest.mark.parametrize("params, message", [
    ({"service": "x", "provider": "jaeger"}, "tracing.provider must be one of"),
    ({"provider": "zipkin"}, "tracing.service"),
])
def test_bad_tracing_is_refused(params, message):
    with pytest.raises(obs.ObservabilityError, match=message):
        obs.Tracing.from_params(params)


def test_monitors_are_named_after_the_revision_and_keep_its_proxies_only():
    istiod = obs.istiod_monitor(request(monitor_labels={"release": "prometheus"}))
    assert istiod["metadata"]["name"] == "istiod-default-v1-30-3"
    assert istiod["metadata"]["labels"] == {"release": "prometheus", "istio.io/rev": "default-v1-30-3"}
    assert istiod["spec"]["selector"]["matchLabels"] == {"app": "istiod", "istio.io/rev": "default-v1-30-3"}
    proxies = obs.proxies_monitor(request())
    assert proxies["metadata"]["name"] == "istio-proxies-default-v1-30-3"
    [endpoint] = proxies["spec"]["podMetricsEndpoints"]
    assert endpoint["relabelings"] == [{"sourceLabels": ["__meta_kubernetes_pod_annotation_istio_io_rev"],
                                        "action": "keep", "regex": "default-v1-30-3"}]
    assert obs.istiod_monitor(request(revision="default"))["metadata"]["name"] == "istiod"


def test_kiali_is_pointed_at_the_revisions_objects():
    spec = obs.kiali_settings(request(kiali=("kiali-operator", "kiali")))["spec"]
    assert spec == {"istio_namespace": "istio-system", "external_services": {"istio": {
        "config_map_name": "istio-default-v1-30-3", "istiod_deployment_name": "istiod-default-v1-30-3",
        "istio_sidecar_injector_config_map_name": "istio-sidecar-injector-default-v1-30-3"}}}


def test_kinds_the_cluster_does_not_serve_are_skipped_with_a_warning():
    wanted = request(prometheus=True, kiali=("istio-system", "kiali"), tracing_provider="tracing", sampling=10)
    everything, none = obs.wanted_objects(wanted, lambda api, kind: True)
    assert [o["kind"] for o in everything] == ["ServiceMonitor", "PodMonitor", "Kiali", "Telemetry"] and none == []
    assert everything[-1]["spec"]["tracing"] == [{"providers": [{"name": "tracing"}], "randomSamplingPercentage": 10}]
    kept, warnings = obs.wanted_objects(wanted, lambda api, kind: not api.startswith("monitoring.coreos.com"))
    assert [o["kind"] for o in kept] == ["Kiali", "Telemetry"]
    assert len(warnings) == 2 and "ServiceMonitor (monitoring.coreos.com/v1) is not served" in warnings[0]
    with pytest.raises(obs.ObservabilityError, match="tracing_sampling"):
        request(sampling=120).check()
