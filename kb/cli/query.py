"""`kb query` and `kb stats`: questions to the validated KB."""

from __future__ import annotations

from pathlib import Path

import click

from kb.cli.common import CONTEXT, reports_errors, seeds_option

DEFAULT_TIMEOUT = 60.0  # seconds; kb.serve.child's defaults (a test checks they agree)
DEFAULT_MAX_ROWS = 100_000


@click.command(context_settings=CONTEXT)
@click.argument("query_name", metavar="QUERY")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="A query parameter, bound as an RDF term (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "tsv", "json"]),
              default="table", show_default=True)
@click.option("--timeout", type=click.FloatRange(min=0.1), default=DEFAULT_TIMEOUT,
              show_default=True, help="Seconds the query may run before it is stopped.")
@click.option("--max-rows", type=click.IntRange(min=1), default=DEFAULT_MAX_ROWS,
              show_default=True, help="Refuse results with more rows than this.")
@click.option("--allow-service", is_flag=True,
              help="Let SERVICE reach the network (refused by default).")
@seeds_option
@reports_errors
def query(query_name: str, params: tuple[str, ...], fmt: str, timeout: float, max_rows: int,
          allow_service: bool, seeds_dir: Path) -> None:
    """Run QUERY (a .rq file, or the name of one in queries/) on the validated KB.

    Parameters are bound as RDF terms, never pasted into the query text. An id
    such as kirill-dmitriev stands for its entity's IRI. The query runs in a child
    process with no network, under a time limit and a row limit; SERVICE is refused.

    \b
    Example:
      kb query sanction-status-on-date --param actor=kirill-dmitriev --param date=2025-04-02
    """
    from kb.build.run import cache_dir
    from kb.core.errors import InputError
    from kb.core.paths import QUERIES
    from kb.query.run import bind, find_query, screen
    from kb.serve.child import QueryJob, run_query

    q = find_query(query_name, QUERIES)
    raw = {}
    for p in params:
        name, sep, value = p.partition("=")
        if not sep or not name:
            raise InputError(f"--param {p!r}: expected NAME=VALUE")
        raw[name] = value
    bindings = bind(q, raw)
    screen(q, allow_network=allow_service)
    job = QueryJob(seeds_dir, cache_dir(), q, bindings, fmt, timeout, max_rows,
                   allow_network=allow_service)
    click.echo(run_query(job), nl=False)


@click.command("stats", context_settings=CONTEXT)
@seeds_option
@reports_errors
def stats_cmd(seeds_dir: Path) -> None:
    """Counts: triples, entities per class, facts per source.

    \b
    Example:
      kb stats
    """
    from kb.build.run import cache_dir, check
    from kb.query.stats import format_stats, stats

    built = check(seeds_dir, cache=cache_dir())
    click.echo(format_stats(stats(built.store, built.loaded.triples)), nl=False)
