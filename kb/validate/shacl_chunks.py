"""pySHACL where SPARQL does not reach: on the whole graph, or a few records at a time.

The core shapes that kb.validate.core cannot compile run in pySHACL. With a chunk plan
(kb.validate.chunks) each chunk of records is validated together with what the shapes read
of the nodes it links to, in forked workers; otherwise the graph is validated whole.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
from collections.abc import Callable
from typing import Any

from pyshacl import validate as shacl_validate
from rdflib import RDF, Graph, URIRef
from rdflib.term import Node

from kb.core.errors import InputError, Problem
from kb.core.paths import SHAPES_DIR
from kb.validate.chunks import _TYPE, SH, ChunkPlan
from kb.validate.report import RawIssue, _short
from kb.validate.rules import Plan

_WORK: dict[str, Any] = {}  # what forked workers need, set before the pool starts


def core_issues(data: Graph, the_plan: Plan, owned: set[Node] | None = None) -> list[RawIssue]:
    """pySHACL with the core shapes on `data` (consumed: the ontology is mixed into it).

    With `owned`, data is one chunk already marked by kb.chunks, and only results whose focus
    node is in `owned` are kept."""
    data.addN((s, p, o, data) for s, p, o in the_plan.ontology)
    shapes = the_plan.rest if owned is None else the_plan.chunks.shapes  # type: ignore[union-attr]
    _, results, text = shacl_validate(
        data, shacl_graph=shapes, inference="none", allow_warnings=True,
        abort_on_first=False, meta_shacl=False, inplace=True)
    if not isinstance(results, Graph):
        raise InputError(Problem(str(SHAPES_DIR), None, None, f"the shapes are broken: {text}"))
    out = []
    for r in results.subjects(RDF.type, SH.ValidationResult):
        focus = results.value(r, SH.focusNode)
        if owned is not None and focus not in owned:
            continue
        comp = results.value(r, SH.sourceConstraintComponent)
        out.append(RawIssue(
            severity=str(results.value(r, SH.resultSeverity)).rsplit("#", 1)[-1],
            focus=focus, path=results.value(r, SH.resultPath),
            message=str(results.value(r, SH.resultMessage) or "constraint not met"),
            component=_short(results, comp) or ""))
    return out


def validate_chunk(rids: list[str]) -> list:
    """pySHACL on some records, with what the shapes read of the nodes they link to.

    _WORK holds: triples (rid -> its triples), ext (node IRI -> its triples), plan."""
    the_plan = _WORK["plan"]
    g = Graph()
    cp: ChunkPlan | None = the_plan.chunks
    nodes: dict[Node, tuple[set[str], set[str]]] = {}
    objects: set = set()
    for rid in rids:
        for s, p, o in _WORK["triples"](rid):
            g.add((s, p, o))
            types, preds = nodes.get(s) or nodes.setdefault(s, (set(), set()))
            preds.add(str(p))
            if type(o) is URIRef:
                objects.add(o)
                if str(p) == _TYPE:
                    types.add(str(o))
    if cp is None:  # the shapes read too far: this is the whole graph
        return core_issues(g, the_plan)
    for node, (types, preds) in nodes.items():
        cp.mark(g, node, types, preds)
    for node in objects - nodes.keys():
        for t in _WORK["ext"](node, cp.ext_predicates):
            g.add(t)
    return core_issues(g, the_plan, set(nodes))


def run_chunks(chunks: list[list[str]], jobs: int, **work: Any) -> Callable[[], list]:
    """Start pySHACL on the chunks (forked workers when jobs > 1); call the result to wait."""
    _WORK.clear()
    _WORK.update(work)
    if jobs > 1 and len(chunks) > 1:
        gc.freeze()  # forked workers then share the parent's objects instead of copying them
        pool = mp.get_context("fork").Pool(min(jobs, len(chunks)))
        gc.unfreeze()
        pending = pool.map_async(validate_chunk, chunks, chunksize=1)

        def results() -> list:
            try:
                return [r for part in pending.get() for r in part]
            finally:
                pool.close()
                pool.join()
        return results
    return lambda: [r for c in chunks for r in validate_chunk(c)]


