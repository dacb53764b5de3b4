"""`kb publish`: the validated KB into a triple store."""

from __future__ import annotations

from pathlib import Path

import click

from kb.cli.common import CONTEXT, dist_option, reports_errors, seeds_option


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
@seeds_option
@dist_option
@reports_errors
def publish(endpoint: str, graph: str | None, auth_env: str | None,
            update_endpoint: str | None, timeout: float, seeds_dir: Path,
            dist: Path) -> None:
    """Build and validate the KB, then replace a named graph in a triple store with it.

    Works with any store that speaks the SPARQL 1.1 Graph Store HTTP Protocol and
    SPARQL Update (Oxigraph, Jena Fuseki, GraphDB, Virtuoso, Neptune). Nothing is sent
    unless the KB conforms. The upload goes to a staging graph first and is then swapped
    in with one MOVE, so the graph is never left empty or half-written: if anything
    fails, it keeps its previous content. Prints the triple count the store holds after.

    Exit codes: 0 published, 1 the KB does not conform, 2 bad input, 3 the store failed
    (the graph was left as it was).

    \b
    Example:
      export KB_STORE_AUTH='curator:secret'
      kb publish --endpoint http://localhost:7878/store \\
        --graph https://kb.example.org/graph/kb --auth-env KB_STORE_AUTH
    """
    from kb.build.run import current_build
    from kb.publish import graph_store as pm
    from kb.seeds.schema import load_schema

    pm.check_url(endpoint, "--endpoint")
    update = (pm.check_url(update_endpoint, "--update-endpoint") if update_endpoint
              else pm.update_endpoint_for(endpoint))
    target = pm.check_iri(graph or f"{load_schema().base}graph/kb", "--graph")
    store = pm.Store(endpoint, update, pm.authorization_from_env(auth_env), timeout)
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
