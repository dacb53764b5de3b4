"""Deltas between two versions of the KB: RDF Patch (Apache Jena RDF Delta) and SPARQL Update.

A patch is two sorted sets of N-Triples rows (`<s> <p> <o>`, no final dot): the triples to
delete and the triples to add. Written as RDF Patch:

    H id <https://kb.example.org/id/dataset/release/1.1.0> .
    H prev <https://kb.example.org/id/dataset/release/1.0.0> .
    TX .
    D <s> <p> <o> .
    A <s> <p> <o> .
    TC .

and as one SPARQL Update (`DELETE DATA` then `INSERT DATA`, into one named graph). Terms
are re-serialised from parsed terms, never pasted from input, so a row cannot smuggle SPARQL
into an update. The KB has no blank nodes, so rows compare as strings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kb.core.errors import InputError, Problem


@dataclass(frozen=True)
class Patch:
    """From `prev` (None: from an empty graph) to `id`: delete `deletes`, then add `adds`."""

    id: str
    prev: str | None
    deletes: tuple[str, ...]
    adds: tuple[str, ...]


def row(triple: ox.Triple) -> str:
    """A triple as an N-Triples row without the final dot."""
    return f"{triple.subject} {triple.predicate} {triple.object}"


def _rows(triples: Iterable[ox.Triple]) -> set[str]:
    # Oxigraph writes the N-Triples (as row() would, faster than a str() per term).
    data = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).decode("utf-8")
    return {line[:-2] for line in data.split("\n") if line}


def rows_of_bytes(data: bytes) -> set[str]:
    """The triples of a Turtle document as N-Triples rows. Raises SyntaxError on bad RDF."""
    return _rows(ox.parse(data, format=ox.RdfFormat.TURTLE))


def rows_of(path: Path) -> set[str]:
    """The triples of a Turtle (or .nt) file as N-Triples rows. Raises InputError on bad RDF."""
    fmt = ox.RdfFormat.N_TRIPLES if path.suffix == ".nt" else ox.RdfFormat.TURTLE
    try:
        return _rows(ox.parse(path=str(path), format=fmt))
    except SyntaxError as exc:
        raise InputError(Problem(str(path), None, None, f"not valid RDF: {exc}")) from None
    except OSError as exc:
        raise InputError(Problem(str(path), None, None, f"cannot read: {exc.strerror}")) \
            from None


def diff(old: set[str], new: set[str], id: str, prev: str | None) -> Patch:
    """The patch that turns `old` into `new`."""
    return Patch(id, prev, tuple(sorted(old - new)), tuple(sorted(new - old)))


def compose(patches: Iterable[Patch]) -> Patch:
    """One patch with the effect of applying `patches` in order (each one's prev the last id)."""
    items = list(patches)
    if not items:
        raise ValueError("no patch to compose")
    deletes: set[str] = set()
    adds: set[str] = set()
    for p in items:
        d, a = set(p.deletes), set(p.adds)
        adds = (adds - d) | a
        deletes = (deletes | d) - adds
    return Patch(items[-1].id, items[0].prev, tuple(sorted(deletes)), tuple(sorted(adds)))


def _iri(value: str) -> str:
    return str(ox.NamedNode(value))


def to_rdf_patch(patch: Patch) -> bytes:
    """The patch as RDF Patch text: header, one transaction, D rows then A rows, sorted."""
    lines = [f"H id {_iri(patch.id)} ."]
    if patch.prev:
        lines.append(f"H prev {_iri(patch.prev)} .")
    lines.append("TX .")
    lines += [f"D {r} ." for r in patch.deletes]
    lines += [f"A {r} ." for r in patch.adds]
    lines.append("TC .")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _parse_row(text: str, where: str, line: int) -> str:
    try:
        triples = list(ox.parse(text.encode("utf-8"), format=ox.RdfFormat.N_TRIPLES))
    except SyntaxError as exc:
        raise InputError(Problem(where, line, None, f"not an N-Triples triple: {exc}")) \
            from None
    if len(triples) != 1:
        raise InputError(Problem(where, line, None, "expected exactly one triple"))
    return row(triples[0])


def read_rdf_patch(data: bytes, where: str) -> Patch:
    """Parse RDF Patch text (one transaction of triples, no graph terms); InputError with the
    file and line of the first bad row."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(Problem(where, None, None, f"not UTF-8: {exc.reason}")) from None
    header: dict[str, str] = {}
    deletes: list[str] = []
    adds: list[str] = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        code, _, rest = line.partition(" ")
        if code == "H":
            key, _, value = rest.partition(" ")
            value = value.strip()
            if not (value.startswith("<") and value.endswith("> .")):
                raise InputError(Problem(where, n, None, f"header {key!r}: expected <IRI> ."))
            header[key] = value[1:-3]
        elif code in ("TX", "TC", "PA", "PD"):
            continue
        elif code in ("A", "D"):
            (adds if code == "A" else deletes).append(_parse_row(rest, where, n))
        elif code == "TA":
            raise InputError(Problem(where, n, None, "the patch aborts its transaction (TA)"))
        else:
            raise InputError(Problem(where, n, None, f"unknown row code {code!r}"))
    if "id" not in header:
        raise InputError(Problem(where, None, None, "the patch has no 'H id' header"))
    return Patch(header["id"], header.get("prev"), tuple(sorted(set(deletes))),
                 tuple(sorted(set(adds))))


def _data_block(verb: str, rows: tuple[str, ...], graph: str) -> str:
    body = "".join(f"    {r} .\n" for r in rows)
    return f"{verb} DATA {{\n  GRAPH {_iri(graph)} {{\n{body}  }}\n}}"


def to_sparql_update(patch: Patch, graph: str, then: Iterable[str] = ()) -> str:
    """The patch as one SPARQL Update into `graph`: DELETE DATA, then INSERT DATA, then any
    further operations `then` (in the same request, so in the same transaction)."""
    ops = [f"# {_iri(patch.prev) if patch.prev else 'an empty graph'} -> {_iri(patch.id)}"]
    body = []
    if patch.deletes:
        body.append(_data_block("DELETE", patch.deletes, graph))
    if patch.adds:
        body.append(_data_block("INSERT", patch.adds, graph))
    body += list(then)
    return ops[0] + "\n" + " ;\n".join(body or [f"CREATE SILENT GRAPH {_iri(graph)}"]) + "\n"
