"""Synthetic curated facts in our own seed format, with a known number of violations per rule.

`generate(out, facts)` writes seeds/entities/*.yaml and seeds/facts/*.yaml under `out` and
returns what a validator must find: one `Expected` per injected violation (focus node, rule,
constraint component, severity). The regular facts are built to break no rule, so the bench
can demand that the validator reports exactly the injected issues, no more, no fewer.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from kb.bench.synth_rules import NOT_EXPRESSIBLE, RULES, inject
from kb.seeds.schema import load_schema

FACTS_PER_FILE = 250
ENTITIES_PER_FILE = 2000
@dataclass(frozen=True)
class Expected:
    rule: str
    focus: str  # full IRI of the focus node
    component: str
    severity: str


@dataclass
class SynthResult:
    seeds: Path
    facts: int
    expected: list[Expected]
    params: dict[str, dict[str, str]]  # query name -> parameters to run it with
    edit_fact: str  # a regular fact the incremental benchmark edits
    files: int = 0

    def to_json(self) -> dict:
        d = asdict(self)
        d["seeds"] = str(self.seeds)
        return d


def _q(text: str) -> str:
    """A YAML double-quoted scalar."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _Cursor:
    """Cycles through `size` ids with a prefix, remembering which were used."""

    def __init__(self, prefix: str, size: int, width: int):
        self.prefix, self.size, self.width = prefix, max(1, size), width
        self.i = 0
        self.used: set[int] = set()

    def id(self, n: int) -> str:
        return f"{self.prefix}{n:0{self.width}d}"

    def next(self, skip: int = 1) -> str:
        n = self.i % self.size
        self.i += skip
        self.used.add(n)
        return self.id(n)


class _Gen:
    def __init__(self, facts: int, per_rule: int):
        self.n = facts
        self.k = per_rule
        self.base = load_schema().base + "id/"
        self.people = _Cursor("p-", max(10, facts // 10), 6)
        self.orgs = _Cursor("org-", max(6, facts // 40), 5)
        self.groups = _Cursor("grp-", max(2, facts // 200), 4)
        self.hotels = _Cursor("hotel-", max(3, facts // 100), 4)
        self.docs = _Cursor("doc-", max(3, facts // 100), 4)
        self.sources = _Cursor("src-", max(3, facts // 25), 6)
        self.outlets = max(2, facts // 2000)
        self.countries = max(2, min(60, facts // 500 + 2))
        self.cities = max(3, facts // 200)
        self.expected: list[Expected] = []
        self.designations: list[tuple[str, str]] = []  # (id, target)
        self.entity_lines: dict[str, list[str]] = {}
        self.fact_chunks: list[list[str]] = []
        self.extra_entities: list[str] = []
        self.last_post: tuple[str, str, str, str] | None = None  # id, holder, org, end

    # -- helpers -------------------------------------------------------------------------
    def expect(self, rule: str, focus: str) -> None:
        comp, sev = RULES[rule]
        self.expected.append(Expected(rule, self.base + focus, comp, sev))

    def cite(self, i: int, para: int | None = None, anchor: str | None = None,
             stance: str | None = None, according: str | None = None,
             supports: str | None = None) -> list[str]:
        src = self.sources.next(skip=7)
        out = [f"      - source: {src}", f"        para: \"{para or (i % 50) + 1}\""]
        if anchor:
            out.append(f"        anchor: {anchor}")
        if stance:
            out.append(f"        stance: {stance}")
        if according:
            out.append(f"        according_to: {according}")
        if supports:  # the parts of the fact it supports (claim scope)
            out.append(f"        supports: {supports}")
        return out

    def fact(self, fid: str, ftype: str, label: str, body: list[str],
             citations: list[list[str]]) -> list[str]:
        lines = [f"  - id: {fid}", f"    type: {ftype}", f"    label: {label}",
                 f"    description: Synthetic {ftype} {fid} for the benchmark."]
        lines += [f"    {b}" for b in body]
        lines.append("    citations:")
        for c in citations:
            lines += c
        lines.append("")
        return lines

    @staticmethod
    def day(i: int, year: int = 2017) -> str:
        return f"\"{year + i % 6}-{1 + i % 12:02d}-{1 + i % 28:02d}\""

    # -- regular facts -----------------------------------------------------------------------
    def regular(self, i: int) -> list[str]:
        fid = f"f-{i:07d}"
        kind = i % 20
        one = [self.cite(i, anchor="met in the capital" if i % 2 else None)]
        cites = one
        if i % 10 < 3:
            cites = one + [self.cite(i + 1, stance="confirms", according=(
                "{anonymous: officials familiar with the talks, count: \"2\"}" if i % 3 == 0
                else f"{{person: {self.people.next()}}}"))]
        if kind < 6:
            a, b = self.people.next(), self.people.next()
            parts = [f"  - {{actor: {a}, role: principal}}", f"  - {{actor: {b}, role: attendee}}"]
            if i % 4 == 0:
                parts.append(f"  - {{actor: {self.groups.next()}, role: delegation}}")
            status = "confirmed"
            if i % 3 == 0:  # each account supports its part: one the date and place, one b
                cites = [one[0] + ["        supports: [date, place, {participant: "
                                   f"{a}}}]"]] + [c + [f"        supports: [{{participant: {b}}}, "
                                                       f"{{role: {b}}}]"] for c in cites[1:]]
            if i % 37 == 0:  # contested, and marked so
                cites = one + [self.cite(i + 2, stance="denies",
                                         according=f"{{person: {b}}}")]
                status = "disputed"
            body = ["kind: meeting", "participants:", *parts, f"place: {self.hotels.next()}",
                    f"date: {self.day(i)}", f"status: {status}"]
            if i % 5 == 1:  # how many times it happened, as reported
                body.append("times: {value: \"2\", code: C62, of: meetings, as_reported: twice}")
            if 0 < kind and self.day(i - 1) <= self.day(i):  # after the previous meeting
                body += ["after:", f"  - {{event: f-{i - 1:07d}"
                         + (", gap_as_reported: days later}" if i % 3 else "}")]
            return self.fact(fid, "contact", f"Meeting {i}", body, cites)
        if kind < 8:
            body = ["kind: call", "participants:", f"  - {{actor: {self.people.next()}}}",
                    f"  - {{actor: {self.people.next()}}}", "medium: telephone",
                    f"date: \"{2018 + i % 5}-{1 + i % 12:02d}\""]
            return self.fact(fid, "contact", f"Call {i}", body, cites)
        if kind == 10 and self.last_post:  # the departure that ends the previous post
            post, holder, org, end = self.last_post
            body = ["action: departed", f"person: {holder}", f"organisation: {org}",
                    f"ends: {post}", f"date: \"{end}\""]
            return self.fact(fid, "personnel", f"Departure {i}", body, cites)
        if kind < 11:
            y = 2005 + i % 12
            holder, org = self.people.next(), self.orgs.next()
            body = [f"holder: {holder}", f"organisation: {org}", "title: director",
                    f"start: \"{y}\"", f"end: \"{y + 1 + i % 5}\""]
            if i % 4 == 1:
                cites = [c + ["        supports: [holder, title]"] for c in cites]
            src, para = cites[0][0].split(": ")[1], cites[0][1].split(": ")[1]
            body += ["titles:", f"  - {{title: the director, source: {src}, para: {para}}}"]
            self.last_post = (fid, holder, org, str(y + 1 + i % 5))
            return self.fact(fid, "post", f"Post {i}", body, cites)
        if kind == 11:
            target = self.people.next()
            self.designations.append((fid, target))
            body = ["action: designation", f"targets: [{target}]",
                    f"authority: {self.orgs.next()}", "programme: RUSSIA-EO14024",
                    f"start: {self.day(i, 2014)}"]
            return self.fact(fid, "sanction", f"Designation {i}", body, cites)
        if kind == 12 and self.designations:
            desig, target = self.designations[i % len(self.designations)]
            action = "suspension" if i % 2 else "waiver"
            body = [f"action: {action}", f"targets: [{target}]", f"of: {desig}",
                    "start: \"2020-02-01\"", "end: \"2020-03-01\""]
            return self.fact(fid, "sanction", f"Relief {i}", body, cites)
        if kind in (12, 13, 14):
            doc = i % 2 == 0
            body = ["what: " + ("document" if doc else "message"),
                    f"from: [{self.people.next()}]", f"to: [{self.people.next()}]",
                    f"via: [{self.people.next()}]", "arrived: unknown", f"date: {self.day(i)}"]
            if doc:
                body.append(f"document: {self.docs.next()}")
            return self.fact(fid, "transmission", f"Transmission {i}", body, cites)
        if kind == 15:
            body = ["kind: investment", f"investors: [{self.orgs.next()}]",
                    f"partners: [{self.orgs.next()}]", f"target: {self.orgs.next()}",
                    f"amount: {{value: \"{1000000 + i}\", currency: USD, "
                    "as_reported: about a million dollars}",
                    f"date: \"{2016 + i % 8}\""]
            return self.fact(fid, "investment", f"Investment {i}", body, cites)
        if kind in (16, 17):
            body = [f"speakers: [{self.people.next()}]", f"about: [{self.people.next()}]",
                    "medium: press conference"]
            if kind == 16:  # said in the call of ten facts before, in its month
                j = i - 10
                body += [f"date: \"{2018 + j % 5}-{1 + j % 12:02d}\"", f"said_in: f-{j:07d}"]
            else:  # the aftermath of the meeting of 17 facts before, with a figure claimed
                body += [f"date: \"{2019 + i % 5}-{1 + i % 12:02d}\"", "amounts:",
                         f"  - {{value: \"{i}.5\", code: B1, unit: barrels a day, "
                         "of: oil output, as_reported: a few barrels}"]
                if self.day(i - 17)[1:5] < str(2019 + i % 5):
                    body.append(f"aftermath_of: [f-{i - 17:07d}]")
            return self.fact(fid, "statement", f"Statement {i}", body, cites)
        if kind == 18:
            body = [f"actor: {self.people.next()}", f"related: {self.people.next()}",
                    "relation: friend"]
            if i % 3 == 0:  # an inference of the curators, resting on the passage cited
                cites = [self.cite(i, according="curators", supports="[relation]")]
            return self.fact(fid, "relationship", f"Relationship {i}", body, cites)
        if i % 2:
            body = [f"person: {self.people.next()}", "attribute: occupation",
                    "value: businessman"]
            return self.fact(fid, "biography", f"Biography {i}", body, cites)
        body = [f"document: {self.docs.next()}", "action: drafted",
                f"authors: [{self.people.next()}]", f"date: {self.day(i)}"]
        return self.fact(fid, "authorship", f"Authorship {i}", body, cites)

    # -- entities ------------------------------------------------------------------------------
    def entities(self) -> None:
        ent = self.entity_lines
        ent["outlets"] = [f"  - {{id: outlet-{i:03d}, type: organisation, kind: media-outlet, "
                          f"name: Outlet {i}}}" for i in range(self.outlets)]
        ent["sources"] = [
            f"  - {{id: {self.sources.id(i)}, type: source, title: Source {i}, "
            f"publisher: outlet-{i % self.outlets:03d}, published: \"2024-{1 + i % 12:02d}-01\","
            f" publication_basis: stated, sha256: "
            f"{hashlib.sha256(str(i).encode()).hexdigest()}, paragraphs: \"60\"}}"
            for i in sorted(self.sources.used)]
        people = []
        for i in sorted(self.people.used):
            pid = self.people.id(i)
            line = f"  - {{id: {pid}, type: person, name: Person {i}"
            if i % 5 == 0:
                line += f", aliases: [P. {i}, Person No {i}]"
            if i % 50 == 0:
                line += (f", sameas: [{{wikidata: Q{1000 + i}, checked_by: bench, "
                         f"checked_against: synthetic, checked_on: \"2026-01-01\"}}]")
            people.append(line + "}")
        ent["people"] = people
        kinds = ("company", "government-body", "bank", "investment-fund")
        ent["organisations"] = [
            f"  - {{id: {self.orgs.id(i)}, type: organisation, kind: {kinds[i % 4]}, "
            f"name: Organisation {i}, country: country-{i % self.countries:03d}}}"
            for i in sorted(self.orgs.used)]
        ent["groups"] = [f"  - {{id: {self.groups.id(i)}, type: group, name: Group {i}, "
                         f"description: Aides of someone, count: \"{2 + i % 3}\"}}"
                         for i in sorted(self.groups.used)]
        cities = sorted({i % self.cities for i in self.hotels.used})
        countries = sorted({c % self.countries for c in cities}
                           | {i % self.countries for i in self.orgs.used})
        self.first_country = f"country-{countries[0]:03d}"
        ent["places"] = (
            [f"  - {{id: country-{i:03d}, type: place, kind: country, name: Country {i}}}"
             for i in countries]
            + [f"  - {{id: city-{i:04d}, type: place, kind: city, name: City {i}, "
               f"within: country-{i % self.countries:03d}}}" for i in cities]
            + [f"  - {{id: {self.hotels.id(i)}, type: place, kind: hotel, name: Hotel {i}, "
               f"within: city-{i % self.cities:04d}}}" for i in sorted(self.hotels.used)])
        ent["documents"] = [f"  - {{id: {self.docs.id(i)}, type: document, kind: plan, "
                            f"name: Plan {i}}}" for i in sorted(self.docs.used)]
        ent["violations"] = self.extra_entities


def generate(out: Path, facts: int, per_rule: int | None = None,
             per_file: int = FACTS_PER_FILE) -> SynthResult:
    """Write `facts` synthetic facts (injected violations included; none with per_rule=0)
    under out/seeds."""
    k = per_rule if per_rule is not None else 1 + facts // 5000
    gen = _Gen(facts, k)
    seeds = out / "seeds"
    (seeds / "facts").mkdir(parents=True, exist_ok=True)
    (seeds / "entities").mkdir(parents=True, exist_ok=True)
    injected: list[str] = []
    for j in range(k):
        injected += inject(gen, j)
    n_injected = sum(1 for line in injected if line.startswith("  - id: "))
    regular = max(0, facts - n_injected)
    chunk: list[str] = []
    files = 0
    prev_ids: list[str] = []
    ids: list[str] = []
    for i in range(regular):
        chunk += gen.regular(i)
        ids.append(f"f-{i:07d}")
        if len(ids) == per_file or i == regular - 1:
            text = ["facts:", *chunk]
            if prev_ids:  # a second source for two facts of the previous file
                text.append("corroborations:")
                for fid in prev_ids[:2]:
                    text += [f"  - fact: {fid}", "    citations:",
                             *gen.cite(i, stance="confirms")]
            (seeds / "facts" / f"facts-{files:05d}.yaml").write_text("\n".join(text) + "\n")
            files += 1
            prev_ids, ids, chunk = ids, [], []
    if injected:  # per_rule=0: a conforming seed set (kb build writes dist/ for it)
        (seeds / "facts" / "zz-violations.yaml").write_text(
            "\n".join(["facts:", *injected]) + "\n")
    gen.entities()
    for name, lines in gen.entity_lines.items():
        for n in range(0, len(lines), ENTITIES_PER_FILE):  # no file for a kind never used
            part = lines[n:n + ENTITIES_PER_FILE]
            path = seeds / "entities" / f"{name}-{n // ENTITIES_PER_FILE:03d}.yaml"
            path.write_text("\n".join(["entities:", *part]) + "\n")
            files += 1
    params = _params(gen)
    edit = f"f-{regular // 2:07d}" if regular else "x-para-0"
    result = SynthResult(seeds, facts, gen.expected, params, edit, files + bool(injected))
    (out / "expected.json").write_text(json.dumps(result.to_json(), indent=1))
    return result


def _params(gen: _Gen) -> dict[str, dict[str, str]]:
    p0, p1 = gen.people.id(0), gen.people.id(1)
    return {
        "chains-between": {"from": p0, "to": gen.people.id(2)},
        "contacts-of-actor": {"actor": p0},
        "posts-of-actor": {"actor": p1},
        "holders-of-post": {"organisation": gen.orgs.id(0)},
        "timeline-of-actor": {"actor": p0},
        "sanction-status-on-date": {"actor": gen.designations[0][1] if gen.designations
                                    else p0, "date": "2020-02-15"},
        "document-life": {"document": gen.docs.id(0)},
        "investments-of-organisation": {"organisation": gen.orgs.id(0)},
        "events-at-place": {"place": gen.first_country},
        "mentions-of-entity": {"entity": p1},
        "claims": {"about": p0},
        "sanction-actions": {},
        "contacts-with-sanctioned": {"from": "2017-01-01", "to": "2019-12-31"},
        "contested-claims": {},
        "corroboration": {},
    }


def edit_description(seeds: Path, fact_id: str, text: str) -> Path:
    """Change one fact's description in place; return the file edited."""
    pat = re.compile(rf"^  - id: {re.escape(fact_id)}\n(?:    .*\n)*?    description: .*$",
                     re.MULTILINE)
    for path in sorted(seeds.rglob("*.yaml")):
        data = path.read_text(encoding="utf-8")
        m = pat.search(data)
        if m:
            head, _, _ = m.group(0).rpartition("description: ")
            path.write_text(data[:m.start()] + head + "description: " + _q(text)
                            + data[m.end():], encoding="utf-8")
            return path
    raise KeyError(fact_id)


__all__ = ["NOT_EXPRESSIBLE", "RULES", "Expected", "SynthResult", "edit_description", "generate"]
