"""Reading rendered chart output: Go's YAML reader first, PyYAML for what it refuses, CRDs left unread on
request, large outputs read in parallel; always the same objects as PyYAML alone gives."""
import os

import pytest
import yaml

pytest.importorskip("helm_python")
from ansible_collections.servicemesh.istio.plugins.module_utils import _helm  # noqa: E402
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import RenderError  # noqa: E402
from ansible_collections.servicemesh.istio.plugins.module_utils._helm import parse_manifests  # noqa: E402
from ansible_collections.servicemesh.istio.plugins.module_utils._manifest import (  # noqa: E402
    ControlPlane, ManifestRenderer, plan_revision)
from ansible_collections.servicemesh.istio.plugins.module_utils._charts import (  # noqa: E402
    ChartSource, ChartSourceOptions)
from ansible_collections.servicemesh.istio.plugins.module_utils._istioversion import builtin_catalog  # noqa: E402
from ansible_collections.servicemesh.istio.plugins.module_utils._render_cache import RenderCache  # noqa: E402

CHARTS = os.path.join(os.path.dirname(__file__), "..", "fixtures", "charts")
CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: things.example.io
spec:
  group: example.io
  description: |
    kind: ConfigMap
    ---
"""
CONFIGMAP = """# a comment before the object
apiVersion: v1
kind: ConfigMap
metadata: {name: a, labels: {app: "yes"}}
immutable: yes
data:
  number: "1"
  text: |
    line one
      line two
  empty: ""
"""


def pyyaml_only(rendered):
    return [doc for path in sorted(rendered) if not path.endswith("NOTES.txt")
            for doc in yaml.safe_load_all(rendered[path] or "") if isinstance(doc, dict) and doc.get("kind")]


def test_go_reads_what_pyyaml_reads_and_says_it_is_plain_data():
    rendered = {"c/templates/b.yaml": CONFIGMAP + "\n---\n" + CRD, "c/templates/a.yaml": "---\n" + CONFIGMAP,
                "c/templates/NOTES.txt": "kind: not an object"}
    parsed = parse_manifests(rendered)
    assert parsed.objects == pyyaml_only(rendered)
    assert [o["kind"] for o in parsed.objects] == ["ConfigMap", "ConfigMap", "CustomResourceDefinition"]
    assert parsed.plain is True


def test_a_separator_line_with_a_comment_and_empty_documents_are_dropped():
    rendered = {"t.yaml": "--- # first\n" + CONFIGMAP + "---\n\n---   \n# only a comment\n---\n" + CRD}
    assert parse_manifests(rendered).objects == pyyaml_only(rendered)
    assert len(parse_manifests(rendered).objects) == 2


def test_documents_of_skipped_kinds_are_not_read_even_when_a_block_scalar_names_another_kind():
    rendered = {"t.yaml": CONFIGMAP + "---\n" + CRD + "---\n" + CRD.replace("kind: Custom", "kind: \"Custom")
                .replace("Definition\n", "Definition\"\n", 1)}
    kinds = [o["kind"] for o in parse_manifests(rendered, skip_kinds=("CustomResourceDefinition",)).objects]
    assert kinds == ["ConfigMap"]
    # a CRD whose description holds "kind: ConfigMap" indented is still a CRD, and a ConfigMap is kept
    assert [o["kind"] for o in parse_manifests(rendered, skip_kinds=("ConfigMap",)).objects] == [
        "CustomResourceDefinition"] * 2


def test_what_go_refuses_pyyaml_reads_and_the_output_is_then_not_known_to_be_plain():
    duplicate = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: one}\ndata: {k: two}\n"
    parsed = parse_manifests({"t.yaml": duplicate + "---\njust a string\n"})
    assert parsed.objects == [yaml.safe_load(duplicate)] and parsed.objects[0]["data"] == {"k": "two"}
    assert parsed.plain is False


def test_a_key_yaml_1_1_reads_as_a_boolean_stays_the_string_kubernetes_reads():
    parsed = parse_manifests({"t.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: {on: x}}\n"})
    assert parsed.objects[0]["metadata"]["labels"] == {"true": "x"} and parsed.plain is True


def test_invalid_yaml_names_its_template():
    with pytest.raises(RenderError, match="template t/templates/bad.yaml rendered invalid YAML"):
        parse_manifests({"t/templates/bad.yaml": "kind: ConfigMap\nmetadata: {name: [unclosed\n"})


def test_large_outputs_are_read_in_parallel_to_the_same_objects_in_the_same_order(monkeypatch):
    rendered = {"t%02d.yaml" % i: CONFIGMAP.replace("name: a", "name: a%02d" % i) for i in range(30)}
    sequential = parse_manifests(rendered)
    monkeypatch.setattr(_helm, "PARALLEL_PARSE_BYTES", 1)
    threads = []
    real = _helm._parse_document
    monkeypatch.setattr(_helm, "_parse_document", lambda *a: threads.append(__import__("threading").get_ident())
                        or real(*a))
    parallel = parse_manifests(rendered)
    assert parallel == sequential and [o["metadata"]["name"] for o in parallel.objects] == [
        "a%02d" % i for i in range(30)]
    assert __import__("threading").get_ident() not in threads


def test_base_without_crds_renders_no_crd_and_is_cached_apart_from_base_with_them(tmp_path):
    renderer = ManifestRenderer(ChartSource(ChartSourceOptions(chart_dir=CHARTS)),
                                cache=RenderCache(str(tmp_path / "rendered")))
    plan = plan_revision(ControlPlane(name="default", version="v1.30.3"), builtin_catalog())
    without = renderer.base(plan, include_crds=False, default_revision="default")
    with_crds = renderer.base(plan, include_crds=True, default_revision="default")
    assert not [o for o in without.objects if o["kind"] == "CustomResourceDefinition"]
    assert [o for o in with_crds.objects if o["kind"] == "CustomResourceDefinition"]
    assert len(list((tmp_path / "rendered").glob("*.json"))) == 2
