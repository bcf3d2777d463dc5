"""Discovery selectors of several meshes: refused only when a namespace is selected by both."""
import pytest

from ansible_collections.servicemesh.istio.plugins.module_utils import _selectors as selectors


def sel(labels):
    return {"matchLabels": labels}


def expr(key, operator, *values):
    return {"matchExpressions": [{"key": key, "operator": operator, "values": list(values)}]}


NAMESPACES = {
    "istio-system": {"mesh": "blue"},
    "other": {"mesh": "green"},
    "apps": {"team": "x"},
    "shop": {"team": "y", "env": "prod"},
    "plain": {},
}


@pytest.mark.parametrize("selector,labels,expected", [
    (sel({"mesh": "blue"}), {"mesh": "blue"}, True),
    (sel({"mesh": "blue"}), {"mesh": "green"}, False),
    (sel({"mesh": True}), {"mesh": "true"}, True),  # YAML's true is the label value "true"
    (expr("mesh", "In", "a", "blue"), {"mesh": "blue"}, True),
    (expr("mesh", "NotIn", "blue"), {}, True),
    (expr("mesh", "NotIn", "blue"), {"mesh": "blue"}, False),
    (expr("mesh", "Exists"), {}, False),
    (expr("mesh", "DoesNotExist"), {}, True),
    ({}, {"any": "thing"}, True),
])
def test_label_selector_matches(selector, labels, expected):
    assert selectors.selector_matches(selector, labels) is expected


@pytest.mark.parametrize("first,second,shared", [
    # could overlap (a namespace labelled mesh=blue and team=x would be in both) but no namespace is
    ([sel({"mesh": "blue"})], [sel({"team": "x"})], []),
    ([sel({"env": "prod"})], [sel({"team": "y"})], ["shop"]),
    # no selectors: every namespace; the other mesh's are shared
    ([], [sel({"mesh": "green"})], ["other"]),
    ([], [sel({"mesh": "purple"})], []),
    ([sel({"mesh": "blue"})], [sel({"mesh": "green"})], []),
    ([sel({"mesh": "blue"}), sel({"team": "x"})], [expr("team", "In", "x", "y")], ["apps"]),
    # every namespace carries its own name as a label
    ([expr("kubernetes.io/metadata.name", "In", "plain", "apps")], [sel({"team": "x"})], ["apps"]),
])
def test_shared_namespaces(first, second, shared):
    assert selectors.shared_namespaces(first, second, NAMESPACES) == shared
    assert selectors.shared_namespaces(second, first, NAMESPACES) == shared


def test_namespaces_are_not_compared_when_the_selectors_contradict():
    class Untouchable(dict):
        def items(self):
            raise AssertionError("namespaces read for selectors that cannot share one")
    assert selectors.shared_namespaces([sel({"mesh": "a"})], [sel({"mesh": "b"})], Untouchable()) == []


@pytest.mark.parametrize("option", ["allow_selector_overlap", "istio_allow_selector_overlap"])
def test_the_refusal_names_the_namespaces_and_the_option(option):
    message = selectors.overlap_refusal("control plane 'red' (namespace apps)",
                                        "control plane 'blue' (revision blue, namespace istio-system)",
                                        ["apps", "shop"])
    assert "namespaces apps, shop" in message and option in message
