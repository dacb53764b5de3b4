"""Describe one KB node: as Turtle for machines, as a readable HTML page for people.

Persons, organisations and groups get a reader's page (posts, sanctions, a timeline, contacts
by counterpart, the sources, and the network and timeline views); facts get what, who, when,
where and the claims side by side; places what happened there and inside. The data comes from
the queries in queries/pages/ and the competency queries, the node passed as a binding. Every
other node gets the generic description:

A node's description is its own triples plus those of its sub-nodes (IRIs below its own, such
as a fact's date, participants and claims). The HTML page adds labels, the citations of a
fact, and the records that refer to the node. Every query here is fixed text; the node is
passed as a binding (pyoxigraph substitutions, which need ?node in the projection, or in
scope through `VALUES ?node { UNDEF }`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from html import escape

import pyoxigraph as ox
from rdflib import RDF, RDFS, XSD, Graph, Literal, URIRef

from kb.interop.pictures import network, rows, timeline

AGAINST = ("Denies", "Doubts", "CannotRecall")  # stances that speak against a fact
OA_EXACT = "http://www.w3.org/ns/oa#exact"
LABEL_CACHE = 200_000  # node labels kept

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
    _labels: dict[str, str | None] = field(default_factory=dict)

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
        """The triples about the node and the nodes below it (IRIs under `<iri>/`: its date,
        participations, citations, links...), sorted. The nodes below are found by following
        links either way from the node through nodes below it (index lookups), not by scanning
        every subject's IRI: the mapping links each to its record (tests hold it to that, and
        compare with the scan)."""
        try:
            start = ox.NamedNode(iri)
        except ValueError:  # not an IRI (a space in the id...): nothing is described there
            return []
        below, graph = iri + "/", ox.DefaultGraph()
        seen, todo, out = {iri}, [start], []

        def reach(term: object) -> None:
            if isinstance(term, ox.NamedNode) and term.value.startswith(below) \
                    and term.value not in seen:
                seen.add(term.value)
                todo.append(term)

        while todo:
            node = todo.pop()
            for q in self.store.quads_for_pattern(node, None, None, graph):
                out.append(ox.Triple(q.subject, q.predicate, q.object))
                reach(q.object)
            for q in self.store.quads_for_pattern(None, None, node, graph):
                reach(q.subject)
        return sorted(out, key=str)

    def exists(self, iri: str) -> bool:
        """Whether the KB describes the node or a node below it."""
        return bool(self.triples(iri))

    def turtle(self, iri: str, fmt: ox.RdfFormat = ox.RdfFormat.TURTLE) -> bytes:
        """The node's description; Turtle in the same layout as dist/kb.ttl."""
        nt = ox.serialize(self.triples(iri), format=ox.RdfFormat.N_TRIPLES)
        if fmt not in (ox.RdfFormat.TURTLE, ox.RdfFormat.JSON_LD):
            return nt
        g = Graph()
        for prefix, ns in self.prefixes.items():
            g.bind(prefix, ns)
        g.parse(data=nt, format="nt")
        if fmt == ox.RdfFormat.JSON_LD:  # compacted with the KB's prefixes, never fetched
            return g.serialize(format="json-ld", context=dict(sorted(self.prefixes.items())),
                               encoding="utf-8")
        return g.serialize(format="longturtle", encoding="utf-8")

    def label(self, iri: str) -> str | None:
        if iri in self._labels:  # the data is read-only while it is served
            return self._labels[iri]
        found = None
        for row in self._q(_LABEL, iri):
            found = row["label"].value
        if len(self._labels) < LABEL_CACHE:
            self._labels[iri] = found
        return found

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

    def describe(self, iri: str) -> str:
        """The generic page: every statement, the citations and what refers to the node."""
        title = self.label(iri) or iri[len(self.id_base):]
        parent = self.owner(iri)
        up = (f'<p class="up">Part of {self._link(parent)}</p>' if parent != iri else "")
        return page(title, f"""
<h1>{escape(title)}</h1>
<p class="iri"><code>{escape(iri)}</code>
 · {self._formats(iri)}</p>
{up}
<section><h2>Statements</h2>{self._table(iri)}</section>
{self._citations(iri)}
{self._incoming(iri)}""")


    # -- pictures -----------------------------------------------------------------------
    def picture_json(self, iri: str, view: str, params: dict[str, list[str]]) -> dict:
        """network.json (?hops=1|2&from=D&to=D) or timeline.json (?actor=ID, repeatable)."""
        def one(name: str) -> str | None:
            return (params.get(name) or [None])[-1] or None
        if view == "network.json":
            hops_text = one("hops") or "1"
            if not hops_text.isdigit():
                raise ValueError(f"hops={hops_text!r}: expected a whole number of hops (1 or 2)")
            dates = {k: one(k) for k in ("from", "to")}
            for k, v in dates.items():
                if v is not None:
                    try:
                        dt.date.fromisoformat(v)
                    except ValueError:
                        raise ValueError(f"{k}={v!r}: expected a day, YYYY-MM-DD") from None
            net = network(self.store, iri, int(hops_text), dates["from"], dates["to"])
            return net.as_json({n: self.href(n) or "" for n in net.nodes})
        actors = [iri]
        for a in params.get("actor", []):
            other = a if ":" in a else self.id_base + a
            if not self.exists(other):
                raise ValueError(f"actor={a!r}: no such node in the KB")
            if other not in actors:
                actors.append(other)
        lanes = timeline(self.store, actors)
        for lane in lanes:
            lane["href"] = self.href(lane["id"]) or ""
            for item in lane["items"]:
                item["href"] = self.href(item["fact"]) or ""
        return {"lanes": lanes}

    # -- reader's pages -----------------------------------------------------------------
    def _formats(self, iri: str) -> str:
        href = escape(self.href(iri) or "")
        return (f'<a href="{href}?format=turtle">Turtle</a> · '
                f'<a href="{href}?format=jsonld">JSON-LD</a>'
                ' (or <code>Accept: text/turtle</code>, <code>application/ld+json</code>)')

    def html(self, iri: str) -> str:
        """The reader's page for actors, facts and places; the description for the rest."""
        head: dict[str, list[str]] = defaultdict(list)
        for r in rows(self.store, "node", node=iri):
            head[r["field"]].append(r["value"])
        types = {t.rsplit("#", 1)[-1] for t in head["type"]}
        if types & {"Person", "Organisation", "UnnamedGroup"}:
            return self.actor_html(iri, head)
        if "Place" in types:
            return self.place_html(iri, head)
        if self._is_fact(iri):
            return self.fact_html(iri, head)
        return self.describe(iri)

    def _is_fact(self, iri: str) -> bool:
        kbo = self.prefixes.get("kbo", "")
        return any(True for _ in self.store.quads_for_pattern(
            ox.NamedNode(iri), ox.NamedNode(kbo + "claim"), None))

    def _kinds(self, head: dict[str, list[str]]) -> str:
        """The node's classes, the most specific first (fewest instances of the name)."""
        names = sorted({self.term_label(t) for t in head["type"]
                        if t.startswith(self.prefixes.get("kbo", "-"))})
        generic = {"actor", "organisation", "contact", "investment", "sanction action",
                   "personnel change", "place"}
        specific = [n for n in names if n.lower() not in generic]
        return ", ".join(specific or names)

    def _header(self, iri: str, head: dict[str, list[str]], extra: str = "") -> str:
        title = (head["label"] or [iri[len(self.id_base):]])[0]
        aliases = (f'<p class="aliases">Also written: {escape(", ".join(head["alias"]))}</p>'
                   if head["alias"] else "")
        desc = "".join(f'<p class="description">{escape(d)}</p>' for d in head["description"])
        note = "".join(f'<p class="note">{escape(c)}</p>' for c in head["comment"])
        return (f'<h1>{escape(title)}</h1>'
                f'<p class="kind">{escape(self._kinds(head))}{extra}</p>{aliases}{desc}{note}'
                f'<p class="iri"><code>{escape(iri)}</code> · {self._formats(iri)}</p>')

    def _all_statements(self, iri: str) -> str:
        return (f'<details class="statements"><summary>All statements</summary>'
                f'{self._table(iri)}</details>')

    def actor_html(self, iri: str, head: dict[str, list[str]]) -> str:
        title = (head["label"] or [iri[len(self.id_base):]])[0]
        href = escape(self.href(iri) or "")
        body = [self._header(iri, head), self._links(iri)]
        body.append(f"""
<section class="views"><h2>Network</h2>
<div class="controls"><label>Hops <select id="net-hops"><option>1</option><option>2</option>
</select></label> <label>From <input id="net-from" type="date"></label>
<label>To <input id="net-to" type="date"></label>
<span class="legend">edges: <span class="rel-contact">contact</span> · <span
class="rel-transmission">transmission</span> · <span class="rel-post">post</span> · <span
class="rel-relationship">relationship</span> · <span class="rel-sanction">sanction</span>;
thicker for more facts, dashed when disputed or denied; click a node to open it</span></div>
<p id="net-message" class="hint"></p>
<div id="network" class="network" data-src="{href}/network.json"></div>
<h2>Timeline</h2>
<div class="controls"><label>Add an actor <input id="tl-actor" list="tl-actors"
placeholder="e.g. steve-witkoff"></label> <button id="tl-add" type="button">Add lane</button>
<span class="legend">a bar spans a fact's possible days (a month, a year); an arrow is an open
bound; dashed when disputed or denied</span></div>
<datalist id="tl-actors"></datalist>
<div id="timeline" class="timeline" data-src="{href}/timeline.json"
 data-actor="{escape(iri[len(self.id_base):])}"></div></section>""")
        body += [self._posts(iri), self._sanctions(iri), self._timeline(iri),
                 self._counterparts(iri), self._mentions(iri), self._all_statements(iri)]
        return page(title, "".join(body), scripts=("vendor/cytoscape.min.js", "pages.js"))

    def _links(self, iri: str) -> str:
        items = []
        for r in rows(self.store, "links", node=iri):
            target = r["target"]
            checked = " ".join(filter(None, ("checked against", r.get("against"), "on",
                                             r.get("on"))))
            items.append(f'<li><a class="external" href="{escape(target)}" rel="noreferrer">'
                         f'{escape(self._curie(target))}</a> <span class="hint">'
                         f'({escape(self.term_label(r.get("property", "")))}; '
                         f'{escape(checked)})</span></li>')
        if not items:
            return ""
        return f'<section><h2>External identifiers</h2><ul>{"".join(items)}</ul></section>'

    def _curie(self, iri: str) -> str:
        for prefix, ns in sorted(self.prefixes.items()):
            if iri.startswith(ns) and prefix != "kb":
                return f"{prefix}:{iri[len(ns):]}"
        return iri

    def _posts(self, iri: str) -> str:
        items = []
        for r in rows(self.store, "posts-of-actor", actor=iri):
            org = f" — {escape(r['organisation'])}" if r.get("organisation") else ""
            start = span(r.get("start"), r.get("startEarliest"), r.get("startLatest"))
            end = span(r.get("end"), r.get("endEarliest"), r.get("endLatest"))
            if start or end:
                term = f"{start or '?'} – {end or 'open'}"
            else:
                term = f"as of {escape(r['asOf'])}" if r.get("asOf") else "dates not given"
            items.append(f"<li>{self._link(r['post'], r['title'])}{org} "
                         f'<span class="when">{term}</span></li>')
        if not items:
            return ""
        return f'<section><h2>Posts</h2><ul class="posts">{"".join(items)}</ul></section>'

    def _sanctions(self, iri: str) -> str:
        today = dt.date.today().isoformat()
        status = rows(self.store, "sanction-status-on-date", actor=iri,
                      date=Literal(today, datatype=XSD.date))
        history = rows(self.store, "sanction-actions", target=iri)
        if not status and not history:
            return ""
        if status:
            now = "".join(
                f"<li>{self._link(r['designation'])} by {escape(r.get('authority', '?'))}: "
                f"in force: <strong>{escape(r.get('inForce', '?'))}</strong>"
                + (f"; relief: {escape(r['relief'])}" if r.get("relief") else "") + "</li>"
                for r in status)
            today_html = f'<h3>Today ({today})</h3><ul class="sanction-now">{now}</ul>'
        else:
            today_html = f'<h3>Today ({today})</h3><p>No designation in force.</p>'
        hist = "".join(
            f'<tr><td>{escape(r.get("kind", ""))}</td><td>{self._link(r["action"])}</td>'
            f'<td>{escape(r.get("authority", ""))}</td>'
            f'<td>{span(r.get("start"), r.get("earliest"), r.get("latest")) or "?"}'
            + (f" – {escape(r['end'])}" if r.get("end") else "") + "</td></tr>"
            for r in history)
        return (f'<section><h2>Sanctions</h2>{today_html}<h3>History</h3>'
                '<table class="results"><thead><tr><th>action</th><th>fact</th>'
                f'<th>authority</th><th>when</th></tr></thead><tbody>{hist}</tbody></table>'
                '</section>')

    def _timeline(self, iri: str) -> str:
        items = []
        for r in rows(self.store, "timeline", node=iri):
            contested = r.get("status") in ("Disputed", "Denied")
            cls = f' class="contested {r["status"].lower()}"' if contested else ""
            status = (f' <span class="status-badge">{escape(r["status"])}</span>'
                      if contested else "")
            when = when_html(r) or '<span class="hint">undated</span>'
            items.append(f'<li{cls} data-fact="{escape(r["fact"])}"><span class="when">'
                         f'{when}</span> {self._link(r["fact"], r.get("label"))}'
                         f'{status} <span class="hint">{escape(r.get("kind", ""))}'
                         + (f'; {escape(r["how"])}' if r.get("how") else "")
                         + "</span></li>")
        if not items:
            return ""
        return (f'<section><h2>Every fact, by date</h2><ol class="facts" id="facts">'
                f'{"".join(items)}</ol></section>')

    def _counterparts(self, iri: str) -> str:
        trs = []
        for r in rows(self.store, "counterparts", node=iri):
            first = r.get("earliest", "9999-12-31")
            last = r.get("latest", "0001-01-01")
            dates = " – ".join(x for x in (first if first != "9999-12-31" else "",
                                           last if last != "0001-01-01" else "") if x)
            disputed = f' ({r["disputed"]} disputed or denied)' if r.get("disputed") != "0" else ""
            trs.append(f'<tr><td>{self._link(r["other"], r.get("label"))}</td>'
                       f'<td>{escape(r["facts"])}{disputed}</td><td>{escape(dates)}</td></tr>')
        if not trs:
            return ""
        return ('<section><h2>Contacts, by counterpart</h2><table class="results" '
                'id="counterparts"><thead><tr><th>counterpart</th><th>contacts and '
                'transmissions</th><th>between</th></tr></thead>'
                f'<tbody>{"".join(trs)}</tbody></table></section>')

    def _mentions(self, iri: str) -> str:
        by_source: dict[str, list[str]] = defaultdict(list)
        for r in rows(self.store, "mentions-of-entity", entity=iri):
            anchor = f' <q>{escape(r["anchor"])}</q>' if r.get("anchor") else ""
            how = " (on its word)" if r.get("how") == "attribution" else ""
            by_source[r["source"]].append(
                f'<li>paragraph {escape(r["paragraph"])}{anchor} — '
                f'{self._link(r["fact"])}{how}</li>')
        if not by_source:
            return ""
        parts = "".join(f'<li>{self._link(self.id_base + s)}<ul>{"".join(v)}</ul></li>'
                        for s, v in sorted(by_source.items()))
        return ('<section><h2>Sources that mention it</h2>'
                f'<ul class="sources">{parts}</ul></section>')

    def search_html(self, text: str, status: int = 200, message: str = "") -> str:
        """Entities whose name, alias or id contains `text`, and a search box."""
        found = rows(self.store, "search", text=Literal(text)) if text.strip() else []
        items = "".join(f'<li>{self._link(r["node"], r.get("label"))} <span class="hint">'
                        f'{escape(self.term_label(r.get("type", "")))}</span></li>'
                        for r in found)
        result = (f'<p>{len(found)} match(es) for <q>{escape(text)}</q>:</p><ul>{items}</ul>'
                  if text.strip() else "")
        lead = f"<p>{escape(message)}</p>" if message else ""
        title = "Not found" if status == 404 else "Find an entity"
        return page(title, f"""<h1>{title}</h1>{lead}
<form action="/search" method="get" class="searchbox"><input name="q" type="search"
 value="{escape(text)}" placeholder="a name, alias or id" aria-label="Find an entity">
<button>Find</button></form>{result}""")

    def fact_html(self, iri: str, head: dict[str, list[str]]) -> str:
        title = (head["label"] or [iri[len(self.id_base):]])[0]
        status = [s.rsplit("#", 1)[-1] for s in head["status"]]
        extra = "".join(f' · <span class="status-badge {s.lower()}">{escape(s)}</span>'
                        for s in status)
        body = [self._header(iri, head, extra)]
        when = []
        for r in rows(self.store, "when", node=iri):
            r = {**r, "date": r.get("reported", "")}
            when.append(f"<li>{escape(r['which'])}: {when_html(r) or '?'}</li>")
        body.append(f'<section><h2>When</h2><ul>{"".join(when) or "<li>not dated</li>"}</ul>'
                    '</section>')
        if head["place"]:
            body.append("<section><h2>Where</h2><p>"
                        + ", ".join(self._link(p) for p in head["place"]) + "</p></section>")
        who = "".join(f'<li>{self._link(r["actor"], r.get("label"))} <span class="hint">'
                      f'{escape(r.get("how", ""))}</span></li>'
                      for r in rows(self.store, "who", node=iri))
        if who:
            body.append(f'<section><h2>Who</h2><ul class="who">{who}</ul></section>')
        body.append(self._claims(iri))
        body.append(self._all_statements(iri))
        return page(title, "".join(body))

    def _claims(self, iri: str) -> str:
        claims = rows(self.store, "claims", node=iri)
        if not claims:
            return ""
        sides: dict[str, list[str]] = defaultdict(list)
        for r in claims:
            stance = r.get("stance", "Asserts")
            side = "against" if stance in AGAINST else "for"  # forward-looking accounts: for
            anchor = f'<q>{escape(r["anchor"])}</q>' if r.get("anchor") else ""
            sides[side].append(
                f'<tr class="stance-{escape(stance.lower())}"><td>'
                f'{self._link(r["source"], r.get("sourceLabel"))}, paragraph '
                f'{escape(r.get("paragraph", "?"))}</td><td>{anchor}</td>'
                f'<td>{escape(stance)}</td><td>{escape(r.get("attribution", ""))}</td></tr>')
        head = ('<thead><tr><th>source</th><th>anchor</th><th>stance</th>'
                '<th>according to</th></tr></thead>')
        cols = []
        for side, name in (("for", "Accounts asserting it"), ("against", "Accounts denying or "
                                                                          "doubting it")):
            if sides[side]:
                cols.append(f'<div class="side side-{side}"><h3>{name}</h3>'
                            f'<table class="results claims">{head}<tbody>'
                            f'{"".join(sides[side])}</tbody></table></div>')
        return f'<section><h2>Citations</h2><div class="sides">{"".join(cols)}</div></section>'

    def place_html(self, iri: str, head: dict[str, list[str]]) -> str:
        title = (head["label"] or [iri[len(self.id_base):]])[0]
        body = [self._header(iri, head)]
        inner = "".join(f'<li>{self._link(r["inner"], r.get("label"))}</li>'
                        for r in rows(self.store, "inside", node=iri))
        if inner:
            body.append(f'<section><h2>Places inside</h2><ul>{inner}</ul></section>')
        events = []
        for r in rows(self.store, "events-at-place", place=iri):
            at = (f' <span class="hint">at {escape(r["at"])}</span>'
                  if r.get("at") and r.get("at") != title else "")
            events.append(f'<li><span class="when">{when_html(r) or "undated"}</span> '
                          f'{self._link(r["fact"], r.get("label"))}{at} '
                          f'<span class="hint">{escape(r.get("kind", ""))}</span></li>')
        body.append('<section><h2>What happened here and inside</h2><ol class="facts">'
                    f'{"".join(events) or "<li>nothing recorded</li>"}</ol></section>')
        body.append(self._all_statements(iri))
        return page(title, "".join(body))


def span(reported: str | None, earliest: str | None, latest: str | None) -> str:
    """A date as reported, or its bounds when only those are known (escaped HTML)."""
    if reported:
        return escape(reported)
    if earliest and latest:
        return escape(earliest if earliest == latest else f"between {earliest} and {latest}")
    if earliest:
        return escape(f"from {earliest}")
    if latest:
        return escape(f"by {latest}")
    return ""


QUALIFIERS = {"About": "about ", "Before": "before ", "After": "after "}


def when_html(r: dict[str, str]) -> str:
    """A fact's date at its precision, its end if any, and a mark on derived dates."""
    text = span(r.get("date"), r.get("earliest"), r.get("latest"))
    if not text:
        return ""
    text = escape(QUALIFIERS.get(r.get("qualifier", ""), "")) + text
    end = span(r.get("end"), r.get("endEarliest"), r.get("endLatest"))
    if end:
        text += f" – {end}"
    if r.get("derived") == "true":
        text += (f' <abbr class="derived" title="derived: {escape(r.get("basis", ""))}">'
                 "derived</abbr>")
    return text

def page(title: str, body: str, scripts: tuple[str, ...] = ()) -> str:
    """A complete HTML page using the local style sheets (and scripts: paths under /static/).

    pages.css carries the id Cytoscape.js looks for before it injects a <style> of its own,
    which the Content-Security-Policy (style-src 'self') would refuse."""
    tags = "".join(f'<script src="/static/{escape(s)}"></script>' for s in scripts)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · KB</title>
<link rel="stylesheet" href="/static/style.css">
<link rel="stylesheet" href="/static/pages.css" id="__________cytoscape_stylesheet">{tags}
</head>
<body{"" if scripts else ' data-ready="true"'}><header><a href="/">KB SPARQL query</a>
<form class="search" action="/search" method="get"><input name="q" type="search"
 placeholder="Find an entity by name or id" aria-label="Find an entity"></form></header>
<main>{body}</main></body></html>
"""
