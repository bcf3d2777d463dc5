"""Rendering every component from the fixture charts through the collection's layer."""
import os

import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils._charts import ChartSource, ChartSourceOptions
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError, ValuesError
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import builtin_catalog
from ansible_collections.servicemesh.istio.plugins.module_utils._manifest import (
    ControlPlane, ManifestRenderer, parse_components, plan_revision, render_component)

CHARTS = os.path.join(os.path.dirname(__file__), "..", "fixtures", "charts")


@pytest.fixture(scope="module")
def renderer():
    return ManifestRenderer(ChartSource(ChartSourceOptions(chart_dir=CHARTS)))


def plan(**kwargs):
    return plan_revision(ControlPlane(**kwargs), builtin_catalog())


def names(rendered, kind=None):
    return sorted(o["metadata"]["name"] for o in rendered.objects if kind is None or o["kind"] == kind)


def find(rendered, kind, name):
    matches = [o for o in rendered.objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert matches, "%s %s not in %s" % (kind, name, names(rendered))
    return matches[0]


def test_revision_based_default_names_match_the_reference(renderer):
    p = plan(name="default", version="v1.30.3", strategy="RevisionBased")
    assert p.name == "default-v1-30-3" and p.helm_revision == "default-v1-30-3"
    istiod = renderer.istiod(p)
    assert names(istiod, "Deployment") == ["istiod-default-v1-30-3"]
    assert names(istiod, "MutatingWebhookConfiguration") == ["istio-sidecar-injector-default-v1-30-3"]
    assert names(istiod, "ValidatingWebhookConfiguration") == ["istio-validator-default-v1-30-3-istio-system"]
    assert "istio-sidecar-injector-default-v1-30-3" in names(istiod, "ConfigMap")
    assert "istio-default-v1-30-3" in names(istiod, "ConfigMap")
    assert istiod.release_name == "default-v1-30-3-istiod" and istiod.version == "1.30.3"


def test_in_place_default_has_no_suffix_and_base_owns_the_validator(renderer):
    p = plan(name="default", version="v1.30.3")
    assert p.helm_revision == "" and p.values["revision"] == ""
    assert names(renderer.istiod(p), "Deployment") == ["istiod"]
    base = renderer.base(p, default_revision="default")
    validator = find(base, "ValidatingWebhookConfiguration", "istiod-default-validator")
    assert validator["webhooks"][0]["clientConfig"]["service"]["name"] == "istiod"
    assert len(names(base, "CustomResourceDefinition")) == 3


def test_revision_based_base_has_crds_but_no_validator(renderer):
    p = plan(name="default", version="v1.30.3", strategy="RevisionBased")
    rendered = render_component(renderer, p, parse_components(["base"])[0])
    assert names(rendered, "ValidatingWebhookConfiguration") == []
    assert len(names(rendered, "CustomResourceDefinition")) == 3
    no_crds = renderer.base(p, include_crds=False, default_revision=p.name)
    assert names(no_crds, "CustomResourceDefinition") == []
    validator = find(no_crds, "ValidatingWebhookConfiguration", "istiod-default-validator")
    assert validator["webhooks"][0]["clientConfig"]["service"]["name"] == "istiod-default-v1-30-3"


def test_namespace_other_than_istio_system_suffixes_webhooks(renderer):
    p = plan(name="blue", version="v1.30.3", namespace="istio-blue")
    istiod = renderer.istiod(p)
    assert names(istiod, "MutatingWebhookConfiguration") == ["istio-sidecar-injector-blue-istio-blue"]
    assert find(istiod, "Deployment", "istiod-blue")["metadata"]["namespace"] == "istio-blue"
    tag = renderer.revision_tag(p, "prod")
    assert names(tag, "MutatingWebhookConfiguration") == ["istio-revision-tag-prod-istio-blue"]


def test_revision_tag_renders_only_the_tag_objects(renderer):
    p = plan(name="default", version="v1.30.3", strategy="RevisionBased")
    tag = renderer.revision_tag(p, "default")
    assert [(o["kind"], o["metadata"]["name"]) for o in tag.objects] == [
        ("MutatingWebhookConfiguration", "istio-revision-tag-default"), ("Service", "istiod-revision-tag-default")]
    selectors = [w["namespaceSelector"] for w in tag.objects[0]["webhooks"]]
    assert any(e.get("key") == "istio-injection" for s in selectors for e in s.get("matchExpressions", []))


def test_tags_never_point_at_remote_revisions(renderer):
    p = plan(name="remote", version="v1.30.3", profile="remote")
    with pytest.raises(ValuesError, match="remote revision"):
        renderer.revision_tag(p, "default")


def test_remote_profile_renders_no_istiod_deployment(renderer):
    p = plan(name="default", version="v1.30.3", profile="remote",
             values={"global": {"remotePilotAddress": "10.0.0.1"}})
    istiod = renderer.istiod(p)
    assert names(istiod, "Deployment") == []
    assert "MutatingWebhookConfiguration" in {o["kind"] for o in istiod.objects}


def test_ambient_profile_reaches_the_chart(renderer):
    p = plan(name="default", version="v1.30.3", profile="ambient")
    deployment = find(renderer.istiod(p), "Deployment", "istiod")
    env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["PILOT_ENABLE_AMBIENT"] == "true"


def discovery_env(rendered):
    return find(rendered, "Deployment", "istiod")["spec"]["template"]["spec"]["containers"][0]["env"]


@pytest.mark.parametrize("version", ["v1.29.6", "v1.30.3"])
def test_pilot_env_repeating_a_chart_variable_renders_it_once(renderer, version):
    # Like upstream, the chart renders pilot.env and then its own PILOT_TRACE_SAMPLING (from traceSampling);
    # server-side apply refuses the pair. One entry is left, where pilot.env put it, holding what the kubelet
    # runs: the later, the chart's.
    env = discovery_env(renderer.istiod(plan(version=version, values={"pilot": {"env": {
        "PILOT_TRACE_SAMPLING": "50"}}})))
    names = [e["name"] for e in env]
    assert names == ["REVISION", "POD_NAMESPACE", "CA_TRUSTED_NODE_ACCOUNTS", "PILOT_TRACE_SAMPLING",
                     "CLUSTER_ID", "PLATFORM"]
    assert env[3] == {"name": "PILOT_TRACE_SAMPLING", "value": "1"}
    # the chart's own key is what sets it
    env = discovery_env(renderer.istiod(plan(version=version, values={"pilot": {
        "env": {"PILOT_TRACE_SAMPLING": "50"}, "traceSampling": 50}})))
    assert [e for e in env if e["name"] == "PILOT_TRACE_SAMPLING"] == [{"name": "PILOT_TRACE_SAMPLING", "value": "50"}]
    # a pilot.env entry the chart renders before its own loses nothing: the user's is the later one
    env = discovery_env(renderer.istiod(plan(version=version, values={"pilot": {"env": {"POD_NAMESPACE": "x"}}})))
    assert [e for e in env if e["name"] == "POD_NAMESPACE"] == [{"name": "POD_NAMESPACE", "value": "x"}]


def test_upgrade_render_leaves_validator_failure_policy_to_istiod(renderer):
    p = plan(name="default", version="v1.30.3")
    fresh = find(renderer.istiod(p), "ValidatingWebhookConfiguration", "istio-validator-istio-system")
    upgrade = find(renderer.istiod(p, is_upgrade=True), "ValidatingWebhookConfiguration", "istio-validator-istio-system")
    assert fresh["webhooks"][0]["failurePolicy"] == "Ignore"
    assert "failurePolicy" not in upgrade["webhooks"][0]


def test_injection_templates_survive_verbatim(renderer):
    p = plan(name="default", version="v1.30.3")
    injector = find(renderer.istiod(p), "ConfigMap", "istio-sidecar-injector")
    assert "{{" in injector["data"]["config"] and ".Values.global.proxy" in injector["data"]["config"]


def test_render_order_is_stable(renderer):
    p = plan(name="default", version="v1.30.3")
    first = [(o["kind"], o["metadata"]["name"]) for o in renderer.istiod(p).objects]
    assert first == [(o["kind"], o["metadata"]["name"]) for o in renderer.istiod(p).objects]


def test_older_chart_renders_an_object_the_newer_drops(renderer):
    old = names(renderer.istiod(plan(name="default", version="v1.29.6")))
    new = names(renderer.istiod(plan(name="default", version="v1.30.3")))
    assert set(old) - set(new)


def test_cni_ztunnel_gateway(renderer):
    p = plan(name="default", version="v1.30.3", profile="ambient")
    cni = render_component(renderer, p, {"component": "cni"})
    assert find(cni, "DaemonSet", "istio-cni-node")["metadata"]["namespace"] == "istio-cni"
    zt = render_component(renderer, p, {"component": "ztunnel"})
    assert find(zt, "DaemonSet", "ztunnel")["metadata"]["namespace"] == "ztunnel"
    gw = render_component(renderer, p, {"component": "gateway", "name": "eastwest", "namespace": "istio-system"})
    assert find(gw, "Deployment", "eastwest")


def test_gateway_schema_rejects_unknown_keys(renderer):
    p = plan(name="default", version="v1.30.3")
    with pytest.raises(ValuesError, match="gateway"):
        render_component(renderer, p, {"component": "gateway", "values": {"bogusKey": 1}})


def test_unknown_chart_profile_fails_before_render(renderer):
    with pytest.raises(ValuesError, match="not a chart profile"):
        plan(name="default", version="v1.30.3", values={"profile": "minimal"})


def test_missing_version_in_mirror_is_a_clear_error(renderer):
    p = plan(name="default", version="v1.30.1")
    with pytest.raises(IstioError, match="chart istiod 1.30.1 is not in chart_dir"):
        renderer.istiod(p)


def test_unknown_component_entry():
    with pytest.raises(ValuesError, match="component 'pilot'"):
        parse_components(["pilot"])
    with pytest.raises(ValuesError, match="unknown keys colour"):
        parse_components([{"component": "istiod", "colour": "blue"}])
