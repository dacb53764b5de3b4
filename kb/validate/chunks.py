"""Checking the core shapes a few records at a time, with the same results as the whole graph.

A chunk holds some records' own triples ("owned" nodes) and, for the nodes they link to, only
the triples the shapes read there (`ext_predicates`: rdf:type for sh:class, the later steps
of sequence paths, ...). That is enough when no shape reads further than one link from a
focus node, which `chunk_plan` checks (no inverse or transitive paths, no SPARQL, no
sh:closed). Linked nodes must not be validated in a chunk that does not own them, so each
top-level shape's targets are replaced by a marker predicate (`urn:kb:focus/<n>`) that the
chunk sets on exactly the owned nodes those targets select; the targets themselves are
computed as SHACL defines them (instances of the class or of its subclasses in the ontology,
subjects of the predicate).
"""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import OWL, RDF, RDFS, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

SH = Namespace("http://www.w3.org/ns/shacl#")
TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
LOGICAL = (SH["and"], SH["or"], SH.xone)
MEMBERS = (SH["not"], SH.node, SH.qualifiedValueShape, SH.property)
PAIRS = (SH.equals, SH.disjoint, SH.lessThan, SH.lessThanOrEquals)
# Parameters that rule out checking records apart.
_UNSAFE = (SH.sparql, SH.target, SH.targetObjectsOf, SH.targetNode, SH.closed)
MARK = Literal(True)
_TYPE = str(RDF.type)


@dataclass(frozen=True)
class Target:
    marker: URIRef
    classes: frozenset[str]
    predicates: frozenset[str]


@dataclass
class ChunkPlan:
    shapes: Graph  # the core shapes, top-level targets replaced by markers
    targets: list[Target]
    ext_predicates: frozenset[str]  # what the shapes read on the nodes a focus node links to

    def mark(self, g: Graph, node: Node, types: set[str], preds: set[str]) -> None:
        """Make `node` a focus node of every shape whose real targets select it."""
        for t in self.targets:
            if types & t.classes or preds & t.predicates:
                g.add((node, t.marker, MARK))


def _members(g: Graph, shape: Node) -> list[Node]:
    out: list[Node] = []
    for p in LOGICAL:
        for lst in g.objects(shape, p):
            out += list(Collection(g, lst))
    for p in MEMBERS:
        out += list(g.objects(shape, p))
    return out


def _steps(g: Graph, path: Node) -> list[set[str]] | None:
    """The predicates a path reads at each step from the node (None: unbounded or inverse)."""
    if isinstance(path, URIRef):
        return [{str(path)}]
    if (path, RDF.first, None) in g:
        out: list[set[str]] = []
        for p in Collection(g, path):
            inner = _steps(g, p)
            if inner is None:
                return None
            out += inner
        return out
    alt = g.value(path, SH.alternativePath)
    if alt is not None:
        merged: list[set[str]] = []
        for p in Collection(g, alt):
            inner = _steps(g, p)
            if inner is None:
                return None
            for i, preds in enumerate(inner):
                if i == len(merged):
                    merged.append(set())
                merged[i] |= preds
        return merged
    inner_path = g.value(path, SH.zeroOrOnePath)
    return _steps(g, inner_path) if inner_path is not None else None


def _reads(g: Graph, shape: Node, depth: int = 0) -> tuple[int, set[str]] | None:
    """How far from the node it is applied to a shape reads outgoing triples (-1: none), and
    which predicates it reads beyond that node; None when it cannot be bounded."""
    if depth > 8 or any((shape, p, None) in g for p in _UNSAFE):
        return None
    length, need, beyond = 0, -1, set()
    path = g.value(shape, SH.path)
    if path is not None:
        steps = _steps(g, path)
        if steps is None:
            return None
        length, need = len(steps), len(steps) - 1
        for preds in steps[1:]:
            beyond |= preds
        if any((shape, p, None) in g for p in PAIRS):
            need = max(need, 0)
    if (shape, SH["class"], None) in g:
        need = max(need, length)
        if length:
            beyond.add(_TYPE)
    for m in _members(g, shape):
        sub = _reads(g, m, depth + 1)
        if sub is None:
            return None
        r, preds = sub
        if r >= 0:
            need = max(need, length + r)
        if length:  # applied to value nodes: everything it reads is beyond this node
            first = _steps(g, g.value(m, SH.path)) if (m, SH.path, None) in g else []
            beyond |= preds | (first[0] if first else set())
            if (m, SH["class"], None) in g:
                beyond.add(_TYPE)
        else:
            beyond |= preds
    return need, beyond


def _closure(ontology: Graph, cls: Node) -> set[str]:
    """The class and its subclasses, as pySHACL finds sh:targetClass instances."""
    return {str(cls)} | {str(c) for c in ontology.transitive_subjects(RDFS.subClassOf, cls)}


def chunk_plan(core: Graph, ontology: Graph) -> ChunkPlan | None:
    """How to check the core shapes record by record, or None if they read too far."""
    tops = {s for p in TARGETS + (SH.target,) for s in core.subjects(p, None)}
    tops |= {s for c in (RDFS.Class, OWL.Class) for s in core.subjects(RDF.type, c)
             if (s, RDF.type, SH.NodeShape) in core or (s, RDF.type, SH.PropertyShape) in core}
    if any(core.subjects(SH.closed, None)):
        return None
    ext: set[str] = set()
    for shape in tops:
        got = _reads(core, shape)
        if got is None or got[0] > 1:
            return None
        ext |= got[1]
    shapes = Graph()
    for t in core:
        shapes.add(t)
    targets = []
    for i, shape in enumerate(sorted(tops)):
        classes = set(core.objects(shape, SH.targetClass))
        if (shape, RDF.type, RDFS.Class) in core or (shape, RDF.type, OWL.Class) in core:
            classes.add(shape)
        marker = URIRef(f"urn:kb:focus/{i}")
        targets.append(Target(marker, frozenset(c for k in classes for c in _closure(ontology, k)),
                              frozenset(str(p) for p in core.objects(shape, SH.targetSubjectsOf))))
        for p in (SH.targetClass, SH.targetSubjectsOf):
            shapes.remove((shape, p, None))
        for c in (RDFS.Class, OWL.Class):  # implicit class targets
            shapes.remove((shape, RDF.type, c))
        shapes.add((shape, SH.targetSubjectsOf, marker))
    return ChunkPlan(shapes, targets, frozenset(ext))


# -- running pySHACL on chunks ---------------------------------------------------------------


def split(sizes: list[tuple[str, int]], size: int) -> list[list[str]]:
    """Record ids in groups of about `size` triples."""
    chunks: list[list[str]] = [[]]
    n = 0
    for rid, triples in sizes:
        if n >= size:
            chunks.append([])
            n = 0
        chunks[-1].append(rid)
        n += triples
    return [c for c in chunks if c]


