"""Turn checked seed records into an RDF graph in the ontology's terms. Every node gets an IRI."""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import RDF, RDFS, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import OWL

from kb.seeds.check import Citation, Record, Scope, SeedSet
from kb.seeds.dates import DateSpec
from kb.seeds.quantities import Quantity
from kb.seeds.schema import FieldSpec, Schema

PREC_DATATYPE = {"year": XSD.gYear, "month": XSD.gYearMonth, "day": XSD.date,
                 "time": XSD.dateTime}
WIKIDATA = Namespace("http://www.wikidata.org/entity/")
PROV = Namespace("http://www.w3.org/ns/prov#")
OA = Namespace("http://www.w3.org/ns/oa#")
SDO = Namespace("https://schema.org/")


@dataclass
class Loaded:
    """The graph, and where each node came from (for error messages)."""

    graph: Graph
    seeds: SeedSet
    origin: dict[URIRef, str]  # node IRI -> "file:line"
    source_of: dict[URIRef, set[str]]  # fact/claim IRI -> source ids citing it


class _Builder:
    def __init__(self, schema: Schema, seeds: SeedSet):
        self.s = schema
        self.seeds = seeds
        self.g = Graph()
        self.kbo = Namespace(schema.kbo)
        self.origin: dict[URIRef, str] = {}
        self.source_of: dict[URIRef, set[str]] = {}
        for prefix, ns in schema.prefixes.items():
            self.g.bind(prefix, ns)
        self.g.bind("kb", schema.base + "id/")
        self.g.bind("wd", WIKIDATA)

    def iri(self, ident: str) -> URIRef:
        return URIRef(self.s.id_iri(ident))

    def term(self, curie: str) -> URIRef:
        return URIRef(self.s.expand(curie))

    def add(self, s: URIRef, p: URIRef, o) -> None:
        self.g.add((s, p, o))

    def build(self) -> Loaded:
        for rec in self.seeds.records.values():
            self.record(rec)
        return Loaded(self.g, self.seeds, self.origin, self.source_of)

    def record(self, rec: Record) -> None:
        node = self.iri(rec.id)
        self.origin[node] = f"{rec.file}:{rec.line}"
        self.add(node, RDF.type, self.term(rec.spec.cls))
        self.add(node, self.kbo.identifier, Literal(rec.id))
        label = (rec.values.get("label") or rec.values.get("name") or rec.values.get("title")
                 or rec.values.get("description"))
        if label:
            self.add(node, RDFS.label, Literal(label))
        for fname, value in rec.values.items():
            spec = rec.spec.fields[fname]
            if fname == "label":
                continue
            self.field(node, spec, value)
        if rec.spec.is_fact:
            for key, cite in self._citation_keys(rec):
                self.citation(node, key, cite, rec)

    def field(self, node: URIRef, spec: FieldSpec, value) -> None:
        k = spec.kind
        prop = self.term(spec.property) if spec.property else None
        if k == "text":
            self.add(node, prop, Literal(value))
        elif k == "texts":
            for v in value:
                self.add(node, prop, Literal(v))
        elif k in ("ref", "refs"):
            for ident in [value] if k == "ref" else value:
                self.add(node, prop, self.iri(ident))
                if spec.involves:
                    self.add(node, self.kbo.involves, self.iri(ident))
        elif k == "enum":
            target = self.term(spec.values[value])
            self.add(node, RDF.type if spec.as_class else prop, target)
        elif k == "int":
            self.add(node, prop, Literal(value, datatype=XSD.integer))
        elif k == "duration":
            self.add(node, prop, Literal(value, datatype=XSD.duration))
        elif k == "date":
            self.date(node, spec, prop, value)
        elif k in ("amount", "quantity"):
            self.quantity(node, prop, URIRef(f"{node}/{spec.name}"), value)
        elif k == "quantities":
            for i, q in enumerate(value, start=1):
                self.quantity(node, prop, URIRef(f"{node}/{spec.name}/{i}"), q)
        elif k == "participants":
            for actor, role in value:
                part = URIRef(f"{node}/participant/{actor}")
                self.add(node, prop, self.iri(actor))
                self.add(node, self.kbo.involves, self.iri(actor))
                self.add(node, self.kbo.participation, part)
                self.add(part, RDF.type, self.kbo.Participation)
                self.add(part, self.kbo.actor, self.iri(actor))
                self.add(part, self.kbo.role, self.term(self.s.roles[role]))
        elif k == "sequence":
            for target, gap, wording in value:
                self.add(node, prop, self.iri(target))
                if gap is None and wording is None:
                    continue
                rel = URIRef(f"{node}/{spec.name}/{target}")
                self.add(node, self.kbo.temporalRelation, rel)
                self.add(rel, RDF.type, self.kbo.TemporalRelation)
                self.add(rel, self.kbo.relationProperty, prop)
                self.add(rel, self.kbo.relatedEvent, self.iri(target))
                if gap is not None:
                    self.add(rel, self.kbo.gap, Literal(gap, datatype=XSD.duration))
                if wording is not None:
                    self.add(rel, self.kbo.gapAsReported, Literal(wording))
        elif k == "titles":
            for i, (title, source, para) in enumerate(value, start=1):
                rt = URIRef(f"{node}/title/{i}")
                self.add(node, prop, rt)
                self.add(rt, RDF.type, self.kbo.ReportedTitle)
                self.add(rt, self.kbo.title, Literal(title))
                self.add(rt, self.kbo.reportedIn, URIRef(f"{node}/claim/{source}-p{para}"))
        elif k == "sameas":
            for link in value:
                qid = link["wikidata"]
                self.add(node, OWL.sameAs, WIKIDATA[qid])
                ln = URIRef(f"{node}/link/wikidata-{qid}")
                self.add(ln, RDF.type, self.kbo.CheckedLink)
                self.add(ln, self.kbo.linkSubject, node)
                self.add(ln, self.kbo.linkTarget, WIKIDATA[qid])
                self.add(ln, self.kbo.linkProperty, OWL.sameAs)
                self.add(ln, self.kbo.checkedBy, Literal(link["checked_by"]))
                self.add(ln, self.kbo.checkedAgainst, Literal(link["checked_against"]))
                self.add(ln, self.kbo.checkedOn, Literal(link["checked_on"], datatype=XSD.date))

    def quantity(self, node: URIRef, prop: URIRef, qn: URIRef, q: Quantity) -> None:
        """A quantity node: money a schema:MonetaryAmount, anything else a kbo:Quantity; the
        value in the canonical xsd:decimal form every store keeps."""
        self.add(node, prop, qn)
        self.add(qn, RDF.type, SDO.MonetaryAmount if q.currency else self.kbo.Quantity)
        self.add(qn, SDO.value, Literal(q.value, datatype=XSD.decimal))
        if q.currency:
            self.add(qn, SDO.currency, Literal(q.currency))
        if q.code:
            self.add(qn, SDO.unitCode, Literal(q.code))
        if q.unit:
            self.add(qn, SDO.unitText, Literal(q.unit))
        if q.of:
            self.add(qn, self.kbo.quantityOf, Literal(q.of))
        if q.as_reported:
            self.add(qn, self.kbo.asReported, Literal(q.as_reported))

    def date(self, node: URIRef, spec: FieldSpec, prop: URIRef, d: DateSpec) -> None:
        dn = URIRef(f"{node}/{spec.name}")
        self.add(node, prop, dn)
        self.add(dn, RDF.type, self.kbo.DateSpec)
        if d.reported is not None:
            rep = d.reported
            self.add(dn, self.kbo.reported,
                     Literal(rep.text, datatype=PREC_DATATYPE[rep.precision]))
            self.add(dn, self.kbo.precision, self.kbo[rep.precision.capitalize() + "Precision"])
        if d.earliest is not None:
            self.add(dn, self.kbo.earliest, Literal(d.earliest.isoformat(), datatype=XSD.date))
        if d.latest is not None:
            self.add(dn, self.kbo.latest, Literal(d.latest.isoformat(), datatype=XSD.date))
        self.add(dn, self.kbo.qualifier, self.term(self.s.qualifiers[d.qualifier]))
        self.add(dn, self.kbo.derived, Literal(d.derived))
        if d.basis:
            self.add(dn, self.kbo.basis, Literal(d.basis))

    def _citation_keys(self, rec: Record) -> list[tuple[str, Citation]]:
        seen: dict[str, int] = {}
        out = []
        for c in rec.citations:
            key = f"{c.source}-p{c.para}"
            seen[key] = seen.get(key, 0) + 1
            out.append((key if seen[key] == 1 else f"{key}-{seen[key]}", c))
        return out

    def citation(self, fact: URIRef, key: str, c: Citation, rec: Record) -> None:
        claim = URIRef(f"{fact}/claim/{key}")
        source = self.iri(c.source)
        self.origin[claim] = f"{c.file}:{c.line}"
        self.source_of.setdefault(fact, set()).add(c.source)
        self.source_of.setdefault(claim, set()).add(c.source)
        self.add(fact, self.kbo.claim, claim)
        self.add(claim, RDF.type, self.kbo.Claim)
        self.add(claim, self.kbo.proposition, fact)
        self.add(claim, self.kbo.stance, self.term(self.s.stances[c.stance]))
        self.add(claim, self.kbo.source, source)
        loc = URIRef(f"{claim}/locator")
        self.add(claim, self.kbo.locator, loc)
        self.add(loc, RDF.type, self.kbo.Locator)
        self.add(loc, OA.hasSource, source)
        self.add(loc, self.kbo.paragraph, Literal(c.para, datatype=XSD.integer))
        if c.anchor:
            sel = URIRef(f"{loc}/selector")
            self.add(loc, OA.hasSelector, sel)
            self.add(sel, RDF.type, OA.TextQuoteSelector)
            self.add(sel, OA.exact, Literal(c.anchor))
        for scope in c.scope:
            self.scope(claim, rec, scope)
        for i, a in enumerate(c.attributions, start=1):
            att = URIRef(f"{claim}/attribution/{i}")
            self.add(claim, PROV.qualifiedAttribution, att)
            self.add(att, RDF.type, PROV.Attribution)
            cls = {"outlet": "OutletAttribution", "curators": "CuratorsAttribution",
                   "person": "PersonAttribution",
                   "organisation": "OrganisationAttribution",
                   "document": "DocumentAttribution", "anonymous": "AnonymousAttribution"}
            self.add(att, RDF.type, self.kbo[cls[a.kind]])
            if a.kind == "outlet":
                pub = self.seeds.records[c.source].values.get("publisher")
                if pub:
                    self.add(att, PROV.agent, self.iri(pub))
                self.add(att, self.kbo.attributedTo, self.iri(pub) if pub else source)
            elif a.kind == "curators":
                self.add(att, self.kbo.attributedTo, self.kbo.Curators)
            elif a.kind == "anonymous":
                self.add(att, self.kbo.sourceDescription, Literal(a.description))
                if a.count is not None:
                    self.add(att, self.kbo.sourceCount, Literal(a.count, datatype=XSD.integer))
            elif a.kind == "document":
                self.add(att, self.kbo.attributedTo, self.iri(a.ref))
            else:
                self.add(att, PROV.agent, self.iri(a.ref))
                self.add(att, self.kbo.attributedTo, self.iri(a.ref))

    def scope(self, claim: URIRef, rec: Record, scope: Scope) -> None:
        """The part of the fact the claim supports: the fact's property, and for one actor of
        it (a participant, a participant's role, a target...) that actor."""
        node = URIRef(f"{claim}/scope/{scope.key()}")
        self.add(claim, self.kbo.supports, node)
        self.add(node, RDF.type, self.kbo.ClaimScope)
        if scope.part == "participant":
            prop = self.kbo.participant
        elif scope.part == "role":
            prop = self.kbo.role
        else:
            spec = rec.spec.fields[scope.part]
            prop = RDF.type if spec.as_class else self.term(spec.property)
        self.add(node, self.kbo.scopeProperty, prop)
        if scope.actor is not None:
            self.add(node, self.kbo.scopeValue, self.iri(scope.actor))

