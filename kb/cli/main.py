"""The `kb` command group: finds the KB, then hands over to one module per command group.

Command modules are imported only when their command runs (or shows its help), after
`--project` has said which KB to work on; `kb --help` imports none of them.
Exit codes: 0 ok, 1 the KB does not conform, 2 bad input or usage.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import click

from kb.cli.common import CONTEXT, fail
from kb.core import paths
from kb.core.errors import KBError

# name -> (module, attribute, one line of help for `kb --help`)
COMMANDS = {
    "build": ("kb.cli.build", "build", "Check the seeds; write dist/ only if the KB conforms."),
    "validate": ("kb.cli.build", "validate", "Check the seeds and the shapes; write nothing."),
    "export": ("kb.cli.build", "export", "The validated KB in another format or vocabulary."),
    "query": ("kb.cli.query", "query", "Run a named query or a .rq file on the KB."),
    "stats": ("kb.cli.query", "stats_cmd", "Triples, entities per class, facts per source."),
    "sources": ("kb.cli.sources", "sources", "Work with the source documents."),
    "cite": ("kb.cli.sources", "cite", "Find a phrase in a source text; print its citation."),
    "new": ("kb.cli.new", "new", "Print a record skeleton generated from the seed schema."),
    "schema": ("kb.cli.schema", "schema", "The seed format as a JSON Schema, for editors."),
    "serve": ("kb.cli.serve", "serve", "Serve the KB: SPARQL endpoint, query page, pages."),
    "publish": ("kb.cli.publish", "publish", "Replace a graph in a triple store with the KB."),
    "release": ("kb.cli.release", "release", "Freeze the build as releases/VERSION/ + changelog."),
    "diff": ("kb.cli.diff", "diff", "What changed between two releases, files or revisions."),
    "draw": ("kb.cli.draw", "draw", "Draw an entity's network or actors' timelines as SVG."),
    "docs": ("kb.cli.docs", "docs", "Generate docs/ontology.md from the ontology and shapes."),
    "bench": ("kb.cli.bench", "bench", "Time the pipeline against the naive one."),
}


class LazyGroup(click.Group):
    """A group whose commands are imported when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[name]
        try:
            return getattr(importlib.import_module(module), attr)
        except KBError as exc:  # e.g. not inside a KB
            fail(exc)
            return None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, text) for name, (_, _, text) in COMMANDS.items()])


def _use_project(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    """Set the KB while the group's options are parsed: before any command is imported."""
    if value is not None:
        try:
            paths.use_project(value)
        except KBError as exc:
            fail(exc)


@click.group(cls=LazyGroup, context_settings=CONTEXT)
@click.version_option(package_name="kb")
@click.option("--project", type=click.Path(path_type=Path, file_okay=False, exists=True),
              is_eager=True, expose_value=False, callback=_use_project,
              help="The KB to work on (its root holds kb.toml). Default: the working "
                   "directory or the nearest parent folder with a kb.toml.")
def main() -> None:
    """Build, check, export and query the back-channel knowledge base.

    \b
    Example:
      kb build && kb query contacts-of-actor --param actor=kirill-dmitriev

    Exit codes: 0 ok, 1 the KB does not conform to its shapes or checks,
    2 bad input (seed files, queries) or usage.
    """
