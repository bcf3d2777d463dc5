"""Rendering every component from the fixture charts through the collection's layer."""
import os

import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils._charts import ChartSource, ChartSourceOptions
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError, ValuesError
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import builtin_catalog
from ansible_collections.servicemesh.istio.plugins.module_utils._components import (
    parse_components, render_component)
from ansible_collections.servicemesh.istio.plugins.module_utils._manifest import (
    ControlPlane, ManifestRenderer, plan_revision)

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
    # each component takes its own keys only
    with pytest.raises(ValuesError, match="unknown keys preset; cni takes namespace, profile, values"):
        parse_components([{"component": "cni", "preset": "eastwest"}])
    with pytest.raises(ValuesError, match=r"components\[gateway\].expose_istiod must be a mapping, got True"):
        parse_components([{"component": "gateway", "expose_istiod": True}])
    with pytest.raises(ValuesError, match="expose_istiod has unknown keys port"):
        parse_components([{"component": "gateway", "expose_istiod": {"port": 15012}}])


# -- one render path per component: istio_manifest renders what the cluster modules apply ------------

def objects_of(rendered):
    return {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in rendered.objects}


def test_manifest_gateway_renders_the_ingress_preset_the_chart_defaults(renderer):
    p = plan(name="default", version="v1.30.3")
    gw = render_component(renderer, p, parse_components(["gateway"])[0])
    service = find(gw, "Service", "istio-ingressgateway")
    assert service["spec"]["ports"] == [
        {"name": "status-port", "port": 15021, "protocol": "TCP", "targetPort": 15021},
        {"name": "http2", "port": 80, "protocol": "TCP", "targetPort": 80},
        {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 443}]


def test_manifest_gateway_takes_the_cluster_modules_presets(renderer):
    p = plan(name="default", version="v1.30.3")
    entry = parse_components([{"component": "gateway", "preset": "eastwest", "network": "network1",
                               "expose_services": True}])[0]
    gw = render_component(renderer, p, entry)
    service = find(gw, "Service", "istio-eastwestgateway")
    assert [port["port"] for port in service["spec"]["ports"]] == [15021, 15443, 15012, 15017]
    assert service["metadata"]["labels"]["topology.istio.io/network"] == "network1"
    assert find(gw, "Gateway", "cross-network-gateway")["spec"]["selector"] == {"istio": "eastwestgateway"}


def test_manifest_default_tag_carries_the_default_validator_and_reader_account(renderer):
    p = plan(name="default", version="v1.30.3", strategy="RevisionBased")
    tag = render_component(renderer, p, parse_components([{"component": "revision_tag", "tag": "default"}])[0])
    validator = find(tag, "ValidatingWebhookConfiguration", "istiod-default-validator")
    assert validator["webhooks"][0]["clientConfig"]["service"]["name"] == "istiod-default-v1-30-3"
    assert find(tag, "ServiceAccount", "istio-reader-service-account")
    other = render_component(renderer, p, parse_components([{"component": "revision_tag", "tag": "prod"}])[0])
    assert names(other, "ValidatingWebhookConfiguration") == names(other, "ServiceAccount") == []


def test_manifest_base_of_a_revision_based_revision_is_its_crds_only(renderer):
    p = plan(name="default", version="v1.30.3", strategy="RevisionBased")
    base = render_component(renderer, p, parse_components(["base"])[0])
    assert {o["kind"] for o in base.objects} == {"CustomResourceDefinition"}
    no_crds = render_component(renderer, p, parse_components([{"component": "base", "include_crds": False}])[0])
    assert no_crds.objects == []


@pytest.mark.parametrize("component", ["istiod", "cni", "ztunnel"])
def test_users_empty_platform_reaches_every_chart(renderer, component):
    # "" chooses no platform: neither the platform option nor the openshift profile may replace it
    empty = {"global": {"platform": ""}}
    p = plan(name="default", version="v1.30.3", values=empty, platform="openshift")
    rendered = render_component(renderer, p, {"component": component, "values": empty}, platform="openshift")
    assert rendered.values["global"]["platform"] == ""
    if component == "istiod":
        env = {e["name"]: e.get("value") for e in discovery_env(rendered)}
        assert env["PLATFORM"] == ""
    if component == "cni":
        assert find(rendered, "ConfigMap", "istio-cni-config")["data"].get("CHAINED_CNI_PLUGIN") != "false"


OWNING_RESOURCE = "install.operator.istio.io/owning-resource"


def label_maps(value):
    """Every ``labels`` mapping anywhere in an object (its own, its pod template's, ...)."""
    if isinstance(value, dict):
        for key, child in value.items():
            if key == "labels" and isinstance(child, dict):
                yield child
            yield from label_maps(child)
    elif isinstance(value, list):
        for child in value:
            yield from label_maps(child)


def test_fixture_charts_carry_the_owning_resource_label_like_the_official_archives(renderer):
    p = plan(name="default", version="v1.30.3")
    location = renderer.source.locate("istiod", "1.30.3")
    raw = renderer.engine.render(location, p.values, "default-istiod", "istio-system")
    assert OWNING_RESOURCE in "".join(raw.values())


@pytest.mark.parametrize("entry", ["base", "istiod", "revision_tag", "cni", "ztunnel", "gateway"])
def test_owning_resource_label_is_stripped_from_every_component(renderer, entry):
    p = plan(name="default", version="v1.30.3", strategy="RevisionBased", profile="ambient")
    rendered = render_component(renderer, p, parse_components([entry])[0])
    assert rendered.objects
    assert [o["metadata"]["name"] for o in rendered.objects
            if any(OWNING_RESOURCE in labels for labels in label_maps(o))] == []


MIRROR = "mirror.example.com/istio"
AIR_GAPPED = """
versions:
  - name: v1.30.3
    version: 1.30.3
    images:
      pilot: {m}/pilot:1.30.3
      proxyv2: {m}/proxyv2:1.30.3
      install-cni: {m}/install-cni:1.30.3
      ztunnel: {m}/ztunnel:1.30.3
""".format(m=MIRROR)


def container_image(rendered, kind, name):
    return find(rendered, kind, name)["spec"]["template"]["spec"]["containers"][0]["image"]


def test_air_gapped_catalog_images_are_rendered(renderer):
    from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import VersionCatalog
    catalog = VersionCatalog.from_yaml(AIR_GAPPED, "air-gapped catalog")
    p = plan_revision(ControlPlane(version="v1.30.3", profile="ambient"), catalog)
    istiod = render_component(renderer, p, {"component": "istiod"})
    assert container_image(istiod, "Deployment", "istiod") == MIRROR + "/pilot:1.30.3"
    injected = find(istiod, "ConfigMap", "istio-sidecar-injector")["data"]["values"]
    assert MIRROR + "/proxyv2:1.30.3" in injected
    cni = render_component(renderer, p, {"component": "cni"})
    assert container_image(cni, "DaemonSet", "istio-cni-node") == MIRROR + "/install-cni:1.30.3"
    zt = render_component(renderer, p, {"component": "ztunnel"})
    assert container_image(zt, "DaemonSet", "ztunnel") == MIRROR + "/ztunnel:1.30.3"
    # the user's registry wins over the catalog's
    own = plan_revision(ControlPlane(version="v1.30.3", values={"global": {"hub": "my.registry/istio"}}), catalog)
    assert container_image(render_component(renderer, own, {"component": "istiod"}), "Deployment", "istiod") == \
        "my.registry/istio/pilot:1.30.3"


# -- both paths compared: what istio_manifest renders is what the cluster modules apply --------------

SERVER_FIELDS = ("managedFields", "uid", "resourceVersion")


def applied(fake, kind, name, namespace):
    """The objects a unit applied, as the stand-in stores them, without the fields a server adds."""
    from ansible_collections.servicemesh.istio.plugins.module_utils.k8s import _inventory as inventory
    record = inventory.load(fake, namespace, kind, name)
    assert record is not None, "no %s/%s record" % (kind, name)
    objects = []
    for entry in record.entries:
        obj = dict(fake.store[entry.ref])
        obj["metadata"] = {k: v for k, v in obj["metadata"].items() if k not in SERVER_FIELDS}
        obj.pop("status", None)
        objects.append(obj)
    return objects


def keyed(objects):
    return {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in objects}


def manifest(renderer, p, *entries):
    return [o for entry in parse_components(list(entries)) for o in render_component(renderer, p, entry).objects]


@pytest.mark.parametrize("strategy", ["InPlace", "RevisionBased"])
def test_every_component_renders_what_its_cluster_module_applies(renderer, strategy):
    from ansible_collections.servicemesh.istio.plugins.module_utils import _dataplane as dataplane
    from ansible_collections.servicemesh.istio.plugins.module_utils import _lifecycle as lifecycle
    from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster import gateway
    from tests.unit.k8s.fake_cluster import FakeCluster
    fake = FakeCluster()
    for namespace in ("istio-system", "istio-cni", "ztunnel"):
        fake.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    options = lifecycle.Options(wait=False)
    control_plane = ControlPlane(name="default", version="v1.30.3", strategy=strategy, profile="ambient")
    p = plan_revision(control_plane, builtin_catalog())

    lifecycle.install_revision(fake, renderer, control_plane, p, options)
    target = lifecycle.find_revision(fake, p.name)
    assert keyed(manifest(renderer, p, "base", "istiod")) == keyed(
        applied(fake, "crds", "istio", "istio-system") + applied(fake, "revision", p.name, "istio-system"))
    if strategy == "RevisionBased":
        lifecycle.install_tag(fake, renderer, builtin_catalog(), "default", target, options)
        assert keyed(manifest(renderer, p, "revision_tag")) == keyed(applied(fake, "tag", "default", "istio-system"))
    dataplane.install_cni(fake, renderer, p.version, "istio-cni", "ambient", None, "", options)
    assert keyed(manifest(renderer, p, "cni")) == keyed(applied(fake, "cni", "default", "istio-cni"))
    dataplane.install_ztunnel(fake, renderer, p.version, "ztunnel", None, "", options, followed=target)
    assert keyed(manifest(renderer, p, "ztunnel")) == keyed(applied(fake, "ztunnel", "default", "ztunnel"))
    for request, entry in [
            (gateway.GatewayRequest(revision=p.name), "gateway"),
            (gateway.GatewayRequest(revision=p.name, preset="eastwest", network="network1", expose_services=True),
             {"component": "gateway", "preset": "eastwest", "network": "network1", "expose_services": True})]:
        gateway.install_gateway(fake, renderer, p.version, request, options)
        assert keyed(manifest(renderer, p, entry)) == keyed(
            applied(fake, "gateway", request.gateway_name, "istio-system"))
