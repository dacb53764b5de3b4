"""The ontology (ontology/kb.ttl) as an rdflib graph."""

from __future__ import annotations

from pathlib import Path

from rdflib import Graph

from kb.core.paths import ONTOLOGY


def load_ontology(path: Path = ONTOLOGY) -> Graph:
    return Graph().parse(path, format="turtle")


