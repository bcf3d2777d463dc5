"""dual_stack through istio_manifest, without a cluster: check mode with a diff, a second run unchanged,
and the option turned off again rendering none of it."""
import os

import yaml

from tests.helpers.ansible import ROOT, run_module

CHARTS = os.path.join(ROOT, "tests", "fixtures", "charts")


def services(dest):
    return {d["metadata"]["name"]: d["spec"] for d in yaml.safe_load_all(open(dest)) if d and d["kind"] == "Service"}


def test_dual_stack_render_is_checked_idempotent_and_removable(tmp_path):
    dest = str(tmp_path / "cp.yaml")
    args = {"version": "v1.30.3", "chart_dir": CHARTS, "dest": dest, "dual_stack": True,
            "components": ["istiod", {"component": "gateway"}]}

    checked = run_module("servicemesh.istio.istio_manifest", args, check=True, diff=True)
    assert checked["changed"] is True and not os.path.exists(dest), checked.get("msg")
    assert "RequireDualStack" in checked["diff"]["after"] and checked["diff"]["before"] == ""

    first = run_module("servicemesh.istio.istio_manifest", args)
    assert first["changed"] is True
    assert first["values"]["pilot"]["env"]["ISTIO_DUAL_STACK"] == "true"
    rendered = services(dest)
    assert rendered["istiod"]["ipFamilies"] == ["IPv4", "IPv6"]
    assert rendered["istio-ingressgateway"]["ipFamilyPolicy"] == "RequireDualStack"

    assert run_module("servicemesh.istio.istio_manifest", args)["changed"] is False

    off = run_module("servicemesh.istio.istio_manifest", dict(args, dual_stack=False), diff=True)
    assert off["changed"] is True and "RequireDualStack" in off["diff"]["before"]
    text = open(dest).read()
    assert "RequireDualStack" not in text and "ISTIO_DUAL_STACK" not in text
