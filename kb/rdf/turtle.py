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

from kb.core.files import Spliced

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
        if not append:  # a new file: documents of the old one keep reading it
            path.unlink(missing_ok=True)
        self._fh = open(path, "ab")  # noqa: SIM115 - closed in close()
        self.size = self._fh.tell()
        self.runs = 0  # runs of the last `document`
        self.starts = array("q")  # where they began (positions in its order)

    def add(self, b: Block) -> Entry:
        data = b.text.encode("utf-8")
        entry = (b.subject, b.is_class, self.size, len(data))
        self._fh.write(data)
        self.size += len(data)
        return entry

    def close(self) -> None:
        self._fh.close()

    def document(self, header: str, offsets: Sequence[int], sizes: Sequence[int],
                 starts: Sequence[int] | None = None) -> Spliced:
        """kb.ttl: PREFIX lines, then the blocks at these offsets, as runs of blocks stored one
        after another in this file (one run, once the file is in document order), the file
        held open. `starts`: where runs may begin (sorted, 0 first), if the caller knows;
        else they are found. Kept in `self.starts`."""
        self._fh.flush()
        self.starts = runs_of(offsets, sizes) if starts is None else array("q", starts)
        self.runs = len(self.starts)
        bounds = [*self.starts, len(sizes)] if len(sizes) else []
        runs = [(offsets[a], sum(sizes[a:b])) for a, b in itertools.pairwise(bounds)]
        return Spliced(header.encode("utf-8"), open(self.path, "rb", buffering=0), runs)


def runs_of(offsets: Sequence[int], sizes: Sequence[int]) -> array:
    """The positions where a run of blocks stored one after another begins (0 first)."""
    out = array("q")
    end = None
    for k, (off, n) in enumerate(zip(offsets, sizes, strict=True)):
        if off != end:
            out.append(k)
        end = off + n
    return out


def store_in_order(path: Path, document: Spliced) -> None:
    """Keep the block file as the document's blocks, in its order (offsets:
    kb.rdf.stream.renumber_blocks), so the next `document` is one run. A new file renamed
    into place: documents made before keep reading the old one."""
    tmp = path.with_suffix(".new")
    with open(tmp, "wb", buffering=0) as out:
        document.write_to(out.fileno(), head=False)
    os.replace(tmp, path)


def document(namer: Namer, blocks: list[Block], refs: dict[str, int]) -> bytes:
    """The whole file from blocks in memory (small graphs, tests)."""
    classes = sorted((b for b in blocks if b.is_class), key=lambda b: b.subject)
    rest = sorted((b for b in blocks if not b.is_class),
                  key=lambda b: (refs.get(b.subject, 0), b.subject))
    return "".join([namer.header()] + [b.text for b in classes + rest]).encode("utf-8")


def has_bnodes(triples: Iterable[tuple[Node, Node, Node]]) -> bool:
    return any(isinstance(s, BNode) or isinstance(o, BNode) for s, _, o in triples)
