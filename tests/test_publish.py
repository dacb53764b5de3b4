"""`kb publish` into a real Oxigraph server (PyPI's `oxigraph` package) on 127.0.0.1.

Failures are injected by a small proxy between `kb publish` and the store: it cuts the
connection in the middle of an upload, stalls until the client times out, or answers the
swap with a store error. After each, the graph must hold exactly what it held before.
"""

from __future__ import annotations

import base64
import http.client as http_client
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from rdflib import Graph, Literal
from rdflib.compare import isomorphic
from serving import LoopbackListener, free_port, http, stop, wait_http

from kb.build.current import STAMP, is_current
from kb.cli.main import main
from kb.core.paths import ROOT, SEEDS
from kb.publish.graph_store import update_endpoint_for

GRAPH = "https://kb.example.org/graph/kb"
OLD = b"<https://kb.example.org/id/old> <http://www.w3.org/2000/01/rdf-schema#label> \"old\" .\n"
MINI = ROOT / "tests" / "fixtures" / "mini"


def assert_same_graph(got: Graph, expected: Graph) -> None:
    """Isomorphic, allowing only a number written in another lexical form for the same value.

    Oxigraph stores numbers as values: dist/kb.ttl's xsd:decimal `5600000.0` comes back as
    "5600000". Every other triple must match exactly.
    """
    assert len(got) == len(expected)
    if isomorphic(got, expected):
        return
    only_got, only_expected = set(got) - set(expected), set(expected) - set(got)
    assert len(only_got) == len(only_expected)
    for s, p, o in only_got:
        assert isinstance(o, Literal), (s, p, o)
        twin = [t for t in only_expected if t[:2] == (s, p) and isinstance(t[2], Literal)
                and t[2].datatype == o.datatype and t[2].eq(o)]
        assert twin, f"{(s, p, o)} is not in the published graph"
        only_expected.discard(twin[0])
    assert not only_expected


# -- a real Oxigraph server ------------------------------------------------------------------
class Oxigraph:
    def __init__(self, base: str):
        self.base = base

    @property
    def store(self) -> str:
        return self.base + "/store"

    def graph_url(self, graph: str) -> str:
        return f"{self.store}?{urllib.parse.urlencode({'graph': graph})}"

    def put(self, graph: str, ntriples: bytes) -> None:
        status, _, body = http("PUT", self.graph_url(graph), ntriples,
                               {"Content-Type": "application/n-triples"})
        assert status in (200, 201, 204), body

    def graph(self, graph: str) -> Graph:
        status, _, body = http("GET", self.graph_url(graph),
                               headers={"Accept": "application/n-triples"})
        assert status in (200, 404), body
        return Graph().parse(data=body if status == 200 else b"", format="nt")

    def graph_names(self) -> list[str]:
        q = urllib.parse.quote("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
        status, _, body = http("GET", f"{self.base}/query?query={q}",
                               headers={"Accept": "application/sparql-results+json"})
        assert status == 200, body
        return sorted(b["g"]["value"] for b in json.loads(body)["results"]["bindings"])


def _oxigraph_binary() -> str:
    found = Path(sys.executable).parent / "oxigraph"
    if found.exists():
        return str(found)
    which = shutil.which("oxigraph")
    if not which:
        pytest.fail("the oxigraph server is missing: pip install oxigraph (in the test extra)",
                    pytrace=False)
    return which


@pytest.fixture
def oxigraph() -> Iterator[Oxigraph]:
    """A fresh, in-memory Oxigraph server on a free port of 127.0.0.1."""
    port = free_port()
    proc = subprocess.Popen([_oxigraph_binary(), "serve", "--bind", f"127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/query")
        yield Oxigraph(f"http://127.0.0.1:{port}")
    finally:
        stop(proc)


# -- a proxy that can fail on purpose --------------------------------------------------------
# A fault sees each request first; True means it handled it (nothing is forwarded).
Fault = Callable[["FaultyProxy", BaseHTTPRequestHandler, bytes], bool]


class FaultyProxy:
    """Forwards HTTP requests to `upstream`; `fault` may intercept one first."""

    def __init__(self, upstream: str, fault: Fault | None = None):
        parts = urllib.parse.urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.fault = fault
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def relay(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy.requests.append((self.command, self.path, dict(self.headers)))
                if proxy.fault and proxy.fault(proxy, self, body):
                    self.close_connection = True
                    return
                conn = http_client.HTTPConnection(*proxy.upstream, timeout=30)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path, body, headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status, resp.reason)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = relay

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def proxies() -> Iterator[Callable[..., FaultyProxy]]:
    made: list[FaultyProxy] = []

    def make(upstream: str, fault: Fault | None = None) -> FaultyProxy:
        made.append(FaultyProxy(upstream, fault))
        return made[-1]

    yield make
    for p in made:
        p.close()


def cut_upload_halfway(proxy: FaultyProxy, handler: BaseHTTPRequestHandler,
                       body: bytes) -> bool:
    """Send the store the headers and half the body of a PUT, then cut both connections."""
    if handler.command != "PUT":
        return False
    host, port = proxy.upstream
    with socket.create_connection(proxy.upstream, timeout=5) as up:
        head = [f"PUT {handler.path} HTTP/1.1", f"Host: {host}:{port}",
                f"Content-Type: {handler.headers['Content-Type']}",
                f"Content-Length: {len(body)}", "", ""]
        up.sendall("\r\n".join(head).encode() + body[: len(body) // 2])
        time.sleep(0.3)  # let the store start loading, then vanish mid-body
    handler.connection.shutdown(socket.SHUT_RDWR)
    return True


def stall(proxy: FaultyProxy, handler: BaseHTTPRequestHandler, body: bytes) -> bool:
    """Never answer a PUT: the client's time-out must fire."""
    if handler.command != "PUT":
        return False
    time.sleep(3)
    return True


def fail_the_swap(proxy: FaultyProxy, handler: BaseHTTPRequestHandler, body: bytes) -> bool:
    """Answer the SPARQL Update (the swap) with a store error."""
    if handler.command != "POST":
        return False
    msg = b"store error: disk full"
    handler.send_response(500)
    handler.send_header("Content-Type", "text/plain")
    handler.send_header("Content-Length", str(len(msg)))
    handler.end_headers()
    handler.wfile.write(msg)
    return True


# -- the command ---------------------------------------------------------------------------
def publish(dist: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["publish", "--dist", str(dist), *args], env=env)


def test_publish_round_trips_the_graph(oxigraph: Oxigraph, current_dist: Path) -> None:
    oxigraph.put(GRAPH, OLD)  # a previous version, to be replaced
    oxigraph.put("urn:other", OLD)  # another graph, to be left alone
    result = publish(current_dist, "--endpoint", oxigraph.store, "--graph", GRAPH)
    assert result.exit_code == 0, result.output
    expected = Graph().parse(current_dist / "kb.ttl", format="turtle")
    assert_same_graph(oxigraph.graph(GRAPH), expected)
    assert f"the store now holds {len(expected)} triples" in result.output
    assert oxigraph.graph_names() == sorted([GRAPH, "urn:other"])  # no staging graph left
    assert len(oxigraph.graph("urn:other")) == 1


def test_a_cut_upload_leaves_the_graph_intact(oxigraph: Oxigraph, current_dist: Path,
                                               proxies: Callable[..., FaultyProxy]) -> None:
    oxigraph.put(GRAPH, OLD)
    proxy = proxies(oxigraph.base, cut_upload_halfway)
    result = publish(current_dist, "--endpoint", proxy.base + "/store", "--graph", GRAPH)
    assert result.exit_code == 3, result.output
    assert "was left as it was" in result.output
    assert isomorphic(oxigraph.graph(GRAPH), Graph().parse(data=OLD, format="nt"))
    assert oxigraph.graph_names() == [GRAPH]  # the half-written staging graph was dropped
    assert [m for m, _, _ in proxy.requests][:2] == ["PUT", "DELETE"]


def test_a_timeout_leaves_the_graph_intact(oxigraph: Oxigraph, current_dist: Path,
                                           proxies: Callable[..., FaultyProxy]) -> None:
    oxigraph.put(GRAPH, OLD)
    proxy = proxies(oxigraph.base, stall)
    started = time.monotonic()
    result = publish(current_dist, "--endpoint", proxy.base + "/store", "--graph", GRAPH,
                     "--timeout", "1")
    assert time.monotonic() - started < 10
    assert result.exit_code == 3, result.output
    assert "timed out" in result.output and "was left as it was" in result.output
    assert isomorphic(oxigraph.graph(GRAPH), Graph().parse(data=OLD, format="nt"))
    assert oxigraph.graph_names() == [GRAPH]


def test_a_store_error_on_the_swap_leaves_the_graph_intact(
        oxigraph: Oxigraph, current_dist: Path, proxies: Callable[..., FaultyProxy]) -> None:
    oxigraph.put(GRAPH, OLD)
    proxy = proxies(oxigraph.base, fail_the_swap)
    result = publish(current_dist, "--endpoint", proxy.base + "/store", "--graph", GRAPH)
    assert result.exit_code == 3, result.output
    assert "HTTP 500" in result.output and "disk full" in result.output
    assert isomorphic(oxigraph.graph(GRAPH), Graph().parse(data=OLD, format="nt"))
    assert oxigraph.graph_names() == [GRAPH]  # the staging graph was dropped


def test_credentials_come_from_the_environment(oxigraph: Oxigraph, current_dist: Path,
                                               proxies: Callable[..., FaultyProxy]) -> None:
    proxy = proxies(oxigraph.base)
    secret = "curator:s3cret-pass"
    result = publish(current_dist, "--endpoint", proxy.base + "/store", "--graph", GRAPH,
                     "--auth-env", "KB_TEST_STORE_AUTH", env={"KB_TEST_STORE_AUTH": secret})
    assert result.exit_code == 0, result.output
    expected = "Basic " + base64.b64encode(secret.encode()).decode()
    assert proxy.requests and all(h.get("Authorization") == expected
                                  for _, _, h in proxy.requests)
    assert "s3cret" not in result.output
    bearer = publish(current_dist, "--endpoint", proxy.base + "/store", "--graph", GRAPH,
                     "--auth-env", "KB_TEST_STORE_AUTH",
                     env={"KB_TEST_STORE_AUTH": "Bearer tok123"})
    assert bearer.exit_code == 0, bearer.output
    assert proxy.requests[-1][2].get("Authorization") == "Bearer tok123"
    missing = publish(current_dist, "--endpoint", proxy.base + "/store", "--auth-env",
                      "KB_TEST_NO_SUCH_VAR", env={"KB_TEST_NO_SUCH_VAR": ""})
    assert missing.exit_code == 2 and "not set" in missing.output


def test_refuses_a_non_conforming_kb(tmp_path: Path) -> None:
    """Nothing is sent when the KB breaks its shapes: the store is never even contacted."""
    seeds = tmp_path / "seeds"
    shutil.copytree(MINI, seeds)
    (seeds / "facts" / "bad.yaml").write_text(
        "facts:\n"
        "  - id: lonely-meeting\n"
        "    type: contact\n"
        "    kind: meeting\n"
        "    label: A meeting of one\n"
        "    description: The envoy met nobody.\n"
        "    participants:\n"
        "      - {actor: envoy, role: principal}\n"
        '    date: "2024-05-01"\n'
        "    citations:\n"
        "      - {source: src_a, para: 2, anchor: met the adviser on Wednesday}\n",
        encoding="utf-8")
    listener = LoopbackListener()
    try:
        result = CliRunner().invoke(main, [
            "publish", "--seeds", str(seeds), "--dist", str(tmp_path / "dist"),
            "--endpoint", f"http://127.0.0.1:{listener.port}/store"])
        time.sleep(0.2)
        assert listener.connections == []
    finally:
        listener.close()
    assert result.exit_code == 1, result.output
    assert "does not conform" in result.output
    assert not (tmp_path / "dist" / "kb.ttl").exists()


@pytest.mark.parametrize("args, message", [
    (["--endpoint", "file:///etc/passwd"], "must be an http:// or https:// URL"),
    (["--endpoint", "http://127.0.0.1:1/weird"], "pass it with --update-endpoint"),
    (["--endpoint", "http://127.0.0.1:1/store", "--graph", "not an iri"], "not an absolute IRI"),
    (["--endpoint", "http://127.0.0.1:1/store", "--graph", "urn:a> } ; DROP ALL ; <urn:b"],
     "not an absolute IRI"),
])
def test_bad_arguments(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["publish", "--dist", str(tmp_path), *args])
    assert result.exit_code == 2 and message in result.output, result.output


@pytest.mark.parametrize("gsp, update", [
    ("http://h:7878/store", "http://h:7878/update"),
    ("http://h:3030/ds/data", "http://h:3030/ds/update"),
    ("http://h:7200/repositories/kb/rdf-graphs/service", "http://h:7200/repositories/kb/statements"),
    ("http://h:8890/sparql-graph-crud-auth", "http://h:8890/sparql-auth"),
    ("https://h:8182/sparql/gsp/", "https://h:8182/sparql"),
])
def test_update_endpoint_of_well_known_stores(gsp: str, update: str) -> None:
    assert update_endpoint_for(gsp) == update


def test_an_edited_or_unstamped_build_is_not_reused(current_dist: Path, tmp_path: Path) -> None:
    """Only a stamped, untouched build is published without building (and validating) again."""
    assert is_current(SEEDS, current_dist)
    edited = tmp_path / "edited"
    shutil.copytree(current_dist, edited)
    with (edited / "kb.ttl").open("a", encoding="utf-8") as f:
        f.write(OLD.decode())
    assert not is_current(SEEDS, edited)
    (edited / STAMP).unlink()
    shutil.copy2(current_dist / "kb.ttl", edited / "kb.ttl")
    assert not is_current(SEEDS, edited)


# -- kb publish --since: releases as deltas --------------------------------------------------
DESCRIPTION = GRAPH + "/description"


def _edit_a_fact(seeds: Path) -> None:
    f = seeds / "facts" / "facts.yaml"
    text = f.read_text(encoding="utf-8")
    f.write_text(text.replace("met at the hotel.", "met at the harbour hotel."),
                 encoding="utf-8")


def _kb(tmp: Path, *args: str) -> Result:
    return CliRunner().invoke(main, [*args, "--seeds", str(tmp / "seeds"),
                                     "--releases", str(tmp / "releases")])


def _release(tmp: Path, version: str) -> None:
    result = _kb(tmp, "release", version, "--dist", str(tmp / "dist"), "--issued", "2026-01-01")
    assert result.exit_code == 0, result.output


def _since(tmp: Path, endpoint: str, version: str = "1.0.0") -> Result:
    return _kb(tmp, "publish", "--endpoint", endpoint, "--graph", GRAPH, "--since", version)


def _release_graph(tmp: Path, version: str, name: str = "kb.ttl") -> Graph:
    return Graph().parse(tmp / "releases" / version / name, format="turtle")


@pytest.fixture
def at_1_0(tmp_path: Path, oxigraph: Oxigraph) -> Path:
    """Release 1.0.0 of the mini KB, published (whole: the store was empty) into Oxigraph;
    then a fact edited and released as 1.1.0."""
    shutil.copytree(MINI, tmp_path / "seeds")
    _release(tmp_path, "1.0.0")
    first = _since(tmp_path, oxigraph.store)
    assert first.exit_code == 0, first.output
    assert "is not at 1.0.0 (at no known release, 0 triples); replacing it with the full " \
           "release 1.0.0" in first.stderr
    assert_same_graph(oxigraph.graph(GRAPH), _release_graph(tmp_path, "1.0.0"))
    assert isomorphic(oxigraph.graph(DESCRIPTION), _release_graph(tmp_path, "1.0.0", "void.ttl"))
    _edit_a_fact(tmp_path / "seeds")
    _release(tmp_path, "1.1.0")
    return tmp_path


def test_publish_since_applies_the_delta(at_1_0: Path, oxigraph: Oxigraph,
                                         proxies: Callable[..., FaultyProxy]) -> None:
    proxy = proxies(oxigraph.base)
    result = _since(at_1_0, proxy.base + "/store")
    assert result.exit_code == 0, result.output
    assert "applied the patch from 1.0.0 to 1.1.0 (1 triples deleted, 1 added)" in result.stdout
    assert result.stderr == ""
    assert_same_graph(oxigraph.graph(GRAPH), _release_graph(at_1_0, "1.1.0"))
    assert isomorphic(oxigraph.graph(DESCRIPTION), _release_graph(at_1_0, "1.1.0", "void.ttl"))
    writes = [(m, p) for m, p, _ in proxy.requests if m != "GET"]
    assert writes == [("POST", "/update")]  # the whole delta in one SPARQL Update
    assert oxigraph.graph_names() == [GRAPH, DESCRIPTION]
    again = _since(at_1_0, oxigraph.store, "1.1.0")
    assert again.exit_code == 0 and "is at 1.1.0, the latest release already" in again.stdout


def test_publish_since_an_unknown_version(at_1_0: Path) -> None:
    listener = LoopbackListener()
    try:
        result = _since(at_1_0, f"http://127.0.0.1:{listener.port}/store", "1.0.1")
        time.sleep(0.2)
        assert listener.connections == []
    finally:
        listener.close()
    assert result.exit_code == 2, result.output
    assert "no release 1.0.1 in" in result.output and "(releases: 1.0.0, 1.1.0)" in result.output
    bad = _since(at_1_0, "http://127.0.0.1:1/store", "one")
    assert bad.exit_code == 2 and "not a SemVer version" in bad.output


def test_a_store_not_at_the_version_gets_the_full_release(at_1_0: Path,
                                                          oxigraph: Oxigraph) -> None:
    oxigraph.put(GRAPH, OLD)  # someone replaced the graph; the description still says 1.0.0
    result = _since(at_1_0, oxigraph.store)
    assert result.exit_code == 0, result.output
    assert "is not at 1.0.0 (at 1.0.0, 1 triples); replacing it with the full release " \
           "1.1.0" in result.stderr
    assert_same_graph(oxigraph.graph(GRAPH), _release_graph(at_1_0, "1.1.0"))
    assert isomorphic(oxigraph.graph(DESCRIPTION), _release_graph(at_1_0, "1.1.0", "void.ttl"))


def test_a_store_error_on_the_delta_leaves_the_old_version(
        at_1_0: Path, oxigraph: Oxigraph, proxies: Callable[..., FaultyProxy]) -> None:
    proxy = proxies(oxigraph.base, fail_the_swap)
    result = _since(at_1_0, proxy.base + "/store")
    assert result.exit_code == 3, result.output
    assert "the store refused the patch: HTTP 500" in result.output
    assert "was left at the previous version" in result.output
    assert_same_graph(oxigraph.graph(GRAPH), _release_graph(at_1_0, "1.0.0"))
    assert isomorphic(oxigraph.graph(DESCRIPTION), _release_graph(at_1_0, "1.0.0", "void.ttl"))


def fail_after_the_deletes(proxy: FaultyProxy, handler: BaseHTTPRequestHandler,
                           body: bytes) -> bool:
    """Forward the SPARQL Update with an operation appended that Oxigraph fails on when it
    gets there, after the DELETE DATA and INSERT DATA parts ran; relay the store's error."""
    if handler.command != "POST":
        return False
    body += f" ;\nCREATE GRAPH <{GRAPH}>".encode()  # the graph exists: an error
    conn = http_client.HTTPConnection(*proxy.upstream, timeout=30)
    conn.request("POST", handler.path, body, {"Content-Type": "application/sparql-update"})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    handler.send_response(resp.status, resp.reason)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
    return True


def test_an_update_failing_midway_in_the_store_changes_nothing(
        at_1_0: Path, oxigraph: Oxigraph, proxies: Callable[..., FaultyProxy]) -> None:
    """The store itself fails the request after applying part of it: one transaction, so
    the graph and its description stay at 1.0.0."""
    proxy = proxies(oxigraph.base, fail_after_the_deletes)
    result = _since(at_1_0, proxy.base + "/store")
    assert result.exit_code == 3, result.output
    assert "the store refused the patch: HTTP" in result.output
    assert "already exists" in result.output  # the store's own error, from the last operation
    assert_same_graph(oxigraph.graph(GRAPH), _release_graph(at_1_0, "1.0.0"))
    assert isomorphic(oxigraph.graph(DESCRIPTION), _release_graph(at_1_0, "1.0.0", "void.ttl"))


def test_a_store_holding_the_wrong_count_after_the_patch_is_reported(
        at_1_0: Path, oxigraph: Oxigraph) -> None:
    patch = at_1_0 / "releases" / "1.1.0" / "patch.rdfp"
    rows = patch.read_text(encoding="utf-8").splitlines()
    rows.insert(rows.index("TC ."), "A <https://kb.example.org/id/x> <urn:p> <urn:o> .")
    patch.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = _since(at_1_0, oxigraph.store)
    assert result.exit_code == 3, result.output
    assert f"the store holds {len(_release_graph(at_1_0, '1.1.0')) + 1} triples in " \
           f"<{GRAPH}>, not the release's {len(_release_graph(at_1_0, '1.1.0'))}" \
        in result.output


def test_a_corrupt_patch_is_bad_input(at_1_0: Path, oxigraph: Oxigraph) -> None:
    patch = at_1_0 / "releases" / "1.1.0" / "patch.rdfp"
    rows = patch.read_text(encoding="utf-8").splitlines()
    rows[3] = "A <urn:s> <urn:p> ."
    patch.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = _since(at_1_0, oxigraph.store)
    assert result.exit_code == 2, result.output
    assert f"{patch}:4: not an N-Triples triple" in result.output
    assert_same_graph(oxigraph.graph(GRAPH), _release_graph(at_1_0, "1.0.0"))


def test_a_plain_publish_drops_the_release_description(at_1_0: Path,
                                                       oxigraph: Oxigraph) -> None:
    """The working build is no release: the store must not go on saying it holds 1.0.0."""
    result = _kb(at_1_0, "publish", "--endpoint", oxigraph.store, "--graph", GRAPH,
                 "--dist", str(at_1_0 / "dist"))
    assert result.exit_code == 0, result.output
    assert oxigraph.graph_names() == [GRAPH]
    again = _since(at_1_0, oxigraph.store)
    assert "is not at 1.0.0 (at no known release" in again.stderr
