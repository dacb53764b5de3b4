"""Hand an rdflib graph to Oxigraph, the SPARQL engine every query in the project runs on."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.term import Node


def to_store(*graphs: Graph) -> ox.Store:
    """An in-memory Oxigraph store holding the triples of the given graphs."""
    store = ox.Store()
    for g in graphs:
        data = g.serialize(format="nt", encoding="utf-8")
        store.load(data, format=ox.RdfFormat.N_TRIPLES)
    return store


def to_ox(term: Node) -> ox.NamedNode | ox.Literal:
    """Convert an rdflib IRI or literal to its Oxigraph counterpart."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"cannot bind {term!r}: only IRIs and literals")


def from_ox(term: object) -> Node | None:
    """Convert an Oxigraph term back to rdflib (None for unbound)."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    raise TypeError(f"unexpected term {term!r}")


# Dataset formats `kb serve --data` reads, by file extension.
DATA_FORMATS = {".ttl": ox.RdfFormat.TURTLE, ".nt": ox.RdfFormat.N_TRIPLES,
                ".trig": ox.RdfFormat.TRIG, ".nq": ox.RdfFormat.N_QUADS}


def load_store(data: Path) -> ox.Store:
    store = ox.Store()
    store.load(path=str(data), format=DATA_FORMATS.get(data.suffix.lower(), ox.RdfFormat.TURTLE))
    return store
