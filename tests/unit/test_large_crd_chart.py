"""benchmarks/large_crd_chart.py: the benchmarks' chart_dir whose base chart carries CRDs as large as Istio's."""
import os
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
import large_crd_chart  # noqa: E402  pylint: disable=wrong-import-position

UPSTREAM = {
    "networking.istio.io": {"destinationrules", "envoyfilters", "gateways", "proxyconfigs", "serviceentries",
                            "sidecars", "virtualservices", "workloadentries", "workloadgroups"},
    "security.istio.io": {"authorizationpolicies", "peerauthentications", "requestauthentications"},
    "telemetry.istio.io": {"telemetries"},
    "extensions.istio.io": {"trafficextensions", "wasmplugins"},
}


def structural_problems(schema, path="openAPIV3Schema"):
    """Where a schema breaks the API server's structural rules that this generator could break."""
    problems = []
    if "type" not in schema and not schema.get("x-kubernetes-int-or-string") \
            and not schema.get("x-kubernetes-preserve-unknown-fields"):
        problems.append(path + ": no type")
    if schema.get("type") == "array" and "maxItems" not in schema:
        problems.append(path + ": unbounded list (CEL cost)")
    if schema.get("type") == "string" and "maxLength" not in schema and "enum" not in schema:
        problems.append(path + ": unbounded string (CEL cost)")
    for name, child in (schema.get("properties") or {}).items():
        problems += structural_problems(child, "%s.%s" % (path, name))
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            problems += structural_problems(schema[key], "%s[%s]" % (path, key))
    return problems


def test_fifteen_crds_with_upstream_names_and_real_size():
    documents = large_crd_chart.crd_documents()
    names = {(doc["spec"]["group"], doc["spec"]["names"]["plural"]) for doc in documents}
    assert names == {(group, plural) for group, plurals in UPSTREAM.items() for plural in plurals}
    assert all(doc["metadata"]["name"] == "%s.%s" % (doc["spec"]["names"]["plural"], doc["spec"]["group"])
               for doc in documents)
    text = large_crd_chart.crd_text()
    assert 16000 <= text.count("\n") <= 21000  # Istio 1.30's base CRDs: 18,236 lines
    assert text == large_crd_chart.crd_text()  # deterministic
    assert text.count("x-kubernetes-validations") > 300  # CEL rules throughout


def test_schemas_are_structural_bounded_and_carry_cel_rules():
    for doc in large_crd_chart.crd_documents():
        versions = doc["spec"]["versions"]
        assert [v["storage"] for v in versions].count(True) == 1
        for version in versions:
            schema = version["schema"]["openAPIV3Schema"]
            assert structural_problems(schema) == [], doc["metadata"]["name"]


def test_chart_dir_renders_the_crds_and_honours_excluded_crds(tmp_path):
    helm_python = pytest.importorskip("helm_python")
    dest = large_crd_chart.write_chart_dir(str(tmp_path / "charts"))
    assert sorted(name for name in os.listdir(os.path.join(dest, "1.30.3")) if not name.startswith(".")) == ["base", "cni", "gateway", "istiod", "ztunnel"]
    chart = helm_python.Chart.load(os.path.join(dest, "1.30.3", "base"))
    excluded = "virtualservices.networking.istio.io"
    out = chart.render({"base": {"excludedCRDs": [excluded]}}, name="default-base", namespace="istio-system",
                       is_install=True)
    crds = [doc for doc in yaml.load_all(out["base/templates/crds.yaml"], Loader=yaml.CSafeLoader) if doc]
    assert len(crds) == 14 and excluded not in {crd["metadata"]["name"] for crd in crds}
    assert crds[0]["metadata"]["labels"]["helm.sh/chart"] == "base-1.30.3"
    assert crds[0]["metadata"]["labels"]["app"] == "istio-pilot"  # the generated labels are kept
    assert "base/templates/default-validator.yaml" in out  # the rest of the fixture chart is there
    before = os.stat(os.path.join(dest, "1.30.3", "base", "files", large_crd_chart.CRD_FILE)).st_mtime_ns
    large_crd_chart.write_chart_dir(dest)  # unchanged: not rewritten
    assert os.stat(os.path.join(dest, "1.30.3", "base", "files", large_crd_chart.CRD_FILE)).st_mtime_ns == before
