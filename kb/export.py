"""Serialise the KB deterministically and write files atomically (temp file, then rename)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from rdflib import Dataset, Graph, URIRef
from rdflib.term import Node

from .load import Loaded
from .schema import load_schema

FORMATS = {"turtle": "ttl", "ntriples": "nt", "jsonld": "jsonld", "trig": "trig"}


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


def jsonld_context(graph: Graph) -> dict:
    """The JSON-LD @context: our prefixes, so keys read as short names. Never fetched remotely."""
    return {prefix: str(ns) for prefix, ns in sorted(graph.namespaces()) if prefix}


def jsonld(graph: Graph) -> bytes:
    g = _sorted_copy(graph, graph)
    data = g.serialize(format="json-ld", context=jsonld_context(graph), auto_compact=True,
                       encoding="utf-8")
    doc = json.loads(data)
    if "@graph" in doc:
        doc["@graph"] = sorted(doc["@graph"], key=lambda n: n.get("@id", ""))
    return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def source_graph_iri(source_id: str) -> URIRef:
    return URIRef(load_schema().id_iri(source_id) + "/graph")


def _subtree(graph: Graph, root: URIRef) -> list[tuple[Node, Node, Node]]:
    """A fact's triples with those of its own sub-nodes (IRIs under the fact's IRI)."""
    prefix = str(root) + "/"
    return [t for t in graph if t[0] == root or str(t[0]).startswith(prefix)]


def split_by_source(loaded: Loaded) -> tuple[Graph, dict[str, Graph]]:
    """Default graph (entities) and one graph per source document (the facts it cites)."""
    g = loaded.graph
    facts = {URIRef(load_schema().id_iri(r.id)): r for r in loaded.seeds.records.values()
             if r.spec.is_fact}
    per_source: dict[str, list] = {}
    in_fact: set = set()
    for fact_iri in facts:
        sub = _subtree(g, fact_iri)
        in_fact.update(sub)
        for src in sorted(loaded.source_of.get(fact_iri, ())):
            per_source.setdefault(src, []).extend(sub)
    default = [t for t in g if t not in in_fact]
    return (_sorted_copy(default, g),
            {s: _sorted_copy(ts, g) for s, ts in sorted(per_source.items())})


def trig(loaded: Loaded) -> bytes:
    """TriG: entities in the default graph, each source's facts and claims in its own graph."""
    default, per_source = split_by_source(loaded)
    ds = Dataset()
    for prefix, ns in loaded.graph.namespaces():
        ds.bind(prefix, ns, override=True, replace=True)
    for t in default:
        ds.add(t)
    for src, sg in per_source.items():
        named = ds.graph(source_graph_iri(src))
        for t in sg:
            named.add(t)
    return ds.serialize(format="trig", encoding="utf-8")


def serialise(loaded: Loaded, fmt: str) -> bytes:
    if fmt == "turtle":
        return turtle(loaded.graph)
    if fmt == "ntriples":
        return ntriples(loaded.graph)
    if fmt == "jsonld":
        return jsonld(loaded.graph)
    if fmt == "trig":
        return trig(loaded)
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temp file beside path, then rename over it: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_all(files: dict[Path, bytes]) -> None:
    """Write several files, each atomically, only after all of them were serialised."""
    for path, data in files.items():
        write_atomic(path, data)
