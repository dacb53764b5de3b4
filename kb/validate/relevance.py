"""Which focus nodes a SPARQL rule's results can change for, when some triples change.

A rule (a derived sh:sparql constraint, or a query in queries/checks) is read as a set of
conjunctive alternatives (UNION branches, with and without each OPTIONAL, EXISTS or MINUS
part), each a graph of triple patterns between variables. A changed triple can only change
a result if it matches one of those patterns; the focus node of that result is then found by
walking back from the matched node to the focus variable along the patterns' own predicates,
over the store (and the triples just removed). Unbounded paths, variable predicates, GRAPH,
or parts not connected to the focus variable make a rule "global": it is run in full.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox
from rdflib.paths import AlternativePath, InvPath, NegatedPath, Path, SequencePath
from rdflib.plugins.sparql.algebra import translateGroupGraphPattern, translateQuery
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.term import BNode, URIRef, Variable

from kb.rdf.terms import to_ox

BUDGET = 50_000  # more candidate focus nodes than this: run the rule in full
FOCUS = "#FOCUS#"  # where a query may be restricted to some focus nodes (a SPARQL comment)
_PASS = {"Project", "Distinct", "Reduced", "OrderBy", "Slice", "ToMultiSet", "Group",
         "AggregateJoin", "SelectQuery"}


class _Global(Exception):
    pass


@dataclass(frozen=True)
class Edge:
    a: Any  # "?name" for a variable, else an rdflib term
    preds: frozenset[str]
    b: Any


@dataclass
class Alternative:
    edges: list[Edge]
    dist: dict[str, int]  # variable -> links from the focus variable


_fresh = itertools.count()


def _node(t: Any) -> Any:
    return f"?{t}" if isinstance(t, Variable | BNode) else t


ANY = "*"  # a variable predicate: any predicate matches


def _edges(s: Any, p: Any, o: Any) -> list[Edge]:
    if isinstance(p, Variable):
        return [Edge(_node(s), frozenset({ANY}), _node(o))]
    if isinstance(p, URIRef):
        return [Edge(_node(s), frozenset({str(p)}), _node(o))]
    if isinstance(p, InvPath):
        return _edges(o, p.arg, s)
    if isinstance(p, SequencePath):
        out, cur = [], s
        for i, step in enumerate(p.args):
            nxt = o if i == len(p.args) - 1 else Variable(f"_seq{next(_fresh)}")
            out += _edges(cur, step, nxt)
            cur = nxt
        return out
    if isinstance(p, AlternativePath):
        fwd = {str(x) for x in p.args if isinstance(x, URIRef)}
        inv = {str(x.arg) for x in p.args if isinstance(x, InvPath) and isinstance(x.arg, URIRef)}
        if len(fwd) + len(inv) != len(p.args):
            raise _Global
        return [Edge(_node(s), frozenset(fwd), _node(o))] * bool(fwd) + \
            [Edge(_node(o), frozenset(inv), _node(s))] * bool(inv)
    raise _Global  # variable predicates, *, +, ?, negated paths


def _exists_parts(expr: Any) -> list[Any]:
    """The graph patterns of EXISTS / NOT EXISTS inside a filter expression."""
    out: list[Any] = []
    if isinstance(expr, dict):
        if getattr(expr, "name", "") in ("Builtin_EXISTS", "Builtin_NOTEXISTS"):
            out.append(expr["graph"])
        for k, v in expr.items():
            if k not in ("graph", "_vars"):
                out += _exists_parts(v)
    elif isinstance(expr, list | tuple):
        for v in expr:
            out += _exists_parts(v)
    return out


def _product(a: list[list[Edge]], b: list[list[Edge]]) -> list[list[Edge]]:
    return [x + y for x in a for y in b]


def _with_parts(base: list[list[Edge]], exprs: list[Any]) -> list[list[Edge]]:
    out = list(base)
    for part in (p for e in exprs for p in _exists_parts(e)):
        out += _product(base, _alts(part))
    return out


def _alts(node: Any) -> list[list[Edge]]:
    name = getattr(node, "name", None)
    if name == "BGP":
        return [[e for t in node.triples for e in _edges(*t)]]
    if name == "Join":
        return _product(_alts(node.p1), _alts(node.p2))
    if name in ("LeftJoin", "Minus"):
        left = _alts(node.p1)
        both = _product(left, _alts(node.p2))
        return _with_parts(left + both, [node.get("expr")])
    if name == "Union":
        return _alts(node.p1) + _alts(node.p2)
    if name == "Filter":
        return _with_parts(_alts(node.p), [node.expr])
    if name == "Extend":
        return _with_parts(_alts(node.p), [node.expr])
    if name == "ToMultiSet" and getattr(node.p, "name", "") == "Project":
        return _scoped(node.p)
    if name in _PASS:
        return _alts(node.p)
    if name == "values":
        return [[]]
    if name in ("GroupGraphPatternSub", "GroupGraphPattern"):  # EXISTS, left untranslated
        return _alts(translateGroupGraphPattern(node))
    raise _Global


def _scoped(project: Any) -> list[list[Edge]]:
    """A subquery: its variables other than the projected ones are its own."""
    keep = {f"?{v}" for v in project.PV}
    tag = f"~{next(_fresh)}"

    def rename(x: Any) -> Any:
        return x if not isinstance(x, str) or x in keep else x + tag
    return [[Edge(rename(e.a), e.preds, rename(e.b)) for e in alt]
            for alt in _alts(project.p)]


def predicates(query: str) -> frozenset[str] | None:
    """Every IRI the query names, or None if a triple pattern's predicate is a variable or a
    negated path (or the query is beyond this reading): a changed triple whose predicate is
    none of them matches none of its patterns, so cannot change its results."""
    out: set[str] = set()

    def walk(x: Any, depth: int = 0) -> None:
        if depth > 200:
            raise _Global
        if isinstance(x, URIRef):
            out.add(str(x))
        elif isinstance(x, NegatedPath):
            raise _Global
        elif isinstance(x, Path):
            for v in vars(x).values():
                walk(v, depth + 1)
        elif isinstance(x, dict):  # rdflib's CompValue
            if getattr(x, "name", None) == "BGP":
                for t in x.get("triples") or ():
                    if isinstance(t[1], Variable | BNode):
                        raise _Global
            for v in x.values():
                walk(v, depth + 1)
        elif isinstance(x, list | tuple | set | frozenset):
            for v in x:
                walk(v, depth + 1)

    try:
        walk(translateQuery(parseQuery(query.replace(FOCUS, ""))).algebra)
    except Exception:  # noqa: BLE001 - a variable predicate, or beyond this reading
        return None
    return frozenset(out)


def analyse(query: str, focus: str) -> list[Alternative] | None:
    """The query's alternatives, or None if it must be run in full."""
    try:
        alts = _alts(translateQuery(parseQuery(query.replace(FOCUS, ""))).algebra)
    except Exception:  # noqa: BLE001 - unparsable here, or beyond this analysis
        return None
    root = f"?{focus}"
    out = []
    for edges in alts:
        dist = {root: 0}
        frontier = [root]
        while frontier:
            nxt = []
            for u in frontier:
                for e in edges:
                    for x, y in ((e.a, e.b), (e.b, e.a)):
                        if x == u and isinstance(y, str) and y not in dist:
                            dist[y] = dist[u] + 1
                            nxt.append(y)
            frontier = nxt
        for e in edges:
            ends = [x for x in (e.a, e.b) if isinstance(x, str)]
            if not ends or any(x not in dist for x in ends):
                return None
        out.append(Alternative(edges, dist))
    return out


class Changes:
    """The changed triples, indexed, and the store to walk over (plus removed triples)."""

    def __init__(self, store: ox.Store, changed: set, removed: set):
        self.store = store
        self.by_pred: dict[str, list] = defaultdict(list)
        for q in changed:
            self.by_pred[q.predicate.value].append(q)
            self.by_pred[ANY].append(q)
        self.out_old: dict[tuple, set] = defaultdict(set)
        self.in_old: dict[tuple, set] = defaultdict(set)
        for q in removed:
            self.out_old[(q.subject, q.predicate.value)].add(q.object)
            self.in_old[(q.object, q.predicate.value)].add(q.subject)

    def step(self, node: Any, pred: str, backward: bool) -> set:
        """Nodes x with x -pred-> node (backward) or node -pred-> x."""
        p = None if pred == ANY else ox.NamedNode(pred)
        if backward:
            found = {q.subject for q in self.store.quads_for_pattern(None, p, node, None)}
            old = self.in_old
        elif isinstance(node, ox.Literal):
            return set()
        else:
            found = {q.object for q in self.store.quads_for_pattern(node, p, None, None)}
            old = self.out_old
        if pred == ANY:
            return found | {x for (n, _), xs in old.items() if n == node for x in xs}
        return found | old.get((node, pred), set())


def _matches(term: Any, node: Any) -> bool:
    return isinstance(term, str) or to_ox(term) == node


def affected(alts: list[Alternative] | None, focus: str, changes: Changes) -> set[str] | None:
    """The focus nodes whose results may change (IRIs), or None: run the rule in full."""
    if alts is None:
        return None
    root, out = f"?{focus}", set()
    for alt in alts:
        found: dict[str, set] = defaultdict(set)
        for e in alt.edges:
            for q in (q for p in e.preds for q in changes.by_pred.get(p, ())):
                if not (_matches(e.a, q.subject) and _matches(e.b, q.object)):
                    continue
                ends = [(x, n) for x, n in ((e.a, q.subject), (e.b, q.object))
                        if isinstance(x, str)]
                best = min(alt.dist[x] for x, _ in ends)
                for x, n in ends:
                    if alt.dist[x] == best:
                        found[x].add(n)
        for d in range(max(alt.dist.values()), 0, -1):  # walk back towards the focus
            for u in [v for v in list(found) if alt.dist.get(v) == d]:
                for e in alt.edges:
                    if e.b == u and isinstance(e.a, str) and alt.dist.get(e.a) == d - 1:
                        nxt, backward = e.a, True  # e.a -> u: who points at u's nodes
                    elif e.a == u and isinstance(e.b, str) and alt.dist.get(e.b) == d - 1:
                        nxt, backward = e.b, False  # u -> e.b: where u's nodes point
                    else:
                        continue
                    for n in found[u]:
                        for p in e.preds:
                            found[nxt] |= changes.step(n, p, backward)
                if sum(len(v) for v in found.values()) > BUDGET:
                    return None
        out |= {n.value for n in found.get(root, ()) if isinstance(n, ox.NamedNode)}
    return out


FOCUS_GRAPH = ox.NamedNode("urn:kb:focus")  # the focus nodes of a restricted run, as data
_FOCUS_TYPE = ox.NamedNode("urn:kb:Focus")
_RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
# rules' and shapes' ?this, checks' ?focus; as a subquery, which Oxigraph plans 4x better
# than the bare GRAPH pattern at 10^5 facts (VALUES would be better still, but is query text)
_FOCUS_PATTERN = {  # fixed text: the nodes themselves are read from FOCUS_GRAPH
    "this": "{ SELECT ?this WHERE { GRAPH <urn:kb:focus> { ?this a <urn:kb:Focus> } } }",
    "focus": "{ SELECT ?focus WHERE { GRAPH <urn:kb:focus> { ?focus a <urn:kb:Focus> } } }"}


def restrict(query: str, var: str, restricted: bool) -> str:
    """The query for the focus nodes `focus_on` put in the store only: at FOCUS, or else at the
    top of its WHERE. The nodes are data, never pasted into the query text."""
    pattern = _FOCUS_PATTERN[var] if restricted else ""
    if FOCUS in query:
        return query.replace(FOCUS, pattern)
    if not pattern:
        return query
    m = re.search(r"\bWHERE\s*\{", query, re.IGNORECASE)
    i = m.end() if m else query.index("{") + 1
    return query[:i] + " " + pattern + " " + query[i:]


@contextmanager
def focus_on(store: ox.Store, nodes: set[str] | None) -> Iterator[bool]:
    """With `nodes` in FOCUS_GRAPH for the duration (consume the results inside); yields
    whether the run is restricted (False for None: every focus node)."""
    if nodes is None:
        yield False
        return
    store.extend([ox.Quad(ox.NamedNode(n), _RDF_TYPE, _FOCUS_TYPE, FOCUS_GRAPH)
                  for n in sorted(nodes)])
    try:
        yield True
    finally:
        store.remove_graph(FOCUS_GRAPH)
