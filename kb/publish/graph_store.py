"""Publish the validated KB into a named graph of any SPARQL 1.1 Graph Store Protocol store.

The remote graph is never left emptied or half-written, whatever fails:

1. The Turtle is PUT into a fresh staging graph (urn:kb:publish:<uuid>), never into the
   target. A store error, a time-out or a cut connection here touches only the staging graph.
2. The staging graph is read back (GET) and its triples counted; a short count is an error.
3. One SPARQL Update request, `MOVE <staging> TO <target>`, swaps it in. Stores apply one
   update request as one transaction (Oxigraph, Fuseki/TDB2, GraphDB, Neptune), so the target
   holds either the previous graph or the complete new one.
4. The target is read back and its triples counted: that is the count reported.

On any failure the staging graph is dropped (best effort) and the target is left as it was.
A single PUT to the target would not do: Oxigraph's PUT clears the graph first and then
streams the upload in, so a cut upload leaves it empty or partial.

A release is published the same way, with its VoID put into `<graph>/description` in the same
update; `apply_patch` sends a release's patch instead (`kb publish --since`): DELETE DATA,
INSERT DATA and the new description in one SPARQL Update, then the count and a sample checked.

Credentials come from an environment variable, never from the command line: "user:password"
is sent as HTTP Basic auth; "Bearer <token>" (or any "<scheme> <credentials>") is sent as is.
"""

from __future__ import annotations

import base64
import decimal
import http.client
import os
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass

import pyoxigraph as ox

from kb.core.errors import InputError, KBError
from kb.interop.rdf_patch import Patch, to_sparql_update

# An absolute IRI that can stand in SPARQL as <...> (the IRIREF rule, plus a scheme).
IRI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^<>\"{}|^`\\\x00-\x20]*$")
UPDATE_PATHS = [  # Graph Store Protocol path -> SPARQL Update path, for well-known stores
    ("/store", "/update"),  # Oxigraph
    ("/data", "/update"),  # Apache Jena Fuseki
    ("/rdf-graphs/service", "/statements"),  # GraphDB, RDF4J
    ("/sparql-graph-crud-auth", "/sparql-auth"),  # Virtuoso
    ("/sparql-graph-crud", "/sparql"),  # Virtuoso
    ("/sparql/gsp/", "/sparql"),  # Amazon Neptune
    ("/sparql/gsp", "/sparql"),
]


class PublishError(KBError):
    """The store refused or failed; the target graph was left as it was. Exit code 3."""

    exit_code = 3


@dataclass(frozen=True)
class Store:
    """Where and how to reach the remote store."""

    endpoint: str  # Graph Store Protocol endpoint, e.g. http://localhost:7878/store
    update_endpoint: str  # SPARQL Update endpoint, e.g. http://localhost:7878/update
    authorization: str | None = None  # an Authorization header value
    timeout: float = 60.0


@dataclass(frozen=True)
class Published:
    graph: str
    sent: int  # triples uploaded
    held: int  # triples the store holds in the graph afterwards


def check_iri(iri: str, what: str) -> str:
    if not IRI_RE.match(iri):
        raise InputError(f"{what} {iri!r} is not an absolute IRI")
    return iri


def check_url(url: str, what: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(f"{what} {url!r} must be an http:// or https:// URL")
    return url


def update_endpoint_for(endpoint: str) -> str:
    """Guess the SPARQL Update endpoint beside a well-known store's Graph Store endpoint."""
    parts = urllib.parse.urlsplit(endpoint)
    for gsp, update in UPDATE_PATHS:
        if parts.path.endswith(gsp):
            path = parts.path[: -len(gsp)] + update
            return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))
    raise InputError(f"cannot tell where the SPARQL Update endpoint of {endpoint} is; "
                     "pass it with --update-endpoint")


def authorization_from_env(var: str | None) -> str | None:
    """The Authorization header for the credentials in environment variable `var`."""
    if not var:
        return None
    value = os.environ.get(var)
    if not value:
        raise InputError(f"--auth-env {var}: the environment variable is not set")
    scheme, sep, _ = value.partition(" ")
    if sep and scheme.isalpha():
        return value
    if ":" in value:
        return "Basic " + base64.b64encode(value.encode("utf-8")).decode("ascii")
    raise InputError(f"--auth-env {var}: expected user:password or '<scheme> <credentials>'")


def _graph_url(store: Store, graph: str) -> str:
    sep = "&" if "?" in store.endpoint else "?"
    return f"{store.endpoint}{sep}{urllib.parse.urlencode({'graph': graph})}"


def _call(store: Store, method: str, url: str, body: bytes | None = None,
          content_type: str | None = None, accept: str | None = None) -> bytes:
    """One HTTP request; HTTP errors, time-outs and cut connections raise OSError-likes."""
    req = urllib.request.Request(url, data=body, method=method)
    if content_type:
        req.add_header("Content-Type", content_type)
    if accept:
        req.add_header("Accept", accept)
    if store.authorization:
        req.add_header("Authorization", store.authorization)
    with urllib.request.urlopen(req, timeout=store.timeout) as resp:  # noqa: S310 - http(s) only
        return resp.read()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        detail = exc.read().decode("utf-8", "replace").strip()[:500]
        return f"HTTP {exc.code} {exc.reason}" + (f": {detail}" if detail else "")
    if isinstance(exc, urllib.error.URLError):
        return f"{exc.reason}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


FAILURES = (OSError, http.client.HTTPException, ValueError)


def count_triples(store: Store, graph: str) -> int:
    """How many triples the store holds in `graph` (0 if it has no such graph)."""
    try:
        data = _call(store, "GET", _graph_url(store, graph), accept="application/n-triples")
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return 0
        raise
    return count(data, ox.RdfFormat.N_TRIPLES)


def count(data: bytes, fmt: ox.RdfFormat = ox.RdfFormat.TURTLE) -> int:
    """The number of distinct triples in an RDF document."""
    return len({(t.subject, t.predicate, t.object) for t in ox.parse(data, format=fmt)})


def _drop(store: Store, graph: str) -> None:
    """Delete a graph, ignoring failures (used to clean up the staging graph)."""
    try:
        _call(store, "DELETE", _graph_url(store, graph))
    except FAILURES:
        pass


def publish(turtle: bytes, triples: int, store: Store, graph: str,
            description: list[str] | None = None) -> Published:
    """Replace `graph` in the store with the given Turtle (`triples` triples), atomically.

    The same update replaces `<graph>/description` with `description` (N-Triples rows of a
    release's VoID), or drops it: the store never states a version its graph is not at."""
    check_iri(graph, "--graph")
    staging = f"urn:kb:publish:{uuid.uuid4()}"
    kept = f"the graph <{graph}> was left as it was"
    try:
        _call(store, "PUT", _graph_url(store, staging), turtle, "text/turtle")
        staged = count_triples(store, staging)
    except FAILURES as exc:
        _drop(store, staging)
        raise PublishError(f"upload to {store.endpoint} failed: {_describe(exc)}; {kept}") \
            from None
    if staged != triples:
        _drop(store, staging)
        raise PublishError(f"the store holds {staged} of the {triples} triples uploaded to the "
                           f"staging graph; {kept}")
    # Both IRIs are checked against the IRIREF rule above; SPARQL Update has no bindings.
    update = " ;\n".join([f"MOVE <{check_iri(staging, 'staging graph')}> TO <{graph}>",
                           *_describe_ops(graph, description)])
    try:
        _call(store, "POST", store.update_endpoint, update.encode("utf-8"),
              "application/sparql-update")
    except urllib.error.HTTPError as exc:
        _drop(store, staging)
        raise PublishError(f"the swap into <{graph}> failed: {_describe(exc)}; {kept}") \
            from None
    except FAILURES as exc:
        _drop(store, staging)
        raise PublishError(f"no answer to the swap into <{graph}> ({_describe(exc)}); the "
                           "store applies it as one transaction, so the graph holds either "
                           "the previous version or the complete new one") from None
    try:
        held = count_triples(store, graph)
    except FAILURES as exc:
        raise PublishError(f"published, but reading <{graph}> back failed: "
                           f"{_describe(exc)}") from None
    if held != triples:
        raise PublishError(f"published {triples} triples, but the store now holds {held} "
                           f"in <{graph}>")
    return Published(graph, triples, held)


# -- releases: a description graph beside the data, and patches ------------------------------
OWL_VERSION = "http://www.w3.org/2002/07/owl#versionInfo"
XSD = "http://www.w3.org/2001/XMLSchema#"
NUMERIC = {XSD + t for t in ("integer", "decimal", "double", "float", "int", "long", "short",
                             "byte", "nonNegativeInteger", "positiveInteger")}
SAMPLE = 50  # triples of each kind checked after a patch


def description_graph(graph: str) -> str:
    """The graph holding the VoID of the release in `graph`: `<graph>/description`."""
    return check_iri(f"{graph}/description", "description graph")


def _key(t: ox.Triple) -> tuple:
    """A triple compared by value for numbers: stores keep values ("5600000.0" -> "5600000")."""
    o = t.object
    if isinstance(o, ox.Literal) and o.datatype.value in NUMERIC:
        try:
            return (t.subject, t.predicate, "number", decimal.Decimal(o.value).normalize())
        except decimal.InvalidOperation:
            pass
    return (t.subject, t.predicate, o)


def _keys(rows: list[str]) -> set[tuple]:
    text = "".join(f"{r} .\n" for r in rows).encode("utf-8")
    return {_key(t) for t in ox.parse(text, format=ox.RdfFormat.N_TRIPLES)}


def _held(store: Store, graph: str) -> set[tuple]:
    data = _call(store, "GET", _graph_url(store, graph), accept="application/n-triples")
    return {_key(t) for t in ox.parse(data, format=ox.RdfFormat.N_TRIPLES)}


def store_version(store: Store, graph: str, dataset: str) -> str | None:
    """The release version the store's description graph states for `graph`, or None."""
    try:
        data = _call(store, "GET", _graph_url(store, description_graph(graph)),
                     accept="application/n-triples")
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise PublishError(f"reading the description graph failed: {_describe(exc)}") from None
    except FAILURES as exc:
        raise PublishError(f"reading the description graph failed: {_describe(exc)}") from None
    for t in ox.parse(data, format=ox.RdfFormat.N_TRIPLES):
        if (t.subject, t.predicate) == (ox.NamedNode(dataset), ox.NamedNode(OWL_VERSION)):
            return t.object.value
    return None


def _describe_ops(graph: str, description: list[str] | None) -> list[str]:
    """Replace the description graph: dropped, then the release's VoID (if any) put in."""
    desc = description_graph(graph)
    ops = [f"DROP SILENT GRAPH <{desc}>"]
    if description:
        body = "".join(f"    {r} .\n" for r in description)
        ops.append(f"INSERT DATA {{\n  GRAPH <{desc}> {{\n{body}  }}\n}}")
    return ops


def _sample(rows: tuple[str, ...]) -> list[str]:
    step = max(1, len(rows) // SAMPLE)
    return list(rows[::step][:SAMPLE])


def apply_patch(patch: Patch, store: Store, graph: str, description: list[str],
                expected: int) -> Published:
    """Apply `patch` to `graph` and put `description` (N-Triples rows of the release's VoID)
    into its description graph, in one SPARQL Update request: one transaction, so on a store
    error the graph stays at the previous version. Then check the triple count (`expected`)
    and a sample of added and deleted triples."""
    check_iri(graph, "--graph")
    update = to_sparql_update(patch, graph, _describe_ops(graph, description))
    was = f"<{graph}> was left at the previous version"
    try:
        _call(store, "POST", store.update_endpoint, update.encode("utf-8"),
              "application/sparql-update")
    except urllib.error.HTTPError as exc:
        raise PublishError(f"the store refused the patch: {_describe(exc)}; {was}") from None
    except FAILURES as exc:
        raise PublishError(f"no answer to the patch ({_describe(exc)}); the store applies it "
                           "as one transaction, so the graph holds either the previous version "
                           "or the complete new one") from None
    try:
        held = _held(store, graph)
    except FAILURES as exc:
        raise PublishError(f"patched, but reading <{graph}> back failed: "
                           f"{_describe(exc)}") from None
    if len(held) != expected:
        raise PublishError(f"patched, but the store holds {len(held)} triples in <{graph}>, "
                           f"not the release's {expected}")
    missing = _keys(_sample(patch.adds)) - held
    kept = _keys(_sample(patch.deletes)) & held
    if missing or kept:
        raise PublishError(f"patched, but of a sample of the patch {len(missing)} added "
                           f"triple(s) are missing and {len(kept)} deleted one(s) remain in "
                           f"<{graph}>")
    return Published(graph, len(patch.adds) + len(patch.deletes), len(held))
