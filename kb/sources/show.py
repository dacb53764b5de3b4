"""`kb sources show`: a source text, paragraph by paragraph, with the facts that cite it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from rich.text import Text

from kb.core.errors import InputError, Problem
from kb.seeds.check import SeedSet
from kb.sources.verify import normalise, normalise_mapped, occurrences


@dataclass(frozen=True)
class Use:
    """One citation of a paragraph: the fact, its stance and anchor, and where it is written."""

    fact: str
    stance: str
    anchor: str | None
    file: str
    line: int | None


def uses(seeds: SeedSet, source: str) -> dict[int, list[Use]]:
    """Paragraph number -> the citations of `source` that point at it, in seed order."""
    out: dict[int, list[Use]] = defaultdict(list)
    for rec in seeds.records.values():
        for c in rec.citations:
            if c.source == source:
                out[c.para].append(Use(rec.id, c.stance, c.anchor, c.file, c.line))
    return dict(out)


def source_record(seeds: SeedSet, source: str) -> None:
    """Raise an InputError unless `source` is a declared source, listing the known ones."""
    rec = seeds.records.get(source)
    if rec is None or rec.type != "source":
        known = sorted(r.id for r in seeds.records.values() if r.type == "source")
        raise InputError(Problem("<input>", None, None, f"{source!r} is not a declared source; "
                                 f"known: {', '.join(known) or 'none'}"))


def highlighted(para: str, anchors: list[str]) -> Text:
    """The paragraph as written, each anchor's place in bold reverse."""
    text = Text(para)
    mapped, where = normalise_mapped(para)
    for anchor in anchors:
        needle = normalise(anchor)
        for i in occurrences(needle, mapped):
            text.stylize("bold reverse", where[i], where[i + len(needle) - 1] + 1)
    return text


def render(source: str, paras: list[str], by_para: dict[int, list[Use]],
           only: int | None = None, uncovered: bool = False) -> list[Text]:
    """The lines to print: each paragraph numbered, anchors highlighted, the facts citing it
    below; `only` one paragraph, `uncovered` only the paragraphs no citation uses."""
    if only is not None and not 1 <= only <= len(paras):
        raise InputError(Problem(f"{source}.txt", None, None,
                                 f"--para {only}: the text has paragraphs 1-{len(paras)}"))
    lines: list[Text] = []
    for number, para in enumerate(paras, start=1):
        if only is not None and number != only:
            continue
        cited = by_para.get(number, [])
        if uncovered and cited:
            continue
        head = Text(f"[{number}] ", style="bold cyan")
        head.append_text(highlighted(para, [u.anchor for u in cited if u.anchor]))
        lines.append(head)
        for u in cited:
            line = Text("    <- ", style="dim")
            line.append(u.fact, style="green")
            line.append(f" ({u.stance})")
            if u.anchor:
                line.append(f" '{u.anchor}'", style="italic")
            line.append(f"  {u.file}:{u.line}", style="dim")
            lines.append(line)
    return lines
