"""The `kb serve` and `kb publish` commands."""

from __future__ import annotations

import ipaddress
import signal
from pathlib import Path
from types import FrameType

import click

from kb.cli.common import CONTEXT, dist_option, reports_errors, seeds_option


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _stop_on_sigterm() -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


@click.command(context_settings=CONTEXT)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but a loopback address exposes the KB "
                   "to the network.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0 picks a free one).")
@click.option("--timeout", default=10.0, show_default=True, type=click.FloatRange(0.1),
              help="Seconds a query may run before it is stopped (answer: HTTP 503).")
@click.option("--max-rows", default=10_000, show_default=True, type=click.IntRange(1),
              help="Most result rows (or triples) a query may return (over it: HTTP 413).")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Query worker processes, i.e. queries run at the same time.")
@click.option("--allow-service", is_flag=True,
              help="Let queries use SERVICE, which makes this server connect to any URL a "
                   "query names. Refused (HTTP 400) unless given.")
@click.option("--rebuild", is_flag=True, help="Build even if dist/ holds a current build.")
@click.option("--data", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="Serve this dataset (read-only) instead of the KB: Turtle (.ttl), "
                   "N-Triples (.nt), TriG (.trig) or N-Quads (.nq). Nothing is built.")
@click.option("--max-connections", default=1000, show_default=True,
              type=click.IntRange(1, 100_000),
              help="Open connections (or requests in progress) at most; a request over it "
                   "gets HTTP 503.")
@click.option("--idle-timeout", default=5.0, show_default=True, type=click.FloatRange(0.1),
              help="Seconds a kept-alive connection may wait idle before it is closed.")
@click.option("--request-timeout", default=30.0, show_default=True,
              type=click.FloatRange(0.1),
              help="Seconds a client has to send a whole request (head and body); "
                   "then HTTP 408 and the connection is closed.")
@click.option("--quiet", is_flag=True, help="Do not log each request or failed connection.")
@seeds_option
@dist_option
@reports_errors
def serve(host: str, port: int, timeout: float, max_rows: int, workers: int,
          allow_service: bool, rebuild: bool, data: Path | None, max_connections: int,
          idle_timeout: float, request_timeout: float, quiet: bool, seeds_dir: Path,
          dist: Path) -> None:
    """Serve the validated KB: SPARQL endpoint, query page and entity pages.

    Builds the KB first unless dist/ holds a current build. Then serves, read-only:

    \b
      /          a query page (named queries from queries/, results table)
      /sparql    SPARQL 1.1 Protocol: GET or POST; JSON, XML, CSV, TSV results;
                 Turtle or N-Triples for CONSTRUCT and DESCRIBE
      /id/<id>   an entity, as HTML for browsers or Turtle (Accept: text/turtle)

    Updates are refused (403), SERVICE is refused (400), and every query has a time
    limit and a result cap. Request bodies are capped at 1 MiB (413).

    With --data FILE it serves that dataset instead of the KB (no build).

    \b
    Example:
      kb serve --port 8000
      kb serve --data tests/fixtures/w3c-protocol/data1.nt
      curl -H 'Accept: text/csv' --data-urlencode 'query=SELECT * WHERE { ?s ?p ?o } LIMIT 5' \\
        http://127.0.0.1:8000/sparql
    """
    from kb.build.current import snapshot
    from kb.build.run import current_build
    from kb.rdf.terms import DATA_FORMATS
    from kb.serve.engine import Limits, WorkerError
    from kb.serve.http import ServerSettings, create_app, make_server

    if data is not None:
        if data.suffix.lower() not in DATA_FORMATS:
            raise click.BadParameter(f"{data}: unknown extension {data.suffix!r}; expected "
                                     + ", ".join(DATA_FORMATS), param_hint="--data")
        source = data
    else:
        result = current_build(seeds_dir, dist, rebuild)
        if result is None:
            click.echo(f"reusing the current build {dist / 'kb.ttl'}", err=True)
        else:
            for issue in result.report.warnings:
                click.echo(str(issue), err=True)
            click.echo(f"built {result.loaded.triples} triples: {dist / 'kb.ttl'}", err=True)
        source = snapshot(dist, hold=True) / "kb.ttl"  # one build, kept while serving
    limits = Limits(timeout=timeout, max_rows=max_rows, allow_network=allow_service)
    try:
        app = create_app(source, limits, workers)
    except WorkerError as exc:
        if data is not None:
            raise click.BadParameter(f"cannot load {data}: {exc}", param_hint="--data") from None
        raise click.ClickException(str(exc)) from None
    settings = ServerSettings(max_connections=max_connections, idle_timeout=idle_timeout,
                              request_timeout=request_timeout)
    try:
        server = make_server(app, host, port, quiet, settings)
    except BaseException:
        app.close()
        raise
    _stop_on_sigterm()
    if not _is_loopback(host):
        click.echo(f"warning: listening on {host}, not a loopback address: anyone who can "
                   "reach this machine can query the KB", err=True)
    if allow_service:
        click.echo("warning: --allow-service: queries can make this server connect to any "
                   "URL", err=True)
    what = f"{data}" if data is not None else "the KB"
    click.echo(f"serving {what} at {server.url} (SPARQL endpoint: {server.url}sparql); "
               "Ctrl-C stops", err=False)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        app.close()
        click.echo("stopped", err=True)
