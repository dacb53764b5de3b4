"""Describe one KB node: as Turtle for machines, as a readable HTML page for people.

A node's description is its own triples plus those of its sub-nodes (IRIs below its own, such
as a fact's date, participants and claims). The HTML page adds labels, the citations of a
fact, and the records that refer to the node. Every query here is fixed text; the node is
passed as a binding (pyoxigraph substitutions, which need ?node in the projection, or in
scope through `VALUES ?node { UNDEF }`).
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

import pyoxigraph as ox
from rdflib import RDF, RDFS, Graph, URIRef

OA_EXACT = "http://www.w3.org/ns/oa#exact"

_SUBTREE = """
CONSTRUCT { ?s ?p ?o } WHERE {
  VALUES ?node { UNDEF }
  ?s ?p ?o .
  FILTER(?s = ?node || STRSTARTS(STR(?s), CONCAT(STR(?node), "/")))
}"""

_OUTGOING = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?node ?p ?o (SAMPLE(?l) AS ?label) WHERE {
  ?node ?p ?o .
  OPTIONAL { ?o rdfs:label ?l }
} GROUP BY ?node ?p ?o ORDER BY ?p STR(?o)"""

_INCOMING = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT DISTINCT ?node ?s ?p WHERE {
  ?s ?p ?node .
  FILTER(!STRSTARTS(STR(?s), CONCAT(STR(?node), "/")))
} ORDER BY ?s ?p"""

_LABEL = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?node ?label WHERE { ?node rdfs:label ?label } LIMIT 1"""

_CITATIONS = """
PREFIX kbo: <https://kb.example.org/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX oa: <http://www.w3.org/ns/oa#>
SELECT ?node ?claim ?source ?sourceLabel ?stance ?para ?exact WHERE {
  ?node kbo:claim ?claim .
  ?claim kbo:source ?source ; kbo:stance ?stance .
  OPTIONAL { ?source rdfs:label ?sourceLabel }
  OPTIONAL { ?claim kbo:locator ?loc . ?loc kbo:paragraph ?para .
             OPTIONAL { ?loc oa:hasSelector/oa:exact ?exact } }
} ORDER BY ?source ?para ?claim"""


@dataclass
class EntityPages:
    """Pages for the nodes of one KB, with the ontology's labels for terms."""

    store: ox.Store
    base: str  # the KB's base IRI, e.g. https://kb.example.org/
    terms: dict[str, str]  # ontology term IRI -> label
    prefixes: dict[str, str]

    @classmethod
    def create(cls, store: ox.Store, base: str, ontology: Graph,
               prefixes: dict[str, str]) -> EntityPages:
        terms = {str(s): str(o) for s, o in ontology.subject_objects(RDFS.label)
                 if isinstance(s, URIRef)}
        return cls(store, base, terms, prefixes)

    # -- IRIs and paths ---------------------------------------------------------------
    @property
    def id_base(self) -> str:
        return self.base + "id/"

    def iri_for_path(self, rest: str) -> str:
        """The IRI served at /id/<rest>."""
        return self.id_base + rest

    def href(self, iri: str) -> str | None:
        """The local path for a KB IRI, or None for IRIs outside the KB."""
        return "/id/" + iri[len(self.id_base):] if iri.startswith(self.id_base) else None

    def _q(self, text: str, node: str) -> ox.QuerySolutions:
        return self.store.query(text, substitutions={ox.Variable("node"): ox.NamedNode(node)})

    # -- descriptions -----------------------------------------------------------------
    def triples(self, iri: str) -> list[ox.Triple]:
        return list(self._q(_SUBTREE, iri))

    def exists(self, iri: str) -> bool:
        return bool(self.triples(iri))

    def turtle(self, iri: str, fmt: ox.RdfFormat = ox.RdfFormat.TURTLE) -> bytes:
        """The node's description; Turtle in the same layout as dist/kb.ttl."""
        nt = ox.serialize(self.triples(iri), format=ox.RdfFormat.N_TRIPLES)
        if fmt != ox.RdfFormat.TURTLE:
            return nt
        g = Graph()
        for prefix, ns in self.prefixes.items():
            g.bind(prefix, ns)
        g.parse(data=nt, format="nt")
        return g.serialize(format="longturtle", encoding="utf-8")

    def label(self, iri: str) -> str | None:
        for row in self._q(_LABEL, iri):
            return row["label"].value
        return None

    def term_label(self, iri: str) -> str:
        if iri == str(RDF.type):
            return "type"
        if iri in self.terms:
            return self.terms[iri]
        return iri.rstrip("/#").rsplit("#", 1)[-1].rsplit("/", 1)[-1]

    def owner(self, iri: str) -> str:
        """The record a node belongs to (a claim's fact, a date's event)."""
        if not iri.startswith(self.id_base):
            return iri
        return self.id_base + iri[len(self.id_base):].split("/", 1)[0]

    # -- HTML -------------------------------------------------------------------------
    def _link(self, iri: str, label: str | None = None) -> str:
        text = escape(label if label is not None
                      else self.label(iri) or self.term_label(iri))
        href = self.href(iri)
        if href:
            return f'<a href="{escape(href)}">{text}</a>'
        if iri in self.terms:
            return f'<span class="term" title="{escape(iri)}">{text}</span>'
        return f'<a class="external" href="{escape(iri)}" rel="noreferrer">{escape(iri)}</a>'

    def _value(self, node: object, label: object, parent: str, depth: int) -> str:
        if isinstance(node, ox.NamedNode):
            iri = node.value
            if iri.startswith(parent + "/") and depth < 4:
                return self._table(iri, depth + 1)
            return self._link(iri, label.value if isinstance(label, ox.Literal) else None)
        if isinstance(node, ox.Literal):
            extra = ""
            if node.language:
                extra = f' <span class="dt">@{escape(node.language)}</span>'
            elif node.datatype and not node.datatype.value.endswith("#string"):
                extra = f' <span class="dt">{escape(self.term_label(node.datatype.value))}</span>'
            return f"{escape(node.value)}{extra}"
        return escape(str(node))

    def _table(self, iri: str, depth: int = 0) -> str:
        rows: dict[str, list[str]] = {}
        for sol in self._q(_OUTGOING, iri):
            p = sol["p"].value
            if p in (self.prefixes.get("kbo", "") + "claim",):
                continue  # shown in the Citations section
            rows.setdefault(p, []).append(self._value(sol["o"], sol["label"], iri, depth))
        body = "".join(
            f'<tr><th title="{escape(p)}">{escape(self.term_label(p))}</th>'
            f'<td>{"<br>".join(vals)}</td></tr>'
            for p, vals in rows.items())
        return f'<table class="props">{body}</table>'

    def _citations(self, iri: str) -> str:
        items = []
        for sol in self._q(_CITATIONS, iri):
            source = sol["source"].value
            label = sol["sourceLabel"].value if sol["sourceLabel"] else None
            para = sol["para"].value if sol["para"] else "?"
            quote = (f' <q>{escape(sol["exact"].value)}</q>' if sol["exact"] else "")
            stance = escape(self.term_label(sol["stance"].value))
            items.append(f"<li>{self._link(source, label)}, paragraph {escape(para)} "
                         f'<span class="stance">({stance})</span>{quote}</li>')
        if not items:
            return ""
        return f'<section><h2>Citations</h2><ul class="citations">{"".join(items)}</ul></section>'

    def _incoming(self, iri: str) -> str:
        seen: dict[str, set[str]] = {}
        for sol in self._q(_INCOMING, iri):
            seen.setdefault(self.owner(sol["s"].value), set()).add(
                self.term_label(sol["p"].value))
        seen.pop(iri, None)
        if not seen:
            return ""
        items = "".join(f"<li>{self._link(o)} <span class=\"via\">({escape(', '.join(sorted(ps)))})"
                        f"</span></li>" for o, ps in sorted(seen.items()))
        return f'<section><h2>Referred to by</h2><ul class="related">{items}</ul></section>'

    def html(self, iri: str) -> str:
        title = self.label(iri) or iri[len(self.id_base):]
        parent = self.owner(iri)
        up = (f'<p class="up">Part of {self._link(parent)}</p>' if parent != iri else "")
        return page(title, f"""
<h1>{escape(title)}</h1>
<p class="iri"><code>{escape(iri)}</code>
 · <a href="{escape(self.href(iri) or '')}?format=turtle">Turtle</a>
 (<code>Accept: text/turtle</code>)</p>
{up}
<section><h2>Statements</h2>{self._table(iri)}</section>
{self._citations(iri)}
{self._incoming(iri)}""")


def page(title: str, body: str) -> str:
    """A complete HTML page using the local style sheet."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · KB</title>
<link rel="stylesheet" href="/static/style.css"></head>
<body><header><a href="/">KB SPARQL query</a></header><main>{body}</main></body></html>
"""
