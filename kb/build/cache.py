"""Incremental builds: keep what a build made, and redo only what an edit touched.

Under <cache_dir>/<hash of the seeds folder>/:
  state.pickle  the head: per seed file its content hash, the records it declares (with each
                one's type, line, a source's publisher and a hash of its lines) and the facts
                its corroborations cite; the core validation results by focus node; the rule
                results; the part files holding the rest; and a fingerprint of everything
                else the outputs depend on (the code, seed schema, shapes, ontology, checks,
                library versions), which must match
  part-*.pickle per seed file, its records' kb.rdf.stream.Meta (what each refers to, its
                nodes, the hash of its triples, where its Turtle blocks are and their places
                in kb.ttl's order); how often each node is used as an object, in 64 parts by
                node. Parts are read when first needed (Metas, Refs) and a rebuild writes
                again only the parts an edit changed.
  layout.bin    kb.ttl's blocks in document order: offsets in blocks.bin and sizes
  store/        the last build's Oxigraph store (KB, ontology axioms, ill-typed marks)
  blocks.bin    every subject's longturtle block, in kb.ttl's order after a fresh build (edited
                records' blocks are appended; stored in order again once scattered or stale)
  lock, dirty   a build holds `lock` (another build at the same time goes without the cache);
                `dirty` exists while the cache is being changed (if a build dies then, the
                next one starts afresh)

A record is redone when its own lines changed or moved, when a record it refers to changed
what it exposes (type, or a source's publisher), or when a corroboration citing it changed.
Rules and queries/checks then run for the focus nodes the changed triples can reach
(kb.validate.relevance), over the whole store, or not at all when they name none of the
changed predicates; compiled core constraints only for the focus nodes whose triples
changed, or whose links' types did, on a small copy of their neighbourhood. Anything unexpected
(input errors, a duplicate id, another shapes or code version) means a full build, so error
messages and outputs are always the full build's.
"""

from __future__ import annotations

import fcntl
import hashlib
import itertools
import os
import pickle
import sys
import tempfile
import time
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
    other_results,
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
    set_positions,
    sig_of,
)
from kb.rdf.turtle import BlockFile, Namer, store_in_order
from kb.seeds.check import Record, SeedSet, _Checker, _display, read_seeds, seed_files
from kb.seeds.fast_yaml import read_yaml_fast
from kb.seeds.schema import Schema
from kb.validate.core import core_query_issues, other_name
from kb.validate.relevance import Changes, affected, analyse, predicates
from kb.validate.report import RawIssue
from kb.validate.rules import Plan

VERSION = 4
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
    # per record (in `rids` order): type, fact or not, line, a source's publisher - what the
    # checker declares of it and what records citing it read, without reading its Meta
    decl: list[tuple[str, bool, int | None, Any]] = field(default_factory=list)
    texts: list[str | None] = field(default_factory=list)  # per record: hash of its lines
    stat: tuple[int, ...] | None = None  # as `_digests` last read the file (None: not yet)


def _texts(data: bytes, lines: list[int | None]) -> list[str | None]:
    """Per record (by its 1-based first line, in file order), a hash of the file's lines
    from there to the next record's first line: an edit elsewhere in the file leaves it
    as it was (None: no line known, always redone)."""
    starts = [0]
    at = data.find(b"\n")
    while at != -1:
        starts.append(at + 1)
        at = data.find(b"\n", at + 1)
    known = sorted({n for n in lines if n is not None})
    end_of = dict(zip(known, [*known[1:], len(starts) + 1], strict=True))
    out: list[str | None] = []
    for n in lines:
        if n is None or n > len(starts):
            out.append(None)
            continue
        stop = starts[end_of[n] - 1] if end_of[n] <= len(starts) else len(data)
        out.append(hashlib.blake2b(data[starts[n - 1]:stop], digest_size=12).hexdigest())
    return out


BUCKETS = 64  # files the use counts are spread over, by a hash of the node
EVERY = 1  # a new file of records starts at every EVERY-th seed file (by hash)


def _bucket(node: str) -> int:
    return zlib.crc32(node.encode()) % BUCKETS


def _read_part(path: Path) -> Any:
    with open(path, "rb") as fh, gc_paused():
        return pickle.load(fh)


class Metas:
    """Record id -> Meta: the last build's part files, each read when one of its records is
    first asked for (a one-file edit at 10^5 facts reads one or two of ~30), plus this build's
    changes. `load_all()` reads the rest."""

    def __init__(self, metas: dict[str, Meta] | None = None, root: Path | None = None,
                 parts: dict[str, str] | None = None, where: dict[str, str] | None = None):
        self.d: dict[str, Meta] = metas if metas is not None else {}
        self.root, self.parts, self.where = root, parts or {}, where or {}
        self.todo = {k for k in self.parts if k.startswith("m")} if where else set()

    def _ensure(self, rid: str) -> None:
        key = self.where.get(rid)
        if key is not None and key in self.todo:
            self.todo.discard(key)
            for r, m in _read_part(self.root / self.parts[key]):  # type: ignore[operator]
                self.d.setdefault(r, m)

    def load_all(self) -> dict[str, Meta]:
        for key in sorted(self.todo):
            self.todo.discard(key)
            for r, m in _read_part(self.root / self.parts[key]):  # type: ignore[operator]
                self.d.setdefault(r, m)
        return self.d

    def __getitem__(self, rid: str) -> Meta:
        self._ensure(rid)
        return self.d[rid]

    def get(self, rid: str, default: Any = None) -> Any:
        self._ensure(rid)
        return self.d.get(rid, default)

    def __contains__(self, rid: str) -> bool:
        self._ensure(rid)
        return rid in self.d

    def __setitem__(self, rid: str, meta: Meta) -> None:
        self._ensure(rid)
        self.d[rid] = meta

    def pop(self, rid: str) -> Meta:
        self._ensure(rid)
        return self.d.pop(rid)

    def values(self) -> Any:
        return self.load_all().values()


class Refs:
    """How often each node is used as an object, in BUCKETS parts by node; a part is read
    when one of its nodes is first asked for."""

    def __init__(self, counts: dict[str, int] | None = None, root: Path | None = None,
                 parts: dict[str, str] | None = None):
        self.root, self.parts = root, parts or {}
        self.b: list[dict[str, int] | None] = [None] * BUCKETS
        if counts is not None:
            self.b = [{} for _ in range(BUCKETS)]
            for node, n in counts.items():
                self.b[_bucket(node)][node] = n  # type: ignore[index]

    def bucket(self, i: int) -> dict[str, int]:
        got = self.b[i]
        if got is None:
            got = self.b[i] = dict(_read_part(self.root / self.parts[f"r{i}"]))  # type: ignore[operator]
        return got

    def get(self, node: str, default: int = 0) -> int:
        return self.bucket(_bucket(node)).get(node, default)

    def add(self, node: str, n: int) -> None:
        d = self.bucket(_bucket(node))
        d[node] = d.get(node, 0) + n

    def load_all(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for i in range(BUCKETS):
            out.update(self.bucket(i))
        return out


@dataclass
class State:
    fingerprint: str
    files: dict[str, FileState]  # in declaration order
    metas: Metas
    core: list[RawIssue]  # local core results (compiled or pySHACL), by focus node
    refs: Refs
    prefixes: dict[str, str]  # prefix -> namespace, for every prefix a block may use
    uses: dict[str, Counter[str]] = field(default_factory=dict)  # "" -> records using a prefix
    rules: dict[str, list[RawIssue]] = field(default_factory=dict)  # by rule / check:<name>
    void: Counts | None = None  # dist/void.ttl's figures (None: count them again)
    analyses: dict[tuple[str, str], Any] = field(default_factory=dict)  # kb.relevance.analyse
    parts: dict[str, str] = field(default_factory=dict)  # part of the state -> its file
    triples: int = 0  # in the KB


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


RACY_NS = 2 * 10**9  # a file changed this shortly before it was looked at is read next time


def _digests(seeds_dir: Path, known: dict[str, FileState] | None = None
             ) -> dict[str, tuple[Path, str, tuple[int, ...]]]:
    """Each seed file's path, hash of its bytes and stat (size, mtime, ctime, inode, device,
    when it was looked at). A file whose stat is what an earlier build saw keeps that
    build's hash unread, if it had not changed for RACY_NS before that look (as git does): a
    later write would have moved its ctime, which no program can set back."""
    out = {}
    cwd = Path.cwd().resolve()
    for p in seed_files(seeds_dir):
        name = _display(p, cwd)
        now = time.time_ns()
        st = p.stat()
        key = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)
        old = known.get(name) if known is not None else None
        if (old is not None and old.stat is not None and old.stat[:-1] == key
                and max(st.st_mtime_ns, st.st_ctime_ns) < old.stat[-1] - RACY_NS):
            out[name] = (p, old.digest, old.stat)
        else:
            digest = hashlib.blake2b(p.read_bytes(), digest_size=16).hexdigest()
            out[name] = (p, digest, (*key, now))
    return out


def _lock(root: Path) -> Any:
    fh = open(root / "lock", "w")  # noqa: SIM115 - held for the whole build
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        return None
    return fh


def _groups(files: dict[str, FileState]) -> Iterator[tuple[str, list[str]]]:
    """Records in declaration order, cut at the seed files whose name hash says so: an edit
    changes the group of its own file, and the other groups keep their files. Each group
    with its part's key."""
    group: list[str] = []
    for name, fs in files.items():
        if fs.rids and group and zlib.crc32(name.encode()) % EVERY == 0:
            yield _group_key(group), group
            group = []
        group.extend(fs.rids)
    if group:
        yield _group_key(group), group


def _group_key(group: list[str]) -> str:
    return "m" + hashlib.blake2b("\0".join(group).encode(), digest_size=8).hexdigest()


def _save(root: Path, state: State, records: set[str] | None = None,
          nodes: set[str] | None = None) -> None:
    """The state as part files and a head naming them (written last, atomically). A part is
    written again only if it holds a record in `records` or a use count of a node in `nodes`
    (None: every part); each pickle's memo (~50 bytes an object) stays small."""
    old, parts = dict(state.parts), {}
    with gc_paused():
        for key, group in _groups(state.files):
            if records is not None and key in old and records.isdisjoint(group):
                parts[key] = old[key]
            else:
                parts[key] = _write_part(root, [(rid, state.metas[rid]) for rid in group])
        changed = None if nodes is None else {_bucket(n) for n in nodes}
        for b in range(BUCKETS):
            key = f"r{b}"
            if changed is not None and key in old and b not in changed:
                parts[key] = old[key]
                continue
            parts[key] = _write_part(root, list(state.refs.bucket(b).items()))
        state.parts = parts
        head = replace(state, metas=None, refs=None)
        write_atomic(root / "state.pickle", pickle.dumps(head, pickle.HIGHEST_PROTOCOL))
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
        state = _read_part(root / "state.pickle")
        if not isinstance(state, State) or state.fingerprint != fp:
            return None
        # the records and use counts are read as they are needed (Metas, Refs)
        where = {rid: key for key, group in _groups(state.files) for rid in group}
        if any(key not in state.parts for key in set(where.values())):
            return None
        state.metas = Metas(None, root, state.parts, where)
        state.refs = Refs(None, root, state.parts)
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
    with gc_paused():  # the records' parts are read as needed, millions of objects at most
        state = _load(root, fp)
        try:
            if state is not None:
                return _incremental(seeds_dir, root, state, schema, the_plan, jobs, progress)
        except Exception:  # noqa: BLE001 - input errors, or anything unforeseen: the full
            pass  # build gives its own exact errors, or the right outputs
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
    files = {name: FileState(d, [], [], stat=st) for name, (_, d, st) in digests.items()}
    for rid, m in res.metas.items():
        files[m.file].rids.append(rid)
        files[m.file].decl.append(_decl(m))
    for name, fs in files.items():
        if fs.rids:
            fs.texts = _texts(digests[name][0].read_bytes(), [d[2] for d in fs.decl])
    for name, facts in res.corroborations.items():
        files[name].corroborates = facts
    uses = Counter(p for m in res.metas.values() for p in m.prefixes)
    built = res.built
    try:
        built.void = count(built.store)
    except ValueError:  # an owl:sameAs into no link target: the build reports it later
        built.void = None
    offsets, sizes = _in_document_order(res.metas, res.refs)
    # the block file once stored in order: one run
    _save_layout(root, _stacked(sizes), sizes, array("q", [0]))
    analyses: dict = {}  # made now (≈1 s of SPARQL parsing) rather than by the first rebuild
    for _, text, var in _rule_texts(the_plan):
        _analyse(analyses, text, var)
    _save(root, State(fp, files, Metas(res.metas), res.local, Refs(res.refs), res.prefixes,
                      {"": uses}, res.rules, built.void, analyses, triples=built.loaded.triples))
    with progress.stage("export") as step:  # after saving: both are never in memory at once
        built.document = res.blocks.document(res.header, offsets, sizes)
        step.done = assembled(built.document.size)
        res.blocks.close()
        store_in_order(root / "blocks.bin", built.document)
    built.store = _reopen(root, built.store)
    del res
    (root / "dirty").unlink()
    return built


def _decl(m: Meta) -> tuple[str, bool, int | None, Any]:
    return (m.type, m.is_fact, m.line, m.sig[2])


def _in_document_order(metas: dict[str, Meta], refs: Any) -> tuple[array, array]:
    """Give every block the offset it will have once the block file is stored in document
    order, and its index in that order; the offsets and sizes it has now, in that order."""
    offsets, sizes, order = document_order(metas.values(), refs)
    renumber_blocks(metas.values(), order, sizes)
    set_positions(metas.values(), order)
    return offsets, sizes


LAYOUT = "layout.bin"  # kb.ttl's blocks in order: their offsets in blocks.bin, their sizes


def _stacked(sizes: array) -> array:
    """Where each block starts when they are stored one after another."""
    out, pos = array("q", bytes(8 * len(sizes))), 0
    for k, n in enumerate(sizes):
        out[k] = pos
        pos += n
    return out


def _save_layout(root: Path, offsets: array, sizes: array, starts: array) -> None:
    """`starts`: where runs of blocks stored one after another begin (BlockFile.document)."""
    write_atomic(root / LAYOUT, len(offsets).to_bytes(8, "little") + offsets.tobytes()
                 + sizes.tobytes() + starts.tobytes())


def _read_layout(root: Path) -> tuple[array, array, array]:
    data = (root / LAYOUT).read_bytes()
    n = int.from_bytes(data[:8], "little")
    offsets, sizes, starts = array("q"), array("q"), array("q")
    offsets.frombytes(data[8:8 + 8 * n])
    sizes.frombytes(data[8 + 8 * n:8 + 16 * n])
    starts.frombytes(data[8 + 16 * n:])
    runs_ok = not n or (bool(starts) and starts[0] == 0
                        and all(a < b for a, b in itertools.pairwise([*starts, n])))
    if len(sizes) != n or not runs_ok:  # unreadable: the caller builds afresh
        raise ValueError("layout.bin is cut short or its runs are out of order")
    return offsets, sizes, starts


def _reopen(root: Path, store: ox.Store) -> ox.Store:
    """Release the writable store (the next build must be able to open it) and hand back a
    read-only view of it."""
    store.flush()
    del store
    return ox.Store.read_only(str(root / "store"))


def _incremental(seeds_dir: Path, root: Path, state: State, schema: Schema, the_plan: Plan,
                 jobs: int, progress: Progress) -> Built:
    if {name for name, _, _ in _rule_texts(the_plan)} != state.rules.keys():
        raise _Miss  # kept under another plan's names (a plan made again: new blank nodes)
    with progress.stage("read seeds") as step, gc_paused():
        digests = _digests(seeds_dir, state.files)
        changed = {n for n, (_, d, _) in digests.items()
                   if n not in state.files or state.files[n].digest != d}
        removed = set(state.files) - set(digests)
        docs = {n: read_yaml_fast(digests[n][0], n) for n in sorted(changed)}
        checker = _Checker(schema)
        sig: dict[str, tuple] = {}  # records in changed files, and those declared there before
        publishers: dict[str, Any] = {}  # each source's publisher (unchanged files first)
        for name in digests:  # declarations, in file order, as the full build makes them
            if name in changed:
                checker.declare(name, docs[name])
                continue
            records = checker.records
            for rid, (rtype, is_fact, line, pub) in zip(state.files[name].rids,
                                                        state.files[name].decl, strict=True):
                records[rid] = Record(rid, (schema.facts if is_fact else schema.entities)[rtype],
                                      name, line)
                if rtype == "source":
                    publishers[rid] = pub
        if checker.problems:
            raise _Miss
        declared = checker.records
        in_changed = {rid: rec for rid, rec in declared.items() if rec.file in changed} \
            if changed else {}
        # what the last build declared in the files that changed (only those can differ)
        before: dict[str, tuple] = {}
        for name in sorted(changed | removed):
            if name in state.files:
                fs = state.files[name]
                for rid, (rtype, is_fact, _, pub) in zip(fs.rids, fs.decl, strict=True):
                    before[rid] = sig_of(rtype, is_fact, pub)
        for rid, rec in in_changed.items():
            pub = checker.raw[rid].get("publisher") if rec.type == "source" else None
            sig[rid] = sig_of(rec.type, rec.spec.is_fact, pub)
        for rid in before.keys() - sig.keys():  # declared before in a changed file, now not
            if rid in declared:
                rec = declared[rid]
                sig[rid] = sig_of(rec.type, rec.spec.is_fact, publishers.get(rid))
        publishers.update((rid, sig[rid][2]) for rid, rec in in_changed.items()
                          if rec.type == "source")
        gone = before.keys() - declared.keys()
        moved = {rid for rid, old in before.items() if rid in declared and old != sig[rid]}
        added = {rid for rid in in_changed
                 if rid not in before and rid not in state.metas.where}
        touched = gone | moved | added
        # in a changed file, a record is redone if its lines changed or moved (its own
        # messages name them), or it is new, moved in from another file or another kind
        texts: dict[str, list[str | None]] = {}
        dirty = set()
        for name in sorted(changed):
            mine = [rid for rid, rec in in_changed.items() if rec.file == name]
            texts[name] = _texts(digests[name][0].read_bytes(), [declared[r].line for r in mine])
            old = state.files.get(name)
            was = {} if old is None else {
                rid: (d[2], t) for rid, d, t in zip(old.rids, old.decl, old.texts, strict=True)}
            for rid, text in zip(mine, texts[name], strict=True):
                if text is None or was.get(rid) != (declared[rid].line, text) or rid in moved:
                    dirty.add(rid)
        if touched:  # records referring to them: every record's deps are read
            dirty |= {rid for rid, m in state.metas.load_all().items()
                      if rid in declared and touched.intersection(m.deps)}
        for name in changed | removed:
            if name in state.files:
                dirty |= {r for r in state.files[name].corroborates if r in declared}
        for name in changed:
            dirty |= {f for c in seed_items(docs[name])[1] if (f := c.get("fact")) in declared}
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
        for rid, pub in publishers.items():  # what citing records read of a source
            if rid not in dirty:
                declared[rid].values["publisher"] = pub
        for rid in [rid for rid in declared if rid in dirty]:  # in declaration order
            checker._check_record(declared[rid], checker.raw[rid])
        for name, corro in corro_files:
            for item in corro:
                if name in changed or item.get("fact") in dirty:
                    checker._check_corroboration(name, item)
        checker.check_suggestions(dirty)
        if checker.problems:
            raise _Miss
        step.done = f"read {len(changed)} changed of {len(digests)} seed files"
    return _apply(seeds_dir, root, state, schema, the_plan, progress, digests, declared,
                  dirty, gone, texts)


def _rule_texts(the_plan: Plan) -> list[tuple[str, str, str]]:
    """Each rule and check: its name in State.rules, its query, its focus variable."""
    return [(r.name, r.query, "this") for r in the_plan.rules] + [
        (f"check:{q.name}", q.text, "focus") for q in list_queries(CHECKS)] + [
        (other_name(q), q.query, "this") for q in the_plan.queries if not q.local]


def _analyse(analyses: dict, text: str, var: str) -> None:
    """What a rebuild needs to know of a rule's query (kb.validate.relevance), made once."""
    if (text, var) not in analyses:
        analyses[(text, var)] = analyse(text, var)
    if ("predicates", text) not in analyses:
        analyses[("predicates", text)] = predicates(text)


def _same_layout(old: Meta | None, new: Meta) -> bool:
    """The record's blocks take the same places in kb.ttl's order: same subjects, each an
    rdfs:Class instance or not as before."""
    return old is not None and old.at is not None and old.subjects == new.subjects and \
        all((a < 0) == (b < 0) for a, b in zip(old.blocks[1::2], new.blocks[1::2], strict=True))


def _apply(seeds_dir: Path, root: Path, state: State, schema: Schema, the_plan: Plan,
           progress: Progress, digests: dict[str, tuple[Path, str, tuple[int, ...]]],
           declared: dict[str, Record], dirty: set[str], gone: set[str],
           texts: dict[str, list[str | None]]) -> Built:
    """Update the store and blocks for the dirty records, validate what changed, save."""
    (root / "dirty").touch()
    seeds = SeedSet(declared, list(digests))
    store = open_store(root / "store")
    blocks = BlockFile(root / "blocks.bin", append=True)
    mapper = Mapper(schema, seeds, store, blocks)
    with progress.stage("map to RDF", total=len(dirty)) as step, gc_paused():
        olds = {rid: state.metas.get(rid) for rid in dirty | gone}
        old = quads(store, [s for m in olds.values() if m is not None for s in m.subjects])
        for q in old:
            store.remove(q)
        new_metas = {rid: mapper.add(rec)[0] for rid, rec in declared.items() if rid in dirty}
        mapper.flush()
        mark_ill_typed(store, mapper.ill_typed)
        new = quads(store, [s for m in new_metas.values() for s in m.subjects])
        minus, plus = old - new, new - old
        delta: Counter[str] = Counter()
        for q in minus:
            if isinstance(q.object, ox.NamedNode):
                delta[q.object.value] -= 1
        for q in plus:
            if isinstance(q.object, ox.NamedNode):
                delta[q.object.value] += 1
        for node, n in delta.items():
            if n:
                state.refs.add(node, n)
        # kb.ttl keeps its order unless use counts, subjects or classes changed
        in_place = not gone and not any(delta.values()) and all(
            _same_layout(olds[rid], m) for rid, m in new_metas.items())
        uses = state.uses[""]
        for rid, m in olds.items():
            if m is not None:
                uses.subtract(m.prefixes)
                state.triples -= m.triples
                state.metas.pop(rid)
        for rid, m in new_metas.items():
            uses.update(m.prefixes)
            state.triples += m.triples
            m.at = olds[rid].at if in_place else None  # type: ignore[union-attr]
            state.metas[rid] = m
        if state.void is not None:
            try:
                update(state.void, store, minus, plus)
            except ValueError:
                state.void = None
        state.prefixes.update(mapper.namer.used)
        step.done = f"mapped {len(new_metas)} changed records"
    with progress.stage("validate", total=2) as step:
        changes = Changes(store, minus | plus, minus)
        rules, focus_of, skip = {}, {}, set()
        changed_preds = {q.predicate.value for q in minus | plus}
        for name, text, var in _rule_texts(the_plan):
            _analyse(state.analyses, text, var)
            named = state.analyses[("predicates", text)]
            short = name[6:] if name.startswith("check:") else name
            if named is not None and changed_preds.isdisjoint(named):
                skip.add(short)  # no changed triple matches any of its patterns
                rules[name] = state.rules[name]
                continue
            nodes = affected(state.analyses[(text, var)], var, changes)
            if nodes is not None:
                focus_of[short] = nodes
                rules[name] = [r for r in state.rules[name] if str(r.focus) not in nodes]
        for name, got in rule_results(store, the_plan, focus_of, frozenset(skip)).items():
            rules[name] = rules.get(name, []) + got
        for name, got in check_results(store, focus_of, frozenset(skip)).items():
            rules[f"check:{name}"] = rules.get(f"check:{name}", []) + got
        for name, got in other_results(store, the_plan, focus_of, frozenset(skip)).items():
            rules[name] = rules.get(name, []) + got
        state.rules = rules
        raw = [r for rs in rules.values() for r in rs]
        step()
        focus = affected_focus(store, minus | plus, the_plan.ext)
        local = [r for r in state.core if str(r.focus) not in focus]
        local += core_query_issues(store, [q for q in the_plan.queries if q.local], focus,
                                   the_plan.ext)
        if the_plan.rest is not None:
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
                        state.triples, schema, list(digests))
    report_issues = to_issues(raw, loaded, mapper.col.g)
    files: dict[str, FileState] = {}
    for name, (_, d, st) in digests.items():  # in declaration order, as the parts are cut
        corro = state.files[name].corroborates if name in state.files else []
        files[name] = FileState(d, [], corro, stat=st)
    for rid, rec in declared.items():
        files[rec.file].rids.append(rid)
    state.files = _declarations(files, state, declared, new_metas)
    for name, fs in state.files.items():
        if name in texts:
            fs.texts = texts[name]
    for rid in dirty:
        for c in declared[rid].citations:
            if c.file != declared[rid].file and rid not in state.files[c.file].corroborates:
                state.files[c.file].corroborates.append(rid)
    with progress.stage("export") as step:
        header = Namer.header_of(state.prefixes, [p for p, n in uses.items() if n > 0])
        starts: array | None = None
        if in_place:
            offsets, sizes, starts = _read_layout(root)
            marks = set(starts)
            for m in new_metas.values():
                for j, k in enumerate(m.at):  # type: ignore[arg-type]
                    offsets[k], sizes[k] = m.blocks[2 * j], abs(m.blocks[2 * j + 1])
                    marks.update((k, k + 1) if k + 1 < len(sizes) else (k,))
            starts = array("q", sorted(marks))  # the new blocks are runs of their own
        else:  # kb.ttl's order changed: every record's blocks are placed again
            metas = {rid: state.metas[rid] for rid in declared}
            offsets, sizes, order = document_order(metas.values(), state.refs.load_all())
            set_positions(metas.values(), order)
        document = blocks.document(header, offsets, sizes, starts)
        starts = blocks.starts
        blocks.close()
        moved = blocks.runs > MAX_RUNS or blocks.size > 2 * document.size + 2**20
        if moved:  # edits scattered or stale blocks piled up: store them in order again
            pos = offsets = _stacked(sizes)
            for m in state.metas.values():
                for j, k in enumerate(m.at):  # type: ignore[arg-type]
                    m.blocks[2 * j] = pos[k]
            store_in_order(root / "blocks.bin", document)
            starts = array("q", [0])
        _save_layout(root, offsets, sizes, starts)
        step.done = assembled(document.size)
    _save(root, state, dirty | gone if in_place and not moved else None,
          {node for node, n in delta.items() if n})
    del mapper
    store = _reopen(root, store)
    (root / "dirty").unlink()
    from kb.validate.report import Report
    return Built(loaded, Report(report_issues), document, store, progress.timings,
                 {"records": len(declared), "rebuilt": len(dirty),
                  "revalidated": len(focus), "triples": loaded.triples}, void=state.void)


def _declarations(files: dict[str, FileState], state: State, declared: dict[str, Record],
                  new: dict[str, Meta]) -> dict[str, FileState]:
    """Each file's declarations: a redone record's from its new Meta, the others' as they
    were (the record is in the same file, unchanged)."""
    def of(fs: FileState) -> dict[str, tuple]:
        return dict(zip(fs.rids, zip(fs.decl, fs.texts or [None] * len(fs.rids), strict=True),
                        strict=True))
    everywhere: dict[str, tuple] | None = None  # records that moved in from another file
    for name, fs in files.items():
        was = state.files.get(name)
        if was is not None and was.rids == fs.rids and new.keys().isdisjoint(fs.rids):
            fs.decl, fs.texts = was.decl, was.texts or [None] * len(fs.rids)
            continue  # the same records, none redone
        old = of(was) if was is not None else {}
        if any(rid not in old and rid not in new for rid in fs.rids):
            if everywhere is None:
                everywhere = {rid: x for f in state.files.values() for rid, x in of(f).items()}
            old = everywhere
        fs.decl = [_decl(new[rid]) if rid in new else old[rid][0] for rid in fs.rids]
        fs.texts = [old[rid][1] if rid in old else None for rid in fs.rids]
    return files
