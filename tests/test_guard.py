"""The SERVICE guard fails closed, and the sandbox stops what it might let through.

Attackers' spellings are tried against the guard and, as the oracle, against pyoxigraph
itself with a loopback listener: every query the guard lets through must make no
connection, and the spellings it refuses must be real attacks (pyoxigraph connects for them).
"""

from __future__ import annotations

import multiprocessing as mp
import random
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path

import pyoxigraph as ox
import pytest
from serving import LoopbackListener

from kb.query import guard, sandbox
from kb.serve import engine
from kb.serve.engine import Answer, Job, Limits, WorkerConfig


@pytest.fixture()
def listener() -> Iterator[LoopbackListener]:
    lst = LoopbackListener()
    yield lst
    lst.close()


@pytest.fixture(scope="module")
def store() -> ox.Store:
    s = ox.Store()
    s.add(ox.Quad(ox.NamedNode("urn:s"), ox.NamedNode("urn:p"), ox.Literal("1")))
    return s


def _run_unguarded(store: ox.Store, query: str) -> None:
    try:
        result = store.query(query)
        if isinstance(result, (ox.QuerySolutions, ox.QueryTriples)):
            list(result)
    except (SyntaxError, OSError, RuntimeError, ValueError):
        pass


def _connects(store: ox.Store, query: str, listener: LoopbackListener) -> bool:
    """Oracle: does pyoxigraph, unguarded, open a connection for this query?"""
    before = len(listener.connections)
    _run_unguarded(store, query)
    deadline = time.monotonic() + 0.5
    while len(listener.connections) == before and time.monotonic() < deadline:
        time.sleep(0.01)
    return len(listener.connections) > before


# The spellings the review used to get past the old guard, and more of their kind.
ATTACKS = [
    "SELECT * WHERE {{ SERVICESILENT<{url}> {{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ servicesilent<{url}> {{ ?s ?p ?o }} }}",
    "PREFIX r: <{url}#> SELECT * WHERE {{ SERVICEr:x {{ ?s ?p ?o }} }}",
    "PREFIX r: <{url}#> SELECT * WHERE {{ serviceSILENTr:x {{ ?s ?p ?o }} }}",
    'SELECT ?x WHERE {{ BIND("#" AS ?x) SERVICE <{url}> {{ ?s ?p ?o }} }}',
    "SELECT * WHERE {{ ?s ?p ?o FILTER(?o<?b)SERVICE<{url}>#>\n{{ ?s ?p ?o }} }}",
    "PREFIX ex: <{url}#> SELECT * WHERE {{ ?s ?p ?o FILTER(?o<?b)SERVICEex:x#>\n{{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ ?s ?p ?o FILTER(?o<?b||'>')SERVICE<{url}>{{?s ?p ?o}} #'\n }}",
    "SELECT * WHERE {{ {{}}SERVICE<{url}>{{}} }}",
    "SELECT * WHERE {{ ?s ?p ?o .SERVICE<{url}>{{}} }}",
    "SELECT * WHERE {{ ?s ?p ?o MINUS{{}}Service<{url}>{{}} }}",
]


@pytest.mark.parametrize("template", ATTACKS)
def test_attackers_spellings_are_refused_and_are_real(template: str, store: ox.Store,
                                                      listener: LoopbackListener) -> None:
    query = template.format(url=listener.url)
    with pytest.raises(guard.Refused) as refused:
        guard.check(query)
    assert refused.value.status == 400
    assert _connects(store, query, listener), "not an attack: pyoxigraph does not connect"


@pytest.mark.parametrize("query", [
    'SELECT ?service WHERE { BIND("SERVICE <http://127.0.0.1:1/>" AS ?service) } # SERVICE',
    "SELECT * WHERE { ?s <urn:SERVICE> ?o } LIMIT 1",
    "SELECT * WHERE { ?s ?p '''SERVICE\n<http://127.0.0.1:1/>''' }",
    "SELECT * WHERE { ?s ?p ?o FILTER(?o < 3 && CONTAINS(STR(?o), 'Service')) }",
    "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?s HAVING (COUNT(*) > 1)",
])
def test_service_as_data_is_fine(query: str) -> None:
    guard.check(query)


@pytest.mark.parametrize(("query", "status", "words"), [
    ("PREFIX ex: <urn:x:> SELECT * WHERE { ?s ex:customerService ?o }", 400,
     "ex:customerService"),
    ("SELECT * WHERE { ?s ?p \"unterminated }", 400, "cannot read"),
    ("SELECT * WHERE { ?s ?p ?o } GARBAGE", 400, "syntax error"),
    ("SELECT * WHERE " + "{" * 3000 + "}" * 3000, 400, "3000 levels deep"),
    ("SELECT * WHERE { FILTER(" + "(" * 60 + "1" + ")" * 60 + ") }", 400, "levels deep"),
    # letters that upper-case to SERVICE, and blanks Oxigraph does not take for blanks
    ("SELECT * WHERE { \u017fERVICE <http://127.0.0.1:1/> { } }", 400, "SERVICE is refused"),
    ("SELECT * WHERE { SERV\u0131CE <http://127.0.0.1:1/> { } }", 400, "SERVICE is refused"),
    ("SELECT * WHERE {\u00a0SERVICE\u00a0<http://127.0.0.1:1/> { } }", 400,
     "SERVICE is refused"),
    ("SELECT * WHERE { ?s ?p ?o }\u2028SERVICE <http://127.0.0.1:1/> { }", 400,
     "SERVICE is refused"),
    ("DROP ALL", 403, "read-only"),
    ("LOAD <http://127.0.0.1:1/x>", 403, "read-only"),
])
def test_what_the_guard_cannot_vouch_for_is_refused(query: str, status: int,
                                                    words: str) -> None:
    with pytest.raises(guard.Refused) as refused:
        guard.check(query)
    assert refused.value.status == status
    assert words in refused.value.message


def test_allow_service_lets_service_through() -> None:
    guard.check("SELECT * WHERE { SERVICE <http://127.0.0.1:1/> { ?s ?p ?o } }",
                allow_network=True)


def test_deeply_nested_but_allowed_queries_are_read() -> None:
    """48 levels (the limit) of braces or parentheses parse: rdflib gets the stack it needs."""
    guard.check("SELECT * WHERE " + "{" * 48 + "}" * 48)
    guard.check("SELECT * WHERE { FILTER(" + "(" * 46 + "1" + ")" * 46 + ") }")


def test_escapes_expand_as_oxigraph_expands_them() -> None:
    assert guard.expand_escapes("\\u0053ERVICE") == "SERVICE"
    assert guard.expand_escapes("\\U00000053") == "S"
    assert guard.expand_escapes("\\\\u0053") == "\\\\u0053"  # an escaped backslash stays
    assert guard.expand_escapes("\\uD800") == "\\uD800"  # no lone surrogates


FRAGMENTS_BEFORE = ["", "?s ?p ?o ", "?s ?p ?o .", "{}", "OPTIONAL{}", "MINUS{}",
                    "FILTER(?o<?b)", "FILTER(?o<?b||'>')", "FILTER(1)", 'BIND("#" AS ?x)',
                    "?s <urn:p> 1.", '?s ?p "a"', "# c\n", "?s ?p <urn:a#b> ",
                    "?s ?p ?o FILTER(?o<?b)"]
KEYWORDS = ["SERVICE", "service", "SeRvIcE", "\\u0053ERVICE", "SERV\\u0049CE", "S ERVICE",
            "GRAPH", "graph", "GrApH"]  # GRAPH reads like SERVICE and never connects
GLUES = ["", " ", "\n", "#x\n", "\t"]
SILENTS = ["", "SILENT", "silent", "SILENT "]
TARGETS = ["<{url}>", "r:x", "?e", "r:", "<{url}>#>\n"]


def _fuzz(rng: random.Random, url: str) -> str:
    body = (rng.choice(FRAGMENTS_BEFORE) + rng.choice(KEYWORDS) + rng.choice(GLUES)
            + rng.choice(SILENTS) + rng.choice(GLUES) + rng.choice(TARGETS).format(url=url)
            + rng.choice(GLUES) + "{ ?s ?p ?o }")
    values = "VALUES ?e { <" + url + "> } " if "?e" in body else ""
    return f"PREFIX r: <{url}#> SELECT * WHERE {{ {values}{body} }}"


def _settle(listener: LoopbackListener) -> int:
    """The listener's connection count once it has accepted what is pending."""
    time.sleep(0.5)
    return len(listener.connections)


def test_fuzzed_spellings_accepted_by_the_guard_never_connect(
        store: ox.Store, listener: LoopbackListener) -> None:
    rng = random.Random(13)
    accepted, refused = [], []
    for _ in range(600):
        query = _fuzz(rng, listener.url)
        try:
            guard.check(query)
            accepted.append(query)
        except guard.Refused:
            refused.append(query)
    for query in accepted:
        _run_unguarded(store, query)
    assert _settle(listener) == 0, accepted
    for query in refused:
        _run_unguarded(store, query)
    # the fuzzing is meaningful: many of its queries are real attacks, all refused
    assert _settle(listener) > 100
    assert len(accepted) > 30  # and the harmless ones (GRAPH) go through


# -- the second wall ---------------------------------------------------------------------
def _unguarded_worker(conn: Connection, config: WorkerConfig) -> None:
    """A query worker whose guard lets everything through: only the sandbox stands."""
    guard.check = lambda *args, **kwargs: None  # type: ignore[assignment]
    engine.worker_main(conn, config)


def test_a_worker_cannot_connect_even_when_the_guard_lets_service_through(
        listener: LoopbackListener, tmp_path: Path) -> None:
    data = tmp_path / "kb.ttl"
    data.write_text("<urn:s> <urn:p> 1 .\n", encoding="utf-8")
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_unguarded_worker,
                       args=(child, WorkerConfig(data, Limits(timeout=10))), daemon=True)
    proc.start()
    try:
        assert parent.poll(60) and parent.recv() == ("ready", "")
        query = f"SELECT * WHERE {{ SERVICE <{listener.url}> {{ ?s ?p ?o }} }}"
        parent.send(Job(query))
        assert parent.poll(30)
        answer: Answer = parent.recv()
        assert answer.status == 400
        assert b"no network" in answer.body
        parent.send(Job(query.replace("SERVICE", "SERVICE SILENT")))
        assert parent.poll(30)
        assert parent.recv().status == 200  # SILENT: the failure is swallowed, no rows
    finally:
        proc.kill()
        proc.join(5)
    time.sleep(0.3)
    assert listener.connections == []


def _probe_sandbox(conn: Connection) -> None:
    import socket
    sandbox.deny_network()
    results = {}
    for name, family in [("inet", socket.AF_INET), ("inet6", socket.AF_INET6)]:
        try:
            socket.socket(family, socket.SOCK_STREAM).close()
            results[name] = "opened"
        except OSError as exc:
            results[name] = type(exc).__name__
    a, b = socket.socketpair()
    a.close()
    b.close()
    results["unix"] = "opened"
    conn.send(results)


def test_the_sandbox_closes_inet_sockets_but_not_pipes() -> None:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_probe_sandbox, args=(child,))
    proc.start()
    assert parent.poll(60)
    got = parent.recv()
    proc.join(10)
    assert got == {"inet": "PermissionError", "inet6": "PermissionError", "unix": "opened"}
    assert sandbox.network_allowed()  # the test process itself is untouched
