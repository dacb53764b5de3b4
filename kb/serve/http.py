"""The HTTP server: SPARQL 1.1 Protocol at /sparql, the query page at /, entity pages at /id/.

Served by uvicorn (HTTP/1.1 via h11) with a listen backlog, a connection limit (503 over
it), idle and request timeouts and a body cap counted in bytes read; the routing (App) runs in
a thread pool, so the event loop never waits for a query. Query evaluation is pyoxigraph's,
run by kb.engine in worker processes under a time limit and a result cap, after kb.guard has
screened the query (read-only, no SERVICE). Only GET, HEAD and POST are served; nothing
here can change the KB.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import logging
import re
import socket
import sys
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote

import h11
import pyoxigraph as ox
import uvicorn
from rdflib import Literal, URIRef
from rdflib.term import Node
from uvicorn.protocols.http.h11_impl import H11Protocol

from kb.core.errors import InputError
from kb.core.paths import QUERIES
from kb.query.run import QueryFile, bind, read_query
from kb.rdf.ontology import load_ontology
from kb.seeds.schema import load_schema
from kb.serve.conneg import choose
from kb.serve.engine import Answer, DiskStore, Engine, Job, Limits, Term, WorkerConfig, accept_for
from kb.serve.pages import EntityPages

WEB = Path(__file__).resolve().parent / "web"
STATIC = {"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8",
          "pages.js": "text/javascript; charset=utf-8", "pages.css": "text/css; charset=utf-8",
          "vendor/cytoscape.min.js": "text/javascript; charset=utf-8",
          "vendor/cytoscape.LICENSE": "text/plain; charset=utf-8",
          "vendor/yasgui/yasgui.min.js": "text/javascript; charset=utf-8",
          "vendor/yasgui/yasgui.min.css": "text/css; charset=utf-8",
          "vendor/yasgui/LICENSE": "text/plain; charset=utf-8"}
MAX_BODY = 1 * 2**20
HTML = "text/html; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
# The query page alone also allows YASGUI's two constant <style> elements (its column resizer's
# rules, and the cursor while a column is dragged), each by its SHA-256: see docs/serve.md.
YASGUI_STYLES = ("'sha256-zCK2EVMoPc04mRF/g5CotUvxbJPWS+8V0b+s9ptqQIk=' "
                 "'sha256-c0O6TmFAkgpNbHxKAa1BrveWHHopjEtC47i0PzMudxg='")
QUERY_CSP = CSP.replace("style-src 'self';", f"style-src 'self' {YASGUI_STYLES};")
ENTITY_CACHE = 512  # rendered entity bodies kept
READ_ONLY = "this endpoint is read-only: updates and graph changes are refused"
ENTITY_FORMATS = {"text/html": None, "application/xhtml+xml": None,
                  "text/turtle": ox.RdfFormat.TURTLE,
                  "application/n-triples": ox.RdfFormat.N_TRIPLES,
                  "application/ld+json": ox.RdfFormat.JSON_LD}


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, list[str]]
    headers: Message
    body: bytes = b""
    base_iri: str = ""  # the request URL without its query string


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


def _form(body: bytes, charset: str | None) -> dict[str, list[str]] | Response:
    """A form body's fields, percent-escapes decoded in its charset (UTF-8 if none given)."""
    codec = charset or "utf-8"
    try:
        codecs.lookup(codec)
    except LookupError:
        return Response.text(415, f"unknown charset={charset} in Content-Type")
    try:
        return parse_qs(body.decode(codec), keep_blank_values=True, encoding=codec,
                        errors="strict")
    except (UnicodeDecodeError, ValueError):
        return Response.text(400, f"the form body is not valid {codec}")


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
        self._lock = threading.Lock()
        self._named: tuple[tuple, dict[str, QueryFile]] = ((), {})
        # Entity bodies by (IRI, media type): the data is read-only while the server runs,
        # and rendering a page (rdflib) costs tens of milliseconds.
        self._entities: OrderedDict[tuple[str, str], bytes] = OrderedDict()

    def named_queries(self) -> dict[str, QueryFile]:
        """named_queries(queries_dir), re-read only when a query file changes."""
        files = sorted([*self.queries_dir.glob("*.rq"), *self.queries_dir.glob("stats/*.rq")])
        key = tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)
        with self._lock:
            if self._named[0] == key:
                return self._named[1]
        fresh = named_queries(self.queries_dir)
        with self._lock:
            self._named = (key, fresh)
        return fresh

    def _entity_body(self, iri: str, media: str) -> bytes:
        with self._lock:
            if (iri, media) in self._entities:
                self._entities.move_to_end((iri, media))
                return self._entities[iri, media]
        rdf_format = ENTITY_FORMATS[media]
        body = (self.pages.html(iri).encode("utf-8") if rdf_format is None
                else self.pages.turtle(iri, rdf_format))
        with self._lock:
            self._entities[iri, media] = body
            while len(self._entities) > ENTITY_CACHE:
                self._entities.popitem(last=False)
        return body

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
        if path.startswith("/id/") and path.endswith(("/network.json", "/timeline.json")):
            rest, view = unquote(path[len("/id/"):]).rsplit("/", 1)
            return self.picture(req, rest, view)
        if path.startswith("/id/"):
            return self.entity(req, unquote(path[len("/id/"):]))
        if path == "/search":
            text = (req.params.get("q") or [""])[-1]
            return Response.html(200, self.pages.search_html(text))
        if path == "/favicon.ico":
            return Response(204, TEXT, b"")
        return Response.text(404, f"not found: {path}. The query page is at /, the SPARQL "
                                  "endpoint at /sparql, entities at /id/<id>.")

    # -- static files -----------------------------------------------------------------
    def static(self, name: str, content_type: str) -> Response:
        body = (WEB / name).read_bytes()
        headers = {"Cache-Control": "no-cache"}
        if content_type == HTML:
            headers["Content-Security-Policy"] = QUERY_CSP if name == "index.html" else CSP
        return Response(200, content_type, body, headers)

    def query_list(self) -> Response:
        items = [{"name": name, "title": q.title, "description": _description(q),
                  "text": q.text,
                  "params": [{"name": p.name, "kind": p.kind, "optional": p.optional,
                              "doc": p.doc} for p in q.params.values()]}
                 for name, q in self.named_queries().items()]
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
            charset = req.headers.get_content_charset()
            if media == "application/x-www-form-urlencoded":
                form = _form(req.body, charset)
                if isinstance(form, Response):
                    return form
                for k, v in form.items():
                    params.setdefault(k, []).extend(v)
            elif media == "application/sparql-query":
                if charset not in (None, "utf-8", "utf8"):
                    return Response.text(415, f"charset={charset} refused: UTF-8 is the only "
                                              "charset of application/sparql-query (SPARQL 1.1 "
                                              "Protocol 2.2.3)")
                try:
                    params.setdefault("query", []).append(req.body.decode("utf-8"))
                except UnicodeDecodeError:
                    return Response.text(400, "the request body is not UTF-8")
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
                  tuple(params.get("named-graph-uri", [])), base_iri=req.base_iri or None)
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
        queries = self.named_queries()
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
        job = Job(q.text, accept, bindings=tuple((k, _term(v)) for k, v in bindings.items()),
                  base_iri=req.base_iri or None)
        return self._answer(self.engine.run(job))

    # -- entities ---------------------------------------------------------------------
    def entity(self, req: Request, rest: str) -> Response:
        iri = self.pages.iri_for_path(rest)
        media = choose(self._accept(req, req.params), list(ENTITY_FORMATS))
        if not rest or not self.pages.exists(iri):
            message = f"no KB node is described at {iri}"
            if media in ("text/html", "application/xhtml+xml"):
                return Response.html(404, self.pages.search_html(
                    rest.rsplit("/", 1)[-1].replace("-", " "), 404, message))
            return Response.text(404, message)
        headers = {"Vary": "Accept"}
        if media is None:
            return Response.text(406, "not acceptable: entities are served as "
                                      + ", ".join(ENTITY_FORMATS), **headers)
        rdf_format = ENTITY_FORMATS[media]
        body = self._entity_body(iri, media)
        if rdf_format is None:
            return Response(200, HTML, body, {**headers, "Content-Security-Policy": CSP})
        return Response(200, f"{rdf_format.media_type}; charset=utf-8", body, headers)


    def picture(self, req: Request, rest: str, view: str) -> Response:
        """The network or timeline view's data for /id/<rest> as JSON (kb.interop.pictures)."""
        iri = self.pages.iri_for_path(rest)
        if not rest or not self.pages.exists(iri):
            return Response.text(404, f"no KB node is described at {iri}")
        try:
            doc = self.pages.picture_json(iri, view, req.params)
        except ValueError as exc:
            return Response.text(400, str(exc))
        return Response(200, "application/json", json.dumps(doc, indent=1).encode("utf-8"),
                        {"Cache-Control": "no-cache"})


def create_app(data: Path, limits: Limits | None = None, workers: int = 2,
               queries_dir: Path = QUERIES) -> App:
    """Start the query workers on `data` and wire up the pages.

    `data` is the KB (dist/kb.ttl) or any dataset in a format kb.engine.DATA_FORMATS names
    by its extension (`kb serve --data`); it is served read-only either way.
    """
    schema = load_schema()
    prefixes = dict(schema.prefixes)
    prefixes["kb"] = schema.base + "id/"
    config = WorkerConfig(data, limits or Limits(), tuple(sorted(prefixes.items())))
    disk = DiskStore(data)  # loaded once; the workers and the pages open copies of it
    try:
        engine = Engine(config, workers, disk)
    except BaseException:
        disk.close()
        raise
    try:
        engine.wait_ready()
        pages = EntityPages.create(disk.open(), schema.base, load_ontology(), prefixes)
    except BaseException:
        engine.close()
        raise
    return App(engine, pages, queries_dir)


@dataclass(frozen=True)
class ServerSettings:
    """How connections are handled; each number bounds what one client can hold."""

    backlog: int = 2048  # connections the kernel queues before accept()
    max_connections: int = 1000  # open connections (or requests in progress); over it: 503
    idle_timeout: float = 5.0  # a keep-alive connection with no new request is closed
    request_timeout: float = 30.0  # a request's head and body must arrive within this
    max_body: int = MAX_BODY  # bytes read of a request body; over it: 413
    max_head: int = 64 * 2**10  # request line and headers; over it: 400
    threads: int = 32  # requests handled at once (each may wait for a query worker)


_HOST = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
_LOG = logging.getLogger("kb.serve")
_TIMEOUT_BODY = b"request not received in time\n"
_TIMEOUT_RESPONSE = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
                     b"content-length: %d\r\nconnection: close\r\n\r\n%s"
                     % (len(_TIMEOUT_BODY), _TIMEOUT_BODY))


LINGER_SECONDS = 2.0
LINGER_BYTES = 2**20


class _LingeringTransport:
    """A transport whose close() first lets the client read the answer (see _TimedH11)."""

    def __init__(self, transport: asyncio.Transport, protocol: _TimedH11):
        self._transport = transport
        self._protocol = protocol

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def is_closing(self) -> bool:
        return self._protocol.lingering or self._transport.is_closing()

    def close(self) -> None:
        self._protocol.linger()


class _TimedH11(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, plus a deadline for receiving each whole request, and
    a lingering close.

    uvicorn closes idle keep-alive connections, but it sets no deadline on a fresh
    connection or on a request whose head or body trickles in. Here the clock starts when a
    connection opens (or at the first byte of a later request) and stops once the request
    is complete; at the deadline the client gets 408 and the connection is closed.

    Closing a socket with unread bytes in it makes the kernel send a reset, which can destroy
    the error answer (413, 400) before the client reads it. So a close sends the answer and
    a FIN, then discards (never stores) what still arrives, for at most LINGER_SECONDS and
    LINGER_BYTES, as web servers' "lingering close" does.
    """

    request_timeout: float = 30.0
    _request_timer: asyncio.TimerHandle | None = None
    lingering: bool = False
    _discarded: int = 0
    _linger_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._raw = transport
        self.transport = _LingeringTransport(transport, self)  # type: ignore[assignment]
        self._arm()

    def linger(self) -> None:
        """Half-close: the answer goes out with a FIN; the socket closes a little later."""
        if self.lingering:
            return
        self.lingering = True
        self._disarm()
        raw = self._raw
        if raw.is_closing() or not raw.can_write_eof():
            raw.close()
            return
        raw.write_eof()
        raw.resume_reading()
        self._linger_timer = self.loop.call_later(LINGER_SECONDS, raw.close)

    def eof_received(self) -> bool | None:
        if self.lingering:
            self._raw.close()
        return None

    def _arm(self) -> None:
        self._disarm()
        self._request_timer = self.loop.call_later(self.request_timeout, self._timed_out)

    def _disarm(self) -> None:
        if self._request_timer is not None:
            self._request_timer.cancel()
            self._request_timer = None

    def data_received(self, data: bytes) -> None:
        if self.lingering:
            self._discarded += len(data)
            if self._discarded > LINGER_BYTES:
                self._raw.close()
            return
        if self._request_timer is None and self.conn.their_state is h11.IDLE:
            self._arm()  # the first bytes of a request on a kept-alive connection
        super().data_received(data)
        if self.conn.their_state not in (h11.IDLE, h11.SEND_BODY):
            self._disarm()  # the whole request is in (or the connection is done)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.conn.their_state is h11.SEND_BODY and self._request_timer is None:
            self._arm()  # a pipelined request, still arriving

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._linger_timer is not None:
            self._linger_timer.cancel()
        self.transport = self._raw  # type: ignore[assignment]
        super().connection_lost(exc)

    def _timed_out(self) -> None:
        self._request_timer = None
        if self.transport.is_closing():
            return
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        _LOG.warning("%s: no complete request within %g s; connection closed", client,
                     self.request_timeout)
        if self.cycle is None or not self.cycle.response_started:
            self.transport.write(_TIMEOUT_RESPONSE)
        self.transport.close()


class _Disconnected(Exception):
    pass


def _response(status: int, message: str) -> tuple[Response, bool]:
    """An error that ends the connection: its body, if any, is left unread."""
    return Response.text(status, message), True


class ASGIApp:
    """The ASGI face of App: reads at most max_body bytes of a body, runs App in threads."""

    def __init__(self, app: App, settings: ServerSettings):
        self.app = app
        self.settings = settings
        self.executor = ThreadPoolExecutor(settings.threads, thread_name_prefix="kb-serve")

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict]],
                       send: Callable[[dict], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            return
        headers = Message()
        for name, value in scope["headers"]:
            headers[name.decode("latin-1")] = value.decode("latin-1")
        try:
            resp, close = await self._respond(scope, receive, headers)
        except _Disconnected:
            return
        out = [(b"content-type", resp.content_type.encode()),
               (b"content-length", str(len(resp.body)).encode()),
               (b"server", b"kb-serve"), (b"x-content-type-options", b"nosniff"),
               (b"referrer-policy", b"no-referrer")]
        out += [(k.lower().encode("latin-1"), v.encode("latin-1"))
                for k, v in resp.headers.items()]
        if close:
            out.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": resp.status, "headers": out})
        await send({"type": "http.response.body", "body": resp.body})

    async def _respond(self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict]],
                       headers: Message) -> tuple[Response, bool]:
        method = scope["method"]
        length = headers.get("content-length")  # h11 has checked it is digits only
        chunked = "transfer-encoding" in headers
        has_body = chunked or (length is not None and int(length) > 0)
        close = False
        body = b""
        if method in ("GET", "HEAD") and has_body:
            return _response(400, f"a {method} request must not have a body (SPARQL 1.1 "
                                  "Protocol 2.2.1): put the query in the URL, or POST it")
        if method == "POST":
            if length is None and not chunked:
                return _response(411, "a Content-Length header is required")
            cap = self.settings.max_body
            if length is not None and int(length) > cap:
                return _response(413, f"request body over {cap // 2**20} MiB")
            read = await self._read_body(receive, cap)
            if read is None:
                return _response(413, f"request body over {cap // 2**20} MiB")
            body = read
        elif has_body:
            close = True  # a body this server has no use for is not read
        raw_path = scope["raw_path"].decode("latin-1")
        query = scope["query_string"].decode("latin-1")
        req = Request(method, raw_path, parse_qs(query, keep_blank_values=True), headers, body,
                      _base_iri(scope, headers, raw_path))
        loop = asyncio.get_running_loop()
        resp = await loop.run_in_executor(self.executor, self._handle, req)
        return resp, close

    def _handle(self, req: Request) -> Response:
        try:
            return self.app.handle(req)
        except Exception as exc:  # noqa: BLE001 - answer 500 rather than drop the connection
            _LOG.error("internal error on %s %s: %s: %s", req.method, req.path,
                       type(exc).__name__, exc)
            return Response.text(500, f"internal error: {type(exc).__name__}: {exc}")

    @staticmethod
    async def _read_body(receive: Callable[[], Awaitable[dict]], cap: int) -> bytes | None:
        """The body, or None as soon as more than `cap` bytes have arrived."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


def _base_iri(scope: dict[str, Any], headers: Message, raw_path: str) -> str:
    """The request URL without its query: the base IRI for relative IRIs in a query."""
    host = headers.get("host", "")
    if not _HOST.fullmatch(host):
        addr, port = scope["server"] or ("127.0.0.1", 0)
        host = f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"
    return f"{scope['scheme']}://{host}{quote(raw_path, safe='/%-._~!$&()*+,;=:@')}"


def _configure_logging(quiet: bool) -> None:
    """One line per request (unless quiet) and one per failed connection, on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("kb serve: %(message)s"))
    for name, level in (("uvicorn.error", logging.ERROR if quiet else logging.WARNING),
                        ("uvicorn.access", logging.CRITICAL + 1 if quiet else logging.INFO),
                        ("kb.serve", logging.ERROR if quiet else logging.WARNING)):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False


class KBServer:
    """uvicorn serving an App on a socket bound at construction (so its URL is known)."""

    def __init__(self, address: tuple[str, int], app: App, quiet: bool = False,
                 settings: ServerSettings | None = None):
        self.app = app
        self.settings = settings or ServerSettings()
        host, port = address
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say TCP, and
        # without it every response body waits ~40 ms for the client's delayed ACK
        self.socket = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.socket.bind((host, port))
            self.socket.listen(self.settings.backlog)  # connections queue until uvicorn runs
        except BaseException:
            self.socket.close()
            raise
        self.server_address = self.socket.getsockname()
        _configure_logging(quiet)
        protocol = type("KBHTTPProtocol", (_TimedH11,),
                        {"request_timeout": self.settings.request_timeout})
        self.asgi = ASGIApp(app, self.settings)
        s = self.settings
        config = uvicorn.Config(
            self.asgi, http=protocol, lifespan="off", log_config=None, access_log=not quiet,
            proxy_headers=False, server_header=False, backlog=s.backlog,
            limit_concurrency=s.max_connections, timeout_keep_alive=max(1, round(s.idle_timeout)),
            h11_max_incomplete_event_size=s.max_head, timeout_graceful_shutdown=5)
        config.timeout_keep_alive = s.idle_timeout  # type: ignore[assignment] - float works
        self._server = uvicorn.Server(config)
        self._done = threading.Event()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in str(host) else host
        return f"http://{host}:{port}/"

    def serve_forever(self) -> None:
        """Serve until shutdown() (from another thread) or SIGINT/SIGTERM (main thread)."""
        self._done.clear()
        try:
            self._server.run(sockets=[self.socket])
        finally:
            self._done.set()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop serving and wait (up to `timeout` s) for serve_forever() to return."""
        self._server.should_exit = True
        self._done.wait(timeout)

    def server_close(self) -> None:
        self.asgi.close()
        self.socket.close()


def make_server(app: App, host: str = "127.0.0.1", port: int = 0, quiet: bool = False,
                settings: ServerSettings | None = None) -> KBServer:
    """A server bound to host:port (port 0 picks a free one); call serve_forever() on it."""
    return KBServer((host, port), app, quiet, settings)
