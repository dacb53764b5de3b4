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


# --- post terms and events in relation ----------------------------------------------------------

RELATED = """
  - id: adviser-heads-ministry
    type: post
    description: The adviser heads the ministry.
    holder: adviser
    organisation: ministry
    title: head of the ministry
    titles:
      - {title: the ministry's chief, source: src_a, para: "4"}
    citations:
      - {source: src_a, para: 4}

  - id: adviser-leaves-ministry
    type: personnel
    action: departed
    description: The adviser left the ministry.
    person: adviser
    organisation: ministry
    ends: adviser-heads-ministry
    date: "2024-06"
    after:
      - {event: envoy-meets-adviser, gap: P5D, gap_as_reported: five days after}
    citations:
      - {source: src_a, para: 4}
"""


def _project(tmp_path: Path, extra: str, old: str = "", new: str = "") -> tuple[Path, Path]:
    import shutil
    seeds = tmp_path / "seeds"
    shutil.copytree(MINI, seeds)
    facts = seeds / "facts" / "facts.yaml"
    text = facts.read_text() + extra
    if old:
        assert old in text, old
        text = text.replace(old, new, 1)
    facts.write_text(text)
    return seeds, tmp_path / "dist"


def _build(seeds: Path, dist: Path):
    from click.testing import CliRunner

    from kb.cli.main import main
    return CliRunner().invoke(main, ["build", "--seeds", str(seeds), "--dist", str(dist)])


def test_relations_and_reported_titles_map_to_nodes(tmp_path):
    """A gap makes a qualified kbo:TemporalRelation beside the plain link; a reported title is a
    node tied to the post's claim from that paragraph."""
    seeds, _ = _project(tmp_path, RELATED)
    g = load(seeds).graph
    change, post = KB["adviser-leaves-ministry"], KB["adviser-heads-ministry"]
    rel = URIRef(f"{change}/after/envoy-meets-adviser")
    title = URIRef(f"{post}/title/1")
    expected = Graph()
    for t in [
        (change, KBO.endsPost, post),
        (change, KBO.after, KB["envoy-meets-adviser"]),
        (change, KBO.temporalRelation, rel),
        (rel, RDF.type, KBO.TemporalRelation),
        (rel, KBO.relationProperty, KBO.after),
        (rel, KBO.relatedEvent, KB["envoy-meets-adviser"]),
        (rel, KBO.gap, Literal("P5D", datatype=XSD.duration)),
        (rel, KBO.gapAsReported, Literal("five days after")),
        (post, KBO.reportedTitle, title),
        (title, RDF.type, KBO.ReportedTitle),
        (title, KBO.title, Literal("the ministry's chief")),
        (title, KBO.reportedIn, URIRef(f"{post}/claim/src_a-p4")),
    ]:
        expected.add(t)
    got = Graph()
    for p in (KBO.endsPost, KBO.after, KBO.temporalRelation, KBO.reportedTitle):
        for o in g.objects(change if p != KBO.reportedTitle else post, p):
            got.add((change if p != KBO.reportedTitle else post, p, o))
    for node in (rel, title):
        for p, o in g.predicate_objects(node):
            got.add((node, p, o))
    assert isomorphic(got, expected)
    assert (URIRef(f"{post}/claim/src_a-p4"), RDF.type, KBO.Claim) in g


def test_a_change_naming_another_persons_post_fails_the_build(tmp_path):
    """Exit 1 with the change's file:line; dist/ is not written."""
    seeds, dist = _project(tmp_path, RELATED, "    person: adviser\n    organisation: ministry\n"
                           "    ends:", "    person: envoy\n    organisation: ministry\n    ends:")
    result = _build(seeds, dist)
    assert result.exit_code == 1, result.output
    line = next(i for i, text in enumerate((seeds / "facts" / "facts.yaml").read_text()
                                           .splitlines(), start=1)
                if text == "  - id: adviser-leaves-ministry")
    assert f"{seeds / 'facts' / 'facts.yaml'}:{line}: Violation: kb:adviser-leaves-ministry" \
        in result.output
    assert "a post that someone else holds" in result.output
    assert not dist.exists()


def test_a_before_after_cycle_fails_the_build(tmp_path):
    seeds, dist = _project(tmp_path, RELATED + """
  - id: envoy-reports-back
    type: event
    kind: report
    description: The envoy reported back.
    before: [adviser-leaves-ministry]
    after: [adviser-leaves-ministry]
    citations:
      - {source: src_a, para: 2}
""")
    result = _build(seeds, dist)
    assert result.exit_code == 1, result.output
    assert "run in a cycle" in result.output
    assert "kb:envoy-reports-back" in result.output and "kb:adviser-leaves-ministry" in \
        result.output
    assert not dist.exists()


@pytest.mark.parametrize(("old", "new", "words"), [
    ("gap: P5D", "gap: five days", "[after.gap] 'five days' is not an ISO 8601 duration"),
    ("ends: adviser-heads-ministry", "ends: envoy-meets-adviser",
     "[ends] 'envoy-meets-adviser' is a fact:contact; expected fact:post"),
    ("    after:\n      - {event: envoy-meets-adviser,",
     "    after:\n      - {event: adviser-leaves-ministry,",
     "[after] 'adviser-leaves-ministry' cannot be related to itself"),
    ("{title: the ministry's chief, source: src_a, para: \"4\"}", "{title: chief, para: \"4\"}",
     "[titles] each reported title is {title: text, source: id, para: N}"),
])
def test_bad_relation_fields_exit_2_with_location(tmp_path, old, new, words):
    seeds, dist = _project(tmp_path, RELATED, old, new)
    result = _build(seeds, dist)
    assert result.exit_code == 2, result.output
    assert f"{seeds / 'facts' / 'facts.yaml'}:" in result.output and words in result.output, \
        result.output
    assert not dist.exists()


# --- modality and identity under doubt ------------------------------------------------------

FORWARD = """
  - id: envoy-expected-in-harbour-town
    type: event
    kind: visit
    description: The envoy was expected in Harbour Town.
    place: harbour-town
    status: expected
    citations:
      - {source: src_a, para: 3, stance: reports-in-advance}
      - {source: src_a, para: 4, stance: expects, according_to: {person: adviser}}

  - id: adviser-possibly-envoy
    type: identity
    description: The curators suggest the adviser may be the envoy.
    entity: adviser
    candidate: envoy
    suggested_by: curators
    basis: Both are said to have been at the harbour that day.
    citations:
      - {source: src_a, para: 2, according_to: curators}
"""


def _identity_project(tmp_path: Path, old: str = "", new: str = "") -> tuple[Path, Path]:
    seeds, dist = _project(tmp_path, FORWARD, old, new)
    ents = seeds / "entities" / "all.yaml"
    ents.write_text(ents.read_text().replace(
        "  - {id: adviser, type: person, name: The Adviser}",
        "  - {id: adviser, type: person, name: The Adviser, possibly_same_as: [envoy]}", 1))
    return seeds, dist


def test_forward_looking_stances_and_identity_hypotheses_map_to_terms(tmp_path):
    seeds, _ = _identity_project(tmp_path)
    g = load(seeds).graph
    visit, hyp = KB["envoy-expected-in-harbour-town"], KB["adviser-possibly-envoy"]
    assert {g.value(c, KBO.stance) for c in g.objects(visit, KBO.claim)} == \
        {KBO.ReportsInAdvance, KBO.Expects}
    assert g.value(visit, KBO.status) == KBO.Expected
    got = Graph()
    for p, o in g.predicate_objects(hyp):
        if p in (RDF.type, KBO.identitySubject, KBO.identityCandidate, KBO.suggestedBy):
            got.add((hyp, p, o))
    got.add((KB.adviser, KBO.possiblySameAs, g.value(KB.adviser, KBO.possiblySameAs)))
    expected = Graph()
    for t in [(hyp, RDF.type, KBO.IdentityHypothesis), (hyp, KBO.identitySubject, KB.adviser),
              (hyp, KBO.identityCandidate, KB.envoy), (hyp, KBO.suggestedBy,
                                                         KBO.SuggestedByCurators),
              (KB.adviser, KBO.possiblySameAs, KB.envoy)]:
        expected.add(t)
    assert isomorphic(got, expected)
    assert (KB.adviser, URIRef("http://www.w3.org/2002/07/owl#sameAs"), KB.envoy) not in g
    assert _build(seeds, tmp_path / "dist").exit_code == 0


def test_a_fact_only_expected_cannot_be_confirmed(tmp_path):
    """Exit 1 naming the fact; dist/ is not written."""
    seeds, dist = _identity_project(tmp_path, "    status: expected\n", "    status: confirmed\n")
    result = _build(seeds, dist)
    assert result.exit_code == 1, result.output
    assert "Violation: kb:envoy-expected-in-harbour-town" in result.output
    assert "its status can only be planned or expected" in result.output
    assert not dist.exists()


def test_a_possibly_same_as_link_needs_its_hypothesis(tmp_path):
    seeds, dist = _identity_project(tmp_path, "    candidate: envoy\n", "    candidate: fund\n")
    result = _build(seeds, dist)
    assert result.exit_code == 1, result.output
    assert "Violation: kb:adviser" in result.output and "has no identity hypothesis" in \
        result.output
    assert "does not list the candidate under possibly_same_as" in result.output
    assert not dist.exists()


@pytest.mark.parametrize(("old", "new", "words"), [
    ("stance: expects", "stance: hopes", "[citations.stance] 'hopes' is not one of"),
    ("suggested_by: curators", "suggested_by: rumour", "[suggested_by]"),
    ("    basis: Both are said to have been at the harbour that day.\n", "", "[basis]"),
])
def test_bad_modality_or_identity_fields_exit_2_with_location(tmp_path, old, new, words):
    seeds, dist = _identity_project(tmp_path, old, new)
    result = _build(seeds, dist)
    assert result.exit_code == 2, result.output
    assert f"{seeds / 'facts' / 'facts.yaml'}:" in result.output and words in result.output, \
        result.output
    assert not dist.exists()
