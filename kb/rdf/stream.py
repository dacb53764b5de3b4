"""The loader's own mapping to RDF, one record at a time, without an rdflib graph.

`kb.load._Builder` stays the single statement of how seeds become triples; `Collector` only
changes where its triples go (a list per record, not one big rdflib Graph, which costs about
1 KB and 10 us a triple). Each record's triples become an `Output`: N-Triples for Oxigraph and
longturtle blocks for dist/kb.ttl. `FastLoaded` is a `Loaded` whose rdflib graph (and full
seed set) is only built if some caller asks for it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
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


@dataclass(slots=True)
class Meta:
    """What the cache keeps of a record between builds (slots: 10^5 of them)."""

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
    blocks: array  # per subject, in `subjects` order: its block's offset in the block file,
    # then its size, negated for an rdfs:Class instance (10^6 tuples of four cost ~200 MB)
    prefixes: tuple[str, ...]  # the prefixes its blocks use
    origin: tuple[tuple[str, str], ...]
    source_of: tuple[tuple[str, tuple[str, ...]], ...]
    at: array | None = None  # per subject, its block's index in kb.ttl's order (set by the cache)


@dataclass(slots=True)
class Mapped:
    """One record mapped: its output and, per subject, where the seeds state it (origin) and
    the sources of a fact or claim (source_of)."""

    out: Output
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


def release_memory() -> None:
    """Hand memory freed by a stage back to the OS. glibc keeps what Oxigraph's threads (bulk
    loads, queries) and a stage's temporaries freed in its arenas, where it still counts as
    resident (≈300 MB after validating 5.8 M triples); without glibc this does nothing."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@cache
def _malloc_trim() -> Any:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


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
        self._shared: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._loader: ThreadPoolExecutor | None = None  # loads a full batch while mapping goes on
        self._loading: Future | None = None

    def add(self, rec: Record, to_store: bool = True) -> tuple[Meta, Output]:
        mapped = self.map(rec)
        return self.take(rec, mapped, to_store), mapped.out

    def map(self, rec: Record) -> Mapped:
        """A record's triples and what the collector noted of its nodes: the part of `add`
        that reads only the seeds, so worker processes can do it (kb.build.fork_map)."""
        self.namer.seen = set()
        out = output(rec.id, self.col.triples(rec), self.namer, self.base)
        origin, src = self.col.origin, self.col.source_of
        nodes = [(s, URIRef(s)) for s in out.subjects]
        return Mapped(out, tuple(sorted(self.namer.seen)),
                      tuple((s, origin[n]) for s, n in nodes if n in origin),
                      tuple((s, tuple(sorted(src[n]))) for s, n in nodes if n in src))

    def take(self, rec: Record, mapped: Mapped, to_store: bool = True) -> Meta:
        """Add a mapped record to the build: its triples to the store, its blocks to the
        block file; what the cache keeps of it."""
        out = mapped.out
        self.refs.update(map(intern, out.objects))
        self.ill_typed += out.ill_typed
        self.triples += out.triples
        if to_store:
            self._batch.append(out.nt)
            self._size += len(out.nt)
            if self._size > self.BATCH:
                self.flush(wait=False)
        # one string per IRI, however many places keep it (10^6 of them at 10^5 facts)
        return Meta(rec.file, rec.line, rec.type, rec.spec.is_fact,
                    sig_of(rec.type, rec.spec.is_fact, rec.values.get("publisher")),
                    tuple(map(intern, deps_of(rec))), tuple(map(intern, out.subjects)),
                    tuple(map(intern, out.links)), out.digest, out.triples,
                    self._place(out.blocks), self._prefixes(mapped.prefixes),
                    tuple((intern(s), o) for s, o in mapped.origin),
                    tuple((intern(s), src) for s, src in mapped.source_of))

    def _place(self, blocks: list[Block]) -> array:
        """Write the blocks to the block file; where they went (Meta.blocks)."""
        out = array("q")
        for b in blocks:
            _, is_class, offset, size = self.blocks.add(b)
            out.append(offset)
            out.append(-size if is_class else size)
        return out

    def _prefixes(self, used: tuple[str, ...]) -> tuple[str, ...]:
        """One tuple for every record using the same prefixes."""
        return self._shared.setdefault(used, used)

    def stop_loading(self) -> None:
        """Let a running bulk load end and its thread go (a build that failed mid-way)."""
        if self._loader is not None:
            self._loader.shutdown()
            self._loader, self._loading = None, None

    def flush(self, wait: bool = True) -> None:
        """Bulk load the batch into the store; with wait=False on a thread of its own (Oxigraph
        loads without holding the GIL), so mapping goes on meanwhile; one load at a time."""
        if self._loading is not None:
            self._loading.result()  # its error, if any, is raised here
            self._loading = None
            release_memory()  # what the bulk loader's threads freed
        if self._batch:
            data = "".join(self._batch).encode()
            self._batch, self._size = [], 0
            if wait:
                self.store.bulk_load(data, format=ox.RdfFormat.N_TRIPLES)
                release_memory()
            else:
                if self._loader is None:
                    self._loader = ThreadPoolExecutor(1, thread_name_prefix="kb-bulk-load")
                self._loading = self._loader.submit(
                    self.store.bulk_load, data, format=ox.RdfFormat.N_TRIPLES)
        if wait and self._loader is not None:
            self._loader.shutdown()
            self._loader = None


def document_order(metas: Iterable[Meta], refs: Mapping[str, int]
                   ) -> tuple[array, array, list[int]]:
    """The blocks in kb.ttl's order (rdflib's orderSubjects: rdfs:Class instances by IRI, then the
    other subjects by use count, then IRI): their offsets and sizes in the block file, and
    for each its index among all blocks in `metas` order."""
    subjects: list[str] = []
    flat = array("q")
    for m in metas:
        subjects.extend(m.subjects)
        flat.extend(m.blocks)
    sizes = flat[1::2]
    del flat[1::2]
    order = sorted((i for i, n in enumerate(sizes) if n < 0), key=subjects.__getitem__)
    rest = sorted((i for i, n in enumerate(sizes) if n >= 0), key=subjects.__getitem__)
    rest.sort(key=lambda i: refs.get(subjects[i], 0))  # stable: by count, then IRI
    order += rest
    del rest
    return array("q", (flat[i] for i in order)), array("q", (abs(sizes[i]) for i in order)), \
        order


def renumber_blocks(metas: Iterable[Meta], order: list[int], sizes: array) -> None:
    """Point every block at where kb.ttl.store_in_order puts it (the document's order)."""
    at = array("q", bytes(8 * len(order)))
    pos = 0
    for i, n in zip(order, sizes, strict=True):
        at[i] = pos
        pos += n
    k = 0
    for m in metas:
        b = m.blocks
        for j in range(0, len(b), 2):
            b[j] = at[k]
            k += 1


def set_positions(metas: Iterable[Meta], order: list[int]) -> None:
    """Give every record's subjects their blocks' indices in kb.ttl's order (`document_order`'s
    `order`, over the same records in the same order)."""
    at = array("q", bytes(8 * len(order)))
    for k, i in enumerate(order):
        at[i] = k
    pos = 0
    for m in metas:
        n = len(m.subjects)
        m.at = at[pos:pos + n]
        pos += n


class ByRecord(Mapping):
    """Node -> what a Meta field (origin, source_of) says of it, looked up in the record the
    node's IRI names when asked, instead of a dict of every node made on each rebuild."""

    def __init__(self, metas: dict[str, Meta], base: str, name: str, kind: type):
        self.metas, self.base, self.name, self.kind = metas, base, name, kind

    def __getitem__(self, node: object) -> Any:
        s = str(node)
        m = self.metas.get(s[len(self.base):].split("/", 1)[0]) \
            if s.startswith(self.base) else None
        for n, value in getattr(m, self.name, ()):
            if n == s:
                return self.kind(value)
        raise KeyError(node)

    def __iter__(self) -> Iterator[URIRef]:
        return (URIRef(n) for m in self.metas.values() for n, _ in getattr(m, self.name))

    def __len__(self) -> int:
        return sum(len(getattr(m, self.name)) for m in self.metas.values())


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
