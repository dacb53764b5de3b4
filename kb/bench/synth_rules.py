"""The violations kb.synth injects: which rule each breaks, and the seeds that break it."""

from __future__ import annotations

import hashlib
from typing import Any

SPARQL = "sh:SPARQLConstraintComponent"

# rule -> (constraint component, severity). Each injection breaks exactly the rules it names.
RULES: dict[str, tuple[str, str]] = {
    "locator-paragraph-past-count": (SPARQL, "Violation"),
    "single-anonymous-claim": (SPARQL, "Warning"),
    "interval-ends-before-start": (SPARQL, "Violation"),
    "place-within-itself": (SPARQL, "Violation"),
    "sanction-target-not-designated": (SPARQL, "Violation"),
    "sanction-starts-before-designation": (SPARQL, "Violation"),
    "sanction-ends-after-designation": (SPARQL, "Violation"),
    "contested-fact-not-marked": ("check:contested-fact-not-marked-warning", "Warning"),
    "meeting-with-one-participant": ("check:meeting-with-one-participant-violation", "Violation"),
    "two-party-contact-min-count": ("sh:MinCountConstraintComponent", "Violation"),
    "orphan-entity": ("check:orphan-entity-violation", "Violation"),
    "person-without-citation": ("check:person-without-citation-violation", "Violation"),
    "anchor-too-long": ("sh:PatternConstraintComponent", "Violation"),
    "publisher-not-outlet": ("sh:ClassConstraintComponent", "Violation"),
    "relationship-with-itself": ("sh:DisjointConstraintComponent", "Violation"),
    "group-count-below-one": ("sh:MinInclusiveConstraintComponent", "Violation"),
    "anonymous-count-below-one": ("sh:MinInclusiveConstraintComponent", "Violation"),
    "term-of-another-person": (SPARQL, "Violation"),
    "term-end-disagrees-with-change": (SPARQL, "Violation"),
    "term-start-disagrees-with-change": (SPARQL, "Violation"),
    "term-change-of-wrong-kind": (SPARQL, "Violation"),
    "term-in-another-organisation": (SPARQL, "Violation"),
    "status-beyond-forward-looking-claims": (SPARQL, "Violation"),
    "identity-link-without-hypothesis": (SPARQL, "Violation"),
    "identity-hypothesis-without-link": (SPARQL, "Violation"),
    "order-cycle": (SPARQL, "Violation"),
    "order-contradicts-dates": (SPARQL, "Violation"),
    "sub-event-outside-parent": (SPARQL, "Violation"),
    "aftermath-before-origin": (SPARQL, "Violation"),
    "times-below-one": ("sh:MinInclusiveConstraintComponent", "Violation"),
}
# Rules the seed format cannot break: the loader rejects such input before any RDF is made.
NOT_EXPRESSIBLE = ("reported-datatype-matches-precision", "derived-date-has-basis",
                   "sameas-has-checked-link",
                   # a claim scope the fact does not have (kbs:ScopeOnItsFact) and a curators'
                   # attribution naming someone else: the loader refuses the one and never
                   # writes the other
                   "claim-scope-on-its-fact", "curators-attribution-names-curators")


def inject(self: Any, k: int) -> list[str]:
    """Facts and entities breaking each rule once (k-th time); `self` is the generator."""
    out: list[str] = []
    p, q = self.people.next(), self.people.next()
    src = self.sources.next()
    meeting = ["kind: meeting", "participants:", f"  - {{actor: {p}}}", f"  - {{actor: {q}}}"]
    f = f"x-para-{k}"
    out += self.fact(f, "statement", "Bad paragraph", [f"speakers: [{p}]"],
                     [[f"      - source: {src}", "        para: \"99\""]])
    self.expect("locator-paragraph-past-count", f"{f}/claim/{src}-p99/locator")
    f = f"x-anon-{k}"
    out += self.fact(f, "statement", "Anonymous only", [f"speakers: [{p}]"],
                     [self.cite(k, according="{anonymous: people familiar with it}")])
    self.expect("single-anonymous-claim", f)
    f = f"x-interval-{k}"
    out += self.fact(f, "post", "Ends before it starts",
                     [f"holder: {p}", "title: envoy", "start: \"2020\"", "end: \"2018\""],
                     [self.cite(k)])
    self.expect("interval-ends-before-start", f)
    d = f"x-desig-{k}"
    out += self.fact(d, "sanction", "Designation", [
        "action: designation", f"targets: [{p}]", "start: \"2020-01-01\"",
        "end: \"2022-12-31\""], [self.cite(k)])
    for name, tgt, start, end, rule in (
            ("target", q, "2021-01-01", "2021-06-30", "sanction-target-not-designated"),
            ("early", p, "2019-06-01", "2021-01-01", "sanction-starts-before-designation"),
            ("late", p, "2021-01-01", "2023-06-01", "sanction-ends-after-designation")):
        f = f"x-relief-{name}-{k}"
        out += self.fact(f, "sanction", "Relief", [
            "action: suspension", f"targets: [{tgt}]", f"of: {d}", f"start: \"{start}\"",
            f"end: \"{end}\""], [self.cite(k)])
        self.expect(rule, f)
    f = f"x-contested-{k}"
    out += self.fact(f, "contact", "Contested", meeting,
                     [self.cite(k), self.cite(k, stance="denies")])
    self.expect("contested-fact-not-marked", f)
    f = f"x-alone-{k}"
    out += self.fact(f, "contact", "Alone", ["kind: meeting", "participants:",
                                             f"  - {{actor: {p}}}"], [self.cite(k)])
    self.expect("meeting-with-one-participant", f)
    self.expect("two-party-contact-min-count", f)
    f = f"x-times-{k}"
    out += self.fact(f, "contact", "Never happened", [*meeting, "times: {value: \"0\"}"],
                     [self.cite(k)])
    self.expect("times-below-one", f)
    f = f"x-anchor-{k}"
    out += self.fact(f, "statement", "Long anchor", [f"speakers: [{p}]"], [[
        f"      - source: {src}", "        para: \"53\"",
        "        anchor: one two three four five six seven eight nine ten"]])
    self.expect("anchor-too-long", f"{f}/claim/{src}-p53/locator")
    f = f"x-self-{k}"
    out += self.fact(f, "relationship", "Self", [f"actor: {p}", f"related: {p}",
                                                 "relation: alter ego"], [self.cite(k)])
    self.expect("relationship-with-itself", f)
    f = f"x-anoncount-{k}"
    out += self.fact(f, "statement", "Zero sources", [f"speakers: [{q}]"], [
        self.cite(k), [f"      - source: {src}", "        para: \"55\"",
                       "        according_to: {anonymous: nobody at all, count: \"0\"}"]])
    self.expect("anonymous-count-below-one", f"{f}/claim/{src}-p55/attribution/1")
    f = f"x-groups-{k}"
    out += self.fact(f, "contact", "With groups", [
        *meeting, f"  - {{actor: x-grp-zero-{k}}}", f"  - {{actor: x-grp-assoc-{k}}}"],
        [self.cite(k)])
    self.extra_entities += [
        f"  - {{id: x-grp-zero-{k}, type: group, name: Nobody, "
        f"description: A group of no one, count: \"0\"}}",
        f"  - {{id: x-grp-assoc-{k}, type: group, name: Associates, "
        f"description: Associates of someone, members_of: [x-nocite-{k}], "
        f"possibly_same_as: [{p}]}}",
        f"  - {{id: x-nocite-{k}, type: person, name: Uncited Person {k}}}",
        f"  - {{id: x-orphan-{k}, type: document, kind: report, name: Orphan {k}}}",
        f"  - {{id: x-loop-{k}, type: place, kind: city, name: Loop {k}, "
        f"within: x-loop-{k}}}",
        f"  - {{id: x-company-{k}, type: organisation, kind: company, name: Company {k}}}",
        f"  - {{id: x-src-{k}, type: source, title: Bad publisher {k}, "
        f"publisher: x-company-{k}, published: \"2024-01-01\", publication_basis: stated, "
        f"sha256: {hashlib.sha256(str(k).encode()).hexdigest()}, paragraphs: \"10\"}}",
    ]
    self.expect("group-count-below-one", f"x-grp-zero-{k}")
    self.expect("person-without-citation", f"x-nocite-{k}")
    self.expect("orphan-entity", f"x-orphan-{k}")
    self.expect("place-within-itself", f"x-loop-{k}")
    self.expect("publisher-not-outlet", f"x-src-{k}")
    self.expect("identity-link-without-hypothesis", f"x-grp-assoc-{k}")
    f = f"x-ident-{k}"
    out += self.fact(f, "identity", "Maybe the same", [
        f"entity: {q}", f"candidate: {p}", "suggested_by: source",
        "basis: the same title in both reports"], [self.cite(k)])
    self.expect("identity-hypothesis-without-link", f)
    out += _relations(self, k, p, q)
    return out


def _relations(self: Any, k: int, p: str, q: str) -> list[str]:
    """Post terms and events in relation (shapes/relations.ttl), each rule broken once."""
    out: list[str] = []
    out += _term(self, k, "term", "term-of-another-person", "change",
                 ("Someone's post", [f"holder: {p}", "title: envoy"]),
                 ("Ends another's post", ["action: departed", f"person: {q}", "ends: {post}"]))
    out += _term(self, k, "tend", "term-end-disagrees-with-change", "post",
                 ("Ends in 2018", [f"holder: {p}", "title: envoy", "end: \"2018\""]),
                 ("Ends it in 2020", ["action: departed", f"person: {p}", "ends: {post}",
                                      "date: \"2020\""]))
    out += _term(self, k, "tstart", "term-start-disagrees-with-change", "post",
                 ("Starts in 2020", [f"holder: {p}", "title: envoy", "start: \"2020\""]),
                 ("Begins it in 2018", ["action: appointed", f"person: {p}", "begins: {post}",
                                        "date: \"2018\""]))
    out += _term(self, k, "tkind", "term-change-of-wrong-kind", "change",
                 ("Someone's post", [f"holder: {p}", "title: envoy"]),
                 ("A departure that begins a post", ["action: departed", f"person: {p}",
                                                     "begins: {post}"]))
    o1, o2 = self.orgs.next(), self.orgs.next()
    out += _term(self, k, "torg", "term-in-another-organisation", "change",
                 ("A post in one body", [f"holder: {p}", f"organisation: {o1}", "title: envoy"]),
                 ("Ends it in another", ["action: resigned", f"person: {p}",
                                         f"organisation: {o2}", "ends: {post}"]))
    f = f"x-fwd-{k}"
    out += self.fact(f, "statement", "Only expected", [f"speakers: [{q}]", "status: confirmed"],
                     [self.cite(k, stance="expects")])
    self.expect("status-beyond-forward-looking-claims", f)
    a, b = f"x-cyc-a-{k}", f"x-cyc-b-{k}"
    out += self.fact(a, "statement", "Cycle", [f"speakers: [{p}]", f"before: [{b}]"],
                     [self.cite(k)])
    out += self.fact(b, "statement", "Cycle", [f"speakers: [{p}]", f"before: [{a}]"],
                     [self.cite(k)])
    self.expect("order-cycle", a)
    self.expect("order-cycle", b)
    early = f"x-ord-b-{k}"
    out += self.fact(early, "statement", "In 2018", [f"speakers: [{q}]", "date: \"2018\""],
                     [self.cite(k)])
    for fid, rule, field in ((f"x-ord-{k}", "order-contradicts-dates", f"before: [{early}]"),
                             (f"x-sub-{k}", "sub-event-outside-parent", f"part_of: {early}"),
                             (f"x-aft-{k}", "aftermath-before-origin",
                              f"aftermath_of: [{early}]")):
        year = "2016" if rule == "aftermath-before-origin" else "2020"
        out += self.fact(fid, "statement", "Out of order", [
            f"speakers: [{p}]", f"date: \"{year}\"", field], [self.cite(k)])
        self.expect(rule, fid)
    return out


def _term(self: Any, k: int, tag: str, rule: str, broken: str, post: tuple[str, list[str]],
          change: tuple[str, list[str]]) -> list[str]:
    """A post and a personnel change on it (`{post}` in a change line names the post) that
    break `rule` once, on the post or on the change (`broken`)."""
    pid, cid = f"x-{tag}-{k}", f"x-{tag}-change-{k}"
    out = self.fact(pid, "post", post[0], post[1], [self.cite(k)])
    out += self.fact(cid, "personnel", change[0],
                     [line.replace("{post}", pid) for line in change[1]], [self.cite(k)])
    self.expect(rule, pid if broken == "post" else cid)
    return out
