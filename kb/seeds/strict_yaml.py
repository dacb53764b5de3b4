"""Read YAML strictly: UTF-8 only, duplicate keys and tags rejected, every scalar a string."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver

from kb.core.errors import InputError, Problem


class _StringResolver(VersionedResolver):
    """Resolve every plain scalar to a string: no implicit booleans, numbers, dates or nulls."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is ScalarNode and implicit[0]:
            return self.DEFAULT_SCALAR_TAG
        return super().resolve(kind, value, implicit)


class TagError(YAMLError):
    """A node carries an explicit YAML tag; with its 1-based line and field path."""

    def __init__(self, tag: str, line: int, field: str | None) -> None:
        super().__init__(f"YAML tags are not allowed: {tag}")
        self.tag, self.line, self.field = tag, line, field


def show_tag(tag: Any) -> str:
    """A ruamel Tag as it was written: !!python/object:x, !foo, !, or !<verbatim>."""
    handle, suffix = getattr(tag, "handle", None), str(getattr(tag, "suffix", tag))
    text = f"{handle}{suffix}" if handle else suffix if suffix == "!" else f"!<{suffix}>"
    return text if len(text) <= 80 else text[:79] + "\u2026"


def field_path(keys: list[str]) -> str | None:
    """The keys leading to a value, below the top-level section: citations.anchor."""
    return ".".join(keys[1:] if len(keys) > 1 else keys) or None


class _NoTagComposer(Composer):
    """ruamel's composer, refusing any explicit tag (`!!python/object:...`, `!foo`, `!`).

    Seed values are plain strings, lists and mappings: a tag can only change what a value
    means (a number, a date, an object), so it is an error, named with its line and field."""

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self.keys: list[str] = []

    def compose_node(self, parent: Any, index: Any) -> Any:
        key = index.value if isinstance(index, ScalarNode) else None
        if key is not None:
            self.keys.append(str(key))
        try:
            event = self.parser.peek_event()
            tag = getattr(event, "ctag", None)
            if tag is not None:
                raise TagError(show_tag(tag), event.start_mark.line + 1, field_path(self.keys))
            return super().compose_node(parent, index)
        finally:
            if key is not None:
                self.keys.pop()


def _parser() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Resolver = _StringResolver
    yaml.Composer = _NoTagComposer
    yaml.allow_duplicate_keys = False
    return yaml


def decode_utf8(data: bytes, name: str) -> str:
    """Decode bytes as UTF-8 or raise an InputError naming the line of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            Problem(name, line, None, f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); "
                    "save the file as UTF-8")
        ) from None


def read_yaml(path: Path, name: str | None = None) -> Any:
    """Parse one YAML file; every error names the file and line."""
    name = name or str(path)
    text = decode_utf8(path.read_bytes(), name)
    try:
        return _parser().load(text)
    except TagError as exc:
        raise InputError(Problem(name, exc.line, exc.field, str(exc))) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = exc.problem or str(exc)
        if "duplicate key" in what:
            what = what.split(" with value")[0] + " (each key may appear once in a mapping)"
        raise InputError(Problem(name, line, None, f"YAML error: {what}")) from None
    except YAMLError as exc:
        raise InputError(Problem(name, None, None, f"YAML error: {exc}")) from None


def line_of(container: Any, key: Any = None) -> int | None:
    """The 1-based line of a mapping key (or sequence item), or of the container itself."""
    lc = getattr(container, "lc", None)
    if lc is None:
        return None
    try:
        if key is not None:
            if isinstance(key, int):
                return lc.item(key)[0] + 1
            return lc.key(key)[0] + 1
        return lc.line + 1
    except (KeyError, IndexError, TypeError):
        return lc.line + 1
