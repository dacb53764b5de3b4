"""The dataset description (dist/void.ttl): its figures equal counts computed by SPARQL."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import OWL, RDF, BNode, Graph, Literal, Namespace, URIRef

from kb.build.run import BuildResult
from kb.core.paths import ROOT
from kb.interop.formats import turtle
from kb.interop.void import dataset_iri, describe, figures, load_meta
from kb.rdf.ontology import load_ontology
from kb.rdf.terms import to_store
from kb.seeds.schema import load_schema

KBO = load_schema().kbo
VOID = Namespace("http://rdfs.org/ns/void#")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCTERMS = Namespace("http://purl.org/dc/terms/")


@pytest.fixture(scope="module")
def void_graph(dist_dir: Path) -> Graph:
    return Graph().parse(dist_dir / "void.ttl", format="turtle")


@pytest.fixture(scope="module")
def kb_store(built: BuildResult) -> ox.Store:
    return to_store(built.loaded.graph)


def _count(store: ox.Store, query: str) -> int:
    rows = list(store.query(query))
    return int(rows[0][0].value)


def _pairs(store: ox.Store, query: str) -> dict[str, int]:
    return {row[0].value: int(row[1].value) for row in store.query(query)}


def _int(g: Graph, s: URIRef, p: URIRef) -> int:
    value = g.value(s, p)
    assert isinstance(value, Literal), f"{s} has no {p}"
    return int(value)


def test_build_writes_the_description(dist_dir: Path, built: BuildResult,
                                      void_graph: Graph) -> None:
    expected = turtle(describe(built.loaded.graph, load_ontology()))
    assert (dist_dir / "void.ttl").read_bytes() == expected
    assert (dataset_iri(), RDF.type, VOID.Dataset) in void_graph
    assert (dataset_iri(), RDF.type, DCAT.Dataset) in void_graph


def test_description_is_byte_stable(built: BuildResult) -> None:
    onto = load_ontology()
    assert turtle(describe(built.loaded.graph, onto)) == turtle(describe(built.loaded.graph, onto))


def test_no_blank_nodes_and_every_node_under_the_dataset(void_graph: Graph) -> None:
    ds = str(dataset_iri())
    for s, _, o in void_graph:
        assert not isinstance(s, BNode) and not isinstance(o, BNode)
        assert str(s) == ds or str(s).startswith(ds + "/"), s


def test_counts_equal_sparql_counts(void_graph: Graph, kb_store: ox.Store) -> None:
    ds = dataset_iri()
    assert _int(void_graph, ds, VOID.triples) == _count(
        kb_store, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    assert _int(void_graph, ds, VOID.entities) == _count(
        kb_store, f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s <{KBO}identifier> ?id }}")
    assert _int(void_graph, ds, VOID.distinctSubjects) == _count(
        kb_store, "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ?p ?o }")
    assert _int(void_graph, ds, VOID.distinctObjects) == _count(
        kb_store, "SELECT (COUNT(DISTINCT ?o) AS ?n) WHERE { ?s ?p ?o }")


def test_entities_per_class_equal_sparql_counts(void_graph: Graph, kb_store: ox.Store) -> None:
    ds = dataset_iri()
    stated = {str(void_graph.value(part, VOID["class"])): _int(void_graph, part, VOID.entities)
              for part in void_graph.objects(ds, VOID.classPartition)}
    counted = _pairs(kb_store, "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?c } GROUP BY ?c")
    assert stated == counted
    assert _int(void_graph, ds, VOID.classes) == len(counted)
    assert stated[KBO + "Person"] > 0 and stated[KBO + "Claim"] > 0


def test_triples_per_property_equal_sparql_counts(void_graph: Graph, kb_store: ox.Store) -> None:
    ds = dataset_iri()
    stated = {str(void_graph.value(part, VOID.property)): _int(void_graph, part, VOID.triples)
              for part in void_graph.objects(ds, VOID.propertyPartition)}
    assert stated == _pairs(kb_store,
                            "SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p")
    assert _int(void_graph, ds, VOID.properties) == len(stated)


def test_one_linkset_per_target_with_its_link_count(void_graph: Graph,
                                                    kb_store: ox.Store) -> None:
    ds = dataset_iri()
    targets = load_meta().link_targets
    linksets = list(void_graph.objects(ds, VOID.subset))
    assert len(linksets) == len(targets)
    for t in targets:
        ls = URIRef(f"{ds}/linkset/{t.name}")
        assert (ls, RDF.type, VOID.Linkset) in void_graph
        assert void_graph.value(ls, VOID.linkPredicate) == OWL.sameAs
        assert void_graph.value(ls, VOID.subjectsTarget) == ds
        target = void_graph.value(ls, VOID.objectsTarget)
        assert str(void_graph.value(target, VOID.uriSpace)) == t.uri_space
        counted = _count(kb_store, f"""SELECT (COUNT(*) AS ?n) WHERE {{
            ?s <{OWL.sameAs}> ?o . FILTER(STRSTARTS(STR(?o), "{t.uri_space}")) }}""")
        assert _int(void_graph, ls, VOID.triples) == counted
    assert _int(void_graph, URIRef(f"{ds}/linkset/wikidata"), VOID.triples) > 0


def test_undeclared_link_target_is_refused() -> None:
    g = Graph()
    g.add((URIRef(load_schema().id_iri("x")), OWL.sameAs, URIRef("http://dbpedia.org/resource/X")))
    with pytest.raises(ValueError, match="no declared link target"):
        figures(g)


def test_sources_vocabularies_version_licence(void_graph: Graph, built: BuildResult,
                                              kb_store: ox.Store) -> None:
    ds = dataset_iri()
    sources = {row[0].value for row in kb_store.query(
        f"SELECT ?s WHERE {{ ?s a <{KBO}SourceDocument> }}")}
    assert {str(o) for o in void_graph.objects(ds, DCTERMS.source)} == sources
    vocabs = {str(o) for o in void_graph.objects(ds, VOID.vocabulary)}
    assert {KBO, "https://schema.org/", "http://www.w3.org/ns/prov#",
            "http://www.w3.org/ns/oa#", str(OWL)} <= vocabs
    onto = load_ontology()
    header = next(onto.subjects(RDF.type, OWL.Ontology))
    version = str(onto.value(header, OWL.versionInfo))
    assert str(void_graph.value(ds, OWL.versionInfo)) == version
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["version"] == version, "bump the ontology and package together"
    assert void_graph.value(ds, DCTERMS.license) == onto.value(header, DCTERMS.license)
    assert void_graph.value(ds, DCTERMS.title) is not None
    assert void_graph.value(void_graph.value(ds, DCTERMS.publisher), RDF.type) is not None


def test_endpoint_and_dumps(void_graph: Graph) -> None:
    ds = dataset_iri()
    base = load_schema().base
    meta = load_meta()
    assert void_graph.value(ds, VOID.sparqlEndpoint) == URIRef(base + meta.sparql_endpoint)
    dumps = {str(o) for o in void_graph.objects(ds, VOID.dataDump)}
    assert dumps == {base + meta.download + d.file for d in meta.distributions if d.dump}
    assert base + meta.download + "kb.ttl" in dumps
    dists = list(void_graph.objects(ds, DCAT.distribution))
    assert len(dists) == len(meta.distributions)
    for d in dists:
        assert void_graph.value(d, DCAT.downloadURL) is not None
        assert void_graph.value(d, DCAT.mediaType) is not None


def test_oxigraph_reads_the_description(dist_dir: Path, void_graph: Graph) -> None:
    store = ox.Store()
    store.load(path=str(dist_dir / "void.ttl"), format=ox.RdfFormat.TURTLE)
    assert len(store) == len(void_graph)
    n = _count(store, f"SELECT ?n WHERE {{ <{dataset_iri()}> <{VOID.triples}> ?n }}")
    assert n == _int(void_graph, dataset_iri(), VOID.triples)
