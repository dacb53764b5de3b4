"""Decide whether a SPARQL query may run on the public endpoint: read-only, and no network.

Oxigraph (server and pyoxigraph alike) executes `SERVICE <url>` by opening an HTTP connection
to any URL, so every query is screened before it reaches the engine. Three independent
readings of the query must all find no `SERVICE`; any one finding it refuses the query:

1. a SPARQL tokenizer run on the text as Oxigraph reads it (strings, IRIs, comments,
   variables and prefixed names are whole tokens, so `"SERVICE"`, `<urn:SERVICE>`,
   `# SERVICE`, `?service` and `ex:service` are not the keyword);
2. the same tokenizer run after expanding `\\uXXXX` escapes, as the SPARQL grammar allows;
3. rdflib's SPARQL grammar: the parse tree is walked for a ServiceGraphPattern.

Text the tokenizer cannot read is refused rather than guessed at (fail closed). Update
keywords (INSERT, DELETE, LOAD, ...) are refused as well: the endpoint is read-only, and the
engine is only ever called through its query API, which cannot run updates anyway.

Nothing else in a query opens a connection in pyoxigraph: `FROM`/`FROM NAMED` and the
protocol's `default-graph-uri`/`named-graph-uri` only select graphs already in the store
(checked by tests with a loopback listener).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

UPDATE_KEYWORDS = frozenset({"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY",
                             "MOVE", "ADD"})
NETWORK_KEYWORDS = frozenset({"SERVICE"})

_ESC = r"\\[_~.\-!$&'()*+,;=/?#@%]"
_HEX = r"%[0-9A-Fa-f]{2}"
_PN_LOCAL = (rf"(?:[\w:]|{_HEX}|{_ESC})(?:(?:[\w.:\-\u00B7]|{_HEX}|{_ESC})*"
             rf"(?:[\w:\-\u00B7]|{_HEX}|{_ESC}))?")
_PN_PREFIX = r"[^\W\d_](?:[\w.\-\u00B7]*[\w\-\u00B7])?"
_UCHAR = r"\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8}"

# Order matters: the first alternative that matches at a position wins.
_TOKEN = re.compile("|".join([
    r"(?P<ws>\s+)",
    r"(?P<comment>#[^\r\n]*)",
    r"(?P<string>'''(?:'{0,2}(?:[^'\\]|\\.))*'''"
    r'|"""(?:"{0,2}(?:[^"\\]|\\.))*"""'
    r"|'(?:[^'\\\r\n]|\\.)*'"
    r'|"(?:[^"\\\r\n]|\\.)*")',
    rf"(?P<iri><(?:[^<>\"{{}}|^`\\\x00-\x20]|{_UCHAR})*>)",
    r"(?P<var>[?$][\w\u00B7]+)",
    r"(?P<bnode>_:[\w](?:[\w.\-\u00B7]*[\w\-\u00B7])?)",
    rf"(?P<pname>(?:{_PN_PREFIX})?:(?:{_PN_LOCAL})?)",
    r"(?P<lang>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)",
    r"(?P<number>[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)",
    r"(?P<name>[A-Za-z_]\w*)",
    r"(?P<punct>\^\^|&&|\|\||!=|<=|>=|<<|>>|\{\||\|\}|[{}()\[\];,.*+\-/=<>!|^?$~])",
]), re.DOTALL)

_UNICODE_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


class Refused(Exception):
    """The query may not run here. `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    offset: int


def tokens(text: str) -> list[Token]:
    """Split SPARQL text into tokens; raise Refused if some part of it cannot be read."""
    out = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            line = text.count("\n", 0, pos) + 1
            raise Refused(400, f"query refused: cannot read the text at line {line}: "
                               f"{text[pos:pos + 20]!r}")
        kind = m.lastgroup or "punct"
        if kind not in ("ws", "comment"):
            out.append(Token(kind, m.group(), pos))
        pos = m.end()
    return out


def expand_escapes(text: str) -> str:
    """Replace \\uXXXX and \\UXXXXXXXX escapes by their characters."""
    def repl(m: re.Match[str]) -> str:
        code = int(m.group(1) or m.group(2), 16)
        return chr(code) if code <= 0x10FFFF else m.group()
    return _UNICODE_ESCAPE.sub(repl, text)


def keywords(text: str) -> set[str]:
    """The bare words (keywords, function names) of the query, upper-cased."""
    return {t.text.upper() for t in tokens(text) if t.kind == "name"}


def _tree_has_service(node: object) -> bool:
    from pyparsing import ParseResults
    from rdflib.plugins.sparql.parserutils import CompValue

    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, CompValue):
            if n.name == "ServiceGraphPattern":
                return True
            stack.extend(n.values())
        elif isinstance(n, (ParseResults, list, tuple)):
            stack.extend(n)
    return False


def rdflib_finds_service(text: str) -> bool | None:
    """True if rdflib's grammar finds SERVICE; None if rdflib cannot parse the query."""
    from rdflib.plugins.sparql.parser import parseQuery

    try:
        tree = parseQuery(text)
    except Exception:  # noqa: BLE001 - any parse failure: the tokenizers decide alone
        return None
    return _tree_has_service(tree)


def check(text: str, allow_network: bool = False) -> None:
    """Raise Refused unless `text` is a read-only query that opens no network connection.

    With allow_network=True (the operator's explicit choice) SERVICE is let through.
    Verdicts are cached by query text (rdflib's parser takes tens of milliseconds).
    """
    verdict = _verdict(text, allow_network)
    if verdict is not None:
        raise Refused(*verdict)


@lru_cache(maxsize=512)
def _verdict(text: str, allow_network: bool) -> tuple[int, str] | None:
    try:
        _check(text, allow_network)
    except Refused as exc:
        return exc.status, exc.message
    return None


def _check(text: str, allow_network: bool) -> None:
    words: set[str] = set()
    unreadable: list[Refused] = []
    for variant in (expand_escapes(text), text):
        try:
            words |= keywords(variant)
        except Refused as exc:
            unreadable.append(exc)
    update = sorted(words & UPDATE_KEYWORDS)
    if update:
        raise Refused(403, f"updates are refused: this endpoint is read-only "
                           f"(found {', '.join(update)})")
    if not allow_network and (words & NETWORK_KEYWORDS or rdflib_finds_service(text)):
        raise Refused(400, "SERVICE is refused: queries on this endpoint never open network "
                           "connections (the operator can allow it with kb serve "
                           "--allow-service)")
    if unreadable:
        raise unreadable[0]
