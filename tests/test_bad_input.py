"""Bad input: every error class gives exit 2, names the file and line, and leaves dist/ alone."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli.main import main
from kb.core.errors import InputError
from kb.seeds.fast_yaml import read_yaml_fast
from kb.seeds.strict_yaml import read_yaml

MINI = Path(__file__).parent / "fixtures" / "mini"
TEXTS = Path(__file__).parent / "fixtures" / "texts"
FACTS = "facts/facts.yaml"
ENTITIES = "entities/all.yaml"

NEW_FACT = """
  - id: extra-fact
    type: contact
    kind: meeting
    description: Another meeting.
    participants: [{actor: envoy}, {actor: adviser}]
    date: "2024-04-01"
    citations:
      - {source: src_a, para: 2}
"""


def _append(rel: str, text: str):
    return lambda root: (root / rel).write_text((root / rel).read_text() + text)


def _replace(rel: str, old: str, new: str):
    def mutate(root: Path) -> None:
        content = (root / rel).read_text()
        assert old in content, old
        (root / rel).write_text(content.replace(old, new, 1))
    return mutate


def _write_bytes(rel: str, data: bytes):
    return lambda root: (root / rel).write_bytes(data)


# (name, mutation, file in the message, line in the message, words the message must contain)
CASES = [
    ("yaml-syntax", _append(FACTS, "  - {id: broken, type: post\n"), FACTS, None, "YAML error"),
    ("duplicate-key", _replace(ENTITIES, "{id: adviser, type: person, name: The Adviser}",
                               "{id: adviser, type: person, name: The Adviser, name: Other}"),
     ENTITIES, 4, "duplicate key"),
    ("duplicate-id", _append(ENTITIES, "  - {id: envoy, type: person, name: Twin}\n"),
     ENTITIES, 19, "duplicate id 'envoy'"),
    ("undeclared-reference", _replace(FACTS, "holder: envoy", "holder: nobody"),
     FACTS, 5, "undeclared id 'nobody'"),
    ("wrong-kind-of-reference", _replace(FACTS, "holder: envoy", "holder: land"),
     FACTS, 5, "'land' is a place"),
    ("unknown-fact-type", _replace(FACTS, "type: post", "type: rumour"),
     FACTS, 3, "unknown fact type 'rumour'"),
    ("unknown-field", _replace(FACTS, "title: envoy of the fund",
                               "title: envoy of the fund\n    colour: red"),
     FACTS, 8, "unknown field"),
    ("malformed-date", _replace(FACTS, 'start: "2022"', 'start: "2022-5"'),
     FACTS, 18, "not a date"),
    ("impossible-date", _replace(FACTS, 'start: "2022"', 'start: "2023-02-29"'),
     FACTS, 18, "not a real date"),
    ("non-utf8", _write_bytes(FACTS, b"facts:\n  - id: caf\xe9\n"), FACTS, 2, "not valid UTF-8"),
    ("ambiguous-boolean", _replace(FACTS, 'derived: "yes", basis: In post',
                                   'derived: true, basis: In post'),
     FACTS, 8, "expected yes or no, got 'true'"),
    ("number-that-is-not-whole", _replace(ENTITIES, 'paragraphs: "4"', "paragraphs: 4.0"),
     ENTITIES, 18, "expected a whole number"),
    ("missing-citation", _append(FACTS, NEW_FACT.replace(
        "    citations:\n      - {source: src_a, para: 2}\n", "")), FACTS, 44,
     "at least one citation"),
    ("unknown-source", _append(FACTS, NEW_FACT.replace("source: src_a", "source: src_z")),
     FACTS, 51, "not a declared source"),
    ("yaml-tag", _replace(FACTS, "title: envoy of the fund",
                          "title: !!python/object/apply:os.system [echo]"),
     FACTS, 7, "[title] YAML tags are not allowed: !!python/object/apply:os.system"),
    ("id-ending-in-newline", _append(ENTITIES, '  - {id: "twin\\n", type: person, name: Twin}\n'),
     ENTITIES, 19, "malformed id 'twin\\n' (U+0074 U+0077 U+0069 U+006E U+000A)"),
]


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path, dict[str, bytes]]:
    """A copy of the mini seeds and a dist/ holding a previous good build."""
    seeds = tmp_path / "seeds"
    shutil.copytree(MINI, seeds)
    dist = tmp_path / "dist"
    result = CliRunner().invoke(main, ["build", "--seeds", str(seeds), "--dist", str(dist)])
    assert result.exit_code == 0, result.output
    before = {p.name: p.read_bytes() for p in sorted(dist.iterdir())}
    assert "kb.ttl" in before
    return seeds, dist, before


def test_every_case_is_collected():
    assert len(CASES) == 16


@pytest.mark.parametrize(("name", "mutate", "rel", "line", "words"), CASES,
                         ids=[c[0] for c in CASES])
def test_bad_input_exit_2_with_location(project, name, mutate, rel, line, words):
    seeds, dist, before = project
    mutate(seeds)
    result = CliRunner().invoke(main, ["build", "--seeds", str(seeds), "--dist", str(dist)])
    assert result.exit_code == 2, result.output
    where = str(seeds / rel)
    located = f"{where}:{line}" if line else f"{where}:"
    assert located in result.output, result.output
    assert words in result.output, result.output
    after = {p.name: p.read_bytes() for p in sorted(dist.iterdir())}
    assert after == before, "dist/ changed after a failed build"


def test_unquoted_values_keep_their_meaning(project):
    """An unquoted `no` stays the word no, and 2019-05 stays a month: nothing is coerced."""
    seeds, dist, _ = project
    _append(FACTS, """
  - id: invitation
    type: transmission
    what: invitation
    description: The envoy sent an invitation that never arrived.
    from: [envoy]
    to: [adviser]
    arrived: no
    date: 2019-05
    citations:
      - {source: src_a, para: 2}
""")(seeds)
    result = CliRunner().invoke(main, ["export", "--seeds", str(seeds), "--format", "ntriples"])
    assert result.exit_code == 0, result.output
    assert ('<https://kb.example.org/id/invitation> <https://kb.example.org/ontology#arrived> '
            '<https://kb.example.org/ontology#NotArrived> .') in result.output
    assert '"2019-05"^^<http://www.w3.org/2001/XMLSchema#gYearMonth>' in result.output


def test_non_conforming_kb_exits_1_and_keeps_dist(project):
    seeds, dist, before = project
    _replace(FACTS, "      - {actor: adviser, role: principal}\n", "")(seeds)
    result = CliRunner().invoke(main, ["build", "--seeds", str(seeds), "--dist", str(dist)])
    assert result.exit_code == 1, result.output
    assert f"{seeds / FACTS}:22" in result.output
    assert "two distinct participants" in result.output
    assert "kb:envoy-meets-adviser" in result.output
    assert {p.name: p.read_bytes() for p in sorted(dist.iterdir())} == before


def test_warnings_do_not_fail_the_build(project):
    seeds, dist, _ = project
    _replace(FACTS, """      - source: src_a
        para: 4
        stance: cannot-recall
        anchor: did not recall any meeting
        according_to: {person: adviser}
""", "")(seeds)
    result = CliRunner().invoke(main, ["build", "--seeds", str(seeds), "--dist", str(dist)])
    assert result.exit_code == 0, result.output
    assert "Warning: kb:envoy-meets-adviser" in result.output
    assert "single claim from anonymous sources" in result.output


def test_usage_error_exits_2():
    result = CliRunner().invoke(main, ["export", "--format", "rdfxml"])
    assert result.exit_code == 2
    assert "Invalid value for '--format'" in result.output


# (spelling in the seed file, the tag as the message names it)
TAGS = [
    ("!!python/object/apply:os.system [echo]", "!!python/object/apply:os.system"),
    ("!!python/object:kb.errors.Problem {file: x}", "!!python/object:kb.errors.Problem"),
    ("!!str envoy of the fund", "!!str"),  # libyaml cannot tell this from no tag
    ("! envoy of the fund", "!"),  # nor this
    ("!title envoy of the fund", "!title"),
]


@pytest.mark.parametrize(("spelling", "tag"), TAGS, ids=[t[1] for t in TAGS])
def test_yaml_tag_is_named_by_kb_build(project, spelling, tag):
    """The fast reader (libyaml) sends every tagged file to ruamel, which names the tag."""
    seeds, dist, before = project
    _replace(FACTS, "title: envoy of the fund", f"title: {spelling}")(seeds)
    result = CliRunner().invoke(main, ["build", "--seeds", str(seeds), "--dist", str(dist)])
    assert result.exit_code == 2, result.output
    assert f"{seeds / FACTS}:7: [title] YAML tags are not allowed: {tag}\n" in result.output
    assert {p.name: p.read_bytes() for p in sorted(dist.iterdir())} == before


def test_yaml_tag_message_is_the_same_from_both_readers(project):
    """kb build (libyaml, cached or not) and kb sources verify (ruamel) print the same line."""
    seeds, dist, _ = project
    _replace(FACTS, "anchor: did not recall any meeting",
             "anchor: !!python/name:os.system")(seeds)
    line = (f"{seeds / FACTS}:41: [citations.anchor] YAML tags are not allowed: "
            "!!python/name:os.system")
    runs = [["build", "--seeds", str(seeds), "--dist", str(dist)],
            ["build", "--no-cache", "--seeds", str(seeds), "--dist", str(dist)],
            ["sources", "verify", "--texts", str(TEXTS), "--seeds", str(seeds)]]
    for args in runs:
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, (args, result.output)
        assert result.output.splitlines()[0] == line, (args, result.output)
    assert read_messages(read_yaml, seeds / FACTS) == read_messages(read_yaml_fast, seeds / FACTS)


def read_messages(reader: Callable[[Path, str], object], path: Path) -> str:
    with pytest.raises(InputError) as exc:
        reader(path, str(path))
    return str(exc.value)


def test_ids_that_differ_only_by_normalisation_show_their_code_points(project):
    """'café' in NFC and in NFD print alike; the messages tell them apart."""
    seeds, dist, _ = project
    nfc, nfd = "caf\u00e9", "cafe\u0301"
    _append(ENTITIES, f"  - {{id: {nfc}, type: person, name: Cafe}}\n")(seeds)
    _replace(FACTS, "holder: envoy", f"holder: {nfd}")(seeds)
    result = CliRunner().invoke(main, ["build", "--seeds", str(seeds), "--dist", str(dist)])
    assert result.exit_code == 2, result.output
    assert (f"{seeds / ENTITIES}:19: [id] missing or malformed id '{nfc}' "
            "(U+0063 U+0061 U+0066 U+00E9): an id is ASCII lowercase letters") in result.output
    assert (f"{seeds / FACTS}:5: [holder] refers to undeclared id '{nfd}' "
            "(U+0063 U+0061 U+0066 U+0065 U+0301, not in NFC)") in result.output
