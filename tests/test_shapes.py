"""The SHACL shapes: every constraint has a counter-example that fails with it, and a conforming
example; the shapes are themselves valid SHACL; and they cover everything the curated KB uses.

The cases live in tests/shapes/ (see its README.md): base/ is a small seed set with every entity
kind and fact type, loaded with the project's loader, that conforms with no result at all;
valid/*.ttl and invalid/*.ttl change it. Each case is validated as kb/validate.py validates the
KB: pySHACL, the project's shapes, the ontology mixed in, no inference.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import pyshacl
import pytest
from rdflib import RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kb.bench.naive import load, shacl_results
from kb.bench.sparqlcache import prepared_queries
from kb.build.run import BuildResult
from kb.rdf.ontology import load_ontology
from kb.validate.report import load_shapes
from kb.validate.shape_docs import (
    PREFIXES,
    SH,
    Constraint,
    constraints,
    curie,
    node_shapes,
    path_text,
)

CASES = Path(__file__).parent / "shapes"
BASE = CASES / "base"
ID_BASE = PREFIXES["kb"]
VALID = sorted((CASES / "valid").glob("*.ttl"))
INVALID = sorted((CASES / "invalid").glob("*.ttl"))

# Counted by hand, so that a broken glob or a lost file cannot pass unnoticed.
N_VALID = 12
N_INVALID = 64  # quantity.ttl: issue 15 item 3
N_EXPECTATIONS = 456

# The constraints that do not block a build, and why they may not.
NOT_VIOLATIONS = {
    ("kbs:RecordShape", "rdfs:label"): SH.Info,  # a missing label only makes pages less readable
    ("kbs:SingleAnonymousSourceShape", "kbs:SingleAnonymousSource"): SH.Warning,  # to corroborate
}

TURTLE_HEADER = f"@base <{ID_BASE}> .\n" + "".join(
    f"@prefix {p}: <{ns}> .\n" for p, ns in sorted(PREFIXES.items()))

Outcome = tuple[str, str, URIRef, str]  # (component, shape, focus, key)
BLANK = URIRef("urn:x-test:a-blank-node")  # `[]` in an expect line: a focus that is a blank node


@dataclass
class Case:
    """A change to the base: triples to delete, Turtle to add, and the results it must give."""

    path: Path
    delete: Graph
    add: Graph
    expect: set[Outcome]

    def apply(self, base: Graph) -> Graph:
        missing = [t for t in self.delete if t not in base]
        assert not missing, f"{self.path.name}: deletes triples not in the base: {missing}"
        g = Graph()
        for t in base:
            if t not in self.delete:
                g.add(t)
        g += self.add
        return g


def _term(token: str) -> URIRef:
    """<relative IRI> (against https://kb.example.org/id/), prefix:name, or [] (a blank node)."""
    if token == "[]":
        return BLANK
    if token.startswith("<") and token.endswith(">"):
        return URIRef(urljoin(ID_BASE, token[1:-1]))
    prefix, sep, local = token.partition(":")
    assert sep and prefix in PREFIXES, f"unknown term {token!r}"
    return URIRef(PREFIXES[prefix] + local)


def parse_case(path: Path) -> Case:
    """Read a case file: `# expect:` and `# delete:` header lines, then Turtle to add."""
    text = path.read_text(encoding="utf-8")
    expect: set[Outcome] = set()
    deletes = []
    for line in text.splitlines():
        if m := re.match(r"#\s*expect:\s*(.*)$", line):
            tokens = m[1].split()
            assert len(tokens) in (3, 4), f"{path.name}: bad expect line {line!r}"
            comp, shape, focus = tokens[:3]
            expect.add((comp, shape, _term(focus), tokens[3] if len(tokens) == 4 else ""))
        elif m := re.match(r"#\s*delete:\s*(.*)$", line):
            deletes.append(m[1])
    delete = Graph().parse(data=TURTLE_HEADER + "\n".join(deletes), format="turtle")
    add = Graph().parse(data=TURTLE_HEADER + text, format="turtle")
    return Case(path, delete, add, expect)


def outcomes(results: Graph, shapes: Graph) -> list[tuple[Outcome, URIRef, str]]:
    """Each validation result as (outcome, severity, message)."""
    out = []
    for r in results.subjects(RDF.type, SH.ValidationResult):
        source = results.value(r, SH.sourceShape)
        component = results.value(r, SH.sourceConstraintComponent)
        parent = shapes.value(predicate=SH.property, object=source)
        if parent is not None:
            shape, key = parent, path_text(shapes, shapes.value(source, SH.path))
        else:
            shape, key = source, ""
        if component == SH.SPARQLConstraintComponent:
            key = curie(results.value(r, SH.sourceConstraint))
        focus = results.value(r, SH.focusNode)
        focus = BLANK if isinstance(focus, BNode) else focus
        out.append(((curie(component), curie(shape), focus, key),
                    results.value(r, SH.resultSeverity), str(results.value(r, SH.resultMessage))))
    return out


def _show(items: Iterable[Outcome]) -> str:
    def focus(f: URIRef) -> str:
        if f == BLANK:
            return "[]"
        return f"<{f[len(ID_BASE):]}>" if f.startswith(ID_BASE) and "/" in f[len(ID_BASE):] \
            else curie(f)
    return "\n".join(f"  # expect: {c} {s} {focus(f)} {k}".rstrip()
                     for c, s, f, k in sorted(items, key=str)) or "  (none)"


@pytest.fixture(scope="module")
def shapes() -> Graph:
    return load_shapes()


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return load_ontology()


@pytest.fixture(scope="module")
def all_constraints(shapes: Graph) -> dict[tuple[str, str, str], Constraint]:
    return {(curie(c.component), curie(c.shape), c.key): c for c in constraints(shapes)}


@pytest.fixture(scope="module")
def base() -> Graph:
    return load(BASE).graph


@pytest.fixture(scope="module")
def cases() -> dict[str, Case]:
    return {p.name: parse_case(p) for p in [*VALID, *INVALID]}


def test_the_cases_are_all_there(cases: dict[str, Case]) -> None:
    assert (len(VALID), len(INVALID)) == (N_VALID, N_INVALID)
    assert sum(len(cases[p.name].expect) for p in INVALID) == N_EXPECTATIONS
    assert all(not cases[p.name].expect for p in VALID), "valid cases expect nothing"
    assert all(cases[p.name].expect for p in INVALID), "each invalid case expects a result"


def test_the_base_conforms_with_no_result(base: Graph, shapes: Graph, ontology: Graph) -> None:
    assert outcomes(shacl_results(base, shapes, ontology), shapes) == []


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_case(path: Path, cases: dict[str, Case], base: Graph, shapes: Graph,
                    ontology: Graph) -> None:
    got = outcomes(shacl_results(cases[path.name].apply(base), shapes, ontology), shapes)
    assert not got, f"{path.name} should conform but gives:\n{_show(o for o, _, _ in got)}"


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_case(path: Path, cases: dict[str, Case], base: Graph, shapes: Graph,
                      ontology: Graph,
                      all_constraints: dict[tuple[str, str, str], Constraint]) -> None:
    case = cases[path.name]
    got = outcomes(shacl_results(case.apply(base), shapes, ontology), shapes)
    found = {o for o, _, _ in got}
    assert found == case.expect, (
        f"{path.name}\nexpected but not found:\n{_show(case.expect - found)}\n"
        f"found but not expected:\n{_show(found - case.expect)}")
    for (comp, shape, _, key), severity, message in got:
        c = all_constraints[(comp, shape, key)]
        assert (severity, message) == (c.severity, c.message)


def test_every_constraint_has_a_counter_example(
        cases: dict[str, Case],
        all_constraints: dict[tuple[str, str, str], Constraint]) -> None:
    expected = {(c, s, k) for p in INVALID for c, s, _, k in cases[p.name].expect}
    missing = sorted(set(all_constraints) - expected)
    assert not missing, "constraints without a counter-example in tests/shapes/invalid/:\n" + \
        "\n".join(f"  {c} {s} {k}" for c, s, k in missing)
    assert expected <= set(all_constraints), sorted(expected - set(all_constraints))


def _focus_nodes(g: Graph, shapes: Graph, shape: URIRef) -> set[Node]:
    """The focus nodes of a shape's targets (the graph holds the ontology's subclass axioms)."""
    nodes: set[Node] = set(shapes.objects(shape, SH.targetNode))
    for cls in shapes.objects(shape, SH.targetClass):
        for sub in g.transitive_subjects(RDFS.subClassOf, cls):
            nodes |= set(g.subjects(RDF.type, sub))
    for p in shapes.objects(shape, SH.targetSubjectsOf):
        nodes |= set(g.subjects(p, None))
    for p in shapes.objects(shape, SH.targetObjectsOf):
        nodes |= set(g.objects(None, p))
    return nodes


def _has_values(g: Graph, focus: set[Node], path: str) -> bool:
    prologue = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in PREFIXES.items())
    with prepared_queries():
        rows = g.query(prologue + f"SELECT DISTINCT ?f WHERE {{ ?f {path} ?v }}")
    return any(row[0] in focus for row in rows)  # type: ignore[index]


def test_every_constraint_has_a_conforming_example(
        cases: dict[str, Case], base: Graph, ontology: Graph, shapes: Graph,
        all_constraints: dict[tuple[str, str, str], Constraint]) -> None:
    """Each constraint applies, and holds, somewhere in the base or a valid case: its shape has
    a focus node there and, for a property shape, a focus node with a value on the path (unless
    the constraint is that there is none)."""
    graphs = [cases[p.name].apply(base) for p in VALID] + [base + Graph()]
    for g in graphs:
        g += ontology
    focus = [{s: _focus_nodes(g, shapes, s) for s in node_shapes(shapes)} for g in graphs]
    vacuous = []
    for c in all_constraints.values():
        nonempty = shapes.value(c.node, SH.maxCount) != Literal(0)
        for g, f in zip(graphs, focus, strict=True):
            if f[c.shape] and (not c.key or c.key.startswith("kbs:") or not nonempty
                               or _has_values(g, f[c.shape], c.key)):
                break
        else:
            vacuous.append(f"{curie(c.component)} {curie(c.shape)} {c.key}")
    assert not vacuous, "constraints no valid case exercises:\n  " + "\n  ".join(vacuous)


def test_every_constraint_says_what_is_wrong(shapes: Graph) -> None:
    """An sh:message on every constraint, in a sentence."""
    bad = [f"{curie(c.shape)} {c.key} {curie(c.component)}: {c.message!r}"
           for c in constraints(shapes)
           if not re.match(r"^[A-Z].*\.$", c.message) or "$this" in c.message]
    assert not bad, "\n".join(bad)


def test_severities_are_deliberate(shapes: Graph) -> None:
    found = {(curie(c.shape), c.key): c.severity for c in constraints(shapes)
             if c.severity != SH.Violation}
    assert found == NOT_VIOLATIONS


def test_the_shapes_are_valid_shacl(shapes: Graph) -> None:
    """The shapes graph conforms to the W3C SHACL-for-SHACL shapes (shipped with pySHACL)."""
    shacl_shacl = Graph().parse(Path(pyshacl.__file__).parent / "assets" / "shacl-shacl.ttl")
    with prepared_queries():
        conforms, _, text = pyshacl.validate(shapes, shacl_graph=shacl_shacl, inference="none")
    assert conforms, text


def test_every_target_is_declared(shapes: Graph, ontology: Graph) -> None:
    """No shape targets a class or property the ontology does not declare (a typo in a target
    would make the shape silently apply to nothing)."""
    declared = set(ontology.subjects(RDF.type, None))
    for shape in node_shapes(shapes):
        for pred in (SH.targetClass, SH.targetSubjectsOf, SH.targetObjectsOf):
            for t in shapes.objects(shape, pred):
                assert t in declared or curie(t).startswith(("owl:", "rdf:", "rdfs:")), \
                    f"{curie(shape)} targets {curie(t)}, which the ontology does not declare"


def _superclasses(ontology: Graph, cls: Node) -> set[Node]:
    return set(ontology.transitive_objects(cls, RDFS.subClassOf))


def test_the_shapes_cover_what_the_kb_uses(built: BuildResult, shapes: Graph,
                                           ontology: Graph) -> None:
    """Every class the curated KB uses is targeted by a shape (itself or a superclass), and every
    property its nodes have is constrained by a property shape that applies to them."""
    g = built.loaded.graph
    by_class: dict[Node, set[str]] = {}
    by_subject_of: dict[Node, set[str]] = {}
    for shape in node_shapes(shapes):
        paths: set[str] = set()
        for ps in shapes.objects(shape, SH.property):
            paths |= set(re.findall(r"[a-z]+:\w+", path_text(shapes, shapes.value(ps, SH.path))))
        for cls in shapes.objects(shape, SH.targetClass):
            by_class.setdefault(cls, set()).update(paths)
        for p in shapes.objects(shape, SH.targetSubjectsOf):
            by_subject_of.setdefault(p, set()).update(paths)
    untargeted, unconstrained = set(), set()
    for s in set(g.subjects()):
        classes: set[Node] = set()
        for c in g.objects(s, RDF.type):
            classes |= _superclasses(ontology, c)
        if not classes & set(by_class):
            untargeted |= {curie(c) for c in g.objects(s, RDF.type)}
        covered = set().union(*(by_class.get(c, set()) for c in classes))
        preds = set(g.predicates(s)) - {RDF.type}
        for p in preds:
            covered |= by_subject_of.get(p, set())
        unconstrained |= {(curie(c), curie(p)) for p in preds if curie(p) not in covered
                          for c in g.objects(s, RDF.type)}
    assert not untargeted, f"classes no shape targets: {sorted(untargeted)}"
    assert not unconstrained, f"(class, property) pairs unconstrained: {sorted(unconstrained)}"
