"""The README's content figures are the curated seeds' real counts, as `kb stats` gives them."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from kb.cli.main import main
from kb.seeds.check import read_seeds

ROOT = Path(__file__).parent.parent
FIGURES = re.compile(r"(\d+) facts with (\d+) citations")


def test_readme_states_the_seeds_fact_and_citation_counts():
    seeds = read_seeds(ROOT / "seeds")
    facts = [r for r in seeds.records.values() if r.spec.is_fact]
    citations = sum(len(r.citations) for r in facts)
    stated = FIGURES.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    assert stated == [(str(len(facts)), str(citations))], (
        f"README says {stated}; the seeds have {len(facts)} facts with {citations} citations")


def test_kb_stats_gives_the_same_totals():
    seeds = read_seeds(ROOT / "seeds")
    facts = [r for r in seeds.records.values() if r.spec.is_fact]
    result = CliRunner().invoke(main, ["stats"])
    assert result.exit_code == 0, result.output
    totals = result.output.split("totals:\n", 1)[1].splitlines()
    counts = {line.split()[0]: int(line.split()[1]) for line in totals if line.startswith("  ")}
    assert counts == {"facts": len(facts),
                      "citations": sum(len(r.citations) for r in facts)}
