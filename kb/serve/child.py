"""`kb query` in a child process: a time limit, a row limit, a memory cap and no network.

The parent forks the child after its own imports, so the child starts at once (it spawns a fresh
interpreter instead when it has other threads: `start_method`). When dist/ is
the current build of the seeds (kb.build.current), the parent hands the child that kb.ttl and
Oxigraph terms, and the child loads it into an in-memory store and runs the query with
kb.query.lean: no rdflib, no pipeline. Otherwise the child builds (or reuses) the validated
KB from build-cache/ as `kb validate` does and opens its store. Either way it then closes off
the network (kb.sandbox), caps its address space, says it has started, and runs the query,
which the parent has screened with kb.guard. The parent waits: a query still running at the
time limit has its child killed, and a child that dies (a segfault in the engine, the memory
cap) becomes a one-line message. Either way the exit code is 2 and nothing is printed on
stdout.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

from kb.core.errors import KBError
from kb.query.lean import QueryFile

if TYPE_CHECKING:
    import pyoxigraph as ox
    from rdflib.term import Node

DEFAULT_TIMEOUT = 60.0  # kb query's --timeout
DEFAULT_MAX_ROWS = 100_000  # kb query's --max-rows
DEFAULT_MAX_MEMORY = 4 * 2**30


class QueryFailed(KBError):
    """The query could not be answered; the message says why, the exit code how it ended."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class QueryJob:
    """One `kb query` run: where the KB comes from, the query, and its limits."""

    seeds_dir: Path
    cache_dir: Path
    query: QueryFile
    # rdflib's terms; Oxigraph's with kb_ttl
    bindings: dict[str, Node] | dict[str, ox.NamedNode | ox.Literal]
    fmt: str = "table"
    timeout: float = DEFAULT_TIMEOUT
    max_rows: int = DEFAULT_MAX_ROWS
    max_memory: int = DEFAULT_MAX_MEMORY
    allow_network: bool = False
    kb_ttl: bytes | None = None  # a current build's kb.ttl (kb.build.current): query it
    base: str = ""  # with kb_ttl: the seed schema's base IRI (the table shortens ids)


def _wall_in(job: QueryJob) -> None:
    from kb.query import sandbox

    if not job.allow_network:
        sandbox.deny_network()
    if job.max_memory:
        sandbox.cap_memory(job.max_memory)


def _from_build(conn: Connection, job: QueryJob) -> str:
    """The answer from the current build's kb.ttl, in a store of this process's own."""
    import pyoxigraph as ox

    from kb.query.lean import format_rows, has_triples, run_ox

    store = ox.Store()
    store.load(job.kb_ttl, format=ox.RdfFormat.TURTLE)
    _wall_in(job)
    conn.send(("started",))
    cols, rows = run_ox(store, job.query, job.bindings,  # type: ignore[arg-type]
                        max_rows=job.max_rows)
    if has_triples(rows):  # RDF 1.2 triple terms, rare: printed by rdflib's terms
        from kb.query.run import Result, cell, format_result

        return format_result(Result(cols, [[cell(t) for t in row] for row in rows]), job.fmt)
    return format_rows(cols, rows, job.fmt, job.base)


def _from_seeds(conn: Connection, job: QueryJob) -> str:
    """The answer from the validated seeds, built or reused from build-cache/."""
    from kb.build import run as build_mod
    from kb.build.cache import writable_store
    from kb.query.run import format_result, run

    built = build_mod.check(job.seeds_dir, cache=job.cache_dir)
    with writable_store(job.seeds_dir, job.cache_dir) as store:  # None: the read-only one
        _wall_in(job)
        conn.send(("started",))
        result = run(store or built.store, job.query, job.bindings,  # type: ignore[arg-type]
                     max_rows=job.max_rows)
    return format_result(result, job.fmt)


def child_main(conn: Connection, job: QueryJob) -> None:
    """The child's side: load or build the KB, wall it in, run the query, send the text."""
    from kb.query import sandbox

    try:
        text = _from_build(conn, job) if job.kb_ttl is not None else _from_seeds(conn, job)
        conn.send(("done", text))
    except KBError as exc:
        conn.send(("error", exc.exit_code, str(exc)))
    except MemoryError:
        conn.send(("error", 2, f"{job.query.path}: the query ran out of memory (over "
                               f"{job.max_memory // 2**20} MiB)"))
    except sandbox.SandboxError as exc:
        conn.send(("error", 2, str(exc)))
    finally:
        conn.close()


def start_method() -> str:
    """"fork" when this process has a single thread (the `kb` command): the child starts with
    the parent's imports. A process with more threads (a program running `kb query`
    in-process, with an open store's threads, say) would fork locks some thread holds: the
    child is spawned then, as a fresh interpreter."""
    try:
        single = len(os.listdir("/proc/self/task")) == 1
    except OSError:
        single = False
    return "fork" if single else "spawn"


def run_query(job: QueryJob) -> str:
    """The formatted result of `job`, computed in a child process; QueryFailed otherwise."""
    ctx = mp.get_context(start_method())
    sys.stdout.flush()  # nothing buffered may be written twice (fork)
    sys.stderr.flush()
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=child_main, args=(sender, job), name="kb-query")
    proc.start()
    sender.close()
    deadline: float | None = None
    try:
        while True:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not receiver.poll(wait):
                raise QueryFailed(f"{job.query.path}: query timed out: stopped after "
                                  f"{job.timeout:g} s (raise it with --timeout)")
            try:
                message = receiver.recv()
            except EOFError:
                raise QueryFailed(_death(proc, job)) from None
            if message[0] == "started":
                deadline = time.monotonic() + job.timeout
            elif message[0] == "done":
                return message[1]
            else:
                raise QueryFailed(message[2], message[1])
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
        receiver.close()


def _death(proc: mp.process.BaseProcess, job: QueryJob) -> str:
    proc.join(5)
    code = proc.exitcode
    if code is not None and code < 0:
        try:
            how = signal.Signals(-code).name
        except ValueError:
            how = f"signal {-code}"
        return (f"{job.query.path}: the query engine crashed ({how}); no result. A query "
                "nested very deeply or a bug in the engine can do this")
    return f"{job.query.path}: the query process ended without an answer (exit {code})"
