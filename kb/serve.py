"""The HTTP server: SPARQL 1.1 Protocol at /sparql, the query page at /, entity pages at /id/.

Built on the standard library's ThreadingHTTPServer. Query evaluation is pyoxigraph's, run
by kb.engine in worker processes under a time limit and a result cap, after kb.guard has
screened the query (read-only, no SERVICE). Only GET, HEAD and POST are served; nothing
here can change the KB.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pyoxigraph as ox
from rdflib import Literal, URIRef
from rdflib.term import Node

from .conneg import choose
from .engine import Answer, Engine, Job, Limits, Term, WorkerConfig, accept_for, load_store
from .entity_page import EntityPages, page
from .errors import InputError
from .paths import QUERIES
from .query import QueryFile, bind, read_query
from .schema import load_schema
from .validate import load_ontology

WEB = Path(__file__).resolve().parent / "web"
STATIC = {"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8"}
MAX_BODY = 1 * 2**20
HTML = "text/html; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
READ_ONLY = "this endpoint is read-only: updates and graph changes are refused"
ENTITY_FORMATS = {"text/html": None, "application/xhtml+xml": None,
                  "text/turtle": ox.RdfFormat.TURTLE,
                  "application/n-triples": ox.RdfFormat.N_TRIPLES}


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, list[str]]
    headers: Message
    body: bytes = b""


@dataclass
class Response:
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def text(cls, status: int, message: str, **headers: str) -> Response:
        return cls(status, TEXT, (message.rstrip("\n") + "\n").encode("utf-8"), headers)

    @classmethod
    def html(cls, status: int, markup: str) -> Response:
        return cls(status, HTML, markup.encode("utf-8"), {"Content-Security-Policy": CSP})


def named_queries(queries_dir: Path = QUERIES) -> dict[str, QueryFile]:
    """The named queries the page offers: queries/*.rq, then queries/stats/*.rq."""
    out: dict[str, QueryFile] = {}
    for prefix, folder in (("", queries_dir), ("stats/", queries_dir / "stats")):
        for p in sorted(folder.glob("*.rq")):
            try:
                out[prefix + p.stem] = read_query(p)
            except InputError as exc:
                print(f"kb serve: skipping {p}: {exc}", file=sys.stderr)
    return out


def _description(q: QueryFile) -> str:
    """The comment lines under a query's title, up to its @param lines or a "Columns:" list."""
    lines = []
    for line in q.text.splitlines()[1:]:
        text = line.lstrip("#").strip()
        if not line.startswith("#") or text.startswith("@") or text.endswith(":"):
            break
        lines.append(text)
    return " ".join(x for x in lines if x)


def _term(node: Node) -> Term:
    if isinstance(node, URIRef):
        return ("iri", str(node))
    if isinstance(node, Literal):
        return ("literal", str(node), str(node.datatype or ""), node.language or "")
    raise TypeError(f"cannot bind {node!r}")


class App:
    """Routes requests to the SPARQL endpoint, the query page and the entity pages."""

    def __init__(self, engine: Engine, pages: EntityPages, queries_dir: Path = QUERIES):
        self.engine = engine
        self.pages = pages
        self.queries_dir = queries_dir

    def close(self) -> None:
        self.engine.close()

    def handle(self, req: Request) -> Response:
        path = req.path
        if req.method not in ("GET", "HEAD", "POST"):
            return Response.text(405, f"method {req.method} not allowed: {READ_ONLY}",
                                 Allow="GET, HEAD, POST")
        if path == "/sparql":
            return self.sparql(req)
        if req.method == "POST" and not path.startswith("/query/"):
            return Response.text(405, "POST is only accepted at /sparql and /query/<name>",
                                 Allow="GET, HEAD")
        if path in ("/", "/index.html"):
            return self.static("index.html", HTML)
        if path.startswith("/static/") and path[len("/static/"):] in STATIC:
            name = path[len("/static/"):]
            return self.static(name, STATIC[name])
        if path == "/queries.json":
            return self.query_list()
        if path.startswith("/query/"):
            return self.named(req, unquote(path[len("/query/"):]))
        if path.startswith("/id/"):
            return self.entity(req, unquote(path[len("/id/"):]))
        if path == "/favicon.ico":
            return Response(204, TEXT, b"")
        return Response.text(404, f"not found: {path}. The query page is at /, the SPARQL "
                                  "endpoint at /sparql, entities at /id/<id>.")

    # -- static files -----------------------------------------------------------------
    def static(self, name: str, content_type: str) -> Response:
        body = (WEB / name).read_bytes()
        headers = {"Cache-Control": "no-cache"}
        if content_type == HTML:
            headers["Content-Security-Policy"] = CSP
        return Response(200, content_type, body, headers)

    def query_list(self) -> Response:
        items = [{"name": name, "title": q.title, "description": _description(q),
                  "text": q.text,
                  "params": [{"name": p.name, "kind": p.kind, "optional": p.optional,
                              "doc": p.doc} for p in q.params.values()]}
                 for name, q in named_queries(self.queries_dir).items()]
        doc = {"idBase": self.pages.id_base, "prefixes": self.pages.prefixes, "queries": items}
        return Response(200, "application/json", json.dumps(doc, indent=1).encode("utf-8"),
                        {"Cache-Control": "no-cache"})

    # -- SPARQL -----------------------------------------------------------------------
    def sparql(self, req: Request) -> Response:
        params = {k: list(v) for k, v in req.params.items()}
        if req.method == "POST":
            media = (req.headers.get_content_type() if req.headers.get("Content-Type")
                     else "")
            if media == "application/sparql-update":
                return Response.text(403, f"update refused: {READ_ONLY}")
            try:
                text = req.body.decode("utf-8")
            except UnicodeDecodeError:
                return Response.text(400, "the request body is not UTF-8")
            if media == "application/x-www-form-urlencoded":
                for k, v in parse_qs(text, keep_blank_values=True).items():
                    params.setdefault(k, []).extend(v)
            elif media == "application/sparql-query":
                params.setdefault("query", []).append(text)
            else:
                return Response.text(415, "POST a query as application/sparql-query or as "
                                          "application/x-www-form-urlencoded (query=...)")
        if "update" in params:
            return Response.text(403, f"update refused: {READ_ONLY}")
        queries = params.get("query", [])
        if not queries and req.method == "GET" and "text/html" in (req.headers.get("Accept")
                                                                   or ""):
            return Response(303, TEXT, b"see /\n", {"Location": "/"})  # a browser: the page
        if len(queries) != 1:
            return Response.text(400, "expected exactly one `query` parameter. Example: "
                                      "/sparql?query=SELECT%20*%20WHERE%20%7B%3Fs%20%3Fp%20%3Fo"
                                      "%7D%20LIMIT%2010 (the query page is at /)")
        accept = self._accept(req, params)
        job = Job(queries[0], accept, tuple(params.get("default-graph-uri", [])),
                  tuple(params.get("named-graph-uri", [])))
        return self._answer(self.engine.run(job))

    @staticmethod
    def _accept(req: Request, params: dict[str, list[str]]) -> str:
        return accept_for((params.get("format") or [""])[-1], req.headers.get("Accept"))

    @staticmethod
    def _answer(answer: Answer) -> Response:
        headers = {"Vary": "Accept", "Cache-Control": "no-store"}
        return Response(answer.status, answer.content_type, answer.body, headers)

    def named(self, req: Request, name: str) -> Response:
        """Run a named query; request parameters become bindings, as in `kb query --param`."""
        queries = named_queries(self.queries_dir)
        q = queries.get(name)
        if q is None:
            return Response.text(404, f"no named query {name!r}; named queries: "
                                      + ", ".join(queries))
        params = {k: list(v) for k, v in req.params.items()}
        if req.method == "POST":
            if req.headers.get_content_type() != "application/x-www-form-urlencoded":
                return Response.text(415, "POST parameters as application/x-www-form-urlencoded")
            for k, v in parse_qs(req.body.decode("utf-8", "replace"),
                                 keep_blank_values=True).items():
                params.setdefault(k, []).extend(v)
        accept = self._accept(req, params)
        raw = {k: v[-1] for k, v in params.items() if k != "format" and v and v[-1] != ""}
        try:
            bindings = bind(q, raw)
        except InputError as exc:
            return Response.text(400, "; ".join(p.message.replace("--param ", "")
                                                for p in exc.problems))
        job = Job(q.text, accept, bindings=tuple((k, _term(v)) for k, v in bindings.items()))
        return self._answer(self.engine.run(job))

    # -- entities ---------------------------------------------------------------------
    def entity(self, req: Request, rest: str) -> Response:
        iri = self.pages.iri_for_path(rest)
        media = choose(self._accept(req, req.params), list(ENTITY_FORMATS))
        if not rest or not self.pages.exists(iri):
            message = f"no KB node is described at {iri}"
            if media in ("text/html", "application/xhtml+xml"):
                return Response.html(404, page("Not found", f"<h1>Not found</h1><p>{message}"
                                                           "</p>"))
            return Response.text(404, message)
        headers = {"Vary": "Accept"}
        if media is None:
            return Response.text(406, "not acceptable: entities are served as "
                                      + ", ".join(ENTITY_FORMATS), **headers)
        rdf_format = ENTITY_FORMATS[media]
        if rdf_format is None:
            resp = Response.html(200, self.pages.html(iri))
            resp.headers.update(headers)
            return resp
        return Response(200, f"{rdf_format.media_type}; charset=utf-8",
                        self.pages.turtle(iri, rdf_format), headers)


def create_app(data: Path, limits: Limits | None = None, workers: int = 2,
               queries_dir: Path = QUERIES) -> App:
    """Start the query workers on the KB in `data` (Turtle) and wire up the pages."""
    schema = load_schema()
    prefixes = dict(schema.prefixes)
    prefixes["kb"] = schema.base + "id/"
    config = WorkerConfig(data, limits or Limits(), tuple(sorted(prefixes.items())))
    engine = Engine(config, workers)
    try:
        engine.wait_ready()
        pages = EntityPages.create(load_store(data), schema.base, load_ontology(), prefixes)
    except BaseException:
        engine.close()
        raise
    return App(engine, pages, queries_dir)


class KBServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: App, quiet: bool = False):
        self.app = app
        self.quiet = quiet
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in str(host) else host
        return f"http://{host}:{port}/"


class _Handler(BaseHTTPRequestHandler):
    server: KBServer
    protocol_version = "HTTP/1.1"
    server_version = "kb-serve"

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        length_header = self.headers.get("Content-Length")
        if self.command == "POST" and length_header is None:
            self._send(Response.text(411, "a Content-Length header is required"), close=True)
            return
        try:
            length = int(length_header or 0)
        except ValueError:
            self._send(Response.text(400, "bad Content-Length"), close=True)
            return
        if length > MAX_BODY:
            self._send(Response.text(413, f"request body over {MAX_BODY // 2**20} MiB"),
                       close=True)
            return
        body = self.rfile.read(length) if length else b""
        req = Request(self.command, url.path, parse_qs(url.query, keep_blank_values=True),
                      self.headers, body)
        try:
            resp = self.server.app.handle(req)
        except Exception as exc:  # noqa: BLE001 - answer 500 rather than drop the connection
            resp = Response.text(500, f"internal error: {type(exc).__name__}: {exc}")
        self._send(resp)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _dispatch

    def _send(self, resp: Response, close: bool = False) -> None:
        self.send_response(resp.status, HTTPStatus(resp.status).phrase)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(resp.body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        for k, v in resp.headers.items():
            self.send_header(k, v)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        if not self.server.quiet:
            super().log_message(format, *args)


def make_server(app: App, host: str = "127.0.0.1", port: int = 0,
                quiet: bool = False) -> KBServer:
    """A server bound to host:port (port 0 picks a free one); call serve_forever() on it."""
    return KBServer((host, port), app, quiet)
