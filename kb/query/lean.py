"""Query files, parameters, running and formatting with Oxigraph's terms only: no rdflib.

`kb query` answers from a current build through this module alone, so a query costs no
rdflib import (kb/cli/query.py, kb.serve.child). kb.query.run re-exports the file reading and
keeps the rdflib-term API (Result, bind, format_result) the rest of the project uses; the two
print the same bytes (tests/test_cli_latency_paths.py checks every named query and format).
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kb.core.errors import InputError, Problem
from kb.core.paths import QUERIES

PARAM_RE = re.compile(r"^#\s*@param\s+(\w+)\s+(\w+)(?:\s+(optional))?\s*(.*)$")
# A `# @entry` line marks where a query's parameters should enter the evaluation.
ENTRY = re.compile(r"^[ \t]*# @entry[ \t]*$", re.MULTILINE)
PARAMS_GRAPH = "urn:kb:params"
PARAM_NS = "urn:kb:param:"
NAME_RE = re.compile(r"^\w+$")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*\Z")  # kb.seeds.check.ID_RE (a test holds them equal)
XSD = "http://www.w3.org/2001/XMLSchema#"

OxTerm = ox.NamedNode | ox.Literal
OxCell = ox.NamedNode | ox.Literal | ox.BlankNode | ox.Triple | None


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


def check_params(query: QueryFile, raw: dict[str, str],
                 id_iri: Callable[[str], str]) -> dict[str, tuple[str, str]]:
    """name -> (kind, lexical value) for name=value strings, by the kinds the query's header
    declares; InputError naming the query and parameter otherwise. `id_iri` maps an id such
    as kirill-dmitriev to its entity's IRI."""
    out: dict[str, tuple[str, str]] = {}
    for name, value in raw.items():
        if name not in query.params:
            known = ", ".join(query.params) or "none"
            raise InputError(Problem(str(query.path), None, name,
                                     f"unknown parameter; this query takes: {known}"))
        kind = query.params[name].kind
        if kind == "iri":
            out[name] = (kind, _iri(query, name, value, id_iri))
        elif kind == "date":
            out[name] = (kind, _date(query, name, value))
        elif kind == "integer":
            if not re.fullmatch(r"[+-]?[0-9]{1,18}", value):
                raise InputError(Problem(str(query.path), None, name,
                                         f"{value!r} is not an integer"))
            out[name] = (kind, str(int(value)))
        else:
            out[name] = (kind, value)
    for p in query.params.values():
        if not p.optional and p.name not in out:
            raise InputError(Problem(str(query.path), None, p.name,
                                     f"required parameter missing: --param {p.name}=..."))
    return out


def bind_ox(query: QueryFile, raw: dict[str, str], base: str) -> dict[str, OxTerm]:
    """check_params as Oxigraph terms; ids are IRIs under `base` (the seed schema's)."""
    out: dict[str, OxTerm] = {}
    for name, (kind, value) in check_params(query, raw, lambda i: f"{base}id/{i}").items():
        if kind == "iri":
            out[name] = ox.NamedNode(value)
        elif kind in ("date", "integer"):
            out[name] = ox.Literal(value, datatype=ox.NamedNode(XSD + kind))
        else:
            out[name] = ox.Literal(value)
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


def _iri(query: QueryFile, name: str, value: str, id_iri: Callable[[str], str]) -> str:
    """An id such as kirill-dmitriev stands for its entity's IRI; a full IRI is kept."""
    if ID_RE.match(value):
        return id_iri(value)
    try:
        ox.NamedNode(value)
    except ValueError:
        raise InputError(Problem(str(query.path), None, name,
                                 f"{value!r} is neither an id nor an absolute IRI")) from None
    if ":" not in value:
        raise InputError(Problem(str(query.path), None, name, f"{value!r} is not absolute"))
    return value


class TooManyRows(InputError):
    """The result has more rows than the caller allowed."""


def screen(query: QueryFile, allow_network: bool = False, remember: Path | None = None) -> None:
    """kb.guard's verdict on a query file, as an InputError naming the file (`remember`:
    kb.guard.check's folder of parses already made)."""
    from kb.query import guard

    try:
        guard.check(query.text, allow_network=allow_network, remember=remember)
    except guard.Refused as exc:
        raise InputError(Problem(str(query.path), None, None, exc.message)) from None


EntryPoints = Callable[[ox.Store, str, dict[str, OxTerm]], AbstractContextManager[str]]


def run_ox(store: ox.Store, query: QueryFile, terms: dict[str, OxTerm],
           max_rows: int | None = None,
           entry: EntryPoints | None = None) -> tuple[list[str], list[list[OxCell]]]:
    """A SELECT query's columns and rows, its parameters substituted as terms (never pasted as
    text); more rows than max_rows raise TooManyRows. `entry`: entry_points (default)."""
    where = str(query.path)
    subs = {ox.Variable(k): t for k, t in terms.items()}
    with (entry or entry_points)(store, query.text, terms) as text:
        try:
            res = store.query(text, substitutions=subs)
        except SyntaxError as exc:
            raise InputError(Problem(where, None, None, f"SPARQL error: {exc}")) from None
        except RuntimeError as exc:
            raise InputError(Problem(where, None, None, _engine_message(exc, subs))) from None
        if not isinstance(res, ox.QuerySolutions):
            raise InputError(Problem(where, None, None, "only SELECT queries are run here"))
        cols = [v.value for v in res.variables]
        rows: list[list[OxCell]] = []
        for sol in res:
            if max_rows is not None and len(rows) >= max_rows:
                raise TooManyRows(Problem(where, None, None,
                                          f"result too large: more than {max_rows} rows; "
                                          "add a LIMIT to the query or raise --max-rows"))
            rows.append([sol[c] for c in cols])
    return cols, rows


def _engine_message(exc: RuntimeError, subs: dict[ox.Variable, object]) -> str:
    text = str(exc)
    if "SELECT projection" in text:
        names = ", ".join(f"?{v.value}" for v in subs)
        return (f"a parameter is not among the query's SELECT variables ({names}): "
                "parameters are bound only to variables the query selects")
    return f"query failed: {text}"


@contextmanager
def entry_points(store: ox.Store, text: str, params: dict[str, OxTerm]) -> Iterator[str]:
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


def has_triples(rows: list[list[OxCell]]) -> bool:
    return any(isinstance(t, ox.Triple) for row in rows for t in row)


def _text(term: OxCell, compact: str | None) -> str:
    """A cell as text; IRIs under `compact` (the ids' namespace) shortened to the id."""
    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, ox.NamedNode) and compact and term.value.startswith(compact):
        return term.value[len(compact):]
    return term.value  # type: ignore[union-attr]


def _json(term: ox.NamedNode | ox.Literal | ox.BlankNode) -> dict:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if term.language:
        return {"type": "literal", "value": term.value, "xml:lang": term.language}
    return {"type": "literal", "value": term.value, "datatype": term.datatype.value}


def format_rows(columns: list[str], rows: list[list[OxCell]], fmt: str, base: str) -> str:
    """Render as table, csv, tsv or json (SPARQL 1.1 JSON results), byte for byte as
    kb.query.run.format_result does; `base` is the seed schema's (table ids are shortened).
    Rows holding RDF 1.2 triple terms are kb.query.run's to print (`has_triples`)."""
    if has_triples(rows):
        raise ValueError("triple terms are printed by kb.query.run.format_result")
    if fmt == "json":
        bindings = [{c: _json(t) for c, t in zip(columns, row, strict=True) if t is not None}
                    for row in rows]
        doc = {"head": {"vars": columns}, "results": {"bindings": bindings}}
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if fmt in ("csv", "tsv"):
        buf = io.StringIO()
        w = csv.writer(buf, delimiter="," if fmt == "csv" else "\t", lineterminator="\n")
        w.writerow(columns)
        for row in rows:
            w.writerow([_text(t, None) for t in row])
        return buf.getvalue()
    cells = [[_text(t, base + "id/") for t in row] for row in rows]
    widths = [max([len(c)] + [min(len(r[i]), 60) for r in cells]) for i, c in enumerate(columns)]

    def fmt_row(r: list[str]) -> str:
        return " | ".join((v if len(v) <= 60 else v[:57] + "...").ljust(w)
                          for v, w in zip(r, widths, strict=True)).rstrip()
    lines = [fmt_row(columns), "-+-".join("-" * w for w in widths)]
    lines += [fmt_row(r) for r in cells]
    lines.append(f"({len(cells)} row{'s' if len(cells) != 1 else ''})")
    return "\n".join(lines) + "\n"
