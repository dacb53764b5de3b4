"""Reuse dist/kb.ttl when it is a current, validated build; otherwise build it again.

A build stamp, written with the build as one set (kb.distdir), records a fingerprint of every
input (seeds, ontology, seed schema, shapes, quality checks and the kb package's code) and the
SHA-256 of the kb.ttl it wrote. The build is reused only if both still match, so an edited seed,
a changed shape or a hand-edited kb.ttl all cause a fresh build, which validates before it
writes.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kb.build.distdir import reading, snapshot
from kb.core.files import Spliced, write_atomic
from kb.core.paths import CHECKS, ONTOLOGY_DIR, ROOT, SHAPES_DIR

STAMP = ".kb-build.json"
CODE_DIR = Path(__file__).resolve().parent.parent  # the kb package


def _files(seeds_dir: Path) -> Iterable[Path]:
    yield from sorted(seeds_dir.rglob("*.yaml"))
    for folder, pattern in ((ONTOLOGY_DIR, "*"), (SHAPES_DIR, "*.ttl"), (CHECKS, "*.rq"),
                            (CODE_DIR, "**/*.py")):
        yield from sorted(p for p in folder.glob(pattern) if p.is_file())


def fingerprint(seeds_dir: Path) -> str:
    """SHA-256 over the names and contents of every file a build reads."""
    h = hashlib.sha256()
    for p in _files(seeds_dir):
        h.update(str(p.resolve()).encode() + b"\0" + hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def _sha256(data: bytes | Spliced) -> str:
    if isinstance(data, bytes):
        return hashlib.sha256(data).hexdigest()
    h = hashlib.sha256()
    for chunk in data.chunks():
        h.update(chunk)
    return h.hexdigest()


def stamp_bytes(inputs: str, kb_ttl: bytes | Spliced,
                summary: dict[str, Any] | None = None) -> bytes:
    """The stamp of a validated kb.ttl built from inputs with fingerprint `inputs`; `summary`
    (Summary's fields) lets an unchanged `kb build` answer without building."""
    doc: dict[str, Any] = {"inputs": inputs, "kb.ttl": _sha256(kb_ttl)}
    if summary is not None:
        doc["summary"] = summary
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()


@dataclass(frozen=True)
class Summary:
    """What a build said, kept in its stamp: `kb build` repeats it when nothing changed."""

    base: str  # the seed schema's base IRI (ids are IRIs under base + "id/")
    triples: int
    seed_files: int
    warnings: list[str]


@dataclass(frozen=True)
class Current:
    """A current build: its kb.ttl (the bytes the stamp vouches for) and its summary (None
    for a stamp written before summaries were kept)."""

    kb_ttl: bytes
    summary: Summary | None


def current(seeds_dir: Path, dist: Path) -> Current | None:
    """dist's build if it is a stamped build of these inputs whose kb.ttl is as it was
    written (both read from one build: kb.distdir.reading); None otherwise."""
    with reading(dist) as here:
        try:
            recorded = json.loads((here / STAMP).read_text(encoding="utf-8"))
            kb_ttl = (here / "kb.ttl").read_bytes()
        except (OSError, ValueError):
            return None
    if not isinstance(recorded, dict) or (recorded.get("inputs"), recorded.get("kb.ttl")) != (
            fingerprint(seeds_dir), _sha256(kb_ttl)):
        return None
    try:
        summary = Summary(**recorded["summary"])
    except (KeyError, TypeError):
        summary = None
    return Current(kb_ttl, summary)


def is_current(seeds_dir: Path, dist: Path) -> bool:
    """True if dist holds a stamped build of these inputs whose kb.ttl is as it was written."""
    return current(seeds_dir, dist) is not None


def record(dist: Path, inputs: str) -> None:
    """Stamp the kb.ttl in dist as the validated build of inputs with this fingerprint.

    Only for a kb.ttl that kb.build.build wrote (which validates before writing), e.g. a copy
    of one: kb.build.build stamps its own builds."""
    here = snapshot(dist)
    write_atomic(here / STAMP, stamp_bytes(inputs, (here / "kb.ttl").read_bytes()))


def cache_dir() -> Path:
    """Where `kb build` keeps what it needs to redo only what an edit touched."""
    return Path(os.environ.get("KB_BUILD_CACHE") or ROOT / "build-cache")
