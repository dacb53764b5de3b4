"""The naive reference pipeline: the whole rdflib graph, whole-graph pySHACL, rdflib's Turtle.

It is the oracle the tests compare the real pipeline (kb.build) against, and kb bench's
baseline. Nothing a user runs goes through it.
"""

from __future__ import annotations

from pathlib import Path

from pyshacl import validate as shacl_validate
from rdflib import RDF, Graph

from kb.bench.sparqlcache import prepared_queries
from kb.build.distdir import write_set
from kb.build.run import format_report
from kb.core.errors import InputError, NonConformingError, Problem
from kb.core.paths import CHECKS, SEEDS, SHAPES_DIR
from kb.interop.context import context_bytes
from kb.interop.formats import turtle
from kb.interop.void import describe
from kb.query.run import list_queries, run
from kb.rdf.mapping import Loaded, _Builder
from kb.rdf.ontology import load_ontology
from kb.rdf.terms import to_store
from kb.seeds.check import read_seeds
from kb.seeds.schema import Schema, load_schema
from kb.validate.report import SH, Issue, Report, _short, load_shapes, origin_of


def shacl_results(data: Graph, shapes: Graph, ontology: Graph) -> Graph:
    """pySHACL's validation report graph for `data`, with the ontology mixed in, no inference."""
    with prepared_queries():
        _, results, text = shacl_validate(
            data, shacl_graph=shapes, ont_graph=ontology, inference="none",
            allow_warnings=True, abort_on_first=False, meta_shacl=False,
        )
    if not isinstance(results, Graph):
        raise InputError(Problem(str(SHAPES_DIR), None, None, f"the shapes are broken: {text}"))
    return results


def shacl_issues(loaded: Loaded, shapes: Graph, ontology: Graph) -> list[Issue]:
    results = shacl_results(loaded.graph, shapes, ontology)
    issues = []
    for r in results.subjects(RDF.type, SH.ValidationResult):
        sev = results.value(r, SH.resultSeverity)
        focus = results.value(r, SH.focusNode)
        issues.append(Issue(
            severity=str(sev).rsplit("#", 1)[-1],
            focus=_short(loaded.graph, focus) or "",
            path=_short(loaded.graph, results.value(r, SH.resultPath)),
            message=str(results.value(r, SH.resultMessage) or "constraint not met"),
            component=_short(results, results.value(r, SH.sourceConstraintComponent)) or "",
            origin=origin_of(loaded, focus) if focus is not None else None,
        ))
    return issues


def check_issues(loaded: Loaded, checks_dir: Path = CHECKS) -> list[Issue]:
    """Run every *-violation.rq / *-warning.rq check; each row it returns is an issue.

    A check returns ?focus and ?message (and may return ?path)."""
    store = to_store(loaded.graph)
    issues = []
    for q in list_queries(checks_dir):
        severity = "Violation" if q.name.endswith("-violation") else "Warning"
        result = run(store, q)
        cols = result.columns
        for row in result.rows:
            vals = dict(zip(cols, row, strict=True))
            focus = vals.get("focus")
            issues.append(Issue(
                severity=severity,
                focus=_short(loaded.graph, focus) or "",
                path=_short(loaded.graph, vals.get("path")),
                message=str(vals.get("message") or q.title),
                component=f"check:{q.name}",
                origin=origin_of(loaded, focus) if focus is not None else None,
            ))
    return issues


def validate(loaded: Loaded, shapes: Graph | None = None,
             ontology: Graph | None = None) -> Report:
    """Validate the loaded KB; the report lists violations and warnings, sorted."""
    shapes = shapes if shapes is not None else load_shapes()
    ontology = ontology if ontology is not None else load_ontology()
    issues = shacl_issues(loaded, shapes, ontology) + check_issues(loaded)
    issues.sort(key=lambda i: (i.severity != "Violation", i.origin or "", i.focus,
                               i.path or "", i.component, i.message))
    return Report(issues)


def load(seeds_dir: Path = SEEDS, schema: Schema | None = None) -> Loaded:
    """Read, check and convert the seed files to RDF. Raises InputError on bad input."""
    schema = schema or load_schema()
    seeds = read_seeds(seeds_dir, schema)
    return _Builder(schema, seeds).build()


def check(seeds_dir: Path) -> tuple[Loaded, Report]:
    """The reference check: the whole graph, then pySHACL and the checks over all of it."""
    loaded = load(seeds_dir)
    report = validate(loaded)
    if not report.conforms:
        raise NonConformingError(format_report(report))
    return loaded, report


def build(seeds_dir: Path, dist: Path) -> tuple[Loaded, Report]:
    """The reference build: the same files as `kb build` (less the stamp), made the naive way."""
    loaded, report = check(seeds_dir)
    ontology = load_ontology()
    write_set(dist, {"kb.ttl": turtle(loaded.graph), "ontology.ttl": turtle(ontology),
                     "void.ttl": turtle(describe(loaded.graph, ontology)),
                     "context.jsonld": context_bytes()})
    return loaded, report
