"""Parse each SPARQL text once while validating.

pySHACL runs a SPARQL-based constraint once per focus node and hands rdflib the same query text
each time, with only the bindings of $this changing; rdflib parses and translates that text anew
on every call, which is most of the time a validation takes. Within `prepared_queries()` rdflib
reuses the translated query: the same text, base and prefixes always translate to the same
algebra, and a translated query is evaluated with fresh bindings each time (rdflib's prepared
queries), so the results do not change.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from rdflib.plugins.sparql import processor
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.sparql import Query

_ORIGINAL = processor.SPARQLProcessor.query


@functools.lru_cache(maxsize=512)
def _translated(text: str, base: str | None, ns: tuple[tuple[str, Any], ...]) -> Query:
    return translateQuery(parseQuery(text), base, dict(ns))


def _query(self: processor.SPARQLProcessor, str_or_query: str | Query,
           initBindings: Mapping[str, Any] | None = None,
           initNs: Mapping[str, Any] | None = None,
           base: str | None = None, DEBUG: bool = False) -> Mapping[str, Any]:
    """SPARQLProcessor.query (same arguments, rdflib's names), with the translation cached."""
    if isinstance(str_or_query, str):
        ns = tuple(sorted((str(k), v) for k, v in (initNs or {}).items()))
        str_or_query = _translated(str_or_query, base, ns)
    return _ORIGINAL(self, str_or_query, initBindings, initNs, base, DEBUG)


@contextmanager
def prepared_queries() -> Iterator[None]:
    """Within this block, rdflib parses a SPARQL text only the first time it sees it."""
    if processor.SPARQLProcessor.query is _query:  # already on (nested use)
        yield
        return
    processor.SPARQLProcessor.query = _query  # type: ignore[method-assign]
    try:
        yield
    finally:
        processor.SPARQLProcessor.query = _ORIGINAL  # type: ignore[method-assign]
