"""FollowTheMoney export: every entity parsed and checked by the followthemoney library itself."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from typing import Any

import pytest
from followthemoney import model
from followthemoney.exc import InvalidData
from followthemoney.types import registry
from rdflib import OWL, RDF, Graph, Literal, Namespace, URIRef

from kb.build.run import BuildResult
from kb.interop.formats import serialise
from kb.interop.ftm import ftm_date, ftm_lines, load_mapping, span_date
from kb.rdf.ontology import load_ontology
from kb.seeds.schema import load_schema

KBO = Namespace(load_schema().kbo)


@pytest.fixture(scope="module")
def kb(built: BuildResult) -> Graph:
    return built.loaded.graph


@pytest.fixture(scope="module")
def lines(built: BuildResult) -> list[str]:
    return serialise(built.loaded, "ftm").decode("utf-8").splitlines()


@pytest.fixture(scope="module")
def entities(lines: list[str]) -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in map(json.loads, lines)}


def _ftm_id(kb_id: str) -> str:
    return f"{load_mapping().id_prefix}-{kb_id.replace('_', '-')}"


def test_every_entity_is_valid_ftm(entities: dict[str, dict[str, Any]]) -> None:
    """Parsed by FtM's model; every value survives FtM's own cleaning unchanged; required
    properties present; references resolve to entities of the property's range."""
    problems = []
    for ident, e in entities.items():
        schema = model.get(e["schema"])
        if schema is None or schema.abstract:
            problems.append(f"{ident}: schema {e['schema']!r} is unknown or abstract")
            continue
        if not registry.entity.validate(ident):
            problems.append(f"{ident}: not a valid FtM id")
        unknown = [p for p in e["properties"] if schema.get(p) is None]
        if unknown:  # FtM's parser would drop these silently
            problems.append(f"{ident}: {e['schema']} has no properties {unknown}")
            continue
        try:
            proxy = model.get_proxy(e, cleaned=False)  # cleans every value by its type
            schema.validate(e)
        except InvalidData as exc:
            problems.append(f"{ident}: {exc} {getattr(exc, 'errors', '')}")
            continue
        assert proxy.id == ident
        for name, values in e["properties"].items():
            prop = schema.get(name)
            if sorted(proxy.get(name)) != sorted(values):
                problems.append(f"{ident}.{name}: FtM cleans {values} to {proxy.get(name)}")
            for v in values:
                if len(v) > prop.max_length:
                    problems.append(f"{ident}.{name}: longer than {prop.max_length}")
                if prop.type.name == "entity":
                    target = entities.get(v)
                    if target is None:
                        problems.append(f"{ident}.{name}: {v} is not exported")
                    elif not model.get(target["schema"]).is_a(prop.range):
                        problems.append(f"{ident}.{name}: {v} is a {target['schema']}, "
                                        f"not a {prop.range.name}")
        for req in schema.required:
            if not e["properties"].get(req):
                problems.append(f"{ident}: required property {req} missing")
    assert not problems, "\n".join(problems[:30])


def test_ids_values_and_lines_are_sorted_and_stable(lines: list[str], built: BuildResult) -> None:
    ids = [json.loads(line)["id"] for line in lines]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    for line in lines:
        e = json.loads(line)
        assert set(e) == {"id", "schema", "properties"}
        assert all(v == sorted(set(v)) and v for v in e["properties"].values())
    again = ftm_lines(built.loaded.graph, load_ontology())
    assert again == "\n".join(lines).encode("utf-8") + b"\n"


def test_people_organisations_and_checked_wikidata_ids(entities: dict, kb: Graph) -> None:
    base = load_schema().base + "id/"
    for s in kb.subjects(RDF.type, KBO.Person):
        e = entities[_ftm_id(str(s)[len(base):])]
        assert e["schema"] == "Person"
        qids = sorted(str(o).rsplit("/", 1)[-1] for o in kb.objects(s, OWL.sameAs))
        assert e["properties"].get("wikidataId", []) == qids
    schemata = Counter(e["schema"] for e in entities.values())
    n_orgs = len(set(kb.subjects(RDF.type, KBO.Organisation)))
    assert schemata["Organization"] + schemata["PublicBody"] + schemata["Company"] == n_orgs
    putin = entities[_ftm_id("vladimir-putin")]
    assert putin["properties"]["wikidataId"] == ["Q7747"]


def test_sanctions_one_per_target(entities: dict, kb: Graph) -> None:
    sanctions = [e for e in entities.values() if e["schema"] == "Sanction"]
    expected = sum(1 for s in kb.subjects(RDF.type, KBO.SanctionAction)
                   for _ in kb.objects(s, KBO.target))
    assert len(sanctions) == expected > 0
    for e in sanctions:
        assert len(e["properties"]["entity"]) == 1
        assert e["properties"]["proof"], "a sanction cites its sources"
        assert e["properties"]["summary"], "its claims travel as summary lines"


def test_posts_become_memberships_with_their_claims(entities: dict, kb: Graph) -> None:
    e = entities[_ftm_id("dmitriev-heads-rdif")]
    assert e["schema"] == "Membership"
    assert e["properties"]["member"] == [_ftm_id("kirill-dmitriev")]
    assert e["properties"]["organization"] == [_ftm_id("rdif")]
    assert e["properties"]["recordId"] == ["dmitriev-heads-rdif"]
    for proof in e["properties"]["proof"]:
        assert entities[proof]["schema"] == "Article"
    claims = len(set(kb.objects(URIRef(load_schema().id_iri("dmitriev-heads-rdif")),
                                KBO.claim)))
    assert len(e["properties"]["summary"]) == claims


def test_events_carry_participants_place_and_claims(entities: dict, kb: Graph) -> None:
    events = [e for e in entities.values() if e["schema"] == "Event"]
    assert len(events) >= len(set(kb.subjects(RDF.type, KBO.Contact)))
    for prop in ("involved", "organizer", "addressEntity", "country", "date", "summary"):
        assert any(prop in e["properties"] for e in events), f"no event has {prop}"


def test_every_country_has_an_iso_code(kb: Graph) -> None:
    codes = load_mapping().countries
    base = load_schema().base + "id/"
    missing = [str(s)[len(base):] for s in kb.subjects(RDF.type, KBO.Country)
               if str(s)[len(base):] not in codes]
    assert not missing, f"add ISO codes to ontology/ftm-mapping.yaml countries: {missing}"


def test_source_documents_are_articles(entities: dict, kb: Graph) -> None:
    base = load_schema().base + "id/"
    for s in kb.subjects(RDF.type, KBO.SourceDocument):
        kb_id = str(s)[len(base):]
        e = entities[_ftm_id(kb_id)]
        assert e["schema"] == "Article"
        assert e["properties"]["fileName"] == [f"{kb_id}.txt"]


@pytest.mark.parametrize(("lo", "hi", "want"), [
    ("2017-01-12", "2017-01-12", "2017-01-12"),
    ("2020-02-01", "2020-02-29", "2020-02"),
    ("2018-01-01", "2018-12-31", "2018"),
    ("2018-01-01", "2018-12-30", None),
    ("2021-01-20", "2025-01-20", None),
])
def test_dates_only_when_the_bounds_span_a_whole_unit(lo: str, hi: str, want: str | None) -> None:
    assert span_date(date.fromisoformat(lo), date.fromisoformat(hi)) == want


@pytest.mark.parametrize(("reported", "want"), [
    ("2016-11-09T09:34", "2016-11-09T09:34"),  # no zone given: kept as written
    ("2016-11-09T09:34+03:00", "2016-11-09T06:34"),  # FtM dates carry no zone: UTC
    ("2016-11-09T09:34:05Z", "2016-11-09T09:34:05"),
    ("2019-05", "2019-05"),
])
def test_reported_dates_in_ftm_form(reported: str, want: str) -> None:
    g, node = Graph(), URIRef(load_schema().id_iri("x/date"))
    g.add((node, KBO.reported, Literal(reported)))
    g.add((node, KBO.qualifier, KBO.Exact))
    assert ftm_date(g, node, KBO) == want
    assert registry.date.clean(want) == want
