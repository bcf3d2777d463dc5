"""The test API server against a real kube-apiserver: every test here runs on
both, through the handle methods they share (``http``, ``kubectl``, clients),
and asserts what the real server answers.

``real`` uses the ``k8s_cluster`` fixture (a real control plane from
tests/cluster); until that fixture exists those runs are skipped. The real
cluster is shared between tests, so each test works in a namespace of its own.

Covered: server-side apply refusing duplicate keys, undeclared fields and
wrongly typed values of built-in kinds (and create/update accepting duplicates
with a warning), quantities in canonical form, ``omitempty`` fields dropped,
and the atomic Service selector."""
from __future__ import annotations

import json
import uuid
from typing import Any, Iterator, Optional

import pytest

APPLY = {"Content-Type": "application/apply-patch+yaml"}
TYPED_PATCH = "failed to create typed patch object"
BAD_QUANTITY = ("quantities must match the regular expression "
                "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")


@pytest.fixture(params=["kubeapi", "real"])
def conformance_server(request: pytest.FixtureRequest) -> Any:
    """The Python test server, or a real control plane once tests/cluster provides one."""
    if request.param == "kubeapi":
        return request.getfixturevalue("kubeapi_clean")
    try:
        return request.getfixturevalue("k8s_cluster")
    except pytest.FixtureLookupError:
        pytest.skip("real control plane fixture not available yet")


@pytest.fixture
def ns(conformance_server: Any) -> Iterator[str]:
    """A namespace of this test's own (the real cluster is shared)."""
    name = f"conf-{uuid.uuid4().hex[:10]}"
    code, _unused, body = conformance_server.http("POST", "/api/v1/namespaces", {"metadata": {"name": name}})
    assert code == 201, body
    yield name
    conformance_server.http("DELETE", f"/api/v1/namespaces/{name}")


# --- helpers ---------------------------------------------------------------------------------

def apply(server: Any, path: str, body: dict, manager: str = "conformance", force: bool = False,
          query: Optional[dict] = None) -> tuple[int, dict, Any]:
    params = {"fieldManager": manager, **({"force": "true"} if force else {}), **(query or {})}
    return server.http("PATCH", path, json.dumps(body).encode(), headers=APPLY, query=params)


def warning(headers: dict) -> str:
    return next((v for k, v in headers.items() if k.lower() == "warning"), "")


def deploy_path(ns: str, name: str = "") -> str:
    return f"/apis/apps/v1/namespaces/{ns}/deployments" + (f"/{name}" if name else "")


def deployment(ns: str, name: str = "istiod", containers: Optional[list] = None, **spec: Any) -> dict:
    containers = containers or [{"name": "discovery", "image": "example.com/pilot:1.0"}]
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": containers}}}}
    body["spec"].update(spec)
    return body


def container(**fields: Any) -> dict:
    return {"name": "discovery", "image": "example.com/pilot:1.0", **fields}


def service(name: str, selector: Optional[dict] = None, ports: Optional[list] = None) -> dict:
    spec: dict = {"ports": ports or [{"name": "http", "port": 80}]}
    if selector is not None:
        spec["selector"] = selector
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def typed_patch_error(ns: str, name: str, gvk: str, problem: str) -> str:
    return f"{TYPED_PATCH} ({ns}/{name}; {gvk}): {problem}"


def assert_refused(server: Any, result: tuple, message: str, path: str) -> None:
    """A typed-conversion failure: a plain 500 Status (no reason), nothing stored."""
    code, _unused, body = result
    assert (code, body["kind"], body.get("reason")) == (500, "Status", None), body
    assert body["message"] == message
    assert server.http("GET", path)[0] == 404


# --- duplicate keys: refused by server-side apply, accepted by create with a warning -------------

def test_apply_refuses_duplicate_env_names(conformance_server, ns):
    env = [{"name": "PILOT_TRACE_SAMPLING", "value": "1"}, {"name": "PILOT_TRACE_SAMPLING", "value": "100"}]
    result = apply(conformance_server, deploy_path(ns, "istiod"), deployment(ns, containers=[container(env=env)]))
    assert_refused(conformance_server, result, typed_patch_error(
        ns, "istiod", "apps/v1, Kind=Deployment", '.spec.template.spec.containers[name="discovery"].env: '
        'duplicate entries for key [name="PILOT_TRACE_SAMPLING"]'), deploy_path(ns, "istiod"))


def test_apply_refuses_duplicate_containers_and_ports(conformance_server, ns):
    twins = [container(), container(image="example.com/other:1.0")]
    assert_refused(conformance_server, apply(conformance_server, deploy_path(ns, "a"), deployment(ns, "a", twins)),
                   typed_patch_error(ns, "a", "apps/v1, Kind=Deployment",
                                     '.spec.template.spec.containers: duplicate entries for key [name="discovery"]'),
                   deploy_path(ns, "a"))
    # protocol defaults to TCP in the key
    ports = [{"containerPort": 15010, "name": "grpc"}, {"containerPort": 15010, "protocol": "TCP", "name": "xds"}]
    result = apply(conformance_server, deploy_path(ns, "b"), deployment(ns, "b", [container(ports=ports)]))
    assert_refused(conformance_server, result, typed_patch_error(
        ns, "b", "apps/v1, Kind=Deployment", '.spec.template.spec.containers[name="discovery"].ports: '
        'duplicate entries for key [containerPort=15010,protocol="TCP"]'), deploy_path(ns, "b"))


def test_apply_refuses_duplicate_service_ports_and_finalizers(conformance_server, ns):
    path = f"/api/v1/namespaces/{ns}/services/web"
    ports = [{"name": "http", "port": 80}, {"name": "http2", "port": 80}]
    assert_refused(conformance_server, apply(conformance_server, path, service("web", {"app": "web"}, ports)),
                   typed_patch_error("", "web", "/v1, Kind=Service",
                                     '.spec.ports: duplicate entries for key [port=80,protocol="TCP"]'), path)
    path = f"/api/v1/namespaces/{ns}/configmaps/cm"
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": ns,
                                                                  "finalizers": ["example.com/a", "example.com/a"]}}
    assert_refused(conformance_server, apply(conformance_server, path, body), typed_patch_error(
        ns, "cm", "/v1, Kind=ConfigMap", '.metadata.finalizers: duplicate entries for key [="example.com/a"]'), path)


def test_create_accepts_duplicate_env_with_a_warning(conformance_server, ns):
    env = [{"name": "X", "value": "1"}, {"name": "X", "value": "2"}]
    code, headers, body = conformance_server.http("POST", deploy_path(ns), deployment(ns, "d", [container(env=env)]))
    assert code == 201, body
    assert warning(headers) == ('299 - "spec.template.spec.containers[0].env[1]: hides previous definition of '
                                '\\"X\\", which may be dropped when using apply"')
    assert body["spec"]["template"]["spec"]["containers"][0]["env"] == env
    # the duplicated key is owned as a whole, without its fields
    entry = next(e for e in body["metadata"]["managedFields"] if e["operation"] == "Update")
    owned = entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"discovery"}']
    assert owned["f:env"] == {".": {}, 'k:{"name":"X"}': {}}


def env_owners(body: dict) -> dict:
    owners = {}
    for entry in body["metadata"]["managedFields"]:
        template = entry["fieldsV1"].get("f:spec", {}).get("f:template")
        if template:
            owners[entry["manager"]] = template["f:spec"]["f:containers"]['k:{"name":"discovery"}'].get("f:env")
    return owners


def test_apply_over_duplicates_left_by_create(conformance_server, ns):
    path = deploy_path(ns, "d")
    env = [{"name": "A", "value": "0"}, {"name": "PATH", "value": "/bin"}, {"name": "PATH", "value": "$PATH:/usr"}]
    code, _unused, body = conformance_server.http("POST", deploy_path(ns), deployment(ns, "d", [container(env=env)]),
                                                  query={"fieldManager": "create"})
    assert code == 201, body
    # Another manager's apply keeps the duplicates it does not touch.
    code, _unused, body = apply(conformance_server, path, deployment(ns, "d", [container(env=[{"name": "HOME"}])]))
    assert code == 200, body
    assert body["spec"]["template"]["spec"]["containers"][0]["env"] == env + [{"name": "HOME"}]
    # Applying the duplicated key replaces all its entries by one.
    code, _unused, body = apply(conformance_server, path, deployment(ns, "d", [container(env=[
        {"name": "PATH", "value": "/bin:/usr"}])]), force=True)
    assert code == 200, body
    assert body["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "A", "value": "0"},
                                                                        {"name": "PATH", "value": "/bin:/usr"}]
    assert env_owners(body) == {"create": {".": {}, 'k:{"name":"A"}': {".": {}, "f:name": {}, "f:value": {}}},
                                "conformance": {'k:{"name":"PATH"}': {".": {}, "f:name": {}, "f:value": {}}}}


def test_create_warns_about_duplicate_ports_and_refuses_duplicate_containers(conformance_server, ns):
    ports = [{"containerPort": 8080, "name": "a"}, {"containerPort": 8080, "name": "b"}]
    code, headers, body = conformance_server.http("POST", deploy_path(ns), deployment(ns, "p", [container(ports=ports)]))
    assert code == 201, body
    assert warning(headers) == ('299 - "spec.template.spec.containers[0].ports[1]: duplicate port definition with '
                                'spec.template.spec.containers[0].ports[0]"')
    twins = [container(), container(image="example.com/other:1.0")]
    code, _unused, body = conformance_server.http("POST", deploy_path(ns), deployment(ns, "c", twins))
    assert (code, body["reason"]) == (422, "Invalid")
    assert body["message"] == ('Deployment.apps "c" is invalid: spec.template.spec.containers[1].name: '
                               'Duplicate value: "discovery"')


# --- server-side apply: undeclared fields and wrong JSON types ------------------------------------

@pytest.mark.parametrize("spec, problem", [
    ({"replicas": "2"}, ".spec.replicas: expected numeric (int or float), got string"),
    ({"paused": "true"}, ".spec.paused: expected boolean, got &{true}"),
    ({"selector": ["app"]}, ".spec.selector: expected map, got &{[app]}"),
    ({"replicaz": 2}, ".spec.replicaz: field not declared in schema"),
])
def test_apply_refuses_wrong_types_and_undeclared_fields(conformance_server, ns, spec, problem):
    result = apply(conformance_server, deploy_path(ns, "d"), deployment(ns, "d", **spec))
    assert_refused(conformance_server, result, typed_patch_error(ns, "d", "apps/v1, Kind=Deployment", problem),
                   deploy_path(ns, "d"))


def test_apply_refuses_undeclared_fields_whatever_field_validation_says(conformance_server, ns):
    path = f"/api/v1/namespaces/{ns}/configmaps/cm"
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": ns},
            "datta": {"mesh": "{}"}}
    for mode in ("Ignore", "Warn", "Strict"):
        result = apply(conformance_server, path, body, query={"fieldValidation": mode})
        assert_refused(conformance_server, result, typed_patch_error(
            ns, "cm", "/v1, Kind=ConfigMap", ".datta: field not declared in schema"), path)
    path = f"/api/v1/namespaces/{ns}/serviceaccounts/sa"
    body = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa", "namespace": ns,
                                                                       "labels": {"version": 2}}}
    assert_refused(conformance_server, apply(conformance_server, path, body), typed_patch_error(
        ns, "sa", "/v1, Kind=ServiceAccount",
        ".metadata.labels.version: expected string, got &value.valueUnstructured{Value:2}"), path)


def test_apply_reports_every_problem(conformance_server, ns):
    code, _unused, body = apply(conformance_server, deploy_path(ns, "d"),
                                deployment(ns, "d", [container(image=5)], replicas="two"))
    assert code == 500
    head = f"{TYPED_PATCH} ({ns}/d; apps/v1, Kind=Deployment): errors:\n"
    assert body["message"].startswith(head)
    assert sorted(body["message"][len(head):].split("\n")) == [
        '  .spec.replicas: expected numeric (int or float), got string',
        '  .spec.template.spec.containers[name="discovery"].image: expected string, '
        'got &value.valueUnstructured{Value:5}']


def test_service_target_port_number_as_string_is_invalid(conformance_server, ns):
    path = f"/api/v1/namespaces/{ns}/services/web"
    # IntOrString takes the string, validation then wants an IANA service name
    code, _unused, body = apply(conformance_server, path, service("web", {"app": "web"},
                                                                  [{"name": "http", "port": 80, "targetPort": "8080"}]))
    assert (code, body["reason"]) == (422, "Invalid")
    assert body["message"] == ('Service "web" is invalid: spec.ports[0].targetPort: Invalid value: "8080": '
                               'must contain at least one letter (a-z)')
    assert body["details"]["causes"] == [{"reason": "FieldValueInvalid", "field": "spec.ports[0].targetPort",
                                          "message": 'Invalid value: "8080": must contain at least one letter (a-z)'}]
    code, _unused, body = apply(conformance_server, path, service("web", {"app": "web"},
                                                                  [{"name": "http", "port": 80, "targetPort": "http-web"}]))
    assert code == 201 and body["spec"]["ports"][0]["targetPort"] == "http-web"


def test_int_or_string_refuses_other_types(conformance_server, ns):
    ports = [{"name": "http", "port": 80, "targetPort": True}]
    code, _unused, body = apply(conformance_server, f"/api/v1/namespaces/{ns}/services/web",
                                service("web", {"app": "web"}, ports))
    assert (code, body.get("reason")) == (500, None)
    assert body["message"] == ("failed to convert new object (/web; /v1, Kind=Service) to proper version: unable to "
                               "convert unstructured object to /v1, Kind=Service: json: cannot unmarshal bool into "
                               "Go value of type int32")
    code, _unused, body = conformance_server.http("POST", f"/api/v1/namespaces/{ns}/services",
                                                  service("web", {"app": "web"}, ports))
    assert (code, body["reason"]) == (400, "BadRequest")
    assert body["message"] == ('Service in version "v1" cannot be handled as a Service: json: cannot unmarshal bool '
                               'into Go struct field ServicePort.spec.ports.targetPort of type int32')


def test_create_drops_unknown_fields_with_a_warning(conformance_server, ns):
    code, headers, body = conformance_server.http("POST", deploy_path(ns), deployment(ns, "d", replicaz=2))
    assert code == 201 and "replicaz" not in body["spec"]
    assert warning(headers) == '299 - "unknown field \\"spec.replicaz\\""'
    code, _unused, body = conformance_server.http("POST", deploy_path(ns), deployment(ns, "e", replicaz=2),
                                                  query={"fieldValidation": "Strict"})
    assert (code, body["reason"]) == (400, "BadRequest")
    assert body["message"] == ('Deployment in version "v1" cannot be handled as a Deployment: strict decoding '
                               'error: unknown field "spec.replicaz"')


# --- quantities --------------------------------------------------------------------------------------

QUOTA = {  # resource list values: canonical form, rounded up to milli units
    "cpu": ("1000m", "1"), "memory": ("2048Mi", "2Gi"), "requests.cpu": ("0.5", "500m"),
    "requests.memory": ("1.5Gi", "1536Mi"), "limits.cpu": ("12.5m", "13m"), "limits.memory": ("1000k", "1M"),
    "requests.storage": ("1e3", "1e3"), "requests.ephemeral-storage": ("3e2", "300"),
    "limits.ephemeral-storage": ("100Mi", "100Mi"), "pods": (10, "10"), "services": ("1024", "1024"),
}


def test_quantities_are_stored_in_canonical_form(conformance_server, ns):
    path = f"/api/v1/namespaces/{ns}/resourcequotas/quota"
    body = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "quota", "namespace": ns},
            "spec": {"hard": {key: value for key, (value, _unused) in QUOTA.items()}}}
    code, _unused, stored = apply(conformance_server, path, body)
    assert code == 201, stored
    assert stored["spec"]["hard"] == {key: canonical for key, (_unused, canonical) in QUOTA.items()}


def test_reapplying_other_spellings_of_a_quantity_is_a_no_op(conformance_server, ns):
    path = f"/api/v1/namespaces/{ns}/limitranges/limits"   # no controller writes LimitRanges
    body = {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "limits", "namespace": ns},
            "spec": {"limits": [{"type": "Container", "max": {"cpu": "2000m", "memory": "2048Mi"}}]}}
    code, _unused, stored = apply(conformance_server, path, body)
    assert code == 201 and stored["spec"]["limits"][0]["max"] == {"cpu": "2", "memory": "2Gi"}
    code, _unused, again = apply(conformance_server, path, body)
    assert code == 200 and again["metadata"]["resourceVersion"] == stored["metadata"]["resourceVersion"]


SIZE_LIMITS = [  # a single quantity, not a resource list: no rounding to milli units
    ("1.5u", "1500n"), ("0.5Gi", "512Mi"), ("1.125Ki", "1152"), ("1.1Ki", "1126400m"), ("+1", "+1"),
    ("01", "01"), ("1.0e3", "1e3"), ("2.5e-3", "2500e-6"), ("1000E", "1"), ("10000Ei", "9223372036854775807"),
    (1536, "1536"), (0.75, "750m"),
]


def test_container_resources_and_size_limits_are_canonical(conformance_server, ns):
    resources = {"requests": {"cpu": 0.25, "memory": "1024Ki"}, "limits": {"cpu": 1, "memory": "0.5Gi"}}
    volumes = [{"name": f"cache{i}", "emptyDir": {"sizeLimit": value}} for i, (value, _unused) in enumerate(SIZE_LIMITS)]
    code, _unused, body = conformance_server.http("POST", deploy_path(ns), deployment(
        ns, "d", [container(resources=resources)]))
    assert code == 201, body
    stored = body["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert stored == {"requests": {"cpu": "250m", "memory": "1Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}
    spec = deployment(ns, "e", [container()])
    spec["spec"]["template"]["spec"]["volumes"] = volumes
    code, _unused, body = apply(conformance_server, deploy_path(ns, "e"), spec)
    assert code == 201, body
    stored = [v["emptyDir"]["sizeLimit"] for v in body["spec"]["template"]["spec"]["volumes"]]
    assert stored == [canonical for _unused, canonical in SIZE_LIMITS]


def test_invalid_quantities_are_refused(conformance_server, ns):
    spec = deployment(ns, "d", [container(resources={"limits": {"cpu": "1e2k"}})])
    code, _unused, body = apply(conformance_server, deploy_path(ns, "d"), spec)
    assert (code, body.get("reason")) == (500, None)
    assert body["message"] == (f"failed to convert new object ({ns}/d; apps/v1, Kind=Deployment) to proper version: "
                               "unable to convert unstructured object to apps/v1, Kind=Deployment: " + BAD_QUANTITY)
    code, _unused, body = conformance_server.http("POST", deploy_path(ns), spec)
    assert (code, body["reason"]) == (400, "BadRequest")
    assert body["message"] == 'Deployment in version "v1" cannot be handled as a Deployment: ' + BAD_QUANTITY


# --- omitempty -----------------------------------------------------------------------------------------

def test_empty_optional_values_are_dropped(conformance_server, ns):
    spec = deployment(ns, "d", [container(env=[{"name": "PILOT_ENABLE_X", "value": ""}], args=[], workingDir="")])
    spec["metadata"]["annotations"] = {}
    spec["spec"]["template"]["spec"].update(nodeSelector={}, serviceAccountName="", tolerations=[])
    code, _unused, body = apply(conformance_server, deploy_path(ns, "d"), spec)
    assert code == 201, body
    pod = body["spec"]["template"]["spec"]
    assert pod["containers"][0]["env"] == [{"name": "PILOT_ENABLE_X"}]
    assert not {"args", "workingDir"} & set(pod["containers"][0])
    assert not {"nodeSelector", "serviceAccountName", "tolerations"} & set(pod)
    assert "annotations" not in body["metadata"]
    # the applier still owns what it applied
    entry = next(e for e in body["metadata"]["managedFields"] if e["operation"] == "Apply")
    owned = entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"discovery"}']
    assert set(owned["f:env"]['k:{"name":"PILOT_ENABLE_X"}']) == {".", "f:name", "f:value"}
    # map entries are data, not fields: empty values stay
    code, _unused, body = conformance_server.http("POST", f"/api/v1/namespaces/{ns}/configmaps", {
        "metadata": {"name": "cm", "labels": {"empty": ""}}, "data": {}, "binaryData": {}})
    assert code == 201 and body["metadata"]["labels"] == {"empty": ""}
    assert "data" not in body and "binaryData" not in body


# --- the Service selector is an atomic map ---------------------------------------------------------

def selector_owners(body: dict) -> dict:
    return {e["manager"]: e["fieldsV1"]["f:spec"].get("f:selector") for e in body["metadata"]["managedFields"]}


def test_service_selector_is_replaced_whole_by_another_manager(conformance_server, ns):
    path = f"/api/v1/namespaces/{ns}/services/istiod"
    code, _unused, body = apply(conformance_server, path, service("istiod", {"app": "istiod", "istio.io/rev": "1-24"}),
                                manager="installer")
    assert code == 201 and selector_owners(body) == {"installer": {}}
    code, _unused, body = apply(conformance_server, path, service("istiod", {"app": "istiod-canary"}), manager="canary")
    assert (code, body["reason"]) == (409, "Conflict")
    assert body["message"] == 'Apply failed with 1 conflict: conflict with "installer": .spec.selector'
    assert body["details"] == {"causes": [{"reason": "FieldManagerConflict", "message": 'conflict with "installer"',
                                           "field": ".spec.selector"}]}
    code, _unused, body = apply(conformance_server, path, service("istiod", {"app": "istiod-canary"}), manager="canary",
                                force=True)
    assert code == 200 and body["spec"]["selector"] == {"app": "istiod-canary"}
    assert selector_owners(body) == {"installer": None, "canary": {}}


def test_service_selector_keys_removed_by_the_same_manager(conformance_server, ns):
    path = f"/api/v1/namespaces/{ns}/services/istiod"
    apply(conformance_server, path, service("istiod", {"app": "istiod", "istio.io/rev": "1-24"}))
    code, _unused, body = apply(conformance_server, path, service("istiod", {"app": "istiod"}))
    assert code == 200 and body["spec"]["selector"] == {"app": "istiod"}
    code, _unused, body = apply(conformance_server, path, service("istiod"))
    assert code == 200 and "selector" not in body["spec"]
