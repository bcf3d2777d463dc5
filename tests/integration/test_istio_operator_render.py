"""from_istio_operator in a playbook: an IstioOperator file rendered through istio_manifest, and strict mode."""
import os

import yaml

from tests.helpers.ansible import ROOT, run_playbook

CHARTS = os.path.join(ROOT, "tests", "fixtures", "charts")
EXAMPLES = os.path.join(ROOT, "tests", "fixtures", "istio_operator")
PLAYBOOK = os.path.join(ROOT, "tests", "integration", "playbooks", "from_istio_operator.yml")


def objects(path):
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(open(path)) if d}


def test_an_istio_operator_file_renders_its_control_plane_and_gateways(tmp_path):
    run = run_playbook(PLAYBOOK, {"operator_file": os.path.join(EXAMPLES, "gateways.yaml"), "chart_dir": CHARTS,
                                  "dest": str(tmp_path)})
    assert run.ok, run.stdout[-3000:] + run.stderr[-2000:]
    assert ("Deployment", "istiod") in objects(str(tmp_path / "control-plane.yaml"))
    ingress = objects(str(tmp_path / "istio-ingressgateway.yaml"))
    assert ingress[("Service", "istio-ingressgateway")]["spec"]["loadBalancerSourceRanges"] == ["10.0.0.0/8"]
    partner = objects(str(tmp_path / "partner-gateway.yaml"))
    assert partner[("Deployment", "partner-gateway")]["metadata"]["namespace"] == "partners"
    egress = objects(str(tmp_path / "istio-egressgateway.yaml"))
    assert egress[("Service", "istio-egressgateway")]["spec"]["type"] == "ClusterIP"
    assert not os.path.exists(str(tmp_path / "unused-egress.yaml"))
    assert "spec.components.ingressGateways[1].k8s.overlays[0]" in run.result("Show what has no equivalent")["msg"]


def test_strict_mode_fails_naming_every_field(tmp_path):
    run = run_playbook(PLAYBOOK, {"operator_file": os.path.join(EXAMPLES, "overlays.yaml"), "chart_dir": CHARTS,
                                  "dest": str(tmp_path), "strict": True})
    assert not run.ok
    output = run.stdout + run.stderr
    assert "10 field(s) of the IstioOperator have no equivalent" in output
    for path in ("spec.components.pilot.k8s.overlays[0]", "spec.values.defaultRevision", "spec.components.base.k8s"):
        assert path in output
    assert not os.path.exists(str(tmp_path / "control-plane.yaml"))
