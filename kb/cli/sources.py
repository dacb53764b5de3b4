"""`kb sources`: the source documents behind the citations."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kb.cli.common import CONTEXT, reports_errors, seeds_option


@click.group(context_settings=CONTEXT)
def sources() -> None:
    """Work with the source documents.

    \b
    Example:
      kb sources verify --texts ../shared/seeds
    """


@sources.command("verify", context_settings=CONTEXT)
@click.option("--texts", type=click.Path(path_type=Path, file_okay=False, exists=True),
              required=True, help="Folder holding the source texts, named <source id>.txt.")
@seeds_option
@reports_errors
def sources_verify(texts: Path, seeds_dir: Path) -> None:
    """Check every source's SHA-256 and every citation's paragraph and anchor phrase.

    Exit 1 with the file:line of each broken citation.

    \b
    Example:
      kb sources verify --texts ../shared/seeds
    """
    from kb.seeds.check import read_seeds
    from kb.sources.verify import verify

    result = verify(read_seeds(seeds_dir), texts)
    for p in result.problems:
        click.echo(str(p), err=True)
    if not result.ok:
        click.echo(f"kb: {len(result.problems)} problem(s) with citations, sources or "
                   "copied wording", err=True)
        sys.exit(1)
    click.echo(f"ok: {result.sources} sources, {result.citations} citations verified")


TEXTS = click.option("--texts", type=click.Path(path_type=Path, file_okay=False, exists=True),
                     required=True, help="Folder holding the source texts, named <source id>.txt.")


@sources.command("add", context_settings=CONTEXT)
@click.argument("text_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--title", help="The title as reported (default: the text's first paragraph).")
@click.option("--publisher", metavar="ID", help="The publishing organisation's id.")
@click.option("--published", metavar="DATE", required=True,
              help="Publication date, YYYY[-MM[-DD]] (the seed schema requires one).")
@click.option("--basis", metavar="TEXT",
              help="How the date was inferred; without it the date counts as stated.")
@click.option("--into", type=click.Path(path_type=Path, dir_okay=False),
              help="Seed file to add the entry to (default: the file that declares the "
                   "sources, else seeds/entities/sources.yaml).")
@seeds_option
@reports_errors
def sources_add(text_file: Path, title: str | None, publisher: str | None, published: str,
                basis: str | None, into: Path | None, seeds_dir: Path) -> None:
    """Register TEXT_FILE as a source: id from its name, SHA-256, paragraph count.

    The entry is appended to the sources seed file with its comments and layout kept,
    and written only if the seeds still load; a text already registered (same hash)
    or not UTF-8 is refused (exit 2, nothing written).

    \b
    Example:
      kb sources add ~/texts/005_5e1f0c2a9b7d3e41.txt --published 2025-05-01 \\
          --publisher reuters --title "Envoy returns to Washington"
    """
    from kb.sources.register import add_source

    added = add_source(text_file, seeds_dir, title=title, publisher=publisher,
                       published=published, basis=basis, into=into)
    click.echo(f"added source {added.id} to {added.file}: {added.paragraphs} paragraphs, "
               f"sha256 {added.sha256}")


@sources.command("show", context_settings=CONTEXT)
@click.argument("source_id", metavar="ID")
@click.option("--para", type=int, help="Only this paragraph.")
@click.option("--uncovered", is_flag=True, help="Only the paragraphs no citation uses.")
@TEXTS
@seeds_option
@reports_errors
def sources_show(source_id: str, para: int | None, uncovered: bool, texts: Path,
                 seeds_dir: Path) -> None:
    """A source text with paragraph numbers, its cited anchors highlighted, and under each
    paragraph the facts citing it.

    \b
    Example:
      kb sources show 004_89a377b74d81ac61 --uncovered --texts ../shared/seeds
    """
    from rich.console import Console

    from kb.seeds.check import read_seeds
    from kb.seeds.fast_yaml import read_yaml_fast
    from kb.sources.show import render, source_record, uses
    from kb.sources.texts import source_paragraphs

    seeds = read_seeds(seeds_dir, reader=read_yaml_fast)
    source_record(seeds, source_id)
    paras = source_paragraphs(texts, source_id)
    console = Console(highlight=False, soft_wrap=True)
    for line in render(source_id, paras, uses(seeds, source_id), para, uncovered):
        console.print(line)


@sources.command("coverage", context_settings=CONTEXT)
@TEXTS
@seeds_option
@reports_errors
def sources_coverage(texts: Path, seeds_dir: Path) -> None:
    """Per source: paragraphs cited of the total, facts, claims by stance, and the claims
    that rest on anonymous sources.

    \b
    Example:
      kb sources coverage --texts ../shared/seeds
    """
    from kb.seeds.check import read_seeds
    from kb.seeds.fast_yaml import read_yaml_fast
    from kb.seeds.schema import load_schema
    from kb.sources.coverage import coverage, format_coverage

    rows = coverage(read_seeds(seeds_dir, reader=read_yaml_fast), texts)
    click.echo(format_coverage(rows, list(load_schema().stances)), nl=False)


@click.command("cite", context_settings=CONTEXT)
@click.argument("source_id", metavar="ID")
@click.argument("phrase")
@click.option("--para", type=int, help="Look only in this paragraph (when the phrase recurs).")
@TEXTS
@seeds_option
@reports_errors
def cite(source_id: str, phrase: str, para: int | None, texts: Path, seeds_dir: Path) -> None:
    """Find PHRASE in source ID's text and print a ready citation (source, para, anchor).

    Typographic and plain quotes compare equal; case counts. A phrase found in several
    places, or nowhere, exits 2 listing the places or the nearest matches; --para N picks
    one of several.

    \b
    Example:
      kb cite 004_89a377b74d81ac61 "met in the White House on Wednesday" --texts ../shared/seeds
    """
    from kb.seeds.check import read_seeds
    from kb.seeds.fast_yaml import read_yaml_fast
    from kb.sources.cite import citation
    from kb.sources.show import source_record
    from kb.sources.texts import source_paragraphs

    source_record(read_seeds(seeds_dir, reader=read_yaml_fast), source_id)
    click.echo(citation(source_id, phrase, source_paragraphs(texts, source_id), para), nl=False)
