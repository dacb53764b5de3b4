"""Run SPARQL files on the KB with parameters passed as bindings, and format the results."""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import XSD, BNode, Literal, URIRef
from rdflib.term import Node

from kb.core.errors import InputError, Problem
from kb.core.paths import QUERIES
from kb.query import guard
from kb.rdf.terms import from_ox, to_ox
from kb.seeds.check import ID_RE
from kb.seeds.schema import load_schema

PARAM_RE = re.compile(r"^#\s*@param\s+(\w+)\s+(\w+)(?:\s+(optional))?\s*(.*)$")
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
            out[name] = Literal(_date(query, name, value), datatype=XSD.date)
        elif kind == "integer":
            if not re.fullmatch(r"[+-]?[0-9]{1,18}", value):
                raise InputError(Problem(str(query.path), None, name,
                                         f"{value!r} is not an integer"))
            out[name] = Literal(int(value), datatype=XSD.integer)
        else:
            out[name] = Literal(value)
    for p in query.params.values():
        if not p.optional and p.name not in out:
            raise InputError(Problem(str(query.path), None, p.name,
                                     f"required parameter missing: --param {p.name}=..."))
    return out


def _date(query: QueryFile, name: str, value: str) -> str:
    """A real calendar date YYYY-MM-DD (2025-02-30 is refused)."""
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        try:
            return datetime.date.fromisoformat(value).isoformat()
        except ValueError:
            raise InputError(Problem(str(query.path), None, name,
                                     f"{value!r} is not a real date")) from None
    raise InputError(Problem(str(query.path), None, name,
                             f"{value!r} is not a date YYYY-MM-DD"))


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


@dataclass(frozen=True)
class QuotedTriple:
    """An RDF 1.2 triple term in a result, printed as << s p o >>."""

    subject: Node
    predicate: Node
    object: Node

    def __str__(self) -> str:
        return f"<< {_n3(self.subject)} {_n3(self.predicate)} {_n3(self.object)} >>"


Cell = Node | QuotedTriple | None


@dataclass
class Result:
    columns: list[str]
    rows: list[list[Cell]]


class TooManyRows(InputError):
    """The result has more rows than the caller allowed."""


def screen(query: QueryFile, allow_network: bool = False) -> None:
    """kb.guard's verdict on a query file, as an InputError naming the file."""
    try:
        guard.check(query.text, allow_network=allow_network)
    except guard.Refused as exc:
        raise InputError(Problem(str(query.path), None, None, exc.message)) from None


def run(store: ox.Store, query: QueryFile, params: dict[str, Node] | None = None,
        max_rows: int | None = None) -> Result:
    """Run a SELECT query with its parameters substituted as RDF terms (never pasted as text).

    Queries from outside the project (`kb query`) are screened first (`screen`); the
    project's own checks and views are not. More rows than max_rows raise TooManyRows."""
    where = str(query.path)
    terms = {k: to_ox(v) for k, v in (params or {}).items()}
    subs = {ox.Variable(k): t for k, t in terms.items()}
    with entry_points(store, query.text, terms) as text:
        try:
            res = store.query(text, substitutions=subs)
        except SyntaxError as exc:
            raise InputError(Problem(where, None, None, f"SPARQL error: {exc}")) from None
        except RuntimeError as exc:
            raise InputError(Problem(where, None, None, _engine_message(exc, subs))) from None
        if not isinstance(res, ox.QuerySolutions):
            raise InputError(Problem(where, None, None, "only SELECT queries are run here"))
        cols = [v.value for v in res.variables]
        rows = []
        for sol in res:
            if max_rows is not None and len(rows) >= max_rows:
                raise TooManyRows(Problem(where, None, None,
                                          f"result too large: more than {max_rows} rows; "
                                          "add a LIMIT to the query or raise --max-rows"))
            rows.append([cell(sol[c]) for c in cols])
    return Result(cols, rows)


def _engine_message(exc: RuntimeError, subs: dict[ox.Variable, object]) -> str:
    text = str(exc)
    if "SELECT projection" in text:
        names = ", ".join(f"?{v.value}" for v in subs)
        return (f"a parameter is not among the query's SELECT variables ({names}): "
                "parameters are bound only to variables the query selects")
    return f"query failed: {text}"


def cell(term: object) -> Cell:
    """Any term Oxigraph can return, as something every output format can print."""
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Triple):
        return QuotedTriple(cell(term.subject), cell(term.predicate),  # type: ignore[arg-type]
                            cell(term.object))  # type: ignore[arg-type]
    return from_ox(term)


def _n3(term: Node | QuotedTriple | None) -> str:
    if isinstance(term, QuotedTriple):
        return str(term)
    return term.n3() if term is not None else "UNDEF"


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


def _cell(term: Cell, compact: bool) -> str:
    if term is None:
        return ""
    if isinstance(term, BNode):
        return f"_:{term}"
    if isinstance(term, URIRef) and compact:
        base = load_schema().base + "id/"
        s = str(term)
        return s[len(base):] if s.startswith(base) else s
    return str(term)


def _json_term(t: Node | QuotedTriple) -> dict:
    if isinstance(t, QuotedTriple):
        return {"type": "triple", "value": {"subject": _json_term(t.subject),
                                            "predicate": _json_term(t.predicate),
                                            "object": _json_term(t.object)}}
    if isinstance(t, URIRef):
        return {"type": "uri", "value": str(t)}
    if isinstance(t, BNode):
        return {"type": "bnode", "value": str(t)}
    lit: dict = {"type": "literal", "value": str(t)}
    if isinstance(t, Literal) and t.language:
        lit["xml:lang"] = t.language
    elif isinstance(t, Literal) and t.datatype:
        lit["datatype"] = str(t.datatype)
    return lit


def format_result(result: Result, fmt: str) -> str:
    """Render as table, csv, tsv or json (SPARQL 1.1 JSON results)."""
    if fmt == "json":
        bindings = []
        for row in result.rows:
            b = {}
            for col, t in zip(result.columns, row, strict=True):
                if t is None:
                    continue
                b[col] = _json_term(t)
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
