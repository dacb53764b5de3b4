"""Where the KB's folders are: found from the working directory, not from the installed package.

A KB's root folder holds the marker file `kb.toml`. `kb` looks for it in the working
directory and then in each parent folder, as git looks for `.git`; `--project DIR` (or the
environment variable KB_PROJECT) names the root directly. So one installed `kb` works on any
checkout, and a regular (non-editable) install builds the KB it is run in.

The folders are module attributes resolved on first use (`paths.SEEDS`); `use_project`
must therefore run before anything reads them (the CLI does it before importing a command).
"""

from __future__ import annotations

import os
from pathlib import Path

from kb.core.errors import InputError, Problem

MARKER = "kb.toml"
FOLDERS = {
    "ROOT": "",
    "SEEDS": "seeds",
    "ONTOLOGY_DIR": "ontology",
    "ONTOLOGY": "ontology/kb.ttl",
    "SEED_SCHEMA": "ontology/seed-schema.yaml",
    "CONTEXT": "ontology/context.jsonld",
    "DATASET": "ontology/dataset.yaml",
    "FTM_MAPPING": "ontology/ftm-mapping.yaml",
    "SHAPES_DIR": "shapes",
    "VIEW_SHAPES": "shapes/views",
    "QUERIES": "queries",
    "CHECKS": "queries/checks",
    "VIEWS": "queries/views",
    "DIST": "dist",
}
_root: Path | None = None


def find_root(start: Path) -> Path:
    """The nearest folder at or above `start` that holds the marker file."""
    here = start.resolve()
    for folder in (here, *here.parents):
        if (folder / MARKER).is_file():
            return folder
    raise InputError(Problem(str(here), None, None,
                             f"not inside a KB: no {MARKER} here or in any parent folder; "
                             "run kb in a KB's folder or pass --project DIR"))


def use_project(path: Path | None) -> Path:
    """Work on the KB at or above `path` (None: KB_PROJECT, else the working directory)."""
    global _root
    start = path or Path(os.environ.get("KB_PROJECT") or Path.cwd())
    _root = find_root(start)
    return _root


def root() -> Path:
    """The KB's root folder, found on first use."""
    return _root if _root is not None else use_project(None)


def __getattr__(name: str) -> Path:
    if name in FOLDERS:
        return root() / FOLDERS[name] if FOLDERS[name] else root()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
