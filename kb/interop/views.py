"""Views: SPARQL CONSTRUCT queries in queries/views/ that map the KB to other vocabularies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import XSD, Graph

from kb.core.errors import InputError, Problem
from kb.core.paths import VIEWS
from kb.query import guard
from kb.rdf.mapping import WIKIDATA
from kb.rdf.terms import to_store
from kb.seeds.schema import load_schema

SCHEMA_ORG = "https://schema.org/"
VIEW_FILES = {"schema.org": "schema-org.rq"}


def view_path(name: str, views_dir: Path = VIEWS) -> Path:
    if name not in VIEW_FILES:
        raise InputError(Problem(name, None, None,
                                 f"no such view; views: {', '.join(VIEW_FILES)}"))
    return views_dir / VIEW_FILES[name]


def construct(graph: Graph, name: str, ontology: Graph, views_dir: Path = VIEWS) -> Graph:
    """Run view `name` over the KB plus the ontology (for subclasses and labels)."""
    path = view_path(name, views_dir)
    text = path.read_text(encoding="utf-8")
    try:
        guard.check(text)
    except guard.Refused as exc:
        raise InputError(Problem(str(path), None, None, exc.message)) from None
    result = to_store(graph, ontology).query(text)
    if not isinstance(result, ox.QueryTriples):
        raise InputError(Problem(str(path), None, None, "a view must be a CONSTRUCT query"))
    data = ox.serialize(result, format=ox.RdfFormat.N_TRIPLES) or b""
    out = Graph()
    for prefix, ns in view_prefixes(name).items():
        out.bind(prefix, ns, override=True, replace=True)
    out.parse(data=data, format="nt")
    return out


def view_prefixes(name: str) -> dict[str, str]:
    """The prefixes a view's output is written with."""
    return {"schema": SCHEMA_ORG, "kb": load_schema().base + "id/", "wd": str(WIKIDATA),
            "xsd": str(XSD)}


def view_context(name: str) -> dict[str, Any]:
    """The JSON-LD context of a view: schema.org terms as plain keys, embedded, never fetched."""
    return {"@vocab": SCHEMA_ORG, "id": "@id", "type": "@type",
            **{p: ns for p, ns in view_prefixes(name).items() if p != "schema"}}
