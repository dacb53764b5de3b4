"""The quick paths behind the CLI's latency (docs/performance.md, "CLI latency"): what each
command imports, and that every quick path answers exactly as the slow one it stands in for,
with the same walls (no network, time and row limits, a crash is a message). No timings here:
the figures come from `kb bench --curated`."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyoxigraph as ox
import pytest
from serving import LoopbackListener

from kb.bench.run import CURATED_PARAMS
from kb.build.run import cache_dir, check
from kb.cli.main import COMMANDS
from kb.core.paths import ROOT, SEEDS
from kb.query import guard, lean
from kb.query.run import Result, bind, cell, format_result, list_queries, run
from kb.rdf.terms import to_ox
from kb.seeds.check import ID_RE
from kb.seeds.schema import load_schema
from kb.serve.child import QueryFailed, QueryJob, run_query

FORMATS = ("table", "csv", "tsv", "json")
HEAVY = ("rdflib", "pyshacl", "kb.build.pipeline", "kb.build.run", "kb.validate")
STAGE = re.compile(r"^kb build: .* in \d+\.\d s$")


def kb(project: Path, *args: str, importtime: bool = False,
       timeout: float = 600) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "kb",
           "--project", str(project), *args]
    env = {**os.environ, "KB_BUILD_CACHE": str(project / "build-cache")}
    return subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True,
                          timeout=timeout)


def imported(stderr: str) -> set[str]:
    """The modules `python -X importtime` says were imported (the query child's included)."""
    return {line.split("|")[-1].strip() for line in stderr.splitlines()
            if line.startswith("import time:") and not line.endswith("| package")}


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def messages(stderr: str) -> list[str]:
    """stderr without stage lines and importtime lines: what the build said."""
    return [line for line in stderr.splitlines()
            if not STAGE.match(line) and not line.startswith("import time:")]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A copy of this KB, built once (dist/ current, stamped with its build's summary)."""
    p = tmp_path_factory.mktemp("kbcopy")
    for folder in ("seeds", "ontology", "shapes", "queries"):
        shutil.copytree(ROOT / folder, p / folder)
    shutil.copy(ROOT / "kb.toml", p / "kb.toml")
    first = kb(p, "build")
    assert first.returncode == 0, first.stderr
    return {"root": p, "first": first}


def test_help_lists_every_command_and_loads_no_library(project: dict) -> None:
    result = kb(project["root"], "--help", importtime=True)
    assert result.returncode == 0, result.stderr
    listed = re.findall(r"^  (\w+)\s", result.stdout.split("Commands:")[1], re.MULTILINE)
    assert listed == list(COMMANDS)
    mods = imported(result.stderr)
    assert heavy(mods) == [] and "pyoxigraph" not in mods
    assert not any(m.startswith(("kb.build", "kb.query", "kb.serve")) for m in mods)


def test_an_unchanged_build_says_what_the_build_said_and_loads_no_pipeline(
        project: dict) -> None:
    again = kb(project["root"], "build", importtime=True)
    assert again.returncode == 0, again.stderr
    assert again.stdout == project["first"].stdout
    assert messages(again.stderr) == messages(project["first"].stderr)
    assert messages(again.stderr), "the curated seeds give warnings: they are repeated"
    assert "reused dist/" in again.stderr
    assert heavy(imported(again.stderr)) == []


def test_an_edit_or_a_hand_edited_kb_ttl_is_built_again(project: dict) -> None:
    root = project["root"]
    kb_ttl = root / "dist" / "kb.ttl"
    good = kb_ttl.read_bytes()
    kb_ttl.write_bytes(good + b"<urn:x> <urn:y> <urn:z> .\n")
    fixed = kb(root, "build")
    assert fixed.returncode == 0, fixed.stderr
    assert "reused dist/" not in fixed.stderr
    assert kb_ttl.read_bytes() == good
    seed = sorted((root / "seeds").rglob("*.yaml"))[0]
    text = seed.read_text(encoding="utf-8")
    seed.write_text(text + "\n# an edit\n", encoding="utf-8")
    try:
        edited = kb(root, "build")
        assert edited.returncode == 0, edited.stderr
        assert "reused dist/" not in edited.stderr and "1 changed" in edited.stderr
    finally:
        seed.write_text(text, encoding="utf-8")
    assert kb(root, "build").returncode == 0
    assert "reused dist/" in kb(root, "build").stderr
    assert "reused dist/" not in kb(root, "build", "--no-cache").stderr


def test_a_query_on_a_current_build_loads_neither_rdflib_nor_the_pipeline(
        project: dict) -> None:
    root = project["root"]
    args = ["query", "contacts-of-actor", "--param", "actor=kirill-dmitriev"]
    kb(root, *args)  # the guard notes that rdflib's grammar passed this text
    quick = kb(root, *args, importtime=True)
    assert quick.returncode == 0, quick.stderr
    assert heavy(imported(quick.stderr)) == []
    assert "kirill-dmitriev" in quick.stdout


def test_a_query_answers_alike_from_the_build_and_from_the_seeds(project: dict) -> None:
    """The same bytes whether dist/ is current (kb.ttl, kb.query.lean) or not (the seeds)."""
    root = project["root"]
    stamp = root / "dist" / ".kb-build.json"
    q = ["query", "sanction-status-on-date", "--param", "actor=kirill-dmitriev",
         "--param", "date=2025-04-02"]
    quick = {fmt: kb(root, *q, "--format", fmt) for fmt in FORMATS}
    saved = stamp.read_bytes()
    stamp.write_text("{}")  # not current: kb query validates the seeds instead
    try:
        slow = {fmt: kb(root, *q, "--format", fmt, importtime=fmt == "csv") for fmt in FORMATS}
    finally:
        stamp.write_bytes(saved)
    assert "rdflib" in imported(slow["csv"].stderr)  # the other path was taken
    for fmt in FORMATS:
        assert quick[fmt].returncode == slow[fmt].returncode == 0, slow[fmt].stderr
        assert _canon(quick[fmt].stdout, fmt) == _canon(slow[fmt].stdout, fmt), fmt
    assert "Suspension dmitriev-sanctions-suspension-2025-04" in quick["csv"].stdout


@pytest.fixture(scope="module")
def seeds_built() -> tuple[ox.Store, bytes]:
    built = check(SEEDS, cache=cache_dir())
    return built.store, built.kb_ttl


@pytest.mark.parametrize("q", list_queries(), ids=lambda q: q.name)
def test_every_named_query_answers_alike_on_both_paths(q: lean.QueryFile,
                                                       seeds_built: tuple) -> None:
    """Given the same rows, kb.query.lean prints the bytes kb.query.run prints, in every
    format; and kb.ttl in memory gives the rows the validated seeds' store gives."""
    store, kb_ttl = seeds_built
    base = load_schema().base
    raw = CURATED_PARAMS.get(q.name, {})
    mem = ox.Store()
    mem.load(kb_ttl, format=ox.RdfFormat.TURTLE)
    cols, rows = lean.run_ox(mem, q, lean.bind_ox(q, raw, base))
    same_rows = Result(cols, [[cell(t) for t in row] for row in rows])
    for fmt in FORMATS:
        assert lean.format_rows(cols, rows, fmt, base) == format_result(same_rows, fmt), fmt
    slow = run(store, q, bind(q, raw))
    for fmt in FORMATS:
        assert _canon(lean.format_rows(cols, rows, fmt, base), fmt) == _canon(
            format_result(slow, fmt), fmt), fmt


def _canon(text: str, fmt: str) -> tuple:
    """An answer with what SPARQL leaves to the store put in order: tied rows (an ORDER BY
    with ties) and the parts of a GROUP_CONCAT ("; " or ", "); a table only by its head and
    length (its cells are cut at 60 characters, after the store's order)."""
    def cell(v: str) -> str:
        return "|".join(sorted(re.split(r"[;,] ", v)))
    if fmt == "json":
        doc = json.loads(text)
        rows = [json.dumps({k: {**b, "value": cell(b["value"])} for k, b in r.items()},
                           sort_keys=True) for r in doc["results"]["bindings"]]
        return doc["head"], sorted(rows)
    if fmt == "table":
        lines = text.splitlines()
        return lines[0].split(" | "), len(lines), lines[-1]
    rows = list(csv.reader(io.StringIO(text), delimiter="," if fmt == "csv" else "\t"))
    return rows[0], sorted(tuple(cell(v) for v in r) for r in rows[1:])


@pytest.mark.parametrize(("header", "value"), [
    ("# @param a iri x", "kirill-dmitriev"), ("# @param a iri x", "https://example.org/x"),
    ("# @param n integer x", "+05"), ("# @param n integer x", "-0"),
    ("# @param d date x", "2024-02-29"), ("# @param s string x", "Kushner's \"plan\"")])
def test_parameters_are_the_same_terms_on_both_paths(tmp_path: Path, header: str,
                                                     value: str) -> None:
    path = tmp_path / "p.rq"
    path.write_text(f"{header}\nSELECT * WHERE {{ ?s ?p ?o }}\n", encoding="utf-8")
    q = lean.read_query(path)
    name = next(iter(q.params))
    assert lean.bind_ox(q, {name: value}, load_schema().base) == {
        name: to_ox(bind(q, {name: value})[name])}


def test_the_lean_id_pattern_is_the_seed_format_s() -> None:
    assert lean.ID_RE.pattern == ID_RE.pattern


# -- the walls, on the quick path -------------------------------------------------------------
def _job(tmp_path: Path, kb_ttl: bytes, text: str, **limits: object) -> QueryJob:
    path = tmp_path / "q.rq"
    path.write_text(text, encoding="utf-8")
    return QueryJob(SEEDS, cache_dir(), lean.read_query(path), {}, "csv", kb_ttl=kb_ttl,
                    base=load_schema().base, **limits)  # type: ignore[arg-type]


def test_the_quick_child_has_no_network_even_past_the_guard(tmp_path: Path,
                                                            seeds_built: tuple) -> None:
    """SERVICE is refused by the guard; should one reach the child, it still connects nowhere."""
    listener = LoopbackListener()
    try:
        text = f"SELECT * WHERE {{ SERVICE <{listener.url}> {{ ?s ?p ?o }} }}\n"
        job = _job(tmp_path, seeds_built[1], text)
        with pytest.raises(QueryFailed):
            run_query(job)  # no guard here: the child's seccomp filter is the wall
        time.sleep(0.3)
        assert listener.connections == []
    finally:
        listener.close()


def test_triple_terms_print_alike_from_the_quick_child(tmp_path: Path,
                                                      seeds_built: tuple) -> None:
    text = 'SELECT ?t WHERE { BIND(TRIPLE(<urn:a>, <urn:b>, "c"@en) AS ?t) }\n'
    t = ox.Triple(ox.NamedNode("urn:a"), ox.NamedNode("urn:b"), ox.Literal("c", language="en"))
    for fmt in FORMATS:
        job = _job(tmp_path, seeds_built[1], text)
        got = run_query(QueryJob(**{**job.__dict__, "fmt": fmt}))
        assert got == format_result(Result(["t"], [[cell(t)]]), fmt)
    with pytest.raises(ValueError):
        lean.format_rows(["t"], [[t]], "csv", "")


def test_the_quick_child_keeps_the_row_and_time_limits(tmp_path: Path,
                                                        seeds_built: tuple) -> None:
    with pytest.raises(QueryFailed, match="result too large: more than 3 rows"):
        run_query(_job(tmp_path, seeds_built[1], "SELECT * WHERE { ?s ?p ?o }\n", max_rows=3))
    cross = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }\n"
    with pytest.raises(QueryFailed, match="query timed out: stopped after 0.5 s"):
        run_query(_job(tmp_path, seeds_built[1], cross, timeout=0.5))


def test_a_crash_of_the_quick_child_is_a_message(project: dict, tmp_path: Path) -> None:
    root = project["root"]
    cross = tmp_path / "cross.rq"
    cross.write_text("SELECT (COUNT(*) AS ?n) WHERE "
                     "{ ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }\n", encoding="utf-8")
    env = {**os.environ, "KB_BUILD_CACHE": str(root / "build-cache")}
    proc = subprocess.Popen([sys.executable, "-m", "kb", "--project", str(root), "query",
                             str(cross), "--timeout", "120"], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        child = None
        while child is None and time.monotonic() < deadline:
            time.sleep(0.2)
            kids = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
            found = kids.read_text().split() if kids.exists() else []
            child = int(found[0]) if found else None
        assert child is not None, "no query child appeared"
        time.sleep(1.5)  # let it load kb.ttl and start the query
        os.kill(child, signal.SIGSEGV)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 2 and out == "" and "Traceback" not in err
    assert "the query engine crashed (SIGSEGV)" in err


# -- the guard's notes ------------------------------------------------------------------------
def test_the_guard_notes_only_what_passed_and_a_forged_note_skips_no_tokenizer(
        tmp_path: Path) -> None:
    ok = "SELECT ?s WHERE { ?s ?p ?o } LIMIT 1"
    guard.check(ok, remember=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [guard._note(tmp_path, ok).name]
    for bad in ("SELECT * WHERE { ?s ?p }", "SELECT * WHERE { SERVICE <urn:x> { ?s ?p ?o } }"):
        with pytest.raises(guard.Refused):
            guard.check(bad, remember=tmp_path)
        assert not guard._note(tmp_path, bad).exists()
    forged = "SELECT * WHERE { SERVICESILENT<http://127.0.0.1:9/> { ?s ?p ?o } }"
    guard._note(tmp_path, forged).touch()
    with pytest.raises(guard.Refused, match="SERVICE is refused"):
        guard.check(forged, remember=tmp_path)


def test_a_note_is_for_one_exact_text(tmp_path: Path) -> None:
    guard.check("SELECT ?s WHERE { ?s ?p ?o }", remember=tmp_path)
    assert not guard._note(tmp_path, "SELECT ?s WHERE { ?s ?p ?o } ").exists()
    assert json.dumps(sorted(p.suffix for p in tmp_path.iterdir())) == '[".passed"]'


def test_named_queries_are_screened_by_the_cli(project: dict, tmp_path: Path) -> None:
    """kb query still refuses SERVICE on the quick path (the guard runs before the child)."""
    q = tmp_path / "remote.rq"
    q.write_text("SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }\n")
    result = kb(project["root"], "query", str(q))
    assert result.returncode == 2 and result.stdout == ""
    assert "SERVICE is refused" in result.stderr


def test_the_bench_times_the_three_commands_as_fresh_processes(tmp_path: Path) -> None:
    """`kb bench --curated` gets a row per command, each the median of fresh `kb` runs."""
    from kb.bench.run import cli_latency
    from kb.cli.bench import table

    shutil.copytree(SEEDS, tmp_path / "seeds")
    got = cli_latency(tmp_path, 2)
    assert [got[k]["command"] for k in ("help", "query", "unchanged_build")] == [
        "kb --help", "kb query contacts-of-actor --param actor=kirill-dmitriev",
        "kb build --quiet"]
    assert all(0 < got[k]["min_s"] <= got[k]["median_s"] for k in ("help", "query"))
    assert (tmp_path / "cli-cache" / "guard").is_dir()  # the query's guard note was kept
    fake = {"name": "curated", "facts": None, "triples": 1, "naive": {}, "ratios": {},
            "cli": got, "fast": {"stages": {"load": 1, "validate": 1, "export": 1},
                                 "build": 3, "queries": {"q": {"runs": 1, "p50_ms": 1.0}},
                                 "peak_rss_mb": 1, "check": {"ok": True, "issues": 0}}}
    rows = [line for line in table([fake]).splitlines() if "wall (median of 2)" in line]
    assert len(rows) == 3 and "`kb --help`" in rows[0] and "unchanged `kb build`" in rows[2]


def test_only_a_small_current_build_is_loaded_into_the_child() -> None:
    """kb query loads a current kb.ttl into memory up to a size; else the seeds' store."""
    from kb.build.current import Current, Summary
    from kb.cli.query import IN_MEMORY_MAX_BYTES, in_memory

    summary = Summary("https://kb.example.org/", 1, 1, [])
    assert in_memory(Current(b"x" * 10, summary)) == (b"x" * 10, "https://kb.example.org/")
    assert in_memory(Current(b"x" * 10, summary), limit=9) is None
    assert in_memory(Current(b"x", None)) is None  # a stamp without a summary: no base IRI
    assert in_memory(None) is None
    assert 2**20 < IN_MEMORY_MAX_BYTES < 2**30


def test_the_cli_forks_its_query_child_and_a_threaded_program_spawns_it() -> None:
    """`kb query` forks (one thread); a process with other threads must not fork their locks."""
    from kb.serve.child import start_method

    code = ("from kb.cli.main import main; import kb.cli.query, kb.build.current, "
            "kb.query.lean, kb.query.guard; from kb.serve.child import start_method; "
            "print(start_method())")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.stdout.strip() == "fork", out.stderr
    listener = LoopbackListener()  # a thread of this process
    try:
        assert start_method() == "spawn"
    finally:
        listener.close()
