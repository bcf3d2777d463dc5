"""cert-manager's istio-csr: istiod's values, and the preflight of what they point at."""
import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils import _istiocsr as csr
from tests.unit.k8s.fake_cluster import FakeCluster


def test_values_point_istiod_at_istio_csr_under_the_users_keys():
    wiring = csr.IstioCsr.from_params({"namespace": "cert-manager"}, "istio-system")
    values = csr.istio_csr_values({"pilot": {"env": {"PILOT_X": "1"}}, "global": {"caAddress": "mine:443"}}, wiring)
    assert values == {"global": {"caAddress": "mine:443"}, "pilot": {"env": {"PILOT_X": "1", "ENABLE_CA_SERVER": "false"}}}
    assert csr.istio_csr_values({}, wiring)["global"]["caAddress"] == "cert-manager-istio-csr.cert-manager.svc:443"
    assert csr.istio_csr_values({"a": 1}, None) == {"a": 1}
    assert csr.IstioCsr.from_params(None, "istio-system") is None
    with pytest.raises(csr.IstioCsrError, match="Issuer or ClusterIssuer"):
        csr.IstioCsr.from_params({"issuer": {"kind": "Vault"}}, "istio-system")


def test_the_preflight_names_what_is_missing():
    cluster = FakeCluster()
    wiring = csr.IstioCsr.from_params({"issuer": {"kind": "ClusterIssuer", "name": "root"}}, "istio-system")
    cluster.unserved.add(("cert-manager.io", "ClusterIssuer"))
    problems = csr.preflight_problems(cluster, wiring)
    assert len(problems) == 2 and "istio-csr/cert-manager-istio-csr does not exist" in problems[0]
    assert "cert-manager is not installed" in problems[1]
    cluster.unserved.clear()
    assert "the ClusterIssuer root that istio-csr signs with does not exist" in csr.preflight_problems(cluster, wiring)[1]
    cluster.put({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "cert-manager-istio-csr",
                                                                     "namespace": "istio-csr"}})
    cluster.put({"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": "root"}})
    assert csr.preflight_problems(cluster, wiring) == []
    csr.check(cluster, wiring)
    assert cluster.writes() == []
