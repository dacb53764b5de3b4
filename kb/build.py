"""The pipeline: load the seeds, validate them, and only then write the exports."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph

from .context import context_bytes
from .distdir import write_set
from .errors import NonConformingError
from .export import turtle
from .load import Loaded, load
from .paths import DIST, ROOT, SEEDS
from .validate import Report, load_ontology, validate
from .void import describe


@dataclass
class BuildResult:
    loaded: Loaded
    report: Report
    written: list[Path]


def check(seeds_dir: Path = SEEDS, *, fast: bool = False, cache: Path | None = None,
          quiet: bool = True) -> tuple[Loaded, Report]:
    """Load and validate; raise InputError on bad input, NonConformingError on violations.

    fast: the same report from kb.fastbuild (Oxigraph, the shapes compiled to SPARQL, and
    with `cache` a build cache so that only what an edit touched is redone); progress bars
    on a terminal unless quiet."""
    if fast:
        from .fastbuild import check_fast
        from .progress import Progress
        with Progress(quiet=quiet) as progress:
            built = check_fast(seeds_dir, cache_dir=cache, progress=progress)
        loaded, report = built.loaded, built.report
        loaded.built = built  # type: ignore[attr-defined]
    else:
        loaded = load(seeds_dir)
        report = validate(loaded)
    if not report.conforms:
        raise NonConformingError(format_report(report))
    return loaded, report


def build(seeds_dir: Path = SEEDS, dist: Path = DIST, *, fast: bool = False,
          cache: Path | None = None, quiet: bool = True) -> BuildResult:
    """Load, validate, then write dist/kb.ttl, ontology.ttl, void.ttl (the dataset description),
    context.jsonld (the published JSON-LD context) and the build stamp (kb.current) as one set:
    readers see the previous build or this one, never a mix (kb.distdir). (fast, cache, quiet:
    as for check; the files are the same bytes either way.)"""
    from .current import STAMP, fingerprint, stamp_bytes
    inputs = fingerprint(seeds_dir)  # before reading them: an edit meanwhile makes it stale
    loaded, report = check(seeds_dir, fast=fast, cache=cache, quiet=quiet)
    ontology = load_ontology()
    kb = kb_turtle(loaded)
    files = {
        "kb.ttl": kb,
        "ontology.ttl": turtle(ontology),
        "void.ttl": turtle(describe_kb(loaded, ontology)),
        "context.jsonld": context_bytes(),
        STAMP: stamp_bytes(inputs, kb),
    }
    write_set(dist, files)
    return BuildResult(loaded, report, [dist / name for name in files if name != STAMP])


def kb_turtle(loaded: Loaded) -> bytes:
    """dist/kb.ttl: rdflib's longturtle, or the same bytes already made by the fast build."""
    built = getattr(loaded, "built", None)
    return built.kb_ttl if built is not None else turtle(loaded.graph)


def describe_kb(loaded: Loaded, ontology: Graph) -> Graph:
    """The dataset description, counted on the fast build's store when there is one."""
    built = getattr(loaded, "built", None)
    if built is None:
        return describe(loaded.graph, ontology)
    from .voidcounts import HasNode
    return describe(HasNode(built.store), ontology, counted=built.figures())


def cache_dir() -> Path:
    """Where `kb build` keeps what it needs to redo only what an edit touched."""
    return Path(os.environ.get("KB_BUILD_CACHE") or ROOT / "build-cache")


def seed_file_count(loaded: Loaded) -> int:
    files = getattr(loaded, "files", None)
    return len(files) if files is not None else len(loaded.seeds.files)


def triple_count(loaded: Loaded) -> int:
    """How many triples (without making the rdflib graph of a fast build)."""
    n = getattr(loaded, "triples", None)
    return n if isinstance(n, int) else len(loaded.graph)


def format_report(report: Report) -> str:
    lines = [str(i) for i in report.issues]
    lines.append(f"{len(report.violations)} violation(s), {len(report.warnings)} warning(s)")
    return "\n".join(lines)
