"""kb bench and the fast pipeline behind it: same findings and bytes as the reference path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import XSD, Graph, Literal, Namespace, URIRef

from kb.bench.naive import load, validate
from kb.bench.run import _compare, _ratios, run_bench
from kb.bench.synth import RULES, generate
from kb.build.pipeline import check_fast
from kb.cli.main import main
from kb.core import paths
from kb.core.paths import SEEDS
from kb.interop.formats import turtle
from kb.rdf.turtle import Namer, block, document
from kb.seeds.check import seed_files
from kb.seeds.fast_yaml import parse_fast, read_yaml_fast
from kb.seeds.schema import load_schema
from kb.seeds.strict_yaml import read_yaml


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory):
    """60 synthetic facts: every rule the seed format can break, broken once."""
    return generate(tmp_path_factory.mktemp("synth"), 60, per_rule=1)


def _norm(issues: list) -> list[tuple]:
    """Issues comparable across runs (a sequence path is a fresh blank node each time)."""
    return [(i.severity, i.focus, "<path>" if i.path and ":" not in i.path else i.path,
             i.message, i.component, i.origin) for i in issues]


@pytest.mark.parametrize("engine", ["sparql", "pyshacl"])
def test_both_validation_paths_agree_on_every_counter_example(synth, engine: str) -> None:
    reference = validate(load(synth.seeds))
    fast = check_fast(synth.seeds, engine=engine, jobs=1)
    assert _norm(fast.report.issues) == _norm(reference.issues)
    check = _compare(fast.report.issues, [e.__dict__ for e in synth.expected],
                     load_schema().base + "id/")
    assert check["ok"], check
    assert set(check["rules"]) == set(RULES)  # every rule is exercised


def test_fast_export_is_byte_identical(synth) -> None:
    assert check_fast(synth.seeds).kb_ttl == turtle(load(synth.seeds).graph)


def test_fast_build_writes_the_reference_files(built, tmp_path: Path) -> None:
    """`kb build` (the session's build) writes what the naive reference pipeline writes."""
    from kb.bench import naive
    reference = tmp_path / "reference"
    _, report = naive.build(SEEDS, reference)
    for path in built.written:
        assert (reference / path.name).read_bytes() == path.read_bytes(), path.name
    assert _norm(report.issues) == _norm(built.report.issues)


def test_bench_check_fails_on_a_missing_or_an_extra_issue(synth) -> None:
    base = load_schema().base + "id/"
    issues = check_fast(synth.seeds).report.issues
    expected = [e.__dict__ for e in synth.expected]
    assert not _compare(issues[1:], expected, base)["ok"]
    assert not _compare(issues + issues[:1], expected, base)["ok"]


def test_bench_runs_and_checks_the_validator(tmp_path: Path) -> None:
    res = run_bench([40], baseline=False, reps=1, workdir=tmp_path, say=lambda m: None)[0]
    assert res["ok"] and res["fast"]["check"]["ok"]
    assert res["fast"]["rebuild_equals_clean_build"]
    assert set(res["fast"]["stages"]) == {"load", "validate", "export"}
    assert len(res["fast"]["queries"]) == 16  # the competency queries, queries/*.rq
    assert res["fast"]["peak_rss_mb"] > 0


def test_a_cut_off_naive_stage_is_timed_without_its_set_up(tmp_path: Path) -> None:
    # The naive validation gets its whole limit after its rdflib graph is built (the graph's
    # build is not counted), and a stage cut off gives a lower bound, not a figure.
    res = run_bench([40], baseline=True, timeout=1.0, reps=1, workdir=tmp_path,
                    say=lambda m: None)[0]
    cut = res["naive"]["validate"]
    assert cut["timeout"] and 0.9 <= cut["seconds"] <= 3.0 and cut["setup"] > 0
    assert res["ratios"]["validate"]["lower_bound"] and res["ratios"]["build"]["lower_bound"]
    assert res["naive"]["load"]["seconds"] > 0  # finished or cut off, the time it took


def test_bench_command_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(main, ["bench", "--facts", "30", "--no-baseline", "--reps", "1",
                                       "--json", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "| synthetic-30 | 30 |" in result.output
    data = json.loads(out.read_text())
    assert data[0]["facts"] == 30 and data[0]["triples"] > 1000


def test_fast_yaml_reads_what_ruamel_reads(synth, tmp_path: Path) -> None:
    for path in [*seed_files(SEEDS), *seed_files(synth.seeds)]:
        fast, ref = parse_fast(path.read_text()), read_yaml(path)
        assert fast == ref
        _same_lines(fast, ref)
    odd = tmp_path / "odd.yaml"  # anything unusual is left to ruamel, errors included
    for text in ("a: &x 1\nb: *x\n", "a: !!int 3\n", "a: 1\na: 2\n", "a: [1,\n"):
        odd.write_text(text)
        try:
            expected = read_yaml(odd)
        except Exception as exc:  # noqa: BLE001
            with pytest.raises(type(exc)):
                read_yaml_fast(odd)
        else:
            assert read_yaml_fast(odd) == expected


def test_the_ontology_folders_yaml_is_read_by_libyaml_as_ruamel_reads_it() -> None:
    """The seed schema, dataset, unit codes and FtM mapping are read on every build: by libyaml
    (0.45 s -> 4 ms for the schema), so each must parse without falling back to ruamel."""
    files = sorted(paths.ONTOLOGY_DIR.glob("*.yaml"))
    assert {f.name for f in files} >= {"seed-schema.yaml", "dataset.yaml", "unit-codes.yaml",
                                       "ftm-mapping.yaml"}
    for path in files:
        fast, ref = parse_fast(path.read_text()), read_yaml(path)  # parse_fast: no fallback
        assert fast == ref, path
        _same_lines(fast, ref)


def _same_lines(a, b) -> None:
    if isinstance(b, dict):
        assert (a.lc.line, a.lc.col) == (b.lc.line, b.lc.col)
        for k in b:
            assert a.lc.key(k) == tuple(b.lc.key(k))
            _same_lines(a[k], b[k])
    elif isinstance(b, list):
        assert (a.lc.line, a.lc.col) == (b.lc.line, b.lc.col)
        for i, item in enumerate(b):
            assert a.lc.item(i) == tuple(b.lc.item(i))
            _same_lines(a[i], item)


def test_turtle_writer_matches_rdflib_on_awkward_terms() -> None:
    ex = Namespace("https://kb.example.org/id/")
    g = Graph()
    g.bind("kb", ex)
    s = ex["x"]
    for o in [Literal("two\nlines \"quoted\" \\ end\""), Literal("café ☕"),
              Literal("en", lang="en"),
              Literal("5600000.0", datatype=XSD.decimal), Literal(True), Literal(7),
              Literal("2019-05", datatype=XSD.gYearMonth), Literal("x", datatype=XSD.string),
              URIRef("https://kb.example.org/id/a(b)"), URIRef("https://kb.example.org/id/dot."),
              URIRef("https://kb.example.org/id/p%zz"), URIRef("http://other.example/x/y"),
              ex["y/claim/z"]]:
        g.add((s, ex["p"], o))
    g.add((ex["y"], URIRef("http://unbound.example/ns#q"), s))
    g.add((ex["c"], URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
           URIRef("http://www.w3.org/2000/01/rdf-schema#Class")))
    namer = Namer(g)
    props: dict = {}
    refs: dict = {}
    for a in set(g.subjects()):  # each subject's triples in the order rdflib keeps them
        for p, o in g.predicate_objects(a):
            props.setdefault(a, {}).setdefault(p, []).append(o)
            refs[str(o)] = refs.get(str(o), 0) + 1
    ours = document(namer, [block(namer, a, ps) for a, ps in props.items()], refs)
    assert ours == turtle(g)


def test_query_ratios_count_cut_off_rdflib_queries_as_lower_bounds() -> None:
    """A query rdflib did not finish counts with its limit as its time (a lower bound); one
    rdflib fails on does not count at all."""
    fast = {"stages": {"load": 1.0, "validate": 1.0, "export": 1.0}, "build": 3.0,
            "queries": {"a": {"p50_ms": 2.0, "runs": 5}, "b": {"p50_ms": 10.0, "runs": 5},
                        "c": {"p50_ms": 1.0, "runs": 5}}}
    naive = {"queries": {"queries": {"a": {"p50_ms": 200.0, "runs": 1},
                                     "b": {"timeout": 60, "runs": 0},
                                     "c": {"error": "NotBoundError", "runs": 0}}}}
    q = _ratios(fast, naive)["queries_p50"]
    assert q["per_query"] == {"a": 100.0, "b": 6000.0}
    assert q["cut_off"] == ["b"] and q["lower_bound"]
    assert q["median"] == 3050.0 and q["min"] == 100.0
