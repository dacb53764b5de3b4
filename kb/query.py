"""Run SPARQL files on the KB with parameters passed as bindings, and format the results."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import XSD, Literal, URIRef
from rdflib.term import Node

from .errors import InputError, Problem
from .paths import QUERIES
from .schema import load_schema
from .seeds import ID_RE
from .store import from_ox, to_ox

PARAM_RE = re.compile(r"^#\s*@param\s+(\w+)\s+(\w+)(?:\s+(optional))?\s*(.*)$")
FORBIDDEN = re.compile(r"\b(SERVICE|LOAD)\b", re.IGNORECASE)
# A `# @entry` line marks where a query's parameters should enter the evaluation.
ENTRY = re.compile(r"^[ \t]*# @entry[ \t]*$", re.MULTILINE)
PARAMS_GRAPH = "urn:kb:params"
PARAM_NS = "urn:kb:param:"
NAME_RE = re.compile(r"^\w+$")


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # iri | date | string | integer
    optional: bool
    doc: str


@dataclass
class QueryFile:
    path: Path
    text: str
    params: dict[str, Param]

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def title(self) -> str:
        for line in self.text.splitlines():
            if line.startswith("# ") and not line.startswith("# @"):
                return line[2:].strip()
        return self.name


def find_query(name: str, queries_dir: Path = QUERIES) -> QueryFile:
    """A query by path or by name in queries/ (with or without .rq)."""
    p = Path(name)
    candidates = [p, queries_dir / name, queries_dir / f"{name}.rq"]
    for c in candidates:
        if c.is_file() and c.suffix == ".rq":
            return read_query(c)
    known = ", ".join(q.name for q in list_queries(queries_dir))
    raise InputError(Problem(name, None, None, f"no such query; named queries: {known}"))


def read_query(path: Path) -> QueryFile:
    text = path.read_text(encoding="utf-8")
    params = {}
    for i, line in enumerate(text.splitlines(), start=1):
        m = PARAM_RE.match(line)
        if m:
            if m[2] not in ("iri", "date", "string", "integer"):
                raise InputError(Problem(str(path), i, "@param", f"unknown kind {m[2]!r}"))
            params[m[1]] = Param(m[1], m[2], bool(m[3]), m[4])
    return QueryFile(path, text, params)


def list_queries(queries_dir: Path = QUERIES) -> list[QueryFile]:
    return [read_query(p) for p in sorted(queries_dir.glob("*.rq"))]


def bind(query: QueryFile, raw: dict[str, str]) -> dict[str, Node]:
    """Turn name=value strings into RDF terms, by the kinds the query's header declares."""
    out: dict[str, Node] = {}
    for name, value in raw.items():
        if name not in query.params:
            known = ", ".join(query.params) or "none"
            raise InputError(Problem(str(query.path), None, name,
                                     f"unknown parameter; this query takes: {known}"))
        kind = query.params[name].kind
        if kind == "iri":
            out[name] = _iri(query, name, value)
        elif kind == "date":
            if not re.match(r"^\d{4}-\d{2}-\d{2}$", value):
                raise InputError(Problem(str(query.path), None, name,
                                         f"{value!r} is not a date YYYY-MM-DD"))
            out[name] = Literal(value, datatype=XSD.date)
        elif kind == "integer":
            out[name] = Literal(int(value), datatype=XSD.integer)
        else:
            out[name] = Literal(value)
    for p in query.params.values():
        if not p.optional and p.name not in out:
            raise InputError(Problem(str(query.path), None, p.name,
                                     f"required parameter missing: --param {p.name}=..."))
    return out


def _iri(query: QueryFile, name: str, value: str) -> URIRef:
    """An id such as kirill-dmitriev stands for its entity's IRI; a full IRI is kept."""
    if ID_RE.match(value):
        return URIRef(load_schema().id_iri(value))
    try:
        ox.NamedNode(value)
    except ValueError:
        raise InputError(Problem(str(query.path), None, name,
                                 f"{value!r} is neither an id nor an absolute IRI")) from None
    if ":" not in value:
        raise InputError(Problem(str(query.path), None, name, f"{value!r} is not absolute"))
    return URIRef(value)


@dataclass
class Result:
    columns: list[str]
    rows: list[list[Node | None]]


def run(store: ox.Store, query: QueryFile, params: dict[str, Node] | None = None,
        allow_network: bool = False) -> Result:
    """Run a SELECT query with its parameters substituted as RDF terms (never pasted as text)."""
    if not allow_network and FORBIDDEN.search(_strip_comments(query.text)):
        raise InputError(Problem(str(query.path), None, None,
                                 "SERVICE and LOAD are refused: queries never reach the network"))
    terms = {k: to_ox(v) for k, v in (params or {}).items()}
    subs = {ox.Variable(k): t for k, t in terms.items()}
    with entry_points(store, query.text, terms) as text:
        try:
            res = store.query(text, substitutions=subs)
        except SyntaxError as exc:
            raise InputError(Problem(str(query.path), None, None, f"SPARQL error: {exc}")) from None
        if not isinstance(res, ox.QuerySolutions):
            raise InputError(Problem(str(query.path), None, None,
                                     "only SELECT queries are run here"))
        cols = [v.value for v in res.variables]
        rows = [[from_ox(sol[c]) for c in cols] for sol in res]
    return Result(cols, rows)


@contextmanager
def entry_points(store: ox.Store, text: str,
                 params: dict[str, ox.NamedNode | ox.Literal]) -> Iterator[str]:
    """The query text to run, with its parameters also given to the engine as data.

    Oxigraph plans a query before it applies substitutions, so it cannot know that a
    parameter's variable will be bound and may start from a pattern that matches the whole
    KB. For each `# @entry` line this puts the given parameters in a named graph of their own
    and replaces the line with a fixed pattern reading them back (`GRAPH <urn:kb:params>
    { <urn:kb:params> <urn:kb:param:actor> ?actor }`), which the planner sees as selective
    and evaluates first. The values are data, never query text; the substitutions still bind
    the same values. Results must be read inside the block (the graph is removed after it).
    On a read-only store, or without `# @entry` lines, the text is run as it is.
    """
    names = sorted(n for n in params if NAME_RE.match(n))
    if not names or not ENTRY.search(text):
        yield text
        return
    graph = ox.NamedNode(PARAMS_GRAPH)
    try:
        store.remove_graph(graph)
        store.extend([ox.Quad(graph, ox.NamedNode(PARAM_NS + n), params[n], graph)
                      for n in names])
    except (OSError, RuntimeError):  # opened read-only
        yield text
        return
    reads = " ; ".join(f"<{PARAM_NS}{n}> ?{n}" for n in names)
    try:
        yield ENTRY.sub(f"GRAPH <{PARAMS_GRAPH}> {{ <{PARAMS_GRAPH}> {reads} }}", text)
    finally:
        store.remove_graph(graph)


def _strip_comments(text: str) -> str:
    return "\n".join(line.split("#", 1)[0] if not line.lstrip().startswith("#") else ""
                     for line in text.splitlines())


def _cell(term: Node | None, compact: bool) -> str:
    if term is None:
        return ""
    if isinstance(term, URIRef) and compact:
        base = load_schema().base + "id/"
        s = str(term)
        return s[len(base):] if s.startswith(base) else s
    return str(term)


def format_result(result: Result, fmt: str) -> str:
    """Render as table, csv, tsv or json (SPARQL 1.1 JSON results)."""
    if fmt == "json":
        bindings = []
        for row in result.rows:
            b = {}
            for col, t in zip(result.columns, row, strict=True):
                if t is None:
                    continue
                if isinstance(t, URIRef):
                    b[col] = {"type": "uri", "value": str(t)}
                else:
                    lit = {"type": "literal", "value": str(t)}
                    if t.datatype:
                        lit["datatype"] = str(t.datatype)
                    if t.language:
                        lit["xml:lang"] = t.language
                    b[col] = lit
            bindings.append(b)
        doc = {"head": {"vars": result.columns}, "results": {"bindings": bindings}}
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if fmt in ("csv", "tsv"):
        buf = io.StringIO()
        w = csv.writer(buf, delimiter="," if fmt == "csv" else "\t", lineterminator="\n")
        w.writerow(result.columns)
        for row in result.rows:
            w.writerow([_cell(t, False) for t in row])
        return buf.getvalue()
    cells = [[_cell(t, True) for t in row] for row in result.rows]
    widths = [max([len(c)] + [min(len(r[i]), 60) for r in cells])
              for i, c in enumerate(result.columns)]
    def fmt_row(r: list[str]) -> str:
        return " | ".join((v if len(v) <= 60 else v[:57] + "...").ljust(w)
                          for v, w in zip(r, widths, strict=True)).rstrip()
    lines = [fmt_row(result.columns), "-+-".join("-" * w for w in widths)]
    lines += [fmt_row(r) for r in cells]
    lines.append(f"({len(cells)} row{'s' if len(cells) != 1 else ''})")
    return "\n".join(lines) + "\n"
