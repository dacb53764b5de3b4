"""The loader: dates, IRIs, attribution, and the whole output against a golden file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from rdflib import RDF, XSD, BNode, Graph, Literal, Namespace, URIRef
from rdflib.compare import graph_diff, isomorphic, to_isomorphic

from kb.bench.naive import load
from kb.seeds.dates import DateError, make_spec, parse_reported
from kb.seeds.schema import load_schema

HERE = Path(__file__).parent
MINI = HERE / "fixtures" / "mini"
GOLDEN = HERE / "golden" / "mini.ttl"
KBO = Namespace(load_schema().kbo)
KB = Namespace(load_schema().base + "id/")


@pytest.mark.parametrize(
    ("text", "precision", "first", "last"),
    [
        ("2017", "year", "2017-01-01", "2017-12-31"),
        ("2016-02", "month", "2016-02-01", "2016-02-29"),
        ("2017-01-12", "day", "2017-01-12", "2017-01-12"),
        ("2016-11-09T09:34", "time", "2016-11-09", "2016-11-09"),
    ],
)
def test_reported_dates_keep_their_precision(text, precision, first, last):
    rep = parse_reported(text)
    assert (rep.precision, rep.first.isoformat(), rep.last.isoformat()) == (precision, first, last)


@pytest.mark.parametrize("text", ["2019-02-30", "2019-13", "19-05", "May 2019", "2019-5-1"])
def test_malformed_or_impossible_dates_are_refused(text):
    with pytest.raises(DateError):
        parse_reported(text)


def test_qualifiers_give_open_bounds():
    before = make_spec("2017-01-17", "before")
    after = make_spec("2017", "after")
    assert (before.earliest, before.latest.isoformat()) == (None, "2017-01-16")
    assert (after.earliest.isoformat(), after.latest) == ("2018-01-01", None)


def test_bounds_must_not_cross():
    with pytest.raises(DateError):
        make_spec(None, earliest="2020-05-01", latest="2020-04-01")


def test_golden_graph():
    """The mini seed set loads to exactly the golden graph (regenerate with KB_REGEN=1)."""
    graph = load(MINI).graph
    if os.environ.get("KB_REGEN"):
        GOLDEN.write_bytes(graph.serialize(format="longturtle", encoding="utf-8"))
    expected = Graph().parse(GOLDEN)
    if not isomorphic(graph, expected):
        _, missing, extra = graph_diff(to_isomorphic(expected), to_isomorphic(graph))
        pytest.fail("graph differs from golden file\n--- missing:\n"
                    + missing.serialize(format="nt") + "\n+++ unexpected:\n"
                    + extra.serialize(format="nt"))


def test_no_blank_nodes_and_every_node_under_the_base():
    graph = load(MINI).graph
    base = load_schema().base
    for s, _p, o in graph:
        assert not isinstance(s, BNode) and not isinstance(o, BNode)
        assert str(s).startswith(base), s
    assert len(graph) > 100


def test_dates_carry_datatype_and_bounds():
    graph = load(MINI).graph
    designation_start = URIRef(str(KB["fund-designation"]) + "/start")
    assert graph.value(designation_start, KBO.reported) == Literal("2022", datatype=XSD.gYear)
    assert graph.value(designation_start, KBO.earliest) == Literal("2022-01-01",
                                                                  datatype=XSD.date)
    assert graph.value(designation_start, KBO.latest) == Literal("2022-12-31", datatype=XSD.date)
    meeting_date = URIRef(str(KB["envoy-meets-adviser"]) + "/date")
    assert graph.value(meeting_date, KBO.derived) == Literal(True)
    assert "Wednesday" in str(graph.value(meeting_date, KBO.basis))


def test_attributions_and_stances():
    graph = load(MINI).graph
    meeting = KB["envoy-meets-adviser"]
    claims = sorted(graph.objects(meeting, KBO.claim))
    assert len(claims) == 2
    stances = {graph.value(c, KBO.stance) for c in claims}
    assert stances == {KBO.Asserts, KBO.CannotRecall}
    anon = URIRef(str(meeting) + "/claim/src_a-p2/attribution/1")
    assert (anon, RDF.type, KBO.AnonymousAttribution) in graph
    assert graph.value(anon, KBO.sourceCount) == Literal(2, datatype=XSD.integer)
    named = URIRef(str(meeting) + "/claim/src_a-p4/attribution/1")
    assert graph.value(named, KBO.attributedTo) == KB["adviser"]


def test_participants_are_qualified_and_involved():
    graph = load(MINI).graph
    meeting = KB["envoy-meets-adviser"]
    assert set(graph.objects(meeting, KBO.participant)) == {KB.envoy, KB.adviser}
    part = URIRef(str(meeting) + "/participant/envoy")
    assert graph.value(part, KBO.role) == KBO.Principal
    assert (meeting, RDF.type, KBO.Meeting) in graph
    assert (meeting, KBO.involves, KB.adviser) in graph
