"""IstioOperator resources (tests/fixtures/istio_operator, written for these tests) as the collection's inputs,
and those inputs rendered with the fixture charts."""
import os

import pytest
import yaml

from ansible_collections.servicemesh.istio.plugins.module_utils import _istiooperator as iop
from ansible_collections.servicemesh.istio.plugins.module_utils._charts import ChartSource, ChartSourceOptions
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import ValuesError
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import builtin_catalog
from ansible_collections.servicemesh.istio.plugins.module_utils._manifest import (
    ControlPlane, ManifestRenderer, plan_revision)
from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster import gateway

HERE = os.path.dirname(__file__)
EXAMPLES = os.path.join(HERE, "..", "fixtures", "istio_operator")
CHARTS = os.path.join(HERE, "..", "fixtures", "charts")


def example(name):
    with open(os.path.join(EXAMPLES, name + ".yaml")) as handle:
        return yaml.safe_load(handle)


def converted(name):
    return iop.convert(example(name))


def paths(result):
    return [item["path"] for item in result["unmapped"]]


def by_name(result):
    return {gw["name"]: gw for gw in result["gateways"]}


@pytest.fixture(scope="module")
def renderer():
    return ManifestRenderer(ChartSource(ChartSourceOptions(chart_dir=CHARTS)))


# -- conversion ------------------------------------------------------------------------------------------

def test_minimal_is_the_default_profile_without_gateways():
    result = converted("minimal")
    assert (result["name"], result["namespace"], result["profile"], result["revision"]) == \
        ("default", "istio-system", "default", None)
    assert result["values"] == {} and result["gateways"] == [] and result["unmapped"] == []
    assert result["control_plane"] and result["install_crds"]
    assert result["cni"] is None and result["ztunnel"] is None


def test_istioctls_default_profile_brings_its_ingress_gateway():
    result = iop.convert({"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator",
                          "metadata": {"namespace": "mesh"}})
    assert [(g["name"], g["namespace"], g["preset"]) for g in result["gateways"]] == \
        [("istio-ingressgateway", "mesh", "ingress")]
    demo = iop.convert({"kind": "IstioOperator", "spec": {"profile": "demo"}})
    assert demo["profile"] == "demo"
    assert sorted(g["preset"] for g in demo["gateways"]) == ["egress", "ingress"]


def test_pilot_k8s_settings_become_istiod_chart_values():
    result = converted("pilot-k8s")
    assert (result["name"], result["revision"], result["namespace"]) == ("canary", "canary", "istio-cp")
    pilot = result["values"]["pilot"]
    assert pilot["resources"] == {"requests": {"cpu": "750m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "3Gi"}}
    assert (pilot["replicaCount"], pilot["autoscaleEnabled"]) == (3, False)
    # env values are strings (an int in the resource too); valueFrom entries are the chart's envVarFrom
    assert pilot["env"] == {"PILOT_ENABLE_STATUS": "true", "PILOT_PUSH_THROTTLE": "200"}
    assert pilot["envVarFrom"] == [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]
    assert pilot["nodeSelector"] == {"node-role.kubernetes.io/infra": ""}
    assert pilot["tolerations"][0]["key"] == "infra"
    assert "podAntiAffinity" in pilot["affinity"]
    assert pilot["podAnnotations"] == {"example.com/team": "mesh"}
    assert pilot["pdb"] == {"maxUnavailable": 1}
    assert (pilot["rollingMaxSurge"], pilot["rollingMaxUnavailable"]) == (1, 0)
    assert pilot["ipFamilyPolicy"] == "PreferDualStack"
    assert result["values"]["global"] == {"hub": "mirror.example.com/istio", "tag": "1.30.3"}
    assert result["unmapped"] == []


def test_overlays_and_settings_without_a_key_are_all_listed():
    result = converted("overlays")
    assert paths(result) == [
        "spec.installPackagePath",
        "spec.values.global.istioNamespace",
        "spec.values.defaultRevision",
        "spec.components.pilot.k8s.imagePullPolicy",
        "spec.components.pilot.k8s.readinessProbe",
        "spec.components.pilot.k8s.hpaSpec.metrics[0]",
        "spec.components.pilot.k8s.overlays[0]",
        "spec.components.pilot.k8s.overlays[1]",
        "spec.components.pilot.k8s.replicaCount",
        "spec.components.base.k8s",
    ]
    reasons = {item["path"]: item["reason"] for item in result["unmapped"]}
    assert "Deployment istiod" in reasons["spec.components.pilot.k8s.overlays[0]"]
    assert "Service istiod" in reasons["spec.components.pilot.k8s.overlays[1]"]
    # what maps is still there: the HPA's bounds, the namespace from spec.namespace
    assert result["values"] == {"pilot": {"autoscaleEnabled": True, "autoscaleMin": 2, "autoscaleMax": 4}}
    assert result["namespace"] == "istio-system"
    # the empty profile with pilot enabled: istiod, over istioctl's default values
    assert result["control_plane"] and result["profile"] == "default" and result["gateways"] == []


def test_strict_mode_names_every_unmapped_field_in_one_message():
    result = converted("overlays")
    with pytest.raises(ValuesError) as error:
        iop.require_all_mapped(result)
    message = str(error.value)
    assert message.startswith("10 field(s) of the IstioOperator have no equivalent")
    for path in paths(result):
        assert path in message
    iop.require_all_mapped(converted("minimal"))  # nothing to say


def test_gateways_become_istio_gateway_inputs():
    result = converted("gateways")
    gateways = by_name(result)
    assert sorted(gateways) == ["istio-egressgateway", "istio-ingressgateway", "partner-gateway"]
    ingress = gateways["istio-ingressgateway"]
    assert (ingress["namespace"], ingress["preset"], ingress["revision"]) == ("istio-system", "ingress", None)
    values = ingress["values"]
    assert values["labels"] == {"team": "edge"}
    assert values["service"]["annotations"] == {"service.beta.kubernetes.io/aws-load-balancer-internal": "true"}
    assert values["service"]["loadBalancerSourceRanges"] == ["10.0.0.0/8"]
    assert [p["port"] for p in values["service"]["ports"]] == [15021, 443]
    # the component's HPA wins over the legacy values for the same gateway kind
    assert values["autoscaling"] == {"enabled": True, "minReplicas": 2, "maxReplicas": 6,
                                     "targetCPUUtilizationPercentage": 60}
    assert values["env"] == {"ISTIO_META_ROUTER_MODE": "sni-dnat"}
    partner = gateways["partner-gateway"]
    assert partner["namespace"] == "partners"
    assert partner["values"] == {"autoscaling": {"enabled": False, "maxReplicas": 8}, "replicaCount": 2}
    egress = gateways["istio-egressgateway"]
    assert egress["preset"] == "egress"
    assert egress["values"] == {"podAnnotations": {"sidecar.istio.io/logLevel": "debug"}}
    assert paths(result) == [
        "spec.values.gateways.istio-ingressgateway.runAsRoot",
        "spec.components.ingressGateways[0].k8s.service.sessionAffinity",
        "spec.components.ingressGateways[1].k8s.overlays[0]",
        "spec.components.ingressGateways[1].hub",
    ]
    # the legacy values' gateway-injection template is what the gateway chart does anyway: not listed
    assert "gateways" not in result["values"]


def test_mesh_config_values_and_node_agents():
    result = converted("mesh-values")
    values = result["values"]
    assert result["profile"] == "ambient"
    # spec.meshConfig over values.meshConfig, as istioctl merges them
    assert values["meshConfig"] == {"accessLogFile": "/dev/stdout", "enableTracing": True,
                                    "defaultConfig": {"proxyMetadata": {"ISTIO_META_DNS_CAPTURE": "true"}}}
    assert values["pilot"]["traceSampling"] == 0.1
    assert values["pilot"]["env"] == {"CUSTOM_FLAG": "on"}  # from unvalidatedValues
    assert values["pilot"]["cni"] == {"enabled": True}
    assert values["compatibilityVersion"] == "1.29"
    assert values["global"] == {"logging": {"level": "default:info"}}  # istioNamespace is the namespace input
    assert "cni" not in values and "ztunnel" not in values
    assert result["cni"] == {"namespace": "istio-cni", "values": {"cni": {"excludeNamespaces": ["kube-system"]},
                                                                  "resources": {"requests": {"cpu": "50m"}}}}
    assert result["ztunnel"] == {"namespace": "ztunnel", "values": {"ztunnel": {"logLevel": "debug"}}}
    assert result["gateways"] == [] and result["unmapped"] == []


def test_the_users_values_win_over_the_top_level_fields():
    result = iop.convert({"kind": "IstioOperator", "spec": {"profile": "minimal", "hub": "a.example", "tag": 1,
                                                            "values": {"global": {"hub": "b.example"}}}})
    assert result["values"]["global"] == {"hub": "b.example", "tag": "1"}


def test_the_deprecated_cni_usage_values_become_pilot_cni():
    result = iop.convert({"kind": "IstioOperator", "spec": {"profile": "minimal", "values": {
        "istio_cni": {"enabled": True, "chained": False}}}})
    assert result["values"] == {"pilot": {"cni": {"enabled": True}}}
    assert paths(result) == ["spec.values.istio_cni.chained"]


def test_node_agent_values_without_the_agent_are_listed():
    result = iop.convert({"kind": "IstioOperator", "spec": {"profile": "minimal",
                                                            "values": {"cni": {"chained": False}}}})
    assert paths(result) == ["spec.values.cni"] and result["cni"] is None


@pytest.mark.parametrize("resource, message", [
    ("not a mapping", "must be a mapping"),
    ({"kind": "Istio", "spec": {}}, "expected kind IstioOperator"),
    ({"apiVersion": "sailoperator.io/v1", "kind": "IstioOperator"}, "expected apiVersion"),
    ({"kind": "IstioOperator", "spec": {"components": {"pilot": {"k8s": {"env": [{"value": "x"}]}}}}}, "has no name"),
    ({"kind": "IstioOperator", "spec": {"components": {"ingressGateways": {"name": "x"}}}}, "must be a list"),
])
def test_malformed_resources_are_refused(resource, message):
    with pytest.raises(ValuesError, match=message):
        iop.convert(resource)


# -- the converted inputs, rendered ------------------------------------------------------------------------

def plan_for(result, strategy="InPlace"):
    control_plane = ControlPlane(name=result["name"], version="v1.30.3", namespace=result["namespace"],
                                 profile=result["profile"], values=result["values"], revision=result["revision"],
                                 strategy=strategy)
    return plan_revision(control_plane, builtin_catalog())


def find(objects, kind, name):
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, "%s %s: %d found in %s" % (kind, name, len(matches),
                                                         sorted((o["kind"], o["metadata"]["name"]) for o in objects))
    return matches[0]


def test_a_converted_istiod_renders_its_k8s_settings(renderer):
    result = converted("pilot-k8s")
    objects = renderer.istiod(plan_for(result)).objects
    deployment = find(objects, "Deployment", "istiod-canary")
    assert deployment["metadata"]["namespace"] == "istio-cp"
    assert deployment["spec"]["replicas"] == 3
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["resources"]["limits"] == {"cpu": "2", "memory": "3Gi"}
    assert container["image"] == "mirror.example.com/istio/pilot:1.30.3"
    env = {item["name"]: item for item in container["env"]}
    assert env["PILOT_ENABLE_STATUS"]["value"] == "true" and env["PILOT_PUSH_THROTTLE"]["value"] == "200"
    assert env["NODE_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}
    assert pod["nodeSelector"] == {"node-role.kubernetes.io/infra": ""} and pod["tolerations"][0]["key"] == "infra"
    assert not [o for o in objects if o["kind"] == "HorizontalPodAutoscaler"]
    pdb = find(objects, "PodDisruptionBudget", "istiod-canary")["spec"]
    assert pdb["maxUnavailable"] == 1 and "minAvailable" not in pdb
    assert find(objects, "Service", "istiod-canary")["spec"]["ipFamilyPolicy"] == "PreferDualStack"


def test_a_converted_mesh_config_reaches_istiods_mesh(renderer):
    result = converted("mesh-values")
    objects = renderer.istiod(plan_for(result)).objects
    mesh = yaml.safe_load(find(objects, "ConfigMap", "istio")["data"]["mesh"])
    assert mesh["accessLogFile"] == "/dev/stdout" and mesh["enableTracing"] is True
    # the resource's proxy metadata beside the ambient profile's own
    assert mesh["defaultConfig"]["proxyMetadata"] == {"ISTIO_META_DNS_CAPTURE": "true",
                                                      "ISTIO_META_ENABLE_HBONE": "true"}
    env = {e["name"]: e.get("value") for e in find(objects, "Deployment", "istiod")["spec"]["template"]["spec"]
           ["containers"][0]["env"]}
    assert env["CUSTOM_FLAG"] == "on" and env["PILOT_TRACE_SAMPLING"] == "0.1"


def test_converted_gateways_render_through_istio_gateway(renderer):
    version = builtin_catalog().resolve("v1.30.3")
    rendered = {}
    for item in converted("gateways")["gateways"]:
        request = gateway.GatewayRequest.from_params(item)
        rendered[item["name"]] = gateway.render_gateway(renderer, version, request)[0].objects
    ingress = rendered["istio-ingressgateway"]
    service = find(ingress, "Service", "istio-ingressgateway")
    assert service["metadata"]["annotations"] == {"service.beta.kubernetes.io/aws-load-balancer-internal": "true"}
    assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(15021, 15021), (443, 8443)]
    assert service["spec"]["loadBalancerSourceRanges"] == ["10.0.0.0/8"]
    assert service["metadata"]["labels"]["team"] == "edge"
    hpa = find(ingress, "HorizontalPodAutoscaler", "istio-ingressgateway")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 6)
    container = find(ingress, "Deployment", "istio-ingressgateway")["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["requests"] == {"cpu": "200m", "memory": "256Mi"}
    assert {"name": "ISTIO_META_ROUTER_MODE", "value": "sni-dnat"} in container["env"]

    partner = find(rendered["partner-gateway"], "Deployment", "partner-gateway")
    assert partner["metadata"]["namespace"] == "partners" and partner["spec"]["replicas"] == 2
    assert not [o for o in rendered["partner-gateway"] if o["kind"] == "HorizontalPodAutoscaler"]

    egress = rendered["istio-egressgateway"]
    assert find(egress, "Service", "istio-egressgateway")["spec"]["type"] == "ClusterIP"
    annotations = find(egress, "Deployment", "istio-egressgateway")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["sidecar.istio.io/logLevel"] == "debug"


# -- the filter ------------------------------------------------------------------------------------------

def test_the_filter_takes_yaml_text_and_fails_in_strict_mode():
    from ansible.errors import AnsibleFilterError
    from ansible_collections.servicemesh.istio.plugins.filter.from_istio_operator import (
        FilterModule, from_istio_operator)
    assert FilterModule().filters()["from_istio_operator"] is from_istio_operator
    with open(os.path.join(EXAMPLES, "overlays.yaml")) as handle:
        text = handle.read()
    assert from_istio_operator(text) == iop.convert(yaml.safe_load(text))
    with pytest.raises(AnsibleFilterError, match="from_istio_operator: 10 field.*spec.components.base.k8s"):
        from_istio_operator(text, strict=True)
    assert from_istio_operator(example("minimal"), strict=True)["unmapped"] == []
    with pytest.raises(AnsibleFilterError, match="expected one IstioOperator document, got 2"):
        from_istio_operator(text + "\n---\n" + text)
    with pytest.raises(AnsibleFilterError, match="expected kind IstioOperator"):
        from_istio_operator("kind: Istio\n")


def test_converted_node_agents_render_through_their_charts(renderer):
    result = converted("mesh-values")
    plan = plan_for(result)
    cni = renderer.cni(plan.version, result["cni"]["namespace"], result["profile"], result["cni"]["values"])
    daemonset = find(cni.objects, "DaemonSet", "istio-cni-node")
    assert daemonset["metadata"]["namespace"] == "istio-cni"
    assert daemonset["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] == "50m"
    assert find(cni.objects, "ConfigMap", "istio-cni-config")["data"]["EXCLUDE_NAMESPACES"] == "kube-system"
    ztunnel = renderer.ztunnel(plan.version, result["ztunnel"]["namespace"], result["ztunnel"]["values"],
                               revision_values=plan.values)
    container = find(ztunnel.objects, "DaemonSet", "ztunnel")["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "RUST_LOG", "value": "debug"} in container["env"]
