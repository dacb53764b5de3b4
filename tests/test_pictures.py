"""`kb draw` (SVG pictures) and `kb export --format gexf|graphml` (the network for Gephi).

The SVGs must parse as XML and name the expected entities; the graph files must read back
in networkx with as many nodes and edges as an independent count from the KB's graph (rdflib,
not the queries behind the export); outputs are byte-stable; an unknown id exits 2.
"""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner
from rdflib import RDF, Graph, Namespace

from kb.build.run import BuildResult
from kb.cli.main import main
from kb.interop.pictures import network
from kb.rdf.terms import load_store

KBO = Namespace("https://kb.example.org/ontology#")
KB = "https://kb.example.org/id/"
SVG = "{http://www.w3.org/2000/svg}"
RELATIONS = {KBO.Contact: "contact", KBO.Transmission: "transmission",
             KBO.PostHolding: "post", KBO.Relationship: "relationship",
             KBO.SanctionAction: "sanction"}


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


def _texts(svg: Path) -> list[str]:
    root = ET.parse(svg).getroot()
    assert root.tag == SVG + "svg"
    return [t.text or "" for t in root.iter(SVG + "text")]


def test_draw_network_names_the_counterparts(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "net.svg"
    res = runner.invoke(main, ["draw", "network", "--entity", "kirill-dmitriev", "-o", str(out)])
    assert res.exit_code == 0, res.output
    texts = _texts(out)
    for name in ("Kirill Dmitriev", "Steve Witkoff", "Jared Kushner", "Vladimir Putin"):
        assert name in texts
    root = ET.parse(out).getroot()
    kinds = {g.get("data-id"): g.get("data-kind") for g in root.iter(SVG + "g")
             if g.get("data-id")}
    assert kinds[KB + "steve-witkoff"] == "person"
    assert kinds[KB + "rdif"] == "organisation"
    again = tmp_path / "again.svg"
    runner.invoke(main, ["draw", "network", "--entity", "kirill-dmitriev", "-o", str(again)])
    assert again.read_bytes() == out.read_bytes()


def test_draw_network_caps_hops_and_filters_dates(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "far.svg"
    res = runner.invoke(main, ["draw", "network", "--entity", "kirill-dmitriev", "--hops", "5",
                               "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert any("5 hops asked; showing 2" in t for t in _texts(out))
    assert "5 hops asked; showing 2" in res.output
    res = runner.invoke(main, ["draw", "network", "--entity", "kirill-dmitriev",
                               "--from", "2025-01-01", "-o", str(out)])
    assert res.exit_code == 0, res.output
    texts = _texts(out)
    assert "Steve Witkoff" in texts and "Rick Gerson" not in texts  # Gerson: 2016-2017 only
    res = runner.invoke(main, ["draw", "network", "--entity", "kirill-dmitriev",
                               "--from", "2025-13-01", "-o", str(out)])
    assert res.exit_code == 2 and "2025-13-01" in res.output


def test_draw_timeline_one_lane_per_actor(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "tl.svg"
    res = runner.invoke(main, ["draw", "timeline", "--entity", "kirill-dmitriev",
                               "--entity", "steve-witkoff", "-o", str(out)])
    assert res.exit_code == 0, res.output
    root = ET.parse(out).getroot()
    lanes = [g for g in root.iter(SVG + "g") if g.get("data-actor")]
    assert [g.get("data-actor") for g in lanes] == [KB + "kirill-dmitriev", KB + "steve-witkoff"]
    assert {"Kirill Dmitriev", "Steve Witkoff"} <= set(_texts(out))
    x = {b.get("data-fact"): float(b.get("x1")) for b in lanes[0].iter(SVG + "line")
         if b.get("data-fact")}
    known = [KB + f for f in ("dmitriev-outreach-via-nader", "bahrain-workshop-2019-06",
                              "dmitriev-witkoff-meeting-2025-04-02")]
    assert [x[k] for k in known] == sorted(x[k] for k in known)


@pytest.mark.parametrize("args", [["network", "--entity", "steve-witkof"],
                                  ["timeline", "--entity", "kirill-dmitriev",
                                   "--entity", "steve-witkof"]])
def test_draw_unknown_id_exits_2_naming_it(runner: CliRunner, tmp_path: Path,
                                           args: list[str]) -> None:
    out = tmp_path / "x.svg"
    res = runner.invoke(main, ["draw", *args, "-o", str(out)])
    assert res.exit_code == 2
    assert "steve-witkof" in res.output
    assert not out.exists()


def _expected(g: Graph) -> tuple[set[str], set[tuple[str, str, str]]]:
    """Actors and (pair, relation) edges counted from the graph itself."""
    nodes, edges = set(), set()
    for cls, rel in RELATIONS.items():
        for fact in g.subjects(RDF.type, cls):
            actors = sorted(str(a) for a in g.objects(fact, KBO.involves))
            for a, b in itertools.combinations(actors, 2):
                nodes |= {a, b}
                edges.add((a, b, rel))
    return nodes, edges


@pytest.mark.parametrize("fmt", ["gexf", "graphml"])
def test_export_network_reads_back_in_networkx(runner: CliRunner, built: BuildResult,
                                               tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"kb.{fmt}"
    res = runner.invoke(main, ["export", "--format", fmt, "-o", str(out)])
    assert res.exit_code == 0, res.output
    read = nx.read_gexf if fmt == "gexf" else nx.read_graphml
    g = read(out)
    nodes, edges = _expected(built.loaded.graph)
    assert set(g.nodes) == nodes
    assert g.number_of_edges() == len(edges)
    assert g.nodes[KB + "kirill-dmitriev"]["kind"] == "person"
    assert g.nodes[KB + "kirill-dmitriev"]["label"] == "Kirill Dmitriev"
    attrs = [d for _, _, d in g.edges(data=True)]
    assert {d["relation"] for d in attrs} == set(RELATIONS.values())
    assert all(int(d["facts"]) >= 1 and int(d["sources"]) >= 1 for d in attrs)
    again = tmp_path / f"again.{fmt}"
    runner.invoke(main, ["export", "--format", fmt, "-o", str(again)])
    assert again.read_bytes() == out.read_bytes()


def test_network_caps_at_max_nodes_with_a_message(dist_dir: Path) -> None:
    store = load_store(dist_dir / "kb.ttl")
    full = network(store, KB + "kirill-dmitriev", 2)
    capped = network(store, KB + "kirill-dmitriev", 2, max_nodes=10)
    assert len(full.nodes) > 10 and not full.message
    assert len(capped.nodes) == 10
    assert capped.message.startswith("capped at 10 nodes")
    assert all(e["source"] in capped.nodes and e["target"] in capped.nodes
               for e in capped.edges.values())
