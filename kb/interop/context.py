"""The published JSON-LD @context (ontology/context.jsonld): read from the repo, never fetched.

The file is maintained by hand. Besides its "@context" it describes itself: its versioned IRI
("id") and its version ("versionInfo", the ontology's owl:versionInfo).
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from kb.core.paths import CONTEXT


@lru_cache(maxsize=4)
def _read(path: Path) -> tuple[bytes, dict[str, Any]]:
    data = path.read_bytes()
    return data, json.loads(data)


def context_bytes(path: Path = CONTEXT) -> bytes:
    """The context file exactly as kept in the repository (copied into dist/ on build)."""
    return _read(path)[0]


def context_document(path: Path = CONTEXT) -> dict[str, Any]:
    """The whole context file: its "@context", "id" and "versionInfo"."""
    return copy.deepcopy(_read(path)[1])


def context(path: Path = CONTEXT) -> dict[str, Any]:
    """The "@context" object, to embed in a JSON-LD document or pass to a parser."""
    return context_document(path)["@context"]


def context_iri(path: Path = CONTEXT) -> str:
    """The versioned IRI the context is published at."""
    return str(_read(path)[1]["id"])
