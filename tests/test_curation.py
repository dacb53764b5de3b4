"""The curation tools: `kb sources add`, `kb sources show`, `kb sources coverage`, `kb cite`
and `kb new`, on self-written texts (tests/fixtures/texts) and tmp copies of the mini seeds."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli.main import main
from kb.seeds.check import read_seeds
from kb.seeds.schema import load_schema
from kb.seeds.strict_yaml import read_yaml
from kb.sources.register import with_entry
from kb.sources.show import render, uses

HERE = Path(__file__).parent
MINI = HERE / "fixtures" / "mini"
TEXTS = HERE / "fixtures" / "texts"
SRC_B = TEXTS / "src_b.txt"
ADD_B = ["--published", "2024-06-04", "--publisher", "outlet"]


def kb(*args: str | Path):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def work(tmp_path: Path) -> tuple[Path, Path]:
    seeds, texts = tmp_path / "seeds", tmp_path / "texts"
    shutil.copytree(MINI, seeds)
    shutil.copytree(TEXTS, texts)
    return seeds, texts


@pytest.fixture
def with_b(work: tuple[Path, Path]) -> tuple[Path, Path]:
    """The mini seeds with src_b registered."""
    seeds, texts = work
    result = kb("sources", "add", texts / "src_b.txt", *ADD_B, "--seeds", seeds)
    assert result.exit_code == 0, result.output
    return seeds, texts


def snapshot(seeds: Path) -> dict[str, bytes]:
    return {str(p.relative_to(seeds)): p.read_bytes() for p in sorted(seeds.rglob("*"))
            if p.is_file()}


# -- kb sources add ---------------------------------------------------------------------------

def test_add_appends_the_entry_and_keeps_the_file_as_it_was(work):
    seeds, texts = work
    target = seeds / "entities" / "all.yaml"
    before = target.read_text()
    result = kb("sources", "add", texts / "src_b.txt", *ADD_B, "--seeds", seeds)
    assert result.exit_code == 0, result.output
    digest = hashlib.sha256(SRC_B.read_bytes()).hexdigest()
    assert result.output == (f"added source src_b to {target}: 5 paragraphs, "
                             f"sha256 {digest}\n")
    after = target.read_text()
    assert after == before + (
        "  - id: src_b\n"
        "    type: source\n"
        '    title: "Harbour talks resume after a quiet winter"\n'
        "    publisher: outlet\n"
        '    published: "2024-06-04"\n'
        "    publication_basis: stated\n"
        f"    sha256: {digest}\n"
        '    paragraphs: "5"\n')
    verify = kb("sources", "verify", "--texts", texts, "--seeds", seeds)
    assert verify.exit_code == 0, verify.output
    assert "2 sources, 4 citations verified" in verify.output


def test_add_with_an_inferred_date_and_a_title(work):
    seeds, texts = work
    result = kb("sources", "add", texts / "src_b.txt", "--published", "2024-06",
                "--basis", "Our reading: 'June' in the text", "--title", "Harbour talks",
                "--seeds", seeds)
    assert result.exit_code == 0, result.output
    rec = read_seeds(seeds).records["src_b"]
    assert rec.values["title"] == "Harbour talks"
    assert rec.values["publication_basis"] == "inferred"
    assert rec.values["published"].reported.text == "2024-06"
    assert rec.values["published"].derived is True


def test_add_keeps_comments_and_blank_lines_between_entries():
    old = ("# Sources; keep this comment.\n"
           "entities:\n"
           "  - id: a_1   # first\n"
           "    type: source\n"
           '    title: "A"\n'
           "\n"
           "  - {id: b_2, type: source, title: B}\n")
    from kb.sources.register import source_entry
    new = with_entry(old, source_entry("c_3", "C: a title", "ab" * 32, 7, None, "2020", None),
                     "x.yaml")
    assert new == old + (
        "\n"
        "  - id: c_3\n"
        "    type: source\n"
        '    title: "C: a title"\n'
        '    published: "2020"\n'
        "    publication_basis: stated\n"
        f"    sha256: {'ab' * 32}\n"
        '    paragraphs: "7"\n')


def test_add_into_a_new_sources_file(work):
    seeds, texts = work
    target = seeds / "entities" / "sources.yaml"
    result = kb("sources", "add", texts / "src_b.txt", *ADD_B, "--into", target,
                "--seeds", seeds)
    assert result.exit_code == 0, result.output
    assert target.read_text().startswith("# The source documents.")
    assert read_seeds(seeds).records["src_b"].file.endswith("entities/sources.yaml")


def test_add_refuses_a_text_already_registered(work, tmp_path):
    seeds, texts = work
    copy = tmp_path / "src_copy.txt"
    shutil.copy(texts / "src_a.txt", copy)
    before = snapshot(seeds)
    result = kb("sources", "add", copy, *ADD_B, "--seeds", seeds)
    assert result.exit_code == 2
    assert (f"{seeds / 'entities/all.yaml'}:11: [sha256] {copy} is already registered as "
            "source 'src_a' (same SHA-256)") in result.output
    assert snapshot(seeds) == before


def test_add_refuses_an_id_already_declared(work, tmp_path):
    seeds, _ = work
    other = tmp_path / "src_a.txt"
    other.write_text("Another text\n\nwith the same name.\n")
    before = snapshot(seeds)
    result = kb("sources", "add", other, *ADD_B, "--seeds", seeds)
    assert result.exit_code == 2
    assert "[id] 'src_a' is already declared" in result.output
    assert snapshot(seeds) == before


def test_add_refuses_a_text_that_is_not_utf8(work, tmp_path):
    seeds, _ = work
    bad = tmp_path / "src_bad.txt"
    bad.write_bytes(b"A title\n\nA caf\xe9 in Latin-1.\n")
    before = snapshot(seeds)
    result = kb("sources", "add", bad, *ADD_B, "--seeds", seeds)
    assert result.exit_code == 2
    assert f"{bad}:3: not valid UTF-8 (byte 0xe9)" in result.output
    assert snapshot(seeds) == before


def test_add_refuses_a_missing_file(work, tmp_path):
    seeds, _ = work
    before = snapshot(seeds)
    result = kb("sources", "add", tmp_path / "nothing.txt", *ADD_B, "--seeds", seeds)
    assert result.exit_code == 2
    assert f"{tmp_path / 'nothing.txt'}: no such text file" in result.output
    assert snapshot(seeds) == before


@pytest.mark.parametrize(("args", "message"), [
    (["--published", "2024-06-04", "--publisher", "nobody"],
     "[publisher] refers to undeclared id 'nobody'"),
    (["--published", "2024-13"], "[published] month 13 does not exist"),
])
def test_add_writes_nothing_when_the_seeds_would_not_load(work, args, message):
    seeds, texts = work
    before = snapshot(seeds)
    result = kb("sources", "add", texts / "src_b.txt", *args, "--seeds", seeds)
    assert result.exit_code == 2
    assert message in result.output
    assert snapshot(seeds) == before


def test_add_refuses_a_file_name_that_is_not_an_id(work, tmp_path):
    seeds, _ = work
    odd = tmp_path / "Big Report.txt"
    odd.write_text("A title\n")
    result = kb("sources", "add", odd, *ADD_B, "--seeds", seeds)
    assert result.exit_code == 2
    assert "gives the source id 'Big Report', which is not an id" in result.output


# -- kb sources show --------------------------------------------------------------------------

def test_show_numbers_paragraphs_and_lists_the_facts_citing_them(work):
    seeds, texts = work
    facts = seeds / "facts" / "facts.yaml"
    result = kb("sources", "show", "src_a", "--texts", texts, "--seeds", seeds)
    assert result.exit_code == 0, result.output
    assert result.output == (
        "[1] Envoy meets adviser in a harbour town\n"
        "[2] The envoy of the fund met the adviser on Wednesday at the Harbour Hotel, "
        "according to two officials.\n"
        f"    <- envoy-heads-fund (asserts) 'The envoy of the fund'  {facts}:10\n"
        f"    <- envoy-meets-adviser (asserts) 'met the adviser on Wednesday'  {facts}:34\n"
        "[3] The fund is under sanctions imposed by the ministry in 2022.\n"
        f"    <- fund-designation (asserts) 'sanctions imposed by the ministry in 2022'  "
        f"{facts}:20\n"
        "[4] The adviser said he did not recall any meeting.\n"
        f"    <- envoy-meets-adviser (cannot-recall) 'did not recall any meeting'  {facts}:38\n")


def test_show_uncovered_and_one_paragraph(work):
    seeds, texts = work
    result = kb("sources", "show", "src_a", "--uncovered", "--texts", texts, "--seeds", seeds)
    assert result.exit_code == 0, result.output
    assert result.output == "[1] Envoy meets adviser in a harbour town\n"
    result = kb("sources", "show", "src_a", "--para", "3", "--texts", texts, "--seeds", seeds)
    assert result.output.splitlines()[0] == ("[3] The fund is under sanctions imposed by the "
                                             "ministry in 2022.")
    assert len(result.output.splitlines()) == 2


def test_show_highlights_the_anchors(work):
    seeds, texts = work
    paras = (texts / "src_a.txt").read_text().replace("\n\n\n", "\n\n").split("\n\n")
    lines = render("src_a", [p.strip() for p in paras], uses(read_seeds(seeds), "src_a"), only=2)
    head = lines[0]
    marked = sorted(head.plain[s.start:s.end] for s in head.spans if s.style == "bold reverse")
    assert marked == ["The envoy of the fund", "met the adviser on Wednesday"]


@pytest.mark.parametrize(("args", "message"), [
    (["src_z"], "'src_z' is not a declared source; known: src_a"),
    (["src_a", "--para", "9"], "src_a.txt: --para 9: the text has paragraphs 1-4"),
])
def test_show_bad_input(work, args, message):
    seeds, texts = work
    result = kb("sources", "show", *args, "--texts", texts, "--seeds", seeds)
    assert result.exit_code == 2
    assert message in result.output


def test_show_without_the_text(work, tmp_path):
    seeds, _ = work
    empty = tmp_path / "empty"
    empty.mkdir()
    result = kb("sources", "show", "src_a", "--texts", empty, "--seeds", seeds)
    assert result.exit_code == 2
    assert f"{empty / 'src_a.txt'}: no text for source 'src_a'" in result.output


# -- kb sources coverage, and kb stats --------------------------------------------------------

COVERAGE = (
    "source | paragraphs | facts | claims | asserts | denies | cannot-recall | doubts | "
    "confirms | expects | plans | reports-in-advance | anonymous\n"
    "------ | ---------- | ----- | ------ | ------- | ------ | ------------- | ------ | "
    "-------- | ------- | ----- | ------------------ | ---------\n"
    "src_a  | 3/4        | 3     | 4      | 3       | 0      | 1             | 0      | "
    "0        | 0       | 0     | 0                  | 1 (25%)\n")


def test_coverage_per_source(work):
    seeds, texts = work
    result = kb("sources", "coverage", "--texts", texts, "--seeds", seeds)
    assert result.exit_code == 0, result.output
    assert result.output == COVERAGE


def test_coverage_needs_every_text(work, tmp_path):
    seeds, _ = work
    empty = tmp_path / "empty"
    empty.mkdir()
    result = kb("sources", "coverage", "--texts", empty, "--seeds", seeds)
    assert result.exit_code == 2
    assert "no text for source 'src_a'" in result.output


def test_stats_has_claims_by_stance_and_the_anonymous_share(work):
    seeds, _ = work
    result = kb("stats", "--seeds", seeds)
    assert result.exit_code == 0, result.output
    out = result.output
    assert re.search(r"anonymous-percent-per-source:\n  src_a +25\n", out)
    assert re.search(r"claims-by-stance-per-source:\n  src_a Asserts +3\n"
                     r"  src_a CannotRecall +1\n", out)


# -- kb cite ----------------------------------------------------------------------------------

def test_cite_prints_a_citation_that_verifies(with_b):
    seeds, texts = with_b
    result = kb("cite", "src_b", '"useful and calm"', "--texts", texts, "--seeds", seeds)
    assert result.exit_code == 0, result.output
    assert result.output == ('- source: src_b\n'
                             '  para: 3\n'
                             '  anchor: "\\"useful and calm\\""\n')
    # pasted under a fact, it passes `kb sources verify`
    facts = seeds / "facts" / "facts.yaml"
    block = "".join(f"      {line}\n" for line in result.output.splitlines())
    facts.write_text(facts.read_text() + (
        "\n  - id: harbour-talks-useful\n"
        "    type: statement\n"
        "    description: The harbour master called the talks useful.\n"
        "    speakers: [adviser]\n"
        "    citations:\n" + block))
    verify = kb("sources", "verify", "--texts", texts, "--seeds", seeds)
    assert verify.exit_code == 0, verify.output


def test_cite_cuts_a_long_phrase_to_an_eight_word_anchor(with_b):
    seeds, texts = with_b
    result = kb("cite", "src_b", "would resume in June after the regatta. The harbour master",
                "--texts", texts, "--seeds", seeds)
    assert result.exit_code == 2  # runs across paragraphs: not in the text
    result = kb("cite", "src_b", "were \u201cuseful and calm\u201d and would resume in June "
                "after the regatta", "--texts", texts, "--seeds", seeds)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[2] == ('  anchor: "were \\"useful and calm\\" and would '
                                             'resume in"')


def test_cite_in_several_paragraphs_lists_them(with_b):
    seeds, texts = with_b
    result = kb("cite", "src_b", "officials said", "--texts", texts, "--seeds", seeds)
    assert result.exit_code == 2
    assert ("src_b.txt: 'officials said' occurs 2 times: para 2 offset 82 (...customs house, "
            "two [officials said].), para 5 offset 26 (...else attended, the [officials said].); "
            "lengthen the phrase so it locates one place") in result.output
    picked = kb("cite", "src_b", "officials said", "--para", "5", "--texts", texts,
                "--seeds", seeds)
    assert picked.exit_code == 0, picked.output
    assert picked.output == "- source: src_b\n  para: 5\n  anchor: officials said\n"


def test_cite_twice_in_one_paragraph_is_ambiguous(with_b):
    seeds, texts = with_b
    result = kb("cite", "src_b", "The deputy", "--texts", texts, "--seeds", seeds)
    assert result.exit_code == 2
    assert "'The deputy' occurs 2 times: para 4 offset 0" in result.output
    assert "para 4 offset 28" in result.output


def test_cite_not_found_lists_the_nearest_matches_and_keeps_case(with_b):
    seeds, texts = with_b
    result = kb("cite", "src_b", "the harbour master said", "--texts", texts, "--seeds", seeds)
    assert result.exit_code == 2
    assert ("src_b.txt: 'the harbour master said' is not in the text (quotes, dashes and blanks "
            "folded, case kept); nearest: para 3: 'The harbour master said'") in result.output


def test_cite_typographic_apostrophe_matches_a_plain_one(with_b):
    seeds, texts = with_b
    result = kb("cite", "src_b", "The envoy's deputy", "--texts", texts, "--seeds", seeds)
    assert result.exit_code == 0, result.output
    assert result.output == "- source: src_b\n  para: 2\n  anchor: \"The envoy's deputy\"\n"


def test_cite_bad_input(with_b, tmp_path):
    seeds, texts = with_b
    result = kb("cite", "src_z", "anything", "--texts", texts, "--seeds", seeds)
    assert result.exit_code == 2
    assert "'src_z' is not a declared source; known: src_a, src_b" in result.output
    (texts / "src_b.txt").write_bytes(b"Harbour\n\nbad \xff byte\n")
    result = kb("cite", "src_b", "bad", "--texts", texts, "--seeds", seeds)
    assert result.exit_code == 2
    assert f"{texts / 'src_b.txt'}:3: not valid UTF-8 (byte 0xff)" in result.output


# -- kb new -----------------------------------------------------------------------------------

SCHEMA = load_schema()
ALL = ([("entity", k) for k in SCHEMA.entities] + [("fact", t) for t in SCHEMA.facts])


@pytest.mark.parametrize(("what", "name"), ALL)
def test_new_lists_every_field_with_its_kind(what, name, tmp_path):
    result = kb("new", what, name)
    assert result.exit_code == 0, result.output
    path = tmp_path / "skeleton.yaml"
    path.write_text(result.output)
    doc = read_yaml(path)  # the skeleton is YAML
    spec = (SCHEMA.facts if what == "fact" else SCHEMA.entities)[name]
    item = doc["facts" if what == "fact" else "entities"][0]
    assert item["type"] == name
    active = set(item) - {"id", "type", "citations"}
    commented = set(re.findall(r"^    # (\w+):", result.output, re.M))
    assert active == {f for f, s in spec.fields.items() if s.required}
    assert commented == {f for f, s in spec.fields.items() if not s.required}
    for fname, fspec in spec.fields.items():
        line = next(x for x in result.output.splitlines() if re.match(rf"^    (# )?{fname}:", x))
        for value in fspec.values:
            assert value in line.split("#")[-1]
    assert ("citations" in item) == (what == "fact")


def test_a_filled_skeleton_and_a_cited_anchor_make_a_fact(with_b):
    """The curator's path: kb new fact, kb cite, fill in, and the source is covered."""
    seeds, texts = with_b
    skeleton = kb("new", "fact", "contact").output
    cite = kb("cite", "src_b", "met the harbour master on Monday", "--texts", texts,
              "--seeds", seeds).output
    lines = dict(line.strip().split(": ", 1) for line in cite.splitlines())
    filled = (skeleton.replace("facts:\n", "", 1)
              .replace('id: ""', "id: deputy-meets-harbour-master", 1)
              .replace('description: ""', "description: The two met at the customs house.", 1)
              .replace('kind: ""', "kind: meeting", 1)
              .replace('{actor: "", role: ""}', "{actor: envoy, role: principal}", 1)
              .replace('{actor: "", role: ""}', "{actor: adviser, role: principal}", 1)
              .replace('source: ""', f"source: {lines['- source']}", 1)
              .replace('para: ""', f"para: {lines['para']}", 1)
              .replace('anchor: ""', f"anchor: {lines['anchor']}", 1))
    facts = seeds / "facts" / "facts.yaml"
    facts.write_text(facts.read_text() + "\n" + filled)
    assert kb("sources", "verify", "--texts", texts, "--seeds", seeds).exit_code == 0
    coverage = kb("sources", "coverage", "--texts", texts, "--seeds", seeds).output
    assert coverage.splitlines()[3].split(" | ")[:4] == ["src_b ", "1/5       ", "1    ",
                                                         "1     "]


@pytest.mark.parametrize(("args", "message"), [
    (["fact", "meting"], "unknown fact type 'meting'; known: agreement, authorship,"),
    (["entity", "persn"], "unknown entity kind 'persn'; known: document, group, organisation, "
                          "person, place, source"),
])
def test_new_unknown_kind(args, message):
    result = kb("new", *args)
    assert result.exit_code == 2
    assert message in result.output
