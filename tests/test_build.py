"""`kb build` and the other commands on the curated seeds, in-process and as a real subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from rdflib import Dataset, Graph

from kb.cli.main import main
from kb.core.paths import ROOT, SEEDS
from kb.interop.formats import serialise
from kb.query.run import bind, find_query, format_result, run
from kb.rdf.terms import to_store

KB = [sys.executable, "-m", "kb"]


def _run(args: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(KB + args, cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


def test_build_writes_a_graph_two_parsers_read(dist_dir: Path):
    data = (dist_dir / "kb.ttl").read_bytes()
    g = Graph().parse(data=data, format="turtle")
    store = ox.Store()
    store.load(data, format=ox.RdfFormat.TURTLE)
    assert len(g) == len(store) > 10000
    onto = Graph().parse(dist_dir / "ontology.ttl")
    assert len(onto) > 1000


def test_build_is_byte_stable_across_hash_seeds(tmp_path: Path):
    """Two builds in separate processes with different hash seeds give identical bytes."""
    outs = []
    for seed in ("1", "4242"):
        dist = tmp_path / f"dist-{seed}"
        proc = _run(["build", "--dist", str(dist)], env={"PYTHONHASHSEED": seed})
        assert proc.returncode == 0, proc.stderr
        assert "built" in proc.stdout
        outs.append({p.name: p.read_bytes() for p in sorted(dist.iterdir())})
    assert outs[0] == outs[1]
    assert len(outs[0]["kb.ttl"]) > 100_000


def test_one_fact_edit_gives_a_local_diff(tmp_path: Path, dist_dir: Path):
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    core = seeds / "facts" / "core.yaml"
    text = core.read_text()
    old = "calling him a known ally of Putin."
    assert old in text
    core.write_text(text.replace(old, "calling him a close ally of Putin."))
    dist = tmp_path / "dist"
    result = CliRunner().invoke(main, ["build", "--seeds", str(seeds), "--dist", str(dist)])
    assert result.exit_code == 0, result.output
    before = (dist_dir / "kb.ttl").read_text().splitlines()
    after = (dist / "kb.ttl").read_text().splitlines()
    assert len(before) == len(after)
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert len(changed) == 1  # only the description's line
    assert "close ally" in after[changed[0]]


def test_cli_build_as_a_subprocess_reports_and_exits_0(tmp_path: Path):
    proc = _run(["build", "--dist", str(tmp_path / "d")])
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "d" / "kb.ttl").stat().st_size > 100_000
    assert "Warning:" in proc.stderr  # single-anonymous-source warnings are shown, not fatal


@pytest.mark.parametrize(("fmt", "parser"), [("turtle", "turtle"), ("ntriples", "nt"),
                                             ("jsonld", "json-ld")])
def test_export_formats_hold_the_same_graph(fmt: str, parser: str, built, dist_dir: Path):
    g = Graph().parse(data=serialise(built.loaded, fmt), format=parser)
    reference = Graph().parse(dist_dir / "kb.ttl")
    assert len(g) == len(reference) and set(g) == set(reference)


def test_export_command_writes_a_file(tmp_path: Path, dist_dir: Path):
    out = tmp_path / "kb.nt"
    result = CliRunner().invoke(main, ["export", "--format", "ntriples", "-o", str(out)])
    assert result.exit_code == 0, result.output[-2000:]
    lines = out.read_text().splitlines()
    assert lines == sorted(lines) and len(lines) == len(Graph().parse(dist_dir / "kb.ttl"))


def test_trig_has_one_named_graph_per_source(built, dist_dir: Path):
    ds = Dataset()
    ds.parse(data=serialise(built.loaded, "trig"), format="trig")
    names = sorted(str(g.identifier) for g in ds.graphs()
                   if str(g.identifier).endswith("/graph"))
    sources = ["000_eceee86a76f5df4d", "001_0dc29c5622fe70d5", "002_66477ec835c9b3e9",
               "003_1bb37439be3c627a", "004_89a377b74d81ac61"]
    assert [n.rsplit("/", 2)[-2] for n in names] == sources
    union = Graph()
    for s, p, o, _ in ds.quads((None, None, None, None)):
        union.add((s, p, o))
    reference = Graph().parse(dist_dir / "kb.ttl")
    assert set(reference) <= set(union)


def test_query_with_parameters_and_formats(built):
    runner = CliRunner()
    table = runner.invoke(main, ["query", "posts-of-actor", "--param", "actor=kirill-dmitriev"])
    assert table.exit_code == 0, table.output
    assert "dmitriev-heads-rdif" in table.output
    q = find_query(str(ROOT / "queries" / "posts-of-actor.rq"))
    res = run(to_store(built.loaded.graph), q, bind(q, {"actor": "kirill-dmitriev"}))
    csv = format_result(res, "csv")
    assert csv.splitlines()[0].startswith("actor,post,title")
    assert len(csv.splitlines()) == len(res.rows) + 1 >= 3
    missing = runner.invoke(main, ["query", "posts-of-actor"])
    assert missing.exit_code == 2
    assert "required parameter missing" in missing.output
    unknown = runner.invoke(main, ["query", "no-such-query"])
    assert unknown.exit_code == 2
    assert "no such query" in unknown.output


def test_query_refuses_service(tmp_path: Path):
    q = tmp_path / "remote.rq"
    q.write_text("SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }\n")
    result = CliRunner().invoke(main, ["query", str(q)])
    assert result.exit_code == 2
    assert "SERVICE is refused" in result.output


def test_stats_counts_sources_and_classes():
    result = CliRunner().invoke(main, ["stats"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].startswith("triples: ") and int(lines[0].split()[1]) > 10000
    assert any(line.strip().startswith("000_eceee86a76f5df4d") for line in lines)
    assert any(line.strip().startswith("Person ") for line in lines)


def test_every_command_has_help_with_an_example():
    def walk(group, prefix):
        ctx = click.Context(group)
        for name in group.list_commands(ctx):
            cmd = group.get_command(ctx, name)
            yield prefix + [name], cmd
            if isinstance(cmd, click.Group):
                yield from walk(cmd, prefix + [name])
    runner = CliRunner()
    seen = 0
    for path, _ in walk(main, []):
        for flag in ("--help", "-h"):
            result = runner.invoke(main, path + [flag])
            assert result.exit_code == 0, path
            assert "Example" in result.output and "kb " in result.output, path
        seen += 1
    assert seen >= 7
    top = runner.invoke(main, ["--help"])
    assert "Exit codes: 0 ok, 1" in top.output


def test_readme_and_help_list_the_same_commands():
    """Every command of `kb --help` is in the README's command table, and nothing else is."""
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## The `kb` command", 1)[1].split("\n\n", 2)[1]
    documented = set()
    for line in table.splitlines()[2:]:
        cell = line.split("|")[1]
        documented.update(w.split()[1].rstrip("`") for w in cell.split("`")[1::2]
                          if w.startswith("kb "))
    commands = set(main.list_commands(click.Context(main)))
    assert documented == commands, (documented, commands)
    for name in commands:
        assert f"`kb {name}" in readme
