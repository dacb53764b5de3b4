"""Validate the KB: SHACL shapes (pySHACL) plus the SPARQL quality checks in queries/checks/."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, Namespace, URIRef
from rdflib.term import Node

from kb.core.paths import SHAPES_DIR
from kb.rdf.mapping import Loaded

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


ONTOLOGY_GRAPH = ox.NamedNode("urn:kb:ontology")  # pySHACL's ontology axioms, in the store


@dataclass(frozen=True)
class RawIssue:
    """A validation result before it is located in a seed file."""

    severity: str  # Violation | Warning | Info
    focus: Node
    path: Node | None
    message: str
    component: str  # e.g. sh:MinCountConstraintComponent
