"""An entity's description (kb.serve.pages.EntityPages.triples) is the node's triples and those
of every node below its IRI, found by following links rather than by scanning every subject:
the same triples as the scan, on the curated KB and on synthetic facts."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pyoxigraph as ox
import pytest

from kb.bench.synth import generate
from kb.build.pipeline import check_fast
from kb.core.paths import SEEDS
from kb.rdf.ontology import load_ontology
from kb.seeds.schema import load_schema
from kb.serve.pages import EntityPages

# the reference: every subject at the node's IRI or under it, by scanning the graph
SCAN = """
CONSTRUCT { ?s ?p ?o } WHERE {
  VALUES ?node { UNDEF }
  ?s ?p ?o .
  FILTER(?s = ?node || STRSTARTS(STR(?s), CONCAT(STR(?node), "/")))
}"""


def _pages(seeds: Path) -> EntityPages:
    store = ox.Store()
    store.load(check_fast(seeds).kb_ttl, format=ox.RdfFormat.TURTLE)
    schema = load_schema()
    return EntityPages.create(store, schema.base, load_ontology(), schema.prefixes)


def _by_record(pages: EntityPages) -> dict[str, set[str]]:
    """Each record's triples (its own and its sub-nodes'), by one pass over the store."""
    out: dict[str, set[str]] = defaultdict(set)
    for q in pages.store.quads_for_pattern(None, None, None, ox.DefaultGraph()):
        s = q.subject
        if isinstance(s, ox.NamedNode) and s.value.startswith(pages.id_base):
            record = pages.id_base + s.value[len(pages.id_base):].split("/", 1)[0]
            out[record].add(str(ox.Triple(q.subject, q.predicate, q.object)))
    return out


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> EntityPages:
    work = tmp_path_factory.mktemp("entity-triples")
    return _pages(generate(work, 300, per_rule=1).seeds)


@pytest.mark.parametrize("kb", ["curated", "synthetic"])
def test_every_records_description_is_the_scans(kb: str, synthetic: EntityPages) -> None:
    pages = _pages(SEEDS) if kb == "curated" else synthetic
    expected = _by_record(pages)
    assert len(expected) > 300 and sum(map(len, expected.values())) > 10_000
    nested = 0
    for record, triples in expected.items():
        got = pages.triples(record)
        assert got == sorted(got, key=str)
        assert {str(t) for t in got} == triples, record
        nested += any(str(t.subject) != f"<{record}>" for t in got)
    assert nested > 100  # records with nodes below them: dates, citations, links...


def test_a_node_below_a_record_and_a_missing_one(synthetic: EntityPages) -> None:
    """Started below a record, or at an IRI nothing is described at, it agrees with the scan."""
    pages = synthetic
    below = {str(q.subject.value) for q in pages.store.quads_for_pattern(None, None, None)
             if isinstance(q.subject, ox.NamedNode) and q.subject.value.count("/") >= 5}
    starts = sorted(below)[:20] + [pages.id_base + "no-such-record", pages.id_base + "a b"]
    for iri in starts:
        try:
            node = ox.NamedNode(iri)
        except ValueError:
            assert pages.triples(iri) == [] and not pages.exists(iri)
            continue
        scan = {str(t) for t in pages.store.query(SCAN, substitutions={ox.Variable("node"): node})}
        assert {str(t) for t in pages.triples(iri)} == scan, iri
        assert pages.exists(iri) == bool(scan)
