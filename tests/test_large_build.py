"""What makes `kb build` bearable on large seed sets: a progress line per stage off a terminal,
and the seed set read one file's YAML at a time (kb.build.stages.read_lean) with the same result
and the same errors as kb.seeds.check.read_seeds. (Memory figures: docs/performance.md.)"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.build.stages import read_lean
from kb.cli.main import main
from kb.core.errors import InputError
from kb.core.paths import ROOT, SEEDS
from kb.seeds.check import read_seeds
from kb.seeds.fast_yaml import read_yaml_fast
from kb.seeds.schema import load_schema

MINI = Path(__file__).parent / "fixtures" / "mini"
STAGE = re.compile(r"^kb build: (.+) in \d+\.\d s$")


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    shutil.copytree(MINI, tmp_path / "seeds")
    return tmp_path / "seeds"


def _stages(stderr: str) -> list[str]:
    return [m.group(1) for line in stderr.splitlines() if (m := STAGE.match(line))]


def test_a_line_per_stage_off_a_terminal(seeds: Path, tmp_path: Path):
    args = ["build", "--seeds", str(seeds), "--dist", str(tmp_path / "dist"), "--no-cache"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    stages = _stages(result.stderr)
    assert len(stages) == 4, result.stderr
    assert re.fullmatch(r"read 2 seed files \(\d+ records\)", stages[0])
    assert re.fullmatch(r"mapped \d+ records to \d+ triples", stages[1])
    assert stages[2].startswith("validated ") and stages[3].startswith("assembled kb.ttl")
    assert "built " in result.stdout and "kb build:" not in result.stdout
    quiet = CliRunner().invoke(main, [*args, "--quiet"])
    assert quiet.exit_code == 0 and _stages(quiet.stderr) == [], quiet.stderr


def test_a_cached_rebuild_says_what_it_redid(seeds: Path, tmp_path: Path):
    env = {"KB_BUILD_CACHE": str(tmp_path / "cache")}
    args = ["build", "--seeds", str(seeds), "--dist", str(tmp_path / "dist")]
    first = CliRunner().invoke(main, args, env=env)
    assert first.exit_code == 0, first.output
    facts = seeds / "facts" / "facts.yaml"
    facts.write_text(facts.read_text() + "\n# an edit\n")
    again = CliRunner().invoke(main, args, env=env)
    assert again.exit_code == 0, again.output
    assert _stages(again.stderr)[0] == "read 1 changed of 2 seed files", again.stderr


def test_a_subprocess_log_shows_the_stages(seeds: Path, tmp_path: Path):
    """As in a CI log: stderr is a pipe."""
    proc = subprocess.run([sys.executable, "-m", "kb", "build", "--seeds", str(seeds), "--dist",
                           str(tmp_path / "dist"), "--no-cache"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert [s.split()[0] for s in _stages(proc.stderr)] == ["read", "mapped", "validated",
                                                            "assembled"]


def test_bad_input_prints_the_error_alone(seeds: Path, tmp_path: Path):
    facts = seeds / "facts" / "facts.yaml"
    facts.write_text(facts.read_text() + "  - id: nope\n    type: no-such-type\n")
    result = CliRunner().invoke(main, ["build", "--seeds", str(seeds), "--dist",
                                       str(tmp_path / "dist"), "--no-cache"])
    assert result.exit_code == 2, result.output
    assert _stages(result.stderr) == []
    assert "unknown fact type 'no-such-type'" in result.stderr


@pytest.mark.parametrize("where", [SEEDS, MINI], ids=["curated", "mini"])
def test_read_lean_reads_what_read_seeds_reads(where: Path):
    schema = load_schema()
    lean, ref = read_lean(where, schema), read_seeds(where, schema, reader=read_yaml_fast)
    assert lean.files == ref.files
    assert list(lean.records) == list(ref.records)
    assert lean.records == ref.records  # values and citations (corroborations last) included


def test_read_lean_reports_read_seeds_errors(seeds: Path):
    facts = seeds / "facts" / "facts.yaml"
    facts.write_text(facts.read_text() + "  - id: nope\n    type: no-such-type\n")
    (seeds / "entities" / "all.yaml").write_text(
        (seeds / "entities" / "all.yaml").read_text().replace("type: person", "type: persn", 1))
    schema = load_schema()
    with pytest.raises(InputError) as lean:
        read_lean(seeds, schema)
    with pytest.raises(InputError) as ref:
        read_seeds(seeds, schema, reader=read_yaml_fast)
    assert str(lean.value) == str(ref.value) and "persn" in str(lean.value)
