"""Run untrusted SPARQL queries with pyoxigraph in worker processes, under hard limits.

pyoxigraph cannot interrupt a running query from another thread, so each query runs in a
worker process of its own (a small pool). The KB is loaded once, into an on-disk Oxigraph
store (RocksDB) in a temporary folder (`DiskStore`). Each worker, and the entity pages, open
a copy of their own made of hard links to its immutable table files: the operating system's
page cache holds those files once for all, so memory does not grow with the pool, and a
replaced worker is ready in well under a second. A copy is opened read-write because a named
query's `# @entry` parameters are written into the store for the query's run (kb.query.run.
entry_points); the writes stay in that copy. A query that is
still running at the time limit has its worker killed and replaced; the client gets a 503.
Results are capped in rows (triples for CONSTRUCT/DESCRIBE) and bytes while they stream, and
a worker's address space is capped too, so no query can exhaust the server's memory.
Every query passes kb.guard first (read-only, no SERVICE) inside the worker, under the same
time limit.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import shutil
import tempfile
import threading
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from kb.query import guard, sandbox
from kb.query.run import entry_points
from kb.rdf.terms import DATA_FORMATS, load_store
from kb.serve.conneg import choose

TEXT = "text/plain; charset=utf-8"
STARTUP_TIMEOUT = 900.0  # loading the KB: a minute or more at 10^5 facts on a busy machine

RESULT_FORMATS = {
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "application/xml": ox.QueryResultsFormat.XML,
    "text/xml": ox.QueryResultsFormat.XML,
    "text/csv": ox.QueryResultsFormat.CSV,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}
GRAPH_FORMATS = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "text/plain": ox.RdfFormat.N_TRIPLES,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
    "application/ld+json": ox.RdfFormat.JSON_LD,
}
# The non-standard `format` request parameter (handy in a browser's URL bar, and sent by
# clients such as SPARQLWrapper): a short name stands for an Accept header. Each offers a
# results format and a graph format, as the query's form decides which applies.
FORMAT_NAMES = {
    "json": "application/sparql-results+json, application/ld+json",
    "xml": "application/sparql-results+xml, application/rdf+xml",
    "csv": "text/csv", "tsv": "text/tab-separated-values",
    "turtle": "text/turtle", "ttl": "text/turtle", "n3": "text/turtle",
    "ntriples": "application/n-triples", "nt": "application/n-triples",
    "rdfxml": "application/rdf+xml", "jsonld": "application/ld+json",
}


def accept_for(format_param: str | None, accept_header: str | None) -> str:
    """The Accept value to negotiate with: the `format` parameter if it is understood."""
    if format_param:
        if format_param in FORMAT_NAMES:
            return FORMAT_NAMES[format_param]
        if format_param.count("/") == 1 and " " not in format_param:
            return format_param
    return accept_header or "*/*"


@dataclass(frozen=True)
class Limits:
    """What one query may use. allow_network lets SERVICE through (operator's choice only)."""

    timeout: float = 10.0
    max_rows: int = 10_000
    max_bytes: int = 64 * 2**20
    max_memory: int = 2 * 2**30
    allow_network: bool = False


# An RDF term for a binding: ("iri", value) or ("literal", value, datatype IRI, language).
Term = tuple[str, ...]


@dataclass(frozen=True)
class Job:
    """One query request, as the protocol layer parsed it."""

    query: str
    accept: str = "*/*"
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    bindings: tuple[tuple[str, Term], ...] = ()
    base_iri: str | None = None  # resolves relative IRIs in the query (the endpoint's URL)


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes

    @classmethod
    def error(cls, status: int, message: str) -> Answer:
        return cls(status, TEXT, (message.rstrip("\n") + "\n").encode("utf-8"))


@dataclass(frozen=True)
class WorkerConfig:
    data: Path  # Turtle file holding the KB
    limits: Limits = field(default_factory=Limits)
    prefixes: tuple[tuple[str, str], ...] = ()
    store: Path | None = None  # the worker's own copy of a DiskStore (DiskStore.copy)


class WorkerError(Exception):
    pass


def _bulk_load(conn: Connection, data: Path, path: Path) -> None:
    """DiskStore's loader (a child process): sends "" when the store is written, or why not."""
    try:
        store = ox.Store(str(path))
        store.bulk_load(path=str(data),
                        format=DATA_FORMATS.get(data.suffix.lower(), ox.RdfFormat.TURTLE))
        store.optimize()
        store.flush()
        del store  # closed, so that copies of its files are a whole store
    except (OSError, SyntaxError, ValueError) as exc:
        conn.send(f"{type(exc).__name__}: {exc}")
        return
    conn.send("")


class DiskStore:
    """`data` bulk-loaded into an on-disk Oxigraph store in a new temporary folder (under
    $TMPDIR, which must be on a disk: on a tmpfs the files would take RAM); `copy` gives each
    query worker and the entity pages a store of their own that shares its table files.
    `close` deletes it all."""

    def __init__(self, data: Path, parent: Path | None = None):
        self.folder = Path(tempfile.mkdtemp(prefix="kb-serve-", dir=parent))
        self.path = self.folder / "store"
        # Loaded in a child process: the loader's buffers (a gigabyte at 10^5 facts) go back
        # to the system when it exits, where the allocator would keep them in the server.
        ctx = mp.get_context("spawn")
        conn, child = ctx.Pipe()
        proc = ctx.Process(target=_bulk_load, args=(child, data, self.path), daemon=True,
                           name="kb-store-loader")
        proc.start()
        child.close()
        try:
            message = conn.recv() if conn.poll(STARTUP_TIMEOUT) else "timed out"
        except (EOFError, OSError):
            message = "the loader died"
        finally:
            proc.join(30)
            if proc.is_alive():
                proc.kill()
            conn.close()
        if message:
            self.close()
            raise WorkerError(f"could not load the KB: {message}")

    def copy(self) -> Path:
        """A new store folder with the same data: hard links to the (immutable) table files,
        copies of the small bookkeeping files. The loaded store was closed, so it is whole."""
        dest = Path(tempfile.mkdtemp(prefix="copy-", dir=self.folder))
        for f in self.path.iterdir():
            if f.suffix == ".sst":
                os.link(f, dest / f.name)
            elif f.name != "LOCK":
                shutil.copy2(f, dest / f.name)
        return dest

    def open(self) -> ox.Store:
        return ox.Store(str(self.copy()))

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class _TooLarge(Exception):
    pass


class _CappedBuffer:
    """A write-only byte sink that stops the serializer once a row or byte cap is passed."""

    def __init__(self, max_bytes: int, max_lines: int | None):
        self.data = bytearray()
        self.lines = 0
        self.max_bytes = max_bytes
        self.max_lines = max_lines
        self.exceeded: str | None = None

    def write(self, chunk: bytes) -> int:
        self.data += chunk
        self.lines += chunk.count(b"\n")
        if len(self.data) > self.max_bytes:
            self.exceeded = "bytes"
        elif self.max_lines is not None and self.lines > self.max_lines:
            self.exceeded = "rows"
        if self.exceeded:
            raise _TooLarge(self.exceeded)
        return len(chunk)

    def flush(self) -> None:
        pass


def _too_large(what: str, limits: Limits) -> Answer:
    if what == "bytes":
        size = f"more than {limits.max_bytes // 2**20} MiB"
    else:
        size = f"more than {limits.max_rows} rows"
    return Answer.error(413, f"result too large: {size} (the server's limit). Add a LIMIT to "
                             "the query, or ask the operator to raise kb serve --max-rows.")


def _ox_term(term: Term) -> ox.NamedNode | ox.Literal:
    if term[0] == "iri":
        return ox.NamedNode(term[1])
    _, value, datatype, language = term
    if language:
        return ox.Literal(value, language=language)
    return ox.Literal(value, datatype=ox.NamedNode(datatype) if datatype else None)


def execute(store: ox.Store, job: Job, config: WorkerConfig) -> Answer:
    """Screen, run and serialize one query. Runs inside a worker (or in-process in tests)."""
    limits = config.limits
    try:
        guard.check(job.query, allow_network=limits.allow_network)
    except guard.Refused as exc:
        return Answer.error(exc.status, exc.message)
    options: dict[str, Any] = {}
    try:
        if job.default_graphs:
            options["default_graph"] = [ox.NamedNode(g) for g in job.default_graphs]
        if job.named_graphs:
            options["named_graphs"] = [ox.NamedNode(g) for g in job.named_graphs]
        if job.bindings:
            options["substitutions"] = {ox.Variable(n): _ox_term(t) for n, t in job.bindings}
    except ValueError as exc:
        return Answer.error(400, f"bad graph IRI or parameter: {exc}")
    try:
        subs = options.get("substitutions", {})
        with entry_points(store, job.query, {v.value: t for v, t in subs.items()}) as text:
            if job.base_iri:
                options["base_iri"] = job.base_iri
            result = store.query(text, **options)
            if isinstance(result, ox.QuerySolutions):
                return _solutions(result, job.accept, limits)
            if isinstance(result, ox.QueryBoolean):
                return _boolean(result, job.accept)
            return _triples(result, job.accept, config)
    except SyntaxError as exc:
        return Answer.error(400, f"SPARQL syntax error: {exc}")
    except _TooLarge as exc:
        return _too_large(str(exc), limits)
    except PermissionError:  # the sandbox stopped a connection the guard did not foresee
        return Answer.error(400, "query refused: it tried to open a network connection, and "
                                 "query workers have no network")
    except (OSError, ValueError, TypeError, RuntimeError) as exc:
        return Answer.error(500, f"query failed: {exc}")


def _not_acceptable(offers: dict[str, Any]) -> Answer:
    return Answer.error(406, "not acceptable: this result can be sent as "
                             + ", ".join(offers))


def _solutions(result: ox.QuerySolutions, accept: str, limits: Limits) -> Answer:
    media = choose(accept, list(RESULT_FORMATS))
    if media is None:
        return _not_acceptable(RESULT_FORMATS)
    # Stream to TSV first (lossless, one line per row) so rows and bytes can be capped while
    # the engine produces them; then convert to the format the client asked for.
    sink = _CappedBuffer(limits.max_bytes, limits.max_rows + 1)
    try:
        result.serialize(sink, ox.QueryResultsFormat.TSV)
    except Exception:
        if sink.exceeded:
            return _too_large(sink.exceeded, limits)
        raise
    fmt = RESULT_FORMATS[media]
    tsv = bytes(sink.data)
    if fmt == ox.QueryResultsFormat.TSV:
        body = tsv
    else:
        parsed = ox.parse_query_results(tsv, ox.QueryResultsFormat.TSV)
        body = parsed.serialize(format=fmt)
    return Answer(200, _with_charset(fmt.media_type), body)


def _boolean(result: ox.QueryBoolean, accept: str) -> Answer:
    media = choose(accept, list(RESULT_FORMATS))
    if media is None:
        return _not_acceptable(RESULT_FORMATS)
    fmt = RESULT_FORMATS[media]
    return Answer(200, _with_charset(fmt.media_type), result.serialize(format=fmt))


def _triples(result: ox.QueryTriples, accept: str, config: WorkerConfig) -> Answer:
    media = choose(accept, list(GRAPH_FORMATS))
    if media is None:
        return _not_acceptable(GRAPH_FORMATS)
    limits = config.limits
    triples = []
    for t in result:
        triples.append(t)
        if len(triples) > limits.max_rows:
            return _too_large("rows", limits)
    fmt = GRAPH_FORMATS[media]
    prefixes = dict(config.prefixes) if fmt == ox.RdfFormat.TURTLE else None
    body = ox.serialize(triples, format=fmt, prefixes=prefixes)
    if len(body) > limits.max_bytes:
        return _too_large("bytes", limits)
    return Answer(200, _with_charset(fmt.media_type), body)


def _with_charset(media: str) -> str:
    return media if "charset" in media else f"{media}; charset=utf-8"


def open_store(config: WorkerConfig) -> ox.Store:
    """The worker's copy of the on-disk store; or, without one, the data loaded in memory."""
    if config.store is not None:
        return ox.Store(str(config.store))
    return load_store(config.data)


def worker_main(conn: Connection, config: WorkerConfig) -> None:
    """A worker's life: close off the network, open the KB, say ready, then answer jobs
    until the pipe closes. A worker that cannot close off the network never says ready."""
    try:
        if not config.limits.allow_network:
            sandbox.deny_network()
        store = open_store(config)
        guard.check("ASK {}")  # warm up the guard's parser before the first real query
        if config.limits.max_memory:  # what a query may add to the loaded KB
            sandbox.cap_memory(config.limits.max_memory)
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which fails loudly
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", ""))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        try:
            answer = execute(store, job, config)
        except MemoryError:
            answer = Answer.error(500, "query failed: it ran out of memory")
        conn.send(answer)


class _Worker:
    def __init__(self, ctx: Any, config: WorkerConfig):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=worker_main, args=(child, config), daemon=True,
                                name="kb-sparql-worker")
        self.proc.start()
        child.close()
        self.ready = False
        self.memory_limit = config.limits.max_memory
        self.store = config.store

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT) -> None:
        if self.ready:
            return
        try:
            if not self.conn.poll(timeout):
                raise WorkerError(f"query worker did not start within {timeout:.0f} s")
            status, message = self.conn.recv()
        except (EOFError, OSError):
            raise WorkerError("query worker died while starting") from None
        if status != "ready":
            raise WorkerError(f"query worker could not load the KB: {message}")
        self.ready = True

    def run(self, job: Job, timeout: float) -> Answer | None:
        """The answer, or None if the query was still running at the time limit."""
        self.wait_ready()
        try:
            self.conn.send(job)
            if not self.conn.poll(timeout):
                return None
            return self.conn.recv()
        except (EOFError, OSError):
            mem = self.memory_limit // 2**20
            raise WorkerError(f"the query worker died, most likely over its memory limit "
                              f"({mem} MiB)") from None

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()


class Engine:
    """A pool of query workers. Thread-safe: each request borrows one idle worker.

    Given a DiskStore, each worker opens a copy of it (config.store) and `close` deletes it;
    without one, each worker loads config.data into memory."""

    def __init__(self, config: WorkerConfig, workers: int = 2, disk: DiskStore | None = None):
        self.config = config
        self.disk = disk
        self._ctx = mp.get_context("spawn")
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        for _ in range(max(1, workers)):
            self._idle.put(self._spawn())

    @property
    def limits(self) -> Limits:
        return self.config.limits

    def _spawn(self) -> _Worker:
        config = self.config
        if self.disk is not None:  # a copy of its own (a killed worker's copy is deleted)
            config = replace(config, store=self.disk.copy())
        w = _Worker(self._ctx, config)
        with self._lock:
            self._all.add(w)
        return w

    def _retire(self, w: _Worker) -> None:
        w.kill()
        if w.store is not None:
            shutil.rmtree(w.store, ignore_errors=True)
        with self._lock:
            self._all.discard(w)

    def wait_ready(self) -> None:
        """Block until every worker has loaded the KB; raise WorkerError if one cannot."""
        with self._lock:
            workers = list(self._all)
        for w in workers:
            w.wait_ready()

    def run(self, job: Job) -> Answer:
        """Run one job on an idle worker; a worker that overran or died is replaced."""
        timeout = self.limits.timeout
        try:
            w = self._idle.get(timeout=timeout)
        except queue.Empty:
            return Answer.error(503, "all query workers are busy; try again shortly")
        healthy = False
        try:
            answer = w.run(job, timeout)
            healthy = answer is not None
            if answer is None:
                answer = Answer.error(503, f"query timed out: stopped after {timeout:g} s "
                                           "(the server's limit; the operator can change it "
                                           "with kb serve --timeout)")
        except WorkerError as exc:
            answer = Answer.error(500, f"query failed: {exc}")
        finally:
            if not healthy:
                self._retire(w)
                w = self._spawn()
            if self._closed:
                self._retire(w)
            else:
                self._idle.put(w)
        return answer

    def close(self) -> None:
        self._closed = True
        with self._lock:
            workers = list(self._all)
            self._all.clear()
        for w in workers:
            w.kill()
        if self.disk is not None:
            self.disk.close()
