"""Validation that stays fast at scale, derived from the shapes (still the statement of the rules).

pySHACL runs a SPARQL-based constraint once per focus node through rdflib's engine: minutes at
10^4 facts, hours at 10^5. `plan()` splits the shapes graph in two:

* each `sh:sparql` constraint whose `sh:select` can run with `$this` free becomes one
  whole-graph query for Oxigraph: the shape's targets are joined in as a subquery binding
  `?this`, and each solution becomes the result pySHACL would report (same severity, message
  template, focus, path and per-focus de-duplication);
* the rest is core SHACL for pySHACL, with property shapes hoisted to the top level (each
  takes its node shape's targets), so pySHACL checks each property shape once over all focus
  nodes instead of once per focus node. SHACL gives the same results either way.

kb.chunks decides whether the core shapes can be checked a few records at a time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox
from pyshacl.rdfutil.inoculate import inoculate
from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal
from rdflib.collection import Collection
from rdflib.plugins.sparql import prepareQuery
from rdflib.term import Node, Variable

from kb.core.errors import InputError, Problem
from kb.core.paths import SHAPES_DIR
from kb.rdf.terms import from_ox
from kb.validate.chunks import LOGICAL, SH, TARGETS, ChunkPlan, _reads, chunk_plan
from kb.validate.core import CoreQuery, compile_core, set_closure
from kb.validate.core import _is_a as is_a
from kb.validate.relevance import FOCUS, focus_on, restrict
from kb.validate.report import ONTOLOGY_GRAPH, RawIssue

SHAPE_REFS = (SH.node, SH.property, SH.qualifiedValueShape, SH["not"], SH["and"], SH["or"],
              SH.xone)
_NOT_DERIVABLE = re.compile(
    r"\$(currentShape|shapesGraph|PATH)\b|\b(GROUP\s+BY|HAVING|LIMIT|OFFSET|VALUES|COUNT|SUM|"
    r"MIN|MAX|AVG|SAMPLE|GROUP_CONCAT|SERVICE|GRAPH)\b|[?$]failure\b|AS\s+[?$]this\b",
    re.IGNORECASE)
_MODIFIERS = ("Project", "Distinct", "Reduced", "OrderBy", "Slice", "ToMultiSet")


@dataclass(frozen=True)
class Rule:
    """One sh:sparql constraint, rewritten to run once over the whole graph."""

    name: str
    query: str
    severity: str
    message: str
    path_node: Node | None = None


@dataclass
class Plan:
    core: Graph  # core shapes: derived constraints removed, property shapes hoisted
    rules: list[Rule]
    queries: list[CoreQuery]  # core constraints compiled to SPARQL (kb.corecheck)
    rest: Graph | None  # the shapes still left to pySHACL (None: none)
    chunks: ChunkPlan | None  # how pySHACL can check `rest` records apart (None: whole graph)
    ontology: list[tuple[Node, Node, Node]] = field(default_factory=list)  # what pySHACL mixes in
    ext: frozenset[str] = frozenset()  # predicates local core shapes read on linked nodes


ENGINES = ("sparql", "pyshacl")


def plan(shapes: Graph, ontology: Graph, engine: str = "sparql") -> Plan:
    """Split the shapes into whole-graph SPARQL rules and core constraints, the latter
    compiled to SPARQL (engine "sparql", pySHACL for what does not compile) or all left to
    pySHACL (engine "pyshacl")."""
    core = Graph()
    for prefix, ns in shapes.namespaces():
        core.bind(prefix, ns)
    for t in shapes:
        core.add(t)
    mixed = Graph()
    inoculate(mixed, ontology)  # exactly the axioms pySHACL copies into the data graph
    set_closure(shapes, mixed)
    rules: list[Rule] = []
    for shape, constraint in sorted(shapes.subject_objects(SH.sparql)):
        rule = _derive(shapes, shape, constraint, len(rules))
        if rule is not None:
            rules.append(rule)
            core.remove((shape, SH.sparql, constraint))
    _hoist(core)
    queries, rest = compile_core(core, mixed) if engine == "sparql" else ([], core)
    chunks = chunk_plan(rest, mixed) if rest is not None else None
    ext: set[str] = set()
    for shape in {s for p in TARGETS for s in core.subjects(p, None)}:
        got = _reads(core, shape)
        ext |= got[1] if got is not None else set()
    return Plan(core, rules, queries, rest, chunks, list(mixed), frozenset(ext))


def _severity(shapes: Graph, shape: Node) -> str:
    sev = shapes.value(shape, SH.severity) or SH.Violation
    return str(sev).rsplit("#", 1)[-1]


def _prefixes(shapes: Graph, constraint: Node) -> str:
    out = []
    for ontology in shapes.objects(constraint, SH.prefixes):
        for decl in shapes.objects(ontology, SH.declare):
            out.append(f"PREFIX {shapes.value(decl, SH.prefix)}: "
                       f"<{shapes.value(decl, SH.namespace)}>\n")
    return "".join(sorted(set(out)))


def _target_patterns(shapes: Graph, shape: Node) -> list[str]:
    pats = []
    classes = set(shapes.objects(shape, SH.targetClass))
    if (shape, RDF.type, RDFS.Class) in shapes or (shape, RDF.type, OWL.Class) in shapes:
        classes.add(shape)
    for c in sorted(classes):
        pats.append(f"{{ {is_a('this', c)} }}")
    for p in sorted(shapes.objects(shape, SH.targetSubjectsOf)):
        pats.append(f"{{ ?this {p.n3()} [] }}")
    for p in sorted(shapes.objects(shape, SH.targetObjectsOf)):
        pats.append(f"{{ [] {p.n3()} ?this }}")
    for n in sorted(shapes.objects(shape, SH.targetNode)):
        pats.append(f"{{ BIND({n.n3()} AS ?this) }}")
    return pats


def _derive(shapes: Graph, shape: Node, constraint: Node, index: int) -> Rule | None:
    """The whole-graph form of one sh:sparql constraint, or None to leave it to pySHACL."""
    if (shape, SH.path, None) in shapes or (shape, SH.target, None) in shapes:
        return None  # property shapes substitute $PATH; SPARQL targets need pySHACL
    if any(shapes.value(n, SH.deactivated) == Literal(True) for n in (shape, constraint)):
        return None  # pySHACL skips it; so does leaving it in the core shapes
    if any((None, p, shape) in shapes for p in SHAPE_REFS):
        return None  # also checked on value nodes of other shapes
    select = shapes.value(constraint, SH.select)
    targets = _target_patterns(shapes, shape)
    if select is None or not targets or _NOT_DERIVABLE.search(str(select)):
        return None
    text = str(select)
    if len(re.findall(r"\bSELECT\b", text, re.IGNORECASE)) != 1 or not re.search(
            r"[?$]this\b", text) or "{" not in text:
        return None
    try:
        algebra = prepareQuery(_prefixes(shapes, constraint) + text).algebra
    except Exception:  # noqa: BLE001 - pySHACL will report the broken query
        return None
    if not _scoped(algebra.p, top=True):
        return None
    own = sorted(str(m) for m in shapes.objects(constraint, SH.message))
    of_shape = sorted(str(m) for m in shapes.objects(shape, SH.message))
    messages = own or of_shape
    if len(messages) != 1:
        return None
    i = text.index("{")
    query = (_prefixes(shapes, constraint) + text[:i + 1]
             + "\n  { SELECT DISTINCT ?this WHERE { " + FOCUS + "\n" + " UNION ".join(targets)
             + " } }\n"
             + text[i + 1:])
    name = f"{shape.n3(shapes.namespace_manager)}#{index}"
    return Rule(name, query, _severity(shapes, shape), messages[0])


def _bound(node: Any) -> set[str]:
    """Variables certainly bound by every solution of an algebra node."""
    name = getattr(node, "name", None)
    if name == "BGP":
        return {str(v) for t in node.triples for v in t if isinstance(v, Variable)}
    if name == "Join":
        return _bound(node.p1) | _bound(node.p2)
    if name in ("LeftJoin", "Minus"):
        return _bound(node.p1)
    if name == "Union":
        return _bound(node.p1) & _bound(node.p2)
    if name == "Extend":
        return _bound(node.p) | {str(node.var)}
    if name in _MODIFIERS or name == "Filter":
        return _bound(node.p)
    return set()


def _mentions_this(expr: Any) -> bool:
    if isinstance(expr, Variable):
        return str(expr) == "this"
    if isinstance(expr, dict):
        return any(_mentions_this(v) for k, v in expr.items() if k != "_vars")
    if isinstance(expr, list | tuple):
        return any(_mentions_this(v) for v in expr)
    return False


def _scoped(node: Any, top: bool) -> bool:
    """Whether every expression reading $this sees it bound once $this is no longer pre-bound
    but joined in at the top of the query: true at the top level, and in nested groups that
    bind $this themselves."""
    name = getattr(node, "name", None)
    if name is None:
        return True
    if name in _MODIFIERS:
        return _scoped(node.p, top)
    if name in ("Filter", "Extend"):
        if not top and _mentions_this(node.expr) and "this" not in _bound(node.p):
            return False
        return _scoped(node.p, top)
    if name == "LeftJoin":
        if (not top and _mentions_this(node.expr)
                and "this" not in _bound(node.p1) | _bound(node.p2)):
            return False
        return _scoped(node.p1, top) and _scoped(node.p2, False)
    if name in ("Join", "Minus"):
        return _scoped(node.p1, top) and _scoped(node.p2, False)
    if name == "Union":
        return _scoped(node.p1, False) and _scoped(node.p2, False)
    return name == "BGP"


def _copy(g: Graph, node: Node) -> Node:
    """A fresh blank-node copy of a shape and everything blank below it."""
    new = BNode()
    for p, o in list(g.predicate_objects(node)):
        g.add((new, p, _copy(g, o) if isinstance(o, BNode) else o))
    return new


def _hoist(core: Graph) -> None:
    """Give each property shape its node shape's targets and check it at the top level."""
    referenced = {o for p in SHAPE_REFS if p != SH.property for o in core.objects(None, p)}
    for lst in [o for p in LOGICAL + (SH["not"],) for o in core.objects(None, p)]:
        if isinstance(lst, BNode) and (lst, RDF.first, None) in core:
            referenced.update(Collection(core, lst))
    for shape in sorted(set(core.subjects(SH.property, None))):
        if (shape in referenced or (shape, SH.path, None) in core
                or (shape, SH.target, None) in core
                or core.value(shape, SH.deactivated) == Literal(True)):
            continue
        targets = [(p, o) for p in TARGETS for o in core.objects(shape, p)]
        if (shape, RDF.type, RDFS.Class) in core or (shape, RDF.type, OWL.Class) in core:
            targets.append((SH.targetClass, shape))
        if not targets:
            continue
        for prop in sorted(core.objects(shape, SH.property)):
            parents = set(core.subjects(SH.property, prop))
            own = any((prop, p, None) in core for p in TARGETS)
            target = _copy(core, prop) if len(parents) > 1 or own or prop in referenced else prop
            for p, o in targets:
                core.add((target, p, o))
            core.remove((shape, SH.property, prop))


def rule_issues(store: ox.Store, rules: Iterable[Rule],
                focus: dict[str, set[str]] | None = None) -> list[RawIssue]:
    """Run each derived rule once over the store (KB in the default graph, and the ontology
    axioms pySHACL would mix in, in ONTOLOGY_GRAPH); with `focus`, a rule named there runs
    only for those focus nodes."""
    out: list[RawIssue] = []
    for rule in rules:
        nodes = None if focus is None else focus.get(rule.name)
        with focus_on(store, nodes) as restricted:
            try:
                res = store.query(restrict(rule.query, "this", restricted),
                                  default_graph=[ox.DefaultGraph(), ONTOLOGY_GRAPH])
            except SyntaxError as exc:
                raise InputError(Problem(str(SHAPES_DIR), None, None,
                                         f"{rule.name}: SPARQL error: {exc}")) from None
            assert isinstance(res, ox.QuerySolutions)
            cols = [v.value for v in res.variables]
            sols = [{c: from_ox(sol[c]) for c in cols if sol[c] is not None} for sol in res]
        seen: set = set()
        for row in sols:
            key = frozenset(row.items())
            if key in seen:
                continue  # pySHACL reports each distinct solution of a focus node once
            seen.add(key)
            this = row.pop("this")
            path = row.pop("path", None)
            value = row.pop("value", None)
            bound = dict(row)
            bound.update({k: v for k, v in (("this", this), ("path", path),
                                              ("value", value if value is not None else this))
                          if v is not None})
            msg = rule.message
            for var, val in bound.items():
                msg = re.sub(f"{{[?$]{var}}}", str(val), msg)
            out.append(RawIssue(rule.severity, this, path, msg, "sh:SPARQLConstraintComponent"))
    return out


