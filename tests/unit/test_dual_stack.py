"""Dual-stack from one option: the values it sets, the user's values over them, and what the charts render."""
import json
import os

import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils import _istiovalues as istiovalues
from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.servicemesh.istio.plugins.module_utils._charts import ChartSource, ChartSourceOptions
from ansible_collections.servicemesh.istio.plugins.module_utils._components import (
    parse_components, render_component)
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import builtin_catalog
from ansible_collections.servicemesh.istio.plugins.module_utils._manifest import (
    ControlPlane, ManifestRenderer, plan_revision, tag_objects)
from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster import gateway
from ansible_collections.servicemesh.istio.plugins.module_utils.k8s._objects import ObjectRef
from tests.unit.k8s.fake_cluster import FakeCluster

CHARTS = os.path.join(os.path.dirname(__file__), "..", "fixtures", "charts")
BOTH = ["IPv4", "IPv6"]


@pytest.fixture(scope="module")
def renderer():
    return ManifestRenderer(ChartSource(ChartSourceOptions(chart_dir=CHARTS)))


def plan(**kwargs):
    return plan_revision(ControlPlane(version="v1.30.3", **kwargs), builtin_catalog())


def find(objects, kind, name):
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, "%s %s: %d found" % (kind, name, len(matches))
    return matches[0]


def env_of(deployment):
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value") for e in container.get("env") or []}


def mentions_dual_stack(objects):
    """What of dual-stack is anywhere in ``objects`` (the chart's empty defaults aside)."""
    text = json.dumps(objects)
    return [word for word in ("ISTIO_DUAL_STACK", "RequireDualStack", "IPv6") if word in text]


# -- the values ---------------------------------------------------------------------------------------

def test_control_plane_values_set_what_the_guide_sets():
    values = istiovalues.control_plane_values(None, {}, "istio-system", "", dual_stack=True)
    assert istiovalues.get_path(values, "pilot.env.ISTIO_DUAL_STACK") == "true"
    assert istiovalues.get_path(values, "meshConfig.defaultConfig.proxyMetadata.ISTIO_DUAL_STACK") == "true"
    assert istiovalues.get_path(values, "pilot.ipFamilyPolicy") == "RequireDualStack"
    assert istiovalues.get_path(values, "pilot.ipFamilies") == BOTH
    assert istiovalues.get_path(values, "global.ipFamilyPolicy") == "RequireDualStack"
    assert istiovalues.is_dual_stack(values)
    # the profile's own global values are still there
    assert values["global"]["configValidation"] is True


def test_without_the_option_no_dual_stack_key_is_set():
    values = istiovalues.control_plane_values(None, {}, "istio-system", "")
    assert mentions_dual_stack(values) == [] and not istiovalues.is_dual_stack(values)


def test_the_users_values_win_and_keep_the_rest():
    user = {"pilot": {"ipFamilyPolicy": "PreferDualStack", "env": {"PILOT_TRACE_SAMPLING": "5"}},
            "meshConfig": {"defaultConfig": {"proxyMetadata": {"ISTIO_DUAL_STACK": "false", "OTHER": "x"}}}}
    values = istiovalues.control_plane_values(None, user, "istio-system", "", dual_stack=True)
    assert values["pilot"]["ipFamilyPolicy"] == "PreferDualStack"
    assert values["pilot"]["ipFamilies"] == BOTH
    assert values["pilot"]["env"] == {"ISTIO_DUAL_STACK": "true", "PILOT_TRACE_SAMPLING": "5"}
    assert values["meshConfig"]["defaultConfig"]["proxyMetadata"] == {"ISTIO_DUAL_STACK": "false", "OTHER": "x"}


def test_the_values_are_fresh_copies():
    first = istiovalues.control_plane_dual_stack_values()
    first["pilot"]["ipFamilies"].append("IPv7")
    assert istiovalues.control_plane_dual_stack_values()["pilot"]["ipFamilies"] == BOTH
    assert istiovalues.gateway_dual_stack_values()["service"]["ipFamilies"] == BOTH


def test_gateway_values_layer_preset_then_dual_stack_then_user():
    request = gateway.GatewayRequest(preset="egress", dual_stack=True,
                                     values={"service": {"ipFamilies": ["IPv6", "IPv4"]}, "env": {"A": "b"}})
    values = request.merged_values()
    assert values["service"] == {"type": "ClusterIP", "ipFamilyPolicy": "RequireDualStack",
                                 "ipFamilies": ["IPv6", "IPv4"]}
    assert values["env"] == {"ISTIO_DUAL_STACK": "true", "A": "b"}
    assert mentions_dual_stack(gateway.GatewayRequest(preset="egress").merged_values()) == []


def test_the_option_reaches_the_plan_from_module_parameters():
    params = {"version": "v1.30.3", "dual_stack": True}
    assert ControlPlane.from_params(params).dual_stack is True
    assert ControlPlane.from_params({"version": "v1.30.3"}).dual_stack is False
    assert gateway.GatewayRequest.from_params({"dual_stack": True}).dual_stack is True


# -- what the charts render ----------------------------------------------------------------------------

def test_istiod_renders_dual_stack_and_not_once_turned_off(renderer):
    on = renderer.istiod(plan(name="blue", strategy="RevisionBased", dual_stack=True)).objects
    service = find(on, "Service", "istiod-blue-v1-30-3")
    assert service["spec"]["ipFamilyPolicy"] == "RequireDualStack" and service["spec"]["ipFamilies"] == BOTH
    assert env_of(find(on, "Deployment", "istiod-blue-v1-30-3"))["ISTIO_DUAL_STACK"] == "true"
    mesh = find(on, "ConfigMap", "istio-blue-v1-30-3")["data"]["mesh"]
    assert "ISTIO_DUAL_STACK" in mesh.split("proxyMetadata:")[1]

    off = renderer.istiod(plan(name="blue", strategy="RevisionBased")).objects
    assert mentions_dual_stack(off) == []
    assert {(o["kind"], o["metadata"]["name"]) for o in off} == {(o["kind"], o["metadata"]["name"]) for o in on}


def test_a_tags_service_follows_its_revision(renderer):
    tag = tag_objects(renderer, plan(dual_stack=True), "prod").objects
    assert find(tag, "Service", "istiod-revision-tag-prod")["spec"]["ipFamilyPolicy"] == "RequireDualStack"
    assert mentions_dual_stack(tag_objects(renderer, plan(), "prod").objects) == []


def test_a_remote_profiles_istiod_service(renderer):
    remote = {"global": {"remotePilotAddress": "10.0.0.1"}}
    objects = renderer.istiod(plan(profile="remote", values=remote, dual_stack=True)).objects
    assert find(objects, "Service", "istiod")["spec"]["ipFamilies"] == BOTH


def test_gateway_renders_dual_stack_and_not_once_turned_off(renderer):
    version = builtin_catalog().resolve("v1.30.3")
    on = gateway.render_gateway(renderer, version,
                                gateway.GatewayRequest(preset="eastwest", network="n1", dual_stack=True))[0]
    service = find(on.objects, "Service", "istio-eastwestgateway")
    assert service["spec"]["ipFamilyPolicy"] == "RequireDualStack" and service["spec"]["ipFamilies"] == BOTH
    assert [p["port"] for p in service["spec"]["ports"]] == [15021, 15443, 15012, 15017]
    assert env_of(find(on.objects, "Deployment", "istio-eastwestgateway"))["ISTIO_DUAL_STACK"] == "true"
    off = gateway.render_gateway(renderer, version, gateway.GatewayRequest(preset="eastwest", network="n1"))[0]
    assert mentions_dual_stack(off.objects) == []


def test_the_gateway_chart_refuses_a_family_it_does_not_know(renderer):
    version = builtin_catalog().resolve("v1.30.3")
    request = gateway.GatewayRequest(dual_stack=True, values={"service": {"ipFamilies": ["IPv5"]}})
    with pytest.raises(Exception, match="ipFamilies"):
        gateway.render_gateway(renderer, version, request)


def test_manifest_gateways_follow_a_dual_stack_revision_unless_told(renderer):
    dual = plan(dual_stack=True)
    follows, told = parse_components([{"component": "gateway"}, {"component": "gateway", "dual_stack": False}])
    service = find(render_component(renderer, dual, follows).objects, "Service", "istio-ingressgateway")
    assert service["spec"]["ipFamilyPolicy"] == "RequireDualStack"
    assert mentions_dual_stack(render_component(renderer, dual, told).objects) == []
    assert mentions_dual_stack(render_component(renderer, plan(), follows).objects) == []


def test_a_dual_stack_flag_that_is_not_a_boolean_is_refused():
    with pytest.raises(Exception, match="dual_stack must be a boolean"):
        parse_components([{"component": "gateway", "dual_stack": "yes"}])


# -- on a cluster (the in-memory stand-in): check mode with a diff, a second run writing nothing, removal -----

@pytest.fixture
def cluster():
    fake = FakeCluster()
    fake.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system", "labels": {}}})
    return fake


def service_spec(cluster, name):
    return cluster.get(ObjectRef.of("v1", "Service", name, "istio-system"))["spec"]


def install_revision(cluster, renderer, check_mode=False, **kwargs):
    control_plane = ControlPlane(version="v1.30.3", **kwargs)
    options = lifecycle.Options(wait=False, check_mode=check_mode)
    return lifecycle.install_revision(cluster, renderer, control_plane,
                                      plan_revision(control_plane, builtin_catalog()), options)


def install_gateway(cluster, renderer, check_mode=False, **kwargs):
    options = lifecycle.Options(wait=False, check_mode=check_mode)
    return gateway.install_gateway(cluster, renderer, builtin_catalog().resolve("v1.30.3"),
                                   gateway.GatewayRequest(**kwargs), options)


def test_a_revision_turns_dual_stack_on_and_off_in_place(cluster, renderer):
    install_revision(cluster, renderer)
    assert "ipFamilyPolicy" not in service_spec(cluster, "istiod")

    checked = install_revision(cluster, renderer, check_mode=True, dual_stack=True)
    assert checked.changed and "RequireDualStack" in json.dumps(checked.diff()["after"])
    assert "ipFamilyPolicy" not in service_spec(cluster, "istiod")  # check mode wrote nothing

    assert install_revision(cluster, renderer, dual_stack=True).changed
    assert service_spec(cluster, "istiod")["ipFamilies"] == BOTH
    cluster.reset_calls()
    assert not install_revision(cluster, renderer, dual_stack=True).changed and cluster.writes() == []

    assert install_revision(cluster, renderer).changed
    assert "ipFamilyPolicy" not in service_spec(cluster, "istiod")


def test_a_gateway_turns_dual_stack_on_and_off(cluster, renderer):
    install_gateway(cluster, renderer, dual_stack=True)
    assert service_spec(cluster, "istio-ingressgateway")["ipFamilyPolicy"] == "RequireDualStack"
    cluster.reset_calls()
    assert not install_gateway(cluster, renderer, dual_stack=True).changed and cluster.writes() == []
    checked = install_gateway(cluster, renderer, check_mode=True)
    assert checked.changed and "RequireDualStack" in json.dumps(checked.diff()["before"])
    assert install_gateway(cluster, renderer).changed
    assert "ipFamilyPolicy" not in service_spec(cluster, "istio-ingressgateway")
