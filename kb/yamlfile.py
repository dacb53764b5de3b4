"""Read YAML strictly: UTF-8 only, duplicate keys rejected, every scalar kept as a string."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver

from .errors import InputError, Problem


class _StringResolver(VersionedResolver):
    """Resolve every plain scalar to a string: no implicit booleans, numbers, dates or nulls."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is ScalarNode and implicit[0]:
            return self.DEFAULT_SCALAR_TAG
        return super().resolve(kind, value, implicit)


def _parser() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Resolver = _StringResolver
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
