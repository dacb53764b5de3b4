"""`kb sources coverage`: how much of each source text the citations use."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kb.seeds.check import SeedSet
from kb.sources.texts import source_paragraphs


@dataclass
class Coverage:
    """One source: paragraphs cited of its total, facts citing it, claims by stance, and how
    many claims rest on anonymous sources."""

    source: str
    paragraphs: int
    cited: set[int] = field(default_factory=set)
    facts: set[str] = field(default_factory=set)
    stances: dict[str, int] = field(default_factory=dict)
    anonymous: int = 0

    @property
    def claims(self) -> int:
        return sum(self.stances.values())

    @property
    def anonymous_share(self) -> float:
        return self.anonymous / self.claims if self.claims else 0.0


def coverage(seeds: SeedSet, texts_dir: Path) -> list[Coverage]:
    """Coverage of every declared source, in id order; a claim is one citation."""
    table = {r.id: Coverage(r.id, len(source_paragraphs(texts_dir, r.id)))
             for r in sorted(seeds.records.values(), key=lambda r: r.id) if r.type == "source"}
    for rec in seeds.records.values():
        for c in rec.citations:
            cov = table[c.source]
            cov.cited.add(c.para)
            cov.facts.add(rec.id)
            cov.stances[c.stance] = cov.stances.get(c.stance, 0) + 1
            if any(a.kind == "anonymous" for a in c.attributions):
                cov.anonymous += 1
    return list(table.values())


def format_coverage(rows: list[Coverage], stances: list[str]) -> str:
    """A fixed-width table, one source a row."""
    head = ["source", "paragraphs", "facts", "claims", *stances, "anonymous"]
    body = []
    for r in rows:
        body.append([r.source, f"{len(r.cited & set(range(1, r.paragraphs + 1)))}/{r.paragraphs}",
                     str(len(r.facts)), str(r.claims),
                     *(str(r.stances.get(s, 0)) for s in stances),
                     f"{r.anonymous} ({100 * r.anonymous_share:.0f}%)"])
    widths = [max(len(x) for x in col) for col in zip(head, *body, strict=True)]
    lines = [" | ".join(x.ljust(w) for x, w in zip(row, widths, strict=True)).rstrip()
             for row in [head, ["-" * w for w in widths], *body]]
    return "\n".join(lines) + "\n"
