import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils._errors import VersionError
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import (
    VersionCatalog, builtin_catalog, load_catalog, semver_key)

CATALOG = {
    "versions": [
        {"name": "v1.31.0-beta.1", "version": "1.31.0-beta.1"},
        {"name": "v1.30.3", "version": "1.30.3"},
        {"name": "v1.30.2", "version": "1.30.2"},
        {"name": "v1.30-latest", "ref": "v1.30.3"},
        {"name": "v1.29.6", "version": "1.29.6"},
        {"name": "v1.28.10", "version": "1.28.10", "eol": True},
        {"name": "v1.28-latest", "ref": "v1.28.10", "eol": True},
    ]
}


@pytest.fixture
def catalog():
    return VersionCatalog(CATALOG, "test catalog")


def test_concrete_with_and_without_v(catalog):
    assert catalog.resolve("v1.30.2").version == "1.30.2"
    assert catalog.resolve("1.30.2").name == "v1.30.2"


def test_alias_resolves_to_concrete(catalog):
    resolved = catalog.resolve("v1.30-latest")
    assert resolved.name == "v1.30.3"
    assert catalog.resolve("1.30-latest").name == "v1.30.3"
    assert catalog.is_alias("v1.30-latest") and not catalog.is_alias("v1.30.3")


def test_default_is_newest_stable_not_prerelease(catalog):
    assert catalog.resolve(None).name == "v1.30.3"
    assert catalog.resolve("").name == "v1.30.3"
    assert catalog.resolve("v1.31.0-beta.1").prerelease


def test_unknown_version_lists_supported(catalog):
    with pytest.raises(VersionError) as err:
        catalog.resolve("v1.99.0")
    assert "'v1.99.0'" in str(err.value)
    assert "v1.30.3" in str(err.value) and "v1.30-latest" in str(err.value)
    assert "v1.28.10" not in str(err.value)


@pytest.mark.parametrize("name", ["v1.28.10", "1.28.10", "v1.28-latest"])
def test_eol_is_refused_with_its_own_message(catalog, name):
    with pytest.raises(VersionError, match="end-of-life"):
        catalog.resolve(name)


def test_alias_to_missing_version_is_rejected():
    with pytest.raises(VersionError, match="points at v9.9.9"):
        VersionCatalog({"versions": [{"name": "v1.0.0", "version": "1.0.0"}, {"name": "x", "ref": "v9.9.9"}]})


def test_semver_orders_prereleases_before_release():
    assert semver_key("1.31.0-beta.1") < semver_key("1.31.0")
    assert semver_key("1.30.10") > semver_key("1.30.9")
    assert semver_key("1.31.0-alpha.2") < semver_key("1.31.0-beta.1")


def test_builtin_catalog_covers_supported_minors():
    catalog = builtin_catalog()
    for name in ("v1.29.0", "v1.29.6", "v1.30.0", "v1.30.3"):
        assert catalog.resolve(name).name == name
    assert catalog.resolve("v1.29-latest").name == "v1.29.6"
    assert catalog.default.name == "v1.30.3"
    with pytest.raises(VersionError, match="end-of-life"):
        catalog.resolve("v1.28.10")


def test_user_catalog_file(tmp_path):
    path = tmp_path / "versions.yaml"
    path.write_text("versions:\n  - {name: v2.0.0, version: 2.0.0}\n  - {name: stable, ref: v2.0.0}\n")
    catalog = load_catalog(str(path))
    assert catalog.resolve("stable").name == "v2.0.0"
    with pytest.raises(VersionError, match=str(path)):
        catalog.resolve("v1.30.3")


def test_broken_catalog_file_is_a_clear_error(tmp_path):
    path = tmp_path / "versions.yaml"
    path.write_text("nothing: here\n")
    with pytest.raises(VersionError, match="no 'versions' list"):
        load_catalog(str(path))
    with pytest.raises(VersionError, match="cannot read"):
        load_catalog(str(tmp_path / "missing.yaml"))


MIRROR = "mirror.example.com/istio"
MIRRORED = {"versions": [
    {"name": "v1.30.3", "version": "1.30.3",
     "images": {"pilot": MIRROR + "/pilot:1.30.3", "proxyv2": MIRROR + "/proxyv2:1.30.3",
                "install-cni": MIRROR + "/install-cni:1.30.3", "ztunnel": MIRROR + "/ztunnel:1.30.3"}},
    {"name": "v1.30-latest", "ref": "v1.30.3"},
    {"name": "v1.29.6", "version": "1.29.6", "images": {"hub": MIRROR, "tag": "1.29.6"}},
    {"name": "v1.28.10", "version": "1.28.10", "eol": True, "images": {"pilot": "ignored"}},
]}


def test_catalog_entries_carry_image_references():
    catalog = VersionCatalog(MIRRORED, "mirror catalog")
    assert catalog.resolve("v1.30-latest").images == MIRRORED["versions"][0]["images"]
    assert catalog.resolve("1.29.6").images == {"hub": MIRROR, "tag": "1.29.6"}
    assert builtin_catalog().resolve("v1.30.3").images == {}


@pytest.mark.parametrize("images,message", [
    ({"istiod": "a/b:1"}, "unknown image 'istiod'"),
    ({"pilot": "pilot:1.30.3"}, "images.pilot 'pilot:1.30.3' must be a full image reference"),
    ({"hub": 5}, "images.hub must be a string"),
    (["pilot"], "images must be a mapping"),
])
def test_bad_image_references_are_refused_naming_the_entry(images, message):
    document = {"versions": [{"name": "v1.30.3", "version": "1.30.3", "images": images}]}
    with pytest.raises(VersionError, match="v1.30.3.*" + message.replace(".", r"\.")):
        VersionCatalog(document, "mirror catalog")


def test_an_alias_carries_no_images():
    document = {"versions": [{"name": "v1.30.3", "version": "1.30.3"},
                             {"name": "v1.30-latest", "ref": "v1.30.3", "images": {"hub": MIRROR}}]}
    with pytest.raises(VersionError, match="alias v1.30-latest must not also have images"):
        VersionCatalog(document, "mirror catalog")
