"""The control-plane modules through Ansible, on the real control plane, with the fixture charts."""
import os
import re

import pytest

from tests.helpers.ansible import ROOT, run_module

pytestmark = pytest.mark.integration
CHARTS = os.path.join(ROOT, "tests", "fixtures", "charts")
VIRTUAL_SERVICE = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: app}
spec: {hosts: [reviews]}
"""
REVISION_BASED = {"type": "RevisionBased", "inactive_revision_deletion_grace_period_seconds": 0}


@pytest.fixture
def cluster(k8s_cluster):
    k8s_cluster.kubectl("create", "namespace", "istio-system")
    return k8s_cluster


def call(cluster, module, check=False, diff=False, **args):
    args.setdefault("kubeconfig", cluster.kubeconfig)
    if module in ("istio_revision", "istio_revision_tag", "istio_cni", "istio_ztunnel", "istio_control_plane"):
        args.setdefault("chart_dir", CHARTS)
    return run_module("servicemesh.istio." + module, args, check=check, diff=diff)


def info(cluster):
    return call(cluster, "istio_info")


def ours(cluster, kind, namespace=None):
    """Names of objects of a kind, as the server has them."""
    args = ["get", kind, "-o", "name"] + (["-n", namespace] if namespace else [])
    return sorted(cluster.kubectl(*args).stdout.split())


def test_in_place_install_upgrade_and_idempotence(cluster):
    first = call(cluster, "istio_revision", version="v1.29.6")
    assert first["changed"] and first["revision"] == "default", first
    assert "configmap/istio-legacy-config" in ours(cluster, "configmap", "istio-system")
    facts = info(cluster)
    assert [(r["name"], r["ready"]) for r in facts["revisions"]] == [("default", True)]
    assert facts["control_planes"][0]["status"] == "Healthy"

    mark = cluster.last_request()
    again = call(cluster, "istio_revision", version="v1.29.6")
    assert again["changed"] is False
    assert cluster.writes(since=mark) == [], cluster.writes(since=mark)

    upgraded = call(cluster, "istio_revision", version="v1.30.3")
    assert upgraded["changed"] and upgraded["upgraded"] and upgraded["revision"] == "default"
    assert "configmap/istio-legacy-config" not in ours(cluster, "configmap", "istio-system")
    facts = info(cluster)
    assert [(r["name"], r["version"]) for r in facts["revisions"]] == [("default", "v1.30.3")]


def test_check_mode_persists_nothing_and_diffs(cluster):
    mark = cluster.last_request()
    result = call(cluster, "istio_revision", check=True, diff=True, version="v1.30.3")
    assert result["changed"] and "istiod" in str(result["diff"]["after"])
    assert result["diff"]["before"] == {}
    assert cluster.writes(since=mark) == []
    assert "deployment.apps/istiod" not in ours(cluster, "deployment", "istio-system")


def test_revision_based_upgrade_with_default_tag_and_grace_period(cluster):
    cluster.kubectl("create", "namespace", "app")
    cluster.kubectl("label", "namespace", "app", "istio-injection=enabled")
    old = call(cluster, "istio_revision", version="v1.29.6", update_strategy=REVISION_BASED)
    assert old["revision"] == "default-v1-29-6"
    assert cluster.injection("app") is None, "a RevisionBased revision alone does not serve istio-injection"
    tag = call(cluster, "istio_revision_tag", name="default", control_plane="default")
    assert tag["revision"] == "default-v1-29-6"
    assert cluster.injection("app") == "default-v1-29-6"
    cluster.create_pods("app", 1, inject=True, name_prefix="web")

    new = call(cluster, "istio_revision", version="v1.30.3", update_strategy=REVISION_BASED)
    assert new["revision"] == "default-v1-30-3"
    facts = info(cluster)
    assert sorted(r["name"] for r in facts["revisions"]) == ["default-v1-29-6", "default-v1-30-3"]
    assert facts["control_planes"][0]["active_revision"] == "default-v1-30-3"
    columns = {r["name"]: (r["status"], r["in_use"], r["in_use_reason"]) for r in facts["revisions"]}
    assert columns == {"default-v1-29-6": ("Healthy", True, "ReferencedByWorkloads"),
                       "default-v1-30-3": ("Healthy", False, "NotReferencedByAnything")}, columns
    [default_tag] = facts["tags"]
    assert (default_tag["status"], default_tag["in_use"], default_tag["namespaces"]) == ("Healthy", True, ["app"])

    held = call(cluster, "istio_prune", name="default")
    assert held["pruned"] == []
    assert "tag default" in str(held["decisions"])

    moved = call(cluster, "istio_revision_tag", name="default", control_plane="default")
    assert moved["previous_revision"] == "default-v1-29-6" and moved["revision"] == "default-v1-30-3"
    assert cluster.injection("app") == "default-v1-30-3"
    still = call(cluster, "istio_prune", name="default")
    assert still["pruned"] == [] and "pod app/web" in str(still["decisions"]), "the old pod still runs"

    cluster.kubectl("delete", "pods", "--all", "-n", "app")
    cluster.create_pods("app", 1, inject=True, name_prefix="web")
    pruned = call(cluster, "istio_prune", name="default")
    assert pruned["pruned"] == ["default-v1-29-6"]
    assert "deployment.apps/istiod-default-v1-29-6" not in ours(cluster, "deployment", "istio-system")
    mark = cluster.last_request()
    assert call(cluster, "istio_prune", name="default")["changed"] is False
    assert call(cluster, "istio_revision_tag", name="default", control_plane="default")["changed"] is False
    assert cluster.writes(since=mark) == []


def test_grace_period_spans_runs(cluster):
    strategy = {"type": "RevisionBased", "inactive_revision_deletion_grace_period_seconds": 3600}
    call(cluster, "istio_revision", version="v1.29.6", update_strategy=strategy)
    call(cluster, "istio_revision", version="v1.30.3", update_strategy=strategy)
    first = call(cluster, "istio_prune", name="default")
    assert first["pruned"] == [] and first["next_prune_at"] and first["changed"]
    mark = cluster.last_request()
    second = call(cluster, "istio_prune", name="default")
    assert second["pruned"] == [] and second["next_prune_at"] == first["next_prune_at"]
    assert cluster.writes(since=mark) == []
    forced = call(cluster, "istio_prune", name="default", grace_period_seconds=0)
    assert forced["pruned"] == ["default-v1-29-6"]


def test_absent_removes_ours_and_keeps_foreign_objects(cluster):
    cluster.kubectl("create", "configmap", "mine", "-n", "istio-system", "--from-literal=a=b")
    call(cluster, "istio_revision", version="v1.30.3")
    call(cluster, "istio_revision_tag", name="prod", revision="default")
    facts = info(cluster)
    [prod] = facts["tags"]
    assert (prod["status"], prod["in_use"], prod["in_use_reason"], prod["revision"]) == (
        "NotReferencedByAnything", False, "NotReferencedByAnything", "default"), prod
    for row in facts["tags"] + facts["revisions"] + facts["control_planes"]:
        assert row["created"] and re.fullmatch(r"\d+s|\d+m(\d+s)?", row["age"]), row
    assert facts["revisions"][0]["in_use_reason"] == "ReferencedByWorkloads", "the tag points at it"
    refused = call(cluster, "istio_revision", state="absent", revision="default")
    assert refused.get("failed") and "tag prod" in refused["msg"]
    assert call(cluster, "istio_revision_tag", name="prod", state="absent")["changed"]
    removed = call(cluster, "istio_revision", state="absent", revision="default")
    assert removed["changed"], removed
    assert ours(cluster, "deployment", "istio-system") == []
    assert "configmap/mine" in ours(cluster, "configmap", "istio-system")
    assert ours(cluster, "mutatingwebhookconfiguration") == []
    assert ours(cluster, "validatingwebhookconfiguration") == []
    assert any("virtualservices" in name for name in ours(cluster, "crd")), "CRDs are kept"
    mark = cluster.last_request()
    assert call(cluster, "istio_revision", state="absent", revision="default")["changed"] is False
    assert cluster.writes(since=mark) == []

    cluster.kubectl("create", "namespace", "app")
    cluster.kubectl("apply", "-f", "-", input=VIRTUAL_SERVICE)
    kept = call(cluster, "istio_revision", state="absent", revision="default", remove_crds=True)
    assert kept.get("failed") and "VirtualService app/reviews" in kept["msg"]
    cluster.kubectl("delete", "virtualservice", "reviews", "-n", "app")
    gone = call(cluster, "istio_revision", state="absent", revision="default", remove_crds=True)
    assert gone["changed"] and not any("istio.io" in name for name in ours(cluster, "crd"))
    leftovers = [n for n in ours(cluster, "configmap", "istio-system") if "servicemesh-istio" in n]
    assert leftovers == [] and "configmap/mine" in ours(cluster, "configmap", "istio-system")


@pytest.mark.parametrize("args,message", [
    ({"version": "v1.28.10"}, "end-of-life"),
    ({"version": "v1.99.0"}, "supported versions"),
    ({"version": "v1.30.3", "values": {"pilot": {"autoscaleMin": "two"}}}, "values.pilot.autoscaleMin must be"),
    ({"version": "v1.30.3", "values": {"global": {"istioNamespace": "elsewhere"}}}, "must match the namespace"),
    ({"version": "v1.30.3", "namespace": "missing"}, "namespace 'missing' doesn't exist"),
    ({"version": "v1.30.3", "name": "x" * 60}, "at most"),
])
def test_bad_input_fails_before_any_write(cluster, args, message):
    mark = cluster.last_request()
    result = call(cluster, "istio_revision", **args)
    assert result.get("failed") and message in result["msg"], result
    assert cluster.writes(since=mark) == []


def test_tag_to_missing_revision_fails_before_any_write(cluster):
    mark = cluster.last_request()
    result = call(cluster, "istio_revision_tag", name="prod", revision="nope")
    assert result.get("failed") and "revision 'nope' does not exist" in result["msg"]
    assert cluster.writes(since=mark) == []


def test_unknown_profile_is_refused_by_the_argument_spec(cluster):
    result = call(cluster, "istio_revision", version="v1.30.3", profile="minimal")
    assert result.get("failed") and "minimal" in result["msg"]


def test_two_control_planes_named_default_in_two_namespaces(cluster):
    for namespace in ("istio-a", "istio-b"):
        cluster.kubectl("create", "namespace", namespace)

    def mesh(name):
        return {"meshConfig": {"discoverySelectors": [{"matchLabels": {"mesh": name}}]}}
    assert call(cluster, "istio_revision", version="v1.30.3", namespace="istio-a", values=mesh("a"))["changed"]
    mark = cluster.last_request()
    taken = call(cluster, "istio_revision", version="v1.30.3", namespace="istio-b", values=mesh("b"))
    assert taken.get("failed") and "default validator" in taken["msg"] and "istio-a" in taken["msg"]
    assert cluster.writes(since=mark) == []
    second = call(cluster, "istio_revision", version="v1.30.3", namespace="istio-b", values=mesh("b"),
                  include_base=False)
    assert second["changed"]
    removed = call(cluster, "istio_revision", state="absent", revision="default", namespace="istio-b")
    assert removed["changed"], removed
    assert ours(cluster, "deployment", "istio-b") == []
    assert ours(cluster, "deployment", "istio-a") == ["deployment.apps/istiod"]
    assert "validatingwebhookconfiguration.admissionregistration.k8s.io/istiod-default-validator" in \
        ours(cluster, "validatingwebhookconfiguration")


def test_tag_and_prune_check_mode_persist_nothing(cluster):
    call(cluster, "istio_revision", version="v1.29.6", update_strategy=REVISION_BASED)
    call(cluster, "istio_revision", version="v1.30.3", update_strategy=REVISION_BASED)
    mark = cluster.last_request()
    tag = call(cluster, "istio_revision_tag", check=True, diff=True, name="prod", control_plane="default")
    assert tag["changed"] and "istio-revision-tag-prod" in str(tag["diff"]["after"])
    pruned = call(cluster, "istio_prune", check=True, name="default")
    assert pruned["changed"] and pruned["pruned"] == ["default-v1-29-6"]
    assert cluster.writes(since=mark) == []
    assert "deployment.apps/istiod-default-v1-29-6" in ours(cluster, "deployment", "istio-system")
    assert ours(cluster, "mutatingwebhookconfiguration") == [
        "mutatingwebhookconfiguration.admissionregistration.k8s.io/istio-sidecar-injector-default-v1-29-6",
        "mutatingwebhookconfiguration.admissionregistration.k8s.io/istio-sidecar-injector-default-v1-30-3"]


def test_a_conflict_anywhere_in_the_unit_writes_nothing(cluster):
    assert not call(cluster, "istio_revision", version="v1.29.6").get("failed")
    # someone else takes istiod's image, as `kubectl set image` does
    cluster.kubectl("set", "image", "-n", "istio-system", "deployment/istiod", "discovery=registry.example/pilot:mine")
    mark = cluster.last_request()
    refused = call(cluster, "istio_revision", version="v1.29.6", values={"pilot": {"hub": "registry.example/istio"}})
    assert refused.get("failed") and "conflict" in refused["msg"] and "force_conflicts" in refused["msg"], refused
    # neither the values ConfigMap nor the revision's record was written before the Deployment refused
    assert [(w["verb"], w["resource"], w["name"]) for w in cluster.writes(since=mark)] == []
    forced = call(cluster, "istio_revision", version="v1.29.6", values={"pilot": {"hub": "registry.example/istio"}},
                  force_conflicts=True)
    assert forced["changed"], forced


def test_control_plane_module_canary_with_pruning_in_one_run(cluster):
    """istio_control_plane as the reference's Istio resource: install, a canary upgrade that moves the tag,
    the old revision pruned in the same run once its pods are gone, then a removal refused while in use."""
    cluster.kubectl("create", "namespace", "app")
    cluster.kubectl("label", "namespace", "app", "istio-injection=enabled")
    strategy = {"type": "RevisionBased", "inactive_revision_deletion_grace_period_seconds": 3}
    plane = {"version": "v1.29.6", "update_strategy": strategy, "tags": ["default"], "prune_wait": True,
             "wait_timeout": 120}
    first = call(cluster, "istio_control_plane", **plane)
    assert (first["revision"], first["tags_moved"], first["upgraded"]) == ("default-v1-29-6", ["default"], False)
    assert first["control_plane"]["status"] == "Healthy" and first["control_plane"]["active_revision"] == \
        "default-v1-29-6", first["control_plane"]
    assert [(t["name"], t["status"], t["in_use"]) for t in first["tags"]] == [("default", "Healthy", True)]
    assert cluster.injection("app") == "default-v1-29-6"
    cluster.create_pods("app", 1, inject=True, name_prefix="web")

    mark = cluster.last_request()
    again = call(cluster, "istio_control_plane", **plane)
    assert again["changed"] is False and again["tags_moved"] == [], again
    assert cluster.writes(since=mark) == []

    predicted = call(cluster, "istio_control_plane", check=True, diff=True, **{**plane, "version": "v1.30.3"})
    assert predicted["changed"] and predicted["revision"] == "default-v1-30-3" and predicted["tags_moved"] == ["default"]
    assert any(o["action"] == "created" and o["name"] == "istiod-default-v1-30-3" for o in predicted["objects"])
    assert cluster.writes(since=mark) == [], "check mode wrote"

    upgraded = call(cluster, "istio_control_plane", **{**plane, "version": "v1.30.3"})
    assert upgraded["tags_moved"] == ["default"] and upgraded["pruned"] == [], "a pod still runs on the old one"
    assert upgraded["next_prune_at"] is None
    rows = {r["name"]: (r["status"], r["in_use"]) for r in upgraded["revisions"]}
    assert rows == {"default-v1-29-6": ("Healthy", True), "default-v1-30-3": ("Healthy", True)}, rows
    assert cluster.injection("app") == "default-v1-30-3"

    cluster.kubectl("delete", "pods", "--all", "-n", "app")
    cluster.create_pods("app", 1, inject=True, name_prefix="web")
    pruned = call(cluster, "istio_control_plane", **{**plane, "version": "v1.30.3"})
    assert pruned["pruned"] == ["default-v1-29-6"], "the grace period was waited for in the same run"
    assert pruned["summary"] == "Active revision default-v1-30-3 (v1.30.3). Pruned default-v1-29-6."
    assert [r["name"] for r in pruned["revisions"]] == ["default-v1-30-3"]
    assert ours(cluster, "deployment", "istio-system") == ["deployment.apps/istiod-default-v1-30-3"]

    mark = cluster.last_request()
    refused = call(cluster, "istio_control_plane", state="absent")
    assert refused.get("failed") and "is in use and was not removed" in refused["msg"], refused
    assert "namespace app (default-v1-30-3)" in refused["msg"] and "pod app/web-" in refused["msg"]
    assert cluster.writes(since=mark) == [], "a refused removal wrote"

    cluster.kubectl("label", "namespace", "app", "istio-injection-")
    cluster.kubectl("delete", "pods", "--all", "-n", "app")
    removed = call(cluster, "istio_control_plane", state="absent")
    gone = removed["control_plane"]
    assert (gone["status"], gone["removed_revisions"], gone["removed_tags"]) == (
        "Removed", ["default-v1-30-3"], ["default"]), removed
    assert ours(cluster, "deployment", "istio-system") == []
    assert ours(cluster, "mutatingwebhookconfiguration") == []
    assert call(cluster, "istio_control_plane", state="absent")["changed"] is False
