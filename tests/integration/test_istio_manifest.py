"""istio_manifest through ansible-playbook and ansible ad-hoc, with the fixture charts."""
import json
import os
import subprocess
import sys

import yaml

from tests.helpers.ansible import ROOT, ansible_env, run_playbook

CHARTS = os.path.join(ROOT, "tests", "fixtures", "charts")
PLAYBOOK = os.path.join(ROOT, "tests", "integration", "playbooks", "render_manifest.yml")


def test_playbook_renders_revision_based_default_and_is_idempotent(tmp_path):
    dest = str(tmp_path / "out" / "cp.yaml")
    first = run_playbook(PLAYBOOK, {"version": "v1.30.3", "chart_dir": CHARTS, "dest": dest})
    assert first.ok, first.stdout[-3000:] + first.stderr
    result = first.result("Render")
    assert result["changed"] is True
    assert result["revision"] == "default-v1-30-3" and result["version"] == "v1.30.3"
    documents = list(yaml.safe_load_all(open(dest)))
    names = {(d["kind"], d["metadata"]["name"]) for d in documents}
    assert ("Deployment", "istiod-default-v1-30-3") in names
    assert ("ConfigMap", "istio-sidecar-injector-default-v1-30-3") in names
    assert ("MutatingWebhookConfiguration", "istio-sidecar-injector-default-v1-30-3") in names
    # The injector's Go templates reached the file and a later task unevaluated.
    assert "{{" in open(dest + ".injector").read()

    second = run_playbook(PLAYBOOK, {"version": "v1.30.3", "chart_dir": CHARTS, "dest": dest})
    assert second.ok and second.result("Render")["changed"] is False


def test_check_mode_writes_nothing_and_shows_a_diff(tmp_path):
    dest = str(tmp_path / "cp.yaml")
    run = run_playbook(PLAYBOOK, {"version": "v1.30.3", "chart_dir": CHARTS, "dest": dest}, args=["--check", "--diff"])
    assert run.ok, run.stdout[-3000:]
    result = run.result("Render")
    assert result["changed"] is True and not os.path.exists(dest)
    assert "istiod-default-v1-30-3" in result["diff"]["after"] and result["diff"]["before"] == ""


def test_bad_input_fails_with_a_clear_message(tmp_path):
    run = run_playbook(PLAYBOOK, {"version": "v1.28.10", "chart_dir": CHARTS, "dest": str(tmp_path / "x.yaml")})
    assert not run.ok
    assert "end-of-life" in run.result("Render")["msg"]
    run = run_playbook(PLAYBOOK, {"version": "v1.99.0", "chart_dir": CHARTS, "dest": str(tmp_path / "x.yaml")})
    assert "supported versions" in run.result("Render")["msg"]


def test_adhoc_module_call():
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible"), "localhost", "-c", "local",
           "-m", "servicemesh.istio.istio_manifest",
           "-a", json.dumps({"version": "1.29-latest", "chart_dir": CHARTS, "profile": "ambient",
                             "values": {"pilot": {"autoscaleMin": "two"}}})]
    proc = subprocess.run(cmd, cwd=ROOT, env=ansible_env({"ANSIBLE_LOAD_CALLBACK_PLUGINS": "1"}),
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode != 0
    assert "values.pilot.autoscaleMin must be an integer" in proc.stdout


def test_site_playbook_renders_to_a_directory(tmp_path):
    dest = str(tmp_path / "site.yaml")
    run = run_playbook(os.path.join(ROOT, "playbooks", "site.yml"),
                       {"istio_chart_dir": CHARTS, "istio_render_dest": dest})
    assert run.ok, run.stdout[-3000:] + run.stderr
    kinds = [d["kind"] for d in yaml.safe_load_all(open(dest))]
    assert kinds.count("CustomResourceDefinition") == 3 and "Deployment" in kinds


def test_every_component_as_the_cluster_modules_apply_it_with_an_air_gapped_catalog(tmp_path):
    from tests.helpers.ansible import run_module
    mirror = "mirror.example.com/istio"
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(yaml.safe_dump({"versions": [{"name": "v1.30.3", "version": "1.30.3", "images": {
        "pilot": mirror + "/pilot:1.30.3", "proxyv2": mirror + "/proxyv2:1.30.3",
        "install-cni": mirror + "/install-cni:1.30.3", "ztunnel": mirror + "/ztunnel:1.30.3"}}]}))
    result = run_module("servicemesh.istio.istio_manifest", {
        "version": "v1.30.3", "chart_dir": CHARTS, "version_catalog": str(catalog),
        "update_strategy": {"type": "RevisionBased"}, "profile": "ambient",
        "components": ["base", "istiod", {"component": "revision_tag", "tag": "default"}, "cni", "ztunnel",
                       "gateway"]})
    assert not result.get("failed"), result.get("msg")
    objects = {(o["kind"], o["metadata"]["name"]): o for o in result["objects"]}
    assert len(objects) == len(result["objects"]), "no object rendered twice"

    def image(kind, name):
        return objects[(kind, name)]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image("Deployment", "istiod-default-v1-30-3") == mirror + "/pilot:1.30.3"
    assert image("DaemonSet", "istio-cni-node") == mirror + "/install-cni:1.30.3"
    assert image("DaemonSet", "ztunnel") == mirror + "/ztunnel:1.30.3"
    assert result["values"]["global"]["proxy"]["image"] == mirror + "/proxyv2:1.30.3"
    # the tag default owns the default validator (to its revision) and the reader account; base is the CRDs
    validator = objects[("ValidatingWebhookConfiguration", "istiod-default-validator")]
    assert validator["webhooks"][0]["clientConfig"]["service"]["name"] == "istiod-default-v1-30-3"
    base = [c for c in result["components"] if c["component"] == "base"][0]
    assert base["objects"] == 3 and ("ServiceAccount", "istio-reader-service-account") in objects
    assert [p["port"] for p in objects[("Service", "istio-ingressgateway")]["spec"]["ports"]] == [15021, 80, 443]
    assert not [name for (_unused, name), o in objects.items()
                if "install.operator.istio.io/owning-resource" in json.dumps(o)]
