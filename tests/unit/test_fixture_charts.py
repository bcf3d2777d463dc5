"""Contract of the fixture charts in tests/fixtures/charts.

The fixture charts are our own small stand-ins for the official Istio charts (we never
copy Istio's charts or CRDs). They keep the upstream chart names, object names, labels
and values keys that our code depends on; their templates are our own short code.
Layout (same as the ``chart_dir`` option): ``<version>/<chart>/`` for versions
1.29.6, 1.30.2, 1.30.3 and charts base, istiod, cni, ztunnel, gateway.

These tests document what the fixtures render, so other tests can rely on it.
"""
import filecmp
import functools
import json
import os
import time

import pytest
import yaml

helm_python = pytest.importorskip("helm_python")

CHARTS_ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "charts")
VERSIONS = ["1.29.6", "1.30.2", "1.30.3"]
CHARTS = ["base", "istiod", "cni", "ztunnel", "gateway"]
LATEST = "1.30.3"

# kind abbreviations used in the expected object sets below
K = {
    "CR": "ClusterRole", "CRB": "ClusterRoleBinding", "CM": "ConfigMap", "CRD": "CustomResourceDefinition",
    "DS": "DaemonSet", "Deploy": "Deployment", "EPS": "EndpointSlice", "HPA": "HorizontalPodAutoscaler",
    "MWC": "MutatingWebhookConfiguration", "PDB": "PodDisruptionBudget", "RB": "RoleBinding", "Role": "Role",
    "SA": "ServiceAccount", "Svc": "Service", "VAP": "ValidatingAdmissionPolicy",
    "VAPB": "ValidatingAdmissionPolicyBinding", "VWC": "ValidatingWebhookConfiguration",
}


def objset(*items):
    """objset("Deploy istiod", ...) -> {("Deployment", "istiod"), ...}"""
    return {(K[kind], name) for kind, name in (item.split() for item in items)}


@functools.lru_cache(maxsize=None)
def load(version, chart):
    return helm_python.Chart.load(os.path.join(CHARTS_ROOT, version, chart))


def render_raw(chart, values=None, version=LATEST, name=None, namespace="istio-system", upgrade=False):
    return load(version, chart).render(
        values or {}, name=name or chart, namespace=namespace, is_install=not upgrade, is_upgrade=upgrade
    )


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def render(chart, values=None, **kwargs):
    """Render and parse: {(kind, name): object}. Fails on a duplicate (kind, name)."""
    objects = {}
    for text in render_raw(chart, values, **kwargs).values():
        for doc in yaml.load_all(text, Loader=_LOADER):
            if not doc:
                continue
            key = (doc["kind"], doc["metadata"]["name"])
            assert key not in objects, "duplicate object %s" % (key,)
            objects[key] = doc
    return objects


def deployment_env(objects, name="istiod"):
    container = objects[("Deployment", name)]["spec"]["template"]["spec"]["containers"][0]
    return container["env"]


def env_map(env):
    return {e["name"]: e.get("value") for e in env if "value" in e}


def webhook_names(mwc):
    return [w["name"] for w in mwc["webhooks"]]


ISTIOD_DEFAULT = objset(
    "Deploy istiod", "Svc istiod", "SA istiod", "HPA istiod", "Role istiod", "RB istiod",
    "CM istio", "CM istio-sidecar-injector", "CM values",
    "CR istiod-clusterrole-istio-system", "CRB istiod-clusterrole-istio-system",
    "CR istiod-gateway-controller-istio-system", "CRB istiod-gateway-controller-istio-system",
    "CR istio-reader-clusterrole-istio-system", "CRB istio-reader-clusterrole-istio-system",
    "MWC istio-sidecar-injector", "VWC istio-validator-istio-system",
)


# --------------------------------------------------------------------------- layout


def test_layout_versions_and_charts():
    assert sorted(os.listdir(CHARTS_ROOT)) == VERSIONS
    for version in VERSIONS:
        assert sorted(os.listdir(os.path.join(CHARTS_ROOT, version))) == sorted(CHARTS)
        for chart in CHARTS:
            with open(os.path.join(CHARTS_ROOT, version, chart, "Chart.yaml")) as f:
                meta = yaml.safe_load(f)
            assert (meta["name"], meta["version"], meta["appVersion"]) == (chart, version, version)
            assert load(version, chart).name == chart


def _tree(root):
    files = set()
    for dirpath, _unused, names in os.walk(root):
        for n in names:
            files.add(os.path.relpath(os.path.join(dirpath, n), root))
    return files


def test_versions_differ_only_in_documented_ways():
    """1.30.2 == 1.30.3 except the version; 1.29.6 adds the legacy ConfigMap and lacks compat 1.29."""
    legacy = "istiod/templates/legacy-configmap.yaml"
    compat = ["%s/files/profile-compatibility-version-1.29.yaml" % c for c in CHARTS]
    trees = {v: _tree(os.path.join(CHARTS_ROOT, v)) for v in VERSIONS}
    assert trees["1.30.2"] == trees["1.30.3"]
    assert trees["1.29.6"] - trees["1.30.3"] == {legacy}
    assert trees["1.30.3"] - trees["1.29.6"] == set(compat)
    for version in ("1.29.6", "1.30.2"):
        for rel in sorted(trees[version] & trees[LATEST]):
            a, b = os.path.join(CHARTS_ROOT, version, rel), os.path.join(CHARTS_ROOT, LATEST, rel)
            if rel.endswith("Chart.yaml"):
                with open(a) as fa, open(b) as fb:
                    assert fa.read().replace(version, LATEST) == fb.read()
            else:
                assert filecmp.cmp(a, b, shallow=False), rel


def test_charts_are_small_and_have_no_symlinks():
    for version in VERSIONS:
        for chart in CHARTS:
            root = os.path.join(CHARTS_ROOT, version, chart)
            size = 0
            for rel in _tree(root):
                path = os.path.join(root, rel)
                assert not os.path.islink(path), path
                size += os.path.getsize(path)
            assert size < 40 * 1024, (root, size)


# values keys our code relies on (defaults under _internal_defaults_do_not_set). The istiod
# and cni settings are top-level defaults like upstream; "pilot.X" / "cni.X" work via descoping.
VALUES_KEYS = {
    "base": ["defaultRevision", "profile", "compatibilityVersion", "global.istioNamespace", "global.resourceScope",
             "global.enableReaderRBAC", "base.enableCRDTemplates", "base.excludedCRDs",
             "experimental.stableValidationPolicy"],
    "istiod": ["revision", "revisionTags", "defaultRevision", "profile", "compatibilityVersion",
               "autoscaleEnabled", "autoscaleMin", "autoscaleMax", "replicaCount", "image", "env",
               "cni.enabled", "cni.provider", "trustedZtunnelNamespace", "resources", "configMap", "meshConfig",
               "sidecarInjectorWebhook.enableNamespacesByDefault", "istiodRemote.enabled",
               "istiodRemote.injectionPath", "istiodRemote.injectionURL", "telemetry.enabled",
               "experimental.stableValidationPolicy", "base", "gatewayClasses",
               "global.istioNamespace", "global.hub", "global.tag", "global.variant", "global.platform",
               "global.meshID", "global.multiCluster.clusterName", "global.multiCluster.enabled", "global.network",
               "global.remotePilotAddress", "global.externalIstiod", "global.configCluster",
               "global.configValidation", "global.operatorManageWebhooks", "global.omitSidecarInjectorConfigMap",
               "global.proxy.image", "global.proxy_init.image", "global.imagePullPolicy", "global.resourceScope"],
    "cni": ["cniBinDir", "cniConfDir", "chained", "provider", "ambient.enabled",
            "ambient.reconcileIptablesOnStartup", "repair.enabled", "profile", "global.hub", "global.platform"],
    "ztunnel": ["hub", "tag", "variant", "image", "resourceName", "revision", "istioNamespace", "logLevel",
                "updateStrategy", "terminationGracePeriodSeconds", "env", "multiCluster.clusterName", "global",
                "meshConfig"],
    "gateway": ["name", "labels", "service.type", "service.ports", "env", "networkGateway", "revision",
                "autoscaling.enabled", "autoscaling.minReplicas", "autoscaling.maxReplicas", "replicaCount"],
}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("chart", CHARTS)
def test_values_keys(version, chart):
    with open(os.path.join(CHARTS_ROOT, version, chart, "values.yaml")) as f:
        values = yaml.safe_load(f)
    assert list(values) == ["_internal_defaults_do_not_set"]
    for dotted in VALUES_KEYS[chart]:
        node = values["_internal_defaults_do_not_set"]
        for part in dotted.split("."):
            assert isinstance(node, dict) and part in node, (chart, dotted)
            node = node[part]
    assert "pilot" not in values["_internal_defaults_do_not_set"]


@pytest.mark.parametrize("chart", CHARTS)
def test_packaged_chart_renders_the_same_and_lints(chart, tmp_path):
    src = os.path.join(CHARTS_ROOT, "1.29.6", chart)
    archive = helm_python.package(src, destination=str(tmp_path))
    assert os.path.basename(archive) == "%s-1.29.6.tgz" % chart
    values = {"profile": "ambient"}
    packaged = helm_python.Chart.load(archive).render(values, name="x", namespace="istio-system", is_install=True)
    assert packaged == load("1.29.6", chart).render(values, name="x", namespace="istio-system", is_install=True)
    assert helm_python.lint(src, namespace="istio-system")["errors"] == []


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("chart", CHARTS)
def test_every_chart_renders_with_defaults(version, chart):
    objects = render(chart, version=version)
    assert objects
    for (kind, name), obj in objects.items():
        assert obj["apiVersion"] and kind and name


def test_rendering_is_fast():
    for chart in CHARTS:
        c = load(LATEST, chart)
        times = []
        for _unused in range(5):
            start = time.perf_counter()
            c.render({"profile": "ambient"}, name="x", namespace="istio-system", is_install=True)
            times.append(time.perf_counter() - start)
        assert sorted(times)[2] < 0.1, (chart, times)


def test_chart_objects_can_be_reused_without_leaking_values():
    c = load(LATEST, "istiod")
    c.render({"profile": "ambient", "pilot": {"env": {"LEAK": "1"}}}, name="a", namespace="istio-system")
    env = env_map(deployment_env(render("istiod")))
    assert "LEAK" not in env and "PILOT_ENABLE_AMBIENT" not in env


# --------------------------------------------------------------------------- versions


@pytest.mark.parametrize("version", VERSIONS)
def test_image_tags_follow_app_version(version):
    istiod = render("istiod", version=version)
    image = istiod[("Deployment", "istiod")]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "registry.istio.io/release/pilot:%s" % version
    cni = render("cni", version=version, namespace="istio-cni")
    assert cni[("DaemonSet", "istio-cni-node")]["spec"]["template"]["spec"]["containers"][0]["image"] == (
        "registry.istio.io/release/install-cni:%s" % version)
    zt = render("ztunnel", version=version, namespace="ztunnel")
    assert zt[("DaemonSet", "ztunnel")]["spec"]["template"]["spec"]["containers"][0]["image"] == (
        "registry.istio.io/release/ztunnel:%s" % version)


def test_image_overrides():
    def image(values):
        objs = render("istiod", values)
        return objs[("Deployment", "istiod")]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image({"global": {"hub": "quay.io/x", "tag": "9.9"}}) == "quay.io/x/pilot:9.9"
    assert image({"pilot": {"hub": "h", "tag": "t", "variant": "distroless"}}) == "h/pilot:t-distroless"
    assert image({"pilot": {"image": "reg/pilot@sha256:abc"}}) == "reg/pilot@sha256:abc"


def test_legacy_configmap_only_in_1_29():
    for rev, name in (("", "istio-legacy-config"), ("r1", "istio-legacy-config-r1")):
        old = render("istiod", {"revision": rev}, version="1.29.6")
        assert old[("ConfigMap", name)]["metadata"]["namespace"] == "istio-system"
        assert set(old) - set(render("istiod", {"revision": rev}, version="1.30.2")) == {("ConfigMap", name)}
    assert set(render("istiod", version="1.29.6")) == ISTIOD_DEFAULT | objset("CM istio-legacy-config")


# --------------------------------------------------------------------------- profiles


def test_istiod_default_object_set():
    assert set(render("istiod")) == ISTIOD_DEFAULT


def test_profile_ambient():
    istiod = render("istiod", {"profile": "ambient"})
    container = istiod[("Deployment", "istiod")]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.istio.io/release/pilot:1.30.3-distroless"
    assert env_map(container["env"])["PILOT_ENABLE_AMBIENT"] == "true"
    mesh = yaml.safe_load(istiod[("ConfigMap", "istio")]["data"]["mesh"])
    assert mesh["defaultConfig"]["proxyMetadata"]["ISTIO_META_ENABLE_HBONE"] == "true"
    assert mesh["trustDomain"] == "cluster.local"
    assert mesh["defaultConfig"]["discoveryAddress"] == "istiod.istio-system.svc:15012"

    # global.profile works as well as profile
    via_global = render("istiod", {"global": {"profile": "ambient"}})
    assert env_map(deployment_env(via_global))["PILOT_ENABLE_AMBIENT"] == "true"

    cni = render("cni", {"profile": "ambient"}, namespace="istio-cni")
    assert {("ClusterRole", "istio-cni-ambient"), ("ClusterRoleBinding", "istio-cni-ambient")} <= set(cni)
    ds = cni[("DaemonSet", "istio-cni-node")]["spec"]["template"]["spec"]["containers"][0]
    assert env_map(ds["env"])["AMBIENT_ENABLED"] == "true"
    assert cni[("ConfigMap", "istio-cni-config")]["data"]["AMBIENT_ENABLED"] == "true"

    zt = render("ztunnel", {"profile": "ambient"}, namespace="ztunnel")
    zc = zt[("DaemonSet", "ztunnel")]["spec"]["template"]["spec"]["containers"][0]
    assert zc["image"].endswith(":1.30.3-distroless")
    assert env_map(zc["env"])["ISTIO_META_ENABLE_HBONE"] == "true"


def test_profile_demo_preview_stable():
    demo = render("istiod", {"profile": "demo"})
    assert set(demo) == ISTIOD_DEFAULT - objset("HPA istiod")
    deploy = demo[("Deployment", "istiod")]
    assert deploy["spec"]["replicas"] == 1
    assert deploy["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "10m", "memory": "100Mi"}

    preview = render("istiod", {"profile": "preview"})
    mesh = yaml.safe_load(preview[("ConfigMap", "istio")]["data"]["mesh"])
    assert mesh["defaultConfig"]["proxyMetadata"] == {"ISTIO_META_DNS_CAPTURE": "true"}

    stable = render("istiod", {"profile": "stable", "revision": "r1"}, namespace="istio-system")
    assert set(stable) - set(render("istiod", {"revision": "r1"})) == {
        ("ValidatingAdmissionPolicy", "stable-channel-policy-r1-istio-system.istio.io"),
        ("ValidatingAdmissionPolicyBinding", "stable-channel-policy-binding-r1-istio-system.istio.io"),
    }
    base = render("base", {"profile": "stable"})
    assert {("ValidatingAdmissionPolicy", "stable-channel-default-policy.istio.io"),
            ("ValidatingAdmissionPolicyBinding", "stable-channel-default-policy-binding.istio.io")} <= set(base)


def test_compatibility_version():
    env = env_map(deployment_env(render("istiod", {"compatibilityVersion": "1.28"})))
    assert env["PILOT_SIDECAR_PICK_BEST_SERVICE_NAMESPACE"] == "false"
    assert env["DISABLE_TRACK_REMAINING_CB_METRICS"] == "false"
    cni = render("cni", {"compatibilityVersion": "1.28"}, namespace="istio-cni")
    assert cni[("ConfigMap", "istio-cni-config")]["data"]["AMBIENT_RECONCILE_POD_RULES_ON_STARTUP"] == "false"
    assert render("cni", namespace="istio-cni")[("ConfigMap", "istio-cni-config")]["data"][
        "AMBIENT_RECONCILE_POD_RULES_ON_STARTUP"] == "true"
    # 1.29 compatibility exists in 1.30.x only
    env = env_map(deployment_env(render("istiod", {"compatibilityVersion": "1.29"}, version="1.30.2")))
    assert env["PILOT_SIDECAR_PICK_BEST_SERVICE_NAMESPACE"] == "false"
    with pytest.raises(helm_python.HelmRenderError, match="unknown compatibility version 1.29"):
        render_raw("istiod", {"compatibilityVersion": "1.29"}, version="1.29.6")


def test_platform_openshift():
    cni = render("cni", {"global": {"platform": "openshift"}}, namespace="istio-cni")
    data = cni[("ConfigMap", "istio-cni-config")]["data"]
    assert data["CHAINED_CNI_PLUGIN"] == "false"
    assert data["CNI_CONF_NAME"] == "istio-cni.conf"
    volumes = {v["name"]: v["hostPath"]["path"] for v in cni[("DaemonSet", "istio-cni-node")]["spec"]["template"]["spec"]["volumes"]}
    assert volumes == {"cni-bin-dir": "/var/lib/cni/bin", "cni-net-dir": "/etc/cni/multus/net.d"}

    istiod = render("istiod", {"global": {"platform": "openshift"}})
    env = env_map(deployment_env(istiod))
    assert env["CA_TRUSTED_NODE_ACCOUNTS"] == "kube-system/ztunnel"
    assert env["PLATFORM"] == "openshift"
    merged = json.loads(istiod[("ConfigMap", "values")]["data"]["merged-values"])
    assert merged["cni"]["enabled"] is True and merged["cni"]["provider"] == "multus"
    # the platform profile sets top-level trustedZtunnelNamespace (like upstream), so user values win
    env = env_map(deployment_env(render("istiod", {"global": {"platform": "openshift"}, "trustedZtunnelNamespace": "ztunnel"})))
    assert env["CA_TRUSTED_NODE_ACCOUNTS"] == "ztunnel/ztunnel"
    # default: ztunnel is trusted in the release namespace
    assert env_map(deployment_env(render("istiod")))["CA_TRUSTED_NODE_ACCOUNTS"] == "istio-system/ztunnel"


def test_platform_gke_uses_kube_version_for_bin_dir():
    cni = render("cni", {"global": {"platform": "gke"}}, namespace="istio-cni")
    volumes = {v["name"]: v["hostPath"]["path"] for v in cni[("DaemonSet", "istio-cni-node")]["spec"]["template"]["spec"]["volumes"]}
    assert volumes["cni-bin-dir"] == "/opt/cni/bin"  # offline render: KubeVersion has no "-gke"


@pytest.mark.parametrize("chart", CHARTS)
@pytest.mark.parametrize("values, message", [
    ({"profile": "nosuch"}, "unknown profile nosuch"),
    ({"global": {"profile": "default"}}, "unknown profile default"),
    ({"compatibilityVersion": "1.24"}, "unknown compatibility version 1.24"),
    ({"global": {"platform": "nosuch"}}, "unknown platform nosuch"),
    ({"defaults": {"hub": "x"}}, "Setting with .default prefix found"),
])
def test_unknown_profile_fails(chart, values, message):
    error = helm_python.HelmRenderError
    if chart == "gateway" and "defaults" in values:
        # the gateway schema rejects the unknown key before any template runs
        error, message = helm_python.HelmValuesError, "defaults"
    with pytest.raises(error, match=message):
        render_raw(chart, values)


def test_all_profiles_render_in_every_chart():
    for chart in CHARTS:
        for profile in ("ambient", "demo", "preview", "remote", "stable"):
            render_raw(chart, {"profile": profile})
        for platform in ("openshift", "gke", "k3d", "k3s", "microk8s", "minikube"):
            render_raw(chart, {"global": {"platform": platform}})


def test_descope_pilot_wins():
    objs = render("istiod", {"pilot": {"autoscaleMin": 2, "autoscaleMax": 4}, "autoscaleMin": 3})
    assert objs[("HorizontalPodAutoscaler", "istiod")]["spec"]["minReplicas"] == 2
    assert objs[("HorizontalPodAutoscaler", "istiod")]["spec"]["maxReplicas"] == 4
    assert objs[("PodDisruptionBudget", "istiod")]["spec"]["minAvailable"] == 1
    # top-level keys work too
    objs = render("istiod", {"autoscaleMin": 3})
    assert objs[("HorizontalPodAutoscaler", "istiod")]["spec"]["minReplicas"] == 3
    cni = render("cni", {"cni": {"chained": False}, "chained": True}, namespace="istio-cni")
    assert cni[("ConfigMap", "istio-cni-config")]["data"]["CHAINED_CNI_PLUGIN"] == "false"


# --------------------------------------------------------------------------- istiod


@pytest.mark.parametrize("rev, ns, suffix, mwc", [
    ("", "istio-system", "", "istio-sidecar-injector"),
    ("r1", "istio-system", "-r1", "istio-sidecar-injector-r1"),
    ("", "istio-cp", "", "istio-sidecar-injector-istio-cp"),
    ("default-v1-30-3", "istio-cp", "-default-v1-30-3", "istio-sidecar-injector-default-v1-30-3-istio-cp"),
])
def test_istiod_names(rev, ns, suffix, mwc):
    objs = render("istiod", {"revision": rev, "global": {"istioNamespace": ns}}, namespace=ns)
    expected = {
        ("Deployment", "istiod" + suffix): ns, ("Service", "istiod" + suffix): ns,
        ("ServiceAccount", "istiod" + suffix): ns, ("HorizontalPodAutoscaler", "istiod" + suffix): ns,
        ("Role", "istiod" + suffix): ns, ("RoleBinding", "istiod" + suffix): ns,
        ("ConfigMap", "istio" + suffix): ns, ("ConfigMap", "istio-sidecar-injector" + suffix): ns,
        ("ConfigMap", "values" + suffix): ns,
        ("ClusterRole", "istiod-clusterrole%s-%s" % (suffix, ns)): None,
        ("ClusterRoleBinding", "istiod-clusterrole%s-%s" % (suffix, ns)): None,
        ("ClusterRole", "istiod-gateway-controller%s-%s" % (suffix, ns)): None,
        ("ClusterRoleBinding", "istiod-gateway-controller%s-%s" % (suffix, ns)): None,
        ("ClusterRole", "istio-reader-clusterrole%s-%s" % (suffix, ns)): None,
        ("ClusterRoleBinding", "istio-reader-clusterrole%s-%s" % (suffix, ns)): None,
        ("MutatingWebhookConfiguration", mwc): None,
        ("ValidatingWebhookConfiguration", "istio-validator%s-%s" % (suffix, ns)): None,
    }
    assert {k: o["metadata"].get("namespace") for k, o in objs.items()} == expected
    for obj in objs.values():
        if obj["kind"] not in ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ServiceAccount"):
            assert obj["metadata"]["labels"]["istio.io/rev"] == (rev or "default"), obj["metadata"]["name"]
    assert env_map(deployment_env(objs, "istiod" + suffix))["REVISION"] == (rev or "default")


def test_sa_role_and_validator_use_istio_namespace():
    objs = render("istiod", {"revision": "r1"}, namespace="istio-cp")  # global.istioNamespace stays istio-system
    for key in (("ServiceAccount", "istiod-r1"), ("Role", "istiod-r1"), ("RoleBinding", "istiod-r1")):
        assert objs[key]["metadata"]["namespace"] == "istio-system"
    assert ("ValidatingWebhookConfiguration", "istio-validator-r1-istio-system") in objs
    assert objs[("Deployment", "istiod-r1")]["metadata"]["namespace"] == "istio-cp"


def test_injection_webhooks():
    mwc = render("istiod")[("MutatingWebhookConfiguration", "istio-sidecar-injector")]
    assert mwc["metadata"]["labels"]["app"] == "sidecar-injector"
    assert webhook_names(mwc) == [
        "rev.namespace.sidecar-injector.istio.io", "rev.object.sidecar-injector.istio.io",
        "namespace.sidecar-injector.istio.io", "object.sidecar-injector.istio.io",
    ]
    hooks = {w["name"].split("sidecar-injector")[0]: w for w in mwc["webhooks"]}
    assert hooks["namespace."]["namespaceSelector"]["matchExpressions"] == [
        {"key": "istio-injection", "operator": "In", "values": ["enabled"]}]
    assert {"key": "sidecar.istio.io/inject", "operator": "In", "values": ["true"]} in hooks["object."]["objectSelector"]["matchExpressions"]
    assert {"key": "istio.io/rev", "operator": "In", "values": ["default"]} in hooks["rev.namespace."]["namespaceSelector"]["matchExpressions"]
    assert {"key": "istio.io/rev", "operator": "In", "values": ["default"]} in hooks["rev.object."]["objectSelector"]["matchExpressions"]
    for w in mwc["webhooks"]:
        assert w["clientConfig"] == {"service": {"name": "istiod", "namespace": "istio-system", "path": "/inject", "port": 443}}
        assert "caBundle" not in json.dumps(w)

    mwc = render("istiod", {"revision": "r1"})[("MutatingWebhookConfiguration", "istio-sidecar-injector-r1")]
    assert webhook_names(mwc) == ["rev.namespace.sidecar-injector.istio.io", "rev.object.sidecar-injector.istio.io"]
    assert mwc["webhooks"][0]["namespaceSelector"]["matchExpressions"][0] == {"key": "istio.io/rev", "operator": "In", "values": ["r1"]}
    assert mwc["webhooks"][0]["clientConfig"]["service"]["name"] == "istiod-r1"

    mwc = render("istiod", {"sidecarInjectorWebhook": {"enableNamespacesByDefault": True}})[
        ("MutatingWebhookConfiguration", "istio-sidecar-injector")]
    assert webhook_names(mwc)[-1] == "auto.sidecar-injector.istio.io"


def test_revision_tags():
    base_set = set(render("istiod", {"revision": "r1"}, namespace="istio-cp"))
    objs = render("istiod", {"revision": "r1", "revisionTags": ["default", "prod"]}, namespace="istio-cp")
    assert set(objs) - base_set == objset(
        "MWC istio-revision-tag-default-istio-cp", "MWC istio-revision-tag-prod-istio-cp",
        "Svc istiod-revision-tag-default", "Svc istiod-revision-tag-prod")
    prod = objs[("MutatingWebhookConfiguration", "istio-revision-tag-prod-istio-cp")]
    assert prod["metadata"]["labels"]["istio.io/rev"] == "r1"
    assert prod["metadata"]["labels"]["istio.io/tag"] == "prod"
    assert webhook_names(prod) == ["rev.namespace.sidecar-injector.istio.io", "rev.object.sidecar-injector.istio.io"]
    assert prod["webhooks"][0]["namespaceSelector"]["matchExpressions"][0]["values"] == ["prod"]
    assert prod["webhooks"][1]["objectSelector"]["matchExpressions"][1]["values"] == ["prod"]
    assert prod["webhooks"][0]["clientConfig"]["service"]["name"] == "istiod-r1"
    default = objs[("MutatingWebhookConfiguration", "istio-revision-tag-default-istio-cp")]
    assert webhook_names(default) == [
        "rev.namespace.sidecar-injector.istio.io", "rev.object.sidecar-injector.istio.io",
        "namespace.sidecar-injector.istio.io", "object.sidecar-injector.istio.io",
    ]
    svc = objs[("Service", "istiod-revision-tag-prod")]
    assert svc["metadata"]["namespace"] == "istio-cp"
    assert svc["spec"]["selector"] == {"app": "istiod", "istio.io/rev": "r1"}
    # in istio-system the MWC has no namespace suffix
    objs = render("istiod", {"revisionTags": ["canary"]})
    assert ("MutatingWebhookConfiguration", "istio-revision-tag-canary") in objs
    assert objs[("Service", "istiod-revision-tag-canary")]["spec"]["selector"] == {"app": "istiod", "istio": "pilot"}


def test_replicas_and_pdb():
    deploy = render("istiod")[("Deployment", "istiod")]
    assert "replicas" not in deploy["spec"]
    objs = render("istiod", {"pilot": {"autoscaleEnabled": False, "replicaCount": 2}})
    assert objs[("Deployment", "istiod")]["spec"]["replicas"] == 2
    assert set(objs) == ISTIOD_DEFAULT - objset("HPA istiod") | objset("PDB istiod")
    objs = render("istiod", {"pilot": {"autoscaleEnabled": False}})
    assert objs[("Deployment", "istiod")]["spec"]["replicas"] == 1
    assert ("PodDisruptionBudget", "istiod") not in objs


def test_validator_failure_policy_only_on_install():
    vwc = ("ValidatingWebhookConfiguration", "istio-validator-istio-system")
    assert render("istiod")[vwc]["webhooks"][0]["failurePolicy"] == "Ignore"
    assert "failurePolicy" not in render("istiod", upgrade=True)[vwc]["webhooks"][0]
    # the injector webhooks always say Fail
    mwc = render("istiod", upgrade=True)[("MutatingWebhookConfiguration", "istio-sidecar-injector")]
    assert {w["failurePolicy"] for w in mwc["webhooks"]} == {"Fail"}
    base_vwc = ("ValidatingWebhookConfiguration", "istiod-default-validator")
    assert render("base")[base_vwc]["webhooks"][0]["failurePolicy"] == "Ignore"
    assert "failurePolicy" not in render("base", upgrade=True)[base_vwc]["webhooks"][0]
    objs = render("istiod", {"global": {"configValidation": False}})
    assert set(objs) == ISTIOD_DEFAULT - {vwc}


def test_operator_manage_webhooks_drops_injection_webhooks():
    objs = render("istiod", {"global": {"operatorManageWebhooks": True}, "revisionTags": ["prod"]})
    assert not [k for k in objs if k[0] == "MutatingWebhookConfiguration"]
    assert ("Service", "istiod-revision-tag-prod") in objs
    # like upstream, the validator follows global.configValidation only
    assert ("ValidatingWebhookConfiguration", "istio-validator-istio-system") in objs
    objs = render("istiod", {"global": {"operatorManageWebhooks": True, "configValidation": False}})
    assert set(objs) == ISTIOD_DEFAULT - objset("MWC istio-sidecar-injector", "VWC istio-validator-istio-system")


def test_deployment_env():
    values = {
        "pilot": {"env": {"ZZZ": "last", "AAA": True, "EXTERNAL_ISTIOD": "true"}},
        "global": {"multiCluster": {"clusterName": "cluster1"}, "externalIstiod": True},
    }
    env = deployment_env(render("istiod", values))
    names = [e["name"] for e in env]
    assert names[:3] == ["REVISION", "POD_NAMESPACE", "CA_TRUSTED_NODE_ACCOUNTS"]
    assert names[3:6] == ["AAA", "EXTERNAL_ISTIOD", "ZZZ"]  # pilot.env, sorted by name
    assert names.count("EXTERNAL_ISTIOD") == 1
    values = env_map(env)
    assert values["AAA"] == "true" and values["CLUSTER_ID"] == "cluster1"
    assert env_map(deployment_env(render("istiod")))["CLUSTER_ID"] == "Kubernetes"
    # like upstream, pilot.env.CLUSTER_ID gives a duplicate CLUSTER_ID entry
    env = deployment_env(render("istiod", {"pilot": {"env": {"CLUSTER_ID": "c2"}}}))
    assert [e["value"] for e in env if e["name"] == "CLUSTER_ID"] == ["c2", "Kubernetes"]


def test_injection_template_passes_through_verbatim():
    with open(os.path.join(CHARTS_ROOT, LATEST, "istiod", "files", "injection-template.yaml")) as f:
        template = f.read()
    assert "{{ .Values.global.proxy.image }}" in template and "{{- if " in template and "{% raw %}" in template
    for version in VERSIONS:
        cm = render("istiod", version=version)[("ConfigMap", "istio-sidecar-injector")]
        config = yaml.safe_load(cm["data"]["config"])
        assert config["templates"]["sidecar"].strip() == template.strip()
        assert config["template"] == "{{ Template_Version_And_Istio_Version_Mismatched_Check_Installation }}"
        assert json.loads(cm["data"]["values"])["global"]["proxy"]["image"] == "proxyv2"


def test_values_configmap():
    user = {"revision": "r1", "pilot": {"env": {"A": "1"}}}
    cm = render("istiod", user)[("ConfigMap", "values-r1")]
    original = json.loads(cm["data"]["original-values"])
    assert original == user
    merged = json.loads(cm["data"]["merged-values"])
    assert merged["revision"] == "r1" and merged["env"] == {"A": "1"} and merged["autoscaleEnabled"] is True
    assert "_original" not in merged and "_internal_defaults_do_not_set" not in merged


def test_mesh_config():
    objs = render("istiod", {"revision": "r1", "meshConfig": {"trustDomain": "td.example", "accessLogFile": "/dev/stdout"},
                             "global": {"meshID": "mesh1"}}, namespace="istio-system")
    mesh = yaml.safe_load(objs[("ConfigMap", "istio-r1")]["data"]["mesh"])
    assert mesh["trustDomain"] == "td.example"
    assert mesh["accessLogFile"] == "/dev/stdout"
    assert mesh["defaultConfig"] == {"discoveryAddress": "istiod-r1.istio-system.svc:15012", "meshId": "mesh1"}
    assert mesh["rootNamespace"] == "istio-system"


def test_gateway_classes_configmap():
    objs = render("istiod", {"revision": "r1", "gatewayClasses": {"istio": {"service": {"spec": {"type": "ClusterIP"}}}}})
    cm = objs[("ConfigMap", "istio-r1-gatewayclass-istio")]
    assert yaml.safe_load(cm["data"]["service"]) == {"spec": {"type": "ClusterIP"}}


REMOTE_READER = objset("CR istio-reader-clusterrole-istio-system", "CRB istio-reader-clusterrole-istio-system")


def test_remote_profile():
    path = "/inject/cluster/cluster2/net/network1"
    ip = render("istiod", {"profile": "remote", "istiodRemote": {"injectionPath": path},
                           "global": {"remotePilotAddress": "10.96.12.34"}})
    assert set(ip) == REMOTE_READER | objset("CM values", "Svc istiod", "EPS istiod", "MWC istio-sidecar-injector")
    eps = ip[("EndpointSlice", "istiod")]
    assert eps["addressType"] == "IPv4" and eps["endpoints"][0]["addresses"] == ["10.96.12.34"]
    assert eps["metadata"]["labels"]["kubernetes.io/service-name"] == "istiod"
    assert "selector" not in ip[("Service", "istiod")]["spec"]
    hooks = ip[("MutatingWebhookConfiguration", "istio-sidecar-injector")]["webhooks"]
    assert {w["clientConfig"]["service"]["path"] for w in hooks} == {path}

    host = render("istiod", {"profile": "remote", "revision": "r1", "global": {"remotePilotAddress": "istiod.example.com"}})
    assert set(host) == objset(
        "CR istio-reader-clusterrole-r1-istio-system", "CRB istio-reader-clusterrole-r1-istio-system",
        "CM values-r1", "Svc istiod-r1", "MWC istio-sidecar-injector-r1")
    svc = host[("Service", "istiod-r1")]["spec"]
    assert svc["type"] == "ExternalName" and svc["externalName"] == "istiod.example.com"

    v6 = render("istiod", {"profile": "remote", "global": {"remotePilotAddress": "fd00::1"}})
    assert v6[("EndpointSlice", "istiod")]["addressType"] == "IPv6"

    bare = render("istiod", {"profile": "remote"})
    assert set(bare) == REMOTE_READER | objset("CM values", "MWC istio-sidecar-injector")

    url = render("istiod", {"profile": "remote", "istiodRemote": {"injectionURL": "https://x:15017/inject"}})
    hooks = url[("MutatingWebhookConfiguration", "istio-sidecar-injector")]["webhooks"]
    assert {json.dumps(w["clientConfig"]) for w in hooks} == {json.dumps({"url": "https://x:15017/inject"})}


def test_remote_config_cluster():
    objs = render("istiod", {"profile": "remote", "revision": "ext", "pilot": {"configMap": True},
                             "global": {"configCluster": True, "remotePilotAddress": "10.0.0.1", "istioNamespace": "ext"}},
                  namespace="ext")
    assert set(objs) == objset(
        "CR istiod-clusterrole-ext-ext", "CRB istiod-clusterrole-ext-ext",
        "CR istiod-gateway-controller-ext-ext", "CRB istiod-gateway-controller-ext-ext",
        "CR istio-reader-clusterrole-ext-ext", "CRB istio-reader-clusterrole-ext-ext",
        "CM istio-ext", "CM values-ext", "EPS istiod-ext", "MWC istio-sidecar-injector-ext-ext",
        "VWC istio-validator-ext-ext", "Role istiod-ext", "RB istiod-ext", "Svc istiod-ext", "SA istiod-ext")
    mesh = yaml.safe_load(objs[("ConfigMap", "istio-ext")]["data"]["mesh"])
    assert mesh["defaultConfig"]["discoveryAddress"] == "10.0.0.1:15012"


def test_resource_scope_splits_istiod_and_base():
    for chart in ("istiod", "base"):
        everything = render(chart, {"revision": "r1"} if chart == "istiod" else {})
        cluster = render(chart, {"revision": "r1", "global": {"resourceScope": "cluster"}} if chart == "istiod"
                         else {"global": {"resourceScope": "cluster"}})
        namespaced = render(chart, {"revision": "r1", "global": {"resourceScope": "namespace"}} if chart == "istiod"
                            else {"global": {"resourceScope": "namespace"}})
        assert set(cluster) | set(namespaced) == set(everything)
        assert not set(cluster) & set(namespaced)
        assert all("namespace" not in o["metadata"] for o in cluster.values())
        assert all("namespace" in o["metadata"] for o in namespaced.values())


# --------------------------------------------------------------------------- base


def test_base():
    objs = render("base", name="default-base", namespace="sail-operator")
    crds = {
        "virtualservices.networking.istio.io": ("networking.istio.io", "VirtualService", "vs"),
        "destinationrules.networking.istio.io": ("networking.istio.io", "DestinationRule", "dr"),
        "peerauthentications.security.istio.io": ("security.istio.io", "PeerAuthentication", "pa"),
    }
    assert set(objs) == {("CustomResourceDefinition", n) for n in crds} | objset(
        "SA istio-reader-service-account", "VWC istiod-default-validator")
    for name, (group, kind, short) in crds.items():
        spec = objs[("CustomResourceDefinition", name)]["spec"]
        assert (spec["group"], spec["names"]["kind"], spec["names"]["plural"], spec["scope"]) == (
            group, kind, name.split(".", maxsplit=1)[0], "Namespaced")
        assert spec["names"]["shortNames"] == [short]
        [v1] = spec["versions"]
        assert (v1["name"], v1["served"], v1["storage"], v1["subresources"]) == ("v1", True, True, {"status": {}})
    assert objs[("ServiceAccount", "istio-reader-service-account")]["metadata"]["namespace"] == "istio-system"
    vwc = objs[("ValidatingWebhookConfiguration", "istiod-default-validator")]
    assert vwc["webhooks"][0]["clientConfig"]["service"] == {"name": "istiod", "namespace": "istio-system", "path": "/validate"}
    assert not load(LATEST, "base").crds  # CRDs are templates, not crds/


def test_base_options():
    vwc = render("base", {"defaultRevision": "default-v1-30-3"})[("ValidatingWebhookConfiguration", "istiod-default-validator")]
    assert vwc["webhooks"][0]["clientConfig"]["service"]["name"] == "istiod-default-v1-30-3"
    assert vwc["metadata"]["labels"]["istio.io/rev"] == "default-v1-30-3"
    no_default = render("base", {"defaultRevision": ""})
    assert ("ValidatingWebhookConfiguration", "istiod-default-validator") not in no_default
    excluded = render("base", {"base": {"excludedCRDs": ["destinationrules.networking.istio.io"]}})
    assert ("CustomResourceDefinition", "destinationrules.networking.istio.io") not in excluded
    assert ("CustomResourceDefinition", "virtualservices.networking.istio.io") in excluded
    no_crds = render("base", {"base": {"enableCRDTemplates": False}, "global": {"enableReaderRBAC": False}})
    assert set(no_crds) == objset("VWC istiod-default-validator")


# --------------------------------------------------------------------------- cni, ztunnel, gateway


def test_cni():
    objs = render("cni", name="istio-cni", namespace="istio-cni")
    assert {k: o["metadata"].get("namespace") for k, o in objs.items()} == {
        ("DaemonSet", "istio-cni-node"): "istio-cni", ("ConfigMap", "istio-cni-config"): "istio-cni",
        ("ServiceAccount", "istio-cni"): "istio-cni",
        ("ClusterRole", "istio-cni"): None, ("ClusterRoleBinding", "istio-cni"): None,
        ("ClusterRole", "istio-cni-repair-role"): None, ("ClusterRoleBinding", "istio-cni-repair-rolebinding"): None,
    }
    ds = objs[("DaemonSet", "istio-cni-node")]["spec"]["template"]["spec"]
    assert "AMBIENT_ENABLED" not in env_map(ds["containers"][0]["env"])
    assert {v["name"]: v["hostPath"]["path"] for v in ds["volumes"]} == {
        "cni-bin-dir": "/opt/cni/bin", "cni-net-dir": "/etc/cni/net.d"}
    assert objs[("ConfigMap", "istio-cni-config")]["data"]["CHAINED_CNI_PLUGIN"] == "true"
    objs = render("cni", {"cni": {"repair": {"enabled": False}, "ambient": {"enabled": True}}}, namespace="istio-cni")
    assert ("ClusterRole", "istio-cni-repair-role") not in objs and ("ClusterRole", "istio-cni-ambient") in objs


def test_ztunnel():
    objs = render("ztunnel", name="ztunnel", namespace="ztunnel")
    assert set(objs) == objset("DS ztunnel", "SA ztunnel")
    assert objs[("DaemonSet", "ztunnel")]["metadata"]["labels"]["istio.io/rev"] == "default"
    values = {"resourceName": "zt", "revision": "r1", "istioNamespace": "istio-cp",
              "updateStrategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
              "terminationGracePeriodSeconds": 5, "logLevel": "debug", "env": {"X": "y"},
              "multiCluster": {"clusterName": "c1"}, "global": {"hub": "quay.io/x"}}
    objs = render("ztunnel", values, name="ztunnel", namespace="ztunnel")
    assert set(objs) == objset("DS zt", "SA zt")
    ds = objs[("DaemonSet", "zt")]
    assert ds["metadata"]["labels"]["istio.io/rev"] == "r1"
    assert ds["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
    pod = ds["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == 5
    container = pod["containers"][0]
    assert container["image"] == "quay.io/x/ztunnel:1.30.3"  # global.* is flattened onto the top level
    env = env_map(container["env"])
    assert env["CA_ADDRESS"] == "istiod-r1.istio-cp.svc:15012"
    assert (env["RUST_LOG"], env["CLUSTER_ID"], env["X"]) == ("debug", "c1", "y")
    # the name does not follow the release name (upstream: resourceName or "ztunnel")
    assert set(render("ztunnel", name="other", namespace="ztunnel")) == objset("DS ztunnel", "SA ztunnel")


def test_gateway():
    objs = render("gateway", name="istio-ingressgateway", namespace="istio-ingress")
    assert {k: o["metadata"]["namespace"] for k, o in objs.items()} == {
        (K[k], "istio-ingressgateway"): "istio-ingress" for k in ("Deploy", "Svc", "SA", "Role", "RB", "HPA")}
    assert objs[("Service", "istio-ingressgateway")]["spec"]["selector"] == {"app": "istio-ingressgateway", "istio": "ingressgateway"}
    assert "replicas" not in objs[("Deployment", "istio-ingressgateway")]["spec"]

    values = {"name": "istio-eastwestgateway", "labels": {"istio": "eastwestgateway", "topology.istio.io/network": "net1"},
              "networkGateway": "net1", "autoscaling": {"enabled": False}, "replicaCount": 2, "revision": "r1",
              "service": {"type": "ClusterIP", "ports": [{"name": "tls", "port": 15443, "targetPort": 15443}]},
              "env": {"ISTIO_META_X": "1"}}
    objs = render("gateway", values, name="eastwest", namespace="istio-system")
    assert set(objs) == {(K[k], "istio-eastwestgateway") for k in ("Deploy", "Svc", "SA", "Role", "RB")}
    svc = objs[("Service", "istio-eastwestgateway")]
    assert svc["metadata"]["labels"]["istio"] == "eastwestgateway"
    assert svc["metadata"]["labels"]["topology.istio.io/network"] == "net1"
    assert svc["spec"]["type"] == "ClusterIP" and [p["port"] for p in svc["spec"]["ports"]] == [15443]
    deploy = objs[("Deployment", "istio-eastwestgateway")]
    assert deploy["spec"]["replicas"] == 2
    assert deploy["spec"]["template"]["metadata"]["labels"]["istio.io/rev"] == "r1"
    env = env_map(deploy["spec"]["template"]["spec"]["containers"][0]["env"])
    assert env == {"ISTIO_META_REQUESTED_NETWORK_VIEW": "net1", "ISTIO_META_X": "1"}
    # without .Values.name the release name is used
    assert ("Deployment", "my-gw") in render("gateway", name="my-gw")


@pytest.mark.parametrize("values, message", [
    ({"bogusKey": 1}, "bogusKey"),
    ({"replicaCount": "notanumber"}, "replicaCount"),
])
def test_gateway_schema_rejects(values, message):
    with pytest.raises(helm_python.HelmValuesError, match=message):
        render_raw("gateway", values)


def test_gateway_requires_ports():
    with pytest.raises(helm_python.HelmRenderError, match="service.ports must not be empty"):
        render_raw("gateway", {"service": {"ports": []}})
