"""Decide whether a SPARQL query may run: read-only, no network, and readable. Fails closed.

Oxigraph opens an HTTP connection to any URL named in `SERVICE`, and it reads keywords
case-insensitively with no word boundary: `SERVICESILENT<url>`, `servicesilent<url>` and
`SERVICEr:x` (SERVICE glued to a prefixed name) are all SERVICE to it. So a query runs only
if every reading below finds no SERVICE, and anything a reading cannot read is refused:

1. Nesting is counted first (brackets, braces, parentheses): deeper than MAX_DEPTH is
   refused before any parser recurses into it (Oxigraph's parser overflows its stack).
2. A SPARQL tokenizer reads the text twice, as written and with `\\uXXXX` escapes expanded
   (the SPARQL grammar expands them everywhere; pyoxigraph 0.5 only inside strings and IRIs:
   both readings are taken). Strings, IRIs, comments and variables are whole tokens, so
   `"SERVICE"`, `<urn:service>`, `# SERVICE` and `?service` are data. Every other word —
   keyword, function name, prefixed name, blank node label — that *contains* the letters
   SERVICE in any case is refused, glued or not.
3. rdflib's SPARQL grammar must parse the query, and its parse tree must hold no
   ServiceGraphPattern. Its parser, like Oxigraph's, decides from the grammar whether a `<`
   opens an IRI or compares two values, which a tokenizer alone cannot: this closes tricks
   that make a tokenizer read a keyword as the inside of an IRI. A query rdflib cannot
   parse is refused (400), with rdflib's message. (Skipped when SERVICE is allowed.)
   `kb query` passes a folder (`remember`, in build-cache/) where a reading that passed is
   noted by a SHA-256 of its exact text, this module's source and the parser's (rdflib's
   SPARQL grammar, pyparsing): a query file run again skips importing rdflib. Steps 1 and 2
   run every time, so a forged note can at most skip the third reading, never the others.

Update keywords (INSERT, DELETE, LOAD, ...) are refused as well: queries here are read-only,
and the engine is only ever called through its query API. Behind this guard stands a second
wall (kb.sandbox): the processes that run queries cannot open an inet socket at all.
"""

from __future__ import annotations

import hashlib
import re
import sys
import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

UPDATE_KEYWORDS = frozenset({"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY",
                             "MOVE", "ADD", "WITH", "USING"})
NETWORK_WORD = "SERVICE"
MAX_DEPTH = 48
MAX_LENGTH = 1_000_000
PARSER_RECURSION = 4000
_PARSER_LOCK = threading.Lock()  # rdflib's pyparsing grammar is not thread-safe

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
    r"(?P<name>[^\W\d]\w*)",
    r"(?P<punct>\^\^|&&|\|\||!=|<=|>=|<<|>>|\{\||\|\}|[{}()\[\];,.*+\-/=<>!|^?$~])",
]), re.DOTALL)
_WORDS = ("name", "pname", "bnode")
_OPEN, _CLOSE = "{([", "})]"


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
    """Expand \\uXXXX and \\UXXXXXXXX as the SPARQL grammar's first step does, in one pass.

    Like Oxigraph's own expansion: a backslash followed by anything else is kept with that
    character, which is not looked at again (so `\\\\u0041` stays as it is).
    """
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c != "\\" or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        nxt = text[i + 1]
        width = 4 if nxt == "u" else 8 if nxt == "U" else 0
        digits = text[i + 2:i + 2 + width]
        if width and len(digits) == width and all(d in "0123456789abcdefABCDEF"
                                                   for d in digits):
            code = int(digits, 16)
            if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
                out.append(chr(code))
                i += 2 + width
                continue
        out.append(c + nxt)
        i += 2
    return "".join(out)


def depth(toks: list[Token]) -> int:
    """The deepest nesting of braces, brackets and parentheses."""
    level = deepest = 0
    for t in toks:
        if t.kind == "punct" and t.text in _OPEN:
            level += 1
            deepest = max(deepest, level)
        elif t.kind == "punct" and t.text in _CLOSE:
            level -= 1
    return deepest


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


def rdflib_finds_service(text: str) -> bool:
    """Parse with rdflib's SPARQL grammar; True if it holds SERVICE. Refused if unparseable."""
    from rdflib.plugins.sparql.parser import parseQuery

    with _PARSER_LOCK:
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, PARSER_RECURSION))  # ~80 frames a nested parenthesis
        try:
            tree = parseQuery(text)
        except RecursionError:
            raise Refused(400, "query refused: nested too deeply to read") from None
        except Exception as exc:  # noqa: BLE001 - whatever the parser cannot read is refused
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise Refused(400, f"SPARQL syntax error (or syntax this endpoint does not "
                               f"accept): {first}") from None
        finally:
            sys.setrecursionlimit(limit)
    return _tree_has_service(tree)


def check(text: str, allow_network: bool = False, remember: Path | None = None) -> None:
    """Raise Refused unless `text` is a readable read-only query that opens no connection.

    With allow_network=True (the operator's explicit choice) SERVICE is let through; the
    other checks still apply. Verdicts are cached by query text; with `remember`, readings
    rdflib's grammar passed are also noted there, for later processes (step 3 above).
    """
    verdict = _verdict(text, allow_network, remember)
    if verdict is not None:
        raise Refused(*verdict)


@lru_cache(maxsize=512)
def _verdict(text: str, allow_network: bool, remember: Path | None) -> tuple[int, str] | None:
    try:
        _check(text, allow_network, remember)
    except Refused as exc:
        return exc.status, exc.message
    return None


@lru_cache(maxsize=1)
def _parser_identity() -> bytes:
    """A digest of this module and of the code that parses (rdflib's grammar, pyparsing)."""
    h = hashlib.sha256(Path(__file__).read_bytes())
    for package, part in (("rdflib", "plugins/sparql/parser.py"), ("pyparsing", "__init__.py")):
        spec = find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise Refused(500, f"query refused: {package} is not installed")
        h.update(b"\0" + (Path(spec.submodule_search_locations[0]) / part).read_bytes())
    return h.digest()


def _note(remember: Path, reading: str) -> Path:
    key = hashlib.sha256(_parser_identity() + reading.encode("utf-8", "surrogatepass"))
    return remember / f"{key.hexdigest()}.passed"


def _rdflib_passes(reading: str, remember: Path | None) -> bool:
    """Step 3 for one reading: True if rdflib parses it and finds no SERVICE (noted)."""
    if remember is not None and _note(remember, reading).is_file():
        return True
    if rdflib_finds_service(reading):
        return False
    if remember is not None:
        try:
            remember.mkdir(parents=True, exist_ok=True)
            _note(remember, reading).touch()
        except OSError:  # an unwritable cache only costs the next run the parse
            pass
    return True


_SERVICE_REFUSED = ("SERVICE is refused: queries here never open network connections "
                    "(allowed only when asked for explicitly, with --allow-service)")


def _check(text: str, allow_network: bool, remember: Path | None = None) -> None:
    if len(text) > MAX_LENGTH:
        raise Refused(413, f"query refused: longer than {MAX_LENGTH} characters")
    readings = [text]
    expanded = expand_escapes(text)
    if expanded != text:
        readings.append(expanded)
    read: list[list[Token]] = []
    unreadable: list[Refused] = []
    for variant in readings:
        try:
            read.append(tokens(variant))
        except Refused as exc:
            unreadable.append(exc)
    words = [t for toks in read for t in toks if t.kind in _WORDS]
    update = sorted({t.text.upper() for t in words if t.kind == "name"} & UPDATE_KEYWORDS)
    if update:
        raise Refused(403, f"updates are refused: queries here are read-only "
                           f"(found {', '.join(update)})")
    glued = [t.text for t in words if NETWORK_WORD in t.text.upper()]
    if glued and not allow_network:
        extra = ("" if glued[0].upper() == NETWORK_WORD else
                 f" (found in {glued[0]!r}; write such an IRI in full, <...>)")
        raise Refused(400, _SERVICE_REFUSED + extra)
    if unreadable:  # no reading may be skipped: what cannot be read is refused
        raise unreadable[0]
    deepest = max(depth(toks) for toks in read)
    if deepest > MAX_DEPTH:
        raise Refused(400, f"query refused: nested {deepest} levels deep (at most {MAX_DEPTH})")
    if allow_network:
        return
    for variant in readings:
        if not _rdflib_passes(variant, remember):
            raise Refused(400, _SERVICE_REFUSED)
