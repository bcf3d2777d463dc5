from xml.etree import ElementTree

from ansible_collections.servicemesh.istio.plugins.module_utils import _report as report


def facts():
    """A RevisionBased control plane half-way through a canary upgrade, with an ambient namespace."""
    old_usage = {"reasons": ["tag default points at it", "namespace shop", "pod shop/web-1"]}
    return {
        "control_planes": [{"name": "default", "namespace": "istio-system", "status": "Healthy", "version": "v1.30.3",
                            "strategy": "RevisionBased", "active_revision": "default-v1-30-3", "revisions": 2,
                            "ready": 2, "in_use": 1}],
        "revisions": [
            {"name": "default-v1-29-6", "namespace": "istio-system", "control_plane": "default", "status": "Healthy",
             "version": "v1.29.6", "in_use": True, "usage": old_usage},
            {"name": "default-v1-30-3", "namespace": "istio-system", "control_plane": "default", "status": "Healthy",
             "version": "v1.30.3", "in_use": False, "usage": {"reasons": []}}],
        "tags": [{"name": "default", "namespace": "istio-system", "revision": "default-v1-29-6", "status": "Healthy"}],
        "namespaces": [{"name": "bookinfo", "reference": None, "revision": None, "dataplane_mode": "ambient"},
                       {"name": "canary", "reference": "default-v1-30-3", "revision": "default-v1-30-3",
                        "dataplane_mode": None},
                       {"name": "shop", "reference": "default", "revision": "default-v1-29-6",
                        "dataplane_mode": None}],
        "pods": [{"namespace": "shop", "name": "web-1", "revision": "default-v1-29-6", "injected": True,
                  "proxy_version": "1.29.6", "running": True},
                 {"namespace": "shop", "name": "web-2", "revision": "default-v1-29-6", "injected": True,
                  "proxy_version": "1.29.6", "running": True},
                 {"namespace": "canary", "name": "api-1", "revision": "default-v1-30-3", "injected": True,
                  "proxy_version": "1.30.3", "running": True},
                 {"namespace": "shop", "name": "job-1", "revision": "default-v1-29-6", "injected": True,
                  "proxy_version": "1.29.5", "running": False}],
        "cni": {"namespace": "istio-cni", "version": "v1.30.3", "ready": True, "not_ready_reason": ""},
        "ztunnel": {"namespace": "istio-system", "version": "v1.30.3", "ready": False,
                    "not_ready_reason": "0 of 3 pods ready", "revision": "default-v1-30-3"},
        "waypoints": [{"name": "waypoint", "namespace": "bookinfo", "ready": True, "not_ready_reason": "",
                       "enrolled": [{"apiVersion": "v1", "kind": "Namespace", "name": "bookinfo"}]}],
    }


def test_proxy_versions_count_running_injected_pods_by_revision():
    assert report.proxy_versions(facts()["pods"]) == {"default-v1-29-6": {"1.29.6": 2},
                                                      "default-v1-30-3": {"1.30.3": 1}}


def test_the_report_says_what_holds_each_revision_and_where_each_namespace_goes():
    lines = report.report_lines(facts())
    assert lines[0] == "Control planes:"
    assert ("  default (istio-system): Healthy, v1.30.3, RevisionBased, active revision default-v1-30-3, "
            "2 revisions (2 ready, 1 in use)") in lines
    assert ("  default-v1-29-6 (istio-system): Healthy, v1.29.6, in use, held by: tag default points at it; "
            "namespace shop; pod shop/web-1") in lines
    assert "  default-v1-30-3 (istio-system): Healthy, v1.30.3, not in use, held by: nothing" in lines
    assert "  default (istio-system) -> default-v1-29-6: Healthy" in lines
    assert "  shop: revision default-v1-29-6 (tag default)" in lines
    assert "  canary: revision default-v1-30-3" in lines
    assert "  bookinfo: dataplane mode ambient" in lines
    assert "  default-v1-29-6: 1.29.6 x2" in lines
    assert "CNI: v1.30.3 in istio-cni, ready" in lines
    assert "ztunnel: v1.30.3 in istio-system, not ready (0 of 3 pods ready), follows default-v1-30-3" in lines
    assert "  waypoint (bookinfo): ready, namespace bookinfo" in lines


def test_an_empty_cluster_reports_none_everywhere():
    lines = report.report_lines({})
    assert lines.count("  none") == 6
    assert "CNI: not installed" in lines and "ztunnel: not installed" in lines


def test_the_graph_links_namespaces_through_tags_to_revisions():
    graph = report.mesh_graph(facts())
    edges = set(graph.edges)
    assert ("cp_istio_system_default", "rev_istio_system_default_v1_30_3", "active") in edges
    assert ("cp_istio_system_default", "rev_istio_system_default_v1_29_6", "") in edges
    assert ("tag_istio_system_default", "rev_istio_system_default_v1_29_6", "") in edges
    assert ("ns_shop", "tag_istio_system_default", "") in edges
    assert ("ns_canary", "rev_istio_system_default_v1_30_3", "") in edges
    assert ("ns_bookinfo", "ztunnel", "ambient") in edges
    assert ("ns_bookinfo", "wp_bookinfo_waypoint", "waypoint") in edges
    assert ("ztunnel", "rev_istio_system_default_v1_30_3", "follows") in edges
    assert len(edges) == 8


def test_mermaid_has_every_node_and_edge():
    graph = report.mesh_graph(facts())
    text = report.mermaid(graph)
    assert text.startswith("flowchart LR\n")
    for node in graph.nodes:
        assert "    %s[" % node.id in text
    assert "  ns_bookinfo -->|ambient| ztunnel" in text
    assert 'proxies 1.29.6 x2' in text
    assert report.mermaid_file(text, "mesh.md") == "```mermaid\n" + text + "```\n"
    assert report.mermaid_file(text, "mesh.mmd") == text


def test_svg_is_well_formed_with_a_box_per_node():
    graph = report.mesh_graph(facts())
    root = ElementTree.fromstring(report.svg(graph))
    groups = root.findall("{http://www.w3.org/2000/svg}g")
    assert sorted(g.get("id") for g in groups) == sorted(node.id for node in graph.nodes)
    assert len(root.findall("{http://www.w3.org/2000/svg}line")) == len(graph.edges)
    places = report.layout(graph)
    columns = {places[node.id][0] for node in graph.nodes}
    assert len(columns) == 5, "one column per layer"


def test_labels_are_escaped():
    graph = report.Graph([report.Node("n", 0, ['a "quoted" <b>'])])
    assert '#quot;quoted#quot;' in report.mermaid(graph)
    assert "&lt;b&gt;" in report.svg(graph)
    assert report.diagram_paths("out/mesh.mmd") == ("out/mesh.mmd", "out/mesh.svg")
