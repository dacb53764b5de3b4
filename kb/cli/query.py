"""`kb query` and `kb stats`: questions to the validated KB."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from kb.cli.common import CONTEXT, reports_errors, seeds_option

if TYPE_CHECKING:
    from kb.build.current import Current

DEFAULT_TIMEOUT = 60.0  # seconds; kb.serve.child's defaults (a test checks they agree)
DEFAULT_MAX_ROWS = 100_000
# A current dist/kb.ttl up to this size is loaded into the query child's memory (fast for the
# curated seeds); a larger KB is queried in build-cache/'s on-disk store, which opens at once.
IN_MEMORY_MAX_BYTES = 16 * 2**20


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
    It runs on dist/kb.ttl when dist/ is the current build of the seeds, else on the
    seeds validated afresh (build-cache/ makes that quick after the first time).

    \b
    Example:
      kb query sanction-status-on-date --param actor=kirill-dmitriev --param date=2025-04-02
    """
    from kb.build.current import cache_dir, current
    from kb.core.errors import InputError
    from kb.core.paths import DIST, QUERIES
    from kb.query.lean import bind_ox, find_query, screen
    from kb.serve.child import QueryJob, run_query

    q = find_query(query_name, QUERIES)
    raw = {}
    for p in params:
        name, sep, value = p.partition("=")
        if not sep or not name:
            raise InputError(f"--param {p!r}: expected NAME=VALUE")
        raw[name] = value
    quick = in_memory(current(seeds_dir, DIST))
    if quick is not None:
        kb_ttl, base = quick
        bindings: dict = bind_ox(q, raw, base)
    else:  # the child validates the seeds (build-cache/) and queries their store
        from kb.query.run import bind
        kb_ttl, base, bindings = None, "", bind(q, raw)
    screen(q, allow_network=allow_service, remember=cache_dir() / "guard")
    job = QueryJob(seeds_dir, cache_dir(), q, bindings, fmt, timeout, max_rows,
                   allow_network=allow_service, kb_ttl=kb_ttl, base=base)
    click.echo(run_query(job), nl=False)


def in_memory(build: Current | None, limit: int = IN_MEMORY_MAX_BYTES) -> tuple[bytes, str] | None:
    """kb.ttl and the base IRI, if `build` (dist/, current) is one for the child to load."""
    if build is None or build.summary is None or len(build.kb_ttl) > limit:
        return None
    return build.kb_ttl, build.summary.base


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
