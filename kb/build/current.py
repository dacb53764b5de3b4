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
from collections.abc import Iterable
from pathlib import Path

from kb.build.distdir import reading, snapshot
from kb.core.files import write_atomic
from kb.core.paths import CHECKS, ONTOLOGY_DIR, SHAPES_DIR

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


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stamp_bytes(inputs: str, kb_ttl: bytes) -> bytes:
    """The stamp of a validated kb.ttl built from inputs with fingerprint `inputs`."""
    return (json.dumps({"inputs": inputs, "kb.ttl": _sha256(kb_ttl)}, indent=2) + "\n").encode()


def is_current(seeds_dir: Path, dist: Path) -> bool:
    """True if dist holds a stamped build of these inputs whose kb.ttl is as it was written
    (both read from one build: kb.distdir.reading)."""
    with reading(dist) as here:
        try:
            recorded = json.loads((here / STAMP).read_text(encoding="utf-8"))
            kb_ttl = (here / "kb.ttl").read_bytes()
        except (OSError, ValueError):
            return False
    return recorded == {"inputs": fingerprint(seeds_dir), "kb.ttl": _sha256(kb_ttl)}


def record(dist: Path, inputs: str) -> None:
    """Stamp the kb.ttl in dist as the validated build of inputs with this fingerprint.

    Only for a kb.ttl that kb.build.build wrote (which validates before writing), e.g. a copy
    of one: kb.build.build stamps its own builds."""
    here = snapshot(dist)
    write_atomic(here / STAMP, stamp_bytes(inputs, (here / "kb.ttl").read_bytes()))
