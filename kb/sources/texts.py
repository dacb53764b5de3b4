"""Reading a source text from the texts folder: its paragraphs, with clear errors."""

from __future__ import annotations

from pathlib import Path

from kb.core.errors import InputError, Problem
from kb.seeds.strict_yaml import decode_utf8
from kb.sources.verify import paragraphs


def read_text(path: Path) -> str:
    """A text file as UTF-8; a missing file or a bad byte is an InputError naming the file."""
    if not path.is_file():
        raise InputError(Problem(str(path), None, None, "no such text file"))
    return decode_utf8(path.read_bytes(), str(path))


def source_paragraphs(texts_dir: Path, source: str) -> list[str]:
    """The paragraphs of source `source` (texts_dir/<source>.txt), numbered from 1 by index+1."""
    path = texts_dir / f"{source}.txt"
    if not path.is_file():
        raise InputError(Problem(str(path), None, None,
                                 f"no text for source {source!r} in {texts_dir}"))
    return paragraphs(read_text(path))
