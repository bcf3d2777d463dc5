"""The istiod stand-in's decisions (tests/cluster/injector.py), which the real API server's webhook calls reach."""
import json

from tests.cluster.injector import _webhook_patch, injected, proxy_image, serving_istiods, skip_reason


def pod(labels=None, annotations=None, **spec):
    return {"metadata": {"generateName": "web-", "labels": labels or {}, "annotations": annotations or {}},
            "spec": dict({"containers": [{"name": "web", "image": "web:1"}]}, **spec)}


def test_skips_as_istiod_does():
    assert skip_reason(pod()) == ""
    assert skip_reason(pod(annotations={"sidecar.istio.io/status": "{}"})) == "already injected"
    assert skip_reason(pod(hostNetwork=True)) == "host network"
    assert skip_reason(pod(labels={"sidecar.istio.io/inject": "false"})) == "injection disabled on the pod"
    assert skip_reason(pod(annotations={"sidecar.istio.io/inject": "false"})) == "injection disabled on the pod"
    assert skip_reason(pod(labels={"sidecar.istio.io/inject": "true"})) == ""


def test_proxy_image_from_values_or_istiod_version():
    assert proxy_image({"global": {"hub": "mirror.local/istio", "tag": "1.30.3"}}) == "mirror.local/istio/proxyv2:1.30.3"
    assert proxy_image({"global": {"hub": "h"}}, "h/pilot:1.29.6") == "h/proxyv2:1.29.6"
    assert proxy_image({"global": {"proxy": {"image": "other.io/proxy:9"}}}) == "other.io/proxy:9"


def test_sidecar_added_with_status_and_labels():
    after = injected(pod(labels={"app": "web"}), "canary", {"global": {"hub": "h", "tag": "1"}})
    names = [c["name"] for c in after["spec"]["containers"]]
    assert names == ["web", "istio-proxy"] and after["spec"]["initContainers"][0]["name"] == "istio-init"
    status = json.loads(after["metadata"]["annotations"]["sidecar.istio.io/status"])
    assert status["revision"] == "canary" and status["initContainers"] == ["istio-init"]
    assert after["metadata"]["annotations"]["istio.io/rev"] == "canary"
    assert after["metadata"]["labels"]["service.istio.io/canonical-name"] == "web"


def test_cni_drops_the_init_container_and_gateways_get_their_image():
    cni = injected(pod(), "default", {"istio_cni": {"enabled": True}})
    assert "initContainers" not in cni["spec"]
    gateway = pod(containers=[{"name": "istio-proxy", "image": "auto"}])
    after = injected(gateway, "default", {"global": {"hub": "h", "tag": "2"}})
    assert [c["image"] for c in after["spec"]["containers"]] == ["h/proxyv2:2"]
    assert "initContainers" not in after["spec"]


def test_only_ready_istiod_pods_serve():
    ready = {"type": "Ready", "status": "True"}
    pods = [{"metadata": {"namespace": "istio-system", "labels": {"istio.io/rev": "r1"}},
             "spec": {"containers": [{"image": "h/pilot:1"}]},
             "status": {"phase": "Running", "podIP": "10.244.0.3", "conditions": [ready]}},
            {"metadata": {"namespace": "istio-system", "labels": {}}, "spec": {"containers": [{"image": "x"}]},
             "status": {"phase": "Running", "podIP": "10.244.0.4", "conditions": [dict(ready, status="False")]}},
            {"metadata": {"namespace": "istio-system", "labels": {}, "deletionTimestamp": "now"},
             "spec": {"containers": [{"image": "x"}]},
             "status": {"phase": "Running", "podIP": "10.244.0.5", "conditions": [ready]}}]
    assert serving_istiods(pods) == {"10.244.0.3": ("istio-system", "r1", "h/pilot:1")}


def test_webhook_upkeep_patches_only_what_differs():
    config = {"webhooks": [{"clientConfig": {"caBundle": "CA"}, "failurePolicy": "Fail"},
                           {"clientConfig": {}, "failurePolicy": "Ignore"}]}
    assert _webhook_patch(config, "CA", fail_close=True) == [
        {"op": "add", "path": "/webhooks/1/clientConfig/caBundle", "value": "CA"},
        {"op": "add", "path": "/webhooks/1/failurePolicy", "value": "Fail"}]
    assert _webhook_patch(config, "CA", fail_close=False) == [
        {"op": "add", "path": "/webhooks/1/clientConfig/caBundle", "value": "CA"}]
