"""Waypoints and the labels we own on other people's namespaces and services.

The stand-in cluster below merges labels per field manager the way server-side apply
does for ``metadata.labels`` (a granular map); the integration tests run the real thing.
"""
import copy

import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils import _labels as labels
from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.servicemesh.istio.plugins.module_utils import _waypoint as waypoints
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s import _inventory as inventory
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._errors import ConflictError
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._inventory import UnitKey
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef
from tests.unit.k8s.fake_cluster import FakeCluster

OPTIONS = lifecycle.Options(wait=False)
GATEWAY = ("gateway.networking.k8s.io", "Gateway")
LABELLED_KINDS = ("Namespace", "Service", "ServiceAccount", "Pod")


def _label_fields(keys):
    return {"f:metadata": {"f:labels": {"f:" + key: {} for key in keys}}} if keys else {}


def _owners(live):
    owners = {}
    for entry in live["metadata"].get("managedFields") or []:
        for key in (entry.get("fieldsV1", {}).get("f:metadata", {}).get("f:labels") or {}):
            owners.setdefault(key[2:], set()).add(entry["manager"])
    return owners


class LabelCluster(FakeCluster):
    """FakeCluster whose applies to existing namespaces and services merge labels per manager."""

    def apply(self, body, field_manager, force=False, dry_run=False):
        ref = ObjectRef.from_object(body)
        live = self.store.get(ref)
        if live is None or ref.kind not in LABELLED_KINDS:
            return super().apply(body, field_manager, force, dry_run)
        self.calls.append(("APPLY-DRYRUN" if dry_run else "APPLY", ref))
        wanted = body["metadata"].get("labels") or {}
        current, owners = dict(live["metadata"].get("labels") or {}), _owners(live)
        clashes = [key for key, value in wanted.items()
                   if key in current and current[key] != value and owners.get(key, set()) - {field_manager}]
        if clashes and not force:
            raise ConflictError("apply %s: conflict" % ref, [("someone-else", ".metadata.labels." + clashes[0])])
        for key in list(current):
            if key not in wanted and owners.get(key) == {field_manager}:
                del current[key]
        current.update(wanted)
        stored = copy.deepcopy(live)
        stored["metadata"]["labels"] = current
        entries = [entry for entry in live["metadata"].get("managedFields") or [] if entry["manager"] != field_manager]
        if force:
            for entry in entries:
                for key in clashes:
                    entry.get("fieldsV1", {}).get("f:metadata", {}).get("f:labels", {}).pop("f:" + key, None)
        if wanted:
            entries.append({"manager": field_manager, "operation": "Apply", "apiVersion": "v1",
                            "fieldsType": "FieldsV1", "fieldsV1": _label_fields(wanted)})
        stored["metadata"]["managedFields"] = entries
        if not dry_run:
            self.store[ref] = stored
        return copy.deepcopy(stored)


@pytest.fixture
def cluster():
    fake = LabelCluster()
    for name in ("istio-system", "bookinfo", "default", "shop"):
        fake.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {"team": "a"}}})
    fake.put({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "reviews", "namespace": "bookinfo"},
              "spec": {"ports": [{"port": 9080}]}})
    fake.put({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "reviews", "namespace": "bookinfo"}})
    fake.put({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "cart-0", "namespace": "shop"},
              "spec": {"containers": [{"name": "cart", "image": "cart"}]}})
    return fake


def ns_labels(cluster, name):
    return cluster.get(ObjectRef.of("v1", "Namespace", name))["metadata"].get("labels") or {}


def gateway_ref(name="waypoint", namespace="bookinfo"):
    return ObjectRef.of("gateway.networking.k8s.io/v1", "Gateway", name, namespace)


def install(cluster, options=OPTIONS, **params):
    params.setdefault("name", "waypoint")
    params.setdefault("namespace", "bookinfo")
    return waypoints.install_waypoint(cluster, waypoints.Waypoint.from_params(params), options)


# -- the Gateway ---------------------------------------------------------------------------------

def test_waypoint_gateway_shape():
    body = waypoints.gateway(waypoints.Waypoint("waypoint", "bookinfo"))
    assert body["metadata"]["labels"] == {"istio.io/waypoint-for": "service"}
    assert body["spec"] == {"gatewayClassName": "istio-waypoint",
                            "listeners": [{"name": "mesh", "port": 15008, "protocol": "HBONE"}]}


@pytest.mark.parametrize("params,selector", [
    ({"enroll_namespaces": ["bookinfo"]}, None),
    ({"enroll_namespaces": ["default"]}, {"matchLabels": {"kubernetes.io/metadata.name": "default"}}),
    ({"enroll_namespaces": ["default", "bookinfo"]},
     {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["bookinfo", "default"]}]}),
    ({"enroll_services": ["shop/cart"]}, {"matchLabels": {"kubernetes.io/metadata.name": "shop"}}),
    ({"allowed_namespace_selector": {"matchLabels": {"mesh": "yes"}}}, {"matchLabels": {"mesh": "yes"}}),
    ({"allowed_namespaces": []}, None),
])
def test_cross_namespace_use_is_allowed_by_selector(params, selector):
    waypoint = waypoints.Waypoint.from_params(dict(params, name="waypoint", namespace="bookinfo"))
    listener = waypoints.gateway(waypoint)["spec"]["listeners"][0]
    assert listener.get("allowedRoutes") == (None if selector is None else
                                             {"namespaces": {"from": "Selector", "selector": selector}})


@pytest.mark.parametrize("params,message", [
    ({"waypoint_for": "none", "enroll_namespaces": ["bookinfo"]}, "waypoint_for: none"),
    ({"waypoint_for": "workload", "enroll_services": ["reviews"]}, "services cannot use a waypoint for workload"),
    ({"enroll_namespaces": ["default"], "allowed_namespaces": ["shop"]}, "default are enrolled but not in allowed"),
    ({"name": "Bad_Name"}, "not a DNS-1123 label"),
    ({"enroll_services": ["shop/Bad_Service"]}, "enrolled service"),
    ({"enroll_pods": ["cart-0"]}, "pods and service accounts send workload traffic"),
    ({"waypoint_for": "none", "enroll_service_accounts": ["reviews"]}, "waypoint_for: none"),
    ({"waypoint_for": "all", "enroll_pods": ["shop/Cart_0"]}, "enrolled pod"),
    ({"waypoint_for": "all", "enroll_service_accounts": ["a/b/c"]}, "enrolled service account"),
])
def test_bad_input_is_refused_before_any_request(cluster, params, message):
    with pytest.raises(IstioError, match=message):
        install(cluster, **params)
    assert cluster.calls == []


def test_missing_gateway_api_is_a_clear_error(cluster):
    cluster.unserved.add(GATEWAY)
    with pytest.raises(waypoints.WaypointError, match="Gateway API CRDs"):
        install(cluster, enroll_namespaces=["bookinfo"])
    assert cluster.writes() == []


# -- install, idempotence, removal -------------------------------------------------------------------

def test_install_enrols_and_second_run_writes_nothing(cluster):
    outcome = install(cluster, enroll_namespaces=["bookinfo", "default"], enroll_services=["reviews"])
    assert outcome.changed
    assert cluster.get(gateway_ref())["spec"]["gatewayClassName"] == "istio-waypoint"
    assert ns_labels(cluster, "bookinfo") == {"team": "a", "istio.io/use-waypoint": "waypoint"}
    assert ns_labels(cluster, "default") == {"team": "a", "istio.io/use-waypoint": "waypoint",
                                             "istio.io/use-waypoint-namespace": "bookinfo"}
    service = cluster.get(ObjectRef.of("v1", "Service", "reviews", "bookinfo"))
    assert service["metadata"]["labels"] == {"istio.io/use-waypoint": "waypoint"}
    record = inventory.load(cluster, "bookinfo", "waypoint", "waypoint")
    assert [item["name"] for item in record.metadata["labelled"]] == ["bookinfo", "default", "reviews"]
    cluster.reset_calls()
    again = install(cluster, enroll_namespaces=["bookinfo", "default"], enroll_services=["reviews"])
    assert not again.changed and cluster.writes() == []


def test_check_mode_predicts_without_writing(cluster):
    outcome = install(cluster, lifecycle.Options(check_mode=True, wait=False), enroll_namespaces=["bookinfo"])
    assert outcome.changed and cluster.writes() == []
    assert cluster.get(gateway_ref()) is None
    assert "istio.io/use-waypoint" not in ns_labels(cluster, "bookinfo")
    assert list(outcome.diff()["after"]) == ["Gateway.gateway.networking.k8s.io bookinfo/waypoint",
                                             "Namespace bookinfo"]


def sa_and_pod(cluster):
    return [cluster.get(ObjectRef.of("v1", "ServiceAccount", "reviews", "bookinfo")),
            cluster.get(ObjectRef.of("v1", "Pod", "cart-0", "shop"))]


def test_service_accounts_and_pods_use_the_waypoint(cluster):
    params = {"waypoint_for": "workload", "enroll_service_accounts": ["reviews"], "enroll_pods": ["shop/cart-0"]}
    predicted = install(cluster, lifecycle.Options(check_mode=True, wait=False), **params)
    assert cluster.writes() == []
    assert sorted(predicted.diff()["after"]) == ["Gateway.gateway.networking.k8s.io bookinfo/waypoint",
                                                 "Pod shop/cart-0", "ServiceAccount bookinfo/reviews"]
    assert install(cluster, **params).changed
    account, pod = sa_and_pod(cluster)
    assert account["metadata"]["labels"] == {"istio.io/use-waypoint": "waypoint"}
    assert pod["metadata"]["labels"] == {"istio.io/use-waypoint": "waypoint",
                                         "istio.io/use-waypoint-namespace": "bookinfo"}
    # the pod's namespace is let in; the service account's is the waypoint's own
    listener = cluster.get(gateway_ref())["spec"]["listeners"][0]
    assert listener["allowedRoutes"]["namespaces"]["selector"] == {
        "matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["bookinfo", "shop"]}]}
    cluster.reset_calls()
    assert not install(cluster, **params).changed and cluster.writes() == []
    assert install(cluster, waypoint_for="workload", enroll_service_accounts=["reviews"]).changed
    assert not sa_and_pod(cluster)[1]["metadata"].get("labels")
    waypoints.remove_waypoint(cluster, "waypoint", "bookinfo", OPTIONS)
    assert [obj["metadata"].get("labels") or {} for obj in sa_and_pod(cluster)] == [{}, {}]


def test_dropped_enrolment_is_taken_back(cluster):
    install(cluster, enroll_namespaces=["bookinfo", "default"])
    outcome = install(cluster, enroll_namespaces=["bookinfo"])
    assert outcome.changed
    assert ns_labels(cluster, "default") == {"team": "a"}
    record = inventory.load(cluster, "bookinfo", "waypoint", "waypoint")
    assert [item["name"] for item in record.metadata["labelled"]] == ["bookinfo"]
    listener = cluster.get(gateway_ref())["spec"]["listeners"][0]
    assert "allowedRoutes" not in listener


def test_removal_takes_back_only_our_labels_and_keeps_namespaces(cluster):
    cluster.put({"apiVersion": "v1", "kind": "Namespace",
                 "metadata": {"name": "shop", "labels": {"istio.io/use-waypoint": "waypoint"}}})
    install(cluster, enroll_namespaces=["bookinfo", "shop"])
    assert ns_labels(cluster, "shop")["istio.io/use-waypoint-namespace"] == "bookinfo"
    outcome = waypoints.remove_waypoint(cluster, "waypoint", "bookinfo", OPTIONS)
    assert outcome.changed
    assert cluster.get(gateway_ref()) is None
    assert ns_labels(cluster, "bookinfo") == {"team": "a"}
    # the user had set use-waypoint on shop already: it stays (the namespace label we added went)
    assert ns_labels(cluster, "shop") == {"istio.io/use-waypoint": "waypoint"}
    assert inventory.load(cluster, "bookinfo", "waypoint", "waypoint") is None
    for name in ("bookinfo", "shop"):
        assert cluster.get(ObjectRef.of("v1", "Namespace", name)) is not None
    cluster.reset_calls()
    assert not waypoints.remove_waypoint(cluster, "waypoint", "bookinfo", OPTIONS).changed
    assert cluster.writes() == []


def test_another_owners_value_is_refused_before_any_write(cluster):
    cluster.put({"apiVersion": "v1", "kind": "Namespace",
                 "metadata": {"name": "default", "labels": {"istio.io/use-waypoint": "other"}}})
    cluster.reset_calls()
    with pytest.raises(labels.LabelError, match="default already has istio.io/use-waypoint=other"):
        install(cluster, enroll_namespaces=["bookinfo", "default"])
    assert cluster.writes() == []
    forced = lifecycle.Options(wait=False, force_conflicts=True)
    install(cluster, forced, enroll_namespaces=["bookinfo", "default"])
    assert ns_labels(cluster, "default")["istio.io/use-waypoint"] == "waypoint"


def test_missing_namespace_fails_before_any_write(cluster):
    with pytest.raises(labels.LabelError, match="Namespace nowhere doesn't exist"):
        install(cluster, enroll_namespaces=["bookinfo", "nowhere"])
    with pytest.raises(labels.LabelError, match="namespace gone, where the record"):
        install(cluster, namespace="gone")
    assert cluster.writes() == []


def test_waits_for_the_waypoint_before_enrolling(cluster, monkeypatch):
    order = []
    monkeypatch.setattr(lifecycle, "wait_for", lambda _c, checks, _o: order.append(("wait", checks[0].ref)))
    original = labels.apply_labels
    monkeypatch.setattr(labels, "apply_labels", lambda *a: order.append(("label",)) or original(*a))
    install(cluster, enroll_namespaces=["bookinfo"])
    assert order == [("wait", gateway_ref()), ("label",)]


@pytest.mark.parametrize("status,ready", [
    (None, False),
    ({"conditions": [{"type": "Programmed", "status": "True"}]}, True),
    ({"conditions": [{"type": "Programmed", "status": "False", "reason": "Pending"}]}, False),
    ({"conditions": [{"type": "Programmed", "status": "True", "observedGeneration": 1}]}, False),
])
def test_programmed_condition(status, ready):
    gateway = {"metadata": {"generation": 2}}
    if status is not None:
        gateway["status"] = status
    assert waypoints.gateway_programmed(gateway)[0] is ready
    assert waypoints.gateway_programmed(None) == (False, "not found")


def test_waypoint_facts(cluster):
    install(cluster, enroll_namespaces=["bookinfo"])
    facts = waypoints.waypoint_facts(cluster)
    assert facts[0]["name"] == "waypoint" and facts[0]["ready"] is False
    assert facts[0]["enrolled"][0]["labels"] == {"istio.io/use-waypoint": "waypoint"}


# -- the labels unit (istio_labels) ------------------------------------------------------------------

KEY = UnitKey("labels", "ambient", "istio-system")


def test_label_sets_do_not_take_each_others_labels(cluster):
    ambient = labels.targets_from_params({"bookinfo": {"istio.io/dataplane-mode": "ambient"}}, [])
    labels.sync_labels(cluster, KEY, ambient, OPTIONS)
    install(cluster, enroll_namespaces=["bookinfo"])
    assert ns_labels(cluster, "bookinfo") == {"team": "a", "istio.io/dataplane-mode": "ambient",
                                              "istio.io/use-waypoint": "waypoint"}
    labels.remove_labelled_unit(cluster, KEY, OPTIONS)
    assert ns_labels(cluster, "bookinfo") == {"team": "a", "istio.io/use-waypoint": "waypoint"}


def test_labels_unit_labels_service_accounts_and_pods(cluster):
    wanted = labels.targets_from_params({}, [], service_accounts=[
        {"name": "reviews", "namespace": "bookinfo", "labels": {"istio.io/use-waypoint": "w"}}],
        pods=[{"name": "cart-0", "namespace": "shop", "labels": {"istio.io/use-waypoint": "w"}}])
    assert labels.sync_labels(cluster, KEY, wanted, OPTIONS).changed
    assert [obj["metadata"]["labels"] for obj in sa_and_pod(cluster)] == [{"istio.io/use-waypoint": "w"}] * 2
    cluster.reset_calls()
    assert not labels.sync_labels(cluster, KEY, wanted, OPTIONS).changed and cluster.writes() == []
    labels.remove_labelled_unit(cluster, KEY, OPTIONS)
    assert [obj["metadata"].get("labels") or {} for obj in sa_and_pod(cluster)] == [{}, {}]


def test_labels_unit_is_idempotent_and_prunes(cluster):
    wanted = labels.targets_from_params({"bookinfo": {"istio-discovery": True}, "default": {"x": 1}},
                                        [{"name": "reviews", "namespace": "bookinfo", "labels": {"tier": "b"}}])
    assert labels.sync_labels(cluster, KEY, wanted, OPTIONS).changed
    assert ns_labels(cluster, "bookinfo")["istio-discovery"] == "true"
    cluster.reset_calls()
    assert not labels.sync_labels(cluster, KEY, wanted, OPTIONS).changed
    assert cluster.writes() == []
    fewer = labels.targets_from_params({"bookinfo": {"istio-discovery": "true"}}, [])
    assert labels.sync_labels(cluster, KEY, fewer, OPTIONS).changed
    assert ns_labels(cluster, "default") == {"team": "a"}
    service = cluster.get(ObjectRef.of("v1", "Service", "reviews", "bookinfo"))
    assert not service["metadata"].get("labels")


@pytest.mark.parametrize("namespaces,message", [
    ({"bookinfo": {"bad key!": "x"}}, "not a valid label key"),
    ({"bookinfo": {"ok": "not valid!"}}, "not a valid label value"),
    ({"bookinfo": {"ok": "x" * 64}}, "at most 63"),
])
def test_bad_labels_are_refused(namespaces, message):
    with pytest.raises(labels.LabelError, match=message):
        labels.targets_from_params(namespaces, [])


def test_same_label_wanted_twice_with_two_values_is_an_error():
    with pytest.raises(labels.LabelError, match="wanted both"):
        labels.merge_targets([labels.LabelTarget(labels.namespace_ref("a"), {"k": "1"}),
                              labels.LabelTarget(labels.namespace_ref("a"), {"k": "2"})])


def test_field_manager_stays_within_the_api_limit():
    long_key = UnitKey("waypoint", "w" * 63, "n" * 63)
    assert len(labels.field_manager(long_key)) <= 128
    assert labels.field_manager(KEY) == "servicemesh.istio/labels/istio-system/ambient"
