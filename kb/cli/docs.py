"""The `kb docs` command: write docs/ontology.md from the ontology and the shapes."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kb.cli.common import CONTEXT, reports_errors


@click.command(context_settings=CONTEXT)
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 if the file differs from what would be written.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              default=None, show_default="docs/ontology.md of the KB",
              help="The file to write.")
@reports_errors
def docs(check: bool, output: Path) -> None:
    """Generate the ontology reference (docs/ontology.md) from ontology/kb.ttl and shapes/.

    It lists the classes, properties and value sets with their definitions, and every shape's
    constraints with their messages and severities. Rerun it after editing those files.

    \b
    Example:
      kb docs && kb docs --check
    """
    from kb.validate import shape_docs as docs_mod

    output = output or docs_mod.DOC_FILE
    if check:
        if not docs_mod.is_current(output):
            click.echo(f"{output} is out of date: run `kb docs`", err=True)
            sys.exit(1)
        click.echo(f"ok: {output} is up to date")
        return
    changed = docs_mod.write(output)
    click.echo(f"{'wrote' if changed else 'unchanged:'} {output}")
