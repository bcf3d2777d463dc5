"""The test API server driven by the real kubectl binary with default flags
(client-side and server-side apply with strict validation, get, label,
wait, scale, delete, rollout status, patch).

On the Python test server because these are that server's own tests.
"""
from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.integration

MANIFEST = """
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
data:
  mode: fast
"""

CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget, shortNames: [gd]}
  versions:
  - name: v1
    served: true
    storage: true
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
"""

GADGET = """
apiVersion: example.com/v1
kind: Gadget
metadata: {name: g1, namespace: shop}
spec: {size: 3}
"""


@pytest.fixture
def kube(kubeapi_clean, kubectl_binary):
    """Run kubectl against a fresh cluster: kube("get", "ns") -> stdout."""
    def run(*args: str, stdin: str = "", check: bool = True):
        result = kubeapi_clean.kubectl(*args, input=stdin or None, check=check, binary=kubectl_binary)
        return result.stdout if check else result
    run.cluster = kubeapi_clean
    return run


def test_version_and_api_resources(kube):
    assert "Server Version: v1.32.4" in kube("version")
    resources = kube("api-resources", "--no-headers")
    lines = {line.split()[0]: line.split() for line in resources.splitlines()}
    assert lines["deployments"] == ["deployments", "deploy", "apps/v1", "true", "Deployment"]
    assert lines["customresourcedefinitions"][1:3] == ["crd,crds", "apiextensions.k8s.io/v1"]
    assert lines["mutatingwebhookconfigurations"][1:3] == ["admissionregistration.k8s.io/v1", "false"]


def test_client_side_apply_create_configure_unchanged(kube):
    out = kube("apply", "-f", "-", stdin=MANIFEST)
    assert out.splitlines() == ["namespace/shop created", "deployment.apps/web created", "configmap/settings created"]
    assert kube("apply", "-f", "-", stdin=MANIFEST).splitlines() == [
        "namespace/shop unchanged", "deployment.apps/web unchanged", "configmap/settings unchanged"]
    before = kube.cluster.last_request()
    changed = MANIFEST.replace("mode: fast", "mode: slow")
    assert "configmap/settings configured" in kube("apply", "-f", "-", stdin=changed)
    writes = kube.cluster.writes(before)
    assert [(w["verb"], w["resource"], w["name"], w["patch_type"]) for w in writes] == [
        ("patch", "configmaps", "settings", "strategic")]
    data = json.loads(kube("get", "cm", "settings", "-n", "shop", "-o", "json"))
    assert data["data"] == {"mode": "slow"}


def test_get_table_selectors_and_chunks(kube):
    kube("apply", "-f", "-", stdin=MANIFEST)
    kube.cluster.create_pods("shop", 3, labels={"app": "web"})
    kube.cluster.create_pods("shop", 2, labels={"app": "db"})
    table = kube("get", "pods", "-n", "shop", "-l", "app=web")
    header, *rows = table.splitlines()
    assert header.split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"] and len(rows) == 3
    assert all(r.split()[1:3] == ["1/1", "Running"] for r in rows)
    deploy = kube("get", "deploy", "web", "-n", "shop").splitlines()
    assert deploy[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert deploy[1].split()[:4] == ["web", "2/2", "2", "2"]
    names = kube("get", "pods", "-n", "shop", "-l", "app in (web,db)", "--chunk-size=2", "-o", "name")
    assert len(names.splitlines()) == 5
    limits = [e for e in kube.cluster.requests() if e["resource"] == "pods" and e["verb"] == "list"]
    assert len(limits) >= 3
    assert kube("get", "all", "-n", "shop", "-o", "name").count("pod/") == 5


def test_server_side_apply_conflicts_and_force(kube):
    out = kube("apply", "--server-side", "-f", "-", stdin=MANIFEST)
    assert "deployment.apps/web serverside-applied" in out
    scaled = MANIFEST.replace("replicas: 2", "replicas: 5")
    result = kube("apply", "--server-side", "--field-manager=other", "-f", "-", stdin=scaled, check=False)
    assert result.returncode != 0
    assert 'conflict with "kubectl"' in result.stderr and ".spec.replicas" in result.stderr
    kube("apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", "-", stdin=scaled)
    assert kube("get", "deploy", "web", "-n", "shop", "-o", "jsonpath={.spec.replicas}") == "5"
    before = kube.cluster.last_request()
    kube("apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", "-", stdin=scaled)
    assert kube.cluster.writes(before) == []


def test_server_dry_run(kube):
    result = kube("apply", "--dry-run=server", "-f", "-", stdin=MANIFEST.split("---", maxsplit=1)[0])
    assert "namespace/shop created (server dry run)" in result
    assert kube("get", "ns", "shop", check=False).returncode != 0


def test_crd_wait_and_custom_resources(kube):
    kube("apply", "-f", "-", stdin=MANIFEST.split("---", maxsplit=1)[0])
    kube("apply", "-f", "-", stdin=CRD)
    assert "condition met" in kube("wait", "--for=condition=Established", "crd/gadgets.example.com",
                                   "--timeout=10s")
    assert "gadget.example.com/g1 created" in kube("apply", "-f", "-", stdin=GADGET)
    table = kube("get", "gd", "-n", "shop").splitlines()
    assert table[0].split() == ["NAME", "SIZE"] and table[1].split() == ["g1", "3"]
    assert "gadget.example.com/g1 labeled" in kube("label", "gadget", "g1", "-n", "shop", "tier=gold")
    assert kube("get", "gd", "-n", "shop", "-l", "tier=gold", "-o", "name") == "gadget.example.com/g1\n"
    result = kube("patch", "gd", "g1", "-n", "shop", "-p", '{"spec":{"size":4}}', check=False)
    assert result.returncode != 0 and "UnsupportedMediaType" in result.stderr or "415" in result.stderr \
        or "unknown format" in result.stderr
    kube("patch", "gd", "g1", "-n", "shop", "--type=merge", "-p", '{"spec":{"size":4}}')
    assert kube("get", "gd", "g1", "-n", "shop", "-o", "jsonpath={.spec.size}") == "4"
    strict = kube("apply", "-f", "-", stdin=GADGET.replace("size: 3", "size: 3, extra: 1"), check=False)
    assert strict.returncode != 0 and 'unknown field "spec.extra"' in strict.stderr
    kube("delete", "crd", "gadgets.example.com")
    assert kube("get", "gadgets", "-n", "shop", check=False).returncode != 0


def test_wait_available_rollout_and_unready(kube):
    kube("apply", "-f", "-", stdin=MANIFEST)
    assert "condition met" in kube("wait", "--for=condition=Available", "deploy/web", "-n", "shop", "--timeout=10s")
    assert "successfully rolled out" in kube("rollout", "status", "deploy/web", "-n", "shop", "--timeout=10s")
    kube.cluster.set_unready("deployment", "shop", "web")
    result = kube("wait", "--for=condition=Available", "deploy/web", "-n", "shop", "--timeout=1s", check=False)
    assert result.returncode != 0 and "timed out" in result.stderr
    kube.cluster.set_unready("deployment", "shop", "web", unready=False)
    assert "condition met" in kube("wait", "--for=condition=Available", "deploy/web", "-n", "shop", "--timeout=5s")


def test_scale_label_and_delete(kube):
    kube("apply", "-f", "-", stdin=MANIFEST)
    assert "deployment.apps/web scaled" in kube("scale", "deploy/web", "-n", "shop", "--replicas=3")
    assert kube("get", "deploy", "web", "-n", "shop", "-o", "jsonpath={.status.readyReplicas}") == "3"
    assert "configmap/settings labeled" in kube("label", "cm", "settings", "-n", "shop", "team=a")
    labels = json.loads(kube("get", "cm", "settings", "-n", "shop", "-o", "json"))["metadata"]["labels"]
    assert labels == {"team": "a"}
    deploy = json.loads(kube("get", "deploy", "web", "-n", "shop", "-o", "json"))
    kube.cluster.create_pods("shop", 2, labels={"app": "web"},
                             owner={"kind": "Deployment", "name": "web"})
    assert "deployment.apps \"web\" deleted" in kube("delete", "deploy", "web", "-n", "shop")
    assert kube("get", "pods", "-n", "shop", "-o", "name") == ""
    assert deploy["metadata"]["uid"]
    assert 'namespace "shop" deleted' in kube("delete", "ns", "shop")
    assert kube("get", "ns", "shop", check=False).returncode != 0


def test_tokens_and_auth(kube):
    kube("create", "namespace", "ops")
    kube("create", "serviceaccount", "robot", "-n", "ops")
    token = kube("create", "token", "robot", "-n", "ops").strip()
    assert token.count(".") == 2
    assert kube("auth", "can-i", "create", "deployments", "-n", "ops").strip() == "yes"


def test_retry_after_429_is_honoured(kube):
    kube("create", "namespace", "ops")
    kube.cluster.inject_fault(verb="list", resource="configmaps", status=429, retry_after=1, count=1)
    assert "kube-root-ca.crt" in kube("get", "cm", "-n", "ops")
    codes = [e["code"] for e in kube.cluster.requests() if e["resource"] == "configmaps"]
    assert codes == [429, 200]
