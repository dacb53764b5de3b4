"""Read seed YAML with libyaml (PyYAML's C parser), falling back to ruamel for anything unusual.

`kb.yamlfile.read_yaml` (ruamel, round-trip mode) is the reference: every scalar a string,
duplicate keys rejected, line numbers on every mapping and sequence. It costs about 0.4 ms a
line, minutes at 10^5 facts. This module builds the same values (dicts, lists and strings)
with the same `.lc` line information from libyaml's node tree, about 20 times faster. Any
file it is not sure about (tags, anchors, duplicate or complex keys, several documents, a
byte-order mark, a parse error) is read by ruamel instead, so results and error messages
are the reference's by construction.

Tags: libyaml gives an explicit `!!str` the same tag an untagged string resolves to, so
untagged nodes get private tags of their own (`_STR`, `_SEQ`, `_MAP`) and anything else is
explicit. A bare `!` on a scalar cannot be told from no tag at all; any `!` followed by a
blank, a flow indicator or the end of a line sends the file to ruamel.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from kb.seeds.strict_yaml import decode_utf8, read_yaml

_STR = "tag:kb,untagged:str"  # given by _Loader.resolve only: no explicit tag can be these
_SEQ = "tag:kb,untagged:seq"
_MAP = "tag:kb,untagged:map"
_BARE_TAG = re.compile(r"!(?:[\s,\[\]{}]|$)", re.M)  # `! value`: a tag libyaml hides


class LC:
    """ruamel's LineCol: 0-based line/col of a container and of its keys or items."""

    __slots__ = ("line", "col", "data")

    def __init__(self, line: int, col: int) -> None:
        self.line = line
        self.col = col
        self.data: dict[Any, tuple[int, int]] | None = None

    def key(self, k: Any) -> tuple[int, int] | None:
        return None if self.data is None else self.data[k]

    def item(self, idx: int) -> tuple[int, int] | None:
        return None if self.data is None else self.data[idx]


class YMap(dict):
    """A mapping read from YAML, with ruamel-style `.lc`."""

    __slots__ = ("lc",)


class YSeq(list):
    """A sequence read from YAML, with ruamel-style `.lc`."""

    __slots__ = ("lc",)


class _Unsure(Exception):
    """The fast reader declines this input; ruamel reads it."""


class _Loader(yaml.CSafeLoader):  # type: ignore[misc, name-defined]
    """libyaml's composer, resolving every untagged scalar to a string as kb.yamlfile does."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode:
            return _STR if implicit[0] or implicit[1] else "!explicit"
        if not implicit:
            return "!explicit"  # a bare `!` on a sequence or mapping
        return _SEQ if kind is yaml.SequenceNode else _MAP


def _convert(node: Any) -> Any:
    if isinstance(node, yaml.ScalarNode):
        if node.tag != _STR:
            raise _Unsure
        return node.value
    mark = node.start_mark
    if isinstance(node, yaml.MappingNode):
        if node.tag != _MAP:
            raise _Unsure
        out: Any = YMap()
        out.lc = lc = LC(mark.line, mark.column)
        if node.value:
            lc.data = {}
        for knode, vnode in node.value:
            if not isinstance(knode, yaml.ScalarNode) or knode.tag != _STR:
                raise _Unsure
            key = knode.value
            if key in out:
                raise _Unsure
            out[key] = _convert(vnode)
            km = knode.start_mark
            lc.data[key] = (km.line, km.column)  # type: ignore[index]
        return out
    if node.tag != _SEQ:
        raise _Unsure
    seq: Any = YSeq()
    seq.lc = lc = LC(mark.line, mark.column)
    if node.value:
        lc.data = {}
    for i, child in enumerate(node.value):
        seq.append(_convert(child))
        cm = child.start_mark
        lc.data[i] = (cm.line, cm.column)  # type: ignore[index]
    return seq


def parse_fast(text: str) -> Any:
    """Values and line info as kb.yamlfile would give; raise _Unsure when not certain."""
    if text.startswith("\ufeff") or ("&" in text and _has_anchor(text)):
        raise _Unsure  # aliases need an anchor: without one, no node is shared
    if "!" in text and _BARE_TAG.search(text):
        raise _Unsure
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError:
        raise _Unsure from None
    finally:
        loader.dispose()
    return None if node is None else _convert(node)


def _has_anchor(text: str) -> bool:
    return any(len(tok) > 1 and tok[0] == "&" for line in text.splitlines() for tok in line.split())


def read_yaml_fast(path: Path, name: str | None = None, data: bytes | None = None) -> Any:
    """Parse one seed file like kb.yamlfile.read_yaml (same values, lines and errors)."""
    name = name or str(path)
    raw = data if data is not None else path.read_bytes()
    text = decode_utf8(raw, name)
    try:
        return parse_fast(text)
    except (_Unsure, RecursionError):
        return read_yaml(path, name)
