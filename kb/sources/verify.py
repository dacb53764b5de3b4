"""Check sources and citations against the source texts: hashes, paragraphs, anchor phrases,
and curators' own wording (no free-text field may repeat a 12-word run of a text)."""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

from kb.core.errors import Problem
from kb.seeds.check import Record, SeedSet

MAX_ANCHOR_WORDS = 8
RUN_WORDS = 12  # a curator's text sharing this many consecutive words with a source is a copy
# Free-text fields that quote the source on purpose: titles as reported (a source's own title,
# a post's or a change's title as the source words it). Anchors and attribution wordings live in
# citations, which the copy check never reads.
QUOTED_FIELDS = frozenset({"title"})
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
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


def words(s: str) -> list[str]:
    """The words of a text, lowercased, after the folding of `normalise`; punctuation dropped."""
    return _WORD.findall(normalise(s).lower())


Shingle = tuple[str, ...]


def shingles(texts: dict[str, list[str]], n: int = RUN_WORDS) -> dict[Shingle, tuple[str, int]]:
    """Every run of n consecutive words of each paragraph -> (source id, paragraph) of its first
    occurrence, in source-id then paragraph order."""
    index: dict[Shingle, tuple[str, int]] = {}
    for source in sorted(texts):
        for number, para in enumerate(texts[source], start=1):
            ws = words(para)
            for i in range(len(ws) - n + 1):
                index.setdefault(tuple(ws[i:i + n]), (source, number))
    return index


def copied_runs(text: str, index: dict[Shingle, tuple[str, int]],
                n: int = RUN_WORDS) -> list[tuple[list[str], tuple[str, int]]]:
    """Each maximal run of n or more words of `text` whose every n-word window is in `index`:
    (the run's words, where its first window occurs)."""
    ws = words(text)
    runs: list[tuple[list[str], tuple[str, int]]] = []
    i = 0
    while i <= len(ws) - n:
        where = index.get(tuple(ws[i:i + n]))
        if where is None:
            i += 1
            continue
        j = i + 1
        while j <= len(ws) - n and tuple(ws[j:j + n]) in index:
            j += 1
        runs.append((ws[i:j - 1 + n], where))
        i = j
    return runs


def free_texts(rec: Record) -> list[tuple[str, str]]:
    """(field, text) for every curator-written free-text value of a record: text fields, lists
    of texts, and the basis of a date; titles as reported are excepted."""
    out: list[tuple[str, str]] = []
    for name, spec in rec.spec.fields.items():
        value = rec.values.get(name)
        if value is None or name in QUOTED_FIELDS:
            continue
        if spec.kind == "text":
            out.append((name, value))
        elif spec.kind == "texts":
            out.extend((name, v) for v in value)
        elif spec.kind == "date" and getattr(value, "basis", None):
            out.append((f"{name}.basis", value.basis))
    return out


def copy_problems(seeds: SeedSet, texts: dict[str, list[str]]) -> list[Problem]:
    """A problem for each free-text field repeating a run of RUN_WORDS or more words of a text."""
    index = shingles(texts)
    problems: list[Problem] = []
    for rec in seeds.records.values():
        for fld, text in free_texts(rec):
            for run, (source, para) in copied_runs(text, index):
                shown = " ".join(run[:6])
                problems.append(Problem(
                    rec.file, rec.line, fld,
                    f"{rec.id}: shares a run of {len(run)} words with {source} para {para} "
                    f"('{shown} ...'); write it in your own words (at most "
                    f"{RUN_WORDS - 1} words in a row from a source)"))
    return problems


@dataclass
class VerifyResult:
    problems: list[Problem]
    sources: int
    citations: int

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(seeds: SeedSet, texts_dir: Path) -> VerifyResult:
    """Check every source's SHA-256 and paragraph count, every citation's locator, and that no
    curator-written text repeats a run of RUN_WORDS words of a source text."""
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
    problems.extend(copy_problems(seeds, paras))
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
