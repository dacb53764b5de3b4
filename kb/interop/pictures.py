"""Pictures of the KB: an entity's network and the timelines of actors, and the whole network
for Gephi and Cytoscape (GEXF, GraphML via networkx).

Read with the queries in queries/pages/ (network.rq, timeline.rq), the node passed as a
binding, so whatever the ontology and seeds add shows up here. The same data feeds the pages'
views (as JSON), the SVGs of `kb draw` and the graph exports. Every output is byte-stable.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pyoxigraph as ox
from rdflib import URIRef
from rdflib.term import Node

from kb.core.paths import QUERIES
from kb.query.run import QueryFile, read_query, run

PAGE_QUERIES = QUERIES / "pages"
MAX_NODES = 500
MAX_HOPS = 2
NO_START = "9999-12-31"  # what network.rq gives for an undated fact's earliest day
NO_END = "0001-01-01"
EXPANDED = ("person", "group", "organisation")  # kinds whose own relations a hop follows


@cache
def page_query(name: str, folder: Path = PAGE_QUERIES) -> QueryFile:
    """A query of queries/pages/ (or, for a name with no file there, of queries/)."""
    path = folder / f"{name}.rq"
    return read_query(path if path.exists() else QUERIES / f"{name}.rq")


def rows(store: ox.Store, name: str, **params: str | Node) -> list[dict[str, str]]:
    """A page query's rows as {column: text}; unbound cells are left out. A str parameter
    is an IRI; pass an rdflib Literal for text."""
    q = page_query(name)
    res = run(store, q, {k: v if isinstance(v, Node) else URIRef(v) for k, v in params.items()})
    return [{c: str(v) for c, v in zip(res.columns, r, strict=True) if v is not None}
            for r in res.rows]


@dataclass
class Network:
    """Nodes and edges around one entity; `message` says what was capped."""

    centre: str
    nodes: dict[str, dict] = field(default_factory=dict)
    edges: dict[tuple[str, str, str], dict] = field(default_factory=dict)
    message: str = ""

    def as_json(self, href: dict[str, str]) -> dict:
        nodes = [{**n, "href": href.get(i, "")} for i, n in sorted(self.nodes.items())]
        edges = [{**e, "facts": sorted(e["facts"]), "weight": len(e["facts"]),
                  "contested": e["contested"] == len(e["facts"]),
                  "sources": len(e["sources"])}
                 for _, e in sorted(self.edges.items())]
        return {"centre": self.centre, "nodes": nodes, "edges": edges, "message": self.message,
                "capped": bool(self.message)}


def _overlaps(row: dict[str, str], start: str | None, end: str | None) -> bool:
    """Whether a fact's days can fall in [start, end]; an undated fact is kept."""
    earliest, latest = row.get("earliest", NO_START), row.get("latest", NO_END)
    if start and latest != NO_END and latest < start:
        return False
    return not (end and earliest != NO_START and earliest > end)


def network(store: ox.Store, centre: str, hops: int = 1, start: str | None = None,
            end: str | None = None, max_nodes: int = MAX_NODES) -> Network:
    """The entity's neighbourhood up to `hops` (at most MAX_HOPS) through contacts,
    transmissions, posts, relationships and sanctions dated within [start, end]."""
    net = Network(centre)
    notes = []
    if hops > MAX_HOPS:
        notes.append(f"{hops} hops asked; showing {MAX_HOPS}, the most this view draws")
        hops = MAX_HOPS
    head = {r["field"]: r["value"] for r in rows(store, "node", node=centre)}
    net.nodes[centre] = {"id": centre, "label": head.get("label", centre.rsplit("/", 1)[-1]),
                         "kind": kind_of(store, centre), "hop": 0}
    frontier = [centre]
    dropped = 0
    for hop in range(1, max(hops, 0) + 1):
        nxt: list[str] = []
        for node in frontier:
            for r in rows(store, "network", node=node):
                if not _overlaps(r, start, end):
                    continue
                other = r["other"]
                if other not in net.nodes:
                    if len(net.nodes) >= max_nodes:
                        dropped += 1
                        continue
                    kind = r.get("kind", "9 other").split(" ", 1)[1]
                    net.nodes[other] = {"id": other, "label": r.get("label", other), "kind": kind,
                                        "hop": hop}
                    if kind in EXPANDED:
                        nxt.append(other)
                a, b = sorted((node, other))
                edge = net.edges.setdefault((a, b, r["relation"]), {
                    "id": f"{a} {b} {r['relation']}", "source": a, "target": b,
                    "relation": r["relation"], "facts": set(), "contested": 0,
                    "earliest": None, "latest": None, "sources": set()})
                edge["sources"].update(r.get("sources", "").split())
                if r["fact"] not in edge["facts"]:
                    edge["facts"].add(r["fact"])
                    edge["contested"] += r.get("contested") == "true"
                    if r.get("earliest", NO_START) != NO_START:
                        edge["earliest"] = min(filter(None, (edge["earliest"], r["earliest"])))
                    if r.get("latest", NO_END) != NO_END:
                        edge["latest"] = max(filter(None, (edge["latest"], r["latest"])))
        frontier = nxt
    if dropped:
        notes.append(f"capped at {max_nodes} nodes: {dropped} more relations not drawn")
    net.message = "; ".join(notes)
    return net


def kind_of(store: ox.Store, iri: str) -> str:
    """person, group, organisation, place, document or other."""
    types = {r["value"].rsplit("#", 1)[-1] for r in rows(store, "node", node=iri)
             if r["field"] == "type"}
    for name, kind in (("Person", "person"), ("UnnamedGroup", "group"),
                       ("Organisation", "organisation"), ("Place", "place"),
                       ("Document", "document")):
        if name in types:
            return kind
    return "other"


def timeline(store: ox.Store, actors: list[str]) -> list[dict]:
    """One lane per actor: its label and every fact it takes part in, in date order."""
    lanes = []
    for actor in actors:
        head = {r["field"]: r["value"] for r in rows(store, "node", node=actor)}
        items = []
        for r in rows(store, "timeline", node=actor):
            items.append({
                "fact": r["fact"], "label": r.get("label", r["fact"]), "kind": r.get("kind", ""),
                "status": r.get("status", ""),
                "contested": r.get("status") in ("Disputed", "Denied"),
                "date": r.get("date", ""), "precision": r.get("precision", ""),
                "qualifier": r.get("qualifier", ""),
                "earliest": r.get("earliest"), "latest": r.get("latest"),
                "end": r.get("end", ""), "endEarliest": r.get("endEarliest"),
                "endLatest": r.get("endLatest"), "derived": r.get("derived") == "true",
                "open": r.get("open") == "true",
                "basis": r.get("basis", ""), "how": r.get("how", "")})
        lanes.append({"id": actor, "label": head.get("label", actor.rsplit("/", 1)[-1]),
                      "items": items})
    return lanes


# -- SVG ---------------------------------------------------------------------------------------
KIND_COLOURS = {"person": "#1f5fbf", "group": "#7d8fb3", "organisation": "#2e8b57",
                "place": "#b8860b", "document": "#8b4513", "other": "#777777"}
RELATION_COLOURS = {"contact": "#1f5fbf", "transmission": "#8e44ad", "post": "#2e8b57",
                    "relationship": "#d35400", "sanction": "#a11d2b"}
SVG_NS = "http://www.w3.org/2000/svg"


def _svg(width: float, height: float, title: str) -> ET.Element:
    root = ET.Element("svg", {"xmlns": SVG_NS, "width": f"{width:.0f}",
                              "height": f"{height:.0f}", "viewBox": f"0 0 {width:.0f} {height:.0f}",
                              "font-family": "sans-serif"})
    ET.SubElement(root, "title").text = title
    ET.SubElement(root, "rect", {"width": "100%", "height": "100%", "fill": "#ffffff"})
    return root


def _bytes(root: ET.Element) -> bytes:
    ET.indent(root)
    out = io.BytesIO()
    ET.ElementTree(root).write(out, encoding="utf-8", xml_declaration=True)
    return out.getvalue() + b"\n"


def _f(x: float) -> str:
    return f"{x:.1f}"


def network_svg(net: Network, labels: dict[str, str] | None = None) -> bytes:
    """The network as an SVG: rings by hop (each ring sorted by kind and name), edges coloured
    by relation, as thick as their facts are many, dashed when all are disputed or denied."""
    data = net.as_json(labels or {})
    rings: dict[int, list[dict]] = {}
    for n in data["nodes"]:
        rings.setdefault(n["hop"], []).append(n)
    radii, r = {}, 0.0
    for hop, nodes in sorted(rings.items()):  # each ring wide enough for ~40 px per node
        r = 0.0 if hop == 0 else max(r + 180, len(nodes) * 40 / (2 * math.pi))
        radii[hop] = r
    size = 2 * r + 300
    centre = size / 2
    pos: dict[str, tuple[float, float]] = {}
    for hop, nodes in sorted(rings.items()):
        nodes.sort(key=lambda n: (n["kind"], n["label"], n["id"]))
        radius = radii[hop]
        for i, n in enumerate(nodes):
            angle = 2 * math.pi * i / len(nodes) - math.pi / 2
            pos[n["id"]] = (centre + radius * math.cos(angle), centre + radius * math.sin(angle))
    height = size + (40 if data["message"] else 20)
    root = _svg(size, height, f"Network of {net.nodes[net.centre]['label']}")
    edges = ET.SubElement(root, "g", {"class": "edges"})
    for e in data["edges"]:
        (x1, y1), (x2, y2) = pos[e["source"]], pos[e["target"]]
        attrs = {"x1": _f(x1), "y1": _f(y1), "x2": _f(x2), "y2": _f(y2),
                 "stroke": RELATION_COLOURS.get(e["relation"], "#999999"),
                 "stroke-width": _f(1 + min(e["weight"], 10) * 0.8), "stroke-opacity": "0.7",
                 "data-relation": e["relation"]}
        if e["contested"]:
            attrs["stroke-dasharray"] = "6 4"
        line = ET.SubElement(edges, "line", attrs)
        ET.SubElement(line, "title").text = (f"{e['relation']}: {e['weight']} fact(s), "
                                             f"{e['sources']} source(s)")
    nodes_g = ET.SubElement(root, "g", {"class": "nodes"})
    for n in data["nodes"]:
        x, y = pos[n["id"]]
        g = ET.SubElement(nodes_g, "g", {"data-id": n["id"], "data-kind": n["kind"]})
        r = 12 if n["id"] == net.centre else 7
        ET.SubElement(g, "circle", {"cx": _f(x), "cy": _f(y), "r": str(r),
                                    "fill": KIND_COLOURS.get(n["kind"], "#777777")})
        ET.SubElement(g, "title").text = n["label"]
        short = n["label"] if len(n["label"]) <= 32 else n["label"][:31] + "…"
        ET.SubElement(g, "text", {"x": _f(x), "y": _f(y + r + 11), "font-size": "10",
                                  "text-anchor": "middle"}).text = short
    legend = ET.SubElement(root, "g", {"class": "legend", "font-size": "11"})
    for i, (rel, colour) in enumerate(RELATION_COLOURS.items()):
        ET.SubElement(legend, "line", {"x1": "10", "x2": "30", "y1": str(14 + 14 * i),
                                       "y2": str(14 + 14 * i), "stroke": colour,
                                       "stroke-width": "3"})
        ET.SubElement(legend, "text", {"x": "34", "y": str(18 + 14 * i)}).text = rel
    if data["message"]:
        ET.SubElement(root, "text", {"x": "10", "y": _f(height - 12), "font-size": "12",
                                     "fill": "#a11d2b"}).text = data["message"]
    return _bytes(root)


def _day(s: str) -> int:
    return dt.date.fromisoformat(s).toordinal()


def timeline_svg(lanes: list[dict], width: int = 1200) -> bytes:
    """Facts on a time axis, one lane per actor: a bar over the days a fact can fall on (a
    month, a year), a stub with an arrow where only one bound is known, dashed when disputed."""
    dated = [i for lane in lanes for i in lane["items"] if i["earliest"] or i["latest"]]
    left, right, row_h, stub = 200, 30, 12, 36
    lo = min((_day(i["earliest"] or i["latest"]) for i in dated), default=0)
    hi = max((_day(i["endLatest"] or i["latest"] or i["endEarliest"] or i["earliest"])
              for i in dated), default=1) + 1

    def x(d: int) -> float:
        return left + (d - lo) / max(hi - lo, 1) * (width - left - right)

    body = ET.Element("g")
    y = 28
    for lane in lanes:
        top, rows = y, []
        g = ET.SubElement(body, "g", {"data-actor": lane["id"]})
        ET.SubElement(g, "text", {"x": "6", "y": str(top + 10), "font-size": "12",
                                  "font-weight": "bold"}).text = lane["label"]
        for item in lane["items"]:
            if not (item["earliest"] or item["latest"]):
                continue
            open_start = not item["earliest"]
            open_end = not open_start and not item["latest"] and not item["endLatest"]
            if open_start:
                b = x(_day(item["latest"]) + 1)
                a = max(left, b - stub)
            else:
                a = x(_day(item["earliest"]))
                end = item["endLatest"] or item["endEarliest"] or item["latest"]
                b = (width - right if item["open"] else a + stub if open_end
                     else x(_day(end) + 1))
            b = max(b, a + 4)
            row = next((k for k, r in enumerate(rows) if r < a - 2), len(rows))
            if row == len(rows):
                rows.append(0.0)
            rows[row] = b
            cy = top + row * row_h + 6
            attrs = {"x1": _f(a), "x2": _f(b), "y1": _f(cy), "y2": _f(cy), "stroke-width": "6",
                     "stroke": "#a11d2b" if item["contested"] else "#1f5fbf",
                     "data-fact": item["fact"]}
            if item["contested"]:
                attrs["stroke-dasharray"] = "4 3"
            if item["derived"]:
                attrs["stroke-opacity"] = "0.65"
            if open_end or item["open"]:
                attrs["marker-end"] = "url(#arrow)"
            if open_start:
                attrs["marker-start"] = "url(#arrow)"
            bar = ET.SubElement(g, "line", attrs)
            when = item["date"] or " … ".join(filter(None, (item["earliest"], item["latest"])))
            ET.SubElement(bar, "title").text = (
                f"{when}{' (derived)' if item['derived'] else ''}: {item['label']}"
                + (f" [{item['status']}]" if item["status"] else ""))
        y += max(len(rows), 1) * row_h + 10
        ET.SubElement(g, "line", {"x1": "0", "x2": str(width), "y1": str(y - 3),
                                  "y2": str(y - 3), "stroke": "#d6dbe3"})
    root = _svg(width, y + 6, "Timeline of " + ", ".join(lane["label"] for lane in lanes))
    defs = ET.SubElement(root, "defs")
    marker = ET.SubElement(defs, "marker", {
        "id": "arrow", "viewBox": "0 0 10 10", "refX": "9", "refY": "5", "markerWidth": "10",
        "markerHeight": "10", "markerUnits": "userSpaceOnUse", "orient": "auto-start-reverse"})
    ET.SubElement(marker, "path", {"d": "M0,0 L10,5 L0,10 z", "fill": "#555555"})
    if dated:
        first, last = dt.date.fromordinal(lo).year, dt.date.fromordinal(hi).year
        step = max(1, math.ceil((last - first + 1) / 14))
        for year in range(first, last + 2, step):
            d = dt.date(year, 1, 1).toordinal()
            if lo <= d <= hi:
                ET.SubElement(root, "line", {"x1": _f(x(d)), "x2": _f(x(d)), "y1": "18",
                                             "y2": str(y), "stroke": "#e3e7ee"})
                ET.SubElement(root, "text", {"x": _f(x(d) + 2), "y": "12", "font-size": "11",
                                             "fill": "#5b6472"}).text = str(year)
    root.append(body)
    return _bytes(root)


# -- the whole network, for Gephi and Cytoscape ------------------------------------------------
def whole_network(store: ox.Store):  # noqa: ANN201 - a networkx MultiGraph
    """Every actor related to another through a contact, transmission, post, relationship or
    sanction: one node per actor, one edge per pair and relation (networkx MultiGraph)."""
    import networkx as nx

    q = page_query("network")
    res = run(store, q)
    g = nx.MultiGraph()
    edges: dict[tuple[str, str, str], dict] = {}
    for row in res.rows:
        r = {c: str(v) for c, v in zip(res.columns, row, strict=True) if v is not None}
        other = r["other"]
        g.add_node(other, label=r.get("label", other), kind=r.get("kind", "9 other")[2:])
        a, b = sorted((r["node"], other))
        e = edges.setdefault((a, b, r["relation"]), {"facts": set(), "contested": set(),
                                                     "sources": set(), "earliest": "",
                                                     "latest": ""})
        e["facts"].add(r["fact"])
        if r.get("contested") == "true":
            e["contested"].add(r["fact"])
        e["sources"].update(r.get("sources", "").split())
        if r.get("earliest", NO_START) != NO_START:
            e["earliest"] = min(filter(None, (e["earliest"], r["earliest"])))
        if r.get("latest", NO_END) != NO_END:
            e["latest"] = max(filter(None, (e["latest"], r["latest"])))
    out = nx.MultiGraph()
    for n in sorted(g.nodes):
        out.add_node(n, **g.nodes[n])
    for (a, b, rel), e in sorted(edges.items()):
        out.add_edge(a, b, key=rel, relation=rel, facts=len(e["facts"]),
                     contested=len(e["contested"]), sources=len(e["sources"]),
                     earliest=e["earliest"], latest=e["latest"],
                     fact_ids=" ".join(sorted(e["facts"])))
    return out


def graph_bytes(store: ox.Store, fmt: str) -> bytes:
    """The whole network as GEXF 1.2 or GraphML, byte-stable (no modification date)."""
    from networkx.readwrite.gexf import GEXFWriter
    from networkx.readwrite.graphml import GraphMLWriter

    g = whole_network(store)
    if fmt == "gexf":
        writer = GEXFWriter(encoding="utf-8", prettyprint=True, version="1.2draft")
        meta = writer.xml.find("meta")
        if meta is not None:
            meta.attrib.pop("lastmodifieddate", None)  # today's date: not byte-stable
        writer.add_graph(g)
    elif fmt == "graphml":
        writer = GraphMLWriter(encoding="utf-8", prettyprint=True)
        writer.add_graph_element(g)
    else:
        raise ValueError(f"unknown graph format {fmt!r}; expected gexf or graphml")
    out = io.BytesIO()
    if isinstance(writer, GEXFWriter):
        writer.write(out)
    else:
        writer.dump(out)
    return out.getvalue()
