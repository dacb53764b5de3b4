"""What every command shares: help settings, the --seeds and --dist options, and turning KB
errors into a message and the documented exit code (0 ok, 1 does not conform, 2 bad input)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from kb.core.errors import KBError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _folder(name: str) -> Callable[[], Path]:
    def default() -> Path:
        from kb.core import paths
        try:
            return getattr(paths, name)
        except KBError as exc:  # not inside a KB
            fail(exc)
            raise
    return default


def seeds_option(f: Callable) -> Callable:
    return click.option("--seeds", "seeds_dir", type=click.Path(path_type=Path, file_okay=False),
                        default=_folder("SEEDS"), show_default="seeds/ of the KB",
                        help="Folder of curated seed files.")(f)


def dist_option(f: Callable) -> Callable:
    return click.option("--dist", type=click.Path(path_type=Path, file_okay=False),
                        default=_folder("DIST"), show_default="dist/ of the KB",
                        help="Where the build (kb.ttl) is written or reused from.")(f)


def reports_errors(f: Callable) -> Callable:
    """Turn KB errors into a message on stderr and the documented exit code."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except KBError as exc:
            fail(exc)

    return wrapper


def fail(exc: KBError) -> None:
    kind = "does not conform" if exc.exit_code == 1 else "error"
    click.echo(f"{exc}\nkb: {kind}", err=True)
    sys.exit(exc.exit_code)
