"""`kb build`, `kb validate`, `kb export`: the KB checked, written, or written in another format."""

from __future__ import annotations

from pathlib import Path

import click

from kb.cli.common import CONTEXT, dist_option, reports_errors, seeds_option

FORMATS = ["turtle", "ntriples", "jsonld", "trig", "ftm", "gexf",
           "graphml"]  # kb.interop.formats.FORMATS (tests/test_interop.py checks)
PROFILES = ["kb", "schema.org"]  # kb.interop.formats.PROFILES (tests/test_interop.py checks)


@click.command(context_settings=CONTEXT)
@seeds_option
@dist_option
@click.option("--quiet", is_flag=True, help="No progress bars, nor stage lines off a terminal.")
@click.option("--no-cache", is_flag=True, help="Build from scratch, without build-cache/.")
@reports_errors
def build(seeds_dir: Path, dist: Path, quiet: bool = False, no_cache: bool = False) -> None:
    """Load the seeds, validate them, and write dist/kb.ttl and dist/ontology.ttl.

    Nothing is written unless the KB conforms; warnings are printed but do not fail.
    When no input changed since dist/ was built (its stamp says so), nothing is redone.

    \b
    Example:
      kb build --dist dist
    """
    if not no_cache and _unchanged(seeds_dir, dist, quiet):
        return
    from kb.build import run

    result = run.build(seeds_dir, dist, quiet=quiet, cache=None if no_cache else run.cache_dir())
    for issue in result.report.warnings:
        click.echo(str(issue), err=True)
    click.echo(f"built {result.loaded.triples} triples from {len(result.loaded.files)} seed "
               "files: " + ", ".join(str(p) for p in result.written))


def _unchanged(seeds_dir: Path, dist: Path, quiet: bool) -> bool:
    """If dist/ is the current build of these inputs, say what its build said; True then.
    Answered before the pipeline is imported (kb.build.current reads only the stamp)."""
    import time

    from kb.build.current import current

    start = time.perf_counter()
    done = current(seeds_dir, dist)
    if done is None or done.summary is None:
        return False
    if not quiet:
        click.echo(f"kb build: reused dist/ (no input changed since its build) in "
                   f"{time.perf_counter() - start:.1f} s", err=True)
    for warning in done.summary.warnings:
        click.echo(warning, err=True)
    written = [dist / name for name in ("kb.ttl", "ontology.ttl", "void.ttl", "context.jsonld")]
    click.echo(f"built {done.summary.triples} triples from {done.summary.seed_files} seed "
               "files: " + ", ".join(str(p) for p in written))
    return True


@click.command(context_settings=CONTEXT)
@seeds_option
@reports_errors
def validate(seeds_dir: Path) -> None:
    """Check the seeds and the shapes without writing anything.

    \b
    Example:
      kb validate
    """
    from kb.build import run

    built = run.check(seeds_dir, cache=run.cache_dir())
    for issue in built.report.warnings:
        click.echo(str(issue), err=True)
    click.echo(f"ok: {built.loaded.triples} triples conform "
               f"({len(built.report.warnings)} warning(s))")


@click.command(context_settings=CONTEXT)
@seeds_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="turtle",
              show_default=True,
              help="RDF format; ftm for FollowTheMoney entities (JSON lines); gexf or graphml "
                   "for the actors' network (Gephi, Cytoscape).")
@click.option("--profile", type=click.Choice(PROFILES), default="kb", show_default=True,
              help="kb: the KB itself; schema.org: the KB mapped to plain schema.org.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="File to write (atomically); standard output if omitted.")
@reports_errors
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
      kb export --format gexf -o dist/kb.gexf
    """
    if fmt in ("ftm", "gexf", "graphml") and profile != "kb":
        raise click.BadParameter(f"the {fmt} format maps the KB itself; leave --profile out",
                                 param_hint="--profile")
    from kb.build import run
    from kb.core.files import write_atomic
    from kb.interop.formats import serialise

    data = serialise(run.check(seeds_dir, cache=run.cache_dir()).loaded, fmt, profile)
    if output:
        write_atomic(output, data)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(data.decode("utf-8"), nl=False)
