"""rdflib's longturtle layout, written block by block: the same bytes as `kb.export.turtle`.

rdflib serialises 10^6 triples in minutes. This writer produces one text block per subject as
the subject's triples become known (so blocks can be cached and reused), and joins them in
rdflib's order: `rdfs:Class` instances first, then by how often a subject is used as an
object, then by IRI. Terms are written by rdflib's own code (`Literal._literal_n3`, and
`compute_qname` whenever the fast IRI split below is not certain to agree), so the output is
rdflib's by construction; tests compare the bytes. Graphs with blank nodes are left to rdflib.
"""

from __future__ import annotations

import itertools
import os
import re
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rdflib import RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.namespace import XMLNS
from rdflib.plugins.serializers.longturtle import LongTurtleSerializer
from rdflib.term import Node

Entry = tuple[str, bool, int, int]  # a block in the block file: subject, class?, offset, size

_NAME_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._%()"
_TYPE, _LABEL, _NIL, _CLASS = str(RDF.type), str(RDFS.label), str(RDF.nil), str(RDFS.Class)
_SPLIT_START = re.compile(r"[A-Za-z0-9_]")
_PCT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_IRREGULAR_END = re.compile(r"[A-Za-z0-9\-._%()]\Z")


@dataclass
class Block:
    """One subject's text, and what the document needs to know about it."""

    subject: str
    text: str
    is_class: bool  # an rdfs:Class instance: rdflib writes these first


class Namer:
    """Prefixed names exactly as rdflib's longturtle serializer chooses them."""

    def __init__(self, like: Graph):
        g = Graph(bind_namespaces="none")
        for prefix, ns in like.namespaces():
            g.bind(prefix, ns, override=True, replace=True)
        self._ser = LongTurtleSerializer(g)
        self._ser.reset()
        self._prefix_of = {str(ns): p for p, ns in g.namespaces()}
        self._irregular = tuple(ns for ns in self._prefix_of if _IRREGULAR_END.search(ns))
        self._irregular += (str(XMLNS),)
        self._cache: dict[str, str | None] = {}
        self._labels: dict[str, str] = {}
        self._bound = frozenset(self._prefix_of.values())
        self.used: dict[str, str] = {}  # prefix -> namespace, for the PREFIX lines
        self.seen: set[str] = set()  # prefixes used since the caller last cleared it

    def _slow(self, iri: str, gen: bool) -> str | None:
        before = dict(self._ser.namespaces)
        name = self._ser.get_pname(URIRef(iri), gen)
        if self._ser.namespaces != before:
            self.used.update({p: str(n) for p, n in self._ser.namespaces.items()})
        return name

    def made_up(self) -> bool:
        """Whether rdflib made up a prefix (ns1...) for an unbound namespace: the name then
        depends on the order records were named in."""
        return any(p not in self._bound for p in self.used)

    def pname(self, iri: str, gen: bool = False) -> str | None:
        """rdflib's get_pname(iri, gen): a prefixed name, or None for <iri>."""
        name = self._fast(iri)
        if name is False or (name is None and gen):  # rdflib may make up a prefix for a verb
            key = ("g" if gen else "n") + iri
            if key not in self._cache:
                self._cache[key] = self._slow(iri, gen)
            name = self._cache[key]
        if name is not None:
            self.seen.add(name.split(":", 1)[0])  # type: ignore[union-attr]
        return name  # type: ignore[return-value]

    def _fast(self, iri: str) -> str | None | bool:
        """The answer when it cannot differ from rdflib's, else False."""
        if not iri.isascii() or iri.startswith(self._irregular):
            return False
        k = len(iri.rstrip(_NAME_CHARS))
        if k == 0:
            return False
        m = _SPLIT_START.search(iri, k)
        if m is None:
            return False
        ns, local = iri[:m.start()], iri[m.start():]
        prefix = self._prefix_of.get(ns)
        if prefix is None:
            return None
        if prefix.startswith("_"):
            return False
        local = _PCT.sub("\\%", local.replace("(", r"\(").replace(")", r"\)"))
        if local.endswith("."):
            return None
        self.used[prefix] = ns
        return f"{prefix}:{local}"

    def term(self, node: Node, verb: bool = False) -> str:
        if type(node) is URIRef:
            iri = str.__str__(node)
            if verb and iri == _TYPE:
                return "a"
            label = self._labels.get(iri)
            if label is not None and label[0] != "<" and ":" in label:
                self.seen.add(label.split(":", 1)[0])
            if label is None:
                name = self.pname(iri, verb)
                label = "()" if iri == _NIL else name or node.n3()
                if len(self._labels) >= 300_000:
                    self._labels.clear()
                if label != "()":
                    self._labels[iri] = label
            return label
        if isinstance(node, Literal):
            if node.datatype is None:
                return node._literal_n3() if node.language else node._quote_encode()
            self.pname(str(node.datatype))  # rdflib declares the prefix even for plain 1, true
            return node._literal_n3(use_plain=True,
                                    qname_callback=lambda dt: self.pname(str(dt)))
        if verb and node == RDF.type:
            return "a"
        name = self.pname(str(node), verb)
        if node == RDF.nil:
            return "()"
        return name or node.n3()

    @staticmethod
    def header_of(namespaces: dict[str, str], prefixes: Iterable[str]) -> str:
        return "".join(f"PREFIX {p}: <{namespaces[p]}>\n" for p in sorted(set(prefixes)))

    def header(self, prefixes: Iterable[str] | None = None) -> str:
        """The PREFIX lines (for the given prefixes; default: all used so far)."""
        names = self.used if prefixes is None else {p: self.used[p] for p in prefixes}
        return "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in sorted(names.items()))


def _order(pred: URIRef) -> tuple[int, str]:
    p = str.__str__(pred)
    return (0 if p == _TYPE else 1 if p == _LABEL else 2, p)


def block(namer: Namer, subject: URIRef, props: dict[URIRef, list[Node]]) -> Block:
    """One subject in longturtle layout (its objects already de-duplicated)."""
    lines = []
    for pred in sorted(props, key=_order):
        objs = props[pred]
        verb = namer.term(pred, verb=True)
        if len(objs) == 1:
            lines.append(f"    {verb} {namer.term(objs[0])}")
        else:
            items = " ,\n        ".join(namer.term(o) for o in sorted(objs))  # type: ignore[type-var]
            lines.append(f"    {verb}\n        {items}")
    is_class = any(str.__str__(o) == _CLASS for p, objs in props.items()
                   if str.__str__(p) == _TYPE for o in objs)
    text = f"\n{namer.term(subject)}\n" + " ;\n".join(lines) + " ;\n.\n"
    return Block(str(subject), text, is_class)


class BlockFile:
    """Blocks spilled to a file as they are made (10^6 subjects do not fit in memory as
    Python strings), then written out in rdflib's order."""

    def __init__(self, path: Path, append: bool = False):
        self.path = path
        self._fh = open(path, "ab" if append else "wb")  # noqa: SIM115 - closed in close()
        self.size = self._fh.tell()
        self.runs = 0  # reads the last `assemble` took
        self.starts = array("q")  # where they began (positions in its order)

    def add(self, b: Block) -> Entry:
        data = b.text.encode("utf-8")
        entry = (b.subject, b.is_class, self.size, len(data))
        self._fh.write(data)
        self.size += len(data)
        return entry

    def close(self) -> None:
        self._fh.close()

    def document(self, header: str, entries: Iterable[Entry], refs: dict[str, int]) -> bytes:
        """PREFIX lines, then the blocks in rdflib's order (`in_order`)."""
        ordered = in_order(entries, refs)
        offsets, sizes = array("q", (e[2] for e in ordered)), array("q", (e[3] for e in ordered))
        del ordered
        return self.assemble(header, offsets, sizes)

    def assemble(self, header: str, offsets: Sequence[int], sizes: Sequence[int],
                 starts: Sequence[int] | None = None) -> bytes:
        """PREFIX lines, then the blocks at these offsets, read from the file: one read per run
        of blocks stored one after another (all of them, once the file is in document order).
        `starts`: where runs may begin (sorted, 0 first; each run's blocks stored one after
        another), if the caller knows; else they are found. Kept in `self.starts`."""
        self._fh.flush()
        self.starts = runs_of(offsets, sizes) if starts is None else array("q", starts)
        self.runs = len(self.starts)
        head = header.encode("utf-8")
        out = bytearray(len(head) + sum(sizes))  # one copy of the whole file
        out[:len(head)] = head
        dest, pos = memoryview(out), len(head)
        bounds = [*self.starts, len(sizes)] if len(sizes) else []
        with open(self.path, "rb", buffering=0) as fh:  # reads, not an mmap, whose pages
            for a, b in itertools.pairwise(bounds):       # count as resident memory
                n = sum(sizes[a:b])
                fh.seek(offsets[a])
                fh.readinto(dest[pos:pos + n])
                pos += n
        dest.release()
        return out  # type: ignore[return-value]


def runs_of(offsets: Sequence[int], sizes: Sequence[int]) -> array:
    """The positions where a run of blocks stored one after another begins (0 first)."""
    out = array("q")
    end = None
    for k, (off, n) in enumerate(zip(offsets, sizes, strict=True)):
        if off != end:
            out.append(k)
        end = off + n
    return out


def in_order(entries: Iterable[Entry], refs: dict[str, int]) -> list[Entry]:
    """rdflib's orderSubjects: rdfs:Class instances by IRI, the others by how often they are
    used as objects, then IRI."""
    items = list(entries)
    classes = sorted((e for e in items if e[1]), key=lambda e: e[0])
    rest = [e for e in items if not e[1]]
    del items
    # by IRI, then (stable) by use count: the order of the key (count, IRI), without a key
    # tuple for each of 10^6 subjects
    rest.sort(key=lambda e: e[0])
    rest.sort(key=lambda e: refs.get(e[0], 0))
    classes += rest
    return classes


def renumber(ordered: Sequence[Entry]) -> dict[str, int]:
    """Each subject's offset once the blocks are stored in this order (`store_in_order`)."""
    out, pos = {}, 0
    for subject, _, _, n in ordered:
        out[subject] = pos
        pos += n
    return out


def store_in_order(path: Path, document: bytes, header: str) -> None:
    """Keep the block file as the document's blocks, in its order (offsets: `renumber`), so
    the next `assemble` reads it in a few runs."""
    tmp = path.with_suffix(".new")
    skip = len(header.encode("utf-8"))
    with open(tmp, "wb") as fh:
        fh.write(memoryview(document)[skip:])
    os.replace(tmp, path)


def document(namer: Namer, blocks: list[Block], refs: dict[str, int]) -> bytes:
    """The whole file from blocks in memory (small graphs, tests)."""
    classes = sorted((b for b in blocks if b.is_class), key=lambda b: b.subject)
    rest = sorted((b for b in blocks if not b.is_class),
                  key=lambda b: (refs.get(b.subject, 0), b.subject))
    return "".join([namer.header()] + [b.text for b in classes + rest]).encode("utf-8")


def has_bnodes(triples: Iterable[tuple[Node, Node, Node]]) -> bool:
    return any(isinstance(s, BNode) or isinstance(o, BNode) for s, _, o in triples)
