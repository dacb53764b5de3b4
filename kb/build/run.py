"""What `kb build` and `kb validate` do: check the seeds, and only then write dist/ as one set."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kb.build.current import (  # noqa: F401 - cache_dir re-exported
    STAMP,
    Summary,
    cache_dir,
    fingerprint,
    is_current,
    stamp_bytes,
)
from kb.build.distdir import write_set
from kb.build.pipeline import check_fast
from kb.build.stages import Built
from kb.core.errors import NonConformingError
from kb.core.files import Spliced
from kb.core.paths import DIST, SEEDS
from kb.core.progress import Progress
from kb.interop.context import context_bytes
from kb.interop.formats import turtle
from kb.interop.void import describe
from kb.interop.voidcounts import HasNode
from kb.rdf.ontology import load_ontology
from kb.rdf.stream import FastLoaded
from kb.seeds.schema import load_schema
from kb.validate.report import Report


@dataclass
class BuildResult:
    """A validated build and the files it wrote."""

    built: Built
    written: list[Path]

    @property
    def report(self) -> Report:
        return self.built.report

    @property
    def loaded(self) -> FastLoaded:
        return self.built.loaded


def check(seeds_dir: Path = SEEDS, *, cache: Path | None = None, quiet: bool = True) -> Built:
    """Read, map and validate the seeds; InputError on bad input, NonConformingError on
    violations. With `cache`, only what an edit touched is redone; progress on a terminal
    unless quiet."""
    with Progress(quiet=quiet) as progress:
        built = check_fast(seeds_dir, cache_dir=cache, progress=progress)
    if not built.report.conforms:
        raise NonConformingError(format_report(built.report))
    return built


def build(seeds_dir: Path = SEEDS, dist: Path = DIST, *, cache: Path | None = None,
          quiet: bool = True) -> BuildResult:
    """Check, then write dist/kb.ttl, ontology.ttl, void.ttl (the dataset description),
    context.jsonld (the published JSON-LD context) and the build stamp (kb.build.current) as
    one set: readers see the previous build or this one, never a mix (kb.build.distdir)."""
    inputs = fingerprint(seeds_dir)  # before reading them: an edit meanwhile makes it stale
    built = check(seeds_dir, cache=cache, quiet=quiet)
    ontology = load_ontology()
    void = describe(HasNode(built.store), ontology, counted=built.figures())
    files: dict[str, bytes | Path | Spliced] = {
        "kb.ttl": built.document,  # copied from the block file, not read into memory
        "ontology.ttl": turtle(ontology),
        "void.ttl": turtle(void),
        "context.jsonld": context_bytes(),
        STAMP: stamp_bytes(inputs, built.document, summary(built)),
    }
    write_set(dist, files)
    return BuildResult(built, [dist / name for name in files if name != STAMP])


def summary(built: Built) -> dict[str, Any]:
    """What the stamp keeps of a build, for an unchanged `kb build` (kb.build.current.Summary)."""
    return asdict(Summary(base=load_schema().base, triples=built.loaded.triples,
                          seed_files=len(built.loaded.files),
                          warnings=[str(i) for i in built.report.warnings]))


def current_build(seeds_dir: Path, dist: Path, rebuild: bool = False) -> BuildResult | None:
    """Build unless dist/ holds a current build. Returns the BuildResult, or None if reused.

    Raises InputError / NonConformingError like kb.build.build: nothing is written then.
    Read the build with snapshot(dist) (one build, even if another lands meanwhile).
    """
    if not rebuild and is_current(seeds_dir, dist):
        return None
    return build(seeds_dir, dist, cache=cache_dir())  # as `kb build` does; stamps


def format_report(report: Report) -> str:
    lines = [str(i) for i in report.issues]
    lines.append(f"{len(report.violations)} violation(s), {len(report.warnings)} warning(s)")
    return "\n".join(lines)
