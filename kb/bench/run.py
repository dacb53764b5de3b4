"""`kb bench`: the real pipeline against the naive one, stage by stage, on synthetic facts.

For each size a synthetic seed set is generated (kb.synth, our own seed format, with a known
number of violations of each rule). The fast pipeline runs in one child process: a cold
build with a build cache (load, validate, export of kb.ttl and void.ttl), each competency
query on Oxigraph, then a rebuild after editing one fact, checked against a clean build.
The naive pipeline runs each stage in a child process of its own, under a time limit:
kb.load (ruamel, rdflib graph), pySHACL on the whole graph with every shape and the checks on
rdflib's SPARQL engine, rdflib's longturtle, and the queries on rdflib's engine. Ratios are
only given for stages both pipelines ran; a naive stage cut off by the limit gives a lower
bound (">="). The bench fails if the fast validator's results differ from the injected ones.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from kb.core.paths import QUERIES, SEEDS

QUERY_LIMIT = int(os.environ.get("KB_BENCH_QUERY_LIMIT", "60"))  # seconds per query run
CURATED_PARAMS = {
    "chains-between": {"from": "kirill-dmitriev", "to": "jared-kushner"},
    "contacts-of-actor": {"actor": "kirill-dmitriev"},
    "posts-of-actor": {"actor": "kirill-dmitriev"},
    "timeline-of-actor": {"actor": "jared-kushner"}, "claims": {"about": "jared-kushner"},
    "sanction-status-on-date": {"actor": "kirill-dmitriev", "date": "2025-04-02"},
    "document-life": {"document": "reconciliation-plan"},
    "investments-of-organisation": {"organisation": "rdif"},
    "events-at-place": {"place": "seychelles"}, "mentions-of-entity": {"entity": "rdif"},
    "contacts-with-sanctioned": {"from": "2025-02-01", "to": "2025-02-28"},
    "holders-of-post": {"organisation": "nsc"},
    "sanction-actions": {}, "contested-claims": {}, "corroboration": {},
}


def _rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, kids) / 1024, 1)


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(q * len(xs)))] * 1000, 3)


def _issue_key(focus: str, base: str) -> str:
    if focus.startswith("kb:"):
        return base + focus[3:]
    return focus[1:-1] if focus.startswith("<") else focus


def _compare(issues: list, expected: list[dict], base: str) -> dict[str, Any]:
    """Per rule: injected vs found; ok only if the found issues are exactly the injected."""
    got = Counter((_issue_key(i.focus, base), i.component, i.severity) for i in issues)
    want = Counter((e["focus"], e["component"], e["severity"]) for e in expected)
    rules: dict[str, dict[str, int]] = {}
    for e in expected:
        r = rules.setdefault(e["rule"], {"injected": 0, "found": 0})
        r["injected"] += 1
        r["found"] += got[(e["focus"], e["component"], e["severity"])] > 0
    unexpected = got - want
    return {"ok": got == want, "rules": rules, "unexpected": len(unexpected.keys() | set()),
            "issues": sum(got.values()), "injected": sum(want.values())}


def _params(work: Path) -> dict[str, dict[str, str]]:
    exp = work / "expected.json"
    return json.loads(exp.read_text())["params"] if exp.exists() else CURATED_PARAMS


class _Late(BaseException):  # not caught by a library's `except Exception`
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Late


def _timed_queries(run_one: Any, params: dict[str, dict[str, str]], reps: int,
                   budget: float, per_query: int = QUERY_LIMIT) -> dict[str, Any]:
    """p50/p95 of each competency query; a query still running after `per_query` seconds is
    stopped (rdflib's engine is Python: an alarm interrupts it) and reported as such."""
    from kb.query.run import list_queries
    out: dict[str, Any] = {}
    start = time.perf_counter()
    signal.signal(signal.SIGALRM, _alarm)
    for q in list_queries(QUERIES):
        if time.perf_counter() - start > budget:
            out[q.name] = {"skipped": "time limit", "runs": 0}
            continue
        times, rows = [], 0
        try:
            for _ in range(reps):
                t = time.perf_counter()
                signal.alarm(per_query)
                try:
                    rows = run_one(q, params.get(q.name, {}))
                finally:
                    signal.alarm(0)
                times.append(time.perf_counter() - t)
                if time.perf_counter() - start > budget or sum(times) > per_query:
                    break
        except _Late:
            out[q.name] = {"timeout": per_query, "runs": 0}
            continue
        except Exception as exc:  # noqa: BLE001 - rdflib's engine fails on some queries
            out[q.name] = {"error": f"{type(exc).__name__}: {exc}"[:200], "runs": 0}
            continue
        out[q.name] = {"p50_ms": _pct(times, 0.5), "p95_ms": _pct(times, 0.95), "runs": len(times),
                       "rows": rows}
    return out


# -- child processes --------------------------------------------------------------------------

def fast_child(work: Path, reps: int, verify: bool) -> dict[str, Any]:
    """The fast pipeline: cold cached build, queries, rebuild after one edit."""
    from kb.bench.synth import edit_description
    from kb.build.pipeline import check_fast
    from kb.core.progress import Progress
    from kb.interop.formats import turtle
    from kb.interop.void import describe
    from kb.interop.voidcounts import HasNode
    from kb.query.run import list_queries
    from kb.rdf.ontology import load_ontology
    from kb.seeds.schema import load_schema
    seeds, cache = work / "seeds", work / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    t0 = time.perf_counter()
    progress = Progress(quiet=True)
    built = check_fast(seeds, cache_dir=cache, progress=progress)
    t1 = time.perf_counter()
    void = turtle(describe(HasNode(built.store), load_ontology(), counted=built.figures()))
    t2 = time.perf_counter()
    (work / "fast-kb.ttl").write_bytes(built.kb_ttl)
    res: dict[str, Any] = {
        "triples": built.loaded.triples, "records": built.counts["records"],
        "stages": {"load": progress.timings.get("plan", 0) + progress.timings["read seeds"]
                   + progress.timings["map to RDF"],
                   "validate": progress.timings["validate"],
                   "export": progress.timings["export"] + (t2 - t1)},
        "build": t2 - t0, "build_peak_rss_mb": _rss_mb(),
        "kb_ttl_sha256": hashlib.sha256(built.kb_ttl).hexdigest(),
        "void_sha256": hashlib.sha256(void).hexdigest()}
    base = load_schema().base + "id/"
    exp = work / "expected.json"
    if exp.exists():
        res["check"] = _compare(built.report.issues, json.loads(exp.read_text())["expected"], base)
    else:
        res["check"] = {"ok": built.report.conforms, "issues": len(built.report.issues)}
    res["issues"] = [str(i) for i in built.report.issues]
    del built  # the next build must open the cache's store for writing
    res["queries"] = {}
    for q in list_queries(QUERIES):  # each in a child: Oxigraph cannot be interrupted
        got = _child(["--child", "query", str(work), q.name, str(reps)], QUERY_LIMIT + 120)
        res["queries"][q.name] = got.get(q.name, {"timeout": QUERY_LIMIT, "runs": 0})
    res["queries_peak_rss_mb"] = max((x.get("peak_rss_mb", 0) for x in res["queries"].values()),
                                     default=0)
    fact = json.loads(exp.read_text())["edit_fact"] if exp.exists() else None
    if fact:
        before = {p: p.read_bytes() for p in seeds.rglob("*.yaml")}
        edited = edit_description(seeds, fact, "An edited description, for the benchmark.")
        t = time.perf_counter()
        again = check_fast(seeds, cache_dir=cache)
        res["rebuild"] = time.perf_counter() - t
        res["rebuilt_records"] = again.counts.get("rebuilt")
        if verify:  # a clean build of the edited seeds: same bytes, messages and VoID figures
            def seen(b: Any) -> tuple:
                return (hashlib.sha256(b.kb_ttl).digest(), b.figures(), [
                    (i.severity, i.focus, i.message, i.component, i.origin)
                    for i in b.report.issues])
            rebuilt = seen(again)
            del again  # one build's kb.ttl and metadata in memory at a time
            res["rebuild_equals_clean_build"] = seen(check_fast(seeds)) == rebuilt
        edited.write_bytes(before[edited])  # the naive stages read the seeds as generated
    res["peak_rss_mb"] = _rss_mb()
    return res


def query_child(work: Path, name: str, reps: int) -> dict[str, Any]:
    """One competency query, `reps` times, on the fast build's kb.ttl held in memory as
    `kb serve`'s workers hold it (loading it is set-up, not timed, as for rdflib's graph)."""
    from kb.query.run import bind, find_query, run
    from kb.rdf.terms import load_store
    t = time.perf_counter()
    store = load_store(work / "fast-kb.ttl")
    setup = time.perf_counter() - t
    q = find_query(name, QUERIES)
    params = bind(q, _params(work).get(name, {}))  # set-up too (the first reads the schema)
    times, rows = [], 0
    for _ in range(reps):
        t = time.perf_counter()
        rows = len(run(store, q, params).rows)
        times.append(time.perf_counter() - t)
        if sum(times) > QUERY_LIMIT:
            break
    return {name: {"p50_ms": _pct(times, 0.5), "p95_ms": _pct(times, 0.95),
                   "runs": len(times), "rows": rows, "setup": setup, "peak_rss_mb": _rss_mb()}}


def naive_child(work: Path, stage: str, reps: int, limit: float = 600) -> dict[str, Any]:
    """One stage of the naive pipeline (the graph it needs made beforehand, not timed), cut
    off after `limit` seconds of its own (queries: a budget of 0.8 of it)."""
    from kb.bench.naive import load
    from kb.rdf.mapping import _Builder
    from kb.seeds.check import read_seeds
    from kb.seeds.schema import load_schema
    seeds = work / "seeds"
    t0 = time.perf_counter()
    if stage == "load":  # timed from the start (cut off by the parent)
        print(f"{TIMING} {time.time()}", flush=True)
        t = time.perf_counter()
        loaded = load(seeds)
        return {"seconds": time.perf_counter() - t, "triples": len(loaded.graph),
                "peak_rss_mb": _rss_mb()}
    from kb.seeds.fast_yaml import read_yaml_fast
    loaded = _Builder(load_schema(), read_seeds(seeds, reader=read_yaml_fast)).build()
    g = loaded.graph
    out: dict[str, Any] = {}
    print(f"{TIMING} {time.time()}", flush=True)  # a cut-off stage is timed from here
    t = time.perf_counter()
    if stage in ("validate", "export"):  # pure Python: an alarm stops it after `limit` s
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, limit)
        try:
            return {**_naive_stage(work, stage, loaded, t), "setup": t - t0}
        except _Late:
            return {"timeout": True, "seconds": time.perf_counter() - t, "setup": t - t0,
                    "peak_rss_mb": _rss_mb()}
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    from kb.query.run import bind

    def one(q: Any, p: dict[str, str]) -> int:
        return len(list(g.query(q.text, initBindings=bind(q, p))))
    out["queries"] = _timed_queries(one, _params(work), reps, limit * 0.8)
    out["seconds"], out["setup"] = time.perf_counter() - t, t - t0
    out["peak_rss_mb"] = _rss_mb()
    return out


def _naive_stage(work: Path, stage: str, loaded: Any, t: float) -> dict[str, Any]:
    from kb.interop.formats import turtle
    from kb.seeds.schema import load_schema
    g = loaded.graph
    out: dict[str, Any] = {}
    if stage == "validate":
        from kb.bench.naive import shacl_issues
        from kb.core.paths import CHECKS
        from kb.query.run import list_queries
        from kb.rdf.ontology import load_ontology
        from kb.validate.report import Issue, load_shapes, origin_of
        issues = shacl_issues(loaded, load_shapes(), load_ontology())
        for q in list_queries(CHECKS):  # rdflib's SPARQL engine, like everything else here
            sev = "Violation" if q.name.endswith("-violation") else "Warning"
            for row in g.query(q.text):
                focus = row.focus  # type: ignore[union-attr]
                issues.append(Issue(sev, g.namespace_manager.normalizeUri(focus), None,
                                    str(row.message), f"check:{q.name}",  # type: ignore[union-attr]
                                    origin_of(loaded, focus)))
        out["seconds"] = time.perf_counter() - t
        exp = work / "expected.json"
        if exp.exists():
            out["check"] = _compare(issues, json.loads(exp.read_text())["expected"],
                                    load_schema().base + "id/")
    elif stage == "export":
        from kb.interop.void import describe
        from kb.rdf.ontology import load_ontology
        data = turtle(g)
        turtle(describe(g, load_ontology()))
        out["seconds"] = time.perf_counter() - t
        out["kb_ttl_sha256"] = hashlib.sha256(data).hexdigest()
    out["peak_rss_mb"] = _rss_mb()
    return out


TIMING = "timed-from"  # a naive child's line: the stage's timed part starts now (epoch seconds)


SETUP_LIMIT = 600.0  # seconds a child may take to reach its timed part, when its limit starts there


def _child(args: list[str], timeout: float | None, from_mark: bool = False) -> dict[str, Any]:
    """Run a child; one cut off by `timeout` reports the seconds its timed part had run (not
    the set-up before it, e.g. building the rdflib graph), 0 if it never got there. With
    `from_mark`, the limit runs from the child's timing mark (its imports are not timed: a
    busy machine must not cut a stage off before it starts)."""
    cmd = [sys.executable, "-m", "kb.bench.run", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONHASHSEED": "0"})
    out: list[str] = []
    err: list[str] = []
    began: list[float] = []

    def read_out() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            out.append(line)
            if line.startswith(TIMING + " "):
                began.append(float(line.split()[1]))
    readers = [threading.Thread(target=read_out, daemon=True),
               threading.Thread(target=lambda: err.append(proc.stderr.read()),  # type: ignore[union-attr]
                                daemon=True)]
    for r in readers:
        r.start()
    start = time.time()
    while proc.poll() is None:
        time.sleep(0.02)
        if timeout is None:
            continue
        if from_mark and not began:
            over = time.time() - start > SETUP_LIMIT
        else:
            over = time.time() - (began[-1] if from_mark else start) > timeout
        if over:
            proc.kill()
            proc.wait()
            for r in readers:
                r.join()
            return {"timeout": True, "seconds": time.time() - began[-1] if began else 0.0}
    for r in readers:
        r.join()
    if proc.returncode != 0:
        return {"error": "".join(err)[-2000:]}
    return json.loads("".join(out).strip().splitlines()[-1])


# -- orchestration ----------------------------------------------------------------------------

NAIVE_STAGES = ("load", "validate", "export", "queries")


def bench_size(work: Path, *, baseline: bool, timeout: float, reps: int,
               verify: bool, say: Any = print,
               stages: tuple[str, ...] = NAIVE_STAGES) -> dict[str, Any]:
    """Run both pipelines on the seeds in work/seeds; the result as a JSON-able dict."""
    say(f"  fast pipeline ({work.name}) ...")
    fast = _child(["--child", "fast", str(work), str(reps), str(int(verify))], None)
    if "error" in fast:
        raise RuntimeError(f"fast pipeline failed:\n{fast['error']}")
    naive: dict[str, Any] = {}
    if baseline:
        for stage in (s for s in NAIVE_STAGES if s in stages):
            say(f"  naive {stage} (limit {timeout:.0f} s) ...")
            # the child stops itself; the parent's limit is for the set-up, e.g. the graph
            naive[stage] = _child(["--child", "naive", str(work), stage, str(max(1, reps // 5)),
                                   str(timeout)], timeout if stage == "load" else 4 * timeout + 900,
                                  from_mark=stage == "load")
            if "error" in naive[stage]:
                raise RuntimeError(f"naive {stage} failed:\n{naive[stage]['error']}")
    out = {"facts": None, "triples": fast["triples"], "fast": fast, "naive": naive,
           "ratios": _ratios(fast, naive)}
    out["ok"] = bool(fast["check"]["ok"]) and fast.get("rebuild_equals_clean_build", True)
    exp = naive.get("export", {})
    if "kb_ttl_sha256" in exp:
        out["exports_identical"] = exp["kb_ttl_sha256"] == fast["kb_ttl_sha256"]
        out["ok"] = out["ok"] and out["exports_identical"]
    return out


CLI_QUERY = ["query", "contacts-of-actor", "--param", "actor=kirill-dmitriev"]


def cli_latency(work: Path, reps: int) -> dict[str, Any]:
    """Median wall time of `kb --help`, `kb query` and an unchanged `kb build`, each a fresh
    process as a user starts it, on a copy of this KB with work/seeds (built once first)."""
    from kb.core import paths
    for folder in ("ontology", "shapes", "queries"):
        shutil.copytree(paths.ROOT / folder, work / folder, dirs_exist_ok=True)
    shutil.copy(paths.ROOT / paths.MARKER, work / paths.MARKER)
    script = Path(sys.executable).with_name("kb")
    kb = [str(script)] if script.exists() else [sys.executable, "-m", "kb"]
    env = {**os.environ, "KB_BUILD_CACHE": str(work / "cli-cache"), "KB_PROJECT": str(work)}

    def wall(args: list[str]) -> tuple[float, float]:
        """Wall time, and CPU time of the process and its children (less hit by load)."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(kb + args, cwd=work, env=env, check=True, capture_output=True)
        took = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return took, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    first = {"build": wall(["build", "--quiet"])[0], "query": wall(CLI_QUERY)[0]}  # guard notes
    out: dict[str, Any] = {"reps": reps, "first_s": first, "loadavg": os.getloadavg()}
    for key, args in (("help", ["--help"]), ("query", CLI_QUERY),
                      ("unchanged_build", ["build", "--quiet"])):
        runs = [wall(args) for _ in range(reps)]
        times = [w for w, _ in runs]
        out[key] = {"median_s": statistics.median(times), "min_s": min(times),
                    "max_s": max(times), "cpu_median_s": statistics.median(c for _, c in runs),
                    "command": "kb " + " ".join(args)}
    out["loadavg_after"] = os.getloadavg()
    return out


def _ratio(naive: dict[str, Any], key: str, fast_s: float) -> dict[str, Any] | None:
    if not naive or fast_s <= 0:
        return None
    if naive.get("timeout"):
        return {"ratio": round(naive["seconds"] / fast_s, 1), "lower_bound": True}
    return {"ratio": round(naive[key] / fast_s, 1), "lower_bound": False}


def _ratios(fast: dict[str, Any], naive: dict[str, Any]) -> dict[str, Any]:
    r: dict[str, Any] = {}
    for stage in ("load", "validate", "export"):
        got = _ratio(naive.get(stage, {}), "seconds", fast["stages"][stage])
        if got:
            r[stage] = got
    if all(s in naive for s in ("load", "validate", "export")):
        total = sum(naive[s]["seconds"] for s in ("load", "validate", "export"))
        r["build"] = {"ratio": round(total / fast["build"], 1),
                      "lower_bound": any(naive[s].get("timeout") for s in ("load", "validate",
                                                                            "export"))}
    nq = naive.get("queries", {}).get("queries", {})
    # A query rdflib did not finish within its limit counts with the limit as its time: a
    # lower bound of its ratio (and so of the median). Queries rdflib fails on do not count.
    per, cut = {}, []
    for n, fq in fast["queries"].items():
        slow = nq.get(n, {})
        if not fq.get("runs") or not (slow.get("runs") or slow.get("timeout")):
            continue
        naive_ms = slow["p50_ms"] if slow.get("runs") else slow["timeout"] * 1000
        per[n] = round(naive_ms / max(fq["p50_ms"], 1e-3), 1)
        if not slow.get("runs"):
            cut.append(n)
    if per:
        r["queries_p50"] = {"min": min(per.values()), "median": statistics.median(per.values()),
                            "per_query": per, "cut_off": cut,
                            "lower_bound": bool(cut or naive["queries"].get("timeout"))}
    if "rebuild" in fast:
        r["rebuild_vs_build"] = round(fast["rebuild"] / fast["build"], 4)
    return r


def run_bench(sizes: list[int], *, baseline: bool = True, timeout: float = 600,
              reps: int = 20, curated: bool = False, verify_upto: int | None = None,
              workdir: Path | None = None, say: Any = print,
              stages: tuple[str, ...] = NAIVE_STAGES) -> list[dict[str, Any]]:
    from kb.bench.synth import generate
    results = []
    root = Path(workdir or tempfile.mkdtemp(prefix="kb-bench-"))
    jobs: list[tuple[str, int | None]] = ([("curated", None)] if curated else [])
    jobs += [(f"synthetic-{n}", n) for n in sizes]
    for name, n in jobs:
        work = root / name
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        say(f"{name}: generating seeds ..." if n else f"{name}: copying seeds ...")
        if n is None:
            shutil.copytree(SEEDS, work / "seeds")
        else:
            generate(work, n)
        verify = n is not None and (verify_upto is None or n <= verify_upto)  # every size
        res = bench_size(work, baseline=baseline, timeout=timeout, reps=reps,
                         verify=verify, say=say, stages=stages)
        res["name"], res["facts"] = name, n
        if n is None:  # the curated seeds: how long a user waits for the CLI
            say(f"{name}: kb --help, kb query, unchanged kb build ({reps} runs each) ...")
            res["cli"] = cli_latency(work, reps)
        results.append(res)
        if workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    if workdir is None:
        shutil.rmtree(root, ignore_errors=True)
    return results


def main(argv: list[str]) -> None:
    """Child-process entry: python -m kb.bench --child fast|naive WORK ..."""
    if argv[:2] == ["--child", "fast"]:
        out = fast_child(Path(argv[2]), int(argv[3]), argv[4] == "1")
    elif argv[:2] == ["--child", "query"]:
        out = query_child(Path(argv[2]), argv[3], int(argv[4]))
    elif argv[:2] == ["--child", "naive"]:
        out = naive_child(Path(argv[2]), argv[3], int(argv[4]), float(argv[5]))
    else:
        raise SystemExit("usage: kb bench (this module's entry point is for its children)")
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
