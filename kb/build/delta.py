"""What changed between two builds, for kb.cache: seed items, triples, focus nodes, blocks."""

from __future__ import annotations

from typing import Any

import pyoxigraph as ox

from kb.rdf.terms import from_ox


def items(doc: Any) -> tuple[dict[str, Any], list[Any]]:
    """A parsed seed file's records by id, and its corroborations (as the checker sees them)."""
    records: dict[str, Any] = {}
    corro: list[Any] = []
    if isinstance(doc, dict):
        for key in ("entities", "facts", "corroborations"):
            items = doc.get(key)
            for item in items if isinstance(items, list) else []:
                if not isinstance(item, dict):
                    continue
                if key == "corroborations":
                    corro.append(item)
                elif isinstance(item.get("id"), str):
                    records.setdefault(item["id"], item)
    return records, corro


def quads(store: ox.Store, subjects: list[str]) -> set:
    out: set = set()
    for s in subjects:
        out.update(store.quads_for_pattern(ox.NamedNode(s), None, None, ox.DefaultGraph()))
    return out


def affected_focus(store: ox.Store, changed: set, ext: frozenset[str]) -> set[str]:
    """Focus nodes whose core results may differ: the subjects of changed triples, and the
    nodes linking to a node whose triples that shapes read through links changed."""
    out = {q.subject.value for q in changed}
    for node in {q.subject.value for q in changed if q.predicate.value in ext}:
        for q in store.quads_for_pattern(None, None, ox.NamedNode(node), ox.DefaultGraph()):
            out.add(q.subject.value)
    return out


def store_triples(store: ox.Store, state: Any) -> Any:
    """A record's triples from the store (for pySHACL on records not re-read this time)."""
    def get(rid: str) -> list:
        return [(from_ox(q.subject), from_ox(q.predicate), from_ox(q.object))
                for q in quads(store, list(state.metas[rid].subjects))]
    return get
