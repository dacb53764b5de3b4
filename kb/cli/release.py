"""`kb release`: freeze the validated build as releases/VERSION/."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import click

from kb.cli.common import CONTEXT, dist_option, reports_errors, seeds_option


def _releases_default() -> Path:
    from kb.core import paths
    from kb.core.errors import KBError
    try:
        return paths.ROOT / "releases"
    except KBError as exc:  # not inside a KB
        from kb.cli.common import fail
        fail(exc)
        raise


def releases_option(f: Callable) -> Callable:
    """--releases DIR: where releases are written and read (kb release, diff, publish)."""
    return click.option("--releases", "releases_dir",
                        type=click.Path(path_type=Path, file_okay=False),
                        default=_releases_default, show_default="releases/ of the KB",
                        help="The folder of releases.")(f)


def _date(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date such as 2026-12-03") from None


@click.command(context_settings=CONTEXT)
@click.argument("version")
@click.option("--issued", metavar="DATE", callback=_date,
              help="The release date (dcterms:issued).  [default: today (UTC), or the day of "
                   "SOURCE_DATE_EPOCH]")
@seeds_option
@dist_option
@releases_option
@reports_errors
def release(version: str, issued: date | None, seeds_dir: Path, dist: Path,
            releases_dir: Path) -> None:
    """Build and validate the KB, then write releases/VERSION/.

    VERSION is a SemVer version above every existing release. The folder gets kb.ttl,
    void.ttl (version, dcterms:issued, prov:wasRevisionOf the previous release),
    CHANGELOG.md (what changed since the previous release) and the patch from it:
    patch.rdfp (RDF Patch) and patch.ru (SPARQL Update). Prints the changelog.

    Exit codes: 0 released, 1 the KB does not conform, 2 bad, existing or non-increasing
    version (nothing written).

    \b
    Example:
      kb release 1.1.0 && kb publish --since 1.0.0 --endpoint http://localhost:7878/store
    """
    from kb.release.make import release as make_release

    done = make_release(version, seeds_dir, dist, releases_dir, issued)
    click.echo((done.folder / "CHANGELOG.md").read_text(encoding="utf-8"), nl=False)
    click.echo(f"released {version} into {done.folder}", err=True)
