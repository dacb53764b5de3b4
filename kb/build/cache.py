"""Incremental builds: keep what a build made, and redo only what an edit touched.

Under <cache_dir>/<hash of the seeds folder>/:
  state.pickle  the head: per seed file its content hash, the records it declares and the
                facts its corroborations cite; the core validation results by focus node; the
                rule results; the records' order; the part files holding the rest; and a
                fingerprint of everything else the outputs depend on (the code, seed schema,
                shapes, ontology, checks, library versions), which must match
  part-*.pickle per record a kb.fastload.Meta (what it refers to, its nodes, the hash of its
                triples, where its Turtle blocks are), a group of seed files' records a part;
                how often each node is used as an object, in 64 parts by node. A rebuild
                writes again only the parts an edit changed.
  store/        the last build's Oxigraph store (KB, ontology axioms, ill-typed marks)
  blocks.bin    every subject's longturtle block, in kb.ttl's order after a fresh build (edited
                records' blocks are appended; stored in order again once scattered or stale)
  lock, dirty   a build holds `lock` (another build at the same time goes without the cache);
                `dirty` exists while the cache is being changed (if a build dies then, the
                next one starts afresh)

A record is redone when its file changed, when a record it refers to changed what it
exposes (type, or a source's publisher), or when a corroboration citing it changed. Rules and
queries/checks then run for the focus nodes the changed triples can reach (kb.relevance), or
over the whole store; compiled core constraints only for the focus nodes whose triples
changed, or whose links' types did, on a small copy of their neighbourhood. Anything unexpected
(input errors, a duplicate id, another shapes or code version) means a full build, so error
messages and outputs are always the full build's.
"""

from __future__ import annotations

import fcntl
import gc
import hashlib
import os
import pickle
import sys
import tempfile
import zlib
from array import array
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from kb.build.delta import affected_focus, quads, store_triples
from kb.build.delta import items as seed_items
from kb.build.stages import (
    Built,
    assembled,
    check_results,
    full,
    gc_paused,
    mark_ill_typed,
    open_store,
    pyshacl_issues,
    remove_tree,
    rule_results,
    to_issues,
    uncached,
)
from kb.core.files import write_atomic
from kb.core.paths import CHECKS, ONTOLOGY, SEED_SCHEMA, SHAPES_DIR
from kb.core.progress import Progress
from kb.interop.voidcounts import Counts, count, update
from kb.query.run import list_queries
from kb.rdf.stream import (
    ByRecord,
    FastLoaded,
    Mapper,
    Meta,
    document_order,
    renumber_blocks,
    sig_of,
)
from kb.rdf.turtle import BlockFile, Namer, store_in_order
from kb.seeds.check import Record, SeedSet, _Checker, _display, read_seeds, seed_files
from kb.seeds.fast_yaml import read_yaml_fast
from kb.seeds.schema import Schema
from kb.validate.core import core_query_issues
from kb.validate.relevance import Changes, affected, analyse
from kb.validate.report import RawIssue
from kb.validate.rules import Plan

VERSION = 3
KEEP = 8  # seed folders whose caches are kept
PACKAGE = Path(__file__).resolve().parent.parent  # the kb package
CODE = ("core", "seeds", "rdf", "query", "validate", "interop", "build")  # what a build runs


class _Miss(Exception):
    """The cache cannot be used for this build: build everything."""


@dataclass
class FileState:
    digest: str
    rids: list[str]  # records it declares, in order
    corroborates: list[str]  # facts its corroborations cite


@dataclass
class State:
    fingerprint: str
    files: dict[str, FileState]
    metas: dict[str, Meta]
    core: list[RawIssue]  # local core results (compiled or pySHACL), by focus node
    refs: Counter[str]
    prefixes: dict[str, str]  # prefix -> namespace, for every prefix a block may use
    uses: dict[str, Counter[str]] = field(default_factory=dict)  # "" -> records using a prefix
    rules: dict[str, list[RawIssue]] = field(default_factory=dict)  # by rule / check:<name>
    void: Counts | None = None  # dist/void.ttl's figures (None: count them again)
    analyses: dict[tuple[str, str], Any] = field(default_factory=dict)  # kb.relevance.analyse
    parts: dict[str, str] = field(default_factory=dict)  # part of the state -> its file


MAX_RUNS = 10_000  # reads kb.ttl may take from the block file before it is stored in order
MAX_DIRTY = 1000  # records an incremental build may redo however few there are in all


def fingerprint(engine: str) -> str:
    h = hashlib.blake2b(digest_size=16)
    paths = [p for pkg in CODE for p in sorted((PACKAGE / pkg).glob("*.py"))]
    paths += [SEED_SCHEMA, ONTOLOGY]
    paths += sorted(SHAPES_DIR.glob("*.ttl")) + sorted(CHECKS.glob("*.rq"))
    for p in paths:
        h.update(p.name.encode() + b"\0" + (p.read_bytes() if p.exists() else b""))
    for dist in ("rdflib", "pyshacl", "pyoxigraph"):
        h.update(metadata.version(dist).encode())
    h.update(f"{VERSION} {engine} {sys.version_info[:2]}".encode())
    return h.hexdigest()


def _digests(seeds_dir: Path) -> dict[str, tuple[Path, str]]:
    return {_display(p): (p, hashlib.blake2b(p.read_bytes(), digest_size=16).hexdigest())
            for p in seed_files(seeds_dir)}


def _lock(root: Path) -> Any:
    fh = open(root / "lock", "w")  # noqa: SIM115 - held for the whole build
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        return None
    return fh


BUCKETS = 64  # files the use counts are spread over, by a hash of the node
EVERY = 16  # a new file of records starts at about every 16th seed file


def _groups(metas: dict[str, Meta]) -> list[list[str]]:
    """Records in declaration order, cut at the seed files whose name hash says so: an edit
    changes the group of its own file, and the other groups keep their files."""
    out: list[list[str]] = []
    last = None
    for rid, m in metas.items():
        if m.file != last:
            last = m.file
            if not out or zlib.crc32(m.file.encode()) % EVERY == 0:
                out.append([])
        out[-1].append(rid)
    return out


def _bucket(node: str) -> int:
    return zlib.crc32(node.encode()) % BUCKETS


def _save(root: Path, state: State, records: set[str] | None = None,
          nodes: set[str] | None = None) -> None:
    """The state as part files and a head naming them (written last, atomically). A part is
    written again only if it holds a record in `records` or a use count of a node in `nodes`
    (None: every part); each pickle's memo (~50 bytes an object) stays small."""
    old, parts = dict(state.parts), {}
    with gc_paused():
        for group in _groups(state.metas):
            key = "m" + hashlib.blake2b("\0".join(group).encode(), digest_size=8).hexdigest()
            if records is not None and key in old and records.isdisjoint(group):
                parts[key] = old[key]
            else:
                parts[key] = _write_part(root, [(rid, state.metas[rid]) for rid in group])
        changed = None if nodes is None else {_bucket(n) for n in nodes}
        buckets: list[list[tuple[str, int]]] | None = None
        for b in range(BUCKETS):
            key = f"r{b}"
            if changed is not None and key in old and b not in changed:
                parts[key] = old[key]
                continue
            if buckets is None:
                buckets = [[] for _ in range(BUCKETS)]
                for node, n in state.refs.items():
                    buckets[_bucket(node)].append((node, n))
            parts[key] = _write_part(root, buckets[b])
        state.parts = parts
        head = replace(state, metas={}, refs=Counter())
        write_atomic(root / "state.pickle",
                     pickle.dumps((head, list(state.metas)), pickle.HIGHEST_PROTOCOL))
    for p in root.glob("part-*.pickle"):  # parts no head names any more
        if p.name not in parts.values():
            p.unlink()


def _write_part(root: Path, items: list) -> str:
    fd, tmp = tempfile.mkstemp(dir=root, prefix="part-", suffix=".pickle")
    with os.fdopen(fd, "wb") as fh:
        pickle.dump(items, fh, pickle.HIGHEST_PROTOCOL)
    return Path(tmp).name


def _load(root: Path, fp: str) -> State | None:
    if (root / "dirty").exists() or not (root / "state.pickle").exists():
        return None
    try:
        with open(root / "state.pickle", "rb") as fh, gc_paused():  # millions of objects
            state, order = pickle.load(fh)
            if not isinstance(state, State) or state.fingerprint != fp:
                return None
            metas: dict[str, Meta] = {}
            for key, name in state.parts.items():
                with open(root / name, "rb") as part:
                    items = pickle.load(part)
                if key.startswith("m"):
                    metas.update(items)
                else:
                    dict.update(state.refs, items)  # set, not added: keys are unique
            state.metas = {rid: metas[rid] for rid in order}
    except Exception:  # noqa: BLE001 - an unreadable cache is rebuilt
        return None
    return state


def _root(seeds_dir: Path, cache_dir: Path) -> Path:
    return cache_dir / hashlib.blake2b(str(seeds_dir.resolve()).encode(),
                                       digest_size=8).hexdigest()


@contextmanager
def writable_store(seeds_dir: Path, cache_dir: Path) -> Iterator[ox.Store | None]:
    """The cached store of this seeds folder opened for writing, under the cache's lock, for
    `kb query` to give the engine its parameters as data (kb.query.entry_points); None when
    there is no cached store or a build holds the lock."""
    root = _root(seeds_dir, cache_dir)
    lock = _lock(root) if (root / "store").is_dir() else None
    if lock is None:
        yield None
        return
    try:
        try:
            store = ox.Store(str(root / "store"))
        except OSError:  # held by a process outside our lock: the read-only view will do
            store = None
        yield store
        if store is not None:
            store.flush()
        del store
    finally:
        lock.close()


def cached_build(seeds_dir: Path, cache_dir: Path, schema: Schema, the_plan: Plan, engine: str,
                 jobs: int, progress: Progress) -> Built:
    """Build using (and updating) the cache for this seeds folder."""
    root = _root(seeds_dir, cache_dir)
    if not root.exists():
        _prune(cache_dir)
    root.mkdir(parents=True, exist_ok=True)
    lock = _lock(root)
    if lock is None:  # another build is using this cache: build without it
        return uncached(seeds_dir, schema, the_plan, jobs, progress)
    try:
        # messages name seed files relative to the working directory: another one, another cache
        fp = fingerprint(engine) + " " + _display(seeds_dir)
        built = _try_incremental(seeds_dir, root, fp, schema, the_plan, jobs, progress)
        if built is not None:
            return built
        return _fresh(seeds_dir, root, fp, schema, the_plan, jobs, progress)
    finally:
        lock.close()


def _try_incremental(seeds_dir: Path, root: Path, fp: str, schema: Schema, the_plan: Plan,
                     jobs: int, progress: Progress) -> Built | None:
    """The incremental build, or None if the cache cannot serve this one."""
    gc.collect()  # earlier garbage first: none of it is to be frozen with the state
    with gc_paused():
        state = _load(root, fp)
        # the state is millions of objects at 10^5 facts, none in a cycle: kept out of the
        # collector's sight (else its next pass walks them all, a second a time)
        gc.freeze()
    try:
        if state is not None:
            with gc_paused():
                return _incremental(seeds_dir, root, state, schema, the_plan, jobs, progress)
    except Exception:  # noqa: BLE001 - input errors, or anything unforeseen: the full build
        pass  # gives its own exact errors, or the right outputs
    finally:
        gc.unfreeze()
    return None


def _prune(cache_dir: Path, keep: int = KEEP - 1) -> None:
    """Forget the caches of seed folders not built for longest (tests build many)."""
    if not cache_dir.is_dir():
        return
    roots = sorted((p for p in cache_dir.iterdir() if (p / "lock").exists()),
                   key=lambda p: (p / "lock").stat().st_mtime, reverse=True)
    for old in roots[keep:]:
        lock = _lock(old)
        if lock is not None:  # not in use
            remove_tree(old)
            lock.close()


def _fresh(seeds_dir: Path, root: Path, fp: str, schema: Schema, the_plan: Plan, jobs: int,
           progress: Progress) -> Built:
    (root / "dirty").touch()
    (root / "state.pickle").unlink(missing_ok=True)
    remove_tree(root / "store")
    digests = _digests(seeds_dir)  # before reading: an edit made meanwhile is seen next time
    res = full(seeds_dir, root, schema, the_plan, jobs, progress)
    files = {name: FileState(d, [], []) for name, (_, d) in digests.items()}
    for rid, m in res.metas.items():
        files[m.file].rids.append(rid)
    for name, facts in res.corroborations.items():
        files[name].corroborates = facts
    uses = Counter(p for m in res.metas.values() for p in m.prefixes)
    built = res.built
    try:
        built.void = count(built.store)
    except ValueError:  # an owl:sameAs into no link target: the build reports it later
        built.void = None
    offsets, sizes = _in_document_order(res.metas, res.refs)
    _save(root, State(fp, files, res.metas, res.local, Counter(res.refs), res.prefixes,
                      {"": uses}, res.rules, built.void))
    with progress.stage("export") as step:  # after saving: both are never in memory at once
        built.kb_ttl = res.blocks.assemble(res.header, offsets, sizes)
        step.done = assembled(built.kb_ttl)
        res.blocks.close()
        store_in_order(root / "blocks.bin", built.kb_ttl, res.header)
    built.store = _reopen(root, built.store)
    del res
    (root / "dirty").unlink()
    return built


def _in_document_order(metas: dict[str, Meta], refs: dict[str, int]) -> tuple[array, array]:
    """Give every block the offset it will have once the block file is stored in document
    order; the offsets and sizes it has now, in that order."""
    offsets, sizes, order = document_order(metas.values(), refs)
    renumber_blocks(metas.values(), order, sizes)
    return offsets, sizes


def _reopen(root: Path, store: ox.Store) -> ox.Store:
    """Release the writable store (the next build must be able to open it) and hand back a
    read-only view of it."""
    store.flush()
    del store
    return ox.Store.read_only(str(root / "store"))


def _incremental(seeds_dir: Path, root: Path, state: State, schema: Schema, the_plan: Plan,
                 jobs: int, progress: Progress) -> Built:
    with progress.stage("read seeds") as step, gc_paused():
        digests = _digests(seeds_dir)
        changed = {n for n, (_, d) in digests.items()
                   if n not in state.files or state.files[n].digest != d}
        removed = set(state.files) - set(digests)
        docs = {n: read_yaml_fast(digests[n][0], n) for n in sorted(changed)}
        checker = _Checker(schema)
        for name in digests:  # declarations, in file order, as the full build makes them
            if name in changed:
                checker.declare(name, docs[name])
                continue
            for rid in state.files[name].rids:
                m = state.metas[rid]
                spec = (schema.facts if m.is_fact else schema.entities)[m.type]
                checker.records[rid] = Record(rid, spec, name, m.line)
        if checker.problems:
            raise _Miss
        declared = checker.records
        sig: dict[str, tuple] = {}
        for rid, rec in declared.items():
            if rec.file in changed:
                pub = checker.raw[rid].get("publisher") if rec.type == "source" else None
                sig[rid] = sig_of(rec.type, rec.spec.is_fact, pub)
            else:
                sig[rid] = state.metas[rid].sig
        gone = set(state.metas) - set(declared)
        moved = {rid for rid in declared if rid in state.metas and state.metas[rid].sig != sig[rid]}
        touched = gone | moved | (set(declared) - set(state.metas))
        dirty = {rid for rid, rec in declared.items() if rec.file in changed}
        dirty |= {rid for rid, m in state.metas.items()
                  if rid in declared and touched.intersection(m.deps)}
        for name in changed | removed:
            if name in state.files:
                dirty |= set(state.files[name].corroborates) & set(declared)
        for name in changed:
            dirty |= {c.get("fact") for c in seed_items(docs[name])[1]} & set(declared)
        if len(dirty) > max(MAX_DIRTY, len(declared) // 2):
            raise _Miss  # redoing most records in place costs more than building afresh
        need = {declared[rid].file for rid in dirty} | {
            n for n, fs in state.files.items() if n not in removed and dirty & set(fs.corroborates)}
        for name in sorted(need - changed):
            docs[name] = read_yaml_fast(digests[name][0], name)
        corro_files = []
        for name in digests:
            if name not in docs:
                continue
            items, corro = seed_items(docs[name])
            for rid, item in items.items():
                if rid in declared and declared[rid].file == name:
                    checker.raw[rid] = item
            corro_files.append((name, corro))
        for rid in declared:
            if rid in dirty:
                checker._check_record(declared[rid], checker.raw[rid])
            elif declared[rid].type == "source":
                declared[rid].values["publisher"] = sig[rid][2]
        for name, corro in corro_files:
            for item in corro:
                if name in changed or item.get("fact") in dirty:
                    checker._check_corroboration(name, item)
        checker.check_suggestions(dirty)
        if checker.problems:
            raise _Miss
        step.done = f"read {len(changed)} changed of {len(digests)} seed files"
    return _apply(seeds_dir, root, state, schema, the_plan, jobs, progress, digests, declared,
                  dirty, gone)


def _apply(seeds_dir: Path, root: Path, state: State, schema: Schema, the_plan: Plan, jobs: int,
           progress: Progress, digests: dict[str, tuple[Path, str]],
           declared: dict[str, Record], dirty: set[str], gone: set[str]) -> Built:
    """Update the store and blocks for the dirty records, validate what changed, save."""
    (root / "dirty").touch()
    seeds = SeedSet(declared, list(digests))
    store = open_store(root / "store")
    blocks = BlockFile(root / "blocks.bin", append=True)
    mapper = Mapper(schema, seeds, store, blocks)
    with progress.stage("map to RDF", total=len(dirty)) as step, gc_paused():
        old = quads(store, [s for rid in dirty | gone if rid in state.metas
                             for s in state.metas[rid].subjects])
        for q in old:
            store.remove(q)
        new_metas = {rid: mapper.add(rec)[0] for rid, rec in declared.items() if rid in dirty}
        mapper.flush()
        mark_ill_typed(store, mapper.ill_typed)
        new = quads(store, [s for m in new_metas.values() for s in m.subjects])
        minus, plus = old - new, new - old
        for q in minus:
            if isinstance(q.object, ox.NamedNode):
                state.refs[q.object.value] -= 1
        for q in plus:
            if isinstance(q.object, ox.NamedNode):
                state.refs[q.object.value] += 1
        uses = state.uses[""]
        for rid in dirty | gone:
            if rid in state.metas:
                uses.subtract(state.metas.pop(rid).prefixes)
        for m in new_metas.values():
            uses.update(m.prefixes)
        if state.void is not None:
            try:
                update(state.void, store, minus, plus)
            except ValueError:
                state.void = None
        state.metas.update(new_metas)
        state.metas = {rid: state.metas[rid] for rid in declared}  # declaration order
        state.prefixes.update(mapper.namer.used)
        step.done = f"mapped {len(new_metas)} changed records"
    with progress.stage("validate", total=2) as step:
        changes = Changes(store, minus | plus, minus)
        rules, focus_of = {}, {}
        names = [(r.name, r.query, "this") for r in the_plan.rules] + [
            (f"check:{q.name}", q.text, "focus") for q in list_queries(CHECKS)]
        for name, text, var in names:
            if name not in state.rules:
                continue
            if (text, var) not in state.analyses:
                state.analyses[(text, var)] = analyse(text, var)
            nodes = affected(state.analyses[(text, var)], var, changes)
            if nodes is not None:
                focus_of[name[6:] if name.startswith("check:") else name] = nodes
                rules[name] = [r for r in state.rules[name] if str(r.focus) not in nodes]
        for name, got in rule_results(store, the_plan, focus_of).items():
            rules[name] = rules.get(name, []) + got
        for name, got in check_results(store, focus_of).items():
            rules[f"check:{name}"] = rules.get(f"check:{name}", []) + got
        state.rules = rules
        raw = [r for rs in rules.values() for r in rs]
        raw += core_query_issues(store, [q for q in the_plan.queries if not q.local])
        step()
        focus = affected_focus(store, minus | plus, the_plan.ext)
        local = [r for r in state.core if str(r.focus) not in focus]
        local += core_query_issues(store, [q for q in the_plan.queries if q.local], focus,
                                   the_plan.ext)
        owners = sorted({f[len(mapper.base):].split("/", 1)[0] for f in focus
                         if f.startswith(mapper.base)} & set(declared))
        shacl = pyshacl_issues(the_plan, seeds, schema, store,
                               [(rid, state.metas[rid].triples) for rid in owners], 1,
                               triples=store_triples(store, state))
        local += [r for r in shacl if str(r.focus) in focus]
        state.core = local
        raw += local
        step()
        step.done = f"revalidated {len(focus)} nodes"
    loaded = FastLoaded(lambda: read_seeds(seeds_dir, schema, reader=read_yaml_fast),
                        ByRecord(state.metas, mapper.base, "origin", str),  # type: ignore[arg-type]
                        ByRecord(state.metas, mapper.base, "source_of", set),  # type: ignore[arg-type]
                        sum(m.triples for m in state.metas.values()), schema, list(digests))
    report_issues = to_issues(raw, loaded, mapper.col.g)
    with progress.stage("export") as step:
        header = Namer.header_of(state.prefixes, [p for p, n in uses.items() if n > 0])
        offsets, sizes, order = document_order(state.metas.values(), state.refs)
        kb_ttl = blocks.assemble(header, offsets, sizes)
        blocks.close()
        moved = blocks.runs > MAX_RUNS or blocks.size > 2 * len(kb_ttl) + 2**20
        if moved:  # edits scattered or stale blocks piled up: store them in order again
            renumber_blocks(state.metas.values(), order, sizes)
            store_in_order(root / "blocks.bin", kb_ttl, header)
        step.done = assembled(kb_ttl)
    rids_of: dict[str, list[str]] = {name: [] for name in digests}
    for rid, rec in declared.items():
        rids_of[rec.file].append(rid)
    for name, (_, d) in digests.items():
        corro = state.files[name].corroborates if name in state.files else []
        state.files[name] = FileState(d, rids_of[name], corro)
    for name in set(state.files) - set(digests):
        del state.files[name]
    for rid in dirty:
        for c in declared[rid].citations:
            if c.file != declared[rid].file and rid not in state.files[c.file].corroborates:
                state.files[c.file].corroborates.append(rid)
    _save(root, state, None if moved else dirty | gone,
          {q.object.value for q in minus | plus if isinstance(q.object, ox.NamedNode)})
    del mapper
    store = _reopen(root, store)
    (root / "dirty").unlink()
    from kb.validate.report import Report
    return Built(loaded, Report(report_issues), kb_ttl, store, progress.timings,
                 {"records": len(state.metas), "rebuilt": len(dirty),
                  "revalidated": len(focus), "triples": loaded.triples}, void=state.void)


