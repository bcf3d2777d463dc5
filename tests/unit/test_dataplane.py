"""CNI and ztunnel units: version skew, the singleton rule, dependency health."""
import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils import _dataplane as dataplane
from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import builtin_catalog
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef
from tests.unit.test_lifecycle import OPTIONS, cluster, install, renderer  # noqa: F401  (fixtures) pylint: disable=unused-import


@pytest.mark.parametrize("agent,cp,followed,ok", [
    ("v1.30.3", "v1.30.3", True, True),
    ("v1.29.6", "v1.30.3", True, True),
    ("v1.30.3", "v1.29.6", False, True),
    ("v1.30.3", "v1.29.6", True, False),
    ("v1.31.0-beta.1", "v1.29.6", False, False),
    ("v1.30.3", "v1.30.2", True, False),
])
def test_skew_rules(agent, cp, followed, ok):
    problem = dataplane.skew_problem("ztunnel", agent, cp, followed)
    assert (problem is None) is ok, problem


def test_skew_message_names_the_allowed_range():
    assert "allowed: 1.28 to 1.30" in dataplane.skew_problem("istio-cni", "v1.31.0-beta.1", "v1.29.6")


@pytest.mark.parametrize("values,cni,ztunnel,problem", [
    ({}, None, None, None),
    ({"pilot": {"cni": {"enabled": True}}}, None, None, "IstioCNINotFound"),
    ({"pilot": {"cni": {"enabled": True}}}, {"ready": False}, None, "IstioCNINotHealthy"),
    ({"global": {"platform": "openshift"}}, None, None, "IstioCNINotFound"),
    ({"global": {"platform": "openshift"}, "pilot": {"cni": {"enabled": False}}}, None, None, None),
    ({"profile": "ambient"}, None, None, "ZTunnelNotFound"),
    ({"profile": "ambient"}, None, {"ready": False}, "ZTunnelNotHealthy"),
    ({"profile": "ambient", "pilot": {"cni": {"enabled": True}}}, None, None, "IstioCNINotFound"),
    ({"profile": "ambient"}, None, {"ready": True}, None),
])
def test_dependency_rules(values, cni, ztunnel, problem):
    assert dataplane.dependency_problem(values, cni, ztunnel) == problem


def namespace(fake, name):
    fake.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {}}})


def test_ztunnel_follows_a_revision_and_skew_fails_before_writes(cluster, renderer):  # noqa: F811
    install(cluster, renderer, name="default", version="v1.29.6", profile="ambient")
    namespace(cluster, "ztunnel")
    target = lifecycle.resolve_tag_target(cluster, None, "default", None)
    cluster.reset_calls()
    with pytest.raises(lifecycle.LifecycleError, match="must not be newer than the control plane it follows"):
        dataplane.install_ztunnel(cluster, renderer, builtin_catalog().resolve("v1.30.3"), "ztunnel", {}, "",
                                  OPTIONS, followed=target)
    assert cluster.writes() == []
    outcome = dataplane.install_ztunnel(cluster, renderer, builtin_catalog().resolve("v1.29.6"), "ztunnel",
                                        {"ztunnel": {"logLevel": "debug"}}, "", OPTIONS, followed=target)
    assert outcome.facts["revision"] == "default" and outcome.facts["values"]["logLevel"] == "debug"
    assert cluster.get(ObjectRef.of("apps/v1", "DaemonSet", "ztunnel", "ztunnel"))


def test_one_cni_per_cluster(cluster, renderer):  # noqa: F811
    for name in ("istio-cni", "cni-two"):
        namespace(cluster, name)
    version = builtin_catalog().resolve("v1.30.3")
    dataplane.install_cni(cluster, renderer, version, "istio-cni", "ambient", {}, "", OPTIONS)
    assert cluster.get(ObjectRef.of("apps/v1", "DaemonSet", "istio-cni-node", "istio-cni"))
    with pytest.raises(lifecycle.LifecycleError, match="already has a cni in namespace istio-cni"):
        dataplane.install_cni(cluster, renderer, version, "cni-two", None, {}, "", OPTIONS)
    removed = dataplane.remove_agent(cluster, dataplane.CNI, OPTIONS)
    assert removed.changed and cluster.get(ObjectRef.of("apps/v1", "DaemonSet", "istio-cni-node", "istio-cni")) is None


# -- what the agents' modules report as kubectl get istiocni / ztunnel -------------------------------

def test_agent_status_after_removal_a_wait_or_from_the_cluster():
    def never():
        raise AssertionError("the cluster is not read")

    facts = {"namespace": "ztunnel", "version": "1.30.3", "revision": "default", "values": {}}
    assert dataplane.agent_status(dataplane.ZTUNNEL, "absent", {}, True, never) == {"status": "Removed"}
    assert dataplane.agent_status(dataplane.ZTUNNEL, "present", facts, True, never) == {
        "namespace": "ztunnel", "version": "1.30.3", "revision": "default", "ready": True, "not_ready_reason": ""}
    assert "revision" not in dataplane.agent_status(dataplane.CNI, "present", facts, True, never)
    live = {"namespace": "istio-cni", "version": "1.29.6", "ready": False, "not_ready_reason": "0/2 ready"}
    assert dataplane.agent_status(dataplane.CNI, "present", facts, False, lambda: live) == live
    assert dataplane.agent_status(dataplane.CNI, "present", facts, False, lambda: None) is None
