"""Read the curated seed files and check them against the seed schema, before any RDF is made."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.core import paths
from kb.core.errors import InputError, Problem
from kb.seeds.dates import DateError, DateSpec, make_spec
from kb.seeds.quantities import Quantity, load_codes, parse_quantity
from kb.seeds.schema import FieldSpec, RecordSpec, Schema, load_schema
from kb.seeds.strict_yaml import line_of, read_yaml

ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*\Z")  # \Z: `$` would let "id\n" through
DURATION_RE = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$")
QID_RE = re.compile(r"^Q[1-9]\d*$")
TOP_KEYS = ("entities", "facts", "corroborations")
YES_NO = {"yes": True, "no": False}
# fields a citation's `supports:` cannot name: the curators' own words, not a source's
UNSCOPED = frozenset({"label", "description", "note"})
SCOPE_FORMS = ("a field of the fact (date, place, title, amount...), {participant: id}, "
               "{role: id} or {<actor field>: id}")


def shown(value: Any, limit: int = 32) -> str:
    """repr(value); with the code points too if it holds anything but printable ASCII.

    Two ids that print alike ('café' in NFC and in NFD, a Latin and a Cyrillic 'a', a
    zero-width space) then read differently: 'café' (U+0063 U+0061 U+0066 U+00E9)."""
    text = repr(value)
    if not isinstance(value, str) or (value.isascii() and value.isprintable()):
        return text
    points = " ".join(f"U+{ord(c):04X}" for c in value[:limit])
    more = " ..." if len(value) > limit else ""
    nfc = "" if unicodedata.is_normalized("NFC", value) else ", not in NFC"
    return f"{text} ({points}{more}{nfc})"


@dataclass
class Attribution:
    kind: str  # outlet | curators | person | organisation | document | anonymous
    ref: str | None = None
    description: str | None = None
    count: int | None = None


@dataclass(frozen=True)
class Scope:
    """The part of a fact a citation supports: a field of the fact (`date`, `place`, `title`,
    `amount`...), or one actor of it - `participant` / `role` (of a participant) or an actor
    field such as `targets` - with that actor's id."""

    part: str
    actor: str | None = None

    def key(self) -> str:
        return self.part if self.actor is None else f"{self.part}/{self.actor}"


@dataclass
class Citation:
    source: str
    para: int
    anchor: str | None
    stance: str
    attributions: list[Attribution]
    file: str
    line: int | None
    scope: tuple[Scope, ...] = ()


@dataclass
class Record:
    """One entity or fact, with its checked values and where it was written."""

    id: str
    spec: RecordSpec
    file: str
    line: int | None
    values: dict[str, Any] = field(default_factory=dict)
    citations: list[Citation] = field(default_factory=list)

    @property
    def type(self) -> str:
        return self.spec.name


@dataclass
class SeedSet:
    records: dict[str, Record]
    files: list[str]

    def location(self, ident: str) -> str:
        r = self.records.get(ident)
        return f"{r.file}:{r.line}" if r else "?"


class _Checker:
    def __init__(self, schema: Schema):
        self.schema = schema
        self.problems: list[Problem] = []
        self.records: dict[str, Record] = {}
        self.raw: dict[str, Any] = {}
        self.corroborations: list[tuple[str, Any, str]] = []

    def err(self, file: str, line: int | None, fld: str | None, msg: str) -> None:
        self.problems.append(Problem(file, line, fld, msg))

    # -- pass 1: declare ids -------------------------------------------------------
    def declare(self, name: str, doc: Any) -> None:
        if doc is None:
            return
        if not isinstance(doc, dict):
            self.err(name, line_of(doc), None, "a seed file holds a mapping with "
                     "entities:, facts: and/or corroborations:")
            return
        for key in doc:
            if key not in TOP_KEYS:
                self.err(name, line_of(doc, key), key,
                         f"unknown top-level key; expected one of {', '.join(TOP_KEYS)}")
        for key in TOP_KEYS:
            items = doc.get(key)
            if items is None:
                continue
            if not isinstance(items, list):
                self.err(name, line_of(doc, key), key, "must be a list of records")
                continue
            for i, item in enumerate(items):
                line = line_of(items, i)
                if not isinstance(item, dict):
                    self.err(name, line, key, "each item must be a mapping")
                    continue
                if key == "corroborations":
                    self.corroborations.append((name, item, key))
                    continue
                self._declare_record(name, item, key == "facts", line)

    def _declare_record(self, name: str, item: Any, is_fact: bool, line: int | None) -> None:
        ident = item.get("id")
        rtype = item.get("type")
        if not isinstance(ident, str) or not ID_RE.match(ident):
            self.err(name, line, "id", f"missing or malformed id {shown(ident)}: an id is "
                     "ASCII lowercase letters, digits, '-' and '_'")
            return
        table = self.schema.facts if is_fact else self.schema.entities
        if rtype not in table:
            what = "fact type" if is_fact else "entity type"
            self.err(name, line_of(item, "type") or line, "type",
                     f"unknown {what} {shown(rtype)}; expected one of {', '.join(sorted(table))}")
            return
        if ident in self.records:
            self.err(name, line, "id", f"duplicate id {shown(ident)}, first declared at "
                     f"{self.records[ident].file}:{self.records[ident].line}")
            return
        self.records[ident] = Record(ident, table[rtype], name, line)
        self.raw[ident] = item

    # -- pass 2: check values ----------------------------------------------------------
    def check_all(self) -> None:
        for ident, rec in self.records.items():
            self._check_record(rec, self.raw[ident])
        for name, item, _ in self.corroborations:
            self._check_corroboration(name, item)
        self.check_suggestions(self.records)

    def check_suggestions(self, ids: Iterable[str]) -> None:
        """After all citations are in (corroborations too): the identity facts' attribution.
        kb.build's lean and incremental readers call it for the records they checked."""
        for rid in ids:
            if self.records[rid].type == "identity":
                self._check_suggestion(self.records[rid])

    def _check_suggestion(self, rec: Record) -> None:
        """A suggestion of the curators is their claim: every citation of an identity fact
        `suggested_by: curators` is attributed to the curators (the passage only locates the
        evidence), and one `suggested_by: source` is not."""
        by_curators = rec.values.get("suggested_by") == "curators"
        for c in rec.citations:
            theirs = any(a.kind == "curators" for a in c.attributions)
            if by_curators and not theirs:
                self.err(c.file, c.line, "citations.according_to",
                         f"{rec.id} is suggested_by: curators, so its citation of {c.source} "
                         f"para {c.para} must say according_to: curators (the text does not "
                         "make the link; the curators do)")
            elif theirs and not by_curators:
                self.err(c.file, c.line, "citations.according_to",
                         f"{rec.id} is suggested_by: source, so its citation of {c.source} "
                         f"para {c.para} is attributed to whoever makes the link in that text, "
                         "not to the curators")

    def _check_record(self, rec: Record, item: Any) -> None:
        fields = rec.spec.fields
        for key in item:
            if key in ("id", "type") or (key == "citations" and rec.spec.is_fact):
                continue
            if key not in fields:
                self.err(rec.file, line_of(item, key), key,
                         f"unknown field for type {rec.type!r}; allowed: "
                         f"{', '.join(sorted(fields))}")
        for fname, spec in fields.items():
            if fname not in item or item[fname] in (None, "", []):
                if spec.required:
                    self.err(rec.file, rec.line, fname,
                             f"required field missing for type {rec.type!r}")
                continue
            value = self._value(spec, item[fname], rec.file, line_of(item, fname), rec.id)
            if value is not None:
                rec.values[fname] = value
        if rec.spec.is_fact:
            cites = item.get("citations")
            if not isinstance(cites, list) or not cites:
                self.err(rec.file, rec.line, "citations",
                         "every fact needs at least one citation")
            else:
                rec.citations.extend(self._citations(cites, rec.file, rec))

    def _check_corroboration(self, name: str, item: Any) -> None:
        line = line_of(item)
        for key in item:
            if key not in ("fact", "citations"):
                self.err(name, line_of(item, key), key,
                         "a corroboration has only fact: and citations:")
        target = item.get("fact")
        rec = self.records.get(target) if isinstance(target, str) else None
        if rec is None or not rec.spec.is_fact:
            self.err(name, line_of(item, "fact") or line, "fact",
                     f"corroborates {shown(target)}, which is not a declared fact")
            return
        cites = item.get("citations")
        if not isinstance(cites, list) or not cites:
            self.err(name, line, "citations", "a corroboration needs at least one citation")
            return
        rec.citations.extend(self._citations(cites, name, rec))

    # -- field values --------------------------------------------------------------------
    def _text(self, raw: Any, file: str, line: int | None, fld: str) -> str | None:
        if not isinstance(raw, str) or not raw.strip():
            self.err(file, line, fld, f"expected text, got {type(raw).__name__}")
            return None
        return raw.strip()

    def _ref(self, spec: FieldSpec, raw: Any, file: str, line: int | None) -> str | None:
        if not isinstance(raw, str):
            self.err(file, line, spec.name, "expected an id")
            return None
        target = self.records.get(raw)
        if target is None:
            self.err(file, line, spec.name, f"refers to undeclared id {shown(raw)}")
            return None
        allowed = set()
        for t in spec.to:
            if t == "actor":
                allowed.update(self.schema.actor_kinds)
            elif t == "fact":
                allowed.update(f"fact:{name}" for name in self.schema.facts)
            else:
                allowed.add(t)
        kind = f"fact:{target.type}" if target.spec.is_fact else target.type
        if kind not in allowed:
            self.err(file, line, spec.name, f"{shown(raw)} is a {kind}; expected "
                     f"{' or '.join(sorted(spec.to))}")
            return None
        return raw

    def _value(self, spec: FieldSpec, raw: Any, file: str, line: int | None, owner: str) -> Any:
        k = spec.kind
        if k == "text":
            return self._text(raw, file, line, spec.name)
        if k == "texts":
            if not isinstance(raw, list):
                self.err(file, line, spec.name, "expected a list of texts")
                return None
            return [t for t in (self._text(x, file, line, spec.name) for x in raw) if t]
        if k == "ref":
            return self._ref(spec, raw, file, line)
        if k == "refs":
            if not isinstance(raw, list):
                self.err(file, line, spec.name, "expected a list of ids, e.g. [a, b]")
                return None
            out = [r for r in (self._ref(spec, x, file, line) for x in raw) if r]
            if len(set(out)) != len(out):
                self.err(file, line, spec.name, "the same id is listed twice")
            return out
        if k == "enum":
            if raw not in spec.values:
                self.err(file, line, spec.name, f"{shown(raw)} is not one of "
                         f"{', '.join(spec.values)}")
                return None
            return raw
        if k == "int":
            if not isinstance(raw, str) or not raw.isdigit():
                self.err(file, line, spec.name, f"expected a whole number, got {shown(raw)}")
                return None
            return int(raw)
        if k == "date":
            return self._date(raw, file, line, spec.name)
        if k == "duration":
            if not isinstance(raw, str) or not DURATION_RE.match(raw):
                self.err(file, line, spec.name,
                         f"{shown(raw)} is not an ISO 8601 duration like P7D")
                return None
            return raw
        if k in ("amount", "quantity"):
            return self._quantity(raw, file, line, spec.name, money=k == "amount")
        if k == "quantities":
            if not isinstance(raw, list):
                self.err(file, line, spec.name, "expected a list of quantities")
                return None
            got = [self._quantity(q, file, line_of(raw, i) or line, f"{spec.name}", False)
                   for i, q in enumerate(raw)]
            return [q for q in got if q is not None]
        if k == "participants":
            return self._participants(raw, file, line, spec.name)
        if k == "sameas":
            return self._sameas(raw, file, line, spec.name)
        if k == "sequence":
            return self._sequence(spec, raw, file, line, owner)
        if k == "titles":
            return self._titles(raw, file, line, spec.name)
        raise AssertionError(k)

    def _sequence(self, spec: FieldSpec, raw: Any, file: str, line: int | None,
                  owner: str) -> Any:
        """[id, {event: id, gap: P5D, gap_as_reported: five days}] -> [(id, gap, wording)]."""
        if not isinstance(raw, list):
            self.err(file, line, spec.name, "expected a list of event ids or "
                     "{event: id, gap: P5D, gap_as_reported: text}")
            return None
        ref = FieldSpec(f"{spec.name}.event", "ref", None, to=spec.to)
        out: list[tuple[str, str | None, str | None]] = []
        for i, item in enumerate(raw):
            iline = line_of(raw, i) or line
            if isinstance(item, str):
                item = {"event": item}
            if not isinstance(item, dict) or "event" not in item \
                    or set(item) - {"event", "gap", "gap_as_reported"}:
                self.err(file, iline, spec.name, "each item is an event id or "
                         "{event: id, gap: P5D, gap_as_reported: text}")
                continue
            target = self._ref(ref, item["event"], file, iline)
            if target is None:
                continue
            if target == owner:
                self.err(file, iline, spec.name, f"{shown(target)} cannot be related to itself")
                continue
            gap = item.get("gap")
            if gap is not None and (not isinstance(gap, str) or not DURATION_RE.match(gap)):
                self.err(file, iline, f"{spec.name}.gap",
                         f"{shown(gap)} is not an ISO 8601 duration like P5D")
                continue
            wording = item.get("gap_as_reported")
            if wording is not None:
                wording = self._text(wording, file, iline, f"{spec.name}.gap_as_reported")
                if wording is None:
                    continue
            if target in [t for t, _, _ in out]:
                self.err(file, iline, spec.name, f"{shown(target)} is listed twice")
                continue
            out.append((target, gap, wording))
        return out

    def _titles(self, raw: Any, file: str, line: int | None, fld: str) -> Any:
        """[{title: text, source: id, para: N}] -> [(title, source, para)]."""
        if not isinstance(raw, list):
            self.err(file, line, fld, "expected a list of {title: text, source: id, para: N}")
            return None
        out: list[tuple[str, str, int]] = []
        for i, item in enumerate(raw):
            iline = line_of(raw, i) or line
            if not isinstance(item, dict) or set(item) != {"title", "source", "para"}:
                self.err(file, iline, fld, "each reported title is {title: text, source: id, "
                         "para: N}, naming one of the fact's citations")
                continue
            title = self._text(item["title"], file, iline, f"{fld}.title")
            src, para = item["source"], item["para"]
            srec = self.records.get(src) if isinstance(src, str) else None
            if srec is None or srec.type != "source":
                self.err(file, iline, f"{fld}.source", f"{shown(src)} is not a declared source")
                continue
            if not isinstance(para, str) or not para.isdigit() or int(para) < 1:
                self.err(file, iline, f"{fld}.para",
                         f"expected a paragraph number from 1, got {shown(para)}")
                continue
            if title:
                out.append((title, src, int(para)))
        return out

    def _date(self, raw: Any, file: str, line: int | None, fld: str) -> DateSpec | None:
        if isinstance(raw, str):
            raw = {"value": raw}
        if not isinstance(raw, dict):
            self.err(file, line, fld, "expected a date string or a mapping")
            return None
        allowed = {"value", "qualifier", "earliest", "latest", "derived", "basis"}
        for key in raw:
            if key not in allowed:
                self.err(file, line_of(raw, key) or line, f"{fld}.{key}",
                         f"unknown date key; allowed: {', '.join(sorted(allowed))}")
                return None
        derived = raw.get("derived", "no")
        if derived not in YES_NO:
            self.err(file, line, f"{fld}.derived", f"expected yes or no, got {shown(derived)}")
            return None
        if YES_NO[derived] and not raw.get("basis"):
            self.err(file, line, f"{fld}.basis", "a derived date must say how it was derived")
        try:
            return make_spec(raw.get("value"), raw.get("qualifier", "exact"),
                             raw.get("earliest"), raw.get("latest"), YES_NO[derived],
                             raw.get("basis"))
        except DateError as exc:
            self.err(file, line, fld, str(exc))
            return None

    def _quantity(self, raw: Any, file: str, line: int | None, fld: str,
                  money: bool) -> Quantity | None:
        """{value: "45", unit: ..., code: ..., of: ..., as_reported: ...} -> a Quantity."""
        q, key, msg = parse_quantity(raw, load_codes(paths.ONTOLOGY_DIR / "unit-codes.yaml"),
                                     money)
        if q is None:
            where = line_of(raw, key) if isinstance(raw, dict) and key in raw else None
            self.err(file, where or line, f"{fld}.{key}" if key else fld, msg)
        return q

    def _participants(self, raw: Any, file: str, line: int | None, fld: str) -> Any:
        if not isinstance(raw, list):
            self.err(file, line, fld, "expected a list of {actor: id, role: R}")
            return None
        actor_spec = FieldSpec("participants.actor", "ref", None, to=("actor",))
        out = []
        for i, p in enumerate(raw):
            pline = line_of(raw, i) or line
            if not isinstance(p, dict) or "actor" not in p or set(p) - {"actor", "role"}:
                self.err(file, pline, fld, "each participant is {actor: id, role: R}")
                continue
            actor = self._ref(actor_spec, p["actor"], file, pline)
            role = p.get("role", "attendee")
            if role not in self.schema.roles:
                self.err(file, pline, f"{fld}.role", f"{shown(role)} is not one of "
                         f"{', '.join(self.schema.roles)}")
                continue
            if actor:
                out.append((actor, role))
        return out

    def _sameas(self, raw: Any, file: str, line: int | None, fld: str) -> Any:
        need = {"wikidata", "checked_by", "checked_against", "checked_on"}
        if not isinstance(raw, list):
            self.err(file, line, fld, "expected a list of checked identifiers")
            return None
        out = []
        for i, link in enumerate(raw):
            lline = line_of(raw, i) or line
            if not isinstance(link, dict) or set(link) != need:
                self.err(file, lline, fld, "each link needs exactly " + ", ".join(sorted(need))
                         + " (who checked it, against what, when)")
                continue
            if not QID_RE.match(str(link["wikidata"])):
                self.err(file, lline, f"{fld}.wikidata", f"{shown(link['wikidata'])} is not a QID")
                continue
            try:
                make_spec(str(link["checked_on"]))
            except DateError as exc:
                self.err(file, lline, f"{fld}.checked_on", str(exc))
                continue
            out.append({k: str(v) for k, v in link.items()})
        return out

    def _citations(self, cites: list, file: str, rec: Record) -> list[Citation]:
        out = []
        for i, c in enumerate(cites):
            line = line_of(cites, i)
            if not isinstance(c, dict):
                self.err(file, line, "citations",
                         "each citation is a mapping with source: and para:")
                continue
            allowed = {"source", "para", "anchor", "stance", "according_to", "supports"}
            bad = [k for k in c if k not in allowed]
            for k in bad:
                self.err(file, line_of(c, k) or line, f"citations.{k}", "unknown citation key; "
                         f"allowed: {', '.join(sorted(allowed))}")
            src = c.get("source")
            srec = self.records.get(src) if isinstance(src, str) else None
            if srec is None or srec.type != "source":
                self.err(file, line_of(c, "source") or line, "citations.source",
                         f"{shown(src)} is not a declared source")
                continue
            para = c.get("para")
            if not isinstance(para, str) or not para.isdigit() or int(para) < 1:
                self.err(file, line_of(c, "para") or line, "citations.para",
                         f"expected a paragraph number from 1, got {shown(para)}")
                continue
            anchor = c.get("anchor")
            if anchor is not None and (not isinstance(anchor, str) or not anchor.strip()):
                self.err(file, line, "citations.anchor", "anchor must be text")
                continue
            stance = c.get("stance", "asserts")
            if stance not in self.schema.stances:
                self.err(file, line_of(c, "stance") or line, "citations.stance",
                         f"{shown(stance)} is not one of {', '.join(self.schema.stances)}")
                continue
            attrs = self._attributions(c.get("according_to", "outlet"), file,
                                       line_of(c, "according_to") or line)
            scope = self._scope(c.get("supports"), rec, file,
                                line_of(c, "supports") or line)
            if attrs is None or scope is None or bad:
                continue
            out.append(Citation(src, int(para), anchor.strip() if anchor else None, stance,
                                attrs, file, line, scope))
        return out

    def _scope(self, raw: Any, rec: Record, file: str, line: int | None
               ) -> tuple[Scope, ...] | None:
        """`supports: [date, {participant: id}, ...]` -> Scopes naming parts the fact has;
        () when absent (the citation supports the whole fact); None after an error."""
        if raw is None:
            return ()
        if not isinstance(raw, list) or not raw:
            self.err(file, line, "citations.supports", f"expected a list of {SCOPE_FORMS}")
            return None
        out: list[Scope] = []
        for i, item in enumerate(raw):
            iline = line_of(raw, i) or line
            scope = self._scope_item(item, rec, file, iline)
            if scope is None:
                return None
            if scope in out:
                self.err(file, iline, "citations.supports", f"{scope.key()} is listed twice")
                return None
            out.append(scope)
        return tuple(out)

    def _scope_item(self, item: Any, rec: Record, file: str, line: int | None) -> Scope | None:
        fields = rec.spec.fields
        if isinstance(item, str):
            if item not in fields or item in UNSCOPED:
                named = ", ".join(sorted(set(fields) - UNSCOPED))
                self.err(file, line, "citations.supports", f"{shown(item)} is not a part of a "
                         f"{rec.type} a citation can support; one of {named}, or "
                         f"{SCOPE_FORMS}")
                return None
            if item not in rec.values:
                self.err(file, line, "citations.supports", f"{shown(item)}: {rec.id} has no "
                         f"{item}, so no citation can support it")
                return None
            return Scope(item)
        if not isinstance(item, dict) or len(item) != 1:
            self.err(file, line, "citations.supports", f"each item is {SCOPE_FORMS}")
            return None
        (part, actor), = item.items()
        if part in ("participant", "role"):
            have = [a for f, s in fields.items() if s.kind == "participants"
                    for a, _ in rec.values.get(f, [])]
            what = "participants"
        elif part in fields and fields[part].kind in ("ref", "refs") and fields[part].to and \
                set(fields[part].to) <= {"actor", *self.schema.actor_kinds}:
            value = rec.values.get(part)
            have = [] if value is None else [value] if isinstance(value, str) else value
            what = part
        else:
            self.err(file, line, "citations.supports", f"{shown(part)} names no participant "
                     f"or actor field of a {rec.type}; expected {SCOPE_FORMS}")
            return None
        if actor not in have:
            self.err(file, line, "citations.supports", f"{{{part}: {shown(actor)}}}: "
                     f"{shown(actor)} is not among the {what} of {rec.id} "
                     f"({', '.join(have) or 'none'})")
            return None
        return Scope(part, actor)

    def _attributions(self, raw: Any, file: str, line: int | None) -> list[Attribution] | None:
        items = raw if isinstance(raw, list) else [raw]
        out = []
        for a in items:
            if a in ("outlet", "curators"):
                out.append(Attribution(a))
                continue
            if not isinstance(a, dict):
                self.err(file, line, "according_to", "expected outlet, curators, {person: id}, "
                         "{organisation: id}, {document: id} or {anonymous: description}")
                return None
            if "anonymous" in a:
                if set(a) - {"anonymous", "count"}:
                    self.err(file, line, "according_to", "anonymous takes only count")
                    return None
                count = a.get("count")
                if count is not None and (not isinstance(count, str) or not count.isdigit()):
                    self.err(file, line, "according_to.count",
                             f"expected a number, got {shown(count)}")
                    return None
                desc = a["anonymous"]
                if not isinstance(desc, str) or not desc.strip():
                    self.err(file, line, "according_to.anonymous",
                             "an anonymous attribution must describe its sources")
                    return None
                out.append(Attribution("anonymous", None, desc.strip(),
                                       int(count) if count else None))
                continue
            if len(a) != 1:
                self.err(file, line, "according_to", "one of person, organisation, document "
                         "or anonymous per attribution")
                return None
            (kind, ref), = a.items()
            if kind not in ("person", "organisation", "document"):
                self.err(file, line, "according_to", f"unknown attribution {shown(kind)}")
                return None
            spec = FieldSpec("according_to." + kind, "ref", None,
                             to=("person", "group") if kind == "person" else (kind,))
            if self._ref(spec, ref, file, line) is None:
                return None
            out.append(Attribution(kind, ref))
        return out


def seed_files(seeds_dir: Path) -> list[Path]:
    """All seed files, in a stable order."""
    return sorted(p for p in seeds_dir.rglob("*.yaml") if p.is_file())


def read_seeds(seeds_dir: Path, schema: Schema | None = None,
               reader: Callable[[Path, str], Any] = read_yaml) -> SeedSet:
    """Read and check every seed file; raise InputError listing every problem found.

    `reader(path, name)` parses one file (kb.fastyaml.read_yaml_fast gives the same values)."""
    schema = schema or load_schema()
    checker = _Checker(schema)
    files = seed_files(seeds_dir)
    if not files:
        raise InputError(Problem(str(seeds_dir), None, None, "no seed files (*.yaml) found"))
    names = []
    for path in files:
        name = _display(path)
        names.append(name)
        try:
            doc = reader(path, name)
        except InputError as exc:
            checker.problems.extend(exc.problems)
            continue
        checker.declare(name, doc)
    checker.check_all()
    if checker.problems:
        raise InputError(checker.problems)
    return SeedSet(checker.records, names)


def _display(path: Path, cwd: Path | None = None) -> str:
    """The path as messages name it: relative to the working directory (`cwd`, resolved,
    if the caller has it) when inside it."""
    try:
        return str(path.resolve().relative_to(cwd or Path.cwd().resolve()))
    except ValueError:
        return str(path)
