"""The loader's own mapping to RDF, one record at a time, without an rdflib graph.

`kb.load._Builder` stays the single statement of how seeds become triples; `Collector` only
changes where its triples go (a list per record, not one big rdflib Graph, which costs about
1 KB and 10 us a triple). Each record's triples become an `Output`: N-Triples for Oxigraph and
longturtle blocks for dist/kb.ttl. `FastLoaded` is a `Loaded` whose rdflib graph (and full
seed set) is only built if some caller asks for it.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from sys import intern
from typing import Any

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.term import Node

from kb.rdf.literals import ill_typed
from kb.rdf.mapping import Loaded, _Builder
from kb.rdf.turtle import Block, BlockFile, Namer, block
from kb.seeds.check import Record, SeedSet
from kb.seeds.schema import Schema

Triple = tuple[Node, Node, Node]


class Collector(_Builder):
    """The loader's builder, handing back each record's triples instead of filling a graph."""

    def __init__(self, schema: Schema, seeds: SeedSet):
        super().__init__(schema, seeds)
        self._current: list[Triple] = []

    def add(self, s: URIRef, p: URIRef, o: Node) -> None:
        self._current.append((s, p, o))

    def triples(self, rec: Record) -> list[Triple]:
        self._current = []
        self.record(rec)
        return self._current


def nt_term(t: Node) -> str:
    """A term in N-Triples (for Oxigraph; rdflib's lexical forms kept as they are)."""
    if isinstance(t, Literal):
        lex = str(t).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") \
            .replace("\r", "\\r")
        if t.language:
            return f'"{lex}"@{t.language}'
        if t.datatype is not None:
            return f'"{lex}"^^<{t.datatype}>'
        return f'"{lex}"'
    return f"<{t}>"


@dataclass
class Output:
    """What one record adds to the build: cached as is between builds."""

    rid: str
    nt: str  # its triples, N-Triples
    blocks: list[Block]  # its subjects in longturtle layout
    objects: list[str]  # IRIs it uses as objects, once per triple (orders the subjects)
    subjects: list[str]
    links: list[str]  # other records' nodes it points at (their types matter to the shapes)
    triples: int
    digest: str = ""  # content hash of nt
    ill_typed: list[str] = field(default_factory=list)  # N-Triples literals sh:datatype rejects


def output(rid: str, triples: list[Triple], namer: Namer, id_base: str) -> Output:
    """Group a record's triples by subject, then write them both ways."""
    by_s: dict[Node, dict[Node, list[Node]]] = {}
    for s, p, o in triples:
        props = by_s.get(s)
        if props is None:
            props = by_s[s] = {}
        objs = props.get(p)
        if objs is None:
            props[p] = [o]
        elif o not in objs:
            objs.append(o)
    subjects = [str(s) for s in by_s]
    own = set(subjects)
    nt: list[str] = []
    objects: list[str] = []
    bad: list[str] = []
    n = 0
    for s, props in by_s.items():
        ns = f"<{s}>"
        for p, objs in props.items():
            np = f"<{p}>"
            n += len(objs)
            for o in objs:
                term = nt_term(o)
                nt.append(f"{ns} {np} {term} .\n")
                if type(o) is URIRef:
                    objects.append(str(o))
                elif isinstance(o, Literal) and o.datatype is not None and ill_typed(o):
                    bad.append(term)
    links = sorted({o for o in objects if o not in own and o.startswith(id_base)})
    text = "".join(nt)
    blocks = [block(namer, s, props) for s, props in by_s.items()]  # type: ignore[arg-type]
    return Output(rid, text, blocks, objects, subjects, links, n,
                  hashlib.blake2b(text.encode(), digest_size=16).hexdigest(), bad)


@dataclass
class Meta:
    """What the cache keeps of a record between builds."""

    file: str
    line: int | None
    type: str
    is_fact: bool
    sig: tuple  # what records referring to it depend on: type, fact or not, publisher
    deps: tuple[str, ...]  # the ids it refers to
    subjects: tuple[str, ...]
    links: tuple[str, ...]
    digest: str
    triples: int
    blocks: list[tuple[str, bool, int, int]]  # in the block file: subject, class?, offset, size
    prefixes: tuple[str, ...]  # the prefixes its blocks use
    origin: tuple[tuple[str, str], ...]
    source_of: tuple[tuple[str, tuple[str, ...]], ...]


def sig_of(rtype: str, is_fact: bool, publisher: object) -> tuple:
    return (rtype, is_fact, publisher if rtype == "source" else None)


def deps_of(rec: Record) -> tuple[str, ...]:
    """The ids a record's checks and triples depend on (refs, actors, sources, attributions)."""
    out: set[str] = set()
    for fname, value in rec.values.items():
        kind = rec.spec.fields[fname].kind
        if kind == "ref":
            out.add(value)
        elif kind == "refs":
            out.update(value)
        elif kind == "participants":
            out.update(actor for actor, _ in value)
        elif kind == "sequence":
            out.update(target for target, _, _ in value)
    for c in rec.citations:
        out.add(c.source)
        out.update(a.ref for a in c.attributions if a.ref)
    return tuple(sorted(out))


class Mapper:
    """Maps records one by one, streaming their N-Triples into an Oxigraph store and their
    Turtle blocks into a block file."""

    BATCH = 16_000_000  # characters of N-Triples per bulk load

    def __init__(self, schema: Schema, seeds: SeedSet, store: Any, blocks: BlockFile):
        self.col = Collector(schema, seeds)
        self.namer = Namer(self.col.g)
        self.base = schema.base + "id/"
        self.store = store
        self.blocks = blocks
        self.refs: Counter[str] = Counter()
        self.ill_typed: list[str] = []
        self.triples = 0
        self._batch: list[str] = []
        self._size = 0

    def add(self, rec: Record, to_store: bool = True) -> tuple[Meta, Output]:
        self.namer.seen = set()
        out = output(rec.id, self.col.triples(rec), self.namer, self.base)
        self.refs.update(map(intern, out.objects))
        self.ill_typed += out.ill_typed
        self.triples += out.triples
        if to_store:
            self._batch.append(out.nt)
            self._size += len(out.nt)
            if self._size > self.BATCH:
                self.flush()
        origin, src = self.col.origin, self.col.source_of
        # one string per IRI, however many places keep it (10^6 of them at 10^5 facts)
        subjects = tuple(map(intern, out.subjects))
        nodes = [(s, URIRef(s)) for s in subjects]
        meta = Meta(rec.file, rec.line, rec.type, rec.spec.is_fact,
                    sig_of(rec.type, rec.spec.is_fact, rec.values.get("publisher")),
                    tuple(map(intern, deps_of(rec))), subjects, tuple(map(intern, out.links)),
                    out.digest, out.triples,
                    [(s, *self.blocks.add(b)[1:]) for s, b in zip(subjects, out.blocks,
                                                                 strict=True)],
                    tuple(sorted(self.namer.seen)),
                    tuple((s, origin[n]) for s, n in nodes if n in origin),
                    tuple((s, tuple(sorted(src[n]))) for s, n in nodes if n in src))
        return meta, out

    def flush(self) -> None:
        if self._batch:
            self.store.bulk_load("".join(self._batch).encode(), format=ox.RdfFormat.N_TRIPLES)
            self._batch, self._size = [], 0


class FastLoaded(Loaded):
    """A Loaded whose rdflib graph and seed set are made on first use (exactly as kb.load
    would make them), so a build that never needs them never pays for them."""

    def __init__(self, seeds: Callable[[], SeedSet] | SeedSet, origin: dict[URIRef, str],
                 source_of: dict[URIRef, set[str]], triples: int, schema: Schema,
                 files: list[str]):
        self._seeds = seeds
        self._graph: Graph | None = None
        self._schema = schema
        self.origin = origin
        self.source_of = source_of
        self.triples = triples
        self.files = files

    @property  # type: ignore[override]
    def seeds(self) -> SeedSet:
        if callable(self._seeds):
            self._seeds = self._seeds()
        return self._seeds

    @seeds.setter
    def seeds(self, value: SeedSet) -> None:
        self._seeds = value

    @property  # type: ignore[override]
    def graph(self) -> Graph:
        if self._graph is None:
            self._graph = _Builder(self._schema, self.seeds).build().graph
        return self._graph

    @graph.setter
    def graph(self, value: Graph) -> None:
        self._graph = value
