"""Run SPARQL files on the KB with parameters passed as bindings, and format the results."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

import pyoxigraph as ox
from rdflib import XSD, BNode, Literal, URIRef
from rdflib.term import Node

from kb.query import guard  # noqa: F401 - re-exported (tests, kb.serve)
from kb.query.lean import (  # noqa: F401 - re-exported: the rest of the project reads them here
    ENTRY,
    NAME_RE,
    PARAM_NS,
    PARAM_RE,
    PARAMS_GRAPH,
    Param,
    QueryFile,
    TooManyRows,
    check_params,
    entry_points,
    find_query,
    list_queries,
    read_query,
    run_ox,
    screen,
)
from kb.rdf.terms import from_ox, to_ox
from kb.seeds.schema import load_schema


def bind(query: QueryFile, raw: dict[str, str]) -> dict[str, Node]:
    """Turn name=value strings into RDF terms, by the kinds the query's header declares."""
    out: dict[str, Node] = {}
    for name, (kind, value) in check_params(query, raw, load_schema().id_iri).items():
        if kind == "iri":
            out[name] = URIRef(value)
        elif kind == "date":
            out[name] = Literal(value, datatype=XSD.date)
        elif kind == "integer":
            out[name] = Literal(int(value), datatype=XSD.integer)
        else:
            out[name] = Literal(value)
    return out


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


def run(store: ox.Store, query: QueryFile, params: dict[str, Node] | None = None,
        max_rows: int | None = None) -> Result:
    """Run a SELECT query with its parameters substituted as RDF terms (never pasted as text).

    Queries from outside the project (`kb query`) are screened first (`screen`); the
    project's own checks and views are not. More rows than max_rows raise TooManyRows."""
    terms = {k: to_ox(v) for k, v in (params or {}).items()}
    cols, rows = run_ox(store, query, terms, max_rows, entry=entry_points)
    return Result(cols, [[cell(t) for t in row] for row in rows])


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
