"""Map records to RDF on several cores: forked workers turn runs of records (a seed file at a
time) into triples and Turtle blocks; the parent takes them in seed order, so the store, the
block file and every record's cache entry come out as a one-process build makes them."""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice

from kb.rdf.stream import Mapped, Mapper
from kb.seeds.check import Record

SPAN = 400  # records per task at most: small enough to balance two workers, large enough
# that the parent's share (pickling, bulk loads) stays small

_state: tuple[Mapper, list[Record]] | None = None  # what forked workers inherit


class MadeUpPrefix(Exception):
    """rdflib made up a prefix while naming records apart: map them in one process."""


def spans(records: list[Record], size: int = SPAN) -> list[tuple[int, int]]:
    """Runs of consecutive records of one seed file, at most `size` long."""
    out: list[tuple[int, int]] = []
    start = 0
    for i in range(1, len(records) + 1):
        if i == len(records) or records[i].file != records[start].file or i - start == size:
            out.append((start, i))
            start = i
    return out


def _work(span: tuple[int, int]) -> tuple[list[Mapped], dict[str, str], bool]:
    assert _state is not None
    mapper, records = _state
    col = mapper.col
    got = []
    for rec in records[span[0]:span[1]]:
        got.append(mapper.map(rec))
        col.origin.clear()  # kept in each Mapped
        col.source_of.clear()
    return got, mapper.namer.used, mapper.namer.made_up()


def mapped(mapper: Mapper, records: list[Record], jobs: int) -> Iterator[tuple[Record, Mapped]]:
    """Each record with its mapping, in order, mapped by `jobs` forked workers (a few spans
    ahead of the caller). Raises MadeUpPrefix (before the caller takes a record whose names
    could differ) if a worker's names depend on what it named before."""
    global _state
    _state = (mapper, records)  # before the first submit forks the workers
    todo = iter(spans(records))
    pending: deque[tuple[tuple[int, int], Future]] = deque()
    try:
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
            try:
                for span in islice(todo, 2 * jobs):
                    pending.append((span, pool.submit(_work, span)))
                while pending:
                    (a, b), future = pending.popleft()
                    got, used, made_up = future.result()
                    for span in islice(todo, 1):
                        pending.append((span, pool.submit(_work, span)))
                    if made_up:
                        raise MadeUpPrefix
                    mapper.namer.used.update(used)  # the PREFIX lines kb.ttl needs
                    yield from zip(records[a:b], got, strict=True)
            finally:  # stopped early: what has not started never will
                for _, future in pending:
                    future.cancel()
    finally:
        _state = None
