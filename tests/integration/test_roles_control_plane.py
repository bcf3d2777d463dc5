"""The control_plane role through the playbooks (install, canary_upgrade, uninstall, site), against the test
API server, with the fixture charts."""
import json
import os

import pytest

from tests.helpers.ansible import ROOT, run_playbook

pytestmark = pytest.mark.integration
CHARTS = os.path.join(ROOT, "tests", "fixtures", "charts")
PLAYBOOKS = os.path.join(ROOT, "playbooks")
REVISION_BASED = {"type": "RevisionBased", "inactive_revision_deletion_grace_period_seconds": 0}
OLD, NEW = "default-v1-29-6", "default-v1-30-3"
INJECTED_BY = "istio.io/rev"  # the pod annotation set by the injector


def playbook(cluster, name, **extra_vars):
    extra = {"istio_kubeconfig": cluster.kubeconfig, "istio_context": cluster.context, "istio_chart_dir": CHARTS,
             "istio_wait_timeout": 60}
    extra.update(extra_vars)
    return run_playbook(os.path.join(PLAYBOOKS, name + ".yml"), extra)


def explain(run):
    return run.stdout[-6000:] + run.stderr[-3000:]


def get(cluster, kind, name, namespace=None):
    """An object as JSON, or None."""
    args = ["get", kind, name, "-o", "json"] + (["-n", namespace] if namespace else [])
    result = cluster.kubectl(*args, check=False)
    return json.loads(result.stdout) if result.returncode == 0 else None


def pods(cluster, namespace):
    """{pod name: revision that injected it} of the running pods of a namespace."""
    items = json.loads(cluster.kubectl("get", "pods", "-n", namespace, "-o", "json").stdout)["items"]
    return {p["metadata"]["name"]: (p["metadata"].get("annotations") or {}).get(INJECTED_BY) for p in items
            if (p.get("status") or {}).get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")}


def namespace_labels(cluster, name):
    return get(cluster, "namespace", name)["metadata"].get("labels") or {}


def app_namespace(cluster, name, labels, replicas=2):
    """A namespace with a Deployment `web` whose pods the controllers run (and the webhook injects)."""
    label_args = ["%s=%s" % item for item in labels.items()]
    cluster.kubectl("create", "namespace", name)
    if label_args:
        cluster.kubectl("label", "namespace", name, *label_args)
    cluster.simulate_pods("Deployment", name, "web")
    cluster.kubectl("create", "deployment", "web", "-n", name, "--image=registry.example/web:1", "--replicas=%d" % replicas)
    # The controllers create the pods asynchronously, and the webhook injects them.
    cluster.kubectl("rollout", "status", "deployment/web", "-n", name, "--timeout=90s", timeout=120)


INSTALL_TASK = "Install or upgrade the control plane, move its tags and prune what nothing uses"
MIGRATE_TASK = "Move the workloads to the active revision"


def results(run, name):
    """Every result of the tasks called ``name``, in the playbook or in a role (``<role> : <name>``)."""
    found = []
    for play in run.json["plays"]:
        for task in play["tasks"]:
            full = task["task"]["name"]
            if (full == name or full.endswith(" : " + name)) and "localhost" in task["hosts"]:
                found.append(task["hosts"]["localhost"])
    return [r for r in found if not r.get("skipped")]


def result(run, name):
    found = results(run, name)
    assert found, "task %r did not run: %s" % (name, explain(run))
    return found[-1]


def control_plane_fact(run):
    return result(run, "Set istio_control_plane")["ansible_facts"]["istio_control_plane"]


def our_objects(run):
    """(kind, namespace, name) of every object the role's modules reported as applied."""
    applied = set()
    for outcome in results(run, INSTALL_TASK):
        for obj in outcome.get("objects", []):
            applied.add((obj["kind"], obj.get("namespace"), obj["name"]))
    return applied


@pytest.fixture
def cluster(k8s_cluster):
    return k8s_cluster


def test_in_place_install_is_idempotent_and_upgrades_in_place(cluster):
    first = playbook(cluster, "install", istio_version="v1.29.6")
    assert first.ok, explain(first)
    fact = control_plane_fact(first)
    assert fact["active_revision"] == "default" and fact["status"] == "Healthy" and fact["strategy"] == "InPlace"
    assert [(r["name"], r["ready"]) for r in fact["revision_details"]] == [("default", True)]
    assert fact["tag_details"] == []  # no tags by default for InPlace
    assert get(cluster, "deployment", "istiod", "istio-system") is not None
    assert get(cluster, "configmap", "istio-legacy-config", "istio-system") is not None  # only in the 1.29.6 chart

    mark = cluster.last_request()
    second = playbook(cluster, "install", istio_version="v1.29.6")
    assert second.ok, explain(second)
    assert second.stats()["changed"] == 0, explain(second)
    assert cluster.writes(since=mark) == []

    # with HA values: they pass through to the istiod chart
    upgrade = playbook(cluster, "install", istio_version="v1.30.3",
                       istio_values={"pilot": {"autoscaleEnabled": False, "replicaCount": 2}})
    assert upgrade.ok, explain(upgrade)
    installed = result(upgrade, INSTALL_TASK)
    assert installed["changed"] and installed["upgraded"] and installed["revision"] == "default"
    fact = control_plane_fact(upgrade)
    assert [(r["name"], r["version"]) for r in fact["revision_details"]] == [("default", "v1.30.3")]
    assert get(cluster, "configmap", "istio-legacy-config", "istio-system") is None
    assert get(cluster, "deployment", "istiod", "istio-system")["spec"]["replicas"] == 2


def test_two_meshes_each_in_its_own_namespace(cluster):
    for mesh in ("mesh1", "mesh2"):
        run = playbook(cluster, "install", istio_name=mesh, istio_namespace="istio-system-" + mesh,
                       istio_version="v1.30.3",
                       istio_values={"meshConfig": {"discoverySelectors": [{"matchLabels": {"istio-discovery": mesh}}]}})
        assert run.ok, explain(run)
        fact = control_plane_fact(run)
        assert (fact["name"], fact["namespace"], fact["active_revision"], fact["status"]) == (
            mesh, "istio-system-" + mesh, mesh, "Healthy")
        mesh_config = get(cluster, "configmap", "istio-" + mesh, "istio-system-" + mesh)["data"]["mesh"]
        assert "istio-discovery: " + mesh in mesh_config, mesh_config
    assert get(cluster, "deployment", "istiod-mesh1", "istio-system-mesh1") is not None
    assert get(cluster, "deployment", "istiod-mesh2", "istio-system-mesh2") is not None


def test_canary_upgrade_moves_the_default_tag_and_prunes_the_old_revision(cluster, tmp_path):
    installed = playbook(cluster, "install", istio_version="v1.29.6", istio_update_strategy=REVISION_BASED)
    assert installed.ok, explain(installed)
    fact = control_plane_fact(installed)
    assert fact["active_revision"] == OLD
    assert [(t["name"], t["revision"]) for t in fact["tag_details"]] == [("default", OLD)]
    app_namespace(cluster, "shop", {"istio-injection": "enabled"})
    assert set(pods(cluster, "shop").values()) == {OLD}

    diagram = tmp_path / "mesh.mmd"
    canary = playbook(cluster, "canary_upgrade", istio_version="v1.30.3", istio_update_strategy=REVISION_BASED,
                      istio_canary_move="tag", istio_canary_wait_timeout=60, istio_report_dest=str(diagram))
    assert canary.ok, explain(canary)
    shown = result(canary, "Report the mesh")["report"]
    assert "  default (istio-system) -> %s: Healthy" % NEW in shown and "  shop: revision %s (tag default)" % NEW \
        in shown, shown
    assert diagram.read_text().startswith("flowchart LR") and (tmp_path / "mesh.svg").stat().st_size > 0
    assert result(canary, MIGRATE_TASK)["previous_revision"] == OLD
    shop = pods(cluster, "shop")
    assert len(shop) == 2 and set(shop.values()) == {NEW}, shop
    restarted = get(cluster, "deployment", "web", "shop")["spec"]["template"]["metadata"]["annotations"]
    assert "kubectl.kubernetes.io/restartedAt" in restarted
    fact = control_plane_fact(canary)
    assert fact["active_revision"] == NEW and fact["status"] == "Healthy"
    assert [r["name"] for r in fact["revision_details"]] == [NEW]  # grace period 0: pruned in the same run
    assert [(t["name"], t["revision"], t["namespaces"]) for t in fact["tag_details"]] == [("default", NEW, ["shop"])]
    assert get(cluster, "deployment", "istiod-" + OLD, "istio-system") is None

    mark = cluster.last_request()
    again = playbook(cluster, "canary_upgrade", istio_version="v1.30.3", istio_update_strategy=REVISION_BASED,
                     istio_report_dest=str(diagram))
    assert again.ok and again.stats()["changed"] == 0, explain(again)
    assert cluster.writes(since=mark) == []


def test_canary_upgrade_moves_namespaces_in_batches_and_stops_at_a_failing_batch(cluster):
    installed = playbook(cluster, "install", istio_version="v1.29.6", istio_update_strategy=REVISION_BASED)
    assert installed.ok, explain(installed)
    app_namespace(cluster, "a1", {"istio-injection": "enabled"})
    app_namespace(cluster, "a2", {"istio.io/rev": OLD})
    app_namespace(cluster, "a3", {"istio.io/rev": OLD}, replicas=1)
    app_namespace(cluster, "a4", {"istio.io/rev": OLD}, replicas=1)
    # a pod no controller restarts keeps the old sidecar, so the batch of a3 cannot finish
    stuck = cluster.create_pods("a3", labels={"app": "legacy"}, inject=True)[0]["metadata"]["name"]
    # a finished pod the old revision injected holds nothing
    cluster.create_pods("a4", labels={"app": "job"}, phase="Succeeded", inject=True)
    canary_vars = dict(istio_version="v1.30.3", istio_update_strategy=REVISION_BASED, istio_canary_move="namespaces",
                       istio_canary_namespaces=["a1", "a2", "a3", "a4"], istio_canary_batch_size=2,
                       istio_canary_wait_timeout=3, istio_canary_wait_delay=1)

    failed = playbook(cluster, "canary_upgrade", **canary_vars)
    assert not failed.ok
    message = result(failed, MIGRATE_TASK)["msg"]
    assert "batch 2 of 2 (a3, a4) failed" in message, message
    assert "after 3 seconds" in message, message
    assert "a3/%s (%s)" % (stuck, OLD) in message and "(a1, a2) use " + NEW in message, message
    for name in ("a1", "a2"):
        labels = namespace_labels(cluster, name)
        assert labels.get("istio.io/rev") == NEW and "istio-injection" not in labels, labels
        assert set(pods(cluster, name).values()) == {NEW}
    assert not results(failed, "Move the tags and prune the old revision once nothing uses it")
    assert get(cluster, "deployment", "istiod-" + OLD, "istio-system") is not None

    # Once the cause is gone, running it again finishes the job without restarting the moved batch again.
    cluster.kubectl("delete", "pod", stuck, "-n", "a3")
    restarted = {name: get(cluster, "deployment", "web", name)["spec"]["template"] for name in ("a1", "a2")}
    canary = playbook(cluster, "canary_upgrade", **{**canary_vars, "istio_canary_wait_timeout": 60})
    assert canary.ok, explain(canary)
    batches = [batch["namespaces"] for batch in result(canary, MIGRATE_TASK)["batches"]]
    assert batches == [["a1", "a2"], ["a3", "a4"]]
    for name in ("a1", "a2", "a3", "a4"):
        labels = namespace_labels(cluster, name)
        assert labels.get("istio.io/rev") == NEW and "istio-injection" not in labels, labels
        assert set(pods(cluster, name).values()) == {NEW}, (name, pods(cluster, name))
    assert {name: get(cluster, "deployment", "web", name)["spec"]["template"] for name in ("a1", "a2")} == restarted
    fact = control_plane_fact(canary)
    assert fact["active_revision"] == NEW and fact["in_use"] == 1
    assert [r["name"] for r in fact["revision_details"]] == [NEW]
    assert result(canary, INSTALL_TASK)["pruned"] == [OLD]


def test_site_installs_with_a_cluster_and_uninstall_removes_only_our_objects(cluster):
    installed = playbook(cluster, "site", istio_version="v1.30.3", istio_update_strategy=REVISION_BASED)
    assert installed.ok, explain(installed)
    assert result(installed, "Show the action")["msg"] == "istio_action: install"
    ours = our_objects(installed)
    assert ("Deployment", "istio-system", "istiod-default-v1-30-3") in ours
    cluster.kubectl("create", "configmap", "foreign", "-n", "istio-system", "--from-literal=a=b")
    cluster.kubectl("create", "namespace", "app")
    cluster.kubectl("label", "namespace", "app", "istio-injection=enabled")

    refused = playbook(cluster, "site", istio_action="uninstall")
    assert not refused.ok
    message = result(refused, "Refuse to remove a control plane that workloads use")["msg"]
    assert "namespace app (default-v1-30-3)" in message and "istio_force" in message, message
    assert get(cluster, "deployment", "istiod-default-v1-30-3", "istio-system") is not None  # nothing removed

    cluster.kubectl("label", "namespace", "app", "istio-injection-")
    removed = playbook(cluster, "uninstall")
    assert removed.ok, explain(removed)
    fact = control_plane_fact(removed)
    assert fact["removed_revisions"] == ["default-v1-30-3"] and fact["removed_tags"] == ["default"]
    left = [obj for obj in ours if obj[0] not in ("CustomResourceDefinition", "Namespace")
            and get(cluster, obj[0].lower(), obj[2], obj[1]) is not None]
    assert left == []
    assert get(cluster, "configmap", "foreign", "istio-system") is not None
    # What stays on purpose, as with the reference operator: the namespace and the Istio CRDs (whose
    # inventory record no module removes).
    inventory = cluster.kubectl("get", "configmaps", "-n", "istio-system", "-l", "servicemesh.istio/inventory=true",
                                "-o", "name").stdout.split()
    assert inventory == ["configmap/servicemesh-istio-crds-istio"]
    assert get(cluster, "crd", "virtualservices.networking.istio.io") is not None

    crds_removed = playbook(cluster, "uninstall", istio_remove_crds=True)
    assert crds_removed.ok, explain(crds_removed)
    assert get(cluster, "crd", "virtualservices.networking.istio.io") is None
    assert cluster.kubectl("get", "configmaps", "-n", "istio-system", "-l", "servicemesh.istio/inventory=true",
                           "-o", "name").stdout.split() == []
    assert get(cluster, "configmap", "foreign", "istio-system") is not None


def test_site_renders_without_a_cluster(tmp_path):
    dest = str(tmp_path / "cp.yaml")
    rendered = run_playbook(os.path.join(PLAYBOOKS, "site.yml"), {"istio_chart_dir": CHARTS, "istio_render_dest": dest})
    assert rendered.ok, explain(rendered)
    assert result(rendered, "Show the action")["msg"] == "istio_action: render"
    assert "istiod-default-v1-30-3" in open(dest).read()
    assert not results(rendered, INSTALL_TASK)


def test_argument_specs_reject_wrong_types():
    run = run_playbook(os.path.join(PLAYBOOKS, "install.yml"),
                       {"istio_wait_timeout": "soon", "istio_update_strategy": {"type": "Sideways"}})
    assert not run.ok
    message = result(run, "Validating arguments against arg spec 'main' - "
                          "Install, upgrade or remove an Istio control plane as revisions")["msg"]
    assert "istio_wait_timeout" in message and "Sideways" in message, message

    run = run_playbook(os.path.join(PLAYBOOKS, "canary_upgrade.yml"), {"istio_version": "v1.30.3"})
    assert not run.ok  # InPlace (the default) has no canary
    assert "RevisionBased" in result(run, "Check that the control plane is updated revision by revision")["msg"]
