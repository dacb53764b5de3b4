"""`kb cite`: find a phrase in a source text and make the citation block that points at it."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from kb.core.errors import InputError, Problem
from kb.sources.verify import MAX_ANCHOR_WORDS, context, normalise, normalise_mapped, occurrences


@dataclass(frozen=True)
class Place:
    """Where a phrase occurs: paragraph (from 1) and character offsets in it as written."""

    para: int
    start: int
    end: int


def find(phrase: str, paras: list[str]) -> list[Place]:
    """Every occurrence of `phrase` in the paragraphs, compared as `kb sources verify` does:
    typographic quotes and dashes equal plain ones, blanks folded, case kept."""
    needle = normalise(phrase)
    found: list[Place] = []
    if not needle:
        return found
    for number, para in enumerate(paras, start=1):
        if needle not in normalise(para):
            continue
        text, where = normalise_mapped(para)
        for i in occurrences(needle, text):
            found.append(Place(number, where[i], where[i + len(needle) - 1] + 1))
    return found


def nearest(phrase: str, paras: list[str], n: int = 3) -> list[tuple[int, str]]:
    """The runs of words in the text most like `phrase` (difflib, ignoring case), as
    (paragraph, words as written); only runs sharing a word with the phrase are compared."""
    wanted = normalise(phrase)
    size = len(wanted.split())
    key = wanted.lower()
    vocab = set(key.split())
    scored: dict[str, tuple[float, int]] = {}
    matcher = difflib.SequenceMatcher(b=key, autojunk=False)
    for number, para in enumerate(paras, start=1):
        ws = normalise(para).split()
        for i in range(max(1, len(ws) - size + 1)):
            run = ws[i:i + size]
            text = " ".join(run)
            if text in scored or not vocab.intersection(w.lower() for w in run):
                continue
            matcher.set_seq1(text.lower())
            if matcher.real_quick_ratio() >= 0.5 and matcher.quick_ratio() >= 0.5:
                scored[text] = (matcher.ratio(), number)
    best = sorted(scored.items(), key=lambda kv: (-kv[1][0], kv[1][1], kv[0]))
    return [(number, text) for text, (ratio, number) in best[:n] if ratio >= 0.5]


def anchor_for(phrase: str, para: str) -> str:
    """The phrase as the paragraph writes it if it has at most MAX_ANCHOR_WORDS words;
    otherwise its first window of that many words that occurs once in the paragraph."""
    ws = normalise(phrase).split()
    if len(ws) <= MAX_ANCHOR_WORDS:
        return " ".join(ws)
    text = normalise(para)
    for i in range(len(ws) - MAX_ANCHOR_WORDS + 1):
        window = " ".join(ws[i:i + MAX_ANCHOR_WORDS])
        if len(occurrences(window, text)) == 1:
            return window
    raise InputError(f"no run of {MAX_ANCHOR_WORDS} words of the phrase occurs only once in "
                     "its paragraph; cite a shorter phrase")


def _quoted(s: str) -> str:
    """A YAML scalar for s: plain when safe, else double-quoted."""
    plain = (s == s.strip() and not any(c in s for c in ":#{}[],&*!|>'\"%@`")
             and s[:1] not in "-?" and s.lower() not in {"yes", "no", "true", "false", "null"})
    if plain:
        return s
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def citation(source: str, phrase: str, paras: list[str], para: int | None = None) -> str:
    """A ready citation block for `phrase`, which must occur exactly once in the text (or in
    paragraph `para`); otherwise an InputError listing every place, or the nearest matches."""
    where = f"{source}.txt"
    if para is not None and not 1 <= para <= len(paras):
        raise InputError(Problem(where, None, None,
                                 f"--para {para}: the text has paragraphs 1-{len(paras)}"))
    places = [p for p in find(phrase, paras) if para is None or p.para == para]
    if not places:
        close = nearest(phrase, paras)
        hint = ("; nearest: " + "; ".join(f"para {p}: {w!r}" for p, w in close)
                if close else "; nothing close")
        scope = "the text" if para is None else f"paragraph {para}"
        raise InputError(Problem(where, None, None,
                                 f"{phrase!r} is not in {scope} (quotes, dashes and blanks "
                                 f"folded, case kept){hint}"))
    if len(places) > 1:
        shown = ", ".join(f"para {p.para} offset {p.start} "
                          f"({context(paras[p.para - 1], p.start, p.end)})" for p in places)
        raise InputError(Problem(where, None, None,
                                 f"{phrase!r} occurs {len(places)} times: {shown}; "
                                 "lengthen the phrase so it locates one place"))
    place = places[0]
    para = paras[place.para - 1]
    anchor = anchor_for(para[place.start:place.end], para)
    return (f"- source: {source}\n"
            f"  para: {place.para}\n"
            f"  anchor: {_quoted(anchor)}\n")
