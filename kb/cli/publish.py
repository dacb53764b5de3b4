"""`kb publish`: the validated KB into a triple store."""

from __future__ import annotations

from pathlib import Path

import click

from kb.cli.common import CONTEXT, dist_option, reports_errors, seeds_option
from kb.cli.release import releases_option


@click.command(context_settings=CONTEXT)
@click.option("--endpoint", required=True, metavar="URL",
              help="The store's Graph Store Protocol endpoint, e.g. "
                   "http://localhost:7878/store (Oxigraph) or http://host:3030/ds/data "
                   "(Fuseki).")
@click.option("--graph", metavar="IRI", default=None,
              help="The named graph to replace.  [default: <base>graph/kb]")
@click.option("--auth-env", metavar="VAR",
              help="Environment variable holding the credentials: user:password (Basic) "
                   "or '<scheme> <credentials>', e.g. 'Bearer abc'.")
@click.option("--update-endpoint", metavar="URL",
              help="The store's SPARQL Update endpoint; guessed for Oxigraph, Fuseki, "
                   "GraphDB, Virtuoso and Neptune.")
@click.option("--timeout", default=60.0, show_default=True, type=click.FloatRange(0.1),
              help="Seconds to wait for each request to the store.")
@click.option("--since", metavar="VERSION",
              help="Publish the latest release as a delta: the store's graph is at release "
                   "VERSION; apply the patches from it in one update. A store not at VERSION "
                   "gets the full latest release instead.")
@seeds_option
@dist_option
@releases_option
@reports_errors
def publish(endpoint: str, graph: str | None, auth_env: str | None,
            update_endpoint: str | None, timeout: float, since: str | None, seeds_dir: Path,
            dist: Path, releases_dir: Path) -> None:
    """Build and validate the KB, then replace a named graph in a triple store with it.

    Works with any store that speaks the SPARQL 1.1 Graph Store HTTP Protocol and
    SPARQL Update (Oxigraph, Jena Fuseki, GraphDB, Virtuoso, Neptune). Nothing is sent
    unless the KB conforms. The upload goes to a staging graph first and is then swapped
    in with one MOVE, so the graph is never left empty or half-written: if anything
    fails, it keeps its previous content. Prints the triple count the store holds after.

    With --since VERSION, the latest release in releases/ is published instead of the build:
    if the store's graph is at VERSION (the release's VoID in <graph>/description says so,
    and the triple count matches), the patches from VERSION are applied in one SPARQL
    Update (one transaction), then the triple count and a sample of triples are checked;
    otherwise the graph is replaced with the full release (said on stderr).

    Exit codes: 0 published, 1 the KB does not conform, 2 bad input (an unknown release),
    3 the store failed (the graph was left as it was).

    \b
    Example:
      export KB_STORE_AUTH='curator:secret'
      kb publish --endpoint http://localhost:7878/store \\
        --graph https://kb.example.org/graph/kb --auth-env KB_STORE_AUTH
      kb publish --since 1.0.0 --endpoint http://localhost:7878/store
    """
    from kb.build.run import current_build
    from kb.publish import graph_store as pm
    from kb.seeds.schema import load_schema

    pm.check_url(endpoint, "--endpoint")
    update = (pm.check_url(update_endpoint, "--update-endpoint") if update_endpoint
              else pm.update_endpoint_for(endpoint))
    target = pm.check_iri(graph or f"{load_schema().base}graph/kb", "--graph")
    store = pm.Store(endpoint, update, pm.authorization_from_env(auth_env), timeout)
    if since is not None:
        _publish_since(since, releases_dir, store, target)
        return
    result = current_build(seeds_dir, dist)
    if result is None:
        click.echo(f"reusing the current build {dist / 'kb.ttl'}", err=True)
    else:
        for issue in result.report.warnings:
            click.echo(str(issue), err=True)
    data = (dist / "kb.ttl").read_bytes()
    done = pm.publish(data, pm.count(data), store, target)
    click.echo(f"published {done.sent} triples to <{done.graph}> at {endpoint}; "
               f"the store now holds {done.held} triples in that graph")


def _publish_since(since: str, releases_dir: Path, store: object, target: str) -> None:
    """The latest release into `target`: as a patch if the store is at `since`, else whole."""
    from kb.interop.void import dataset_iri
    from kb.publish import graph_store as pm
    from kb.release.delta import plan
    from kb.release.make import dump_of

    assert isinstance(store, pm.Store)
    delta = plan(releases_dir, since)
    at = pm.store_version(store, target, str(dataset_iri()))
    try:
        held = pm.count_triples(store, target)
    except pm.FAILURES as exc:
        raise pm.PublishError(f"reading <{target}> failed: {exc}") from None
    if at == str(delta.since) and held == delta.since_triples:
        if delta.patch is None:
            click.echo(f"<{target}> is at {delta.latest}, the latest release already")
            return
        done = pm.apply_patch(delta.patch, store, target, delta.description, delta.triples)
        click.echo(f"applied the patch from {since} to {delta.latest} "
                   f"({len(delta.patch.deletes)} triples deleted, {len(delta.patch.adds)} "
                   f"added) to <{target}>; the store now holds {done.held} triples in it")
        return
    state = f"at {at}" if at else "at no known release"
    click.echo(f"the store's graph <{target}> is not at {since} ({state}, {held} triples); "
               f"replacing it with the full release {delta.latest}", err=True)
    data = dump_of(delta.latest_folder).read_bytes()  # a clear error if it is missing
    done = pm.publish(data, pm.count(data), store, target, delta.description)
    click.echo(f"published release {delta.latest} ({done.sent} triples) to <{target}>; "
               f"the store now holds {done.held} triples in that graph")
