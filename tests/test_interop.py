"""Exports other tools load as they are: round-trips through every RDF format, each read by rdflib
and by Oxigraph; the published JSON-LD context; the schema.org view; checked sameAs links."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from pyshacl import validate as shacl_validate
from rdflib import OWL, RDF, XSD, BNode, Dataset, Graph, Literal, Namespace, URIRef
from rdflib.compare import graph_diff, isomorphic
from rdflib.term import Node

from kb.bench import naive
from kb.bench.naive import load, validate
from kb.build.run import BuildResult, build
from kb.cli.main import main
from kb.core.errors import InputError, NonConformingError
from kb.core.paths import CONTEXT, ROOT, VIEW_SHAPES
from kb.interop.context import context, context_bytes, context_document
from kb.interop.formats import jsonld, ntriples, serialise, trig, turtle
from kb.interop.views import construct, view_context
from kb.interop.void import describe, description_graph_iri
from kb.rdf.mapping import Loaded
from kb.rdf.ontology import load_ontology
from kb.rdf.terms import to_store
from kb.seeds.schema import load_schema

SDO = Namespace("https://schema.org/")
KBO = Namespace(load_schema().kbo)
WD = Namespace("http://www.wikidata.org/entity/")
EXTERNAL_IDS = ROOT.parent / "shared" / "external-ids.md"


# -- helpers


def assert_iso(got: Graph, want: Graph, what: str) -> None:
    """Isomorphic, or fail with the triples only in one of the two."""
    if isomorphic(got, want):
        return
    _, only_got, only_want = graph_diff(got, want)
    lines = [f"{what}: not the same graph ({len(got)} vs {len(want)} triples)"]
    lines += ["  only in export: " + " ".join(t.n3() for t in tr)
              for tr in sorted(only_got)[:15]]
    lines += ["  only in KB:     " + " ".join(t.n3() for t in tr)
              for tr in sorted(only_want)[:15]]
    pytest.fail("\n".join(lines))


def _rd(term: object) -> Node:
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        if term.datatype.value == str(XSD.string):
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    raise TypeError(term)


def ox_graphs(data: bytes, fmt: ox.RdfFormat) -> dict[str | None, Graph]:
    """Parse with Oxigraph: graph name (None: the default graph) -> its triples in rdflib."""
    out: dict[str | None, Graph] = {}
    for q in ox.parse(data, format=fmt):
        name = None if isinstance(q.graph_name, ox.DefaultGraph) else q.graph_name.value
        out.setdefault(name, Graph()).add((_rd(q.subject), _rd(q.predicate), _rd(q.object)))
    return out


def ox_graph(data: bytes, fmt: ox.RdfFormat) -> Graph:
    graphs = ox_graphs(data, fmt)
    assert set(graphs) <= {None}, "unexpected named graphs"
    return graphs.get(None, Graph())


def assert_no_bnodes(g: Graph, what: str) -> None:
    bnodes = [t for t in g if any(isinstance(x, BNode) for x in t)]
    assert not bnodes, f"{what} has blank nodes: {bnodes[:3]}"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any attempt to open a connection fails the test."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args!r}")
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield


@pytest.fixture(scope="module")
def kb(built: BuildResult) -> Graph:
    return built.loaded.graph


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return load_ontology()


# -- round-trips: Turtle -> N-Triples -> JSON-LD -> TriG, each read by rdflib and Oxigraph


@pytest.fixture(scope="module")
def chain(built: BuildResult, dist_dir: Path) -> dict[str, tuple[bytes, Graph]]:
    """Each format's bytes, written from the graph read back from the previous one."""
    out: dict[str, tuple[bytes, Graph]] = {}
    data = (dist_dir / "kb.ttl").read_bytes()
    g = Graph().parse(data=data, format="turtle")
    out["turtle"] = (data, g)
    data = ntriples(g)
    g = Graph().parse(data=data, format="nt")
    out["ntriples"] = (data, g)
    data = jsonld(g)
    g = Graph().parse(data=data, format="json-ld")
    out["jsonld"] = (data, g)
    data = trig(Loaded(g, built.loaded.seeds, built.loaded.origin, built.loaded.source_of))
    ds = Dataset()
    ds.parse(data=data, format="trig")
    union = Graph()
    for ctx in ds.graphs():
        if ctx.identifier != description_graph_iri():
            for t in ctx:
                union.add(t)
    out["trig"] = (data, union)
    return out


@pytest.mark.parametrize("fmt", ["turtle", "ntriples", "jsonld", "trig"])
def test_round_trip_through_rdflib(chain: dict, kb: Graph, fmt: str) -> None:
    assert_iso(chain[fmt][1], kb, f"{fmt} read by rdflib")
    assert_no_bnodes(chain[fmt][1], fmt)


OX_FORMATS = {"turtle": ox.RdfFormat.TURTLE, "ntriples": ox.RdfFormat.N_TRIPLES,
              "jsonld": ox.RdfFormat.JSON_LD, "trig": ox.RdfFormat.TRIG}


@pytest.mark.parametrize("fmt", ["turtle", "ntriples", "jsonld"])
def test_round_trip_through_oxigraph(chain: dict, kb: Graph, fmt: str) -> None:
    g = ox_graph(chain[fmt][0], OX_FORMATS[fmt])
    assert_iso(g, kb, f"{fmt} read by Oxigraph")
    assert_no_bnodes(g, fmt)


def test_trig_read_by_oxigraph(chain: dict, kb: Graph, ontology: Graph,
                               built: BuildResult) -> None:
    graphs = ox_graphs(chain["trig"][0], ox.RdfFormat.TRIG)
    description = graphs.pop(str(description_graph_iri()))
    assert_iso(description, describe(kb, ontology), "the TriG's dataset description")
    union = Graph()
    for g in graphs.values():
        assert_no_bnodes(g, "trig")
        for t in g:
            union.add(t)
    assert_iso(union, kb, "TriG read by Oxigraph, all graphs but the description")
    sources = {str(s) for s in kb.subjects(RDF.type, KBO.SourceDocument)}
    assert {n for n in graphs if n} == {s + "/graph" for s in sources}


def test_exports_are_byte_stable_whatever_the_input_order(chain: dict,
                                                          built: BuildResult) -> None:
    """Written from a graph parsed back (another insertion order), the bytes are the same."""
    assert chain["ntriples"][0] == serialise(built.loaded, "ntriples")
    assert chain["jsonld"][0] == serialise(built.loaded, "jsonld")


# -- the published JSON-LD context


def test_context_is_copied_into_dist(dist_dir: Path) -> None:
    assert (dist_dir / "context.jsonld").read_bytes() == CONTEXT.read_bytes() == context_bytes()


def test_context_is_versioned_with_the_ontology(ontology: Graph, no_network: None) -> None:
    doc = context_document()
    header = next(ontology.subjects(RDF.type, OWL.Ontology))
    version = str(ontology.value(header, OWL.versionInfo))
    assert doc["versionInfo"] == version, "bump the context's version with the ontology's"
    assert doc["id"].endswith(f"/{version}.jsonld")
    ctx = doc["@context"]
    assert ctx["kb"] == load_schema().base + "id/"
    assert ctx["kbo"] == ctx["@vocab"] == load_schema().kbo
    stamp = (URIRef(doc["id"]), OWL.versionInfo, Literal(version))
    assert stamp in Graph().parse(data=CONTEXT.read_bytes(), format="json-ld")
    assert stamp in ox_graph(CONTEXT.read_bytes(), ox.RdfFormat.JSON_LD)


def test_context_covers_every_ontology_property(ontology: Graph) -> None:
    ctx = context()
    kbo = load_schema().kbo
    by_iri = {}
    for key, value in ctx.items():
        iri = value["@id"] if isinstance(value, dict) else value
        if isinstance(iri, str) and iri.startswith("kbo:"):
            by_iri[kbo + iri[4:]] = (key, value)
    enums = set(ontology.subjects(OWL.oneOf, None))
    for kind in (OWL.ObjectProperty, OWL.DatatypeProperty):
        for p in ontology.subjects(RDF.type, kind):
            if not str(p).startswith(kbo):
                continue
            assert str(p) in by_iri, f"{p} has no term in ontology/context.jsonld"
            key, value = by_iri[str(p)]
            assert key == str(p)[len(kbo):], f"{p}'s key should be its local name, not {key}"
            rng = ontology.value(p, URIRef("http://www.w3.org/2000/01/rdf-schema#range"))
            coerced = value.get("@type") if isinstance(value, dict) else None
            if kind == OWL.ObjectProperty:
                assert coerced == ("@vocab" if rng in enums else "@id"), p
            elif rng is not None and rng not in (XSD.string, Literal, URIRef(
                    "http://www.w3.org/2000/01/rdf-schema#Literal")):
                assert coerced == "xsd:" + str(rng).split("#")[1], p
            else:
                assert coerced is None, p


def test_jsonld_reads_as_plain_keys(chain: dict) -> None:
    doc = json.loads(chain["jsonld"][0])
    assert doc["@context"] == context(), "the export embeds the published context as it is"
    assert set(doc) == {"@context", "@graph"}
    for node in doc["@graph"]:
        for key in node:
            assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", key), f"key {key!r} in {node['id']}"
        types = node.get("type", [])
        for t in types if isinstance(types, list) else [types]:
            assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", t), f"type {t!r} in {node['id']}"


def test_jsonld_loads_without_the_network(chain: dict, kb: Graph, no_network: None) -> None:
    assert_iso(Graph().parse(data=chain["jsonld"][0], format="json-ld"), kb,
               "JSON-LD read by rdflib with the network blocked")


# -- the schema.org view


@pytest.fixture(scope="module")
def schema_org(kb: Graph, ontology: Graph) -> Graph:
    return construct(kb, "schema.org", ontology)


def test_schema_org_view_conforms_to_its_shapes(schema_org: Graph) -> None:
    shapes = Graph().parse(VIEW_SHAPES / "schema-org.ttl", format="turtle")
    conforms, _, text = shacl_validate(schema_org, shacl_graph=shapes, inference="none",
                                       allow_warnings=True)
    assert conforms, text


def test_schema_org_view_uses_only_schema_org(schema_org: Graph) -> None:
    assert len(schema_org) > 0
    assert_no_bnodes(schema_org, "the schema.org view")
    for _, p, o in schema_org:
        assert p == RDF.type or str(p).startswith(str(SDO)), p
        if p == RDF.type:
            assert str(o).startswith(str(SDO)), o


def test_schema_org_view_content(schema_org: Graph, kb: Graph) -> None:
    putin = URIRef(load_schema().id_iri("vladimir-putin"))
    assert (putin, RDF.type, SDO.Person) in schema_org
    assert (putin, SDO.sameAs, WD.Q7747) in schema_org
    events = set(schema_org.subjects(RDF.type, SDO.Event))
    for p in (SDO.attendee, SDO.location, SDO.startDate):
        assert any((e, p, None) in schema_org for e in events), f"no event has {p}"
    articles = set(schema_org.subjects(RDF.type, SDO.NewsArticle))
    assert articles == set(kb.subjects(RDF.type, KBO.SourceDocument))
    claims = set(schema_org.subjects(RDF.type, SDO.Claim))
    assert claims == set(kb.subjects(RDF.type, KBO.Claim))
    assert all(schema_org.value(c, SDO.appearance) in articles for c in claims)


def test_schema_org_exports_load_in_rdflib_and_oxigraph(schema_org: Graph) -> None:
    data = turtle(schema_org)
    assert_iso(ox_graph(data, ox.RdfFormat.TURTLE), schema_org, "schema.org Turtle, Oxigraph")
    data = jsonld(schema_org, view_context("schema.org"))
    doc = json.loads(data)
    assert doc["@context"] == view_context("schema.org")
    assert all(":" not in k for n in doc["@graph"] for k in n)
    assert_iso(Graph().parse(data=data, format="json-ld"), schema_org, "schema.org JSON-LD")
    assert_iso(ox_graph(data, ox.RdfFormat.JSON_LD), schema_org,
               "schema.org JSON-LD, Oxigraph")


# -- the export command


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, built: BuildResult) -> CliRunner:
    """`kb export` on the session's build (validating again would only cost time)."""
    monkeypatch.setattr("kb.build.run.check", lambda seeds_dir, **_: built.built)
    return CliRunner()


def test_export_command_profile_and_ftm(runner: CliRunner, built: BuildResult,
                                        schema_org: Graph, tmp_path: Path) -> None:
    out = tmp_path / "kb.schema-org.ttl"
    res = runner.invoke(main, ["export", "--profile", "schema.org", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert_iso(Graph().parse(out, format="turtle"), schema_org, "kb export --profile schema.org")
    res = runner.invoke(main, ["export", "--format", "ftm"])
    assert res.exit_code == 0, res.output
    assert res.stdout_bytes == serialise(built.loaded, "ftm")
    res = runner.invoke(main, ["export", "--format", "ftm", "--profile", "schema.org"])
    assert res.exit_code == 2


# -- external identifiers: every owl:sameAs names who checked it, against what, when


def test_every_sameas_link_names_who_checked_it(kb: Graph) -> None:
    store = to_store(kb)
    unchecked = list(store.query(f"""
        SELECT ?s ?o WHERE {{
          ?s <{OWL.sameAs}> ?o .
          FILTER NOT EXISTS {{
            ?l a <{KBO.CheckedLink}> ; <{KBO.linkSubject}> ?s ; <{KBO.linkTarget}> ?o ;
               <{KBO.linkProperty}> <{OWL.sameAs}> ;
               <{KBO.checkedBy}> ?by ; <{KBO.checkedAgainst}> ?what ; <{KBO.checkedOn}> ?when .
          }}
        }}"""))
    assert not unchecked, f"sameAs links without provenance: {unchecked}"
    assert len(set(kb.subject_objects(OWL.sameAs))) > 0


def test_sameas_links_are_the_checked_identifiers(kb: Graph) -> None:
    if not EXTERNAL_IDS.is_file():
        pytest.skip(f"{EXTERNAL_IDS} not found")
    table = dict(re.findall(r"^\|\s*([^|]+?)\s*\|\s*(Q[0-9]+)\s*\|",
                            EXTERNAL_IDS.read_text(encoding="utf-8"), flags=re.MULTILINE))
    checked = {qid: name for name, qid in table.items()}
    for s, o in kb.subject_objects(OWL.sameAs):
        qid = str(o)[len(str(WD)):]
        assert qid in checked, f"{s} owl:sameAs {qid}: not a checked identifier (never guess)"
        names = {str(n) for n in kb.objects(s, SDO.name)} | {
            str(n) for n in kb.objects(s, KBO.alias)}
        assert checked[qid] in names, f"{qid} was checked for {checked[qid]!r}, not {names}"


SEED_PERSON = """\
entities:
  - id: vladimir-putin
    type: person
    name: Vladimir Putin
    sameas:
      - wikidata: Q7747
{link}
"""
LINK = """\
        checked_by: kb curators
        checked_against: opensanctions/yente tests
        checked_on: "2026-11-24"
"""


def _seeds(tmp_path: Path, link: str) -> Path:
    (tmp_path / "seeds" / "entities").mkdir(parents=True)
    (tmp_path / "seeds" / "entities" / "people.yaml").write_text(
        SEED_PERSON.format(link=link), encoding="utf-8")
    return tmp_path / "seeds"


def test_sameas_without_provenance_in_a_seed_fails_the_build(tmp_path: Path) -> None:
    seeds = _seeds(tmp_path, "\n".join(LINK.splitlines()[1:]))  # no checked_by
    with pytest.raises(InputError, match="checked"):
        build(seeds, tmp_path / "dist")
    assert not (tmp_path / "dist").exists()


def _provenance_violations(loaded: Loaded) -> list:
    return [i for i in validate(loaded).violations if "has no kbo:CheckedLink" in i.message]


def test_sameas_without_checked_link_fails_the_build(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = load(_seeds(tmp_path, LINK))
    assert not _provenance_violations(loaded)
    links = list(loaded.graph.subjects(RDF.type, KBO.CheckedLink))
    assert len(links) == 1
    loaded.graph.remove((links[0], KBO.checkedBy, None))  # who checked it: unknown
    assert _provenance_violations(loaded)
    monkeypatch.setattr("kb.bench.naive.load", lambda seeds_dir: loaded)
    with pytest.raises(NonConformingError, match="has no kbo:CheckedLink"):
        naive.build(tmp_path / "seeds", tmp_path / "dist")
    assert not (tmp_path / "dist").exists()


def test_export_command_offers_exactly_the_formats_and_profiles_there_are() -> None:
    """kb/cli/build.py lists them without importing the exporters (a lazy CLI): a format or a
    view added to kb.interop must show up in `kb export --help`, and nothing else."""
    from kb.cli import build as cli_build
    from kb.interop import formats
    assert cli_build.FORMATS == list(formats.FORMATS)
    assert cli_build.PROFILES == list(formats.PROFILES)
    help_text = CliRunner().invoke(main, ["export", "--help"]).output
    for name in formats.FORMATS:
        assert name in help_text
