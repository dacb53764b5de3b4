"""FollowTheMoney export: the KB as FtM entities (JSON lines), by ontology/ftm-mapping.yaml.

The mapping is data; this module only knows how to evaluate its value sources (see the comment
at the top of the mapping file). It does not need the followthemoney library; the tests check
its output with it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from rdflib import RDF, RDFS, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS
from rdflib.term import Node

from kb.core.paths import FTM_MAPPING
from kb.rdf.mapping import OA, PROV, WIKIDATA
from kb.seeds.fast_yaml import read_yaml_fast
from kb.seeds.schema import Schema, load_schema

SDO = Namespace("https://schema.org/")
FTM_ID = re.compile(r"^[0-9a-zA-Z]([0-9a-zA-Z.\-]*[0-9a-zA-Z])?$")
SOURCE_KINDS = {"text", "ref", "name", "country", "place", "date", "keyword", "record_type",
                "qid", "roles", "iri", "const", "template", "claims", "sources", "first", "all"}

Source = tuple[str, Any]  # (kind, argument); "first"/"all" take a list of sources


@dataclass(frozen=True)
class Rule:
    """One mapping rule: records of these classes become entities of this FtM schema."""

    classes: tuple[URIRef, ...]
    schema: str | None
    properties: dict[str, Source]
    one_per: URIRef | None = None
    require: tuple[URIRef, ...] = ()
    name: str | None = None  # links only: the id segment of the link


@dataclass(frozen=True)
class Mapping:
    id_prefix: str
    countries: dict[str, str]
    entities: tuple[Rule, ...]
    links: tuple[Rule, ...]


def _source(raw: Any, schema: Schema, where: str) -> Source:
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ValueError(f"{where}: a value source is a mapping with one key")
    (kind, arg), = raw.items()
    if kind not in SOURCE_KINDS:
        raise ValueError(f"{where}: unknown value source {kind!r}")
    if kind in ("first", "all"):
        return kind, tuple(_source(r, schema, where) for r in arg)
    if kind in ("const", "template", "claims", "sources"):
        return kind, str(arg)
    if kind == "roles":
        return kind, tuple(str(r) for r in arg)
    return kind, _path(arg, schema)


def _path(raw: Any, schema: Schema) -> tuple[URIRef, ...] | None:
    """A CURIE or list of CURIEs as a property path; None for `self`."""
    if raw == "self":
        return None
    items = raw if isinstance(raw, list) else [raw]
    return tuple(_expand(str(c), schema) for c in items)


def _expand(curie: str, schema: Schema) -> URIRef:
    """A CURIE in the seed schema's prefixes, or rdf:."""
    if curie.startswith("rdf:"):
        return URIRef(str(RDF) + curie[4:])
    return URIRef(schema.expand(curie))


def _rule(raw: Any, groups: dict[str, dict], schema: Schema, where: str) -> Rule:
    classes = raw["class"] if isinstance(raw["class"], list) else [raw["class"]]
    props: dict[str, Any] = {}
    for g in raw.get("use", []):
        props.update(groups[g])
    props.update(raw.get("properties", {}))
    target = raw.get("schema")
    return Rule(
        classes=tuple(_expand(str(c), schema) for c in classes),
        schema=None if target in (None, "null") else str(target),
        properties={k: _source(v, schema, f"{where}: {k}") for k, v in props.items()},
        one_per=_expand(str(raw["one_per"]), schema) if "one_per" in raw else None,
        require=tuple(_expand(str(c), schema) for c in raw.get("require", [])),
        name=str(raw["name"]) if "name" in raw else None,
    )


@lru_cache(maxsize=4)
def load_mapping(path: Path = FTM_MAPPING) -> Mapping:
    raw: Any = read_yaml_fast(path)
    schema = load_schema()
    groups = {name: dict(g) for name, g in raw.get("groups", {}).items()}
    where = str(path)
    return Mapping(
        id_prefix=str(raw["id_prefix"]),
        countries={str(k): str(v) for k, v in raw["countries"].items()},
        entities=tuple(_rule(r, groups, schema, where) for r in raw["entities"]),
        links=tuple(_rule(r, groups, schema, where) for r in raw.get("links", [])),
    )


def keywords(schema: Schema) -> dict[URIRef, str]:
    """Term -> the keyword a seed file writes for it (kbo:Confirmed -> confirmed)."""
    out: dict[URIRef, str] = {}
    for spec in [*schema.entities.values(), *schema.facts.values()]:
        for f in spec.fields.values():
            for kw, curie in sorted(f.values.items()):
                out.setdefault(URIRef(schema.expand(curie)), kw)
    for table in (schema.roles, schema.stances, schema.qualifiers):
        for kw, curie in sorted(table.items()):
            out.setdefault(URIRef(schema.expand(curie)), kw)
    return out


def record_types(schema: Schema) -> dict[URIRef, str]:
    """Record class -> the `type:` a seed file writes for it (kbo:Contact -> contact)."""
    specs = [*schema.entities.values(), *schema.facts.values()]
    return {URIRef(schema.expand(spec.cls)): spec.name for spec in specs}


def superclasses(ontology: Graph) -> dict[Node, set[Node]]:
    """Class -> itself and every class it is a subclass of (transitively)."""
    direct: dict[Node, set[Node]] = {}
    for c, sup in ontology.subject_objects(RDFS.subClassOf):
        direct.setdefault(c, set()).add(sup)
    closure: dict[Node, set[Node]] = {}
    for c in direct:
        seen, todo = {c}, [c]
        while todo:
            for sup in direct.get(todo.pop(), ()):
                if sup not in seen:
                    seen.add(sup)
                    todo.append(sup)
        closure[c] = seen
    return closure


def ftm_date(g: Graph, node: Node, kbo: Namespace) -> str | None:
    """An FtM date for a KB date node: as reported if exact, else the unit its bounds span."""
    reported = g.value(node, kbo.reported)
    if reported is not None and g.value(node, kbo.qualifier) == kbo.Exact:
        text = str(reported)
        if "T" in text:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if dt.tzinfo is not None:
                dt = dt.astimezone(UTC)
            seconds = re.search(r"T\d\d:\d\d:\d\d", text) is not None
            return dt.strftime("%Y-%m-%dT%H:%M:%S" if seconds else "%Y-%m-%dT%H:%M")
        return text
    lo, hi = g.value(node, kbo.earliest), g.value(node, kbo.latest)
    if lo is None or hi is None:
        return None
    return span_date(date.fromisoformat(str(lo)), date.fromisoformat(str(hi)))


def span_date(lo: date, hi: date) -> str | None:
    """The day, month or year that runs exactly from lo to hi, if there is one."""
    if lo == hi:
        return lo.isoformat()
    if lo.day == 1 and (hi + timedelta(days=1)).day == 1 and (lo.year, lo.month) == (
            hi.year, hi.month):
        return lo.strftime("%Y-%m")
    if (lo.month, lo.day, hi.month, hi.day) == (1, 1, 12, 31) and lo.year == hi.year:
        return str(lo.year)
    return None


class _Mapper:
    def __init__(self, graph: Graph, ontology: Graph, mapping: Mapping, schema: Schema):
        self.g = graph
        self.m = mapping
        self.kbo = Namespace(schema.kbo)
        self.keywords = keywords(schema)
        self.record_types = record_types(schema)
        self.sup = superclasses(ontology)
        self.base = schema.base + "id/"
        self.records = sorted(s for s in graph.subjects(self.kbo.identifier, None)
                              if isinstance(s, URIRef))
        self.rule = {r: self._primary(r) for r in self.records}

    # -- which rule, which id

    def classes(self, node: Node) -> set[Node]:
        out: set[Node] = set()
        for c in self.g.objects(node, RDF.type):
            out |= self.sup.get(c, {c})
        return out

    def _matches(self, rule: Rule, node: URIRef, classes: set[Node]) -> bool:
        return (any(c in classes for c in rule.classes)
                and all((node, p, None) in self.g for p in rule.require))

    def _primary(self, node: URIRef) -> Rule | None:
        classes = self.classes(node)
        return next((r for r in self.m.entities if self._matches(r, node, classes)), None)

    def kb_id(self, node: Node) -> str:
        return str(self.g.value(node, self.kbo.identifier) or str(node)[len(self.base):])

    def ftm_id(self, *ids: str) -> str:
        out = f"{self.m.id_prefix}-" + ".".join(i.replace("_", "-") for i in ids)
        if not FTM_ID.match(out):
            raise ValueError(f"{ids}: makes the FtM id {out!r}, which FtM does not allow")
        return out

    def ref_ids(self, node: Node) -> list[str]:
        """The FtM id of the entity a record is exported as (none if not exported whole)."""
        rule = self.rule.get(node)
        if rule is None or rule.schema is None or rule.one_per is not None:
            return []
        return [self.ftm_id(self.kb_id(node))]

    # -- value sources

    def objects(self, node: URIRef, path: tuple[URIRef, ...] | None,
                split: tuple[URIRef, Node] | None) -> list[Node]:
        if path is None:
            return [node]
        nodes: list[Node] = [node]
        for i, p in enumerate(path):
            if i == 0 and split is not None and p == split[0]:
                nodes = [split[1]]
                continue
            nodes = [o for n in nodes for o in sorted(self.g.objects(n, p))]
        return nodes

    def name(self, node: Node) -> str | None:
        for p in (SDO.name, DCTERMS.title, RDFS.label):
            v = self.g.value(node, p)
            if v is not None:
                return str(v)
        return None

    def country(self, node: Node, seen: frozenset = frozenset()) -> str | None:
        if node in seen or not isinstance(node, URIRef):
            return None
        code = self.m.countries.get(self.kb_id(node))
        if code:
            return code
        for p in (self.kbo.country, self.kbo.within):
            nxt = self.g.value(node, p)
            if nxt is not None:
                return self.country(nxt, seen | {node})
        return None

    def place(self, node: Node) -> str:
        names, seen = [], set()
        while node is not None and node not in seen:
            seen.add(node)
            names.append(self.name(node) or self.kb_id(node))
            node = self.g.value(node, self.kbo.within)
        return ", ".join(names)

    def claim_line(self, claim: Node) -> str:
        stance = self.keywords.get(self.g.value(claim, self.kbo.stance), "asserts")
        source = self.g.value(claim, self.kbo.source)
        loc = self.g.value(claim, self.kbo.locator)
        para = self.g.value(loc, self.kbo.paragraph)
        quote = self.g.value(self.g.value(loc, OA.hasSelector), OA.exact)
        line = f"{stance}: source {self.kb_id(source)}, paragraph {para}"
        if quote is not None:
            line += f', "{quote}"'
        words = [self.attribution(a)
                 for a in sorted(self.g.objects(claim, PROV.qualifiedAttribution))]
        if words:
            line += "; according to " + "; ".join(words)
        return line

    def attribution(self, att: Node) -> str:
        kinds = set(self.g.objects(att, RDF.type))
        agent = self.g.value(att, PROV.agent) or self.g.value(att, self.kbo.attributedTo)
        if self.kbo.AnonymousAttribution in kinds:
            count = self.g.value(att, self.kbo.sourceCount)
            desc = str(self.g.value(att, self.kbo.sourceDescription))
            return f"unnamed: {desc}" + (f" ({count})" if count is not None else "")
        if self.kbo.OutletAttribution in kinds:
            name = self.name(agent) if (att, PROV.agent, None) in self.g else None
            return f"the outlet ({name})" if name else "the outlet"
        if self.kbo.CuratorsAttribution in kinds:  # an inference of the KB's curators
            return "the curators"
        return (self.name(agent) or self.kb_id(agent)) if agent is not None else "unknown"

    def values(self, src: Source, node: URIRef, split: tuple[URIRef, Node] | None) -> list[str]:
        kind, arg = src
        if kind == "first":
            for sub in arg:
                vals = self.values(sub, node, split)
                if vals:
                    return vals
            return []
        if kind == "all":
            return [v for sub in arg for v in self.values(sub, node, split)]
        if kind == "const":
            return [arg]
        if kind == "template":
            return [arg.format(id=self.kb_id(node))]
        if kind == "claims":
            return [self.claim_line(c) for c in sorted(self.g.objects(node, self.kbo.claim))]
        if kind == "sources":
            srcs = {s for c in self.g.objects(node, self.kbo.claim)
                    for s in self.g.objects(c, self.kbo.source)}
            return [i for s in sorted(srcs) for i in self.ref_ids(s)]
        if kind == "roles":
            out = []
            for part in sorted(self.g.objects(node, self.kbo.participation)):
                if self.keywords.get(self.g.value(part, self.kbo.role)) in arg:
                    out += self.ref_ids(self.g.value(part, self.kbo.actor))
            return out
        objs = self.objects(node, arg, split)
        if kind == "text":
            return [str(o) for o in objs if isinstance(o, Literal)]
        if kind == "iri":
            return [str(o) for o in objs if isinstance(o, URIRef)]
        if kind == "ref":
            return [i for o in objs for i in self.ref_ids(o)]
        if kind == "name":
            return [n for o in objs if (n := self.name(o))]
        if kind == "country":
            return [c for o in objs if (c := self.country(o))]
        if kind == "place":
            return [self.place(o) for o in objs]
        if kind == "date":
            return [d for o in objs if (d := ftm_date(self.g, o, self.kbo))]
        if kind == "keyword":
            return [self.keywords[o] for o in objs if o in self.keywords]
        if kind == "record_type":
            return [self.record_types[t] for o in objs for t in self.g.objects(o, RDF.type)
                    if t in self.record_types]
        if kind == "qid":
            return [str(o)[len(str(WIKIDATA)):] for o in objs
                    if str(o).startswith(str(WIKIDATA))]
        raise AssertionError(kind)

    # -- entities

    def entity(self, rule: Rule, node: URIRef, ident: str,
               split: tuple[URIRef, Node] | None) -> dict[str, Any]:
        props: dict[str, list[str]] = {}
        for prop, src in rule.properties.items():
            vals = sorted(set(self.values(src, node, split)))
            if vals:
                props[prop] = vals
        return {"id": ident, "schema": rule.schema, "properties": props}

    def entities(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for node in self.records:
            rule = self.rule[node]
            rid = self.kb_id(node)
            if rule is not None and rule.schema is not None:
                if rule.one_per is None:
                    out.append(self.entity(rule, node, self.ftm_id(rid), None))
                else:
                    for v in sorted(self.g.objects(node, rule.one_per)):
                        out.append(self.entity(rule, node, self.ftm_id(rid, self.kb_id(v)),
                                               (rule.one_per, v)))
            classes = self.classes(node)
            for link in self.m.links:
                if link.one_per is None or not self._matches(link, node, classes):
                    continue
                for v in sorted(self.g.objects(node, link.one_per)):
                    e = self.entity(link, node, self.ftm_id(rid, str(link.name), self.kb_id(v)),
                                    (link.one_per, v))
                    if set(e["properties"]) == set(link.properties):  # both ends exported
                        out.append(e)
        ids = [e["id"] for e in out]
        if len(ids) != len(set(ids)):
            dup = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"KB ids that differ only in '_' and '-' clash as FtM ids: {dup}")
        return sorted(out, key=lambda e: e["id"])


def entities(graph: Graph, ontology: Graph, mapping: Mapping | None = None) -> list[dict]:
    """The KB as FtM entity dicts ({"id", "schema", "properties"}), sorted by id."""
    return _Mapper(graph, ontology, mapping or load_mapping(), load_schema()).entities()


def ftm_lines(graph: Graph, ontology: Graph, mapping: Mapping | None = None) -> bytes:
    """JSON lines, one entity per line, keys and values sorted: byte-stable."""
    lines = [json.dumps(e, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
             for e in entities(graph, ontology, mapping)]
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""

