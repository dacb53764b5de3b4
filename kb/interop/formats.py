"""Serialise the KB deterministically and write files atomically (temp file, then rename)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from rdflib import Dataset, Graph, URIRef
from rdflib.term import Node

from kb.interop import ftm, views, void
from kb.interop.context import context
from kb.rdf.mapping import Loaded
from kb.rdf.ontology import load_ontology
from kb.seeds.schema import load_schema

FORMATS = {"turtle": "ttl", "ntriples": "nt", "jsonld": "jsonld", "trig": "trig",
           "ftm": "ftm.json", "gexf": "gexf", "graphml": "graphml"}
GRAPH_FORMATS = ("gexf", "graphml")  # the actors' network (kb.interop.pictures), not RDF
PROFILES = ("kb", *views.VIEW_FILES)  # kb: the KB itself; others: views in queries/views/


def _sorted_copy(triples: Iterable[tuple[Node, Node, Node]], like: Graph) -> Graph:
    """A graph whose insertion order, and so iteration order, is sorted."""
    g = Graph()
    for prefix, ns in like.namespaces():
        g.bind(prefix, ns, override=True, replace=True)
    for t in sorted(triples, key=lambda t: (t[0].n3(), t[1].n3(), t[2].n3())):
        g.add(t)
    return g


def turtle(graph: Graph) -> bytes:
    """Turtle in rdflib's longturtle layout: sorted, one predicate per line, stable diffs."""
    return graph.serialize(format="longturtle", encoding="utf-8")


def ntriples(graph: Graph) -> bytes:
    lines = graph.serialize(format="nt", encoding="utf-8").decode("utf-8").splitlines()
    return ("\n".join(sorted(line for line in lines if line.strip())) + "\n").encode("utf-8")


def _sorted_json(value: object) -> object:
    """Keys and arrays sorted (JSON-LD values are sets; no @list is written): stable output."""
    if isinstance(value, dict):
        first = [k for k in ("@id", "id", "@type", "type") if k in value]
        rest = sorted(k for k in value if k not in first)
        return {k: _sorted_json(value[k]) for k in [*first, *rest]}
    if isinstance(value, list):
        items = [_sorted_json(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
    return value


def jsonld(graph: Graph, ctx: dict | None = None) -> bytes:
    """JSON-LD with the published context (ontology/context.jsonld) embedded: plain keys, and
    nothing to fetch when loading it."""
    ctx = ctx if ctx is not None else context()
    g = _sorted_copy(graph, graph)
    doc = json.loads(g.serialize(format="json-ld", context=ctx, auto_compact=True))
    nodes = doc.get("@graph")
    if nodes is None:  # rdflib writes a single node without @graph
        nodes = [{k: v for k, v in doc.items() if k != "@context"}] if len(doc) > 1 else []
    nodes = sorted((_sorted_json(n) for n in nodes),
                   key=lambda n: str(n.get("id", n.get("@id", ""))))  # type: ignore[union-attr]
    out = {"@context": ctx, "@graph": nodes}
    return (json.dumps(out, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def source_graph_iri(source_id: str) -> URIRef:
    return URIRef(load_schema().id_iri(source_id) + "/graph")


def _subtrees(graph: Graph, roots: set[URIRef]) -> dict[URIRef, list[tuple[Node, Node, Node]]]:
    """Each fact's triples with those of its own sub-nodes (IRIs under the fact's IRI), in one
    pass over the graph: a subject belongs to every root that is it or an IRI prefix of it
    ending before a '/'."""
    out: dict[URIRef, list[tuple[Node, Node, Node]]] = {r: [] for r in roots}
    for t in graph:
        s = str(t[0])
        cuts = [len(s)] + [i for i, ch in enumerate(s) if ch == "/"]
        for root in {URIRef(s[:i]) for i in cuts} & roots:
            out[root].append(t)
    return out


def split_by_source(loaded: Loaded) -> tuple[Graph, dict[str, Graph]]:
    """Default graph (entities) and one graph per source document (the facts it cites)."""
    g = loaded.graph
    facts = {URIRef(load_schema().id_iri(r.id)): r for r in loaded.seeds.records.values()
             if r.spec.is_fact}
    per_source: dict[str, list] = {}
    in_fact: set = set()
    subtrees = _subtrees(g, set(facts))
    for fact_iri in facts:
        sub = subtrees[fact_iri]
        in_fact.update(sub)
        for src in sorted(loaded.source_of.get(fact_iri, ())):
            per_source.setdefault(src, []).extend(sub)
    default = [t for t in g if t not in in_fact]
    return (_sorted_copy(default, g),
            {s: _sorted_copy(ts, g) for s, ts in sorted(per_source.items())})


def trig(loaded: Loaded, ontology: Graph | None = None) -> bytes:
    """TriG: entities in the default graph, each source's facts and claims in its own graph,
    and the dataset description (dist/void.ttl) in a graph of its own."""
    default, per_source = split_by_source(loaded)
    description = void.describe(loaded.graph, ontology or load_ontology())
    ds = Dataset()
    for prefix, ns in [*loaded.graph.namespaces(), *description.namespaces()]:
        ds.bind(prefix, ns, override=True, replace=True)
    for t in default:
        ds.add(t)
    for src, sg in per_source.items():
        named = ds.graph(source_graph_iri(src))
        for t in sg:
            named.add(t)
    named = ds.graph(void.description_graph_iri())
    for t in _sorted_copy(description, description):
        named.add(t)
    return ds.serialize(format="trig", encoding="utf-8")


def _view_bytes(graph: Graph, fmt: str, profile: str) -> bytes:
    """A view's graph in an RDF format (TriG: all in the default graph)."""
    if fmt == "turtle":
        return turtle(graph)
    if fmt == "ntriples":
        return ntriples(graph)
    if fmt == "jsonld":
        return jsonld(graph, views.view_context(profile))
    return _sorted_copy(graph, graph).serialize(format="trig", encoding="utf-8")


def serialise(loaded: Loaded, fmt: str, profile: str = "kb") -> bytes:
    """The KB (profile "kb") or one of its views (e.g. "schema.org") in format `fmt`."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")
    if profile != "kb" and fmt in ("ftm", *GRAPH_FORMATS):
        raise ValueError(f"the {fmt} format maps the KB itself: it takes no --profile")
    if fmt in GRAPH_FORMATS:
        from kb.interop.pictures import graph_bytes
        from kb.rdf.terms import to_store

        return graph_bytes(to_store(loaded.graph), fmt)
    if profile != "kb":
        return _view_bytes(views.construct(loaded.graph, profile, load_ontology()), fmt, profile)
    if fmt == "turtle":
        return turtle(loaded.graph)
    if fmt == "ntriples":
        return ntriples(loaded.graph)
    if fmt == "jsonld":
        return jsonld(loaded.graph)
    if fmt == "trig":
        return trig(loaded)
    return ftm.ftm_lines(loaded.graph, load_ontology())


