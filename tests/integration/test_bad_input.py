"""Bad input, across every module: refused with a message naming the option, no traceback, and no write
(counted on the server, the real control plane's audit log)."""
import json
import os

import pytest

from tests.cluster.fixtures import on_python_server
from tests.helpers.ansible import ROOT, run_module, run_playbook

pytestmark = pytest.mark.integration
CHARTS = os.path.join(ROOT, "tests", "fixtures", "charts")

# (module, options, what the message must say)
CASES = [
    # istio_revision
    ("istio_revision", {"version": "1.29.6.1"}, "1.29.6.1"),
    ("istio_revision", {"version": "v9.99.0"}, "v9.99.0"),
    ("istio_revision", {"update_strategy": {"type": "Blue"}}, "Blue"),
    ("istio_revision", {"update_strategy": {"type": "RevisionBased",
                                            "inactive_revision_deletion_grace_period_seconds": -1}},
     "inactive_revision_deletion_grace_period_seconds must be at least 0"),
    ("istio_revision", {"wait_timeout": -1}, "wait_timeout must be more than 0"),
    ("istio_revision", {"wait_timeout": 0}, "wait_timeout must be more than 0"),
    ("istio_revision", {"request_timeout": -3}, "request_timeout must be more than 0"),
    ("istio_revision", {"values": "big"}, "values"),
    ("istio_revision", {"values": {"global": {"proxy": {"resources": []}}}}, "values.global.proxy.resources"),
    ("istio_revision", {"values": {"pilot": {"resources": {"requests": {"cpu": {"a": 1}}}}}},
     "values.pilot.resources.requests.cpu"),
    ("istio_revision", {"values": {"pilot": {"replicaCount": "2"}}}, "values.pilot.replicaCount"),
    ("istio_revision", {"values": {"pilot": {"env": {"PILOT_TRACE_SAMPLING": 5}}}}, "values.pilot.env"),
    ("istio_revision", {"values": {"global": {"istioNamespace": "elsewhere"}}}, "values.global.istioNamespace"),
    ("istio_revision", {"values": {"revision": "mine"}}, "values.revision"),
    ("istio_revision", {"values": {"profile": "default"}}, "values.profile"),
    ("istio_revision", {"values": {"global": {"platform": "aks"}}}, "values.global.platform"),
    ("istio_revision", {"profile": "tiny"}, "profile"),
    ("istio_revision", {"platform": "mars"}, "platform"),
    ("istio_revision", {"name": "Bad_Name"}, "Bad_Name"),
    ("istio_revision", {"namespace": "Not A Namespace"}, "Not A Namespace"),
    ("istio_revision", {"name": "other", "namespace": "missing-namespace", "allow_selector_overlap": True},
     "create_namespace"),
    ("istio_revision", {"state": "gone"}, "state"),
    ("istio_revision", {"chart_dir": "/nonexistent/charts"}, "/nonexistent/charts"),
    ("istio_revision", {"version_catalog": "/nonexistent/catalog.yml"}, "/nonexistent/catalog.yml"),
    ("istio_revision", {"kubeconfig": "/nonexistent/kubeconfig"}, "/nonexistent/kubeconfig"),
    ("istio_revision", {"bogus_option": 1}, "bogus_option"),
    ("istio_revision", {"install_crds": "sometimes"}, "install_crds"),
    ("istio_revision", {"version": "v1.30.3", "tags": ["default"]}, "tag 'default' is named like the revision"),
    ("istio_revision", {"version": "v1.30.3", "tags": ["Prod!"]}, "Prod!"),
    # istio_control_plane
    ("istio_control_plane", {"version": "v1.30.3", "tags": ["default"]}, "tag 'default' is named like the revision"),
    ("istio_control_plane", {"update_strategy": {"type": "Blue"}}, "Blue"),
    ("istio_control_plane", {"version": "v1.30.3", "values": {"pilot": {"resources": []}}}, "values.pilot.resources"),
    ("istio_control_plane", {"version": "v1.30.3", "prune_wait": "maybe"}, "prune_wait"),
    ("istio_control_plane", {"version": "v1.30.3", "wait_timeout": 0}, "wait_timeout"),
    ("istio_control_plane", {"version": "v1.30.3", "tracing": {"provider": "jaeger", "service": "x"}}, "jaeger"),
    ("istio_control_plane", {"version": "v1.30.3", "cert_manager": {"namespace": "nope"}},
     "istio-csr's Service nope/cert-manager-istio-csr does not exist"),
    ("istio_control_plane", {"version": "v1.30.3", "cert_manager": {"issuer": {"kind": "Vault"}}}, "Vault"),
    # istio_observability
    ("istio_observability", {"revision": "nope", "prometheus": True}, "revision 'nope' does not exist"),
    ("istio_observability", {"control_plane": "other"}, "control plane 'other' is not installed"),
    ("istio_observability", {"tracing_provider": "tracing", "tracing_sampling": 150}, "tracing_sampling"),
    ("istio_observability", {"kiali": "yes"}, "kiali"),
    # istio_migrate
    ("istio_migrate", {"move": "namespaces"}, "moving namespaces needs the namespaces to move"),
    ("istio_migrate", {"move": "namespaces", "namespaces": ["nope"]}, "namespaces to move do not exist: nope"),
    ("istio_migrate", {"control_plane": "other"}, "control plane other is not installed"),
    ("istio_migrate", {"revision": "nope"}, "revision 'nope' does not exist"),
    ("istio_migrate", {"batch_size": 0}, "batch_size"),
    ("istio_migrate", {"restart_kinds": ["Pod"]}, "restart_kinds"),
    # istio_revision_tag
    ("istio_revision_tag", {"name": "Prod!", "revision": "default"}, "Prod!"),
    ("istio_revision_tag", {"name": "prod", "revision": "nope"}, "revision 'nope' does not exist"),
    ("istio_revision_tag", {"name": "prod", "control_plane": "nope"}, "nope"),
    ("istio_revision_tag", {"name": "prod", "revision": "default", "state": "maybe"}, "state"),
    ("istio_revision_tag", {"name": "prod", "revision": "default", "wait_timeout": -10}, "wait_timeout"),
    # istio_gateway
    ("istio_gateway", {"name": "ingress", "revision": "nope"}, "revision 'nope' is neither a revision nor a"),
    ("istio_gateway", {"name": "ingress", "preset": "sideways"}, "preset"),
    ("istio_gateway", {"name": "ingress", "preset": "eastwest"}, "network"),
    ("istio_gateway", {"name": "ingress", "network": "net1"}, "network is for the eastwest preset"),
    ("istio_gateway", {"name": "ingress", "values": {"resources": "big"}}, "values.resources"),
    ("istio_gateway", {"name": "ingress", "expose_istiod": "yes"}, "expose_istiod"),
    ("istio_gateway", {"name": "ingress", "version": "v0.1.0"}, "v0.1.0"),
    # istio_cni and istio_ztunnel
    ("istio_cni", {"version": "banana"}, "banana"),
    ("istio_cni", {"values": {"cni": {"ambient": {"enabled": "yes"}}}}, "values.cni.ambient.enabled"),
    ("istio_cni", {"platform": "mars"}, "platform"),
    ("istio_cni", {"namespace": "kube-system", "values": {"cni": {"resources": "big"}}}, "values.cni.resources"),
    ("istio_ztunnel", {"values": {"resources": "big"}}, "values.resources"),
    ("istio_ztunnel", {"revision": "nope"}, "nope"),
    ("istio_ztunnel", {"values": {"ztunnel": {"env": {"LEVEL": 3}}}}, "values.ztunnel.env"),
    ("istio_ztunnel", {"wait_timeout": -1}, "wait_timeout"),
    # istio_prune, istio_info, istio_node_rollout
    ("istio_prune", {"grace_period_seconds": -1}, "grace_period_seconds must be at least 0"),
    ("istio_prune", {"mesh_clusters": [{"kubeconfig": "/x"}]}, "name"),
    ("istio_info", {"version_catalog": "/nonexistent/catalog.yml"}, "/nonexistent/catalog.yml"),
    ("istio_info", {"request_timeout": 0}, "request_timeout"),
    ("istio_node_rollout", {"poll_interval": 0}, "poll_interval must be more than 0"),
    ("istio_node_rollout", {"wait_timeout": -5}, "wait_timeout must be more than 0"),
    ("istio_node_rollout", {"nodes": "node-1", "namespace": "missing-namespace"}, "missing-namespace"),
    # istio_labels
    ("istio_labels", {"namespaces": {"app": "istio-injection=enabled"}}, "namespaces.app must be a mapping"),
    ("istio_labels", {"namespaces": {"app": {"istio.io/rev": "not valid!"}}}, "istio.io/rev"),
    ("istio_labels", {"services": [{"name": "web"}]}, "namespace"),
    ("istio_labels", {"namespaces": "app"}, "namespaces"),
    # istio_waypoint
    ("istio_waypoint", {"namespace": "app", "waypoint_for": "everything"}, "waypoint_for"),
    ("istio_waypoint", {"namespace": "app", "name": "Bad Name"}, "Bad Name"),
    ("istio_waypoint", {"namespace": "app", "allowed_namespaces": ["a"], "allowed_namespace_selector": {}},
     "allowed_namespaces"),
    ("istio_waypoint", {"namespace": "app", "enroll_pods": ["web-0"]}, "waypoint_for to workload or all"),
    ("istio_waypoint", {"namespace": "app", "waypoint_for": "all", "enroll_service_accounts": ["a/b/c"]},
     "enrolled service account 'a/b/c'"),
    ("istio_labels", {"pods": [{"name": "web-0", "namespace": "app"}]}, "labels"),
    # istio_gateway_api
    ("istio_gateway_api", {}, "src"),
    ("istio_gateway_api", {"src": "/nonexistent/bundle.yaml"}, "/nonexistent/bundle.yaml"),
    ("istio_gateway_api", {"src": os.path.join(ROOT, "galaxy.yml")}, "has no metadata.name"),
    # istio_cacerts and istio_remote_secret
    ("istio_cacerts", {"key_size": 1024}, "key_size"),
    ("istio_cacerts", {"validity_days": 0}, "validity_days must be more than 0"),
    ("istio_cacerts", {"root_cert": "x"}, "root_key"),
    ("istio_cacerts", {"root_cert_file": "/nonexistent/root-cert.pem", "root_key_file": "/nonexistent/root-key.pem"},
     "/nonexistent/root-cert.pem"),
    ("istio_remote_secret", {"name": "cluster2"}, "remote"),
    ("istio_remote_secret", {"name": "cluster2", "type": "secret", "remote": {}}, "type"),
    # istio_manifest
    ("istio_manifest", {"components": ["base", "sidecar"]}, "sidecar"),
    ("istio_manifest", {"dest": "/etc/hostname/manifest.yaml"}, "cannot write dest /etc/hostname/manifest.yaml"),
    # istio_mtls
    ("istio_mtls", {"mode": "DISABLE"}, "mode"),
    ("istio_mtls", {"namespaces": ["Bad_Name"]}, "Bad_Name"),
    ("istio_mtls", {"namespaces": ["missing-namespace"]}, "namespaces missing-namespace do not exist"),
    ("istio_mtls", {"allow_uninjected": "sometimes"}, "allow_uninjected"),
    # istio_cluster_address, istio_gateway_certificate, istio_multicluster_plan
    ("istio_cluster_address", {"no_such_option": 1}, "no_such_option"),
    ("istio_gateway_certificate", {"name": "istiod-tls", "key_size": 1024}, "key_size"),
    ("istio_multicluster_plan", {"no_such_option": 1}, "no_such_option"),
    # istio_ambient_plan
    ("istio_ambient_plan", {"state": "gone"}, "istio_state must be present or absent, not 'gone'"),
    ("istio_ambient_plan", {"profile": "default"}, "istio_profile must be ambient or openshift-ambient"),
    ("istio_ambient_plan", {"ambient_namespaces": ["nowhere"]}, "namespaces nowhere do not exist"),
    ("istio_ambient_plan", {"version": "v1.29.6", "ztunnel_version": "v1.30.3"},
     "ztunnel v1.30.3 must not be newer than the control plane it follows (v1.29.6)"),
    ("istio_ambient_plan", {"waypoints": ["app"]}, "istio_waypoints[0] must be a mapping with a namespace"),
    ("istio_ambient_plan", {"gateway_api_crds_file": "/nonexistent/crds.yaml"}, "/nonexistent/crds.yaml is not a"),
    ("istio_ambient_plan", {"cni_values": {"cni": {"ambient": {"enabled": "yes"}}}},
     "istio_cni_values.cni.ambient.enabled"),
    ("istio_ambient_plan", {"version_catalog": "/nonexistent/catalog.yml"}, "/nonexistent/catalog.yml"),
    # istio_report
    ("istio_report", {"dest": "/tmp/mesh.txt"}, "dest /tmp/mesh.txt must end in .mmd"),
    ("istio_report", {"dest": "/etc/hostname/mesh.mmd"}, "cannot write dest /etc/hostname/mesh.mmd"),
    ("istio_report", {"version_catalog": "/nonexistent/catalog.yml"}, "/nonexistent/catalog.yml"),
]


# (role, entry point, variables, what the message must say)
ROLE_CASES = [
    ("control_plane", "main", {"istio_update_strategy": {"type": "Blue"}}, "Blue"),
    ("control_plane", "main", {"istio_tags": {"prod": True}}, "istio_tags"),
    ("control_plane", "main", {"istio_update_strategy": {"type": "RevisionBased"}, "istio_version": "v1.30.3",
                               "istio_tags": ["default-v1-30-3"]}, "tag 'default-v1-30-3' is named like the revision"),
    ("control_plane", "main", {"istio_state": "gone"}, "istio_state"),
    ("control_plane", "main", {"istio_values": "big"}, "istio_values"),
    ("control_plane", "main", {"istio_values": {"pilot": {"resources": []}}}, "values.pilot.resources"),
    ("control_plane", "main", {"istio_wait_timeout": -1}, "wait_timeout must be more than 0"),
    ("control_plane", "migrate", {"istio_canary_batch_size": 0}, "istio_canary_batch_size"),
    ("cni", "main", {"istio_cni_values": "big"}, "istio_cni_values"),
    ("ztunnel", "main", {"istio_ztunnel_values": {"resources": "big"}}, "values.resources"),
]


@pytest.fixture(scope="module")
def cluster(request):
    """One cluster for the whole table (reset before and after), with an installed revision to refer to."""
    handle = request.getfixturevalue("kubeapi" if on_python_server() else "k8s_pool")
    cluster = handle if on_python_server() else handle.take(1)[0]
    cluster.reset()
    cluster.kubectl("create", "namespace", "istio-system")
    cluster.kubectl("create", "namespace", "app")
    installed = run_module("servicemesh.istio.istio_revision", {"kubeconfig": cluster.kubeconfig,
                                                                "chart_dir": CHARTS, "version": "v1.29.6"})
    assert not installed.get("failed"), installed
    yield cluster
    cluster.reset()


def test_there_are_enough_cases_and_every_module_has_some():
    assert len(CASES) >= 60
    modules = {name[:-3] for name in os.listdir(os.path.join(ROOT, "plugins", "modules")) if name.endswith(".py")}
    assert modules == {module for module, _unused, _unused in CASES}


def module_args(cluster, module, options):
    args = {"kubeconfig": cluster.kubeconfig}
    if module in ("istio_revision", "istio_revision_tag", "istio_cni", "istio_ztunnel", "istio_gateway",
                  "istio_manifest", "istio_control_plane", "istio_migrate"):
        args["chart_dir"] = CHARTS
    args.update(options)
    return args


def test_bad_input_is_refused_before_any_write(cluster, tmp_path):
    """Every case is a task of one playbook (quicker than a process each); each must fail on its own."""
    tasks = [{"name": "case %d" % index, "servicemesh.istio." + module: module_args(cluster, module, options),
              "ignore_errors": True} for index, (module, options, _unused) in enumerate(CASES)]
    path = tmp_path / "cases.json"
    path.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    mark = cluster.last_request()
    run = run_playbook(str(path), timeout=1200)
    problems = []
    for index, (module, options, expected) in enumerate(CASES):
        result = run.result("case %d" % index)
        message = str(result.get("msg", ""))
        where = "case %d (%s %s)" % (index, module, options)
        if not result.get("failed"):
            problems.append("%s was accepted" % where)
        elif expected not in message:
            problems.append("%s: %r does not say %r" % (where, message, expected))
        elif "Traceback" in str(result.get("module_stderr", "")) + str(result.get("exception", "")):
            problems.append("%s: a traceback" % where)
        elif "********" in message:
            problems.append("%s: a masked message %r" % (where, message))
    assert problems == []
    assert cluster.writes(since=mark) == []


@pytest.mark.parametrize("role,entry,variables,expected", ROLE_CASES,
                         ids=["%s-%d" % (case[0], index) for index, case in enumerate(ROLE_CASES)])
def test_bad_role_input_is_refused_before_any_write(cluster, tmp_path, role, entry, variables, expected):
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [{
        "name": "the role", "ansible.builtin.include_role": dict(
            {"name": "servicemesh.istio." + role}, **({} if entry == "main" else {"tasks_from": entry})),
        "vars": dict({"istio_kubeconfig": cluster.kubeconfig, "istio_chart_dir": CHARTS}, **variables)}]}]
    path = tmp_path / "play.json"
    path.write_text(json.dumps(play))
    mark = cluster.last_request()
    run = run_playbook(str(path))
    assert not run.ok
    assert expected in run.stdout, run.stdout[-3000:]
    assert "Traceback" not in run.stdout + run.stderr
    assert cluster.writes(since=mark) == []
