"""`kb new`: record skeletons generated from the seed schema."""

from __future__ import annotations

import click

from kb.cli.common import CONTEXT, reports_errors


@click.group(context_settings=CONTEXT)
def new() -> None:
    """Print a record skeleton to paste into a seed file.

    \b
    Example:
      kb new fact contact >> seeds/facts/005.yaml
    """


@new.command("entity", context_settings=CONTEXT)
@click.argument("kind")
@reports_errors
def new_entity(kind: str) -> None:
    """A skeleton of an entity of KIND (person, organisation, group, place, document, source):
    every field, commented with its kind and allowed values.

    \b
    Example:
      kb new entity person
    """
    from kb.seeds.schema import load_schema
    from kb.seeds.skeleton import skeleton

    click.echo(skeleton(load_schema(), kind, is_fact=False), nl=False)


@new.command("fact", context_settings=CONTEXT)
@click.argument("fact_type", metavar="TYPE")
@reports_errors
def new_fact(fact_type: str) -> None:
    """A skeleton of a fact of TYPE (contact, post, sanction...): every field, commented with
    its kind and allowed values, and a citation.

    \b
    Example:
      kb new fact contact
    """
    from kb.seeds.schema import load_schema
    from kb.seeds.skeleton import skeleton

    click.echo(skeleton(load_schema(), fact_type, is_fact=True), nl=False)
