"""`kb sources`: the source documents behind the citations."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kb.cli.common import CONTEXT, reports_errors, seeds_option


@click.group(context_settings=CONTEXT)
def sources() -> None:
    """Work with the source documents.

    \b
    Example:
      kb sources verify --texts ../shared/seeds
    """


@sources.command("verify", context_settings=CONTEXT)
@click.option("--texts", type=click.Path(path_type=Path, file_okay=False, exists=True),
              required=True, help="Folder holding the source texts, named <source id>.txt.")
@seeds_option
@reports_errors
def sources_verify(texts: Path, seeds_dir: Path) -> None:
    """Check every source's SHA-256 and every citation's paragraph and anchor phrase.

    Exit 1 with the file:line of each broken citation.

    \b
    Example:
      kb sources verify --texts ../shared/seeds
    """
    from kb.seeds.check import read_seeds
    from kb.sources.verify import verify

    result = verify(read_seeds(seeds_dir), texts)
    for p in result.problems:
        click.echo(str(p), err=True)
    if not result.ok:
        click.echo(f"kb: {len(result.problems)} problem(s) with citations, sources or "
                   "copied wording", err=True)
        sys.exit(1)
    click.echo(f"ok: {result.sources} sources, {result.citations} citations verified")
