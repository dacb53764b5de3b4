"""Counts: triples, entities per class, facts per source."""

from __future__ import annotations

from pathlib import Path

from .load import Loaded
from .paths import QUERIES
from .query import read_query, run
from .store import to_store

STATS_DIR = QUERIES / "stats"


def stats(loaded: Loaded, stats_dir: Path = STATS_DIR) -> dict:
    """Triples, plus the rows of each query in queries/stats/ as {label: count}."""
    store = to_store(loaded.graph)
    out: dict = {"triples": len(loaded.graph)}
    for p in sorted(stats_dir.glob("*.rq")):
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
