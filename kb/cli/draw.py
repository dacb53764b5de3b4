"""kb draw: the pages' network and timeline pictures as SVG files, for reports."""

from __future__ import annotations

from pathlib import Path

import click

from kb.cli.common import CONTEXT, reports_errors, seeds_option

OUTPUT = click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
                      required=True, help="The SVG file to write (atomically).")


@click.group(context_settings=CONTEXT)
def draw() -> None:
    """Draw the KB as SVG: an entity's network, or actors' timelines (as on the pages).

    \b
    Examples:
      kb draw network --entity kirill-dmitriev --hops 2 -o dmitriev.svg
      kb draw timeline --entity steve-witkoff --entity kirill-dmitriev -o witkoff.svg
    """


def _store_and_iris(seeds_dir: Path, ids: tuple[str, ...]):  # noqa: ANN202
    """The validated KB's store, and the IRIs of ids; click.BadParameter naming an unknown id."""
    import pyoxigraph as ox

    from kb.build import run
    from kb.seeds.schema import load_schema

    built = run.check(seeds_dir, cache=run.cache_dir())
    schema = load_schema()
    iris = []
    for i in ids:
        iri = i if ":" in i else schema.id_iri(i)
        try:
            node = ox.NamedNode(iri)
        except ValueError:
            raise click.BadParameter(f"{i!r} is neither an id nor an IRI",
                                     param_hint="--entity") from None
        if not any(True for _ in built.store.quads_for_pattern(node, None, None,
                                                                ox.DefaultGraph())):
            raise click.BadParameter(f"no entity {i!r} in the KB", param_hint="--entity")
        iris.append(iri)
    return built.store, iris


def _day(value: str | None, name: str) -> str | None:
    import datetime as dt

    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a day, YYYY-MM-DD", param_hint=name) from None


@draw.command(context_settings=CONTEXT)
@seeds_option
@click.option("--entity", required=True, help="The entity at the centre (an id or IRI).")
@click.option("--hops", default=1, show_default=True, type=click.IntRange(0),
              help="How far to go from it (drawn up to 2; more is capped with a note).")
@click.option("--from", "start", help="Only facts that can fall on or after this day.")
@click.option("--to", "end", help="Only facts that can fall on or before this day.")
@OUTPUT
@reports_errors
def network(seeds_dir: Path, entity: str, hops: int, start: str | None, end: str | None,
            output: Path) -> None:
    """An entity's network: contacts, transmissions, posts, relationships and sanctions,
    1-2 hops out, edges as thick as their facts are many, dashed when disputed.

    \b
    Examples:
      kb draw network --entity kirill-dmitriev -o dmitriev.svg
      kb draw network --entity kirill-dmitriev --hops 2 --from 2025-01-01 -o recent.svg
    """
    from kb.core.files import write_atomic
    from kb.interop.pictures import network as build_network
    from kb.interop.pictures import network_svg

    start, end = _day(start, "--from"), _day(end, "--to")
    store, (iri,) = _store_and_iris(seeds_dir, (entity,))
    net = build_network(store, iri, hops, start, end)
    write_atomic(output, network_svg(net))
    note = f" ({net.message})" if net.message else ""
    click.echo(f"wrote {output}: {len(net.nodes)} nodes, {len(net.edges)} edges{note}", err=True)


@draw.command(context_settings=CONTEXT)
@seeds_option
@click.option("--entity", "entities", required=True, multiple=True,
              help="An actor (an id or IRI); repeat for one lane per actor.")
@OUTPUT
@reports_errors
def timeline(seeds_dir: Path, entities: tuple[str, ...], output: Path) -> None:
    """Actors' facts on a time axis at their precision, one lane per actor.

    \b
    Examples:
      kb draw timeline --entity kirill-dmitriev -o dmitriev-timeline.svg
      kb draw timeline --entity kirill-dmitriev --entity steve-witkoff -o two.svg
    """
    from kb.core.files import write_atomic
    from kb.interop.pictures import timeline as build_timeline
    from kb.interop.pictures import timeline_svg

    store, iris = _store_and_iris(seeds_dir, entities)
    lanes = build_timeline(store, iris)
    write_atomic(output, timeline_svg(lanes))
    facts = sum(len(lane["items"]) for lane in lanes)
    click.echo(f"wrote {output}: {len(lanes)} lane(s), {facts} facts", err=True)
