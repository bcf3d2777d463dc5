"""The test API server driven by the kubernetes Python client: CRUD and error
codes, CRDs, patches, server-side apply, selectors, pagination, watches,
deletion and garbage collection, service-account tokens.

On the Python test server because these are that server's own tests.
"""
from __future__ import annotations

import base64
import json
import threading

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException
from kubernetes.dynamic.exceptions import ApiException as DynamicApiException

pytestmark = pytest.mark.integration

NS = "work"


def status_of(exc: ApiException) -> dict:
    return json.loads(exc.body)


def expect_error(code: int, reason: str, call, *args, **kwargs) -> dict:
    with pytest.raises((ApiException, DynamicApiException)) as info:
        call(*args, **kwargs)
    body = status_of(info.value)
    assert info.value.status == code, body
    assert body["kind"] == "Status" and body["status"] == "Failure"
    assert body["code"] == code and body["reason"] == reason, body
    return body


@pytest.fixture
def core(kubeapi_api_client):
    api = client.CoreV1Api(kubeapi_api_client)
    api.create_namespace({"metadata": {"name": NS}})
    return api


@pytest.fixture
def apps(kubeapi_api_client, core):
    return client.AppsV1Api(kubeapi_api_client)


def deployment(name: str = "web", replicas: int = 2, image: str = "nginx:1.25") -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NS},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "main", "image": image,
                                                           "ports": [{"containerPort": 80}]}]}}}}


WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {"group": "example.com", "scope": "Namespaced",
             "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"],
                       "categories": ["all"]},
             "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                           "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                               "spec": {"type": "object", "required": ["size"], "properties": {
                                   "size": {"type": "integer", "minimum": 0},
                                   "color": {"type": "string", "enum": ["red", "blue"], "default": "red"},
                                   "ports": {"type": "array", "x-kubernetes-list-type": "map",
                                             "x-kubernetes-list-map-keys": ["name"],
                                             "items": {"type": "object", "required": ["name"], "properties": {
                                                 "name": {"type": "string"}, "port": {"type": "integer"}}}},
                                   "tags": {"type": "array", "items": {"type": "string"}}}},
                               "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}}}}}}]}}


def widget(name: str = "w1", **spec) -> dict:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name, "namespace": NS},
            "spec": spec or {"size": 1}}


@pytest.fixture
def widgets(kubeapi_dynamic, core):
    crds = kubeapi_dynamic.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
    crds.create(body=WIDGET_CRD)
    return kubeapi_dynamic.resources.get(api_version="example.com/v1", kind="Widget")


# --- discovery ---------------------------------------------------------------------------------

def test_discovery_documents(kubeapi_api_client):
    version = client.VersionApi(kubeapi_api_client).get_code()
    assert (version.major, version.minor, version.git_version) == ("1", "32", "v1.32.4")
    groups = {g.name: g for g in client.ApisApi(kubeapi_api_client).get_api_versions().groups}
    for group in ("apps", "rbac.authorization.k8s.io", "admissionregistration.k8s.io", "apiextensions.k8s.io",
                  "policy", "autoscaling", "discovery.k8s.io", "networking.k8s.io", "coordination.k8s.io"):
        assert group in groups
    assert groups["autoscaling"].preferred_version.version == "v2"
    core = {r.name: r for r in client.CoreV1Api(kubeapi_api_client).get_api_resources().resources}
    assert core["pods"].namespaced and core["pods"].short_names == ["po"] and core["pods"].categories == ["all"]
    assert not core["namespaces"].namespaced and "deletecollection" not in core["namespaces"].verbs
    assert core["pods/status"].verbs == ["get", "patch", "update"]
    assert core["serviceaccounts/token"].kind == "TokenRequest" and core["serviceaccounts/token"].verbs == ["create"]
    apps = {r.name: r for r in client.AppsV1Api(kubeapi_api_client).get_api_resources().resources}
    assert apps["deployments"].short_names == ["deploy"]
    assert apps["deployments/scale"].group == "autoscaling" and apps["deployments/scale"].kind == "Scale"
    crds = {r.name: r for r in client.ApiextensionsV1Api(kubeapi_api_client).get_api_resources().resources}
    assert crds["customresourcedefinitions"].short_names == ["crd", "crds"]
    assert crds["customresourcedefinitions"].categories == ["api-extensions"]


def test_builtin_state(core, kubeapi_clean):
    names = {n.metadata.name for n in core.list_namespace().items}
    assert {"default", "kube-system", "kube-public", "kube-node-lease", NS} <= names
    default_ns = core.read_namespace("default")
    assert default_ns.status.phase == "Active"
    assert default_ns.metadata.labels["kubernetes.io/metadata.name"] == "default"
    assert [n.metadata.name for n in core.list_node().items] == ["node-1"]
    assert core.read_namespaced_service("kubernetes", "default").spec.cluster_ip == "10.96.0.1"
    # Namespace bootstrap, as kube-controller-manager does.
    assert core.read_namespaced_service_account("default", NS).metadata.name == "default"
    assert "BEGIN CERTIFICATE" in core.read_namespaced_config_map("kube-root-ca.crt", NS).data["ca.crt"]


# --- CRUD and errors ------------------------------------------------------------------------------

def test_create_sets_system_metadata_and_generation(apps, core):
    created = apps.create_namespaced_deployment(NS, deployment())
    meta = created.metadata
    assert meta.uid and meta.creation_timestamp and meta.resource_version and meta.generation == 1
    assert created.spec.strategy.type == "RollingUpdate" and created.spec.revision_history_limit == 10
    assert created.spec.template.spec.containers[0].ports[0].protocol == "TCP"
    cm = core.create_namespaced_config_map(NS, {"metadata": {"name": "plain"}, "data": {"a": "1"}})
    assert cm.metadata.generation is None


def test_error_codes(core, apps):
    core.create_namespaced_config_map(NS, {"metadata": {"name": "dup"}})
    body = expect_error(409, "AlreadyExists", core.create_namespaced_config_map, NS, {"metadata": {"name": "dup"}})
    assert body["message"] == 'configmaps "dup" already exists'
    assert body["details"] == {"name": "dup", "kind": "configmaps"}
    body = expect_error(404, "NotFound", core.create_namespaced_config_map, "nowhere", {"metadata": {"name": "x"}})
    assert body["message"] == 'namespaces "nowhere" not found'
    body = expect_error(404, "NotFound", apps.read_namespaced_deployment, "ghost", NS)
    assert body["message"] == 'deployments.apps "ghost" not found'
    assert body["details"] == {"name": "ghost", "group": "apps", "kind": "deployments"}
    body = expect_error(422, "Invalid", core.create_namespaced_config_map, NS, {"metadata": {"name": "Bad_Name"}})
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    bad = deployment("mismatch")
    bad["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    body = expect_error(422, "Invalid", apps.create_namespaced_deployment, NS, bad)
    assert "`selector` does not match template `labels`" in body["message"]


def test_stale_resource_version_conflicts(core):
    first = core.create_namespaced_config_map(NS, {"metadata": {"name": "cm"}, "data": {"a": "1"}})
    first.data["a"] = "2"
    second = core.replace_namespaced_config_map("cm", NS, first)
    assert int(second.metadata.resource_version) > int(first.metadata.resource_version)
    first.data["a"] = "3"
    body = expect_error(409, "Conflict", core.replace_namespaced_config_map, "cm", NS, first)
    assert "the object has been modified" in body["message"]


def test_noop_update_keeps_resource_version(core, kubeapi_clean):
    created = core.create_namespaced_config_map(NS, {"metadata": {"name": "same"}, "data": {"a": "1"}})
    before = kubeapi_clean.last_request()
    again = core.replace_namespaced_config_map("same", NS, created)
    assert again.metadata.resource_version == created.metadata.resource_version
    (entry,) = kubeapi_clean.requests(before)
    assert entry["verb"] == "update" and entry["mutating"] and not entry["persisted"]


def test_generation_bumps_on_spec_only(apps):
    created = apps.create_namespaced_deployment(NS, deployment())
    labelled = apps.patch_namespaced_deployment("web", NS, {"metadata": {"labels": {"team": "a"}}})
    assert labelled.metadata.generation == 1
    assert labelled.metadata.resource_version != created.metadata.resource_version
    scaled = apps.patch_namespaced_deployment("web", NS, {"spec": {"replicas": 3}})
    assert scaled.metadata.generation == 2


def test_cluster_scoped_objects(kubeapi_api_client):
    rbac = client.RbacAuthorizationV1Api(kubeapi_api_client)
    role = rbac.create_cluster_role({"metadata": {"name": "system:istio-reader"},
                                     "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]})
    assert role.metadata.namespace is None
    assert rbac.read_cluster_role("system:istio-reader").rules[0].verbs == ["get"]
    names = [r.metadata.name for r in rbac.list_cluster_role().items]
    assert "system:istio-reader" in names


def test_status_subresource_for_builtins(apps):
    apps.create_namespaced_deployment(NS, deployment(replicas=1))
    current = apps.read_namespaced_deployment("web", NS)
    assert current.status.observed_generation == 1
    ignored = apps.patch_namespaced_deployment("web", NS, {"status": {"observedGeneration": 99}})
    assert ignored.status.observed_generation == 1
    updated = apps.patch_namespaced_deployment_status(
        "web", NS, {"spec": {"replicas": 5}, "status": {"observedGeneration": 7}})
    assert updated.status.observed_generation == 7 and updated.spec.replicas == 1


def test_scale_subresource(apps):
    apps.create_namespaced_deployment(NS, deployment(replicas=1))
    scale = apps.read_namespaced_deployment_scale("web", NS)
    assert scale.spec.replicas == 1 and scale.status.selector == "app=web"
    apps.patch_namespaced_deployment_scale("web", NS, {"spec": {"replicas": 4}})
    assert apps.read_namespaced_deployment("web", NS).spec.replicas == 4


def test_dry_run_persists_nothing(core, kubeapi_clean):
    before = kubeapi_clean.last_request()
    created = core.create_namespaced_config_map(NS, {"metadata": {"name": "dry"}, "data": {"a": "1"}},
                                                dry_run="All")
    assert created.metadata.uid and not created.metadata.resource_version
    expect_error(404, "NotFound", core.read_namespaced_config_map, "dry", NS)
    real = core.create_namespaced_config_map(NS, {"metadata": {"name": "real"}, "data": {"a": "1"}})
    patched = core.patch_namespaced_config_map("real", NS, {"data": {"a": "2"}}, dry_run="All")
    assert patched.data == {"a": "2"}
    assert core.read_namespaced_config_map("real", NS).data == {"a": "1"}
    core.delete_namespaced_config_map("real", NS, dry_run="All")
    assert core.read_namespaced_config_map("real", NS).metadata.uid == real.metadata.uid
    entries = [e for e in kubeapi_clean.requests(before) if e["resource"] == "configmaps"]
    assert [(e["verb"], e["dry_run"], e["persisted"]) for e in entries if e["mutating"]] == [
        ("create", True, False), ("create", False, True), ("patch", True, False), ("delete", True, False)]


# --- patches ---------------------------------------------------------------------------------------

def test_merge_json_and_strategic_patches(apps, core):
    core.create_namespaced_config_map(NS, {"metadata": {"name": "cm", "labels": {"a": "1", "b": "2"}},
                                           "data": {"x": "1", "y": "2"}})
    merged = core.patch_namespaced_config_map("cm", NS, {"metadata": {"labels": {"a": None}}, "data": {"y": None}})
    assert merged.metadata.labels == {"b": "2"} and merged.data == {"x": "1"}
    patched = core.patch_namespaced_config_map("cm", NS, [{"op": "add", "path": "/data/z", "value": "3"},
                                                          {"op": "remove", "path": "/data/x"}])
    assert patched.data == {"z": "3"}
    expect_error(422, "Invalid", core.patch_namespaced_config_map, "cm", NS,
                 [{"op": "test", "path": "/data/z", "value": "nope"}])
    apps.create_namespaced_deployment(NS, deployment())
    # Strategic merge: containers merged by name, env merged by name, $patch: delete removes one.
    apps.patch_namespaced_deployment("web", NS, {"spec": {"template": {"spec": {"containers": [
        {"name": "main", "env": [{"name": "A", "value": "1"}]}, {"name": "proxy", "image": "proxy:1"}]}}}})
    result = apps.patch_namespaced_deployment("web", NS, {"spec": {"template": {"spec": {"containers": [
        {"name": "main", "env": [{"name": "B", "value": "2"}]}, {"name": "proxy", "$patch": "delete"}]}}}})
    (main,) = result.spec.template.spec.containers
    assert main.image == "nginx:1.25" and [e.name for e in main.env] == ["A", "B"]


def test_strategic_merge_on_custom_resource_is_415(widgets, kubeapi_dynamic):
    widgets.create(body=widget(size=1))
    with pytest.raises(DynamicApiException) as info:
        kubeapi_dynamic.patch(widgets, body={"spec": {"size": 2}}, name="w1", namespace=NS,
                              content_type="application/strategic-merge-patch+json")
    assert info.value.status == 415 and status_of(info.value)["reason"] == "UnsupportedMediaType"
    merged = kubeapi_dynamic.patch(widgets, body={"spec": {"size": 2}}, name="w1", namespace=NS,
                                   content_type="application/merge-patch+json")
    assert merged.spec.size == 2


# --- CRDs -------------------------------------------------------------------------------------------

def test_crd_lifecycle(kubeapi_dynamic, kubeapi_api_client, core, kubeapi_clean):
    crds = kubeapi_dynamic.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
    crds.create(body=WIDGET_CRD)
    crd = crds.get(name="widgets.example.com")
    conditions = {c.type: c.status for c in crd.status.conditions}
    assert conditions == {"NamesAccepted": "True", "Established": "True"}
    assert crd.status.acceptedNames.shortNames == ["wd"] and crd.status.storedVersions == ["v1"]
    resources = client.ApisApi(kubeapi_api_client).get_api_versions().groups
    assert "example.com" in [g.name for g in resources]
    _unused, _unused, raw = kubeapi_clean.http("GET", "/apis/example.com/v1")
    listed = {r["name"]: r for r in raw["resources"]}
    assert listed["widgets"]["shortNames"] == ["wd"] and listed["widgets"]["namespaced"] is True
    assert listed["widgets/status"]["verbs"] == ["get", "patch", "update"]
    widgets = kubeapi_dynamic.resources.get(api_version="example.com/v1", kind="Widget")
    created = widgets.create(body=widget(size=3, unknown="dropped"))
    assert created.spec.color == "red"            # schema default
    assert "unknown" not in created.spec          # pruned
    with pytest.raises(DynamicApiException) as info:
        widgets.create(body=widget("bad", size=-1, color="green"))
    assert info.value.status == 422
    assert {c["field"] for c in status_of(info.value)["details"]["causes"]} == {"spec.size", "spec.color"}
    # Status subresource: main endpoint ignores status, /status ignores spec.
    updated = widgets.patch(body={"spec": {"size": 4}, "status": {"ready": True}}, name="w1", namespace=NS,
                            content_type="application/merge-patch+json")
    assert updated.spec.size == 4 and updated.status is None and updated.metadata.generation == 2
    status = widgets.status.patch(body={"spec": {"size": 9}, "status": {"ready": True}}, name="w1",
                                  namespace=NS, content_type="application/merge-patch+json")
    assert status.status.ready is True and status.spec.size == 4 and status.metadata.generation == 2
    crds.delete(name="widgets.example.com")
    expect_error(404, "NotFound", crds.get, name="widgets.example.com")
    code, _unused, body = kubeapi_clean.http("GET", "/apis/example.com/v1/namespaces/work/widgets")
    assert code == 404 and body["reason"] == "NotFound"


def test_custom_resource_update_requires_resource_version(widgets):
    widgets.create(body=widget(size=1))
    with pytest.raises(DynamicApiException) as info:
        widgets.replace(body=widget(size=2))
    assert info.value.status == 422
    assert "metadata.resourceVersion" in status_of(info.value)["message"]


# --- server-side apply -----------------------------------------------------------------------------

def test_server_side_apply_lifecycle(kubeapi_dynamic, core, kubeapi_clean):
    deployments = kubeapi_dynamic.resources.get(api_version="apps/v1", kind="Deployment")
    config = deployment()
    config["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "A", "value": "1"},
                                                                  {"name": "B", "value": "2"}]
    created = kubeapi_dynamic.server_side_apply(deployments, body=config, field_manager="installer")
    entry = next(m for m in created.metadata.managedFields if m.manager == "installer")
    assert entry.operation == "Apply" and entry.fieldsType == "FieldsV1"
    fields = entry.fieldsV1.to_dict()
    container = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"main"}']
    assert container["."] == {} and 'k:{"name":"A"}' in container["f:env"]
    assert 'k:{"containerPort":80,"protocol":"TCP"}' in container["f:ports"]
    assert fields["f:spec"]["f:selector"] == {}   # atomic map
    # Re-applying the same configuration changes nothing.
    before = kubeapi_clean.last_request()
    again = kubeapi_dynamic.server_side_apply(deployments, body=config, field_manager="installer")
    assert again.metadata.resourceVersion == deployments.get(name="web", namespace=NS).metadata.resourceVersion
    assert [e["persisted"] for e in kubeapi_clean.requests(before) if e["mutating"]] == [False]
    # A field dropped from the configuration is removed.
    config["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "A", "value": "1"}]
    pruned = kubeapi_dynamic.server_side_apply(deployments, body=config, field_manager="installer")
    assert [e.name for e in pruned.spec.template.spec.containers[0].env] == ["A"]
    # Another manager changing an owned field conflicts unless forced.
    other = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": NS},
             "spec": {"replicas": 5}}
    with pytest.raises(DynamicApiException) as info:
        kubeapi_dynamic.server_side_apply(deployments, body=other, field_manager="scaler")
    body = status_of(info.value)
    assert info.value.status == 409 and body["reason"] == "Conflict"
    # Appliers are named without an API version (updaters get "using apps/v1").
    assert body["message"] == 'Apply failed with 1 conflict: conflict with "installer": .spec.replicas'
    assert body["details"] == {"causes": [{"reason": "FieldManagerConflict", "field": ".spec.replicas",
                                           "message": 'conflict with "installer"'}]}
    forced = kubeapi_dynamic.server_side_apply(deployments, body=other, field_manager="scaler", force_conflicts=True)
    assert forced.spec.replicas == 5
    owners = {m.manager: m.fieldsV1.to_dict() for m in forced.metadata.managedFields}
    assert "f:replicas" in owners["scaler"]["f:spec"] and "f:replicas" not in owners["installer"]["f:spec"]
    # Dry-run apply returns the would-be object and stores nothing.
    other["spec"]["replicas"] = 7
    dry = kubeapi_dynamic.server_side_apply(deployments, body=other, field_manager="scaler", dry_run="All")
    assert dry.spec.replicas == 7 and deployments.get(name="web", namespace=NS).spec.replicas == 5


def test_apply_shares_ownership_of_equal_values(kubeapi_dynamic, core):
    cms = kubeapi_dynamic.resources.get(api_version="v1", kind="ConfigMap")
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared", "namespace": NS},
            "data": {"a": "1"}}
    kubeapi_dynamic.server_side_apply(cms, body=body, field_manager="one")
    shared = kubeapi_dynamic.server_side_apply(cms, body=body, field_manager="two")
    assert sorted(m.manager for m in shared.metadata.managedFields) == ["one", "two"]
    removed_by_one = kubeapi_dynamic.server_side_apply(
        cms, body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared", "namespace": NS}},
        field_manager="one")
    assert removed_by_one.to_dict()["data"] == {"a": "1"}     # still owned by "two"


def test_apply_custom_resource_list_map_and_atomic(widgets, kubeapi_dynamic):
    body = widget(size=1, ports=[{"name": "http", "port": 80}], tags=["a"])
    kubeapi_dynamic.server_side_apply(widgets, body=body, field_manager="one")
    second = widget(size=1, ports=[{"name": "grpc", "port": 90}], tags=["b"])
    merged = kubeapi_dynamic.server_side_apply(widgets, body=second, field_manager="two", force_conflicts=True)
    assert [p.name for p in merged.spec.ports] == ["http", "grpc"]     # list-map: merged by key
    assert merged.spec.tags == ["b"]                                    # atomic list: replaced


def test_apply_requires_field_manager(kubeapi_clean, core):
    code, _unused, body = kubeapi_clean.http("PATCH", f"/api/v1/namespaces/{NS}/configmaps/x",
                                             b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
                                             headers={"Content-Type": "application/apply-patch+yaml"})
    assert code == 422 and body["reason"] == "Invalid" and "fieldManager" in body["message"]
    code, _unused, body = kubeapi_clean.http("PATCH", f"/api/v1/namespaces/{NS}/configmaps/x",
                                             b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {k: v}\n",
                                             headers={"Content-Type": "application/apply-patch+yaml"},
                                             query={"fieldManager": "yaml-writer"})
    assert code == 201 and body["data"] == {"k": "v"}


# --- lists, selectors, pagination, watch --------------------------------------------------------------

def test_label_and_field_selectors(core, kubeapi_clean):
    kubeapi_clean.create_pods(NS, 2, labels={"app": "a", "tier": "web"})
    kubeapi_clean.create_pods(NS, 1, labels={"app": "b"}, phase="Pending")
    kubeapi_clean.create_pods(NS, 1, labels={"app": "c", "tier": "db"})

    def names(**kwargs) -> int:
        return len(core.list_namespaced_pod(NS, **kwargs).items)
    assert names(label_selector="app=a") == 2
    assert names(label_selector="app!=a") == 2
    assert names(label_selector="app in (a,c)") == 3
    assert names(label_selector="app notin (a,c)") == 1
    assert names(label_selector="tier") == 3
    assert names(label_selector="!tier") == 1
    assert names(label_selector="app=a,tier=web") == 2
    assert names(field_selector="status.phase=Pending") == 1
    assert names(field_selector="status.phase!=Pending,metadata.namespace=work") == 3
    one = core.list_namespaced_pod(NS).items[0].metadata.name
    assert names(field_selector=f"metadata.name={one}") == 1
    assert len(core.list_pod_for_all_namespaces(label_selector="app=b").items) == 1
    expect_error(400, "BadRequest", core.list_namespaced_pod, NS, field_selector="spec.bogus=1")


def test_pagination(core):
    for i in range(7):
        core.create_namespaced_config_map(NS, {"metadata": {"name": f"cm-{i}"}})
    seen, token, pages = [], None, 0
    while True:
        page = core.list_namespaced_config_map(NS, limit=3, _continue=token)
        seen += [c.metadata.name for c in page.items]
        pages += 1
        token = page.metadata._continue
        if not token:
            break
    assert pages == 3 and seen == sorted(f"cm-{i}" for i in range(7)) + ["kube-root-ca.crt"] or \
        sorted(seen) == sorted([f"cm-{i}" for i in range(7)] + ["kube-root-ca.crt"])
    first = core.list_namespaced_config_map(NS, limit=3)
    assert first.metadata.remaining_item_count == 5
    expect_error(400, "BadRequest", core.list_namespaced_config_map, NS, _continue="not-a-token")


def test_watch_events_and_resume(core):
    created = core.create_namespaced_config_map(NS, {"metadata": {"name": "w"}, "data": {"a": "1"}})
    start_rv = created.metadata.resource_version
    core.patch_namespaced_config_map("w", NS, {"data": {"a": "2"}})
    core.delete_namespaced_config_map("w", NS)
    events = []
    stream = watch.Watch().stream(core.list_namespaced_config_map, NS, resource_version=start_rv,
                                  timeout_seconds=1)
    for event in stream:
        events.append((event["type"], event["object"].metadata.name))
    assert events == [("MODIFIED", "w"), ("DELETED", "w")]


def test_watch_live_events_with_selector(core):
    received: list = []
    ready = threading.Event()

    def consume() -> None:
        w = watch.Watch()
        ready.set()
        for event in w.stream(core.list_namespaced_config_map, NS, label_selector="watched=yes",
                              timeout_seconds=2):
            received.append((event["type"], event["object"].metadata.name))
            if len(received) == 3:
                w.stop()
    thread = threading.Thread(target=consume)
    thread.start()
    ready.wait()
    import time
    time.sleep(0.3)
    core.create_namespaced_config_map(NS, {"metadata": {"name": "ignored"}})
    core.create_namespaced_config_map(NS, {"metadata": {"name": "seen", "labels": {"watched": "yes"}}})
    core.patch_namespaced_config_map("seen", NS, {"data": {"k": "v"}})
    core.patch_namespaced_config_map("seen", NS, {"metadata": {"labels": {"watched": "no"}}})
    thread.join(5)
    assert received == [("ADDED", "seen"), ("MODIFIED", "seen"), ("DELETED", "seen")]


def test_watch_too_old_resource_version_is_expired(core, kubeapi_clean):
    kubeapi_clean.cluster.store._compacted = kubeapi_clean.cluster.store.rv
    code, _unused, data = kubeapi_clean.http("GET", f"/api/v1/namespaces/{NS}/configmaps",
                                             query={"watch": "true", "resourceVersion": "1"}, raw=True)
    event = json.loads(data.decode().splitlines()[0])
    assert code == 200
    assert event["type"] == "ERROR" and event["object"]["code"] == 410
    assert event["object"]["reason"] == "Expired"


# --- deletion ------------------------------------------------------------------------------------------

def test_owner_references_garbage_collection(core, apps):
    owner = core.create_namespaced_config_map(NS, {"metadata": {"name": "owner"}})
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid}
    core.create_namespaced_config_map(NS, {"metadata": {"name": "child", "ownerReferences": [ref]}})
    core.create_namespaced_secret(NS, {"metadata": {"name": "grandchild", "ownerReferences": [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "child",
         "uid": core.read_namespaced_config_map("child", NS).metadata.uid}]}})
    other = core.create_namespaced_config_map(NS, {"metadata": {"name": "other"}})
    core.create_namespaced_config_map(NS, {"metadata": {"name": "shared", "ownerReferences": [
        ref, {"apiVersion": "v1", "kind": "ConfigMap", "name": "other", "uid": other.metadata.uid}]}})
    status = core.delete_namespaced_config_map("owner", NS)
    assert status["kind"] == "Status" and status["status"] == "Success"
    assert status["details"] == {"name": "owner", "kind": "configmaps", "uid": owner.metadata.uid}
    expect_error(404, "NotFound", core.read_namespaced_config_map, "child", NS)
    expect_error(404, "NotFound", core.read_namespaced_secret, "grandchild", NS)
    shared = core.read_namespaced_config_map("shared", NS)
    assert [r.name for r in shared.metadata.owner_references] == ["other"]
    # Orphan propagation keeps dependents and strips the reference.
    parent = core.create_namespaced_config_map(NS, {"metadata": {"name": "parent"}})
    core.create_namespaced_config_map(NS, {"metadata": {"name": "kept", "ownerReferences": [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "parent", "uid": parent.metadata.uid}]}})
    core.delete_namespaced_config_map("parent", NS, propagation_policy="Orphan")
    assert core.read_namespaced_config_map("kept", NS).metadata.owner_references is None


def test_foreground_deletion_waits_for_dependents(core):
    owner = core.create_namespaced_config_map(NS, {"metadata": {"name": "owner"}})
    core.create_namespaced_config_map(NS, {"metadata": {"name": "blocker", "finalizers": ["example.com/hold"],
                                                        "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap",
                                                                             "name": "owner",
                                                                             "uid": owner.metadata.uid}]}})
    pending = core.delete_namespaced_config_map("owner", NS, propagation_policy="Foreground")
    assert pending["metadata"]["deletionTimestamp"] and "foregroundDeletion" in pending["metadata"]["finalizers"]
    assert core.read_namespaced_config_map("blocker", NS).metadata.deletion_timestamp
    core.patch_namespaced_config_map("blocker", NS, {"metadata": {"finalizers": None}})
    expect_error(404, "NotFound", core.read_namespaced_config_map, "blocker", NS)
    expect_error(404, "NotFound", core.read_namespaced_config_map, "owner", NS)


def test_finalizers_delay_deletion(core):
    core.create_namespaced_config_map(NS, {"metadata": {"name": "held", "finalizers": ["example.com/x"]}})
    pending = core.delete_namespaced_config_map("held", NS)
    assert pending["kind"] == "ConfigMap" and pending["metadata"]["deletionTimestamp"]
    live = core.read_namespaced_config_map("held", NS)
    assert live.metadata.deletion_timestamp and live.metadata.finalizers == ["example.com/x"]
    # A strategic merge of [] into a merge-strategy list is a no-op (as on a real server); null clears it.
    core.patch_namespaced_config_map("held", NS, {"metadata": {"finalizers": []}})
    assert core.read_namespaced_config_map("held", NS).metadata.finalizers == ["example.com/x"]
    core.patch_namespaced_config_map("held", NS, {"metadata": {"finalizers": None}})
    expect_error(404, "NotFound", core.read_namespaced_config_map, "held", NS)


def test_namespace_deletion_removes_content(core, widgets):
    widgets.create(body=widget(size=1))
    core.create_namespaced_config_map(NS, {"metadata": {"name": "x", "finalizers": ["example.com/x"]}})
    deleted = core.delete_namespace(NS)
    assert deleted["kind"] == "Namespace" and deleted["status"]["phase"] == "Terminating"
    assert core.read_namespace(NS).status.phase == "Terminating"
    assert widgets.get(namespace=NS).items == []
    expect_error(403, "Forbidden", core.create_namespaced_config_map, NS, {"metadata": {"name": "late"}})
    core.patch_namespaced_config_map("x", NS, {"metadata": {"finalizers": None}})
    expect_error(404, "NotFound", core.read_namespace, NS)
    expect_error(403, "Forbidden", core.delete_namespace, "kube-system")


# --- service accounts ----------------------------------------------------------------------------------

def test_service_account_token_secret_is_filled(core, kubeapi_clean):
    sa = core.create_namespaced_service_account(NS, {"metadata": {"name": "reader"}})
    core.create_namespaced_secret(NS, {"metadata": {"name": "reader-token", "annotations": {
        "kubernetes.io/service-account.name": "reader"}}, "type": "kubernetes.io/service-account-token"})
    secret = core.read_namespaced_secret("reader-token", NS)
    token = base64.b64decode(secret.data["token"]).decode()
    assert base64.b64decode(secret.data["namespace"]).decode() == NS
    assert base64.b64decode(secret.data["ca.crt"]) == kubeapi_clean.ca_pem
    assert secret.metadata.annotations["kubernetes.io/service-account.uid"] == sa.metadata.uid
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["sub"] == f"system:serviceaccount:{NS}:reader"
    # The token authenticates against the server, as remote secrets need.
    configuration = client.Configuration()
    configuration.host = kubeapi_clean.url
    configuration.ssl_ca_cert = kubeapi_clean.ca_file
    configuration.api_key = {"authorization": "Bearer " + token}
    with client.ApiClient(configuration) as as_reader:
        assert client.CoreV1Api(as_reader).read_namespace(NS).metadata.name == NS
    core.delete_namespaced_secret("reader-token", NS)
    with client.ApiClient(configuration) as as_reader:
        with pytest.raises(ApiException) as info:
            client.CoreV1Api(as_reader).read_namespace(NS)
        assert info.value.status == 401


def test_token_request(core, kubeapi_clean):
    core.create_namespaced_service_account(NS, {"metadata": {"name": "remote"}})
    result = core.create_namespaced_service_account_token(
        "remote", NS, {"spec": {"audiences": ["istio-ca"], "expirationSeconds": 3600}})
    assert result.status.token.count(".") == 2 and result.status.expiration_timestamp
    review = client.AuthenticationV1Api(core.api_client).create_token_review(
        {"spec": {"token": result.status.token}})
    assert review.status.authenticated and review.status.user.username == f"system:serviceaccount:{NS}:remote"


def test_wrong_token_is_unauthorized(kubeapi_clean):
    configuration = client.Configuration()
    configuration.host = kubeapi_clean.url
    configuration.ssl_ca_cert = kubeapi_clean.ca_file
    configuration.api_key = {"authorization": "Bearer wrong"}
    with client.ApiClient(configuration) as bad:
        with pytest.raises(ApiException) as info:
            client.CoreV1Api(bad).list_namespace()
    assert info.value.status == 401 and status_of(info.value)["reason"] == "Unauthorized"


def test_managed_fields_can_be_cleared_but_not_by_an_empty_list(core):
    core.create_namespaced_config_map(NS, {"metadata": {"name": "m"}, "data": {"a": "1"}})
    kept = core.patch_namespaced_config_map("m", NS, {"metadata": {"managedFields": []}, "data": {"a": "2"}})
    assert [m.manager for m in kept.metadata.managed_fields] == ["OpenAPI-Generator"]
    cleared = core.patch_namespaced_config_map("m", NS, {"metadata": {"managedFields": [{}]}})
    assert cleared.metadata.managed_fields is None
    again = core.patch_namespaced_config_map("m", NS, {"data": {"b": "3"}})
    (entry,) = again.metadata.managed_fields
    assert entry.fields_v1 == {"f:data": {"f:b": {}}}


def test_yaml_typed_values_are_refused_like_go_decoding(kubeapi_clean, core):
    code, _unused, body = kubeapi_clean.http("POST", f"/api/v1/namespaces/{NS}/configmaps",
                                             {"metadata": {"name": "flags"}, "data": {"enabled": True}})
    assert code == 400 and body["reason"] == "BadRequest"
    assert body["message"] == ('ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal '
                               'bool into Go struct field ConfigMap.data of type string')
    code, _unused, body = kubeapi_clean.http("POST", f"/api/v1/namespaces/{NS}/configmaps",
                                             {"metadata": {"name": "n", "labels": {"port": 80}}})
    assert code == 400 and "ObjectMeta.metadata.labels of type string" in body["message"]


def test_custom_resource_status_default_survives_the_status_reset(kubeapi_dynamic, core):
    crd = json.loads(json.dumps(WIDGET_CRD).replace("widget", "gateway").replace("Widget", "Gateway"))
    crd["metadata"]["name"] = "gateways.example.com"
    status_schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]
    status_schema["default"] = {"ready": False}
    kubeapi_dynamic.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition") \
        .create(body=crd)
    gateways = kubeapi_dynamic.resources.get(api_version="example.com/v1", kind="Gateway")
    created = gateways.create(body={"apiVersion": "example.com/v1", "kind": "Gateway",
                                    "metadata": {"name": "g", "namespace": NS},
                                    "spec": {"size": 1}, "status": {"ready": True}})
    assert created.status.ready is False


def test_null_decodes_into_string_fields_like_go(kubeapi_clean, core):
    code, _unused, body = kubeapi_clean.http("POST", f"/api/v1/namespaces/{NS}/configmaps",
                                             {"metadata": {"name": "nulls", "labels": {"a": None}}, "data": {"k": None}})
    assert code == 201, body
    assert body["metadata"]["labels"] == {"a": ""} and body["data"] == {"k": ""}
    container = {"name": "c", "image": "i", "env": [{"name": "EMPTY", "value": None}]}
    deployment = {"metadata": {"name": "nulls"}, "spec": {
        "selector": {"matchLabels": {"app": "n"}},
        "template": {"metadata": {"labels": {"app": "n"}}, "spec": {"containers": [container]}}}}
    code, _unused, body = kubeapi_clean.http("POST", f"/apis/apps/v1/namespaces/{NS}/deployments", deployment)
    assert code == 201, body
