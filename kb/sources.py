"""Check sources and citations against the source texts: hashes, paragraphs, anchor phrases."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from .errors import Problem
from .seeds import SeedSet

MAX_ANCHOR_WORDS = 8
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"',
                         "\u2013": "-", "\u2014": "-", "\u00a0": " "})


def paragraphs(text: str) -> list[str]:
    """A paragraph is a non-empty line of the text, numbered from 1."""
    return [line for line in text.splitlines() if line.strip()]


def normalise(s: str) -> str:
    """Typographic quotes and dashes compare equal to plain ones; spaces are folded."""
    return " ".join(s.translate(_QUOTES).split())


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
            if normalise(c.anchor) not in normalise(ps[c.para - 1]):
                problems.append(Problem(c.file, c.line, "anchor", f"{where}: anchor "
                                        f"{c.anchor!r} is not in that paragraph"))
    return VerifyResult(problems, n_sources, n_cites)
