"""The fast pipeline behind `kb build`: the same report and dist/kb.ttl as kb.build.check and
kb.export.turtle, at 10^6 triples.

load      seeds read with libyaml (kb.fastyaml), checked by kb.seeds, mapped by kb.load's own
          builder one record at a time (kb.fastload), streamed into an on-disk Oxigraph store
validate  the shapes split by kb.fastcheck: sh:sparql rules and queries/checks run once each,
          core constraints compiled to SPARQL (kb.corecheck); pySHACL only for shapes that do
          not compile (or for all core shapes with engine="pyshacl"), record chunks at a time
export    dist/kb.ttl assembled from per-subject blocks in rdflib's longturtle order (kb.ttl)

`check_fast(cache_dir=...)` keeps what a build made (kb.cache) so the next build redoes only
what an edit touched.
"""

from __future__ import annotations

import gc
import io
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import Graph

from kb.build import fork_map
from kb.core.errors import InputError
from kb.core.files import Spliced
from kb.core.paths import CHECKS
from kb.core.progress import Progress
from kb.interop.void import Figures
from kb.interop.voidcounts import Counts, count
from kb.query.run import QueryFile, list_queries, run
from kb.rdf.stream import (
    ByRecord,
    Collector,
    FastLoaded,
    Mapper,
    Meta,
    document_order,
    release_memory,
)
from kb.rdf.terms import from_ox
from kb.rdf.turtle import BlockFile
from kb.seeds.check import Record, SeedSet, _Checker, _display, read_seeds, seed_files
from kb.seeds.fast_yaml import read_yaml_fast
from kb.seeds.schema import Schema
from kb.seeds.strict_yaml import line_of
from kb.validate.chunks import split
from kb.validate.core import ILL_TYPED, META, core_issues_for, core_query_issues, other_name
from kb.validate.relevance import focus_on, restrict
from kb.validate.report import (
    ONTOLOGY_GRAPH,
    Issue,
    RawIssue,
    Report,
    _short,
    origin_of,
)
from kb.validate.rules import Plan, rule_issues
from kb.validate.shacl_chunks import run_chunks

CHUNK_TRIPLES = 40_000  # pySHACL work per task: large enough to amortise its set-up


@dataclass
class Built:
    """A validated KB from the fast pipeline."""

    loaded: FastLoaded
    report: Report
    document: Spliced  # kb.ttl, as runs of the block file (BlockFile.document)
    store: ox.Store  # the KB in the default graph, pySHACL's ontology axioms in ONTOLOGY_GRAPH
    timings: dict[str, float]
    counts: dict[str, int] = field(default_factory=dict)
    tmp: Any = None  # a temporary directory holding the store, removed with this object
    void: Counts | None = None  # the figures of dist/void.ttl, when kept by the cache

    @property
    def kb_ttl(self) -> bytes:
        """kb.ttl's bytes, read from `document`."""
        return self.document.read()

    def figures(self) -> Figures:
        """What dist/void.ttl states about the KB (kb.void.figures, from the store)."""
        if self.void is None:
            self.void = count(self.store)
        return self.void.figures()


def default_jobs() -> int:
    return max(1, min(2, os.cpu_count() or 1))


@contextmanager
def gc_paused() -> Iterator[None]:
    """Millions of new objects make Python's cycle collector rescan everything again and
    again; nothing built here forms cycles that need it in the meantime."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def open_store(path: Path) -> ox.Store:
    path.mkdir(parents=True, exist_ok=True)
    return ox.Store(str(path))


def add_axioms(store: ox.Store, the_plan: Plan) -> None:
    g = Graph()
    for t in the_plan.ontology:
        g.add(t)
    store.bulk_load(g.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES,
                    to_graph=ONTOLOGY_GRAPH)


def mark_ill_typed(store: ox.Store, literals: list[str]) -> None:
    """Literals sh:datatype rejects (kb.corecheck.ill_typed): a property of the term itself."""
    if literals:
        text = "".join(f"<{META.value}> <{ILL_TYPED.value}> {lit} .\n" for lit in literals)
        store.load(text.encode(), format=ox.RdfFormat.N_TRIPLES, to_graph=META)


def rule_results(store: ox.Store, the_plan: Plan, focus: dict[str, set[str]] | None = None,
                 skip: frozenset[str] = frozenset()) -> dict[str, list[RawIssue]]:
    """Each rule's results (but those in `skip`); with `focus`, a rule named there runs only
    for those focus nodes."""
    return {r.name: rule_issues(store, [r], focus) for r in the_plan.rules if r.name not in skip}


def check_results(store: ox.Store, focus: dict[str, set[str]] | None = None,
                  skip: frozenset[str] = frozenset()) -> dict[str, list[RawIssue]]:
    """queries/checks, as kb.validate.check_issues runs them (KB in the default graph), by
    check (but those in `skip`); with `focus`, a check named there runs only for those focus
    nodes."""
    return {q.name: _check(store, q, None if focus is None else focus.get(q.name))
            for q in list_queries(CHECKS) if q.name not in skip}


def other_results(store: ox.Store, the_plan: Plan, focus: dict[str, set[str]] | None = None,
                  skip: frozenset[str] = frozenset()) -> dict[str, list[RawIssue]]:
    """The core queries that are not local, by `other_name` (but those in `skip`); with
    `focus`, one named there runs only for those focus nodes."""
    return {other_name(q): core_issues_for(store, q, None if focus is None
                                           else focus.get(other_name(q)))
            for q in the_plan.queries if not q.local and other_name(q) not in skip}


def _check(store: ox.Store, q: QueryFile, nodes: set[str] | None = None) -> list[RawIssue]:
    severity = "Violation" if q.name.endswith("-violation") else "Warning"
    with focus_on(store, nodes) as restricted:
        result = run(store, QueryFile(q.path, restrict(q.text, "focus", restricted), q.params))
    return [RawIssue(severity, vals.get("focus"), vals.get("path"),
                     str(vals.get("message") or q.title), f"check:{q.name}")
            for vals in (dict(zip(result.columns, row, strict=True)) for row in result.rows)]


@dataclass
class Whole:
    """Every rule, check and compiled core constraint, run over the whole store."""

    rules: dict[str, list[RawIssue]]  # by rule name, and the core queries that are not local
    checks: dict[str, list[RawIssue]]  # by check name
    local: list[RawIssue]  # core results that depend only on a focus node's surroundings


def whole_graph(store: ox.Store, the_plan: Plan, jobs: int) -> Whole:
    """Run the ~300 validation queries on `jobs` threads: Oxigraph evaluates a query without
    holding the GIL (1.7x on two cores at 10^5 facts). Results come back in a fixed order."""
    tasks: list[tuple[str, str, Callable[[], list[RawIssue]]]] = \
        [("rule", r.name, partial(rule_issues, store, [r])) for r in the_plan.rules]
    tasks += [("check", q.name, partial(_check, store, q)) for q in list_queries(CHECKS)]
    tasks += [("local", "", partial(core_query_issues, store, [q])) if q.local else
              ("rule", other_name(q), partial(core_issues_for, store, q, None))
              for q in the_plan.queries]
    if jobs > 1:
        with ThreadPoolExecutor(jobs) as pool:
            got = list(pool.map(lambda t: t[2](), tasks))
    else:
        got = [t[2]() for t in tasks]
    out = Whole({}, {}, [])
    for (kind, name, _), issues in zip(tasks, got, strict=True):
        if kind in ("rule", "check"):
            (out.rules if kind == "rule" else out.checks)[name] = issues
        else:
            out.local.extend(issues)
    return out


def to_issues(raw: list[RawIssue], loaded: FastLoaded, names: Graph) -> list[Issue]:
    """Locate raw results in the seeds and sort them as kb.validate.validate does."""
    issues = [Issue(severity=r.severity, focus=_short(names, r.focus) or "",
                    path=_short(names, r.path), message=r.message, component=r.component,
                    origin=origin_of(loaded, r.focus) if r.focus is not None else None)
              for r in raw]
    issues.sort(key=lambda i: (i.severity != "Violation", i.origin or "", i.focus,
                               i.path or "", i.component, i.message))
    return issues


def ext_triples(store: ox.Store) -> Any:
    """For pySHACL chunks: a linked node's triples with the predicates the shapes read."""
    def get(node: Any, preds: frozenset[str]) -> list:
        out = []
        for q in store.quads_for_pattern(ox.NamedNode(str(node)), None, None, ox.DefaultGraph()):
            if q.predicate.value in preds:
                out.append((node, from_ox(q.predicate), from_ox(q.object)))
        return out
    return get


def pyshacl_issues(the_plan: Plan, seeds: SeedSet, schema: Schema, store: ox.Store,
                   sizes: list[tuple[str, int]], jobs: int,
                   triples: Any = None) -> list[RawIssue]:
    """The shapes left to pySHACL, on the records given (all records: whole graph)."""
    if the_plan.rest is None or not sizes:
        return []
    col = Collector(schema, seeds)
    triples = triples or (lambda rid: col.triples(seeds.records[rid]))
    chunks = split(sizes, CHUNK_TRIPLES) if the_plan.chunks else [[rid for rid, _ in sizes]]
    forked = jobs > 1 and len(chunks) > 1
    ext = ext_from_seeds(col, seeds, schema) if forked else ext_triples(store)
    return run_chunks(chunks, jobs, plan=the_plan, ext=ext, triples=triples)()


def ext_from_seeds(col: Collector, seeds: SeedSet, schema: Schema) -> Any:
    """Like ext_triples, from the seeds (for forked workers, which must not touch the store)."""
    base = schema.base + "id/"
    cache: dict[str, list] = {}

    def get(node: Any, preds: frozenset[str]) -> list:
        key = str(node)
        if key not in cache:
            owner = seeds.records.get(key[len(base):].split("/", 1)[0]) \
                if key.startswith(base) else None
            cache[key] = [] if owner is None else [
                t for t in col.triples(owner) if t[0] == node and str(t[1]) in preds]
            if len(cache) > 200_000:
                cache.clear()
                cache[key] = [t for t in col.triples(owner) if t[0] == node  # type: ignore[union-attr]
                              and str(t[1]) in preds] if owner is not None else []
        return cache[key]
    return get


@dataclass
class Full:
    """A build from scratch, with what the cache keeps of it. `export()` makes kb.ttl: a
    caller keeping the rest (kb.cache) saves it first, so both are never in memory at once."""

    built: Built
    metas: dict[str, Meta]
    corroborations: dict[str, list[str]]  # seed file -> facts of other files it corroborates
    refs: dict[str, int]
    prefixes: dict[str, str]
    local: list[RawIssue]  # core results that depend only on each focus node's surroundings
    rules: dict[str, list[RawIssue]]  # results of each rule and check ("check:<name>")
    header: str
    blocks: BlockFile

    def export(self, progress: Progress) -> Built:
        with progress.stage("export") as step:
            offsets, sizes, _ = document_order(self.metas.values(), self.refs)
            self.built.document = self.blocks.document(self.header, offsets, sizes)
            del offsets, sizes
            self.blocks.close()
            step.done = assembled(self.built.document.size)
            release_memory()
        return self.built


def assembled(size: int) -> str:
    """The export stage's progress line."""
    return f"assembled kb.ttl ({size / 2**20:.1f} MiB)"


def full(seeds_dir: Path, work: Path, schema: Schema, the_plan: Plan, jobs: int,
         progress: Progress) -> Full:
    """Load and validate everything from scratch into `work` (the store and the block file).

    When pySHACL has nothing left to check (the_plan.rest is None, the usual case) the seed
    set is read one file's YAML at a time (`read_lean`) and each record's values are dropped
    once it is mapped, so the seeds, their RDF and the cache's metadata are never all in
    memory at once."""
    lean = the_plan.rest is None
    with gc_paused():
        with progress.stage("read seeds") as step:
            seeds = read_lean(seeds_dir, schema) if lean else \
                read_seeds(seeds_dir, schema, reader=read_yaml_fast)
            step.done = f"read {len(seeds.files)} seed files ({len(seeds.records)} records)"
            release_memory()
        store = open_store(work / "store")
        blocks = BlockFile(work / "blocks.bin")
        mapper = Mapper(schema, seeds, store, blocks)
        metas: dict[str, Meta] = {}
        corro: dict[str, list[str]] = {}
        col = mapper.col
        with progress.stage("map to RDF", total=len(seeds.records)) as step:
            records = list(seeds.records.values())
            pairs = fork_map.mapped(mapper, records, jobs) if lean and jobs > 1 else \
                ((rec, mapper.map(rec)) for rec in records)
            made_up = False
            try:
                for i, (rec, one) in enumerate(pairs):
                    metas[rec.id] = mapper.take(rec, one)
                    _corroborates(corro, rec)
                    if lean:  # what is kept of it is in its Meta (ByRecord reads origins there)
                        col.origin.clear()
                        col.source_of.clear()
                        if rec.type != "source":  # a source's publisher is read by its citers
                            rec.values, rec.citations = {}, []
                    if i % 1000 == 999:
                        step(1000)
            except fork_map.MadeUpPrefix:
                made_up = True
            except BaseException:
                mapper.stop_loading()  # no thread left holding the store
                raise
            if made_up:  # names depend on record order: start again in one process
                mapper.flush()  # no load left running on the store
                blocks.close()
                del store, mapper, col, seeds, records, pairs
                gc.collect()  # the store's last references: it must close before it reopens
                remove_tree(work / "store")
                return full(seeds_dir, work, schema, the_plan, 1, progress)
            mapper.flush()
            add_axioms(store, the_plan)
            mark_ill_typed(store, mapper.ill_typed)
            step.done = f"mapped {len(metas)} records to {mapper.triples} triples"
            release_memory()
    files = seeds.files
    if lean:  # nothing left for pySHACL: free the seeds
        seeds = col.seeds = None  # type: ignore[assignment]
        origin: Any = ByRecord(metas, mapper.base, "origin", str)
        source_of: Any = ByRecord(metas, mapper.base, "source_of", set)
    else:
        origin, source_of = col.origin, col.source_of
    lazy = seeds if seeds is not None else \
        (lambda: read_seeds(seeds_dir, schema, reader=read_yaml_fast))  # re-read if asked for
    loaded = FastLoaded(lazy, origin, source_of, mapper.triples, schema, files)
    with progress.stage("validate", total=3) as step:
        whole = whole_graph(store, the_plan, jobs)
        rules, checks, local = whole.rules, whole.checks, whole.local
        raw = [r for rs in (*rules.values(), *checks.values()) for r in rs]
        step(2)
        shacl = pyshacl_issues(the_plan, seeds, schema, store,
                               [(rid, m.triples) for rid, m in metas.items()], jobs)
        if the_plan.chunks:
            local += shacl
        else:
            raw += shacl
        step()
        raw += local
        step.done = f"validated {mapper.triples} triples ({len(raw)} issues)"
        release_memory()
    report = Report(to_issues(raw, loaded, col.g))
    built = Built(loaded, report, Spliced(b"", io.BytesIO(), []),  # made by export()
                  store, progress.timings,
                  {"records": len(metas), "rebuilt": len(metas), "triples": mapper.triples})
    return Full(built, metas, corro, mapper.refs, dict(mapper.namer.used), local,
                {**rules, **{f"check:{k}": v for k, v in checks.items()}},
                mapper.namer.header(), blocks)


def read_lean(seeds_dir: Path, schema: Schema) -> SeedSet:
    """`read_seeds(seeds_dir, schema, reader=read_yaml_fast)`, holding one file's YAML at a
    time: the ids are declared file by file, then each file is read again and its records
    checked, in the order kb.seeds checks them (the YAML of a 50 MB seed set is ~0.8 GB of
    Python objects; parsing it twice costs a few % of a build). Any problem, or a file that
    changed in between, and the seeds are read again by read_seeds, whose errors are the
    ones reported."""
    def reference() -> SeedSet:
        return read_seeds(seeds_dir, schema, reader=read_yaml_fast)

    checker = _Checker(schema)
    files = seed_files(seeds_dir)
    if not files:
        return reference()
    names: list[str] = []
    todo: list[tuple[Path, str, list[str]]] = []
    for path in files:
        name = _display(path)
        names.append(name)
        try:
            doc = read_yaml_fast(path, name)
        except InputError:
            return reference()
        checker.declare(name, doc)
        if checker.problems:
            return reference()
        items = _declared(doc, checker.records, name)
        for rid in items:
            checker.raw[rid] = None  # read again below
        todo.append((path, name, list(items)))
        del doc, items
    for path, name, rids in todo:
        if not rids:
            continue
        try:
            items = _declared(read_yaml_fast(path, name), checker.records, name)
        except InputError:
            return reference()
        if list(items) != rids:
            return reference()
        for rid in rids:
            checker._check_record(checker.records[rid], items[rid])
        del items
    checker.raw = {}
    for name, item, _ in checker.corroborations:
        checker._check_corroboration(name, item)
    checker.check_suggestions(checker.records)
    if checker.problems:
        return reference()
    return SeedSet(checker.records, names)


def _declared(doc: Any, records: dict[str, Record], name: str) -> dict[str, Any]:
    """The items of a seed file that declared records (as kb.seeds._Checker.declare walks
    it), by id, in order."""
    out: dict[str, Any] = {}
    if not isinstance(doc, dict):
        return out
    for key in ("entities", "facts"):
        items = doc.get(key)
        if not isinstance(items, list):
            continue
        for i, item in enumerate(items):
            rid = item.get("id") if isinstance(item, dict) else None
            rec = records.get(rid) if isinstance(rid, str) else None
            if rec is not None and rec.file == name and rec.line == line_of(items, i):
                out[rid] = item  # type: ignore[index]
    return out


def _corroborates(out: dict[str, list[str]], rec: Record) -> None:
    for c in rec.citations:
        if c.file != rec.file and rec.id not in out.setdefault(c.file, []):
            out[c.file].append(rec.id)


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def uncached(seeds_dir: Path, schema: Schema, the_plan: Plan, jobs: int,
             progress: Progress) -> Built:
    """A full build in a temporary store, removed with the Built it returns."""
    tmp = tempfile.TemporaryDirectory(prefix="kb-build-")
    try:
        built = full(seeds_dir, Path(tmp.name), schema, the_plan, jobs, progress).export(
            progress)
    except BaseException:
        tmp.cleanup()
        raise
    built.tmp = tmp
    return built
