import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils import _istiovalues as iv
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import ValuesError


def test_deep_merge_maps_merge_lists_and_scalars_replace():
    base = {"a": {"b": 1, "c": [1, 2]}, "d": "x", "e": {"f": 1}}
    override = {"a": {"c": [3], "g": 2}, "d": {"now": "map"}, "e": "scalar"}
    merged = iv.deep_merge(base, override)
    assert merged == {"a": {"b": 1, "c": [3], "g": 2}, "d": {"now": "map"}, "e": "scalar"}
    assert base["a"]["c"] == [1, 2], "inputs are not modified"


def test_layering_order_default_then_profile_then_user():
    values = iv.layer_values("ambient", {"profile": "demo", "global": {"hub": "my.registry"}})
    assert values["profile"] == "demo", "user values win over the profile"
    assert values["global"] == {"istioNamespace": "istio-system", "configValidation": True, "hub": "my.registry"}
    assert iv.layer_values("ambient", {})["profile"] == "ambient"


def test_default_and_empty_profiles_add_only_the_default_layer():
    assert iv.layer_values("default", {}) == iv.layer_values(None, {}) == iv.layer_values("empty", {})
    assert "profile" not in iv.layer_values("default", {})


def test_openshift_platform_selects_openshift_profile_and_platform():
    values = iv.layer_values(None, {}, platform="openshift")
    assert values["global"]["platform"] == "openshift"
    assert iv.profile_layers("ambient", "openshift") == ["default", "ambient"]
    assert iv.layer_values("ambient", {}, platform="openshift")["global"]["platform"] == "openshift"


def test_platform_does_not_override_the_users_choice():
    values = iv.layer_values(None, {"global": {"platform": "gke"}}, platform="k3s")
    assert values["global"]["platform"] == "gke"


@pytest.mark.parametrize("platform", ["k3s", "openshift"])
def test_users_empty_platform_is_kept(platform):
    # "" is a choice (no platform profile), not a missing value
    values = iv.layer_values(None, {"global": {"platform": ""}}, platform=platform)
    assert values["global"]["platform"] == ""
    cp = iv.control_plane_values(None, {"global": {"platform": ""}}, "istio-system", "", platform)
    assert cp["global"]["platform"] == ""


def test_forced_values():
    values = iv.control_plane_values("default", {"defaultRevision": "x", "pilot": {"autoscaleMin": 2}},
                                     "istio-cp", "foo")
    assert values["revision"] == "foo"
    assert values["global"]["istioNamespace"] == "istio-cp"
    assert "defaultRevision" not in values
    assert "ztunnel" not in values
    assert values["pilot"]["autoscaleMin"] == 2


def test_namespace_mismatch_in_values_is_an_error():
    with pytest.raises(ValuesError, match=r"istioNamespace \('other'\) must match the namespace \('istio-system'\)"):
        iv.control_plane_values(None, {"global": {"istioNamespace": "other"}}, "istio-system", "")
    assert iv.control_plane_values(None, {"global": {"istioNamespace": "istio-system"}}, "istio-system", "")


def test_conflicting_revision_value_is_an_error():
    with pytest.raises(ValuesError, match="values.revision"):
        iv.control_plane_values(None, {"revision": "other"}, "istio-system", "foo")


def test_unknown_profile_names_the_profile():
    with pytest.raises(ValuesError, match="profile 'minimal' is not known"):
        iv.layer_values("minimal", {})


@pytest.mark.parametrize("values,message", [
    ({"pilot": {"autoscaleMin": "two"}}, "values.pilot.autoscaleMin must be an integer, got str 'two'"),
    ({"pilot": {"autoscaleEnabled": "yes"}}, "values.pilot.autoscaleEnabled must be a boolean"),
    ({"pilot": {"autoscaleMin": True}}, "values.pilot.autoscaleMin must be an integer"),
    ({"global": "istio-system"}, "values.global must be a mapping"),
    ({"meshConfig": {"discoverySelectors": {"matchLabels": {}}}}, "values.meshConfig.discoverySelectors must be a list"),
    ({"compatibilityVersion": 1.28}, "quote it in YAML"),
    ({"pilot": {"env": {"PILOT_ENABLE_AMBIENT": True}}}, "values.pilot.env.PILOT_ENABLE_AMBIENT must be a string"),
    ({"profile": "default"}, "values.profile 'default' is not a chart profile"),
    ({"global": {"platform": "aks"}}, "values.global.platform 'aks' is not a known platform"),
    ({"global": {"resourceScope": "everything"}}, "resourceScope 'everything' must be one of"),
    ({"global": {"proxy": {"resources": []}}}, "values.global.proxy.resources must be a mapping, got list"),
    ({"pilot": {"resources": {"requests": {"cpu": {"a": 1}}}}},
     "values.pilot.resources.requests.cpu must be a quantity (such as 100m, 512Mi or 2), got dict"),
    ({"resources": "big"}, "values.resources must be a mapping, got str 'big'"),
    ({"gateways": {"resources": {"limits": ["1"]}}}, "values.gateways.resources.limits must be a mapping"),
])
def test_wrong_types_name_the_key(values, message):
    with pytest.raises(ValuesError) as err:
        iv.check_value_types(values)
    assert message in str(err.value)


def test_quantities_may_be_strings_or_numbers():
    iv.check_value_types({"pilot": {"resources": {"requests": {"cpu": "500m", "memory": 2048}, "limits": {}}},
                          "resources": {"requests": {"cpu": 0.5}}})


def test_values_must_be_a_mapping():
    with pytest.raises(ValuesError, match="values must be a mapping, got list"):
        iv.check_value_types([1, 2])


def test_unknown_keys_pass_through():
    iv.check_value_types({"pilot": {"someNewKnob": {"x": [1]}}, "anything": 3})


def test_ztunnel_values_flatten_and_follow_revision():
    revision_values = {"global": {"hub": "rev.hub", "istioNamespace": "istio-cp"},
                       "meshConfig": {"trustDomain": "td"}, "revision": "foo", "pilot": {"x": 1}}
    values = iv.ztunnel_values({"ztunnel": {"hub": "zt.hub", "logLevel": "debug"}, "global": {"logAsJson": True}},
                               revision_values=revision_values)
    assert values["profile"] == "ambient"
    assert values["revision"] == "foo"
    assert values["global"]["hub"] == "rev.hub" and values["global"]["logAsJson"] is True
    assert values["global"]["istioNamespace"] == "istio-cp"
    assert values["meshConfig"] == {"trustDomain": "td"}
    assert values["hub"] == "zt.hub" and values["logLevel"] == "debug" and values["resourceName"] == "ztunnel"
    assert "pilot" not in values and "ztunnel" not in values


def test_cni_values_have_no_forced_overrides():
    values = iv.cni_values("ambient", {"cni": {"ambient": {"reconcileIptablesOnStartup": True}}})
    assert values["profile"] == "ambient"
    assert values["cni"]["ambient"]["reconcileIptablesOnStartup"] is True
    assert "revision" not in values


def test_values_digest_is_stable_and_sensitive():
    a = iv.values_digest({"a": 1, "b": {"c": 2}})
    assert a == iv.values_digest({"b": {"c": 2}, "a": 1})
    assert a != iv.values_digest({"a": 1, "b": {"c": 3}})
    assert a.startswith("sha256:")


def test_trusted_ztunnel_namespace_is_set_for_ambient_only():
    ambient = iv.control_plane_values("ambient", {}, "istio-system", "", ztunnel_namespace="ztunnel")
    assert ambient["pilot"]["trustedZtunnelNamespace"] == "ztunnel"
    plain = iv.control_plane_values("default", {}, "istio-system", "", ztunnel_namespace="ztunnel")
    assert "trustedZtunnelNamespace" not in plain.get("pilot", {})
    env = iv.control_plane_values(None, {"pilot": {"env": {"PILOT_ENABLE_AMBIENT": "true"}}}, "istio-system", "",
                                  ztunnel_namespace="zt")
    assert env["pilot"]["trustedZtunnelNamespace"] == "zt"


def test_mismatched_trusted_ztunnel_namespace_is_an_error():
    with pytest.raises(ValuesError, match="trustedZtunnelNamespace is 'kube-system' but ztunnel runs in namespace"):
        iv.control_plane_values("ambient", {"pilot": {"trustedZtunnelNamespace": "kube-system"}}, "istio-system", "",
                                ztunnel_namespace="ztunnel")
    same = iv.control_plane_values("ambient", {"pilot": {"trustedZtunnelNamespace": "ztunnel"}}, "istio-system", "",
                                   ztunnel_namespace="ztunnel")
    assert same["pilot"]["trustedZtunnelNamespace"] == "ztunnel"


MIRROR = "mirror.example.com/istio"
PINNED = {"pilot": MIRROR + "/pilot:1.30.3", "proxyv2": MIRROR + "/proxyv2:1.30.3",
          "install-cni": MIRROR + "/install-cni:1.30.3", "ztunnel": MIRROR + "/ztunnel:1.30.3"}


def test_catalog_images_reach_each_charts_image_keys():
    cp = iv.control_plane_values(None, {}, "istio-system", "", images=PINNED)
    assert cp["pilot"]["image"] == PINNED["pilot"]
    assert cp["global"]["proxy"]["image"] == cp["global"]["proxy_init"]["image"] == PINNED["proxyv2"]
    assert iv.cni_values(None, {}, images=PINNED)["cni"]["image"] == PINNED["install-cni"]
    assert iv.ztunnel_values({}, images=PINNED)["image"] == PINNED["ztunnel"]
    assert "hub" not in cp["global"], "only what the catalog names is set"


def test_users_own_image_values_win_over_the_catalog():
    cp = iv.control_plane_values(None, {"pilot": {"hub": "other.example.com"}}, "istio-system", "", images=PINNED)
    assert "image" not in cp["pilot"] and cp["global"]["proxy"]["image"] == PINNED["proxyv2"]
    cp = iv.control_plane_values(None, {"global": {"proxy": {"image": "proxyv2"}}}, "istio-system", "",
                                 images=PINNED)
    assert cp["global"]["proxy"]["image"] == "proxyv2" and cp["pilot"]["image"] == PINNED["pilot"]
    assert iv.ztunnel_values({"ztunnel": {"tag": "1.30.3-debug"}}, images=PINNED).get("image") is None
    assert "image" not in iv.cni_values(None, {"image": "install-cni"}, images=PINNED).get("cni", {})


def test_users_registry_replaces_every_catalog_image():
    # global.hub or global.tag: the user chose where every image comes from
    for user in ({"global": {"hub": "my.registry/istio"}}, {"global": {"tag": "1.30.3-distroless"}}):
        cp = iv.control_plane_values(None, user, "istio-system", "", images=dict(PINNED, hub=MIRROR))
        assert "image" not in cp.get("pilot", {}) and "proxy" not in cp["global"]
        assert cp["global"].get("hub") in (None, "my.registry/istio")
        assert "image" not in iv.ztunnel_values(user, images=PINNED)


def test_catalog_hub_and_tag_become_global_defaults():
    images = {"hub": MIRROR, "tag": "1.30.3"}
    assert iv.control_plane_values(None, {}, "istio-system", "", images=images)["global"]["hub"] == MIRROR
    assert iv.cni_values(None, {}, images=images)["global"]["tag"] == "1.30.3"
    assert iv.ztunnel_values({}, images=images)["global"] == {"istioNamespace": "istio-system",
                                                              "configValidation": True, "hub": MIRROR,
                                                              "tag": "1.30.3"}
