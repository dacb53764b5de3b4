"""`kb serve`: the SPARQL endpoint on 127.0.0.1, queried by a real client (SPARQLWrapper).

Every result is compared with the same query run in-process on the validated build. The
guards are tested against a loopback listener: a refused SERVICE must not even connect.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from html import escape
from pathlib import Path
from xml.dom.minidom import Document

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic
from serving import LoopbackListener, http, kb_server
from SPARQLWrapper import CSV, JSON, POST, POSTDIRECTLY, TSV, TURTLE, XML, SPARQLWrapper

from kb.build.run import BuildResult
from kb.core.paths import SEEDS
from kb.query.run import bind, find_query, guard, run
from kb.rdf.terms import to_store
from kb.seeds.schema import load_schema
from kb.serve.engine import DiskStore, Job, Limits, WorkerConfig, execute
from kb.serve.http import ServerSettings

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
PREFIXES = """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX schema: <https://schema.org/>
PREFIX kbo: <https://kb.example.org/ontology#>
"""
# IRIs, plain and typed literals (integers, dates) and unbound cells, in a total order.
SELECT = PREFIXES + """SELECT ?s ?label ?description ?earliest ?claims WHERE {
  ?s kbo:identifier ?id ; rdfs:label ?label .
  OPTIONAL { ?s schema:description ?description }
  OPTIONAL { ?s (kbo:date|kbo:start)/kbo:earliest ?earliest }
  { SELECT ?s (COUNT(?c) AS ?claims) WHERE { ?s kbo:identifier ?i OPTIONAL { ?s kbo:claim ?c } }
    GROUP BY ?s }
} ORDER BY ?s ?label ?description ?earliest"""
CONSTRUCT = PREFIXES + "CONSTRUCT { ?s ?p ?o } WHERE { ?s a kbo:Person ; ?p ?o }"
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


# -- fixtures --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def kb_ttl(dist_dir: Path) -> Path:
    return dist_dir / "kb.ttl"


@pytest.fixture(scope="module")
def endpoint(kb_ttl: Path) -> Iterator[str]:
    with kb_server(kb_ttl, Limits(timeout=30, max_rows=50_000)) as url:
        yield url


@pytest.fixture(scope="module")
def strict(kb_ttl: Path) -> Iterator[str]:
    """A server with tight limits: 1.5 s per query, 100 rows."""
    with kb_server(kb_ttl, Limits(timeout=1.5, max_rows=100)) as url:
        yield url


@pytest.fixture(scope="module")
def local(built: BuildResult) -> ox.Store:
    """The same KB in an in-process store, built from the validated rdflib graph."""
    return to_store(built.loaded.graph)


@pytest.fixture
def listener() -> Iterator[LoopbackListener]:
    lst = LoopbackListener()
    yield lst
    lst.close()


# -- normalising results from each format ----------------------------------------------
Cell = tuple[str, ...] | None


def norm_ox(term: object) -> Cell:
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return ("uri", term.value)
    if isinstance(term, ox.BlankNode):
        return ("bnode", term.value)
    assert isinstance(term, ox.Literal)
    if term.language:
        return ("literal", term.value, "@" + term.language)
    dt = term.datatype.value
    return ("literal", term.value, "" if dt == XSD_STRING else dt)


def norm_rdflib(term: object) -> Cell:
    if term is None:
        return None
    if isinstance(term, URIRef):
        return ("uri", str(term))
    assert isinstance(term, Literal)
    if term.language:
        return ("literal", str(term), "@" + term.language)
    dt = str(term.datatype or "")
    return ("literal", str(term), "" if dt == XSD_STRING else dt)


def norm_json(b: dict | None) -> Cell:
    if b is None:
        return None
    if b["type"] == "uri":
        return ("uri", b["value"])
    if b["type"] == "bnode":
        return ("bnode", b["value"])
    if "xml:lang" in b:
        return ("literal", b["value"], "@" + b["xml:lang"])
    dt = b.get("datatype", "")
    return ("literal", b["value"], "" if dt == XSD_STRING else dt)


def local_select(store: ox.Store, query: str) -> tuple[list[str], list[list[Cell]]]:
    res = store.query(query)
    cols = [v.value for v in res.variables]
    return cols, [[norm_ox(sol[c]) for c in cols] for sol in res]


def json_rows(doc: dict) -> tuple[list[str], list[list[Cell]]]:
    cols = doc["head"]["vars"]
    return cols, [[norm_json(b.get(c)) for c in cols] for b in doc["results"]["bindings"]]


def xml_rows(dom: Document) -> tuple[list[str], list[list[Cell]]]:
    cols = [v.getAttribute("name") for v in dom.getElementsByTagName("variable")]
    rows = []
    for result in dom.getElementsByTagName("result"):
        cells: dict[str, Cell] = {}
        for binding in result.getElementsByTagName("binding"):
            node = next(n for n in binding.childNodes if n.nodeType == n.ELEMENT_NODE)
            text = "".join(t.data for t in node.childNodes if t.nodeType == t.TEXT_NODE)
            if node.tagName == "uri":
                cell: Cell = ("uri", text)
            elif node.tagName == "bnode":
                cell = ("bnode", text)
            elif node.getAttribute("xml:lang"):
                cell = ("literal", text, "@" + node.getAttribute("xml:lang"))
            else:
                dt = node.getAttribute("datatype")
                cell = ("literal", text, "" if dt == XSD_STRING else dt)
            cells[binding.getAttribute("name")] = cell
        rows.append([cells.get(c) for c in cols])
    return cols, rows


def tsv_rows(data: bytes) -> tuple[list[str], list[list[Cell]]]:
    res = ox.parse_query_results(data, ox.QueryResultsFormat.TSV)
    cols = [v.value for v in res.variables]
    return cols, [[norm_ox(sol[c]) for c in cols] for sol in res]


def values_only(rows: list[list[Cell]]) -> list[list[str]]:
    return [["" if c is None else c[1] for c in row] for row in rows]


def client(url: str, query: str, fmt: str, method: str = "GET") -> SPARQLWrapper:
    sw = SPARQLWrapper(url + "sparql")
    sw.setQuery(query)
    sw.setReturnFormat(fmt)
    sw.setMethod(method)
    sw.setTimeout(60)
    return sw


# -- the endpoint answers like the engine does in-process --------------------------------
def test_select_json_matches_in_process(endpoint: str, local: ox.Store) -> None:
    expected = local_select(local, SELECT)
    assert len(expected[1]) > 50
    got = json_rows(client(endpoint, SELECT, JSON).query().convert())
    assert got == expected


def test_select_xml_matches_in_process(endpoint: str, local: ox.Store) -> None:
    got = xml_rows(client(endpoint, SELECT, XML).query().convert())
    assert got == local_select(local, SELECT)


def test_select_tsv_matches_in_process(endpoint: str, local: ox.Store) -> None:
    res = client(endpoint, SELECT, TSV).query()
    assert res.info()["content-type"].startswith("text/tab-separated-values")
    assert tsv_rows(res.convert()) == local_select(local, SELECT)


def test_select_csv_matches_in_process(endpoint: str, local: ox.Store) -> None:
    res = client(endpoint, SELECT, CSV).query()
    assert res.info()["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(res.convert().decode("utf-8"))))
    cols, expected = local_select(local, SELECT)
    assert rows[0] == cols
    assert rows[1:] == values_only(expected)  # CSV carries values only, by design


@pytest.mark.parametrize("method", ["GET", "POST-form", "POST-direct"])
def test_protocol_methods_agree(endpoint: str, local: ox.Store, method: str) -> None:
    sw = client(endpoint, SELECT, JSON, "GET" if method == "GET" else POST)
    if method == "POST-direct":
        sw.setRequestMethod(POSTDIRECTLY)
    assert json_rows(sw.query().convert()) == local_select(local, SELECT)


def test_ask(endpoint: str) -> None:
    q = PREFIXES + "ASK { ?s a kbo:Person }"
    assert client(endpoint, q, JSON).query().convert()["boolean"] is True
    dom = client(endpoint, q, XML).query().convert()
    assert dom.getElementsByTagName("boolean")[0].firstChild.data == "true"


def _local_graph(store: ox.Store, query: str) -> Graph:
    data = ox.serialize(store.query(query), format=ox.RdfFormat.N_TRIPLES)
    return Graph().parse(data=data, format="nt")


def test_construct_turtle_matches_in_process(endpoint: str, local: ox.Store) -> None:
    res = client(endpoint, CONSTRUCT, TURTLE).query()
    assert res.info()["content-type"].startswith("text/turtle")
    got = Graph().parse(data=res.convert(), format="turtle")
    expected = _local_graph(local, CONSTRUCT)
    assert len(expected) > 20
    assert isomorphic(got, expected)


def test_construct_ntriples_matches_in_process(endpoint: str, local: ox.Store) -> None:
    sw = client(endpoint, CONSTRUCT, TURTLE)
    sw.setOnlyConneg(True)
    sw.addCustomHttpHeader("Accept", "application/n-triples")
    res = sw.query()
    assert res.info()["content-type"].startswith("application/n-triples")
    got = Graph().parse(data=res.response.read(), format="nt")
    assert isomorphic(got, _local_graph(local, CONSTRUCT))


def test_describe_turtle(endpoint: str, local: ox.Store) -> None:
    q = "DESCRIBE <https://kb.example.org/id/kirill-dmitriev>"
    got = Graph().parse(data=client(endpoint, q, TURTLE).query().convert(), format="turtle")
    assert len(got) > 0
    assert isomorphic(got, _local_graph(local, q))


def test_named_query_with_bindings_matches_kb_query(endpoint: str, kb_ttl: Path) -> None:
    """/query/<name>?param=value binds like `kb query NAME --param`, never pasting text.

    In-process, the same kb.ttl is loaded into an on-disk store the way the server loads it
    (GROUP_CONCAT's order follows the store's order)."""
    q = find_query("contacts-of-actor")
    params = {"actor": "kirill-dmitriev"}
    disk = DiskStore(kb_ttl)
    try:
        expected = run(disk.open(), q, bind(q, params))
    finally:
        disk.close()
    url = f"{endpoint}query/contacts-of-actor?" + urllib.parse.urlencode(params)
    status, ctype, body = http("GET", url, headers={"Accept": "application/sparql-results+json"})
    assert status == 200, body
    cols, rows = json_rows(json.loads(body))
    assert cols == expected.columns
    assert len(rows) == len(expected.rows) > 0
    assert sorted(map(repr, rows)) == sorted(
        repr([norm_rdflib(t) for t in row]) for row in expected.rows)


def test_named_query_bad_parameter(endpoint: str) -> None:
    status, _, body = http("GET", f"{endpoint}query/contacts-of-actor")
    assert status == 400 and b"required parameter missing" in body
    status, _, body = http("GET", f"{endpoint}query/no-such-query")
    assert status == 404 and b"contacts-of-actor" in body


def test_format_parameter_and_406(endpoint: str) -> None:
    q = urllib.parse.quote("SELECT ?s WHERE { ?s ?p ?o } LIMIT 2")
    status, ctype, body = http("GET", f"{endpoint}sparql?query={q}&format=csv")
    assert status == 200 and ctype.startswith("text/csv") and body.startswith(b"s\r\n")
    status, _, body = http("GET", f"{endpoint}sparql?query={q}", headers={"Accept": "image/png"})
    assert status == 406 and b"application/sparql-results+json" in body
    status, _, body = http("GET", f"{endpoint}sparql?query={q}&default-graph-uri=not%20an%20iri")
    assert status == 400 and b"bad graph IRI" in body
    status, _, body = http("GET", f"{endpoint}sparql?query=SELECT%20*%20WHERE%20%7B")
    assert status == 400 and b"SPARQL syntax error" in body


# -- read-only -----------------------------------------------------------------------------
def _count(endpoint: str) -> int:
    q = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    doc = client(endpoint, q, JSON).query().convert()
    return int(doc["results"]["bindings"][0]["n"]["value"])


def test_updates_are_refused(endpoint: str, built: BuildResult) -> None:
    before = _count(endpoint)
    assert before == len(built.loaded.graph)
    insert = "INSERT DATA { <urn:x> <urn:y> <urn:z> }"
    sw = SPARQLWrapper(endpoint + "sparql")  # SPARQLWrapper sends it as an update request
    sw.setMethod(POST)
    sw.setQuery(insert)
    with pytest.raises(urllib.error.HTTPError) as info:
        sw.query()
    assert info.value.code == 403
    assert b"read-only" in info.value.read()
    url = endpoint + "sparql"
    cases = [
        ("POST", url, insert.encode(), {"Content-Type": "application/sparql-update"}, 403),
        ("POST", url, b"update=" + urllib.parse.quote(insert).encode(),
         {"Content-Type": "application/x-www-form-urlencoded"}, 403),
        ("POST", url, b"DELETE WHERE { ?s ?p ?o }",
         {"Content-Type": "application/sparql-query"}, 403),
        ("GET", url + "?query=" + urllib.parse.quote("DROP ALL"), None, {}, 403),
        ("GET", url + "?query=" + urllib.parse.quote("LOAD <http://127.0.0.1:1/x>"), None, {},
         403),
        ("PUT", url, b"<urn:x> <urn:y> <urn:z> .", {"Content-Type": "text/turtle"}, 405),
        ("DELETE", url, None, {}, 405),
    ]
    for method, target, body, headers, status in cases:
        got, _, text = http(method, target, body, headers)
        assert got == status, (method, body, text)
        assert b"read-only" in text
    assert _count(endpoint) == before


# -- no network: SERVICE refused, and nothing else connects ---------------------------------
SERVICE_QUERIES = [
    "SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
    "select * where {{ service silent <{url}> {{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ VALUES ?e {{ <{url}> }} SERVICE ?e {{ ?s ?p ?o }} }}",
    "PREFIX remote: <{url}>\nSELECT * WHERE {{ SERVICE remote: {{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ ?x ?y ?z {{ SELECT ?s WHERE {{ OPTIONAL {{ SERVICE <{url}> {{ ?s ?p ?o }}"
    " }} }} }} }} LIMIT 1",
    "# SERVICE in a comment\nSELECT (\"SERVICE\" AS ?x) WHERE {{ SERVICE<{url}>{{}} }}",
    "ASK {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
    "CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ \\u0053ERVICE <{url}> {{ ?s ?p ?o }} }}",
]


@pytest.mark.parametrize("template", SERVICE_QUERIES)
def test_service_is_refused_without_connecting(endpoint: str, listener: LoopbackListener,
                                               template: str) -> None:
    query = template.format(url=listener.url)
    for method, body, headers, url in [
        ("GET", None, {}, f"{endpoint}sparql?query={urllib.parse.quote(query)}"),
        ("POST", query.encode(), {"Content-Type": "application/sparql-query"},
         f"{endpoint}sparql"),
    ]:
        status, _, text = http(method, url, body, headers)
        assert status == 400, text
        assert b"SERVICE is refused" in text
    time.sleep(0.2)
    assert listener.connections == []


def test_the_listener_does_catch_an_unguarded_engine(local: ox.Store,
                                                     listener: LoopbackListener) -> None:
    """Control: pyoxigraph itself does connect for SERVICE, which is why the guard exists."""
    with pytest.raises(OSError):
        list(local.query(f"SELECT * WHERE {{ SERVICE <{listener.url}> {{ ?s ?p ?o }} }}"))
    deadline = time.monotonic() + 5
    while not listener.connections and time.monotonic() < deadline:
        time.sleep(0.05)
    assert listener.connections and listener.connections[0].startswith(b"POST /sparql")


def test_allow_service_is_the_operators_choice(kb_ttl: Path, local: ox.Store,
                                               listener: LoopbackListener) -> None:
    query = f"SELECT * WHERE {{ SERVICE <{listener.url}> {{ ?s ?p ?o }} }}"
    refused = execute(local, Job(query), WorkerConfig(kb_ttl, Limits()))
    assert refused.status == 400
    allowed = execute(local, Job(query), WorkerConfig(kb_ttl, Limits(allow_network=True)))
    assert allowed.status == 500  # the listener is no SPARQL endpoint, but it was asked
    assert len(listener.connections) == 1


def test_from_and_dataset_parameters_never_fetch(endpoint: str,
                                                listener: LoopbackListener) -> None:
    url = listener.url
    queries = [
        f"SELECT * FROM <{url}> WHERE {{ ?s ?p ?o }}",
        f"SELECT * FROM NAMED <{url}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
        f"DESCRIBE <{url}>",
    ]
    for q in queries:
        status, _, text = http("GET", f"{endpoint}sparql?query={urllib.parse.quote(q)}")
        assert status == 200, text
    q = urllib.parse.quote("SELECT * WHERE { ?s ?p ?o }")
    enc = urllib.parse.quote(url)
    status, _, text = http("GET", f"{endpoint}sparql?query={q}&default-graph-uri={enc}"
                                  f"&named-graph-uri={enc}")
    assert status == 200, text
    assert json.loads(text)["results"]["bindings"] == []
    time.sleep(0.2)
    assert listener.connections == []


@pytest.mark.parametrize("query", [
    'SELECT ?service WHERE { BIND("SERVICE <http://127.0.0.1:1/>" AS ?service) } # SERVICE',
    "PREFIX ex: <urn:SERVICE:> SELECT * WHERE { ?s <urn:SERVICE:SERVICE> ?o } LIMIT 1",
    "SELECT * WHERE { ?s <urn:SERVICE> ?o } LIMIT 1",
    "SELECT * WHERE { ?s ?p '''SERVICE\n<http://127.0.0.1:1/>''' }",
])
def test_service_as_a_word_in_data_is_fine(query: str) -> None:
    guard.check(query)


@pytest.mark.parametrize("query", [
    # a backslash-escaped quote in a prefixed name must not open a string that hides SERVICE
    "PREFIX ex: <urn:x:> SELECT * WHERE { ?s ex:a\\'b ?o . SERVICE <http://127.0.0.1:1/> "
    "{ ?s ?p ?o } ?s ex:c\\'d ?z }",
    "SELECT * WHERE { ?s ?p \"unterminated SERVICE <http://127.0.0.1:1/> {} }",
    "SELECT * WHERE { ?s ?p <http://x/\\u0022> . SERVICE <http://127.0.0.1:1/> { } }",
])
def test_guard_cannot_be_fooled_by_lexical_tricks(query: str) -> None:
    with pytest.raises(guard.Refused):
        guard.check(query)


# -- limits --------------------------------------------------------------------------------
def test_slow_query_is_stopped_by_the_timeout(strict: str) -> None:
    started = time.monotonic()
    status, _, text = http("POST", f"{strict}sparql", SLOW.encode(),
                           {"Content-Type": "application/sparql-query"})
    elapsed = time.monotonic() - started
    assert status == 503 and b"timed out" in text
    assert 1.4 < elapsed < 5, elapsed
    # the worker was replaced: the server still answers
    status, _, text = http("GET", f"{strict}sparql?query=" + urllib.parse.quote("ASK {}"))
    assert status == 200, text


def test_a_slow_query_does_not_block_others(strict: str) -> None:
    results: list[int] = []
    slow = threading.Thread(target=lambda: results.append(http(
        "POST", f"{strict}sparql", SLOW.encode(),
        {"Content-Type": "application/sparql-query"})[0]))
    slow.start()
    time.sleep(0.3)
    started = time.monotonic()
    status, _, _ = http("GET", f"{strict}sparql?query=" + urllib.parse.quote("ASK { ?s ?p ?o }"))
    assert status == 200 and time.monotonic() - started < 1.0
    slow.join(10)
    assert results == [503]


def test_result_size_limit(strict: str) -> None:
    for q in ["SELECT * WHERE { ?s ?p ?o }", "CONSTRUCT WHERE { ?s ?p ?o }"]:
        status, _, text = http("GET", f"{strict}sparql?query={urllib.parse.quote(q)}")
        assert status == 413, text
        assert b"more than 100 rows" in text
    q = urllib.parse.quote("SELECT * WHERE { ?s ?p ?o } LIMIT 100")
    status, _, text = http("GET", f"{strict}sparql?query={q}")
    assert status == 200
    assert len(json.loads(text)["results"]["bindings"]) == 100


# -- entity IRIs -------------------------------------------------------------------------
def _subtree(graph: Graph, iri: str) -> Graph:
    g = Graph()
    for t in graph:
        if str(t[0]) == iri or str(t[0]).startswith(iri + "/"):
            g.add(t)
    return g


def _a_cited_fact(graph: Graph) -> tuple[str, str, str]:
    """A fact with a citation: (its IRI, its label, the label of an actor it involves)."""
    kbo = "https://kb.example.org/ontology#"
    label = URIRef("http://www.w3.org/2000/01/rdf-schema#label")
    for fact in sorted(set(graph.subjects(URIRef(kbo + "claim"), None))):
        for actor in sorted(graph.objects(fact, URIRef(kbo + "involves"))):
            actor_label = graph.value(actor, label)
            if actor_label is not None:
                return str(fact), str(graph.value(fact, label)), str(actor)
    raise AssertionError("no cited fact involving an actor")


def test_entity_as_turtle(endpoint: str, built: BuildResult) -> None:
    iri = load_schema().id_iri("kirill-dmitriev")
    status, ctype, body = http("GET", f"{endpoint}id/kirill-dmitriev",
                               headers={"Accept": "text/turtle"})
    assert status == 200 and ctype.startswith("text/turtle")
    got = Graph().parse(data=body, format="turtle")
    assert isomorphic(got, _subtree(built.loaded.graph, iri))


def test_entity_as_html_page(endpoint: str, built: BuildResult) -> None:
    fact, label, actor = _a_cited_fact(built.loaded.graph)
    path = "/id/" + fact.rsplit("/id/", 1)[1]
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    status, ctype, body = http("GET", endpoint.rstrip("/") + path, headers={"Accept": browser})
    assert status == 200 and ctype.startswith("text/html")
    page = body.decode("utf-8")
    assert f"<h1>{escape(label)}</h1>" in page
    assert "<h2>Citations</h2>" in page and "paragraph" in page
    actor_path = "/id/" + actor.rsplit("/id/", 1)[1]
    assert f'href="{actor_path}"' in page
    # and the actor's page links back to the fact
    status, _, body = http("GET", endpoint.rstrip("/") + actor_path, headers={"Accept": browser})
    assert status == 200 and f'href="{path}"'.encode() in body


def test_unknown_entity_and_path(endpoint: str) -> None:
    status, _, body = http("GET", f"{endpoint}id/no-such-entity",
                           headers={"Accept": "text/turtle"})
    assert status == 404 and b"no KB node" in body
    status, _, _ = http("GET", f"{endpoint}nothing-here")
    assert status == 404


# -- `kb serve` as a user runs it --------------------------------------------------------
def test_kb_serve_command(current_dist: Path) -> None:
    kb = Path(sys.executable).parent / "kb"
    proc = subprocess.Popen([str(kb), "serve", "--port", "0", "--dist", str(current_dist),
                             "--seeds", str(SEEDS), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = _read_line(proc, 60)
        assert "serving the KB at http://127.0.0.1:" in line, line
        base = line.split(" at ", 1)[1].split(" ", 1)[0]
        status, ctype, body = http("GET", base)
        assert status == 200 and ctype.startswith("text/html") and b"KB SPARQL query" in body
        q = urllib.parse.quote("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
        status, _, body = http("GET", f"{base}sparql?query={q}", headers={"Accept": "text/csv"})
        assert status == 200 and body.split()[1].isdigit()
        answer, _ = _flood(base, b"POST /sparql HTTP/1.1\r\nContent-Length: -1\r\n\r\n", b"",
                           limit=0)
        assert _status(answer) == 400
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        finally:
            if proc.poll() is None:
                proc.kill()
    err = proc.stderr.read() if proc.stderr else ""
    assert proc.returncode == 0, err
    assert "reusing the current build" in err
    assert "kb serve:" not in err and "Traceback" not in err  # --quiet: no request lines


def _read_line(proc: subprocess.Popen, timeout: float) -> str:
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not out:
        raise TimeoutError(f"kb serve printed nothing within {timeout} s")
    return out[0]


def test_page_assets_are_all_local(endpoint: str) -> None:
    status, _, html = http("GET", endpoint)
    assert status == 200
    for asset in ["static/app.js", "static/style.css"]:
        s, _, body = http("GET", endpoint + asset)
        assert s == 200
        assert b"http://" not in body and b"https://" not in body
    assert b'src="/static/app.js"' in html and b"https://" not in html
    with urllib.request.urlopen(endpoint) as resp:  # noqa: S310 - local test server
        assert "default-src 'none'" in resp.headers["Content-Security-Policy"]



# -- the HTTP server: bodies, timeouts, connection limits, protocol details ----------------
TIGHT = ServerSettings(idle_timeout=1.0, request_timeout=2.0, max_connections=1000)
FLOOD = 64 * 2**20  # what a client tries to push; the server must stop reading long before


@pytest.fixture(scope="module")
def tight(kb_ttl: Path) -> Iterator[str]:
    """A server with a 1 s idle timeout and a 2 s request timeout."""
    with kb_server(kb_ttl, Limits(timeout=30), workers=1, settings=TIGHT) as url:
        yield url


def _address(url: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(url)
    return parts.hostname or "", parts.port or 80


def _flood(url: str, head: bytes, chunk: bytes, limit: int = FLOOD) -> tuple[bytes, int]:
    """Send `head`, then `chunk` again and again (up to `limit` bytes) while reading the
    answer. Returns (everything the server sent before closing, body bytes sent)."""
    sock = socket.create_connection(_address(url), timeout=30)
    sent = [0]

    def push() -> None:
        try:
            sock.sendall(head)
            while sent[0] < limit:
                sock.sendall(chunk)
                sent[0] += len(chunk)
        except OSError:
            pass  # the server closed the connection: what we want

    pusher = threading.Thread(target=push, daemon=True)
    pusher.start()
    answer = b""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    except TimeoutError:
        pass
    finally:
        sock.close()
        pusher.join(5)
    return answer, sent[0]


def _status(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer.split(b" ", 2)[1])


def test_negative_content_length_is_refused_without_reading(endpoint: str) -> None:
    head = (b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
            b"Content-Length: -1\r\n\r\n")
    answer, sent = _flood(endpoint, head, b"#" * 65536)
    assert _status(answer) == 400
    assert sent < FLOOD // 2  # refused and closed: the rest was never read


def test_lying_content_length_is_cut_off(endpoint: str, tight: str) -> None:
    # says 100 bytes, sends 64 MiB: the first 100 are a (bad) query, the rest is refused
    head = (b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
            b"Content-Length: 100\r\n\r\n")
    answer, sent = _flood(endpoint, head, b"A" * 65536)
    assert _status(answer) == 400 and b"SPARQL syntax error" in answer
    assert answer.count(b"HTTP/1.1 400") == 2  # then the bytes after it: not HTTP, closed
    assert sent < FLOOD // 2
    # says 1000 bytes, sends 10 and waits: cut off at the request timeout with 408
    with socket.create_connection(_address(tight), timeout=30) as sock:
        sock.sendall(b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/"
                     b"sparql-query\r\nContent-Length: 1000\r\n\r\nASK {} # ")
        answer = b""
        while data := sock.recv(65536):
            answer += data
    assert _status(answer) == 408


def test_a_declared_body_over_the_cap_is_refused_unread(endpoint: str) -> None:
    head = (b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
            b"Content-Length: %d\r\n\r\n" % (2 * 2**20))
    answer, sent = _flood(endpoint, head, b"#" * 65536, limit=2 * 2**20)
    assert _status(answer) == 413 and b"over 1 MiB" in answer


def test_chunked_body_over_the_cap_is_refused_after_1_mib(endpoint: str) -> None:
    head = (b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"10000\r\n" + b"#" * 65536 + b"\r\n"
    answer, sent = _flood(endpoint, head, chunk)
    assert _status(answer) == 413 and b"over 1 MiB" in answer
    assert sent < FLOOD // 2


def test_chunked_body_under_the_cap_is_read(endpoint: str) -> None:
    query = b"ASK { ?s ?p ?o }"
    request = (b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
               b"Accept: application/sparql-results+json\r\nConnection: close\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(query), query))
    answer, _ = _flood(endpoint, request, b"", limit=0)
    assert _status(answer) == 200 and b'"boolean":true' in answer.replace(b" ", b"")


def test_get_with_a_body_is_refused(endpoint: str) -> None:
    q = urllib.parse.quote("ASK {}")
    status, _, text = http("GET", f"{endpoint}sparql?query={q}", b"unexpected body content",
                           {"Content-Type": "text/plain"})
    assert status == 400 and b"must not have a body" in text
    assert http("GET", f"{endpoint}sparql?query={q}")[0] == 200


def test_queries_get_the_endpoint_url_as_base_iri(endpoint: str) -> None:
    q = "CONSTRUCT { <s> <p> 1 } WHERE {}"
    status, ctype, body = http("POST", f"{endpoint}sparql", q.encode(),
                               {"Content-Type": "application/sparql-query",
                                "Accept": "application/n-triples"})
    assert status == 200, body
    assert body.decode().strip() == f'<{endpoint}s> <{endpoint}p> "1"^^<http://www.w3.org/2001/' \
                                    'XMLSchema#integer> .'
    q = urllib.parse.quote("SELECT ?x WHERE { BIND(<relative> AS ?x) }")
    status, _, body = http("GET", f"{endpoint}sparql?query={q}", headers={"Accept": "text/csv"})
    assert status == 200 and body.split()[1].decode() == f"{endpoint}relative"


def test_charset_is_honoured_or_refused(endpoint: str) -> None:
    url = f"{endpoint}sparql"
    status, _, text = http("POST", url, "ASK {}".encode("utf-16"),
                           {"Content-Type": "application/sparql-query; charset=UTF-16"})
    assert status == 415 and b"UTF-8 is the only charset" in text
    status, _, text = http("POST", url, b"ASK {}",
                           {"Content-Type": "application/sparql-query; charset=utf-8"})
    assert status == 200, text
    form = b"query=" + urllib.parse.quote('SELECT ("\xe9t\xe9" AS ?x) {}',
                                          encoding="latin-1").encode()
    status, _, text = http("POST", url, form, {
        "Content-Type": "application/x-www-form-urlencoded; charset=ISO-8859-1",
        "Accept": "text/csv"})
    assert status == 200 and text.split()[1].decode("utf-8") == "été"
    status, _, text = http("POST", url, form, {
        "Content-Type": "application/x-www-form-urlencoded; charset=no-such-charset"})
    assert status == 415 and b"unknown charset=no-such-charset" in text


def test_idle_connections_are_closed(tight: str) -> None:
    # a kept-alive connection idle after its request (idle timeout: 1 s)
    with socket.create_connection(_address(tight), timeout=30) as sock:
        sock.sendall(b"GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while data := sock.recv(65536):
            answer += data
    assert _status(answer) == 204
    # a connection that never sends a request (request timeout: 2 s): 408, then closed
    with socket.create_connection(_address(tight), timeout=30) as sock:
        answer = b""
        while data := sock.recv(65536):
            answer += data
    assert _status(answer) == 408


def test_connection_limit_answers_503(kb_ttl: Path) -> None:
    settings = ServerSettings(max_connections=8, request_timeout=60)
    with kb_server(kb_ttl, Limits(timeout=30), workers=1, settings=settings) as url:
        idle = [socket.create_connection(_address(url), timeout=30) for _ in range(8)]
        try:
            time.sleep(0.5)  # let the server accept them
            status, _, text = http("GET", url + "favicon.ico")
            assert status == 503, text
        finally:
            for sock in idle:
                sock.close()
        deadline = time.monotonic() + 10
        while http("GET", url + "favicon.ico")[0] != 204:
            assert time.monotonic() < deadline, "the server did not recover"
            time.sleep(0.1)


def test_200_simultaneous_connections_are_all_answered(endpoint: str) -> None:
    q = urllib.parse.quote("ASK { ?s ?p ?o }")
    start = threading.Barrier(200)
    statuses: list[int] = []

    def one() -> None:
        start.wait()
        try:
            statuses.append(http("GET", f"{endpoint}sparql?query={q}", timeout=30)[0])
        except OSError as exc:
            statuses.append(-1)
            print(exc)

    threads = [threading.Thread(target=one) for _ in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert statuses == [200] * 200


def test_one_log_line_per_failed_connection(kb_ttl: Path,
                                            capfd: pytest.CaptureFixture[str]) -> None:
    with kb_server(kb_ttl, Limits(timeout=30), workers=1, settings=TIGHT, quiet=False) as url:
        capfd.readouterr()
        bad = [b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
               b"NOT HTTP AT ALL\r\n\r\n", b"GET /sparql HTTP/1.1\r\n"]  # the last: too slow
        for request in bad:
            with socket.create_connection(_address(url), timeout=30) as sock:
                sock.sendall(request)
                while sock.recv(65536):
                    pass
        err = capfd.readouterr().err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 3, err
    assert "Traceback" not in err
    assert sum("Invalid HTTP request" in x for x in lines) == 2
    assert "no complete request within 2 s" in lines[2]
