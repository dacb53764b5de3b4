"""The changelog between two versions of the KB, computed from their triples.

Triples are grouped by record: a record `x` owns its node `<base>id/x` and every node below
it (`<base>id/x/...`: claims, locators, dates). A record is added, removed, or changed; a
changed record lists each field (a node below the record and a property) whose values
differ. Claims (`<base>id/x/claim/...`) that appear or disappear are listed as citations
added or removed. Everything is sorted, so the Markdown is byte-stable.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pyoxigraph as ox

from kb.seeds.schema import load_schema

RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


@dataclass(frozen=True)
class Citation:
    record: str
    source: str
    para: str
    anchor: str
    stance: str

    def __str__(self) -> str:
        para = f" ¶{self.para}" if self.para else ""
        anchor = f" “{self.anchor}”" if self.anchor else ""
        stance = f" ({self.stance})" if self.stance else ""
        return f"`{self.record}`: {self.source}{para}{anchor}{stance}"


@dataclass(frozen=True)
class FieldChange:
    node: str  # the node below the record ("" for the record itself), e.g. "start"
    prop: str  # a CURIE, e.g. kbo:latest
    old: tuple[str, ...]
    new: tuple[str, ...]


@dataclass(frozen=True)
class RecordChange:
    id: str
    kind: str  # "entity" or "fact"
    status: str  # "added", "removed" or "changed"
    types: str
    label: str
    fields: tuple[FieldChange, ...] = ()


@dataclass
class Changes:
    added: int  # triples
    removed: int
    records: list[RecordChange] = field(default_factory=list)
    citations_added: list[Citation] = field(default_factory=list)
    citations_removed: list[Citation] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed)


class _Names:
    """Short forms of terms for people: record ids, CURIEs, plain literal values."""

    def __init__(self) -> None:
        schema = load_schema()
        self.id_ns = schema.base + "id/"
        self.prefixes = sorted({**schema.prefixes, "rdf": RDF_NS}.items(),
                               key=lambda kv: -len(kv[1]))
        self.fact_classes = {f"<{schema.expand(r.cls)}>" for r in schema.facts.values()}
        self.stances = {f"<{schema.expand(c)}>": name for name, c in schema.stances.items()}

    def iri(self, iri: str) -> str:
        if iri.startswith(self.id_ns):
            return iri[len(self.id_ns):]
        for prefix, ns in self.prefixes:
            if iri.startswith(ns) and iri[len(ns):]:
                return f"{prefix}:{iri[len(ns):]}"
        return f"<{iri}>"

    def term(self, nt: str) -> str:
        if nt.startswith("<"):
            return self.iri(nt[1:-1])
        obj = next(iter(ox.parse(f"<urn:x> <urn:x> {nt} .".encode(),
                                 format=ox.RdfFormat.N_TRIPLES))).object
        value = " ".join(obj.value.split())
        return f"“{value}”@{obj.language}" if obj.language else f"“{value}”"


def id_namespace() -> str:
    """<base>id/: the namespace of records."""
    return load_schema().base + "id/"


def records_of(rows: set[str]) -> set[str]:
    """The ids of the records whose nodes are the subjects of `rows`."""
    prefix = "<" + id_namespace()
    return {r[len(prefix): r.index(" ") - 1].split("/", 1)[0] for r in rows
            if r.startswith(prefix)}


def _split(row: str) -> tuple[str, str, str]:
    s, p, o = row.split(" ", 2)
    return s, p, o


def compute(old: set[str], new: set[str]) -> Changes:
    """What changed from `old` to `new` (sets of N-Triples rows, see kb.interop.rdf_patch)."""
    names = _Names()
    removed, added = old - new, new - old
    prefix = "<" + names.id_ns

    def record_of(subject: str) -> str | None:
        if not subject.startswith(prefix):
            return None
        return subject[len(prefix):-1].split("/", 1)[0]

    touched = {record_of(_split(r)[0]) for r in removed | added}
    touched.discard(None)
    before: dict[str, list[str]] = defaultdict(list)
    after: dict[str, list[str]] = defaultdict(list)
    # A few records touched (the usual edit): str.startswith with a tuple, in C, skips the
    # rest of the KB; many (a first release): the record of every row.
    heads = tuple(f"{prefix}{rec}{end}" for rec in touched for end in (">", "/"))
    for rows, into in ((old, before), (new, after)):
        few = (r for r in rows if r.startswith(heads)) if len(touched) <= 256 else rows
        for r in few:
            rec = record_of(r[: r.index(" ")])
            if rec in touched:
                into[rec].append(r)
    changes = Changes(len(added), len(removed))
    for rec in sorted(touched):  # type: ignore[type-var]
        _record(names, rec, before.get(rec, []), after.get(rec, []), changes)
    outside = [r for r in removed | added if record_of(_split(r)[0]) is None]
    if outside:
        fields = _fields(names, "", sorted(old), sorted(new), outside)
        changes.records.append(RecordChange("(outside any record)", "other", "changed", "", "",
                                            fields))
    return changes


def _fields(names: _Names, node: str, old: list[str], new: list[str],
            limit: list[str] | None = None) -> tuple[FieldChange, ...]:
    groups: dict[tuple[str, str], tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    wanted = {(_split(r)[0], _split(r)[1]) for r in limit} if limit is not None else None
    for i, rows in enumerate((old, new)):
        for r in rows:
            s, p, o = _split(r)
            if wanted is None or (s, p) in wanted:
                groups[(s, p)][i].add(o)
    out = []
    for (s, p), (was, now) in sorted(groups.items()):
        if was != now:
            sub = names.iri(s[1:-1])
            sub = sub[len(node) + 1:] if node and sub.startswith(node + "/") else \
                ("" if sub == node else sub)
            out.append(FieldChange(sub, names.iri(p[1:-1]),
                                   tuple(sorted(names.term(o) for o in was - now)),
                                   tuple(sorted(names.term(o) for o in now - was))))
    return tuple(out)


def _record(names: _Names, rec: str, old: list[str], new: list[str], changes: Changes) -> None:
    node = f"<{names.id_ns}{rec}>"
    claim_prefix = f"<{names.id_ns}{rec}/claim/"

    def claims(rows: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for r in rows:
            s = r[: r.index(" ")]
            if s.startswith(claim_prefix):
                out[s[len(claim_prefix):-1].split("/", 1)[0]].append(r)
        return out

    def facts_of(rows: list[str]) -> tuple[str, str, bool]:
        types: list[str] = []
        labels: dict[str, list[str]] = {"name": [], "label": []}
        is_fact = False
        for r in rows:
            s, p, o = _split(r)
            if s != node:
                continue
            if p == RDF_TYPE:
                types.append(names.iri(o[1:-1]).split(":")[-1])
                is_fact = is_fact or o in names.fact_classes
            elif p.endswith("/name>"):
                labels["name"].append(names.term(o))
            elif p.endswith("#label>"):
                labels["label"].append(names.term(o))
        label = min(labels["name"] or labels["label"] or [""])
        return ", ".join(sorted(types)), label, is_fact

    old, new = sorted(old), sorted(new)

    had = any(r.startswith(node + " ") for r in old)
    has = any(r.startswith(node + " ") for r in new)
    types, label, is_fact = facts_of(new if has else old)
    kind = "fact" if is_fact else "entity"
    old_claims, new_claims = claims(old), claims(new)
    for key in sorted(set(old_claims) - set(new_claims)):
        changes.citations_removed.append(_citation(names, rec, old_claims[key]))
    for key in sorted(set(new_claims) - set(old_claims)):
        changes.citations_added.append(_citation(names, rec, new_claims[key]))
    if had and has:
        gone = {f"{claim_prefix}{k}>" for k in set(old_claims) ^ set(new_claims)}

        def keep(r: str) -> bool:
            s, _, o = _split(r)
            return not any(s == g or s.startswith(g[:-1] + "/") or o == g for g in gone)

        fields = _fields(names, rec, [r for r in old if keep(r)], [r for r in new if keep(r)])
        changes.records.append(RecordChange(rec, kind, "changed", types, label, fields))
    else:
        changes.records.append(RecordChange(rec, kind, "added" if has else "removed", types,
                                            label))


def _citation(names: _Names, rec: str, rows: list[str]) -> Citation:
    found: dict[str, str] = {}
    for r in rows:
        _, p, o = _split(r)
        local = names.iri(p[1:-1])
        if local in ("kbo:source", "kbo:paragraph", "oa:exact", "kbo:stance"):
            found.setdefault(local, names.stances.get(o) or names.term(o).strip("“”"))
    return Citation(rec, found.get("kbo:source", ""), found.get("kbo:paragraph", ""),
                    found.get("oa:exact", ""), found.get("kbo:stance", ""))


SECTIONS = [("entity", "added", "Entities added"), ("entity", "removed", "Entities removed"),
            ("entity", "changed", "Entities changed"), ("fact", "added", "Facts added"),
            ("fact", "removed", "Facts removed"), ("fact", "changed", "Facts changed"),
            ("other", "changed", "Other triples")]


def _values(values: tuple[str, ...]) -> str:
    return ", ".join(values) if values else "(none)"


def markdown(changes: Changes, old: str, new: str) -> str:
    """The changelog for people, as Markdown."""
    lines = [f"# Changes from {old} to {new}", ""]
    counts = {(k, s): 0 for k, s, _ in SECTIONS}
    for r in changes.records:
        counts[(r.kind, r.status)] += 1
    lines.append(f"Triples: {changes.added} added, {changes.removed} removed.")
    for kind, title in (("entity", "Entities"), ("fact", "Facts")):
        lines.append(f"{title}: {counts[(kind, 'added')]} added, "
                     f"{counts[(kind, 'removed')]} removed, {counts[(kind, 'changed')]} changed.")
    lines.append(f"Citations: {len(changes.citations_added)} added, "
                 f"{len(changes.citations_removed)} removed.")
    if changes.empty:
        lines += ["", "No changes."]
    for kind, status, title in SECTIONS:
        records = [r for r in changes.records if (r.kind, r.status) == (kind, status)]
        if not records:
            continue
        lines += ["", f"## {title}", ""]
        for r in records:
            what = " ".join(x for x in (r.types, r.label) if x)
            lines.append(f"- `{r.id}`" + (f" — {what}" if what else ""))
            for f in r.fields:
                where = f"`{f.node}` " if f.node else ""
                lines.append(f"  - {where}`{f.prop}`: {_values(f.old)} → {_values(f.new)}")
    for title, cites in (("Citations added", changes.citations_added),
                         ("Citations removed", changes.citations_removed)):
        if cites:
            lines += ["", f"## {title}", ""]
            lines += [f"- {c}" for c in cites]
    return "\n".join(lines) + "\n"
