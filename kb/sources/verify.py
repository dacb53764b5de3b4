"""Check sources and citations against the source texts: hashes, paragraphs, anchor phrases."""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

from kb.core.errors import Problem
from kb.seeds.check import SeedSet

MAX_ANCHOR_WORDS = 8
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"',
                         "\u2013": "-", "\u2014": "-", "\u00a0": " "})


def paragraphs(text: str) -> list[str]:
    """A paragraph is a non-empty line of the text, numbered from 1."""
    return [line for line in text.splitlines() if line.strip()]


def normalise(s: str) -> str:
    """Typographic quotes and dashes compare equal to plain ones; spaces are folded."""
    return " ".join(s.translate(_QUOTES).split())


def normalise_mapped(s: str) -> tuple[str, list[int]]:
    """`normalise(s)`, and for each of its characters the offset in `s` it came from."""
    out: list[str] = []
    where: list[int] = []
    space = -1  # offset of the first blank of a run not yet written
    for i, ch in enumerate(s.translate(_QUOTES)):
        if ch.isspace():
            if out and space < 0:
                space = i
            continue
        if space >= 0:
            out.append(" ")
            where.append(space)
            space = -1
        out.append(ch)
        where.append(i)
    return "".join(out), where


def occurrences(needle: str, haystack: str) -> list[int]:
    """Every offset where needle starts in haystack, overlapping ones included."""
    found, i = [], haystack.find(needle)
    while needle and i >= 0:
        found.append(i)
        i = haystack.find(needle, i + 1)
    return found


def context(para: str, start: int, end: int, words: int = 3) -> str:
    """The text from start to end in a paragraph, with a few words either side."""
    before = para[:start].split()[-words:]
    after = para[end:].split()[:words]
    lead = "..." if len(para[:start].split()) > words else ""
    tail = "..." if len(para[end:].split()) > words else ""
    sep_b = " " if before and para[start - 1:start].isspace() else ""
    sep_a = " " if after and para[end:end + 1].isspace() else ""
    return (f"{lead}{' '.join(before)}{sep_b}[{' '.join(para[start:end].split())}]"
            f"{sep_a}{' '.join(after)}{tail}")


@dataclass
class VerifyResult:
    problems: list[Problem]
    sources: int
    citations: int

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(seeds: SeedSet, texts_dir: Path) -> VerifyResult:
    """Check every source's SHA-256 and paragraph count, and every citation's locator."""
    problems: list[Problem] = []
    paras: dict[str, list[str]] = {}
    n_sources = n_cites = 0
    for rec in seeds.records.values():
        if rec.type != "source":
            continue
        n_sources += 1
        path = texts_dir / f"{rec.id}.txt"
        if not path.is_file():
            problems.append(Problem(rec.file, rec.line, "id", f"no text {path} for this source"))
            continue
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest != rec.values.get("sha256"):
            problems.append(Problem(rec.file, rec.line, "sha256",
                                    f"text {path.name} has SHA-256 {digest}, not the recorded "
                                    f"{rec.values.get('sha256')}"))
        paras[rec.id] = paragraphs(data.decode("utf-8", errors="replace"))
        if len(paras[rec.id]) != rec.values.get("paragraphs"):
            problems.append(Problem(rec.file, rec.line, "paragraphs",
                                    f"text has {len(paras[rec.id])} paragraphs, "
                                    f"not {rec.values.get('paragraphs')}"))
    for rec in seeds.records.values():
        for c in rec.citations:
            n_cites += 1
            where = f"citation of {rec.id} to {c.source} para {c.para}"
            ps = paras.get(c.source)
            if ps is None:
                continue  # the source itself was reported above
            if c.para > len(ps):
                problems.append(Problem(c.file, c.line, "para", f"{where}: {c.source} has only "
                                        f"{len(ps)} paragraphs"))
                continue
            if c.anchor is None:
                continue
            if len(c.anchor.split()) > MAX_ANCHOR_WORDS:
                problems.append(Problem(c.file, c.line, "anchor", f"{where}: anchor has "
                                        f"{len(c.anchor.split())} words, at most "
                                        f"{MAX_ANCHOR_WORDS} allowed"))
            msg = _anchor_problem(normalise(c.anchor), ps, c.para)
            if msg:
                problems.append(Problem(c.file, c.line, "anchor",
                                        f"{where}: anchor {c.anchor!r} {msg}"))
    return VerifyResult(problems, n_sources, n_cites)


def _anchor_problem(anchor: str, ps: list[str], para: int) -> str | None:
    """None if the anchor occurs exactly once in paragraph `para`; else what is wrong."""
    quick = normalise(ps[para - 1])
    first = quick.find(anchor)
    if first >= 0 and quick.find(anchor, first + 1) < 0:
        return None  # the common case, without mapping offsets
    text, where = normalise_mapped(ps[para - 1])
    found = occurrences(anchor, text)
    if found:
        end = len(anchor) - 1
        places = [f"offset {where[i]} ({context(ps[para - 1], where[i], where[i + end] + 1)})"
                  for i in found]
        return (f"occurs {len(found)} times in that paragraph, at " + ", ".join(places)
                + "; an anchor must locate one place: lengthen it (at most "
                f"{MAX_ANCHOR_WORDS} words)")
    elsewhere = _elsewhere(anchor, ps)
    if not elsewhere:
        return "is not in that paragraph, nor anywhere else in the text"
    return "is not in that paragraph; " + elsewhere


def _elsewhere(anchor: str, ps: list[str]) -> str:
    """Where in the whole text (paragraphs joined by a space) the anchor was found, or ""."""
    parts = [normalise(p) for p in ps]
    starts = [0]
    for part in parts[:-1]:
        starts.append(starts[-1] + len(part) + 1)
    inside: list[str] = []
    across: list[str] = []
    for i in occurrences(anchor, " ".join(parts)):
        first = bisect_right(starts, i)
        last = bisect_right(starts, i + len(anchor) - 1)
        if first == last:
            inside.append(str(first))
        else:
            across.append(f"{first}-{last}")
    out = []
    if inside:
        out.append(f"found in paragraph{'s' if len(inside) > 1 else ''} {', '.join(inside)}")
    if across:
        out.append(f"spans paragraphs {', '.join(across)}")
    return "; ".join(out)
