"""Counts: triples, entities per class, facts per source."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox

from kb.core.paths import QUERIES
from kb.query.run import read_query, run


def stats(store: ox.Store, triples: int, stats_dir: Path | None = None) -> dict:
    """Triples, plus the rows of each query in queries/stats/ (run on the KB in `store`'s
    default graph) as {label: count}."""
    out: dict = {"triples": triples}
    for p in sorted((stats_dir or QUERIES / "stats").glob("*.rq")):
        q = read_query(p)
        res = run(store, q)
        out[q.name] = {str(r[0]).rsplit("#", 1)[-1].rsplit("/", 1)[-1]: int(r[1])
                       for r in res.rows}
    return out


def format_stats(s: dict) -> str:
    lines = [f"triples: {s['triples']}"]
    for key, table in s.items():
        if key == "triples":
            continue
        lines.append(f"{key}:")
        for name, n in table.items():
            lines.append(f"  {name:<40} {n:>6}")
    return "\n".join(lines) + "\n"
