"""`kb schema`: the seed format as a JSON Schema, for editors."""

from __future__ import annotations

from pathlib import Path

import click

from kb.cli.common import CONTEXT, reports_errors


@click.command("schema", context_settings=CONTEXT)
@click.option("--json-schema", "as_json", is_flag=True, required=True,
              help="Write the seed format as a JSON Schema (draft-07).")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="Write to FILE (atomically) instead of standard output.")
@reports_errors
def schema(as_json: bool, output: Path | None) -> None:
    """The seed format as a JSON Schema generated from ontology/seed-schema.yaml, for
    editors with a YAML language server (docs/seed-format.md says how to set one up).

    \b
    Example:
      kb schema --json-schema -o docs/seed-format.schema.json
    """
    from kb.core.files import write_atomic
    from kb.seeds.json_schema import dumps
    from kb.seeds.schema import load_schema

    text = dumps(load_schema())
    if output is None:
        click.echo(text, nl=False)
    else:
        write_atomic(output, text.encode("utf-8"))
        click.echo(f"wrote {output}")
