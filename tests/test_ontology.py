"""The ontology: it parses, it declares every term the KB uses, it is consistent with the built
KB under OWL RL reasoning, and docs/ontology.md is generated from it as committed."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import owlrl
import pyoxigraph
import pytest
from click.testing import CliRunner
from owlrl.Namespaces import ERRNS
from rdflib import OWL, RDF, RDFS, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from kb.build.run import BuildResult
from kb.cli.main import main
from kb.core.paths import ONTOLOGY, SEED_SCHEMA
from kb.rdf.ontology import load_ontology
from kb.validate import shape_docs as docs
from kb.validate.report import load_shapes
from kb.validate.shape_docs import KBO, PREFIXES, curie

ID_BASE = PREFIXES["kb"]

# Terms of other vocabularies the KB may use, each also declared in the ontology.
EXTERNAL_PROPERTIES = {
    "dcterms:publisher", "dcterms:title", "oa:exact", "oa:hasSelector", "oa:hasSource",
    "org:member", "org:organization", "prov:agent", "prov:qualifiedAttribution",
    "schema:currency", "schema:description", "schema:name", "schema:value",
    "schema:unitCode", "schema:unitText",  # quantities (issue 15, item 3)
}
EXTERNAL_CLASSES = {"oa:TextQuoteSelector", "prov:Attribution", "schema:MonetaryAmount"}
# RDF, RDFS and OWL's own terms, which an OWL ontology does not declare.
BUILT_IN = {"rdf:type", "rdfs:label", "rdfs:comment", "owl:sameAs"}


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return load_ontology()


@pytest.fixture(scope="module")
def kb(built: BuildResult) -> Graph:
    """The built KB, as written to dist/kb.ttl."""
    (path,) = [p for p in built.written if p.name == "kb.ttl"]
    return Graph().parse(path, format="turtle")


def _declared(ontology: Graph, kinds: set[URIRef]) -> set[Node]:
    return {s for k in kinds for s in ontology.subjects(RDF.type, k)}


def test_the_ontology_is_strict_turtle() -> None:
    """Strict parsers (Oxigraph) read it too, not only rdflib's lenient one."""
    quads = pyoxigraph.parse(path=str(ONTOLOGY), format=pyoxigraph.RdfFormat.TURTLE)
    assert len({(q.subject, q.predicate, q.object) for q in quads}) == len(load_ontology())


def test_the_ontology_describes_itself(ontology: Graph) -> None:
    (onto,) = ontology.subjects(RDF.type, OWL.Ontology)
    for pred in (OWL.versionInfo, OWL.versionIRI, RDFS.label, RDFS.comment):
        assert ontology.value(onto, pred) is not None, curie(pred)


def test_every_kbo_term_is_declared_and_defined(ontology: Graph) -> None:
    """Every kbo: term the ontology or the shapes mention is declared in the ontology, and every
    class and property it declares has a label and a definition."""
    mentioned = {t for g in (ontology, load_shapes()) for triple in g for t in triple
                 if isinstance(t, URIRef) and t.startswith(KBO)}
    declared = set(ontology.subjects(RDF.type, None))
    assert not sorted(map(curie, mentioned - declared))
    terms = _declared(ontology, {OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty})
    undefined = [curie(t) for t in terms if str(t).startswith(KBO)
                 and not (ontology.value(t, RDFS.label) and ontology.value(t, RDFS.comment))]
    assert not sorted(undefined)


def test_the_seed_schema_uses_declared_terms(ontology: Graph) -> None:
    """The classes, properties and values the loader writes (ontology/seed-schema.yaml) are
    declared in the ontology, or are RDF(S)/OWL's own."""
    text = SEED_SCHEMA.read_text(encoding="utf-8")
    used = set(re.findall(r"\b(?:kbo|org|prov|oa|schema|foaf|dcterms|rdfs|owl):\w+", text))
    declared = {curie(s) for s in ontology.subjects(RDF.type, None) if isinstance(s, URIRef)}
    assert not sorted(used - declared - BUILT_IN)


def test_every_term_the_kb_uses_is_declared(kb: Graph, ontology: Graph) -> None:
    """Each property and class of the built KB is declared in the ontology, with the right kind:
    kbo: terms always; terms of other vocabularies only if listed above (and declared)."""
    object_props = _declared(ontology, {OWL.ObjectProperty})
    data_props = _declared(ontology, {OWL.DatatypeProperty})
    classes = _declared(ontology, {OWL.Class})
    problems = []
    for p in set(kb.predicates()):
        name = curie(p)
        if name in BUILT_IN:
            continue
        if not p.startswith(KBO) and name not in EXTERNAL_PROPERTIES:
            problems.append(f"{name}: not an allowed external property")
        literal = {isinstance(o, Literal) for o in kb.objects(None, p)}
        kind = data_props if literal == {True} else object_props if literal == {False} else None
        if kind is None or p not in kind:
            problems.append(f"{name}: not declared as the kind of property its values need")
    for c in set(kb.objects(None, RDF.type)):
        name = curie(c)
        if not c.startswith(KBO) and name not in EXTERNAL_CLASSES:
            problems.append(f"{name}: not an allowed external class")
        if c not in classes:
            problems.append(f"{name}: not declared as an owl:Class")
    values = {o for o in kb.objects() if isinstance(o, URIRef) and o.startswith(KBO)}
    problems += [f"{curie(v)}: not declared" for v in values
                 if (v, RDF.type, None) not in ontology]
    assert not sorted(problems)


def test_the_external_terms_are_declared_in_the_ontology(ontology: Graph) -> None:
    declared = {curie(s) for s in ontology.subjects(RDF.type, None) if isinstance(s, URIRef)}
    assert not sorted((EXTERNAL_PROPERTIES | EXTERNAL_CLASSES) - declared)


def _closure(*graphs: Graph) -> Graph:
    g = Graph()
    for x in graphs:
        g += x
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(g)
    return g


def inconsistencies(g: Graph) -> list[str]:
    """What makes an OWL RL closure inconsistent: owlrl's error markers, instances of
    owl:Nothing, and instances shared by disjoint classes."""
    found = [f"owlrl: {m}" for e in g.subjects(RDF.type, ERRNS.ErrorMessage)
             for m in g.objects(e, ERRNS.error)]
    found += [f"{curie(x)} is an owl:Nothing" for x in g.subjects(RDF.type, OWL.Nothing)]
    pairs = set(g.subject_objects(OWL.disjointWith))
    for group in g.subjects(RDF.type, OWL.AllDisjointClasses):
        members = list(Collection(g, g.value(group, OWL.members)))
        pairs |= set(itertools.combinations(members, 2))
    for a, b in sorted(pairs):
        both = set(g.subjects(RDF.type, a)) & set(g.subjects(RDF.type, b))
        found += [f"{curie(x)} is both {curie(a)} and {curie(b)}" for x in sorted(both)]
    return found


@pytest.fixture(scope="module")
def closure(kb: Graph, ontology: Graph) -> Graph:
    """The OWL RL closure of the ontology and the built KB."""
    return _closure(ontology, kb)


def test_the_kb_is_consistent_under_owl_rl(closure: Graph) -> None:
    assert inconsistencies(closure) == []


def test_owl_rl_adds_no_class_the_data_does_not_imply(closure: Graph, kb: Graph) -> None:
    """Domains and ranges give each KB node no kbo: class beyond the superclasses of the classes
    the loader gave it: an extra one means a domain or range is wrong (or the data is)."""
    wrong = []
    nodes = {n for n in set(kb.subjects()) | set(kb.objects())
             if isinstance(n, URIRef) and n.startswith(ID_BASE)}
    for n in sorted(nodes):
        implied = {sup for c in kb.objects(n, RDF.type)
                   for sup in closure.objects(c, RDFS.subClassOf)}
        implied |= set(kb.objects(n, RDF.type))
        extra = {c for c in closure.objects(n, RDF.type)
                 if isinstance(c, URIRef) and c.startswith(KBO)} - implied
        if extra:
            wrong.append(f"{curie(n)}: {', '.join(sorted(map(curie, extra)))}")
    assert not wrong


def test_the_consistency_check_finds_inconsistencies(ontology: Graph) -> None:
    """The check above would see a problem: a person who is also an organisation, and a
    paragraph number that is not a number."""
    bad = Graph()
    x, loc = URIRef(ID_BASE + "x"), URIRef(ID_BASE + "x/claim/s-p1/locator")
    bad.add((x, RDF.type, KBO.Person))
    bad.add((x, RDF.type, KBO.Organisation))
    bad.add((loc, KBO.paragraph, Literal("one", datatype=URIRef(PREFIXES["xsd"] + "integer"))))
    found = inconsistencies(_closure(ontology, bad))
    assert "kb:x is both kbo:Person and kbo:Organisation" in found
    assert any(f.startswith("owlrl:") and "one" in f for f in found), found


def test_docs_are_generated_from_the_ontology_and_shapes() -> None:
    """docs/ontology.md is what `kb docs` writes; run it after editing the ontology or shapes."""
    assert docs.DOC_FILE.read_text(encoding="utf-8") == docs.generate(), \
        "docs/ontology.md is out of date: run `kb docs`"


def test_docs_command(tmp_path: Path) -> None:
    out = tmp_path / "ontology.md"
    runner = CliRunner()
    assert runner.invoke(main, ["docs", "--check", "-o", str(out)]).exit_code == 1
    assert runner.invoke(main, ["docs", "-o", str(out)]).exit_code == 0
    assert runner.invoke(main, ["docs", "--check", "-o", str(out)]).exit_code == 0
    out.write_text(out.read_text(encoding="utf-8") + "edited by hand\n", encoding="utf-8")
    assert runner.invoke(main, ["docs", "--check", "-o", str(out)]).exit_code == 1
