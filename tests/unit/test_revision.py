import pytest

from ansible_collections.servicemesh.istio.plugins.filter.revision_name import revision_name as revision_filter
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import RevisionNameError
from ansible_collections.servicemesh.istio.plugins.module_utils._revision import (
    check_planned_tags, helm_revision_value, revision_name, validate_tag_name)


@pytest.mark.parametrize("version,expected", [
    ("v1.24.3", "default-v1-24-3"),
    ("v1.31.0-beta.1", "default-v1-31-0-beta-1"),
    ("v1.30-latest", "default-v1-30-latest"),
    ("master", "default-master"),
    ("1.30.3", "default-v1-30-3"),
])
def test_revision_based_names_follow_the_reference(version, expected):
    assert revision_name("default", version, "RevisionBased") == expected


def test_in_place_uses_the_name():
    assert revision_name("foo", "v1.30.3", "InPlace") == "foo"
    assert revision_name("foo", None, None) == "foo"


def test_default_revision_renders_empty():
    assert helm_revision_value("default") == ""
    assert helm_revision_value("foo-v1-30-3") == "foo-v1-30-3"


def test_unknown_strategy_is_refused():
    with pytest.raises(RevisionNameError, match="update strategy 'Canary'"):
        revision_name("foo", "v1.30.3", "Canary")


def test_too_long_revision_names_are_refused():
    name = "a" * 50
    with pytest.raises(RevisionNameError, match="at most 56"):
        revision_name(name, "v1.30.3", "RevisionBased")
    assert revision_name("a" * 56, None, "InPlace") == "a" * 56
    with pytest.raises(RevisionNameError, match="at most"):
        revision_name("a" * 57, None, "InPlace")


@pytest.mark.parametrize("name", ["Prod", "-x", "x_y", "x.y", ""])
def test_invalid_labels_are_refused(name):
    with pytest.raises(RevisionNameError):
        revision_name(name, None, "InPlace")


def test_tag_names():
    assert validate_tag_name("prod-canary") == "prod-canary"
    with pytest.raises(RevisionNameError, match="at most 43"):
        validate_tag_name("t" * 44)


def test_filter_plugin():
    assert revision_filter("default", "v1.30.3", "RevisionBased") == "default-v1-30-3"
    from ansible.errors import AnsibleFilterError
    with pytest.raises(AnsibleFilterError, match="DNS-1123"):
        revision_filter("Bad_Name")


def test_planned_tags_are_checked_against_the_revision():
    check_planned_tags("default-v1-30-3", ["default", "prod"])
    check_planned_tags("default", None)
    with pytest.raises(RevisionNameError, match="tag 'default-v1-30-3' is named like the revision"):
        check_planned_tags("default-v1-30-3", ["default", "default-v1-30-3"])
    with pytest.raises(RevisionNameError, match="Prod!"):
        check_planned_tags("default", ["Prod!"])
