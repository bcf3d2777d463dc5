"""istio_mtls and istio_report through Ansible, on the real control plane, with the fixture charts."""
import re
import time
from xml.etree import ElementTree

import pytest

from tests.integration.test_control_plane_modules import REVISION_BASED, call, cluster  # noqa: F401 (a fixture) pylint: disable=unused-import
from tests.integration.test_roles_control_plane import explain, playbook

pytestmark = pytest.mark.integration


def peer_authentication_mode(cluster, namespace):
    found = cluster.kubectl("get", "peerauthentication", "default", "-n", namespace, "-o",
                            "jsonpath={.spec.mtls.mode}", check=False)
    return found.stdout.strip() if found.returncode == 0 else None


USERS_POLICY = """
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: pay}
spec: {mtls: {mode: PERMISSIVE}}
"""


def create_with_retries(cluster, manifest, attempts=5):
    """kubectl apply through the validation webhook; the test control plane's first webhook call after a
    reset can meet a connection the API server kept to the previous istiod and fail with a reset."""
    for _attempt in range(attempts - 1):
        if cluster.kubectl("apply", "-f", "-", input=manifest, check=False).returncode == 0:
            return
        time.sleep(1)
    cluster.kubectl("apply", "-f", "-", input=manifest)


def test_strict_mtls_refused_while_pods_are_not_injected_then_allowed_switched_back_and_removed(cluster):
    assert not call(cluster, "istio_revision", version="v1.30.3").get("failed")
    for namespace in ("app", "legacy"):
        cluster.kubectl("create", "namespace", namespace)
    cluster.kubectl("label", "namespace", "app", "istio-injection=enabled")
    cluster.create_pods("app", 1, inject=True, name_prefix="web")
    [legacy] = cluster.create_pods("legacy", 1, name_prefix="old")
    legacy_pod = "legacy/" + legacy["metadata"]["name"]

    mark = cluster.last_request()
    refused = call(cluster, "istio_mtls", mode="STRICT")
    assert refused.get("failed") and legacy_pod in refused["msg"] and "allow_uninjected" in refused["msg"], refused
    assert "app/web" not in refused["msg"], "an injected pod was reported"
    predicted = call(cluster, "istio_mtls", check=True, diff=True, allow_uninjected=True)
    assert predicted["changed"] and "STRICT" in str(predicted["diff"]["after"])
    assert cluster.writes(since=mark) == [], "a refusal or check mode wrote"
    assert peer_authentication_mode(cluster, "istio-system") is None

    strict = call(cluster, "istio_mtls", allow_uninjected=True)
    assert strict["changed"] and strict["uninjected"] == [legacy_pod] and strict["mesh_wide"], strict
    assert peer_authentication_mode(cluster, "istio-system") == "STRICT"
    mark = cluster.last_request()
    assert call(cluster, "istio_mtls", allow_uninjected=True)["changed"] is False
    assert cluster.writes(since=mark) == []

    permissive = call(cluster, "istio_mtls", mode="PERMISSIVE")
    assert permissive["changed"] and permissive["uninjected"] == [], "nothing is checked for permissive"
    assert peer_authentication_mode(cluster, "istio-system") == "PERMISSIVE"

    removed = call(cluster, "istio_mtls", state="absent")
    assert removed["changed"] and peer_authentication_mode(cluster, "istio-system") is None
    mark = cluster.last_request()
    assert call(cluster, "istio_mtls", state="absent")["changed"] is False
    assert cluster.writes(since=mark) == []


def test_per_namespace_mtls_leaves_a_users_own_policy_alone_unless_forced(cluster):
    assert not call(cluster, "istio_revision", version="v1.30.3").get("failed")
    for namespace in ("shop", "pay"):
        cluster.kubectl("create", "namespace", namespace)
    create_with_retries(cluster, USERS_POLICY)
    mark = cluster.last_request()
    refused = call(cluster, "istio_mtls", name="apps", namespaces=["shop", "pay"])
    assert refused.get("failed") and "pay/default" in refused["msg"] and "force" in refused["msg"], refused
    assert cluster.writes(since=mark) == []
    forced = call(cluster, "istio_mtls", name="apps", namespaces=["shop", "pay"], force=True)
    assert forced["changed"] and forced["namespaces"] == ["pay", "shop"], forced
    assert forced["adopted"] == ["PeerAuthentication.security.istio.io pay/default"]
    assert (peer_authentication_mode(cluster, "shop"), peer_authentication_mode(cluster, "pay")) == ("STRICT",
                                                                                                     "STRICT")
    assert peer_authentication_mode(cluster, "istio-system") is None, "per namespace is not mesh-wide"
    call(cluster, "istio_mtls", name="apps", state="absent")
    assert peer_authentication_mode(cluster, "shop") is None
    assert peer_authentication_mode(cluster, "pay") == "STRICT", "the user's policy is left in place"


def test_report_after_a_canary_install_shows_revisions_tags_namespaces_and_proxies(cluster, tmp_path):
    call(cluster, "istio_revision", version="v1.29.6", update_strategy=REVISION_BASED)
    call(cluster, "istio_revision_tag", name="default", control_plane="default")
    for namespace, label in (("shop", "istio-injection=enabled"), ("canary", "istio.io/rev=default-v1-30-3"),
                             ("mesh", "istio.io/dataplane-mode=ambient")):
        cluster.kubectl("create", "namespace", namespace)
        cluster.kubectl("label", "namespace", namespace, label)
    cluster.create_pods("shop", 2, inject=True, name_prefix="web")
    call(cluster, "istio_revision", version="v1.30.3", update_strategy=REVISION_BASED)
    cluster.create_pods("canary", 1, inject=True, name_prefix="api")

    dest = tmp_path / "out" / "mesh.mmd"
    result = call(cluster, "istio_report", dest=str(dest))
    lines = result["report"]
    assert result["changed"] and result["files"] == [str(dest), str(tmp_path / "out" / "mesh.svg")], result
    assert any(re.fullmatch(r"  default \(istio-system\): Healthy, v1\.30\.3, RevisionBased, active revision "
                            r"default-v1-30-3, 2 revisions \(2 ready, 2 in use\)", line) for line in lines), lines
    old = next(line for line in lines if line.startswith("  default-v1-29-6 (istio-system): "))
    assert "Healthy, v1.29.6, in use, held by: tag default points at it" in old and "pod shop/web-" in old, old
    assert "  default (istio-system) -> default-v1-29-6: Healthy" in lines
    assert "  shop: revision default-v1-29-6 (tag default)" in lines
    assert "  canary: revision default-v1-30-3" in lines
    assert "  mesh: dataplane mode ambient" in lines
    proxies = lines[lines.index("Proxies by revision:") + 1:lines.index("Proxies by revision:") + 3]
    assert re.fullmatch(r"  default-v1-29-6: \S+ x2", proxies[0]) and re.fullmatch(
        r"  default-v1-30-3: \S+ x1", proxies[1]), proxies
    assert "CNI: not installed" in lines and "ztunnel: not installed" in lines

    mermaid = dest.read_text()
    assert mermaid == result["mermaid"] and "ns_shop --> tag_istio_system_default" in mermaid
    root = ElementTree.fromstring((tmp_path / "out" / "mesh.svg").read_text())
    assert len(root.findall("{http://www.w3.org/2000/svg}g")) == mermaid.count('["') - mermaid.count("subgraph")

    assert call(cluster, "istio_report", dest=str(dest))["changed"] is False
    fresh = tmp_path / "fresh.md"
    predicted = call(cluster, "istio_report", check=True, dest=str(fresh))
    assert predicted["changed"] and not fresh.exists()


def test_the_control_plane_role_sets_strict_mtls_and_its_removal_takes_the_policy_away(cluster):
    cluster.kubectl("create", "namespace", "legacy")
    [legacy] = cluster.create_pods("legacy", 1, name_prefix="old")
    strict = {"istio_version": "v1.30.3", "istio_mtls_mode": "STRICT"}
    mark = cluster.last_request()
    refused = playbook(cluster, "install", **strict)
    assert not refused.ok and "legacy/" + legacy["metadata"]["name"] in refused.stdout, explain(refused)
    assert cluster.writes(since=mark) == [], "refused before the control plane was installed"
    assert peer_authentication_mode(cluster, "istio-system") is None
    allowed = playbook(cluster, "install", istio_mtls_allow_uninjected=True, **strict)
    assert allowed.ok, explain(allowed)
    assert peer_authentication_mode(cluster, "istio-system") == "STRICT"
    removed = playbook(cluster, "uninstall")
    assert removed.ok, explain(removed)
    assert peer_authentication_mode(cluster, "istio-system") is None
