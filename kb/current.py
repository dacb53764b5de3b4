"""Reuse dist/kb.ttl when it is a current, validated build; otherwise build it again.

A build stamp beside the output records a fingerprint of every input (seeds, ontology, seed
schema, shapes, quality checks and the kb package's code) and the SHA-256 of the kb.ttl it
wrote. The build is reused only if both still match, so an edited seed, a changed shape or a
hand-edited kb.ttl all cause a fresh build, which validates before it writes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from .build import BuildResult, build, cache_dir
from .export import write_atomic
from .paths import CHECKS, ONTOLOGY_DIR, ROOT, SHAPES_DIR

STAMP = ".kb-build.json"
CODE_DIR = ROOT / "kb"


def _files(seeds_dir: Path) -> Iterable[Path]:
    yield from sorted(seeds_dir.rglob("*.yaml"))
    for folder, pattern in ((ONTOLOGY_DIR, "*"), (SHAPES_DIR, "*.ttl"), (CHECKS, "*.rq"),
                            (CODE_DIR, "*.py")):
        yield from sorted(p for p in folder.glob(pattern) if p.is_file())


def fingerprint(seeds_dir: Path) -> str:
    """SHA-256 over the names and contents of every file a build reads."""
    h = hashlib.sha256()
    for p in _files(seeds_dir):
        h.update(str(p.resolve()).encode() + b"\0" + hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def is_current(seeds_dir: Path, dist: Path) -> bool:
    kb_ttl, stamp = dist / "kb.ttl", dist / STAMP
    if not (kb_ttl.is_file() and stamp.is_file()):
        return False
    try:
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return recorded == {"inputs": fingerprint(seeds_dir), "kb.ttl": _sha256(kb_ttl)}


def current_build(seeds_dir: Path, dist: Path, rebuild: bool = False) -> BuildResult | None:
    """Build unless dist/ holds a current build. Returns the BuildResult, or None if reused.

    Raises InputError / NonConformingError like kb.build.build: nothing is written then.
    """
    if not rebuild and is_current(seeds_dir, dist):
        return None
    inputs = fingerprint(seeds_dir)
    result = build(seeds_dir, dist, fast=True, cache=cache_dir())  # as `kb build` does
    record(dist, inputs)
    return result


def record(dist: Path, inputs: str) -> None:
    """Stamp dist/kb.ttl as the validated build of inputs with this fingerprint.

    Only for a kb.ttl that kb.build.build just wrote (which validates before writing)."""
    stamp = {"inputs": inputs, "kb.ttl": _sha256(dist / "kb.ttl")}
    write_atomic(dist / STAMP, (json.dumps(stamp, indent=2) + "\n").encode())
