"""`kb sources add`: register a text as a source, in the sources seed file, keeping its layout."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString as Quoted

from kb.core.errors import InputError, Problem
from kb.core.files import write_atomic
from kb.seeds.check import ID_RE, SeedSet, read_seeds
from kb.seeds.fast_yaml import read_yaml_fast
from kb.sources.texts import read_text
from kb.sources.verify import paragraphs

NEW_FILE = Path("entities") / "sources.yaml"
HEADER = ("# The source documents. Their texts live outside the repository;\n"
          "# `kb sources verify --texts DIR` checks the hashes and citations.\n")


@dataclass(frozen=True)
class Added:
    id: str
    file: Path
    sha256: str
    paragraphs: int


def _rt_yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a curator's long lines
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def source_entry(ident: str, title: str, digest: str, n_paras: int, publisher: str | None,
                 published: str, basis: str | None) -> CommentedMap:
    """The seed record of a source, fields in the order the seed files use."""
    entry = CommentedMap([("id", ident), ("type", "source"), ("title", Quoted(title))])
    if publisher:
        entry["publisher"] = publisher
    if basis:
        date = CommentedMap([("value", Quoted(published)), ("derived", Quoted("yes")),
                             ("basis", Quoted(basis))])
        date.fa.set_flow_style()
        entry["published"] = date
    else:
        entry["published"] = Quoted(published)
    entry["publication_basis"] = "inferred" if basis else "stated"
    entry["sha256"] = digest
    entry["paragraphs"] = Quoted(str(n_paras))
    return entry


def _target(seeds: SeedSet, seeds_dir: Path, into: Path | None) -> Path:
    """The file to add to: --into, else the one file that declares the sources, else
    seeds/entities/sources.yaml."""
    if into is not None:
        return into
    files = sorted({Path(r.file) for r in seeds.records.values() if r.type == "source"})
    if len(files) == 1:
        return files[0]
    return seeds_dir / NEW_FILE


def with_entry(text: str, entry: CommentedMap, where: str) -> str:
    """`text` (a seed file) with `entry` appended to its entities, by a ruamel round trip:
    comments, quotes, flow style and blank lines between entries are kept."""
    yaml = _rt_yaml()
    doc: Any = yaml.load(text) if text.strip() else None
    if doc is None:
        doc = CommentedMap()
    if not isinstance(doc, dict):
        raise InputError(Problem(where, None, None, "a seed file holds a mapping"))
    items = doc.get("entities")
    if items is None:
        items = doc["entities"] = CommentedSeq()
    if not isinstance(items, list):
        raise InputError(Problem(where, None, "entities", "must be a list of records"))
    items.append(entry)
    out = io.StringIO()
    yaml.dump(doc, out)
    new = out.getvalue()
    spaced = "\n\n  - " in text  # entries separated by blank lines: keep doing so
    if text and new.startswith(text) and spaced:
        new = text + ("" if text.endswith("\n") else "\n") + "\n" + new[len(text):].lstrip("\n")
    if not text:
        new = HEADER + new
    return new


def add_source(text_file: Path, seeds_dir: Path, *, title: str | None = None,
               publisher: str | None = None, published: str, basis: str | None = None,
               into: Path | None = None) -> Added:
    """Register `text_file` as a source: id from its name, SHA-256, paragraph count.

    Refuses a text already registered (same hash or id) and a non-UTF-8 text; the seed file is
    written (atomically) only if the seeds, with the new entry, pass the loader's checks."""
    text = read_text(text_file)
    ident = text_file.name.removesuffix(".txt")
    if not ID_RE.match(ident):
        raise InputError(Problem(str(text_file), None, None,
                                 f"the file name gives the source id {ident!r}, which is not an "
                                 "id (a-z, 0-9, '-' and '_'); rename the file"))
    data = text_file.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    paras = paragraphs(text)
    if not paras:
        raise InputError(Problem(str(text_file), None, None, "the text has no paragraphs"))
    seeds = read_seeds(seeds_dir, reader=read_yaml_fast)
    for rec in seeds.records.values():
        if rec.type == "source" and rec.values.get("sha256") == digest:
            raise InputError(Problem(rec.file, rec.line, "sha256",
                                     f"{text_file} is already registered as source {rec.id!r} "
                                     "(same SHA-256)"))
    if ident in seeds.records:
        rec = seeds.records[ident]
        raise InputError(Problem(rec.file, rec.line, "id",
                                 f"{ident!r} is already declared; {text_file} not added"))
    target = _target(seeds, seeds_dir, into)
    existed = target.is_file()
    old = read_text(target) if existed else ""
    entry = source_entry(ident, title or paras[0].strip(), digest, len(paras), publisher,
                         published, basis)
    new = with_entry(old, entry, str(target))
    _validate(seeds_dir, target, new, existed)
    write_atomic(target, new.encode("utf-8"))
    return Added(ident, target, digest, len(paras))


def _validate(seeds_dir: Path, target: Path, new: str, existed: bool) -> None:
    """Check the seeds as they would be with `target` holding `new`; nothing is written."""
    inside = target.resolve().is_relative_to(seeds_dir.resolve())
    if not inside or target.suffix != ".yaml":
        raise InputError(Problem(str(target), None, None,
                                 f"not a seed file: it must be a *.yaml file in {seeds_dir}"))
    data = new.encode("utf-8")
    wanted = target.resolve()

    def reader(path: Path, name: str) -> Any:
        if path.resolve() == wanted:
            return read_yaml_fast(path, name, data=data)
        return read_yaml_fast(path, name)

    if existed:
        read_seeds(seeds_dir, reader=reader)
        return
    # A new file: the loader lists files from the folder, so check it beside an empty stand-in.
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"")
    try:
        read_seeds(seeds_dir, reader=reader)
    finally:
        target.unlink()
