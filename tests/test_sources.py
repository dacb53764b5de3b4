"""`kb sources verify` against a small text of our own: hashes, paragraphs and anchors."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli.main import main
from kb.sources.verify import (
    copied_runs,
    normalise,
    normalise_mapped,
    occurrences,
    paragraphs,
    shingles,
)

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
    assert ("'denied any meeting' is not in that paragraph, nor anywhere else in the text"
            in result.output)


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


def _rewrite_text(seeds: Path, texts: Path, old: str, new: str) -> str:
    """Edit the source text and record its new SHA-256, as a curator would; the new text."""
    path = texts / "src_a.txt"
    before = path.read_bytes()
    text = path.read_text().replace(old, new)
    path.write_text(text)
    entities = seeds / "entities" / "all.yaml"
    entities.write_text(entities.read_text().replace(
        hashlib.sha256(before).hexdigest(), hashlib.sha256(text.encode()).hexdigest()))
    return text


def test_anchor_occurring_twice_in_its_paragraph_is_reported_with_both_places(work):
    seeds, texts = work
    text = _rewrite_text(seeds, texts, "according to two officials.",
                         "according to two officials who  saw them on Wednesday.")
    para = paragraphs(text)[1]
    first = para.find("on Wednesday")
    second = para.find("on Wednesday", first + 1)
    assert first > 0 and second > first
    facts = seeds / "facts" / "facts.yaml"
    facts.write_text(facts.read_text().replace("anchor: met the adviser on Wednesday",
                                               "anchor: on Wednesday"))
    result = verify(seeds, texts)
    assert result.exit_code == 1, result.output
    assert f"{facts}:34: [anchor]" in result.output
    assert "anchor 'on Wednesday' occurs 2 times in that paragraph" in result.output
    assert f"offset {first} (...met the adviser [on Wednesday] at the Harbour...)" in result.output
    assert f"offset {second} (...who saw them [on Wednesday].)" in result.output
    assert "an anchor must locate one place" in result.output
    facts.write_text(facts.read_text().replace("anchor: on Wednesday",
                                               "anchor: adviser on Wednesday"))
    result = verify(seeds, texts)
    assert result.exit_code == 0, result.output


def test_anchor_in_another_paragraph_says_which(work):
    seeds, texts = work
    facts = seeds / "facts" / "facts.yaml"
    facts.write_text(facts.read_text().replace("anchor: met the adviser on Wednesday",
                                               "anchor: did not recall any meeting"))
    result = verify(seeds, texts)
    assert result.exit_code == 1, result.output
    assert (f"{facts}:34: [anchor] citation of envoy-meets-adviser to src_a para 2: anchor "
            "'did not recall any meeting' is not in that paragraph; found in paragraph 4"
            ) in result.output


def test_anchor_spanning_two_paragraphs_says_which(work):
    seeds, texts = work
    facts = seeds / "facts" / "facts.yaml"
    facts.write_text(facts.read_text().replace("anchor: met the adviser on Wednesday",
                                               "anchor: two officials. The fund is"))
    result = verify(seeds, texts)
    assert result.exit_code == 1, result.output
    assert (f"{facts}:34: [anchor] citation of envoy-meets-adviser to src_a para 2: anchor "
            "'two officials. The fund is' is not in that paragraph; spans paragraphs 2-3"
            ) in result.output


def test_offsets_count_characters_of_the_paragraph_as_written():
    """Typographic quotes and runs of blanks are folded for matching, not for offsets."""
    text = "He said \u201cno\u201d,   twice:  \u201cno\u201d."
    folded, where = normalise_mapped(text)
    assert folded == normalise(text) == 'He said "no", twice: "no".'
    assert [where[i] for i in occurrences('"no"', folded)] == [8, 24]
    assert text[24] == "\u201c"


# -- curators' own words: no free text may repeat a 12-word run of a source text -------------
# Paragraph 2 of src_a: "The envoy of the fund met the adviser on Wednesday at the Harbour Hotel,
# according to two officials."
COPY_12 = "The ENVOY of the fund  met the adviser on Wednesday, at the hotel."
COPY_11 = "The envoy of the fund met the adviser on Wednesday at a hotel."


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def _describe_meeting(seeds: Path, description: str) -> Path:
    facts = seeds / "facts" / "facts.yaml"
    facts.write_text(facts.read_text().replace(
        "description: The envoy and the adviser met at the hotel.",
        f"description: {description}"))
    return facts


def test_description_copying_twelve_words_fails(work):
    seeds, texts = work
    facts = _describe_meeting(seeds, COPY_12)
    result = verify(seeds, texts)
    assert result.exit_code == 1, result.output
    line = _line_of(facts, "- id: envoy-meets-adviser")
    assert (f"{facts}:{line}: [description] envoy-meets-adviser: shares a run of 12 words with "
            "src_a para 2 ('the envoy of the fund met ...')") in result.output


def test_description_copying_eleven_words_passes(work):
    seeds, texts = work
    _describe_meeting(seeds, COPY_11)
    result = verify(seeds, texts)
    assert result.exit_code == 0, result.output
    index = shingles({"src_a": paragraphs((texts / "src_a.txt").read_text())}, 11)
    [(run, where)] = copied_runs(COPY_11, index, 11)
    assert len(run) == 11 and where == ("src_a", 2)  # 11 words are shared, and allowed


def test_title_copying_more_passes_where_a_description_fails(work):
    seeds, texts = work
    sentence = paragraphs((texts / "src_a.txt").read_text())[1]
    entities = seeds / "entities" / "all.yaml"
    entities.write_text(entities.read_text().replace(
        "title: Envoy meets adviser in a harbour town", f'title: "{sentence}"'))
    result = verify(seeds, texts)
    assert result.exit_code == 0, result.output  # a title is quoted as reported
    entities.write_text(entities.read_text().replace(
        "    paragraphs: \"4\"\n", f"    paragraphs: \"4\"\n    description: \"{sentence}\"\n"))
    result = verify(seeds, texts)
    assert result.exit_code == 1, result.output
    assert "[description] src_a: shares a run of 18 words with src_a para 2" in result.output
    assert "[title]" not in result.output


def test_a_note_and_a_date_basis_are_curators_words_too(work):
    seeds, texts = work
    facts = seeds / "facts" / "facts.yaml"
    facts.write_text(facts.read_text().replace(
        "basis: In post at the meeting.",
        "basis: 'The envoy of the fund met the adviser on Wednesday at the Harbour Hotel'"))
    result = verify(seeds, texts)
    assert result.exit_code == 1, result.output
    assert "[start.basis] envoy-heads-fund: shares a run of 14 words" in result.output
