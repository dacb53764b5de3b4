"""`kb bench`: how the build and the queries scale (kb.bench)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .bench import run_bench, table

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.command(context_settings=CONTEXT)
@click.option("--facts", "sizes", type=click.IntRange(1), multiple=True,
              help="Synthetic facts to generate (repeatable). [default: 1000 10000 100000]")
@click.option("--json", "json_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write the results as JSON to this file.")
@click.option("--curated", is_flag=True, help="Bench the curated seeds too (seeds/).")
@click.option("--no-baseline", is_flag=True,
              help="Skip the naive pipeline (no ratios are reported then).")
@click.option("--baseline-timeout", type=float, default=600, show_default=True,
              help="Seconds each naive stage may take; slower stages give lower-bound ratios.")
@click.option("--reps", type=click.IntRange(1), default=20, show_default=True,
              help="Runs of each competency query (the naive engine gets a fifth as many).")
@click.option("--workdir", type=click.Path(path_type=Path, file_okay=False),
              help="Keep the generated seeds and outputs here (default: a temporary folder).")
@click.option("--quiet", is_flag=True, help="Only the table.")
def bench(sizes: tuple[int, ...], json_file: Path | None, curated: bool, no_baseline: bool,
          baseline_timeout: float, reps: int, workdir: Path | None, quiet: bool) -> None:
    """Benchmark the pipeline, stage by stage, against the naive rdflib/pySHACL one.

    Generates synthetic curated facts in the seed format (with a known number of violations
    of each rule), then times load, validate, export and each competency query, and a
    rebuild after editing one fact. Exit 1 if the validator's findings differ from the
    injected violations (or a rebuild differs from a clean build).

    \b
    Examples:
      kb bench --facts 1000 --facts 10000 --json bench.json
      kb bench --curated --facts 1000 --no-baseline
    """
    say = (lambda m: None) if quiet else (lambda m: click.echo(m, err=True))
    results = run_bench(list(sizes) if sizes else ([] if curated else [1000, 10000, 100000]),
                        baseline=not no_baseline, timeout=baseline_timeout, reps=reps,
                        curated=curated, workdir=workdir, say=say)
    click.echo(table(results))
    if json_file:
        slim = [{k: v for k, v in r.items()} for r in results]
        for r in slim:
            r["fast"] = {k: v for k, v in r["fast"].items() if k != "issues"}
        json_file.write_text(json.dumps(slim, indent=1, default=str) + "\n")
    if not all(r["ok"] for r in results):
        click.echo("kb bench: the validator's findings differ from what was injected "
                   "(or a rebuild differs from a clean build)", err=True)
        sys.exit(1)
