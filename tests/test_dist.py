"""dist/ is replaced as one set: a killed or concurrent build never leaves a mix of two builds,
temporaries of killed builds are removed by the next one, and a reader keeps its build."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyoxigraph as ox
import pytest

from kb.build.current import STAMP
from kb.build.distdir import builds_dir, lock_path, reading, snapshot
from kb.build.run import build
from kb.core.paths import ROOT

MINI = Path(__file__).parent / "fixtures" / "mini"
VOID_TRIPLES = "http://rdfs.org/ns/void#triples"
SET = ("kb.ttl", "ontology.ttl", "void.ttl", "context.jsonld", STAMP)  # what a build writes

# Runs in a child process: validates seed sets A and B once, then, for k = 0, 1, 2, ..., forks
# a build of whichever set dist/ does not hold that SIGKILLs itself at the k-th file-system
# call it makes under OUT (a write(2) is torn in half first), until a build runs to the end.
# After each, it reports what a reader of dist/ sees.
CHILD = r"""
import hashlib, json, os, shutil, signal, sys, traceback
from pathlib import Path
import kb.build.run as b

cfg = json.loads(sys.argv[1])
out = Path(cfg["out"])
dist = out / "dist"
seeds = {"A": Path(cfg["a"]), "B": Path(cfg["b"])}
checked = {str(p): b.check(p) for p in seeds.values()}  # validated once, in this process
b.check = lambda seeds_dir, **kw: checked[str(seeds_dir)]


def memo(f):  # the serialisations too: each forked build then only writes
    made = {}

    def once(*a, **kw):
        key = (tuple(map(id, a)), tuple(sorted((k, id(v)) for k, v in kw.items())))
        return made[key] if key in made else made.setdefault(key, f(*a, **kw))
    return once


for name in ("load_ontology", "turtle", "describe"):
    setattr(b, name, memo(getattr(b, name)))
b.fingerprint = memo(b.fingerprint)  # the inputs' fingerprint too (kb/ may change meanwhile)
for name, path in seeds.items():  # reference builds
    b.build(path, out / f"ref-{name}")


def files(d):
    d = Path(os.path.realpath(d))
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.iterdir()) if p.is_file()}


refs = {name: files(out / f"ref-{name}") for name in seeds}


def reset_legacy():  # the old layout: a real dist/ directory holding build A, and more
    shutil.rmtree(out / ".dist.builds", ignore_errors=True)
    if os.path.islink(dist):
        os.unlink(dist)
    shutil.rmtree(dist, ignore_errors=True)
    shutil.copytree(out / "ref-A", dist)
    (dist / "kb.trig").write_bytes(b"an export kept in dist/\n")
    (dist / ".kb.ttl.12345.tmp").write_bytes(b"half of a killed write")
    (dist / ".readers").unlink(missing_ok=True)


WATCH = str(out) + os.sep


def inside(p, dir_fd=None):
    try:
        if isinstance(p, int):
            p = os.readlink(f"/proc/self/fd/{p}")
        elif dir_fd is not None:
            p = os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), os.fsdecode(p))
        return os.path.abspath(os.fsdecode(p)).startswith(WATCH)
    except (OSError, TypeError):
        return False


def arm(kill_at):
    seen = [0]

    def wrap(name, positions):
        real = getattr(os, name)

        def call(*args, **kw):
            fd = kw.get("dir_fd") or kw.get("dst_dir_fd")
            if any(inside(args[i], fd) for i in positions if i < len(args)):
                if seen[0] == kill_at:
                    if name == "write":
                        real(args[0], bytes(args[1])[:max(1, len(args[1]) // 2)])
                    os.kill(os.getpid(), signal.SIGKILL)
                seen[0] += 1
            return real(*args, **kw)
        setattr(os, name, call)

    for name, positions in [("open", [0]), ("write", [0]), ("fsync", [0]), ("replace", [1]),
                            ("rename", [1]), ("symlink", [1]), ("mkdir", [0]),
                            ("link", [1]), ("unlink", [0]), ("rmdir", [0]),
                            ("ftruncate", [0])]:
        wrap(name, positions)


if cfg["legacy"]:
    reset_legacy()
else:
    b.build(seeds["A"], dist)
runs = []
for k in range(cfg["limit"]):
    if cfg["legacy"]:
        reset_legacy()
    target = "B" if files(dist).get("kb.ttl") == refs["A"]["kb.ttl"] else "A"
    pid = os.fork()
    if pid == 0:
        try:
            arm(k)
            b.build(seeds[target], dist)
        except BaseException:
            traceback.print_exc()
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    killed = os.WIFSIGNALED(status)
    got = files(dist)
    here = Path(os.path.realpath(dist))
    runs.append({"k": k, "killed": killed, "code": os.waitstatus_to_exitcode(status),
                 "target": target, "files": got, "dir": str(here)})
    if not killed:
        break
print(json.dumps({"refs": refs, "runs": runs}))
"""


def seeds_b(tmp_path: Path) -> Path:
    """The mini seeds with one more alias: one more triple than MINI."""
    seeds = tmp_path / "seeds-b"
    shutil.copytree(MINI, seeds)
    people = seeds / "entities" / "all.yaml"
    old = "{id: adviser, type: person, name: The Adviser}"
    people.write_text(people.read_text().replace(
        old, "{id: adviser, type: person, name: The Adviser, aliases: [Adviser A.]}"))
    return seeds


def kb_triples(path: Path) -> int:
    store = ox.Store()
    store.load(path=str(path), format=ox.RdfFormat.TURTLE)
    return len(store)


def void_triples(path: Path) -> int:
    """void:triples of the dataset described (the largest figure: the whole KB)."""
    store = ox.Store()
    store.load(path=str(path), format=ox.RdfFormat.TURTLE)
    return max(int(q.object.value) for q in
               store.quads_for_pattern(None, ox.NamedNode(VOID_TRIPLES), None))


def assert_one_complete_build(d: Path) -> None:
    """What a user checks: the description and the stamp are those of the kb.ttl beside them."""
    assert void_triples(d / "void.ttl") == kb_triples(d / "kb.ttl")
    stamp = json.loads((d / STAMP).read_text())
    assert stamp["kb.ttl"] == hashlib.sha256((d / "kb.ttl").read_bytes()).hexdigest()


@pytest.fixture(scope="module", params=[False, True], ids=["symlinked", "old-layout"])
def killed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The runs of CHILD: from a symlinked dist/, or from a real dist/ directory (old layout,
    migrated by each build) holding an export and a temp file of a killed write."""
    tmp = tmp_path_factory.mktemp("killed")
    out = tmp / "out"
    out.mkdir()
    cfg = {"out": str(out), "a": str(MINI), "b": str(seeds_b(tmp)), "legacy": request.param,
           "limit": 200}
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(cfg)], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {**json.loads(proc.stdout.splitlines()[-1]), "out": out, "legacy": request.param}


def test_a_build_killed_anywhere_leaves_one_complete_build(killed: dict):
    refs, runs = killed["refs"], killed["runs"]
    assert refs["A"]["kb.ttl"] != refs["B"]["kb.ttl"]
    assert STAMP in refs["A"], "a build writes its stamp with the set"
    refs = {name: {k: v for k, v in files.items() if k in SET} for name, files in refs.items()}
    assert len(runs) >= 16 and not runs[-1]["killed"] and runs[-1]["code"] == 0
    before_swap = after_swap = 0
    for run in runs:
        seen = {k: v for k, v in run["files"].items() if k in SET}
        assert seen in (refs["A"], refs["B"]), f"a mix of two builds after a kill at {run}"
        if seen == refs[run["target"]]:
            after_swap += 1
        else:
            before_swap += 1
        if killed["legacy"]:  # a file a build does not make is carried over
            assert run["files"]["kb.trig"] == hashlib.sha256(
                b"an export kept in dist/\n").hexdigest(), run
    assert before_swap > 10 and after_swap > 1  # kills on both sides of the swap
    assert_one_complete_build(killed["out"] / "dist")


def test_temporaries_of_killed_builds_are_removed_by_the_next(killed: dict):
    """After the kills, the last (complete) build left the current build, the one it replaced,
    and nothing else: no temp files, no half-written build directories."""
    out = killed["out"]
    dist = out / "dist"
    leftovers = [p for p in out.rglob("*") if p.name.endswith((".tmp", ".link"))]
    assert leftovers == []
    kept = sorted(p.name for p in builds_dir(dist).iterdir())
    assert len(kept) == 3 and "lock" in kept, kept  # the lock, this build and the previous
    assert snapshot(dist).name in kept


def _kb_build(seeds: Path, dist: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "kb", "build", "--no-cache", "--quiet",
                             "--seeds", str(seeds), "--dist", str(dist)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_concurrent_builds_both_succeed_and_leave_one_set(tmp_path: Path):
    dist = tmp_path / "dist"
    b = seeds_b(tmp_path)
    procs = [_kb_build(MINI, dist), _kb_build(b, dist), _kb_build(MINI, dist)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [e for _, e in outs]
    with reading(dist) as here:
        assert_one_complete_build(here)
    assert [p.name for p in builds_dir(dist).iterdir() if p.name.endswith((".tmp", ".link"))] \
        == []


def test_a_build_waits_for_the_lock_and_says_so(tmp_path: Path):
    """While another build holds the lock, `kb build` says it waits and writes nothing."""
    dist = tmp_path / "dist"
    build(MINI, dist)
    before = (dist / "kb.ttl").read_bytes()
    lock = lock_path(dist)
    fd = os.open(lock, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.pwrite(fd, b"424242\n", 0)
    try:
        proc = _kb_build(seeds_b(tmp_path), dist)
        watchdog = threading.Timer(120, proc.kill)  # if it never says it waits
        watchdog.start()
        assert proc.stderr is not None
        said = ""
        while "waiting" not in said and (line := proc.stderr.readline()):
            said += line
        watchdog.cancel()
        assert "waiting for another build of" in said and "(pid 424242)" in said, said
        time.sleep(0.5)
        assert proc.poll() is None and (dist / "kb.ttl").read_bytes() == before
    finally:
        os.close(fd)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert (dist / "kb.ttl").read_bytes() != before
    assert_one_complete_build(dist)


def test_a_reader_keeps_reading_its_build_while_new_ones_land(tmp_path: Path):
    dist = tmp_path / "dist"
    b = seeds_b(tmp_path)
    build(MINI, dist)
    stop = threading.Event()
    errors: list[BaseException] = []
    reads = [0]

    def reader() -> None:  # reads the set again and again while builds land
        while not stop.is_set():
            try:
                with reading(dist) as here:
                    assert_one_complete_build(here)
                reads[0] += 1
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                return

    thread = threading.Thread(target=reader)
    with reading(dist) as held:
        first = {p.name: p.read_bytes() for p in held.iterdir()}
        thread.start()
        for seeds in (b, MINI, b, MINI):  # without the hold, `held` goes at the 2nd build
            build(seeds, dist)
        assert {p.name: p.read_bytes() for p in held.iterdir()} == first
        assert_one_complete_build(held)
        assert snapshot(dist) != held
    stop.set()
    thread.join()
    assert errors == [] and reads[0] > 0
    build(b, dist)  # no longer held: removed
    assert not held.exists()
    assert len([p for p in builds_dir(dist).iterdir() if p.is_dir()]) == 2


def test_dist_anywhere_and_relative(tmp_path: Path):
    """--dist takes any path; the symlink is relative, so the tree can be moved."""
    proc = subprocess.run([sys.executable, "-m", "kb", "--project", str(ROOT), "build",
                           "--no-cache", "--quiet", "--seeds", str(MINI), "--dist", "a/b/out"],
                          cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    shutil.move(tmp_path / "a", tmp_path / "moved")
    assert_one_complete_build(tmp_path / "moved" / "b" / "out")


def test_dist_under_a_symlinked_folder(tmp_path: Path):
    """Through a symlinked parent, the builds are still pruned and a held one still kept."""
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    dist = tmp_path / "link" / "dist"
    build(MINI, dist)
    with reading(dist) as held:
        for seeds in (seeds_b(tmp_path), MINI, tmp_path / "seeds-b"):
            build(seeds, dist)
        assert_one_complete_build(held)
    build(MINI, dist)
    assert not held.exists()
    assert sorted(p.is_dir() for p in builds_dir(dist).iterdir()) == [False, True, True]
    assert_one_complete_build(tmp_path / "real" / "dist")


def test_a_process_holding_its_snapshot_keeps_it_until_it_exits(tmp_path: Path):
    """What `kb serve` does (its workers load kb.ttl again when they restart)."""
    dist = tmp_path / "dist"
    build(MINI, dist)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from kb.build.distdir import snapshot; "
         "print(snapshot(Path(sys.argv[1]), hold=True), flush=True); time.sleep(600)",
         str(dist)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        held = Path(holder.stdout.readline().strip())
        for seeds in (seeds_b(tmp_path), MINI, tmp_path / "seeds-b"):
            build(seeds, dist)
        assert_one_complete_build(held)
    finally:
        holder.kill()
        holder.wait()
    build(MINI, dist)
    assert not held.exists()
