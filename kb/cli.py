"""The `kb` command: a thin layer over the package's functions.

Exit codes: 0 ok, 1 the KB does not conform, 2 bad input or usage.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from . import build as build_mod
from .errors import InputError, KBError
from .export import FORMATS, PROFILES, serialise, write_atomic
from .load import load
from .paths import DIST, QUERIES, SEEDS
from .query import bind, find_query, screen
from .runquery import DEFAULT_MAX_ROWS, DEFAULT_TIMEOUT, QueryJob, run_query
from .seeds import read_seeds
from .sources import verify
from .stats import format_stats, stats

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _seeds_option(f: Callable) -> Callable:
    return click.option("--seeds", "seeds_dir", type=click.Path(path_type=Path, file_okay=False),
                        default=SEEDS, show_default=True, help="Folder of curated seed files.")(f)


def _reports_errors(f: Callable) -> Callable:
    """Turn KB errors into a message on stderr and the documented exit code."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except KBError as exc:
            kind = "does not conform" if exc.exit_code == 1 else "error"
            click.echo(f"{exc}\nkb: {kind}", err=True)
            sys.exit(exc.exit_code)

    return wrapper


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="kb")
def main() -> None:
    """Build, check, export and query the back-channel knowledge base.

    \b
    Example:
      kb build && kb query contacts-of-actor --param actor=kirill-dmitriev

    Exit codes: 0 ok, 1 the KB does not conform to its shapes or checks,
    2 bad input (seed files, queries) or usage.
    """


@main.command(context_settings=CONTEXT)
@_seeds_option
@click.option("--dist", type=click.Path(path_type=Path, file_okay=False), default=DIST,
              show_default=True, help="Where to write kb.ttl and ontology.ttl.")
@click.option("--quiet", is_flag=True, help="No progress bars, nor stage lines off a terminal.")
@click.option("--no-cache", is_flag=True, help="Build from scratch, without build-cache/.")
@_reports_errors
def build(seeds_dir: Path, dist: Path, quiet: bool = False, no_cache: bool = False) -> None:
    """Load the seeds, validate them, and write dist/kb.ttl and dist/ontology.ttl.

    Nothing is written unless the KB conforms; warnings are printed but do not fail.

    \b
    Example:
      kb build --dist dist
    """
    result = build_mod.build(seeds_dir, dist, fast=True, quiet=quiet,
                             cache=None if no_cache else build_mod.cache_dir())
    for issue in result.report.warnings:
        click.echo(str(issue), err=True)
    click.echo(f"built {build_mod.triple_count(result.loaded)} triples from "
               f"{build_mod.seed_file_count(result.loaded)} seed files: "
               + ", ".join(str(p) for p in result.written))


@main.command(context_settings=CONTEXT)
@_seeds_option
@_reports_errors
def validate(seeds_dir: Path) -> None:
    """Check the seeds and the shapes without writing anything.

    \b
    Example:
      kb validate
    """
    loaded, report = build_mod.check(seeds_dir, fast=True, cache=build_mod.cache_dir())
    for issue in report.warnings:
        click.echo(str(issue), err=True)
    click.echo(f"ok: {build_mod.triple_count(loaded)} triples conform "
               f"({len(report.warnings)} warning(s))")


@main.command(context_settings=CONTEXT)
@_seeds_option
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default="turtle",
              show_default=True,
              help="RDF format, or ftm for FollowTheMoney entities (JSON lines).")
@click.option("--profile", type=click.Choice(list(PROFILES)), default="kb", show_default=True,
              help="kb: the KB itself; schema.org: the KB mapped to plain schema.org.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="File to write (atomically); standard output if omitted.")
@_reports_errors
def export(seeds_dir: Path, fmt: str, profile: str, output: Path | None) -> None:
    """Export the validated KB in another format, or a view of it in another vocabulary.

    TriG puts each source document's facts and claims in a named graph of its own, and the
    dataset description in another. JSON-LD embeds the published context
    (dist/context.jsonld). What the schema.org and ftm mappings leave out: docs/interop.md.

    \b
    Examples:
      kb export --format trig -o dist/kb.trig
      kb export --profile schema.org --format jsonld -o dist/kb.schema-org.jsonld
      kb export --format ftm -o dist/kb.ftm.json
    """
    if fmt == "ftm" and profile != "kb":
        raise click.BadParameter("the ftm format maps the KB itself; leave --profile out",
                                 param_hint="--profile")
    loaded, _ = build_mod.check(seeds_dir, fast=True, cache=build_mod.cache_dir())
    data = serialise(loaded, fmt, profile)
    if output:
        write_atomic(output, data)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(data.decode("utf-8"), nl=False)


@main.command(context_settings=CONTEXT)
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
@_seeds_option
@_reports_errors
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
    q = find_query(query_name, QUERIES)
    raw = {}
    for p in params:
        name, sep, value = p.partition("=")
        if not sep or not name:
            raise InputError(f"--param {p!r}: expected NAME=VALUE")
        raw[name] = value
    bindings = bind(q, raw)
    screen(q, allow_network=allow_service)
    job = QueryJob(seeds_dir, build_mod.cache_dir(), q, bindings, fmt, timeout, max_rows,
                   allow_network=allow_service)
    click.echo(run_query(job), nl=False)


@main.command("stats", context_settings=CONTEXT)
@_seeds_option
@_reports_errors
def stats_cmd(seeds_dir: Path) -> None:
    """Counts: triples, entities per class, facts per source.

    \b
    Example:
      kb stats
    """
    click.echo(format_stats(stats(load(seeds_dir))), nl=False)


@main.group(context_settings=CONTEXT)
def sources() -> None:
    """Work with the source documents.

    \b
    Example:
      kb sources verify --texts ../shared/seeds
    """


@sources.command("verify", context_settings=CONTEXT)
@click.option("--texts", type=click.Path(path_type=Path, file_okay=False, exists=True),
              required=True, help="Folder holding the source texts, named <source id>.txt.")
@_seeds_option
@_reports_errors
def sources_verify(texts: Path, seeds_dir: Path) -> None:
    """Check every source's SHA-256 and every citation's paragraph and anchor phrase.

    Exit 1 with the file:line of each broken citation.

    \b
    Example:
      kb sources verify --texts ../shared/seeds
    """
    result = verify(read_seeds(seeds_dir), texts)
    for p in result.problems:
        click.echo(str(p), err=True)
    if not result.ok:
        click.echo(f"kb: {len(result.problems)} broken citation(s) or source(s)", err=True)
        sys.exit(1)
    click.echo(f"ok: {result.sources} sources, {result.citations} citations verified")

from .cli_serve import publish, serve  # noqa: E402

main.add_command(serve)
main.add_command(publish)

from .cli_docs import docs  # noqa: E402

main.add_command(docs)

from .cli_bench import bench  # noqa: E402

main.add_command(bench)
