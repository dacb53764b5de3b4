"""`kb serve`'s query workers share one on-disk store (kb.serve.engine.DiskStore).

The KB is loaded once; each worker opens a copy of its own whose table files are hard links to
the loaded store's (one set of file pages for all). These tests hold what that must not lose:
workers answer from the store alone, the time limit still kills a runaway query and its
replacement answers, a worker on the store still cannot open a socket, and the store is
deleted when the server stops.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from multiprocessing.connection import Connection
from pathlib import Path

import pytest
from serving import LoopbackListener

from kb.query import guard
from kb.serve import engine
from kb.serve.engine import Answer, DiskStore, Engine, Job, Limits, WorkerConfig, WorkerError

ROWS = 300
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
TSV = "text/tab-separated-values"


def _count(answer: Answer) -> int:
    assert answer.status == 200, answer.body
    return int(answer.body.decode().splitlines()[1].split("^^")[0].strip('"'))


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "kb.ttl"
    path.write_text("".join(f"<urn:s{i}> <urn:p> {i} .\n" for i in range(ROWS)),
                    encoding="utf-8")
    return path


def test_workers_answer_from_the_shared_store_alone(data: Path) -> None:
    disk = DiskStore(data)
    data.unlink()  # a worker that loaded the file itself could not start now
    pool = Engine(WorkerConfig(data, Limits(timeout=30)), workers=2, disk=disk)
    try:
        pool.wait_ready()
        assert [_count(pool.run(Job(COUNT, TSV))) for _ in range(4)] == [ROWS] * 4
        copies = {w.store for w in pool._all}
        assert len(copies) == 2 and all(c is not None and c.parent == disk.folder
                                        for c in copies)
        tables = sorted(disk.path.glob("*.sst"))
        assert tables
        for copy in copies:  # the same files, not copies of them
            assert [(copy / t.name).stat().st_ino for t in tables] == [
                t.stat().st_ino for t in tables]
    finally:
        pool.close()
    assert not disk.folder.exists()  # closing the pool deletes the store


def test_a_runaway_query_is_killed_and_its_replacement_answers(data: Path) -> None:
    pool = Engine(WorkerConfig(data, Limits(timeout=1.5)), workers=1, disk=DiskStore(data))
    try:
        pool.wait_ready()
        before = {w.proc.pid for w in pool._all}
        old_copy = next(iter(pool._all)).store
        started = time.monotonic()
        answer = pool.run(Job(SLOW, TSV))
        assert answer.status == 503 and b"timed out" in answer.body
        assert 1.4 < time.monotonic() - started < 10
        after = {w.proc.pid for w in pool._all}
        assert after and not after & before  # the runaway worker is gone
        assert old_copy is not None and not old_copy.exists()  # and its copy of the store
        assert _count(pool.run(Job(COUNT, TSV))) == ROWS  # its replacement opened the store
    finally:
        pool.close()


def test_a_dataset_that_does_not_parse_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text("<urn:s> <urn:p> .\n", encoding="utf-8")
    with pytest.raises(WorkerError, match="could not load the KB"):
        DiskStore(bad, parent=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["bad.ttl"]  # nothing left behind


def _unguarded_worker(conn: Connection, config: WorkerConfig) -> None:
    """A query worker whose guard lets everything through: only the sandbox stands."""
    guard.check = lambda *args, **kwargs: None  # type: ignore[assignment]
    engine.worker_main(conn, config)


def test_a_worker_on_the_shared_store_cannot_connect(data: Path) -> None:
    listener = LoopbackListener()
    disk = DiskStore(data)
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    config = WorkerConfig(data, Limits(timeout=10), store=disk.copy())
    proc = ctx.Process(target=_unguarded_worker, args=(child, config), daemon=True)
    proc.start()
    try:
        assert parent.poll(60) and parent.recv() == ("ready", "")
        parent.send(Job(f"SELECT * WHERE {{ SERVICE <{listener.url}> {{ ?s ?p ?o }} }}"))
        assert parent.poll(30)
        answer: Answer = parent.recv()
        assert answer.status == 400 and b"no network" in answer.body
        parent.send(Job(COUNT, TSV))
        assert parent.poll(30) and _count(parent.recv()) == ROWS
    finally:
        proc.kill()
        proc.join(5)
        disk.close()
        time.sleep(0.3)
        listener.close()
    assert listener.connections == []
