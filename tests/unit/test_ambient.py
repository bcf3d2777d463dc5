"""Ambient mode's plan: each decision, and the whole plan refused with every problem at once."""
import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils import _ambient as ambient
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import builtin_catalog

CATALOG = builtin_catalog()


def request(**params):
    return ambient.AmbientRequest.from_params(params)


def view(revisions=(), control_planes=(), cni=None, ztunnel=None, namespaces=("istio-system",), gateway_api=False):
    return ambient.ClusterView(facts={"revisions": list(revisions), "control_planes": list(control_planes),
                                      "cni": cni, "ztunnel": ztunnel},
                               namespaces=list(namespaces), gateway_api=gateway_api)


def refused(*args):
    with pytest.raises(ambient.AmbientRefused) as caught:
        ambient.plan(*args)
    return caught.value


# -- the request ----------------------------------------------------------------------------------

def test_empty_profile_is_ambient():
    assert request(profile="").control_plane.profile == "ambient"


@pytest.mark.parametrize("params,is_file,problem", [
    ({"state": "gone"}, False, "istio_state must be present or absent, not 'gone'"),
    ({"profile": "default"}, False, "istio_profile must be ambient or openshift-ambient, not 'default'"),
    ({"gateway_api_crds_file": "a.yaml", "gateway_api_crds_url": "https://x/b.yaml"}, True, "not both"),
    ({"gateway_api_crds_file": "missing.yaml"}, False, "istio_gateway_api_crds_file missing.yaml is not a file"),
])
def test_request_problems(params, is_file, problem):
    assert [p for p in ambient.request_problems(request(**params), is_file) if problem in p]


def test_a_good_request_has_no_problems():
    assert ambient.request_problems(request(gateway_api_crds_file="a.yaml"), True) == []
    # removal does not read the bundle
    assert ambient.request_problems(request(state="absent", gateway_api_crds_file="gone.yaml"), False) == []


def test_waypoints_get_their_defaults():
    found, problems = ambient.normalized_waypoints([{"namespace": "bookinfo", "revision": "canary"}])
    assert problems == []
    assert found == [{"namespace": "bookinfo", "name": "waypoint", "state": "present", "waypoint_for": "service",
                      "revision": "canary", "enroll_namespaces": [], "enroll_services": [],
                      "enroll_service_accounts": [], "enroll_pods": []}]


def test_bad_waypoints_are_named():
    _found, problems = ambient.normalized_waypoints(["bookinfo", {"name": "w"}, {"namespace": "a", "state": "gone"}])
    assert problems == ["istio_waypoints[0] must be a mapping with a namespace",
                        "istio_waypoints[1] must be a mapping with a namespace",
                        "istio_waypoints[2].state must be present or absent, not 'gone'"]


def test_agent_values_are_type_checked():
    problems = ambient.values_problems(request(cni_values={"cni": {"ambient": {"enabled": "yes"}}}))
    assert len(problems) == 1 and "istio_cni_values.cni.ambient.enabled" in problems[0]


# -- values ---------------------------------------------------------------------------------------

def test_discovery_labels_become_selectors():
    values = ambient.discovery_values({"pilot": {"replicaCount": 2}}, {"istio-discovery": "enabled"})
    assert values == {"pilot": {"replicaCount": 2},
                      "meshConfig": {"discoverySelectors": [{"matchLabels": {"istio-discovery": "enabled"}}]}}


def test_own_selectors_win_and_no_labels_add_none():
    own = {"meshConfig": {"discoverySelectors": [{"matchLabels": {"mine": "yes"}}]}}
    assert ambient.discovery_values(own, {"istio-discovery": "enabled"}) == own
    assert ambient.discovery_values({}, {}) == {}


def test_control_plane_trusts_the_ztunnel_namespace():
    expected = {"pilot": {"a": 1, "trustedZtunnelNamespace": "zt"}}
    assert ambient.control_plane_values({"pilot": {"a": 1}}, "zt") == expected


def test_cni_reconciles_iptables_unless_told_otherwise():
    assert ambient.cni_values({}) == {"cni": {"ambient": {"reconcileIptablesOnStartup": True}}}
    assert ambient.cni_values({"cni": {"ambient": {"reconcileIptablesOnStartup": False}}}) == {
        "cni": {"ambient": {"reconcileIptablesOnStartup": False}}}


# -- the cluster ----------------------------------------------------------------------------------

AGENTS = [("istio-cni", "v1.29.6"), ("ztunnel", "v1.29.6")]


def test_no_skew_for_agents_at_the_control_plane_version():
    assert ambient.skew_problems("default", "v1.29.6", AGENTS, [], []) == []


def test_every_other_revision_counts():
    problems = ambient.skew_problems("default", "v1.29.6", AGENTS,
                                     [{"name": "other", "version": "v1.31.0-beta.1"}, {"name": "default",
                                                                                       "version": "v1.28.0"}], [])
    assert problems == [
        "istio-cni v1.29.6 is too far from control plane version v1.31.0-beta.1 (allowed: 1.30 to 1.32) "
        "(revision other)",
        "ztunnel v1.29.6 is too far from control plane version v1.31.0-beta.1 (allowed: 1.30 to 1.32) "
        "(revision other)"]


def test_ztunnel_is_never_newer_than_the_control_plane_it_follows():
    problems = ambient.skew_problems("default", "v1.29.6", [("istio-cni", "v1.30.3"), ("ztunnel", "v1.30.3")],
                                     [], [])
    assert len(problems) == 1 and problems[0].startswith(
        "ztunnel v1.30.3 must not be newer than the control plane it follows (v1.29.6)")


def test_agents_running_now_must_work_beside_the_new_revision():
    problems = ambient.skew_problems("default", "v1.29.6", AGENTS, [],
                                     [("istio-cni", "v1.30.3"), ("ztunnel", "v1.30.3"), ("ztunnel", None)])
    assert len(problems) == 1 and problems[0].startswith(
        "ztunnel (running now) v1.30.3 must not be newer than the control plane it follows (v1.29.6)")


def test_one_cni_and_one_ztunnel_per_cluster():
    assert ambient.singleton_problems(request(), view(cni={"namespace": "kube-system"},
                                                      ztunnel={"namespace": "ztunnel"})) == [
        "the cluster already has a cni in namespace kube-system; there is one per cluster, remove it first to move it"]


def test_required_namespaces_once_each_absent_waypoints_left_out():
    waypoints = [{"namespace": "shared", "enroll_namespaces": ["curl", "bookinfo"]},
                 {"namespace": "old", "state": "absent", "enroll_namespaces": ["gone"]}]
    assert ambient.required_namespaces(["bookinfo"], waypoints) == ["bookinfo", "shared", "curl"]


def test_missing_namespaces_are_named():
    assert ambient.namespace_problem(["a", "b", "c"], ["b"]) == (
        "namespaces a, c do not exist (enrolled or holding a waypoint); create them first")
    assert ambient.namespace_problem(["b"], ["b"]) is None


@pytest.mark.parametrize("waypoints,present,source,refused_", [
    ([{"namespace": "a"}], False, "", True),
    ([{"namespace": "a"}], True, "", False),
    ([{"namespace": "a"}], False, "crds.yaml", False),
    ([{"namespace": "a", "state": "absent"}], False, "", False),
    ([], False, "", False),
])
def test_waypoints_need_the_gateway_api(waypoints, present, source, refused_):
    assert (ambient.gateway_api_problem(waypoints, present, source) is not None) is refused_


# -- what each step does --------------------------------------------------------------------------

SYSTEM = ["istio-system", "istio-cni", "ztunnel"]


def test_labels_per_namespace():
    labels = ambient.namespace_labels(SYSTEM, ["bookinfo"], {"d": "on"}, [], check_mode=False)
    assert labels == {"istio-system": {"d": "on"}, "istio-cni": {"d": "on"}, "ztunnel": {"d": "on"},
                      "bookinfo": {"d": "on", "istio.io/dataplane-mode": "ambient"}}


def test_check_mode_labels_only_namespaces_that_exist():
    labels = ambient.namespace_labels(SYSTEM, ["bookinfo"], {"d": "on"}, ["istio-system", "bookinfo"], True)
    assert sorted(labels) == ["bookinfo", "istio-system"]


def test_no_discovery_labels_leave_the_system_namespaces_alone():
    assert ambient.namespace_labels(SYSTEM, ["bookinfo"], {}, [], False) == {
        "bookinfo": {"istio.io/dataplane-mode": "ambient"}}


def test_enrol_now():
    assert ambient.enrol_now(False, "istio-system", [])
    assert not ambient.enrol_now(True, "istio-system", [])
    assert ambient.enrol_now(True, "istio-system", ["istio-system"])


@pytest.mark.parametrize("check_mode,revisions,follows", [
    (False, [], True),
    (True, [], False),
    (True, [{"name": "default", "version": "v1.29.6"}], False),
    (True, [{"name": "default", "version": "v1.30.3"}], True),
])
def test_ztunnel_can_follow(check_mode, revisions, follows):
    assert ambient.can_follow(check_mode, "default", "v1.30.3", revisions) is follows


@pytest.mark.parametrize("prune,check_mode,installed,expected", [
    (True, False, False, True),
    (True, True, False, False),
    (True, True, True, True),
    (False, False, True, False),
])
def test_should_prune(prune, check_mode, installed, expected):
    planes = [{"name": "default", "namespace": "istio-system"}] if installed else []
    assert ambient.should_prune(prune, check_mode, "default", "istio-system", planes) is expected


def test_waypoints_now():
    assert ambient.waypoints_now(False, False) and ambient.waypoints_now(True, True)
    assert not ambient.waypoints_now(True, False)


# -- the plan -------------------------------------------------------------------------------------

FULL = {"version": "v1.29.6", "ambient_namespaces": ["bookinfo"], "discovery_labels": {"d": "on"},
        "waypoints": [{"namespace": "bookinfo", "enroll_namespaces": ["bookinfo"]}],
        "gateway_api_crds_file": "crds.yaml"}


def test_the_whole_plan():
    plan = ambient.plan(request(**FULL), CATALOG, view(namespaces=["bookinfo"]), False, True)
    assert (plan["revision"], plan["version"], plan["cni_version"], plan["ztunnel_version"]) == (
        "default", "v1.29.6", "v1.29.6", "v1.29.6")
    assert plan["control_plane_values"] == {"meshConfig": {"discoverySelectors": [{"matchLabels": {"d": "on"}}]},
                                            "pilot": {"trustedZtunnelNamespace": "ztunnel"}}
    assert plan["cni_values"]["cni"]["ambient"]["reconcileIptablesOnStartup"] is True
    assert plan["ztunnel_control_plane"] == "default" and plan["ztunnel_control_plane_namespace"] == "istio-system"
    assert plan["prune"] and plan["enrol"] and plan["install_waypoints"]
    assert plan["labels_state"] == "present" and plan["labels"]["bookinfo"]["istio.io/dataplane-mode"] == "ambient"
    assert plan["gateway_api"] == {"present": False, "source": "crds.yaml", "download": False}
    assert plan["waypoints"][0]["name"] == "waypoint"


def test_check_mode_plan_on_an_empty_cluster():
    plan = ambient.plan(request(**FULL), CATALOG, view(namespaces=["bookinfo"]), True, True)
    assert plan["ztunnel_control_plane"] == "" and not plan["ztunnel_follows"]
    assert not plan["prune"] and not plan["enrol"] and not plan["install_waypoints"]
    assert sorted(plan["labels"]) == ["bookinfo"]


def test_agent_versions_resolve_through_the_catalog():
    plan = ambient.plan(request(version="1.30-latest", cni_version="v1.29-latest"), CATALOG, view(), False, False)
    assert (plan["version"], plan["cni_version"], plan["ztunnel_version"]) == ("v1.30.3", "v1.29.6", "v1.30.3")


def test_every_problem_at_once():
    error = refused(request(version="v1.29.6", ztunnel_version="v1.30.3", ambient_namespaces=["nowhere"],
                            values={"pilot": {"trustedZtunnelNamespace": "kube-system"}},
                            waypoints=[{"namespace": "istio-system"}]),
                    CATALOG, view(cni={"namespace": "kube-system"}), False, False)
    assert str(error).startswith("ambient mode refused, nothing was changed: ")
    assert len(error.problems) == 4, error.problems
    for part in ("trustedZtunnelNamespace is 'kube-system'", "already has a cni in namespace kube-system",
                 "namespaces nowhere do not exist", "waypoints need the Kubernetes Gateway API CRDs"):
        assert part in str(error), part


def test_skew_is_refused_once_the_versions_resolve():
    error = refused(request(version="v1.29.6", ztunnel_version="v1.30.3"), CATALOG, view(), False, False)
    assert error.problems == ["ztunnel v1.30.3 must not be newer than the control plane it follows (v1.29.6); "
                              "upgrade the control plane first (revision default)"]


def test_an_unknown_version_is_a_problem_not_a_crash():
    error = refused(request(version="v1.29.6", cni_version="v9.9.9"), CATALOG, view(), False, False)
    assert len(error.problems) == 1 and "v9.9.9" in error.problems[0]


def test_request_problems_come_before_the_cluster():
    error = refused(request(state="present", profile="default"), CATALOG, None, False, False)
    assert error.problems == ["istio_profile must be ambient or openshift-ambient, not 'default'"]


def test_removal_checks_only_the_request():
    assert ambient.plan(request(state="absent", version="v9.9.9"), CATALOG, None, False, False) == {
        "state": "absent", "waypoints": []}


# -- the result -----------------------------------------------------------------------------------

def test_summary_and_message_after_an_install():
    facts = view(control_planes=[{"name": "other", "namespace": "x", "status": "Healthy"},
                                 {"name": "default", "namespace": "istio-system", "status": "Healthy"}],
                 cni={"ready": True}, ztunnel={"ready": True, "revision": "default"}, gateway_api=True)
    wanted = request(waypoints=[{"namespace": "bookinfo"}, {"namespace": "shared", "name": "w"}])
    summary = ambient.summary(wanted, facts, check_mode=False)
    assert summary["control_plane"]["namespace"] == "istio-system"
    assert summary["waypoints"] == ["bookinfo/waypoint", "shared/w"] and summary["state"] == "present"
    assert ambient.message(wanted, summary) == (
        "control plane default: Healthy; CNI ready: True; ztunnel ready: True (following default)")


def test_summary_in_check_mode_without_the_gateway_api_has_no_waypoints():
    summary = ambient.summary(request(waypoints=[{"namespace": "a"}]), view(), check_mode=True)
    assert summary["waypoints"] == [] and summary["control_plane"] == {}
    assert ambient.message(request(), summary) == (
        "control plane default: not found; CNI ready: False; ztunnel ready: False (following nothing)")


def test_summary_and_message_after_a_removal():
    summary = ambient.summary(request(state="absent"), None, False)
    assert summary == {"control_plane": {}, "cni": None, "ztunnel": None, "waypoints": [], "state": "absent"}
    assert ambient.message(request(state="absent"), summary) == (
        "removed the waypoints, ztunnel, the CNI and the control plane")
    assert ambient.message(request(state="absent", remove_control_plane=False), summary) == (
        "removed the waypoints, ztunnel, the CNI")
