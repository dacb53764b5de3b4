"""The pipeline: load the seeds, validate them, and only then write the exports."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .context import context_bytes
from .errors import NonConformingError
from .export import turtle, write_all
from .load import Loaded, load
from .paths import DIST, SEEDS
from .validate import Report, load_ontology, validate
from .void import describe


@dataclass
class BuildResult:
    loaded: Loaded
    report: Report
    written: list[Path]


def check(seeds_dir: Path = SEEDS) -> tuple[Loaded, Report]:
    """Load and validate; raise InputError on bad input, NonConformingError on violations."""
    loaded = load(seeds_dir)
    report = validate(loaded)
    if not report.conforms:
        raise NonConformingError(format_report(report))
    return loaded, report


def build(seeds_dir: Path = SEEDS, dist: Path = DIST) -> BuildResult:
    """Load, validate, then write dist/kb.ttl, ontology.ttl, void.ttl (the dataset description)
    and context.jsonld (the published JSON-LD context), each atomically."""
    loaded, report = check(seeds_dir)
    ontology = load_ontology()
    files = {
        dist / "kb.ttl": turtle(loaded.graph),
        dist / "ontology.ttl": turtle(ontology),
        dist / "void.ttl": turtle(describe(loaded.graph, ontology)),
        dist / "context.jsonld": context_bytes(),
    }
    write_all(files)
    return BuildResult(loaded, report, list(files))


def format_report(report: Report) -> str:
    lines = [str(i) for i in report.issues]
    lines.append(f"{len(report.violations)} violation(s), {len(report.warnings)} warning(s)")
    return "\n".join(lines)
