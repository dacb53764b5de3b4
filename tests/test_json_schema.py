"""The JSON Schema of the seed format (docs/seed-format.schema.json): current, valid, accepting
every seed file, and rejecting what an editor should flag."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from kb.cli.main import main
from kb.seeds.json_schema import dumps
from kb.seeds.schema import load_schema
from kb.seeds.strict_yaml import read_yaml

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "docs" / "seed-format.schema.json"
SEED_FILES = sorted((ROOT / "seeds").rglob("*.yaml")) + sorted(
    (ROOT / "tests" / "fixtures" / "mini").rglob("*.yaml"))


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SHIPPED.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def plain(path: Path) -> object:
    """A seed file as the loader reads it (every scalar a string), as plain JSON values."""
    return json.loads(json.dumps(read_yaml(path)))


def test_the_shipped_schema_is_current():
    assert SHIPPED.read_text() == dumps(load_schema()), (
        "docs/seed-format.schema.json is out of date with ontology/seed-schema.yaml; run "
        "`kb schema --json-schema -o docs/seed-format.schema.json`")


def test_kb_schema_writes_the_same_bytes(tmp_path):
    out = tmp_path / "schema.json"
    result = CliRunner().invoke(main, ["schema", "--json-schema", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == SHIPPED.read_bytes()
    result = CliRunner().invoke(main, ["schema", "--json-schema"])
    assert result.output == SHIPPED.read_text()


def test_kb_schema_needs_the_format_flag():
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 2
    assert "--json-schema" in result.output


@pytest.mark.parametrize("path", SEED_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_seed_file_validates(validator, path):
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(plain(path))]
    assert errors == []


MINI_ENTITIES = ROOT / "tests" / "fixtures" / "mini" / "entities" / "all.yaml"
MINI_FACTS = ROOT / "tests" / "fixtures" / "mini" / "facts" / "facts.yaml"


def errors_after(validator, path: Path, edit) -> list[tuple[list, str]]:
    doc = plain(path)
    edit(doc)
    return [(list(e.absolute_path), e.message) for e in validator.iter_errors(doc)]


def test_rejects_an_unknown_field(validator):
    def edit(doc):
        doc["entities"][0]["colour"] = "red"
    errs = errors_after(validator, MINI_ENTITIES, edit)
    assert errs == [(["entities", 0], "Additional properties are not allowed ('colour' was "
                                      "unexpected)")]


def test_rejects_a_wrong_kind(validator):
    def edit(doc):
        doc["entities"][0]["type"] = "persn"
    errs = errors_after(validator, MINI_ENTITIES, edit)
    assert len(errs) == 1
    assert errs[0][0] == ["entities", 0, "type"]
    assert "'persn' is not one of ['person', 'organisation'," in errs[0][1]


def test_rejects_a_wrong_enum_value(validator):
    def edit(doc):
        doc["facts"][2]["kind"] = "meating"
    errs = errors_after(validator, MINI_FACTS, edit)
    assert [e[0] for e in errs] == [["facts", 2, "kind"]]


@pytest.mark.parametrize("bad", ["2024-5-1", "2024-13", "2024-02-30x", "24", "May 2024",
                                 "2024-05-01T25:00"])
def test_rejects_a_bad_date_shape(validator, bad):
    def edit(doc):
        doc["facts"][1]["start"] = bad
    errs = errors_after(validator, MINI_FACTS, edit)
    assert [e[0] for e in errs] == [["facts", 1, "start"]]


@pytest.mark.parametrize("good", ["2024", "2024-05", "2024-05-01", "2024-05-01T09:34",
                                  "2024-05-01T09:34:10Z",
                                  {"value": "2024-05", "qualifier": "about"}])
def test_accepts_every_date_shape(validator, good):
    def edit(doc):
        doc["facts"][1]["start"] = good
    assert errors_after(validator, MINI_FACTS, edit) == []


def test_rejects_a_fact_without_citations_and_a_bad_bound(validator):
    def edit(doc):
        del doc["facts"][0]["citations"]
        doc["facts"][1]["start"] = {"earliest": "2024-05"}
    errs = errors_after(validator, MINI_FACTS, edit)
    assert sorted(e[0] for e in errs) == [["facts", 0], ["facts", 1, "start"]]
