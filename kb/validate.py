"""Validate the KB: SHACL shapes (pySHACL) plus the SPARQL quality checks in queries/checks/."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pyshacl import validate as shacl_validate
from rdflib import RDF, Graph, Namespace, URIRef
from rdflib.term import Node

from .errors import InputError, Problem
from .load import Loaded
from .paths import CHECKS, ONTOLOGY, SHAPES_DIR
from .query import list_queries, run
from .sparqlcache import prepared_queries
from .store import to_store

SH = Namespace("http://www.w3.org/ns/shacl#")


@dataclass(frozen=True)
class Issue:
    severity: str  # Violation | Warning | Info
    focus: str
    path: str | None
    message: str
    component: str
    origin: str | None  # file:line of the seed record

    def __str__(self) -> str:
        where = f"{self.origin}: " if self.origin else ""
        path = f" {self.path}" if self.path else ""
        return f"{where}{self.severity}: {self.focus}{path}: {self.message} [{self.component}]"


@dataclass
class Report:
    issues: list[Issue]

    @property
    def violations(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "Violation"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity != "Violation"]

    @property
    def conforms(self) -> bool:
        return not self.violations


def load_shapes(shapes_dir: Path = SHAPES_DIR) -> Graph:
    g = Graph()
    for p in sorted(shapes_dir.glob("*.ttl")):
        g.parse(p, format="turtle")
    return g


def load_ontology(path: Path = ONTOLOGY) -> Graph:
    return Graph().parse(path, format="turtle")


def _short(g: Graph, node: Node | None) -> str | None:
    if node is None:
        return None
    if isinstance(node, URIRef):
        try:
            return g.namespace_manager.normalizeUri(node)
        except Exception:  # noqa: BLE001 - fall back to the full IRI
            return str(node)
    return str(node)


def origin_of(loaded: Loaded, node: Node) -> str | None:
    """The seed file:line a node (or the record it belongs to) was written at."""
    s = str(node)
    while True:
        found = loaded.origin.get(URIRef(s))
        if found:
            return found
        if "/" not in s.split("/id/", 1)[-1]:
            return None
        s = s.rsplit("/", 1)[0]


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
