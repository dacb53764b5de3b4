"""The figures dist/void.ttl states (kb.void.Figures), from the Oxigraph store instead of an
rdflib graph: counted by SPARQL after a full build, and kept up to date from the changed
triples after an incremental one (a few index lookups, not a pass over 10^6 triples).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox
from rdflib import OWL, RDF, URIRef

from kb.interop.void import Figures, LinkTarget, load_meta, vocabulary_of
from kb.seeds.schema import load_schema

_TYPE, _SAMEAS = RDF.type, OWL.sameAs


@dataclass
class Counts:
    triples: int = 0
    entities: int = 0
    subjects: int = 0
    objects: int = 0
    classes: Counter[str] = field(default_factory=Counter)  # class -> instances
    properties: Counter[str] = field(default_factory=Counter)  # property -> triples
    links: Counter[str] = field(default_factory=Counter)  # link target name -> owl:sameAs
    sources: set[str] = field(default_factory=set)

    def figures(self, targets: tuple[LinkTarget, ...] | None = None) -> Figures:
        targets = targets if targets is not None else load_meta().link_targets
        classes = {URIRef(c): n for c, n in sorted(self.classes.items()) if n > 0}
        props = {URIRef(p): n for p, n in sorted(self.properties.items()) if n > 0}
        vocabs = {vocabulary_of(p) for p in props} | {vocabulary_of(c) for c in classes}
        return Figures(self.triples, self.entities, self.subjects, self.objects, classes, props,
                       {t.name: self.links.get(t.name, 0) for t in targets},
                       tuple(sorted(URIRef(s) for s in self.sources)), tuple(sorted(vocabs)))


class HasNode:
    """Enough of a graph for kb.void.describe once the figures are known: `(s, p, o) in g`."""

    def __init__(self, store: ox.Store):
        self.store = store

    def __contains__(self, triple: tuple) -> bool:
        s, p, o = (None if t is None else ox.NamedNode(str(t)) for t in triple)
        return any(True for _ in self.store.quads_for_pattern(s, p, o, ox.DefaultGraph()))


def _target(iri: str, targets: tuple[LinkTarget, ...], subject: str) -> str:
    hit = [t for t in targets if iri.startswith(t.uri_space)]
    if not hit:
        raise ValueError(f"owl:sameAs {iri} from {subject} points into no declared link target "
                         f"(ontology/dataset.yaml link_targets)")
    return hit[0].name


def _one(store: ox.Store, query: str) -> int:
    res: Any = store.query(query)
    return int(next(iter(res))[0].value)


def count(store: ox.Store, targets: tuple[LinkTarget, ...] | None = None) -> Counts:
    """All figures of the KB (the store's default graph): whole-graph aggregates by SPARQL
    (fixed query text), the rest by index lookups on the terms they are about."""
    targets = targets if targets is not None else load_meta().link_targets
    kbo = load_schema().kbo
    c = Counts()
    c.triples = _one(store, "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }")
    c.subjects = _one(store, "SELECT (COUNT(DISTINCT ?s) AS ?n) { ?s ?p ?o }")
    c.objects = _one(store, "SELECT (COUNT(DISTINCT ?o) AS ?n) { ?s ?p ?o }")
    for row in store.query("SELECT ?p (COUNT(*) AS ?n) { ?s ?p ?o } GROUP BY ?p"):  # type: ignore[union-attr]
        c.properties[row[0].value] = int(row[1].value)
    for row in store.query("SELECT ?c (COUNT(*) AS ?n) "  # type: ignore[union-attr]
                           "{ ?s <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> ?c } "
                           "GROUP BY ?c"):
        c.classes[row[0].value] = int(row[1].value)
    c.entities = len({q.subject for q in _quads(store, None, f"{kbo}identifier", None)})
    for q in _quads(store, None, str(_SAMEAS), None):
        c.links[_target(q.object.value, targets, q.subject.value)] += 1
    c.sources = {q.subject.value
                 for q in _quads(store, None, str(_TYPE), ox.NamedNode(f"{kbo}SourceDocument"))}
    return c


def _quads(store: ox.Store, s: Any, p: str, o: Any) -> Any:
    return store.quads_for_pattern(s, ox.NamedNode(p), o, ox.DefaultGraph())


def update(c: Counts, store: ox.Store, minus: set, plus: set,
           targets: tuple[LinkTarget, ...] | None = None) -> None:
    """Bring the figures up to date after removing `minus` and adding `plus` (the store holds
    the new graph): counts move by the changed triples, and a node is counted as a distinct
    subject or object while it has at least one triple in that position."""
    targets = targets if targets is not None else load_meta().link_targets
    kbo = load_schema().kbo
    ident, source = f"{kbo}identifier", f"{kbo}SourceDocument"
    c.triples += len(plus) - len(minus)
    for sign, quads in ((-1, minus), (1, plus)):
        for q in quads:
            p = q.predicate.value
            c.properties[p] += sign
            if p == str(_TYPE):
                c.classes[q.object.value] += sign
                if q.object.value == source:
                    (c.sources.add if sign > 0 else c.sources.discard)(q.subject.value)
            elif p == str(_SAMEAS):
                c.links[_target(q.object.value, targets, q.subject.value)] += sign
    dg = ox.DefaultGraph()

    def moved(nodes: Counter, pattern: Any) -> int:
        """How many nodes started (+1) or stopped (-1) having triples in that position."""
        out = 0
        for node, delta in nodes.items():
            now = sum(1 for _ in pattern(node))
            before = now - delta
            out += (now > 0) - (before > 0)
        return out
    subj = Counter({q.subject: 0 for q in minus | plus})
    obj = Counter({q.object: 0 for q in minus | plus})
    ids = Counter({q.subject: 0 for q in minus | plus if q.predicate.value == ident})
    for sign, quads in ((-1, minus), (1, plus)):
        for q in quads:
            subj[q.subject] += sign
            obj[q.object] += sign
            if q.predicate.value == ident:
                ids[q.subject] += sign
    c.subjects += moved(subj, lambda n: store.quads_for_pattern(n, None, None, dg))
    c.objects += moved(obj, lambda n: store.quads_for_pattern(None, None, n, dg))
    c.entities += moved(ids, lambda n: store.quads_for_pattern(n, ox.NamedNode(ident), None, dg))
