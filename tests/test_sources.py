"""`kb sources verify` against a small text of our own: hashes, paragraphs and anchors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli import main
from kb.sources import normalise, paragraphs

HERE = Path(__file__).parent
MINI = HERE / "fixtures" / "mini"
TEXTS = HERE / "fixtures" / "texts"


@pytest.fixture
def work(tmp_path: Path) -> tuple[Path, Path]:
    seeds, texts = tmp_path / "seeds", tmp_path / "texts"
    shutil.copytree(MINI, seeds)
    shutil.copytree(TEXTS, texts)
    return seeds, texts


def verify(seeds: Path, texts: Path):
    return CliRunner().invoke(main, ["sources", "verify", "--texts", str(texts),
                                     "--seeds", str(seeds)])


def test_paragraphs_are_non_empty_lines():
    text = (TEXTS / "src_a.txt").read_text()
    ps = paragraphs(text)
    assert len(ps) == 4
    assert ps[3].startswith("The adviser said")
    assert normalise("Russia\u2019s  fund") == "Russia's fund"


def test_verify_passes_on_the_fixture(work):
    result = verify(*work)
    assert result.exit_code == 0, result.output
    assert "1 sources, 4 citations verified" in result.output


def test_tampered_text_fails_the_hash(work):
    seeds, texts = work
    path = texts / "src_a.txt"
    path.write_text(path.read_text().replace("Harbour Hotel", "Harbor Hotel"))
    result = verify(seeds, texts)
    assert result.exit_code == 1
    assert f"{seeds / 'entities/all.yaml'}:11: [sha256]" in result.output


def test_missing_anchor_phrase_is_reported_with_its_line(work):
    seeds, texts = work
    facts = seeds / "facts" / "facts.yaml"
    facts.write_text(facts.read_text().replace("anchor: did not recall any meeting",
                                               "anchor: denied any meeting"))
    result = verify(seeds, texts)
    assert result.exit_code == 1
    assert f"{facts}:38: [anchor]" in result.output
    assert "'denied any meeting' is not in that paragraph" in result.output


def test_paragraph_out_of_range_is_reported(work):
    seeds, texts = work
    facts = seeds / "facts" / "facts.yaml"
    facts.write_text(facts.read_text().replace("para: 4", "para: 9"))
    result = verify(seeds, texts)
    assert result.exit_code == 1
    assert f"{facts}:38: [para]" in result.output
    assert "has only 4 paragraphs" in result.output


def test_anchor_longer_than_eight_words_is_reported(work):
    seeds, texts = work
    facts = seeds / "facts" / "facts.yaml"
    facts.write_text(facts.read_text().replace(
        "anchor: met the adviser on Wednesday",
        "anchor: met the adviser on Wednesday at the Harbour Hotel, according"))
    result = verify(seeds, texts)
    assert result.exit_code == 1
    assert "at most 8 allowed" in result.output


def test_missing_text_file_is_reported(work):
    seeds, texts = work
    (texts / "src_a.txt").unlink()
    result = verify(seeds, texts)
    assert result.exit_code == 1
    assert "no text" in result.output
