"""istio_control_plane with cert-manager's istio-csr as the CA, on the real control plane, with a stand-in
istio-csr Service and cert-manager Issuer: refused before any write while they are missing, then installed."""
import json

import pytest

from tests.integration.test_observability import call, cluster, crd, serve  # noqa: F401 (the fixture) pylint: disable=unused-import

pytestmark = pytest.mark.integration


def test_the_preflight_refuses_until_istio_csr_and_its_issuer_exist(cluster):  # noqa: F811
    wiring = {"version": "v1.30.3", "cert_manager": {"namespace": "istio-csr", "issuer": {"name": "istio-ca"}}}
    mark = cluster.last_request()
    refused = call(cluster, "istio_control_plane", **wiring)
    assert refused.get("failed"), refused
    assert "istio-csr's Service istio-csr/cert-manager-istio-csr does not exist" in refused["msg"]
    assert "cert-manager is not installed" in refused["msg"] and "nothing was changed" in refused["msg"]
    assert cluster.writes(since=mark) == []

    serve(cluster, [crd("cert-manager.io", "Issuer", "issuers", "v1")])
    cluster.kubectl("create", "namespace", "istio-csr")
    cluster.kubectl("create", "service", "clusterip", "cert-manager-istio-csr", "-n", "istio-csr", "--tcp=443:6443")
    still = call(cluster, "istio_control_plane", **wiring)
    assert still.get("failed") and "the Issuer istio-ca that istio-csr signs with does not exist in namespace " \
        "istio-system" in still["msg"], still
    cluster.kubectl("apply", "--validate=false", "-f", "-", input=json.dumps({
        "apiVersion": "cert-manager.io/v1", "kind": "Issuer", "metadata": {"name": "istio-ca", "namespace": "istio-system"},
        "spec": {"ca": {"secretName": "istio-ca"}}}))
    installed = call(cluster, "istio_control_plane", **dict(wiring, wait=False))
    assert installed["changed"] and not installed.get("failed"), installed
    env = json.loads(cluster.kubectl("get", "deployment", "istiod", "-n", "istio-system", "-o",
                                     "jsonpath={.spec.template.spec.containers[0].env}").stdout)
    assert {"name": "ENABLE_CA_SERVER", "value": "false"} in env
    merged = cluster.kubectl("get", "configmap", "values", "-n", "istio-system", "-o",
                             "jsonpath={.data.merged-values}").stdout
    assert "cert-manager-istio-csr.istio-csr.svc:443" in merged
