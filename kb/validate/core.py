"""Core SHACL constraints compiled to SPARQL: one query per constraint, over the whole graph.

pySHACL evaluates every property shape focus node by focus node in Python, about 100 us a
triple: most of the naive pipeline's time even once SPARQL constraints are fast. Here each
top-level shape (property shapes hoisted by kb.fastcheck) becomes one query per constraint
component, run by Oxigraph over the KB plus the ontology axioms pySHACL mixes in, returning
one row per result pySHACL would report (focus node, and the value node where SHACL has one).
Where SPARQL and pySHACL could disagree the query only selects candidates and pySHACL's own
test decides: sh:pattern with Python's `re.search`, sh:datatype with rdflib's notion of an
ill-typed literal (marked in the store by the loader). A shape using anything not compiled
here (sh:node, sh:not, sh:closed, literals in sh:in, several messages, ...) is left to
pySHACL whole, so the two engines together check exactly the shapes; tests compare them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import pyoxigraph as ox
from rdflib import RDF, RDFS, XSD, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from kb.rdf.literals import ASSERT_DATATYPE
from kb.rdf.terms import from_ox
from kb.validate.chunks import SH, TARGETS, _reads
from kb.validate.relevance import FOCUS, focus_on, restrict
from kb.validate.report import ONTOLOGY_GRAPH, RawIssue

META = ox.NamedNode("urn:kb:meta")  # named graph marking ill-typed literals
ILL_TYPED = ox.NamedNode("urn:kb:ill-typed")
IGNORED = {RDF.type, SH.message, SH.severity, SH.path, SH.name, SH.description, SH.order,
           SH.group, SH.deactivated, SH.targetClass, SH.targetSubjectsOf, RDFS.label,
           RDFS.comment, SH.defaultValue, SH.flags}
NUMERIC = {XSD.integer, XSD.decimal, XSD.double, XSD.float, XSD.int, XSD.long,
           XSD.nonNegativeInteger, XSD.positiveInteger}
NODE_KINDS = {SH.IRI: "isIRI(?value)", SH.BlankNode: "isBlank(?value)",
              SH.Literal: "isLiteral(?value)",
              SH.BlankNodeOrIRI: "(isBlank(?value) || isIRI(?value))",
              SH.BlankNodeOrLiteral: "(isBlank(?value) || isLiteral(?value))",
              SH.IRIOrLiteral: "(isIRI(?value) || isLiteral(?value))"}
RANGES = {SH.minInclusive: ">=", SH.maxInclusive: "<=", SH.minExclusive: ">", SH.maxExclusive: "<"}
_CLOSURE: dict[Node, list[Node]] = {}  # class -> itself and its subclasses (set by compile)
_STRINGY = (f"(isIRI(?{{0}}) || (isLiteral(?{{0}}) && DATATYPE(?{{0}}) IN (<{XSD.string}>, "
            f"<{RDF.langString}>)))")


class _Unsupported(Exception):
    pass


@dataclass(frozen=True)
class CoreQuery:
    name: str
    component: str
    severity: str
    message: str
    path: Node | None
    query: str  # "#FOCUS#" marks where the focus nodes may be restricted
    local: bool  # reads only near the focus node: may be run for a few focus nodes alone
    regex: re.Pattern | None = None  # a row is a result only if its value fails re.search


def _path(g: Graph, p: Node) -> str:
    if isinstance(p, URIRef):
        return f"<{p}>"
    if (p, RDF.first, None) in g:
        return "(" + "/".join(_path(g, x) for x in Collection(g, p)) + ")"
    for pred, fmt in ((SH.alternativePath, None), (SH.inversePath, "^({})"),
                      (SH.zeroOrMorePath, "({})*"), (SH.oneOrMorePath, "({})+"),
                      (SH.zeroOrOnePath, "({})?")):
        inner = g.value(p, pred)
        if inner is not None:
            if fmt is None:
                return "(" + "|".join(_path(g, x) for x in Collection(g, inner)) + ")"
            return fmt.format(_path(g, inner))
    raise _Unsupported(f"path {p}")


def _is_a(var: str, cls: Node) -> str:
    """?var is an instance of cls or of a subclass (rdf:type/rdfs:subClassOf* in the ontology
    axioms; the KB itself states no subclasses, which the build checks)."""
    classes = " ".join(f"<{c}>" for c in _CLOSURE.get(cls) or [cls])
    return f"VALUES ?{var}_t {{ {classes} }} ?{var} <{RDF.type}> ?{var}_t ."


def _targets(g: Graph, shape: Node) -> str:
    pats = [f"{{ {_is_a('this', c)} }}" for c in sorted(g.objects(shape, SH.targetClass))]
    pats += [f"{{ ?this <{p}> [] }}" for p in sorted(g.objects(shape, SH.targetSubjectsOf))]
    if any((shape, p, None) in g for p in (SH.targetNode, SH.targetObjectsOf, SH.target)) \
            or (shape, RDF.type, RDFS.Class) in g:
        raise _Unsupported("targets")
    return "{ SELECT DISTINCT ?this WHERE { " + FOCUS + "\n" + " UNION ".join(pats) + " } }"


def _conforms(g: Graph, member: Node, var: str) -> str:
    """A SPARQL test that ?var conforms to a simple member shape of sh:or."""
    params = {p for p, _ in g.predicate_objects(member)} - {RDF.type}
    if params == {SH["class"]}:
        return " && ".join(f"EXISTS {{ {_is_a(var, c)} }}" for c in g.objects(member, SH["class"]))
    if params == {SH.datatype}:
        dt = g.value(member, SH.datatype)
        return _datatype_ok(dt, var)  # type: ignore[arg-type]
    if params == {SH.path, SH.minCount} and g.value(member, SH.minCount) == Literal(1):
        return f"EXISTS {{ ?{var} {_path(g, g.value(member, SH.path))} [] }}"  # type: ignore[arg-type]
    raise _Unsupported("sh:or member")


def _datatype_ok(dt: URIRef, var: str = "value") -> str:
    if dt == RDFS.Literal:
        return f"isLiteral(?{var})"
    if dt == RDFS.Datatype or ASSERT_DATATYPE is None:
        raise _Unsupported("datatype")
    return (f"(isLiteral(?{var}) && DATATYPE(?{var}) = <{dt}> && NOT EXISTS {{ GRAPH <{META.value}>"
            f" {{ <{META.value}> <{ILL_TYPED.value}> ?{var} }} }})")


def _shape_queries(g: Graph, shape: Node) -> list[CoreQuery]:
    if not {p for p, _ in g.predicate_objects(shape)} - IGNORED - set(TARGETS):
        return []  # a node shape whose property shapes were all hoisted: nothing to check
    messages = list(g.objects(shape, SH.message))
    if len(messages) != 1 or not isinstance(messages[0], Literal):
        raise _Unsupported("message")
    message = str(messages[0])
    severity = str(g.value(shape, SH.severity) or SH.Violation).rsplit("#", 1)[-1]
    targets = _targets(g, shape)
    path_node = g.value(shape, SH.path)
    path = _path(g, path_node) if path_node is not None else None
    values = f"?this {path} ?value ." if path else "BIND(?this AS ?value)"
    local = _reads(g, shape) is not None and _reads(g, shape)[0] <= 1  # type: ignore[index]
    out: list[CoreQuery] = []

    def add(comp: str, where: str, select: str = "DISTINCT ?this ?value", tail: str = "",
            regex: re.Pattern | None = None) -> None:
        if path and comp != "MinCountConstraintComponent":
            # the candidates first, from one pass over the path's triples; then the targets
            # (Oxigraph joins the two: no index lookup per target node)
            q = (f"SELECT {select} WHERE {{ {{ SELECT {select} WHERE {{ {FOCUS}\n {where} }} "
                 f"{tail} }} {targets} }}")
        else:
            q = f"SELECT {select} WHERE {{ {targets} {where} }} {tail}"
        out.append(CoreQuery(f"{shape.n3(g.namespace_manager)} {comp}", f"sh:{comp}",
                             severity, message, path_node, q, local, regex))

    for p, o in sorted(g.predicate_objects(shape)):
        if p in IGNORED:
            continue
        if p == SH.minCount and path and int(o) == 1:
            add("MinCountConstraintComponent", f"MINUS {{ {FOCUS}\n {values} }}", "?this")
        elif p == SH.minCount and path:
            add("MinCountConstraintComponent", f"OPTIONAL {{ {values} }}", "?this",
                f"GROUP BY ?this HAVING (COUNT(DISTINCT ?value) < {int(o)})")
        elif p == SH.maxCount and path:
            add("MaxCountConstraintComponent", values, "?this",
                f"GROUP BY ?this HAVING (COUNT(DISTINCT ?value) > {int(o)})")
        elif p == SH["class"]:
            add("ClassConstraintComponent",
                f"{values} FILTER NOT EXISTS {{ {_is_a('value', o)} }}")
        elif p == SH.datatype:
            add("DatatypeConstraintComponent", f"{values} FILTER(!{_datatype_ok(o)})")  # type: ignore[arg-type]
        elif p == SH.nodeKind and o in NODE_KINDS:
            add("NodeKindConstraintComponent", f"{values} FILTER(!{NODE_KINDS[o]})")
        elif p == SH["in"]:
            items = list(Collection(g, o))
            if not all(isinstance(i, URIRef) for i in items):
                raise _Unsupported("sh:in with literals")
            add("InConstraintComponent",
                f"{values} FILTER(?value NOT IN ({', '.join(f'<{i}>' for i in items)}))")
        elif p == SH.pattern:
            flags = str(g.value(shape, SH.flags) or "").lower()
            rx = re.compile(str(o), (re.I if "i" in flags else 0) | (re.M if "m" in flags else 0))
            add("PatternConstraintComponent", values, regex=rx)
        elif p in (SH.minLength, SH.maxLength):
            op = "<" if p == SH.minLength else ">"
            add(f"{'Min' if op == '<' else 'Max'}LengthConstraintComponent",
                f"{values} FILTER(isBlank(?value) || STRLEN(STR(?value)) {op} {int(o)})")
        elif p in RANGES and isinstance(o, Literal) and o.datatype in NUMERIC:
            name = str(p).rsplit("#", 1)[-1]
            add(f"{name[0].upper()}{name[1:]}ConstraintComponent",
                f"{values} FILTER(!COALESCE(isLiteral(?value) && ?value {RANGES[p]} {o.n3()}, "
                f"false))")
        elif p in (SH.lessThan, SH.lessThanOrEquals) and path:
            op = "<" if p == SH.lessThan else "<="
            cmp = (f"IF({_STRINGY.format('value')} || {_STRINGY.format('other')}, "
                   f"{_STRINGY.format('value')} && {_STRINGY.format('other')} && "
                   f"STR(?value) {op} STR(?other), ?value {op} ?other)")
            add(f"{'LessThan' if op == '<' else 'LessThanOrEquals'}ConstraintComponent",
                f"{values} ?this <{o}> ?other . FILTER(isBlank(?other) || !COALESCE({cmp}, false))",
                "DISTINCT ?this ?value ?other")
        elif p == SH.disjoint and path:
            add("DisjointConstraintComponent", f"{values} ?this <{o}> ?value .")
        elif p == SH["or"]:
            test = " || ".join(f"({_conforms(g, m, 'value')})" for m in Collection(g, o))
            add("OrConstraintComponent", f"{values} FILTER(!({test}))")
        else:
            raise _Unsupported(str(p))
    return out


def set_closure(shapes: Graph, axioms: Graph) -> None:
    """Subclasses of every class the shapes name, from what pySHACL mixes into the data."""
    _CLOSURE.clear()
    for cls in set(shapes.objects(None, SH["class"])) | set(shapes.objects(None, SH.targetClass)):
        _CLOSURE[cls] = sorted(set(axioms.transitive_subjects(RDFS.subClassOf, cls)) | {cls})


def compile_core(core: Graph, axioms: Graph) -> tuple[list[CoreQuery], Graph | None]:
    """Queries for the top-level shapes that compile, and the shapes graph pySHACL still has
    to check (None when nothing is left for it). `axioms`: what pySHACL mixes into the data."""
    set_closure(core, axioms)
    tops = {s for p in TARGETS + (SH.target,) for s in core.subjects(p, None)}
    tops |= {s for s in core.subjects(RDF.type, RDFS.Class) if (s, RDF.type, SH.NodeShape) in core}
    queries: list[CoreQuery] = []
    rest = Graph()
    for t in core:
        rest.add(t)
    left = False
    for shape in sorted(tops):
        if core.value(shape, SH.deactivated) == Literal(True):
            continue
        try:
            got = _shape_queries(core, shape)
        except _Unsupported:
            left = True
            continue
        queries += got
        for p in TARGETS:  # compiled: pySHACL no longer targets it
            rest.remove((shape, p, None))
    return queries, (rest if left else None)


def core_query_issues(store: ox.Store, queries: Iterable[CoreQuery],
                      focus: Iterable[str] | None = None,
                      ext: frozenset[str] = frozenset()) -> list:
    """Run compiled core queries: over the whole store, or, given focus nodes, the local ones
    over those nodes' neighbourhood only (`near`; `ext` as in kb.fastcheck.Plan)."""
    nodes = None if focus is None else set(focus)
    small = near(store, nodes, ext) if nodes else None
    out = []
    for q in queries:
        if nodes is not None and q.local:
            if small is None:
                continue
            out += _issues(small, q, q.query.replace(FOCUS, ""), nodes)
        else:
            out += _issues(store, q, q.query.replace(FOCUS, ""), None)
    return out


def other_name(q: CoreQuery) -> str:
    """A core query that is not local, as a rebuild keeps its results: with the rules'."""
    return f"core:{q.name}"


def core_issues_for(store: ox.Store, q: CoreQuery, nodes: set[str] | None) -> list:
    """One compiled core query over the whole store, for `nodes` alone (None: every focus
    node); the nodes are put in the store as data (kb.validate.relevance.focus_on)."""
    with focus_on(store, nodes) as restricted:
        return _issues(store, q, restrict(q.query, "this", restricted), None)


def _issues(where: ox.Store, q: CoreQuery, text: str, keep: set[str] | None) -> list:
    """The results of one core query's text; with `keep`, only for those focus nodes."""
    out = []
    res = where.query(text, default_graph=[ox.DefaultGraph(), ONTOLOGY_GRAPH])
    for sol in res:  # type: ignore[union-attr]
        if q.regex is not None:
            v = sol["value"]
            if not isinstance(v, ox.BlankNode) and q.regex.search(v.value):
                continue
        this = sol["this"]
        if keep is not None and this.value not in keep:  # type: ignore[union-attr]
            continue  # a linked node, seen only in part here
        focus_node = BNode(this.value) if isinstance(this, ox.BlankNode) else from_ox(this)
        out.append(RawIssue(q.severity, focus_node, q.path, q.message, q.component))
    return out


def near(store: ox.Store, nodes: set[str], ext: frozenset[str]) -> ox.Store:
    """An in-memory store with all a local core query reads for these focus nodes: their own
    triples, the `ext` triples of the nodes they link to, the ontology axioms and the
    ill-typed marks. (Restricting the big store's queries to a few nodes costs Oxigraph
    more than copying them: it plans a pattern of data-held focus nodes late.)"""
    default = ox.DefaultGraph()
    quads, linked = [], set()
    for n in sorted(nodes):
        for q in store.quads_for_pattern(ox.NamedNode(n), None, None, default):
            quads.append(q)
            if not isinstance(q.object, ox.Literal):
                linked.add(q.object)
    for o in linked:
        quads += [q for q in store.quads_for_pattern(o, None, None, default)
                  if q.predicate.value in ext]
    for g in (ONTOLOGY_GRAPH, META):
        quads += store.quads_for_pattern(None, None, None, g)
    small = ox.Store()
    small.extend(quads)
    return small
