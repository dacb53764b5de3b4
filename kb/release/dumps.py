"""Two dumps compared block by block: the triples that differ, parsed from the blocks that differ.

`kb build` writes kb.ttl as one block per subject (rdflib's longturtle layout, byte-stable):
the prefixes, then blocks that start with their subject and end with a line holding ".". When
both files have the same prefixes and no subject has two blocks, a triple can differ only in
a block whose bytes differ, so only those blocks (and the blocks of the records they touch,
for the changelog) are parsed: the time goes with the size of the change, not of the KB. Any
other file is parsed whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kb.core.errors import InputError, Problem
from kb.interop import rdf_patch
from kb.release import changelog


@dataclass
class _Blocks:
    header: bytes
    blocks: dict[bytes, bytes]  # subject token -> block
    prefixes: dict[str, str]


def _blocks(data: bytes) -> _Blocks | None:
    head, sep, body = data.partition(b"\n\n")
    if not sep or not all(line.startswith(b"PREFIX ") for line in head.splitlines()):
        return None
    prefixes = {}
    for line in head.splitlines():
        parts = line.split()
        if len(parts) != 3 or not parts[2].startswith(b"<") or not parts[2].endswith(b">"):
            return None
        prefixes[parts[1].decode("utf-8").rstrip(":")] = parts[2][1:-1].decode("utf-8")
    blocks: dict[bytes, bytes] = {}
    pending = b""
    for chunk in body.split(b"\n\n"):
        pending = pending + b"\n\n" + chunk if pending else chunk
        if not pending.rstrip().endswith(b"\n."):
            continue  # a literal holding a blank line: the block goes on
        token = pending.split(None, 1)[0]
        if token in blocks:
            return None
        blocks[token] = pending
        pending = b""
    if pending.strip():
        return None
    return _Blocks(head + b"\n\n", blocks, prefixes)


def _iri(token: bytes, prefixes: dict[str, str]) -> str:
    text = token.decode("utf-8")
    if text.startswith("<") and text.endswith(">"):
        return text[1:-1]
    prefix, _, local = text.partition(":")
    return prefixes.get(prefix, "") + local.replace("\\", "")


def _rows(header: bytes, blocks: list[bytes], where: Path) -> set[str]:
    data = header + b"\n\n".join(blocks) + b"\n"
    try:
        return rdf_patch.rows_of_bytes(data)
    except SyntaxError as exc:
        raise InputError(Problem(str(where), None, None, f"not valid RDF: {exc}")) from None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(Problem(str(path), None, None, f"cannot read: {exc.strerror}")) \
            from None


def compare(old: Path, new: Path) -> tuple[set[str], set[str], changelog.Changes]:
    """The triples removed and added from dump `old` to dump `new`, and the changelog."""
    a, b = _read(old), _read(new)
    ba, bb = _blocks(a), _blocks(b)
    if ba is None or bb is None or ba.header != bb.header:
        rows_old, rows_new = rdf_patch.rows_of(old), rdf_patch.rows_of(new)
        return rows_old - rows_new, rows_new - rows_old, changelog.compute(rows_old, rows_new)
    gone = [blk for tok, blk in ba.blocks.items() if bb.blocks.get(tok) != blk]
    came = [blk for tok, blk in bb.blocks.items() if ba.blocks.get(tok) != blk]
    part_old, part_new = _rows(ba.header, gone, old), _rows(bb.header, came, new)
    removed, added = part_old - part_new, part_new - part_old
    touched = changelog.records_of(removed | added)
    id_ns = changelog.id_namespace()

    marks = [rec.encode("utf-8") for rec in touched]

    def of_records(side: _Blocks, where: Path) -> set[str]:
        items = side.blocks.items()
        if len(marks) <= 256:  # a record's token holds its id: expand only those that do
            items = [(tok, blk) for tok, blk in items if any(m in tok for m in marks)]
        wanted = [blk for tok, blk in items
                  if (iri := _iri(tok, side.prefixes)).startswith(id_ns)
                  and iri[len(id_ns):].split("/", 1)[0] in touched]
        return _rows(side.header, wanted, where)

    prefix = "<" + id_ns
    changes = changelog.compute(
        of_records(ba, old) | {r for r in removed if not r.startswith(prefix)},
        of_records(bb, new) | {r for r in added if not r.startswith(prefix)})
    return removed, added, changes
