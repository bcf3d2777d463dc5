# -*- coding: utf-8 -*-
"""Who leaves a multi-cluster mesh and what each cluster runs on its data plane."""
from __future__ import annotations

import pytest

from ansible_collections.servicemesh.istio.plugins.filter.multicluster_membership import multicluster_membership
from ansible_collections.servicemesh.istio.plugins.module_utils._errors import IstioError
from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster import membership


def record(host, role, state="present", **extra):
    return dict({"host": host, "name": "c-" + host, "role": role, "state": state}, **extra)


def plan(records, host, topology="multi-primary", state="present"):
    return membership.plan_for(membership.mesh_from_records(records, topology, state), host)


def test_multi_primary_leaver_is_dropped_by_the_others_only():
    records = [record("a", "primary"), record("b", "primary"), record("c", "primary", "absent")]
    a = plan(records, "a")
    assert not a["leaving"] and a["leavers"] == ["c"] and a["problems"] == []
    assert a["reads"] == ["b"]
    assert a["drop_secrets"] == [{"host": "c", "name": "c-c"}]
    c = plan(records, "c")
    assert c["leaving"] and c["reads"] == ["a", "b"] and c["drop_secrets"] == []


def test_nobody_leaving_changes_nothing():
    records = [record("a", "primary"), record("b", "primary")]
    a = plan(records, "a")
    assert a["leavers"] == [] and a["drop_secrets"] == [] and a["reads"] == ["b"] and not a["leaving"]


def test_whole_mesh_removal_leaves_everyone_and_names_no_leavers():
    records = [record("a", "primary"), record("b", "primary")]
    a = plan(records, "a", state="absent")
    assert a["leaving"] and a["leavers"] == [] and a["reads"] == ["b"] and a["drop_secrets"] == []


def test_remote_leaves_its_primary():
    records = [record("p", "primary"), record("r1", "remote", primary_host="p"),
               record("r2", "remote", "absent", primary_host="p")]
    p = plan(records, "p", "primary-remote")
    assert p["problems"] == [] and p["reads"] == ["r1"] and p["drop_secrets"] == [{"host": "r2", "name": "c-r2"}]
    assert plan(records, "r1", "primary-remote")["reads"] == []


def test_a_primary_that_serves_staying_remotes_cannot_leave():
    records = [record("p", "primary", "absent"), record("q", "primary"), record("r", "remote", primary_host="p")]
    problems = plan(records, "q", "primary-remote")["problems"]
    assert len(problems) == 1 and "remote clusters r" in problems[0]
    # leaving together is fine
    records[2] = record("r", "remote", "absent", primary_host="p")
    assert plan(records, "q", "primary-remote")["problems"] == []


@pytest.mark.parametrize("leaver", ["x", "cfg"])
def test_external_and_config_clusters_leave_only_with_the_mesh(leaver):
    records = [record("x", "external"), record("cfg", "config"), record("r", "remote")]
    records = [dict(r, state="absent") if r["host"] == leaver else r for r in records]
    problems = plan(records, "r", "external")["problems"]
    assert len(problems) == 1 and leaver in problems[0] and "whole mesh" in problems[0]
    everyone = [dict(r, state="absent") for r in records]
    assert plan(everyone, "r", "external")["problems"] == []


def test_external_control_plane_drops_a_leaving_remote():
    records = [record("x", "external"), record("cfg", "config"), record("r", "remote", "absent")]
    x = plan(records, "x", "external")
    assert x["reads"] == [] and x["drop_secrets"] == [{"host": "r", "name": "c-r"}]


def test_cni_values_go_to_the_control_planes_that_inject():
    records = [record("p", "primary", cni=True, namespace="istio-system", control_plane="default"),
               record("r", "remote", cni=True, primary_host="p", namespace="istio-system", control_plane="default")]
    assert plan(records, "p", "primary-remote")["control_plane_values"] == {
        "istio-system/default": {"pilot": {"cni": {"enabled": True}}}}
    assert plan(records, "r", "primary-remote")["cni"] is True
    external = [record("x", "external"), record("cfg", "config", cni=True, namespace="external-istiod",
                                                control_plane="external-istiod")]
    x = plan(external, "x", "external")
    assert x["cni"] is False
    assert x["control_plane_values"] == {"external-istiod/external-istiod": membership.CNI_VALUES}
    assert plan(external, "cfg", "external")["control_plane_values"] == {
        "external-istiod/external-istiod": membership.CNI_VALUES}


def test_no_cni_no_values():
    records = [record("a", "primary"), record("b", "primary")]
    a = plan(records, "a")
    assert a["cni"] is False and a["control_plane_values"] == {}


def test_one_istiod_cannot_inject_with_and_without_the_cni():
    records = [record("p", "primary", cni=True), record("r", "remote", primary_host="p")]
    problems = plan(records, "r", "primary-remote")["problems"]
    assert len(problems) == 1 and "with the Istio CNI and on r without it" in problems[0]
    # multi-primary: each primary injects its own pods only
    assert plan([record("a", "primary", cni=True), record("b", "primary")], "b")["problems"] == []


def test_gateways_on_data_plane_clusters_only():
    options = {"ingress": {"enabled": True, "values": {"replicaCount": 2}},
               "egress": {"enabled": True, "name": "out", "namespace": "edge"}}
    records = [record("x", "external", **options), record("cfg", "config", **options)]
    assert plan(records, "x", "external")["gateways"] == []
    assert plan(records, "cfg", "external")["gateways"] == [
        {"preset": "ingress", "name": "istio-ingressgateway", "namespace": "istio-ingress",
         "values": {"replicaCount": 2}},
        {"preset": "egress", "name": "out", "namespace": "edge", "values": {}}]
    assert plan([record("a", "primary")], "a")["gateways"] == []


def test_bad_records_are_refused():
    with pytest.raises(IstioError, match="istio_cluster_state"):
        plan([record("a", "primary", "gone")], "a")
    with pytest.raises(IstioError, match="istio_cluster_role"):
        plan([record("a", "boss")], "a")
    with pytest.raises(IstioError, match="not a cluster of the mesh"):
        plan([record("a", "primary")], "z")


def test_filter_reports_errors_as_filter_errors():
    from ansible.errors import AnsibleFilterError
    with pytest.raises(AnsibleFilterError):
        multicluster_membership([record("a", "boss")], "a", "multi-primary")
    assert multicluster_membership([record("a", "primary")], "a", "multi-primary")["reads"] == []


def test_gateway_api_crds_on_staying_data_plane_clusters_from_one_source():
    source = {"gateway_api_file": "/tmp/standard-install.yaml"}
    records = [record("x", "external", **source), record("cfg", "config", **source),
               record("r", "remote", "absent", **source)]
    assert plan(records, "cfg", "external")["gateway_api"] is True
    assert plan(records, "x", "external")["gateway_api"] is False
    assert plan(records, "r", "external")["gateway_api"] is False
    both = [record("a", "primary", gateway_api_file="f", gateway_api_url="https://example.com/crds.yaml")]
    assert "not both" in plan(both, "a")["problems"][0]


def test_own_gateways_name_what_the_teardown_removes_first():
    options = {"ingress": {"enabled": True}, "egress": {"enabled": False}}
    records = [record("a", "primary", "absent", namespace="istio-system", **options)]
    assert plan(records, "a")["own_gateways"] == [{"name": "istio-eastwestgateway", "namespace": "istio-system"},
                                                  {"name": "istio-ingressgateway", "namespace": "istio-ingress"}]
    external = [record("x", "external", namespace="mesh-system", **options),
                record("cfg", "config", namespace="external-istiod", egress={"enabled": True, "name": "out"}),
                record("r", "remote", namespace="external-istiod")]
    # the external cluster's ingress to the external istiod, in its own namespace; no data-plane gateways there
    assert plan(external, "x", "external")["own_gateways"] == [
        {"name": "istio-ingressgateway", "namespace": "mesh-system"}]
    assert plan(external, "cfg", "external")["own_gateways"] == [
        {"name": "istio-eastwestgateway", "namespace": "external-istiod"},
        {"name": "out", "namespace": "istio-egress"}]
    assert plan(external, "r", "external")["own_gateways"] == [
        {"name": "istio-eastwestgateway", "namespace": "external-istiod"}]


def test_own_gateway_names_are_the_gateway_modules_defaults():
    from ansible_collections.servicemesh.istio.plugins.module_utils._multicluster import gateway
    assert membership.EASTWEST_GATEWAY == gateway.DEFAULT_NAMES[gateway.EASTWEST]
    assert membership.EXTERNAL_INGRESS_GATEWAY == gateway.DEFAULT_NAMES[gateway.INGRESS]
