"""The query side of the W3C SPARQL 1.1 Protocol tests, run against a real `kb serve --data`.

The manifest and data are a copy of the W3C suite (tests/fixtures/w3c-protocol/, with its
licence). The suite loads each test's data through the Graph Store Protocol first; this
endpoint is read-only, so the union of that data (each file in the named graph the test
names, plus what a query test's setup update writes, applied offline with pyoxigraph) is
written to one TriG file and served with `kb serve --data`. Every request is sent as the
manifest spells it (method, path, headers, body in its character encoding) and every
expectation is checked: status class, boolean answer, results form, response media type.

Updates are refused by design (403): the seven tests whose point is a successful update
(`update_*`) are run expecting exactly that refusal, and their verification query, which
only checks what the update would have written, is not sent.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.dom.minidom import parseString

import pyoxigraph as ox
import pytest
from rdflib import RDF, RDFS, Graph, Namespace
from rdflib.collection import Collection
from serving import stop

FIXTURES = Path(__file__).parent / "fixtures" / "w3c-protocol"
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
CNT = Namespace("http://www.w3.org/2011/content#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
RESULTS_TYPES = ("application/sparql-results+json", "application/sparql-results+xml",
                 "text/csv", "text/tab-separated-values")
GRAPH_TYPES = ("text/turtle", "application/n-triples", "application/rdf+xml",
               "application/ld+json")


@dataclass
class Req:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None
    statuses: set[str]  # first digits of the acceptable status codes: {"2", "3"}, {"4"}
    boolean: bool | None = None
    form: str | None = None  # "boolean", "tabular" or "RDF"
    content_type: str | None = None  # the response media type the test asks for

    @property
    def is_update(self) -> bool:
        if self.headers.get("content-type", "").startswith("application/sparql-update"):
            return True
        query = urllib.parse.urlsplit(self.path).query
        form = (self.body or b"").decode("latin-1") if self.body else ""
        return "update" in urllib.parse.parse_qs(query) or (
            self.headers.get("content-type") == "application/x-www-form-urlencoded"
            and "update" in urllib.parse.parse_qs(form))


@dataclass
class ProtocolTest:
    name: str
    graphs: list[tuple[str, str]]  # (data file name, graph IRI)
    requests: list[Req] = field(default_factory=list)

    @property
    def refused_by_design(self) -> bool:
        """A test whose point is a successful update: this endpoint is read-only."""
        return self.name.startswith("update_")


def _statuses(g: Graph, resp: object) -> set[str]:
    out = {str(s).rsplit("StatusCode", 1)[1][0] for s in g.objects(resp, MF.expectedStatus)}
    out |= {str(v)[0] for v in g.objects(resp, HT.statusCodeValue)}
    return out


def _headers(g: Graph, node: object) -> dict[str, str]:
    if node is None:
        return {}
    return {str(g.value(h, HT.fieldName)).lower(): str(g.value(h, HT.fieldValue))
            for h in Collection(g, node)}


def load_manifest() -> list[ProtocolTest]:
    g = Graph().parse(FIXTURES / "manifest.ttl")
    manifest = next(g.subjects(RDF.type, MF.Manifest))
    tests = []
    for t in Collection(g, g.value(manifest, MF.entries)):
        graphs = sorted((str(g.value(d, UT.graph)).rsplit("/", 1)[1], str(g.value(d, RDFS.label)))
                        for d in g.objects(t, UT.graphData))
        test = ProtocolTest(str(t).rsplit("#", 1)[1], graphs)
        for r in Collection(g, g.value(g.value(t, MF.action), HT.requests)):
            body_node = g.value(r, HT.body)
            body = None
            if body_node is not None:
                encoding = str(g.value(body_node, CNT.characterEncoding) or "UTF-8")
                body = str(g.value(body_node, CNT.chars)).encode(encoding)
            resp = g.value(r, HT.resp)
            expected_boolean = g.value(resp, MF.expectedBoolean)
            form = g.value(resp, MF.expectedFormat)
            ctype = _headers(g, g.value(resp, HT.headers)).get("content-type")
            test.requests.append(Req(
                str(g.value(r, HT.methodName)), str(g.value(r, HT.absolutePath)),
                _headers(g, g.value(r, HT.headers)), body, _statuses(g, resp),
                None if expected_boolean is None else bool(expected_boolean.toPython()),
                None if form is None else str(form), ctype))
        tests.append(test)
    return tests


TESTS = load_manifest()


def test_the_manifest_is_read_whole() -> None:
    assert len(TESTS) == 42
    assert all(t.requests and all(r.statuses for r in t.requests) for t in TESTS)
    assert sum(t.refused_by_design for t in TESTS) == 7


def build_dataset(path: Path) -> None:
    """Every test's data, in its named graph, plus the writes of query tests' set-up updates."""
    store = ox.Store()
    for test in TESTS:
        for name, graph in test.graphs:
            store.load(path=str(FIXTURES / name), format=ox.RdfFormat.N_TRIPLES,
                       to_graph=ox.NamedNode(graph))
        if not test.refused_by_design:
            for r in test.requests:
                if r.is_update and r.statuses & {"2", "3"}:
                    store.update(r.body.decode("utf-8"))  # type: ignore[union-attr]
    store.dump(path, ox.RdfFormat.TRIG)


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """`kb serve --data` on the tests' dataset, on a free port of 127.0.0.1."""
    data = tmp_path_factory.mktemp("w3c") / "dataset.trig"
    build_dataset(data)
    kb = Path(sys.executable).parent / "kb"
    proc = subprocess.Popen([str(kb), "serve", "--data", str(data), "--port", "0", "--quiet",
                             "--workers", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        out: list[str] = []
        reader = threading.Thread(target=lambda: out.append(proc.stdout.readline()),  # type: ignore[union-attr]
                                  daemon=True)
        reader.start()
        reader.join(60)
        assert out and " at http://127.0.0.1:" in out[0], (out, proc.poll())
        url = urllib.parse.urlsplit(out[0].split(" at ", 1)[1].split(" ", 1)[0])
        yield url.hostname or "", url.port or 0
    finally:
        stop(proc)


def send(address: tuple[str, int], r: Req) -> tuple[int, str, bytes]:
    # the manifest's paths start with /sparql (or /sparql/): this endpoint is /sparql
    assert r.path.startswith("/sparql"), r.path
    path = "/sparql" + r.path[len("/sparql"):].removeprefix("/")
    conn = http.client.HTTPConnection(*address, timeout=30)
    try:
        conn.request(r.method, path, r.body, r.headers)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type", ""), resp.read()
    finally:
        conn.close()


def _boolean(ctype: str, body: bytes) -> bool:
    if ctype.startswith("application/sparql-results+json"):
        return json.loads(body)["boolean"]
    assert ctype.startswith("application/sparql-results+xml"), ctype
    text = parseString(body).getElementsByTagName("boolean")[0].firstChild.data  # type: ignore[union-attr]
    return text.strip() == "true"


@pytest.mark.parametrize("test", TESTS, ids=[t.name for t in TESTS])
def test_protocol(endpoint: tuple[str, int], test: ProtocolTest) -> None:
    for r in test.requests:
        if test.refused_by_design and not r.is_update:
            continue  # it would only check what the refused update wrote
        status, ctype, body = send(endpoint, r)
        if r.is_update and r.statuses & {"2", "3"}:
            assert status == 403 and b"read-only" in body, (status, body)
            continue
        assert str(status)[0] in r.statuses, (r.method, r.path, status, body[:300])
        if r.content_type:
            assert ctype.split(";")[0] == r.content_type, ctype
        if r.form == "boolean" or r.boolean is not None:
            assert ctype.startswith(RESULTS_TYPES[:2]), ctype
        if r.boolean is not None:
            assert _boolean(ctype, body) is r.boolean, body
        if r.form == "tabular":
            assert ctype.startswith(RESULTS_TYPES), ctype
        if r.form == "RDF":
            assert ctype.startswith(GRAPH_TYPES), ctype
