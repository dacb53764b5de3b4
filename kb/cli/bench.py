"""`kb bench`: how the build and the queries scale (kb.bench)."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

import click

from kb.bench.run import NAIVE_STAGES, QUERY_LIMIT, run_bench
from kb.cli.common import CONTEXT


def _fmt(r: dict[str, Any] | None) -> str:
    if not r:
        return "-"
    return (">=" if r.get("lower_bound") else "") + f"{r['ratio']}x"


def table(results: list[dict[str, Any]]) -> str:
    """The results as a Markdown table (one row per size and stage)."""
    lines = ["| set | facts | triples | stage | fast | naive | naive/fast |",
             "|---|---:|---:|---|---:|---:|---:|"]
    for res in results:
        f, n, r = res["fast"], res["naive"], res["ratios"]
        head = f"| {res['name']} | {res['facts'] or '-'} | {res['triples']} |"
        for stage in ("load", "validate", "export"):
            ns = n.get(stage, {})
            naive_s = "-" if not ns else (f">{ns['seconds']:.1f} s" if ns.get("timeout")
                                          else f"{ns['seconds']:.2f} s")
            lines.append(f"{head} {stage} | {f['stages'][stage]:.2f} s | {naive_s} | "
                         f"{_fmt(r.get(stage))} |")
        nb = "-" if "build" not in r else \
            f"{sum(n[s]['seconds'] for s in n if s != 'queries'):.1f} s"
        lines.append(f"{head} build (load+validate+export) | {f['build']:.2f} s | {nb} | "
                     f"{_fmt(r.get('build'))} |")
        qs = [x for x in f["queries"].values() if x.get("runs")]
        q = r.get("queries_p50")
        nq = n.get("queries", {}).get("queries", {})
        naive_q = [x["p50_ms"] for x in nq.values() if x.get("runs")]
        over = q["cut_off"] if q else []
        slow = [k for k, x in f["queries"].items() if not x.get("runs")]
        lines.append(f"{head} queries p50 (median of {len(qs)}"
                     + (f"; over {QUERY_LIMIT} s: {', '.join(slow)}" if slow else "") + ") | "
                     f"{statistics.median(x['p50_ms'] for x in qs):.1f} ms | "
                     + (f"{statistics.median(naive_q):.1f} ms ({len(naive_q)} ran"
                        + (f"; {len(over)} over {QUERY_LIMIT} s" if over else "") + ")"
                        if naive_q else "-") + " | "
                     + (f"{'>=' if q['lower_bound'] else ''}{q['median']}x "
                        f"(min {q['min']}x)" if q else "-") + " |")
        if "rebuild" in f:
            lines.append(f"{head} rebuild after 1 edit | {f['rebuild']:.2f} s | - | "
                         f"{r['rebuild_vs_build'] * 100:.1f}% of build"
                         + {True: "; = clean build", False: "; DIFFERS from a clean build",
                            None: ""}[f.get("rebuild_equals_clean_build")] + " |")
        if "build_peak_rss_mb" in f:
            lines.append(f"{head} peak RSS, cold build | {f['build_peak_rss_mb']:.0f} MB | - | |")
        if f.get("queries_peak_rss_mb"):
            lines.append(f"{head} peak RSS, queries (KB in memory, as kb serve) | "
                         f"{f['queries_peak_rss_mb']:.0f} MB | - | |")
        lines.append(f"{head} peak RSS (build, queries, rebuild; naive: any stage) | "
                     f"{f['peak_rss_mb']:.0f} MB | "
                     f"{max((x.get('peak_rss_mb', 0) for x in n.values()), default=0):.0f} MB | |")
        for key, what in (("help", "`kb --help`"), ("query", "`kb query contacts-of-actor`"),
                          ("unchanged_build", "unchanged `kb build`")):
            if key in res.get("cli", {}):
                c = res["cli"][key]
                lines.append(f"{head} {what}, wall (median of {res['cli']['reps']}) | "
                             f"{c['median_s']:.2f} s (CPU {c['cpu_median_s']:.2f} s) | - | |")
        check = f["check"]
        lines.append(f"{head} validator check | "
                     + ("ok" if check["ok"] else "FAILED") + f" ({check['issues']} issues) | "
                     + ("-" if "check" not in n.get("validate", {}) else
                        ("ok" if n["validate"]["check"]["ok"] else "differs")) + " | |")
    return "\n".join(lines)


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
@click.option("--baseline-stage", "baseline_stages", type=click.Choice(NAIVE_STAGES),
              multiple=True, help="Run only these naive stages (repeatable) [default: all]; "
                                  "the build ratio needs load, validate and export.")
@click.option("--quiet", is_flag=True, help="Only the table.")
def bench(sizes: tuple[int, ...], json_file: Path | None, curated: bool, no_baseline: bool,
          baseline_timeout: float, reps: int, workdir: Path | None,
          baseline_stages: tuple[str, ...], quiet: bool) -> None:
    """Benchmark the pipeline, stage by stage, against the naive rdflib/pySHACL one.

    Generates synthetic curated facts in the seed format (with a known number of violations
    of each rule), then times load, validate, export and each competency query, and a
    rebuild after editing one fact. Exit 1 if the validator's findings differ from the
    injected violations (or a rebuild differs from a clean build).

    \b
    Examples:
      kb bench --facts 1000 --facts 10000 --json bench.json
      kb bench --curated --facts 1000 --no-baseline
      kb bench --facts 100000 --baseline-stage queries
    """
    say = (lambda m: None) if quiet else (lambda m: click.echo(m, err=True))
    results = run_bench(list(sizes) if sizes else ([] if curated else [1000, 10000, 100000]),
                        baseline=not no_baseline, timeout=baseline_timeout, reps=reps,
                        curated=curated, workdir=workdir, say=say,
                        stages=baseline_stages or NAIVE_STAGES)
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
