"""The Gateway API bundle: read, checked, applied, and waited for only where a readiness condition exists."""
import importlib.util
import os

import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils import _gateway_api as gateway_api
from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s import _readiness as readiness
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._waiter import readiness_checks
from tests.unit.k8s.fake_cluster import FakeCluster

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUNDLES = os.path.join(ROOT, "tests", "fixtures", "gateway-api")
STANDARD = os.path.join(BUNDLES, "standard-install.yaml")
EXPERIMENTAL = os.path.join(BUNDLES, "experimental-install.yaml")
OPTIONS = lifecycle.Options(wait=True, wait_timeout=5)
POLICY_KINDS = ["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"]


def generator():
    spec = importlib.util.spec_from_file_location("gateway_api_generate", os.path.join(BUNDLES, "generate.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def kinds(objects):
    return sorted({obj["kind"] for obj in objects})


def crd_kinds(objects):
    return sorted(obj["spec"]["names"]["kind"] for obj in objects if obj["kind"] == "CustomResourceDefinition")


# -- the test bundles ----------------------------------------------------------------------------------

@pytest.mark.parametrize("channel,path", [("standard", STANDARD), ("experimental", EXPERIMENTAL)])
def test_bundle_files_are_what_the_generator_writes(channel, path):
    with open(path, encoding="utf-8") as handle:
        assert handle.read() == generator().render(channel)


def test_bundles_are_real_sized_with_cel_rules_and_admission_policies():
    standard, experimental = gateway_api.load_bundle(STANDARD), gateway_api.load_bundle(EXPERIMENTAL)
    assert crd_kinds(standard) == ["GRPCRoute", "Gateway", "GatewayClass", "HTTPRoute", "ReferenceGrant"]
    assert set(crd_kinds(experimental)) - set(crd_kinds(standard)) >= {"TCPRoute", "TLSRoute", "UDPRoute",
                                                                       "BackendTLSPolicy"}
    for objects, path in ((standard, STANDARD), (experimental, EXPERIMENTAL)):
        assert kinds(objects) == ["CustomResourceDefinition"] + POLICY_KINDS
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        assert text.count("\n") > 4000 and text.count("x-kubernetes-validations") > 50


# -- what is waited for ------------------------------------------------------------------------------

def test_only_objects_with_a_readiness_condition_are_waited_for():
    objects = gateway_api.load_bundle(STANDARD)
    checks = readiness_checks(objects)
    assert sorted(check.ref.name for check in checks) == sorted(
        obj["metadata"]["name"] for obj in objects if obj["kind"] == "CustomResourceDefinition")
    assert {check.predicate for check in checks} == {readiness.crd_established}
    policies = [obj for obj in objects if obj["kind"] in POLICY_KINDS]
    assert len(policies) == 2 and [readiness.readiness_of(obj) for obj in policies] == [None, None]


# -- checks before anything is sent -------------------------------------------------------------------

CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
       "metadata": {"name": "gateways.gateway.networking.k8s.io"}, "spec": {"group": "gateway.networking.k8s.io"}}


@pytest.mark.parametrize("objects,message", [
    ([CRD, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}}],
     "document 2 (Deployment x) is of apiVersion apps/v1"),
    ([dict(CRD, metadata={"name": "things.example.com"}, spec={"group": "example.com"})],
     "defines group 'example.com'"),
    ([CRD, CRD], "is in the bundle more than once"),
    ([dict(CRD, metadata={"name": "httproutes.gateway.networking.k8s.io"})], "does not define gateways."),
    ([CRD, ["not", "an", "object"]], "document 2 is not an object"),
    ([CRD, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}], "document 2 (ConfigMap) has no metadata.name"),
])
def test_bad_bundles_are_refused(objects, message):
    with pytest.raises(gateway_api.GatewayApiError, match="cannot be installed.*" + message.replace("(", r"\(")
                       .replace(")", r"\)").replace(".", r"\.")):
        gateway_api.check_bundle(objects, "bundle.yaml")


def test_unreadable_or_unparsable_files_are_refused(tmp_path):
    with pytest.raises(gateway_api.GatewayApiError, match="cannot read the Gateway API bundle"):
        gateway_api.load_bundle(str(tmp_path / "missing.yaml"))
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: [unclosed\n")
    with pytest.raises(gateway_api.GatewayApiError, match="is not valid YAML"):
        gateway_api.load_bundle(str(broken))


# -- applying ------------------------------------------------------------------------------------------

def test_install_waits_for_crds_only_and_a_second_run_writes_nothing(monkeypatch):
    cluster = FakeCluster()
    waited = []
    monkeypatch.setattr(lifecycle, "wait_for", lambda _c, checks, _o: waited.extend(checks))
    objects = gateway_api.load_bundle(STANDARD)
    predicted = gateway_api.install_bundle(cluster, objects, lifecycle.Options(check_mode=True))
    assert predicted.changed and cluster.writes() == []
    assert len(predicted.diff()["after"]) == len(objects)
    del waited[:]
    outcome = gateway_api.install_bundle(cluster, objects, OPTIONS)
    assert outcome.changed and len(cluster.writes()) == len(objects)
    assert sorted(check.ref.kind for check in waited) == ["CustomResourceDefinition"] * 5
    assert outcome.facts["crds"] == sorted(check.ref.name for check in waited)
    assert outcome.facts["waited_for"] == [str(check.ref) for check in waited]
    cluster.reset_calls()
    assert not gateway_api.install_bundle(cluster, objects, OPTIONS).changed
    assert cluster.writes() == []
    upgraded = gateway_api.install_bundle(cluster, gateway_api.load_bundle(EXPERIMENTAL), OPTIONS)
    assert upgraded.changed
