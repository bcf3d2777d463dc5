"""istio_observability and istio_control_plane's tracing option, on the real control plane: monitors named
after the revision, Kiali pointed at it, mesh-wide tracing, kinds without CRDs skipped with a warning."""
import json
import os

import pytest

from tests.helpers.ansible import ROOT, run_module

pytestmark = pytest.mark.integration
CHARTS = os.path.join(ROOT, "tests", "fixtures", "charts")


def crd(group, kind, plural, version):
    """A CRD of our own writing, of the shape the operator's has at its top (any spec accepted)."""
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "%s.%s" % (plural, group)},
            "spec": {"group": group, "scope": "Namespaced",
                     "names": {"kind": kind, "listKind": kind + "List", "plural": plural, "singular": kind.lower()},
                     "versions": [{"name": version, "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                         "type": "object", "properties": {"spec": {
                             "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}}}]}}


OPERATOR_CRDS = [crd("monitoring.coreos.com", "ServiceMonitor", "servicemonitors", "v1"),
                 crd("monitoring.coreos.com", "PodMonitor", "podmonitors", "v1"),
                 crd("kiali.io", "Kiali", "kialis", "v1alpha1"),
                 crd("telemetry.istio.io", "Telemetry", "telemetries", "v1")]


@pytest.fixture
def cluster(k8s_cluster):
    k8s_cluster.kubectl("create", "namespace", "istio-system")
    return k8s_cluster


def call(cluster, module, check=False, **args):
    args.setdefault("kubeconfig", cluster.kubeconfig)
    if module == "istio_control_plane":
        args.setdefault("chart_dir", CHARTS)
    return run_module("servicemesh.istio." + module, args, check=check)


def serve(cluster, crds):
    cluster.kubectl("apply", "--validate=false", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                                              "items": crds}))
    for item in crds:
        cluster.kubectl("wait", "--for=condition=Established", "crd/" + item["metadata"]["name"], "--timeout=60s")


def test_monitors_kiali_and_tracing_for_the_active_revision(cluster):
    strategy = {"type": "RevisionBased"}
    tracing = {"provider": "zipkin", "service": "jaeger-collector.tracing.svc.cluster.local"}
    plane = call(cluster, "istio_control_plane", version="v1.30.3", update_strategy=strategy, tracing=tracing)
    assert not plane.get("failed"), plane
    mesh = cluster.kubectl("get", "configmap", "istio-default-v1-30-3", "-n", "istio-system",
                           "-o", "jsonpath={.data.mesh}").stdout
    assert "jaeger-collector.tracing.svc.cluster.local" in mesh and "9411" in mesh, mesh

    wiring = {"prometheus": True, "monitor_labels": {"release": "prometheus"}, "kiali": {"name": "kiali"},
              "tracing_provider": "tracing", "tracing_sampling": 10.0}
    skipped = call(cluster, "istio_observability", **wiring)
    assert not skipped.get("failed") and skipped["wired"] == [], skipped
    assert len(skipped["warnings"]) == 4 and all("is not served by this cluster" in w for w in skipped["warnings"])

    serve(cluster, OPERATOR_CRDS)
    cluster.kubectl("apply", "--validate=false", "-f", "-", input=json.dumps({
        "apiVersion": "kiali.io/v1alpha1", "kind": "Kiali", "metadata": {"name": "kiali", "namespace": "istio-system"},
        "spec": {"auth": {"strategy": "anonymous"}}}))
    mark = cluster.last_request()
    predicted = call(cluster, "istio_observability", check=True, **wiring)
    assert predicted["changed"] and cluster.writes(since=mark) == []
    wired = call(cluster, "istio_observability", **wiring)
    assert wired["wired"] == ["Kiali kiali", "PodMonitor istio-proxies-default-v1-30-3",
                              "ServiceMonitor istiod-default-v1-30-3", "Telemetry mesh-default-default-v1-30-3"], wired
    kiali = json.loads(cluster.kubectl("get", "kiali", "kiali", "-n", "istio-system", "-o", "json").stdout)["spec"]
    assert kiali["auth"] == {"strategy": "anonymous"}, "the user's settings stay"
    assert kiali["external_services"]["istio"]["istiod_deployment_name"] == "istiod-default-v1-30-3"
    monitor = json.loads(cluster.kubectl("get", "servicemonitor", "istiod-default-v1-30-3", "-n", "istio-system",
                                         "-o", "json").stdout)
    assert monitor["metadata"]["labels"]["release"] == "prometheus"

    mark = cluster.last_request()
    assert call(cluster, "istio_observability", **wiring)["changed"] is False
    assert cluster.writes(since=mark) == []

    removed = call(cluster, "istio_observability", state="absent")
    assert removed["changed"], removed
    assert cluster.kubectl("get", "servicemonitor,podmonitor,telemetry", "-n", "istio-system",
                           "-o", "name").stdout.split() == []
    assert cluster.kubectl("get", "kiali", "kiali", "-n", "istio-system", "-o", "name").stdout.strip()


def test_a_missing_kiali_resource_is_reported_not_created(cluster):
    call(cluster, "istio_control_plane", version="v1.30.3")
    serve(cluster, OPERATOR_CRDS[2:3])
    result = call(cluster, "istio_observability", kiali={"name": "kiali"})
    assert result["wired"] == [] and "Kiali istio-system/kiali does not exist" in result["warnings"][0], result
    assert cluster.kubectl("get", "kiali", "-A", "-o", "name").stdout.strip() == ""
