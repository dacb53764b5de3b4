"""`kb query` is as safe as the endpoint: a child process under a time limit, a row limit and
no network; a crash, a runaway query or a bad parameter is a one-line message and exit 2."""

from __future__ import annotations

import csv
import io
import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path

import pyoxigraph as ox
import pytest
from serving import LoopbackListener

import kb.query.run
from kb.build.cache import writable_store
from kb.build.run import cache_dir
from kb.core.paths import ROOT, SEEDS
from kb.query.run import PARAMS_GRAPH, Result, bind, cell, find_query, format_result
from kb.serve.child import QueryJob, child_main

KB = [sys.executable, "-m", "kb"]


def kb_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(KB + list(args), cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def rq(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / f"{name}.rq"
    path.write_text(text, encoding="utf-8")
    return str(path)


def one_line_error(result: subprocess.CompletedProcess[str], words: str) -> None:
    """Exit 2, nothing on stdout, and a message (no traceback) that says `words`."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert words in result.stderr
    assert result.stderr.rstrip().endswith("kb: error")


@pytest.fixture(scope="module", autouse=True)
def current_cache() -> None:
    """One build of the curated seeds in the cache, so each `kb query` below reuses it."""
    result = kb_cli("validate")
    assert result.returncode == 0, result.stderr


def test_a_runaway_query_is_stopped_at_the_time_limit(tmp_path: Path) -> None:
    cross = rq(tmp_path, "cross", "SELECT (COUNT(*) AS ?n) WHERE "
                                  "{ ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }\n")
    started = time.monotonic()
    result = kb_cli("query", cross, "--timeout", "1")
    one_line_error(result, "query timed out: stopped after 1 s")
    assert time.monotonic() - started < 60  # the query alone would run for hours


def test_too_many_rows_is_refused(tmp_path: Path) -> None:
    many = rq(tmp_path, "many", "SELECT ?s WHERE { ?s ?p ?o }\n")
    one_line_error(kb_cli("query", many, "--max-rows", "5"), "more than 5 rows")
    few = rq(tmp_path, "few", "SELECT ?s WHERE { ?s ?p ?o } LIMIT 5\n")
    ok = kb_cli("query", few, "--max-rows", "5", "--format", "csv")
    assert ok.returncode == 0 and len(ok.stdout.splitlines()) == 6


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def test_a_crash_of_the_engine_is_a_message(tmp_path: Path) -> None:
    """The engine's process dying (SIGSEGV, as Oxigraph does on a stack overflow) is reported
    as such, with exit 2 and no traceback."""
    cross = rq(tmp_path, "cross", "SELECT (COUNT(*) AS ?n) WHERE "
                                  "{ ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }\n")
    proc = subprocess.Popen(KB + ["query", cross, "--timeout", "120"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        victims: list[int] = []
        while not victims and time.monotonic() < deadline:
            time.sleep(0.2)
            # the query child: a process of kb's that is not multiprocessing's tracker
            victims = [c for c in _children(proc.pid)
                       if b"resource_tracker" not in Path(f"/proc/{c}/cmdline").read_bytes()]
        assert victims, "no query child appeared"
        time.sleep(3)  # let it build the KB and start the query
        os.kill(victims[0], signal.SIGSEGV)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    result = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    one_line_error(result, "the query engine crashed (SIGSEGV)")


@pytest.mark.parametrize(("header", "param", "words"), [
    ("# @param n integer a number", "n=twelve", "'twelve' is not an integer"),
    ("# @param d date a day", "d=2025-02-30", "'2025-02-30' is not a real date"),
    ("# @param d date a day", "d=2025-2-3", "is not a date YYYY-MM-DD"),
    ("# @param x string a word", "x=1", "not among the query's SELECT variables"),
    ("# @param a iri an entity", "a=not an iri", "neither an id nor an absolute IRI"),
])
def test_parameter_errors_are_one_line(tmp_path: Path, header: str, param: str,
                                       words: str) -> None:
    q = rq(tmp_path, "p", f"# a query\n{header}\nSELECT ?s WHERE {{ ?s ?p ?o }} LIMIT 1\n")
    one_line_error(kb_cli("query", q, "--param", param), words)


def test_every_result_term_prints(tmp_path: Path) -> None:
    q = rq(tmp_path, "terms", 'SELECT ?b ?l WHERE { BIND(BNODE() AS ?b) BIND("x"@de AS ?l) }\n')
    for fmt in ("table", "csv", "tsv"):
        result = kb_cli("query", q, "--format", fmt)
        assert result.returncode == 0, result.stderr
        assert "_:" in result.stdout
    doc = json.loads(kb_cli("query", q, "--format", "json").stdout)
    row = doc["results"]["bindings"][0]
    assert row["b"]["type"] == "bnode" and row["b"]["value"]
    assert row["l"] == {"type": "literal", "value": "x", "xml:lang": "de"}


def test_triple_terms_print() -> None:
    """RDF 1.2 triple terms (which the guard's parser cannot read in a query, but a store
    may hold) print in every format."""
    t = ox.Triple(ox.NamedNode("urn:a"), ox.NamedNode("urn:b"), ox.Literal("c", language="en"))
    result = Result(["t"], [[cell(t)]])
    shown = '<< <urn:a> <urn:b> "c"@en >>'
    assert shown in format_result(result, "table")
    for fmt, sep in (("csv", ","), ("tsv", "\t")):
        rows = list(csv.reader(io.StringIO(format_result(result, fmt)), delimiter=sep))
        assert rows == [["t"], [shown]]
    doc = json.loads(format_result(result, "json"))
    assert doc["results"]["bindings"][0]["t"] == {"type": "triple", "value": {
        "subject": {"type": "uri", "value": "urn:a"},
        "predicate": {"type": "uri", "value": "urn:b"},
        "object": {"type": "literal", "value": "c", "xml:lang": "en"}}}


@pytest.mark.parametrize("template", [
    "SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ SERVICESILENT<{url}> {{ ?s ?p ?o }} }}",
    "PREFIX r: <{url}#>\nSELECT * WHERE {{ SERVICEr:x {{ ?s ?p ?o }} }}",
    'SELECT ?x WHERE {{ BIND("#" AS ?x) SERVICE <{url}> {{ ?s ?p ?o }} }}',
    "SELECT * WHERE {{ SERVICE <file:///etc/passwd> {{ ?s ?p ?o }} }}",
])
def test_service_is_refused_and_nothing_connects(tmp_path: Path, template: str) -> None:
    listener = LoopbackListener()
    try:
        q = rq(tmp_path, "remote", template.format(url=listener.url) + "\n")
        one_line_error(kb_cli("query", q), "SERVICE is refused")
        time.sleep(0.3)
        assert listener.connections == []
    finally:
        listener.close()


# -- parameters reach the engine as data, in the child that runs the query ----------------
def _spying_child(conn: Connection, job: QueryJob, spy: Connection) -> None:
    """child_main, with the text the engine is given sent back over `spy`."""
    real = kb.query.run.entry_points

    @contextmanager
    def recording(store, text, params):  # type: ignore[no-untyped-def]
        with real(store, text, params) as given:
            spy.send(given)
            yield given
    kb.query.run.entry_points = recording  # type: ignore[assignment]
    child_main(conn, job)


def _run_spied(job: QueryJob) -> tuple[tuple, list[str]]:
    ctx = mp.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    spied, spy = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_spying_child, args=(sender, job, spy))
    proc.start()
    sender.close()
    spy.close()
    while True:
        assert receiver.poll(300)
        message = receiver.recv()
        if message[0] != "started":
            break
    texts = []
    try:
        while spied.poll(5):
            texts.append(spied.recv())
    except EOFError:  # the child has finished
        pass
    proc.join(30)
    return message, texts


def test_query_gives_parameters_as_data_and_leaves_the_cache_as_it_was() -> None:
    """`kb query`'s child opens the build cache's store for writing, so the engine gets the
    `# @entry` patterns; the parameters' graph is gone afterwards; and while something else
    holds the cache's lock, the answer is the same without them."""
    q = find_query("sanction-status-on-date")
    job = QueryJob(SEEDS, cache_dir(), q, bind(q, {"actor": "kirill-dmitriev",
                                                   "date": "2025-04-02"}), "csv")
    first, texts = _run_spied(job)
    assert first[0] == "done", first
    assert "Suspension dmitriev-sanctions-suspension-2025-04" in first[1]
    assert texts and f"GRAPH <{PARAMS_GRAPH}>" in texts[-1]  # parameters went in as data
    with writable_store(SEEDS, cache_dir()) as store:
        assert store is not None
        assert ox.NamedNode(PARAMS_GRAPH) not in set(store.named_graphs())
        store.flush()
        del store
    with writable_store(SEEDS, cache_dir()) as held:  # the cache is busy: built without it
        assert held is not None
        again, texts = _run_spied(job)
    assert again == first


def test_the_cli_states_the_child_process_defaults() -> None:
    """kb/cli/query.py repeats kb.serve.child's limits (so `kb query --help` needs no KB)."""
    from kb.cli import query as cli_query
    from kb.serve import child
    assert cli_query.DEFAULT_TIMEOUT == child.DEFAULT_TIMEOUT
    assert cli_query.DEFAULT_MAX_ROWS == child.DEFAULT_MAX_ROWS
