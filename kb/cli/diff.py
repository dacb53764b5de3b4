"""`kb diff`: the changelog (or patch) between two versions of the KB."""

from __future__ import annotations

from pathlib import Path

import click

from kb.cli.common import CONTEXT, reports_errors, seeds_option
from kb.cli.release import releases_option


@click.command(context_settings=CONTEXT)
@click.argument("old")
@click.argument("new")
@click.option("--format", "fmt", type=click.Choice(["markdown", "rdf-patch", "sparql"]),
              default="markdown", show_default=True,
              help="The changelog for people, or the patch as RDF Patch or SPARQL Update.")
@click.option("--graph", metavar="IRI", help="The graph the SPARQL Update writes into.  "
              "[default: <base>graph/kb]")
@seeds_option
@releases_option
@reports_errors
def diff(old: str, new: str, fmt: str, graph: str | None, seeds_dir: Path,
         releases_dir: Path) -> None:
    """Print what changed from OLD to NEW: entities and facts added, removed and changed
    field by field, and citations added and removed.

    OLD and NEW are each a release (1.0.0), a kb.ttl file or a folder holding one (dist/),
    or a git revision (HEAD~1), whose seeds are built in a temporary folder.

    Exit codes: 0 ok, 2 bad input (an argument that names nothing, a revision that does not
    build).

    \b
    Example:
      kb diff 1.0.0 dist/kb.ttl
      kb diff HEAD~1 HEAD --format rdf-patch
    """
    from contextlib import ExitStack

    from kb.core import paths
    from kb.interop import rdf_patch
    from kb.publish.graph_store import check_iri
    from kb.release import changelog
    from kb.release.dumps import compare
    from kb.release.inputs import dump_of, input_iri
    from kb.release.make import default_graph

    target = check_iri(graph or default_graph(), "--graph")
    repo = seeds_dir if seeds_dir.is_dir() else paths.ROOT  # the git repository of the seeds
    with ExitStack() as stack:
        removed, added, changes = compare(
            dump_of(old, releases_dir, repo, seeds_dir, stack),
            dump_of(new, releases_dir, repo, seeds_dir, stack))
    if fmt == "markdown":
        click.echo(changelog.markdown(changes, old, new), nl=False)
        return
    patch = rdf_patch.Patch(input_iri(new), input_iri(old), tuple(sorted(removed)),
                            tuple(sorted(added)))
    if fmt == "rdf-patch":
        click.echo(rdf_patch.to_rdf_patch(patch).decode("utf-8"), nl=False)
    else:
        click.echo(rdf_patch.to_sparql_update(patch, target), nl=False)
