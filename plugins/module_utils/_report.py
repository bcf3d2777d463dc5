# -*- coding: utf-8 -*-
# Copyright: servicemesh.istio contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A person's view of the mesh, from istio_info's facts: text lines, and a diagram as Mermaid and SVG.

Everything here is pure: facts in, text out. The diagram is one graph drawn two ways, so the Mermaid
text and the SVG always show the same thing; the SVG is laid out here (a column per layer), so it is
produced on any host, with no renderer installed.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from html import escape
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

AMBIENT = "ambient"
MAX_HOLDERS = 5


def _where(row: Mapping[str, Any]) -> str:
    return "%s (%s)" % (row.get("name"), row.get("namespace"))


def proxy_versions(pods: Sequence[Mapping[str, Any]]) -> Dict[str, Dict[str, int]]:
    """Running injected pods counted by revision, then by proxy version."""
    counts: Dict[str, Dict[str, int]] = {}
    for pod in pods:
        if not pod.get("running", True) or not pod.get("injected"):
            continue
        by_version = counts.setdefault(pod.get("revision") or "?", {})
        version = pod.get("proxy_version") or "unknown"
        by_version[version] = by_version.get(version, 0) + 1
    return counts


def _counted(by_version: Mapping[str, int]) -> str:
    return ", ".join("%s x%d" % (version, by_version[version]) for version in sorted(by_version))


def holders(revision: Mapping[str, Any]) -> str:
    """What keeps a revision in use, as the usage facts say it."""
    reasons = (revision.get("usage") or {}).get("reasons") or []
    return "; ".join(reasons) if reasons else "nothing"


def _tag_names(facts: Mapping[str, Any]) -> set:
    return {tag["name"] for tag in facts.get("tags") or []}


def namespace_line(namespace: Mapping[str, Any], tags: set) -> str:
    parts = []
    reference = namespace.get("reference")
    if reference:
        via = " (tag %s)" % reference if reference in tags else ""
        parts.append("revision %s%s" % (namespace.get("revision") or "not found", via))
    if namespace.get("dataplane_mode"):
        parts.append("dataplane mode %s" % namespace["dataplane_mode"])
    return "%s: %s" % (namespace["name"], ", ".join(parts))


def _agent_line(title: str, agent: Optional[Mapping[str, Any]]) -> str:
    if not agent:
        return "%s: not installed" % title
    state = "ready" if agent.get("ready") else "not ready (%s)" % agent.get("not_ready_reason")
    follows = ", follows %s" % agent["revision"] if agent.get("revision") else ""
    return "%s: %s in %s, %s%s" % (title, agent.get("version"), agent.get("namespace"), state, follows)


def _enrolled(waypoint: Mapping[str, Any]) -> str:
    items = ["%s %s" % (item.get("kind", "").lower(), "%s/%s" % (item["namespace"], item["name"])
                        if item.get("namespace") else item.get("name")) for item in waypoint.get("enrolled") or []]
    return ", ".join(items) if items else "nothing enrolled"


def _section(title: str, rows: List[str]) -> List[str]:
    return [title + ":"] + ["  " + row for row in (rows or ["none"])]


def report_lines(facts: Mapping[str, Any]) -> List[str]:
    """The summary, one line per item, under a heading per kind."""
    tags = _tag_names(facts)
    planes = ["%s: %s, %s, %s, active revision %s, %d revisions (%d ready, %d in use)"
              % (_where(cp), cp.get("status"), cp.get("version"), cp.get("strategy") or "InPlace",
                 cp.get("active_revision"), cp.get("revisions", 0), cp.get("ready", 0), cp.get("in_use", 0))
              for cp in facts.get("control_planes") or []]
    revisions = ["%s: %s, %s, %s, held by: %s"
                 % (_where(rev), rev.get("status"), rev.get("version"),
                    "in use" if rev.get("in_use") else "not in use", holders(rev))
                 for rev in facts.get("revisions") or []]
    tag_rows = ["%s -> %s: %s" % (_where(tag), tag.get("revision"), tag.get("status"))
                for tag in facts.get("tags") or []]
    namespaces = [namespace_line(ns, tags) for ns in facts.get("namespaces") or []]
    versions = proxy_versions(facts.get("pods") or [])
    proxies = ["%s: %s" % (revision, _counted(versions[revision])) for revision in sorted(versions)]
    waypoints = ["%s: %s, %s" % (_where(wp), "ready" if wp.get("ready") else "not ready (%s)"
                                 % wp.get("not_ready_reason"), _enrolled(wp))
                 for wp in facts.get("waypoints") or []]
    return (_section("Control planes", planes) + _section("Revisions", revisions) + _section("Tags", tag_rows)
            + _section("Namespaces", namespaces) + _section("Proxies by revision", proxies)
            + [_agent_line("CNI", facts.get("cni")), _agent_line("ztunnel", facts.get("ztunnel"))]
            + _section("Waypoints", waypoints))


# -- the diagram ----------------------------------------------------------------------------------

LAYERS = ("control planes", "revisions", "tags", "namespaces", "data plane")


@dataclass
class Node:
    id: str
    layer: int
    lines: List[str]


@dataclass
class Graph:
    nodes: List[Node] = field(default_factory=list)
    edges: List[Tuple[str, str, str]] = field(default_factory=list)  # (from, to, label)

    def add(self, node: Node) -> None:
        if all(existing.id != node.id for existing in self.nodes):
            self.nodes.append(node)

    def has(self, node_id: str) -> bool:
        return any(node.id == node_id for node in self.nodes)

    def link(self, source: str, target: str, label: str = "") -> None:
        if self.has(source) and self.has(target):
            self.edges.append((source, target, label))


def node_id(kind: str, *names: Optional[str]) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", "_".join([kind] + [name or "" for name in names]))


def _revision_node(revisions: Sequence[Mapping[str, Any]], name: Optional[str]) -> Optional[str]:
    for rev in revisions:
        if rev["name"] == name:
            return node_id("rev", rev["namespace"], rev["name"])
    return None


def mesh_graph(facts: Mapping[str, Any]) -> Graph:
    graph = Graph()
    revisions = facts.get("revisions") or []
    versions = proxy_versions(facts.get("pods") or [])
    for cp in facts.get("control_planes") or []:
        graph.add(Node(node_id("cp", cp["namespace"], cp["name"]), 0,
                       ["control plane %s" % cp["name"], "%s, %s" % (cp.get("status"), cp.get("version"))]))
    for rev in revisions:
        lines = [rev["name"], "%s, %s" % (rev.get("status"), rev.get("version")),
                 "in use" if rev.get("in_use") else "not in use"]
        if versions.get(rev["name"]):
            lines.append("proxies %s" % _counted(versions[rev["name"]]))
        graph.add(Node(node_id("rev", rev["namespace"], rev["name"]), 1, lines))
    for tag in facts.get("tags") or []:
        graph.add(Node(node_id("tag", tag["namespace"], tag["name"]), 2, ["tag %s" % tag["name"], tag.get("status")]))
    for ns in facts.get("namespaces") or []:
        mode = ns.get("dataplane_mode")
        graph.add(Node(node_id("ns", ns["name"]), 3, ["namespace %s" % ns["name"]] + (["%s mode" % mode] if mode
                                                                                      else [])))
    for kind, agent in (("cni", facts.get("cni")), ("ztunnel", facts.get("ztunnel"))):
        if agent:
            graph.add(Node(node_id(kind), 4, ["%s %s" % ("CNI" if kind == "cni" else kind, agent.get("version")),
                                              "ready" if agent.get("ready") else "not ready"]))
    for wp in facts.get("waypoints") or []:
        graph.add(Node(node_id("wp", wp["namespace"], wp["name"]), 4,
                       ["waypoint %s" % wp["name"], "ready" if wp.get("ready") else "not ready"]))
    _link(graph, facts, revisions)
    return graph


def _link(graph: Graph, facts: Mapping[str, Any], revisions: Sequence[Mapping[str, Any]]) -> None:
    for cp in facts.get("control_planes") or []:
        for rev in revisions:
            if rev.get("control_plane") == cp["name"] and rev["namespace"] == cp["namespace"]:
                graph.link(node_id("cp", cp["namespace"], cp["name"]), node_id("rev", rev["namespace"], rev["name"]),
                           "active" if rev["name"] == cp.get("active_revision") else "")
    tags = {tag["name"]: tag for tag in facts.get("tags") or []}
    for tag in tags.values():
        graph.link(node_id("tag", tag["namespace"], tag["name"]), _revision_node(revisions, tag.get("revision")) or "")
    for ns in facts.get("namespaces") or []:
        reference = ns.get("reference")
        if reference in tags:
            graph.link(node_id("ns", ns["name"]), node_id("tag", tags[reference]["namespace"], reference))
        elif reference:
            graph.link(node_id("ns", ns["name"]), _revision_node(revisions, ns.get("revision")) or "")
        if ns.get("dataplane_mode") == AMBIENT:
            graph.link(node_id("ns", ns["name"]), node_id("ztunnel"), AMBIENT)
    ztunnel = facts.get("ztunnel") or {}
    graph.link(node_id("ztunnel"), _revision_node(revisions, ztunnel.get("revision")) or "", "follows")
    for wp in facts.get("waypoints") or []:
        enrolled = {item.get("namespace") or item.get("name") for item in wp.get("enrolled") or []}
        for name in sorted(enrolled):
            graph.link(node_id("ns", name), node_id("wp", wp["namespace"], wp["name"]), "waypoint")


def _mermaid_label(lines: Sequence[str]) -> str:
    return '"%s"' % "<br/>".join(line.replace('"', "#quot;") for line in lines)


def mermaid(graph: Graph) -> str:
    out = ["flowchart LR"]
    for layer, title in enumerate(LAYERS):
        members = [node for node in graph.nodes if node.layer == layer]
        if not members:
            continue
        out.append('  subgraph layer%d["%s"]' % (layer, title))
        out += ["    %s[%s]" % (node.id, _mermaid_label(node.lines)) for node in members]
        out.append("  end")
    for source, target, label in graph.edges:
        out.append("  %s -->%s %s" % (source, "|%s|" % label if label else "", target))
    return "\n".join(out) + "\n"


def mermaid_file(text: str, path: str) -> str:
    """Markdown files get the diagram in a fenced block, which Markdown viewers draw."""
    return "```mermaid\n%s```\n" % text if path.endswith(".md") else text


# A plain layered layout: a column per layer, the nodes of a layer one under the other.
BOX_WIDTH, LINE_HEIGHT, PADDING, COLUMN_GAP, ROW_GAP, MARGIN = 190, 16, 8, 70, 18, 20


def _box_height(node: Node) -> int:
    return len(node.lines) * LINE_HEIGHT + 2 * PADDING


def layout(graph: Graph) -> Dict[str, Tuple[int, int, int]]:
    """Each node's (x, y, height); empty layers take no column."""
    used = sorted({node.layer for node in graph.nodes})
    places = {}
    for column, layer in enumerate(used):
        y = MARGIN + LINE_HEIGHT  # room for the layer's title
        for node in (n for n in graph.nodes if n.layer == layer):
            places[node.id] = (MARGIN + column * (BOX_WIDTH + COLUMN_GAP), y, _box_height(node))
            y += _box_height(node) + ROW_GAP
    return places


def svg(graph: Graph) -> str:
    places = layout(graph)
    width = max([place[0] + BOX_WIDTH for place in places.values()] or [BOX_WIDTH]) + MARGIN
    height = max([place[1] + place[2] for place in places.values()] or [LINE_HEIGHT]) + MARGIN
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
           'font-family="sans-serif" font-size="12">' % (width, height, width, height),
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
           'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>',
           '<rect width="100%" height="100%" fill="white"/>']
    columns = {}
    for node in graph.nodes:
        columns.setdefault(node.layer, places[node.id][0])
    for layer, x in sorted(columns.items()):
        out.append('<text x="%d" y="%d" font-weight="bold">%s</text>' % (x, MARGIN, escape(LAYERS[layer])))
    for source, target, label in graph.edges:
        out.append(_edge(places[source], places[target], label))
    for node in graph.nodes:
        x, y, h = places[node.id]
        out.append('<g id="%s"><rect x="%d" y="%d" width="%d" height="%d" rx="6" fill="#eef3fb" stroke="#3b6db3"/>'
                   % (node.id, x, y, BOX_WIDTH, h))
        for index, line in enumerate(node.lines):
            baseline = y + PADDING + (index + 1) * LINE_HEIGHT - 4
            out.append('<text x="%d" y="%d">%s</text>' % (x + PADDING, baseline, escape(line)))
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _edge(source: Tuple[int, int, int], target: Tuple[int, int, int], label: str) -> str:
    """A straight arrow between the facing sides of two boxes (their tops and bottoms in one column)."""
    (sx, sy, sh), (tx, ty, th) = source, target
    if sx == tx:
        x1 = x2 = sx + BOX_WIDTH // 2
        y1, y2 = (sy + sh, ty) if sy < ty else (sy, ty + th)
    else:
        x1, x2 = (sx + BOX_WIDTH, tx) if sx < tx else (sx, tx + BOX_WIDTH)
        y1, y2 = sy + sh // 2, ty + th // 2
    line = '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#555" marker-end="url(#arrow)"/>' % (x1, y1, x2, y2)
    if not label:
        return line
    return line + '<text x="%d" y="%d" font-size="10" fill="#555">%s</text>' % (
        (x1 + x2) // 2, (y1 + y2) // 2 - 3, escape(label))


def diagram_paths(dest: str) -> Tuple[str, str]:
    """The Mermaid file as named, and the SVG next to it (the same name, ending in .svg)."""
    return dest, os.path.splitext(dest)[0] + ".svg"
