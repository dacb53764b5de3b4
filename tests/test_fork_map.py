"""A cold build maps records on two cores (kb.build.fork_map): same kb.ttl and same messages as
one process, and one process again when rdflib would make up a prefix."""

from __future__ import annotations

import pytest

from kb.bench.synth import generate
from kb.build import fork_map
from kb.build.pipeline import check_fast
from kb.rdf.turtle import Namer


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory):
    """600 synthetic facts in files of 40, every rule broken once: many spans per worker."""
    return generate(tmp_path_factory.mktemp("forkmap"), 600, per_rule=1, per_file=40)


def _messages(built) -> list[str]:
    return [str(i) for i in built.report.issues]


@pytest.fixture(scope="module")
def alone(synth):
    return check_fast(synth.seeds, jobs=1)


def test_two_workers_write_what_one_process_writes(synth, alone) -> None:
    two = check_fast(synth.seeds, jobs=2)
    assert two.kb_ttl == alone.kb_ttl
    assert _messages(two) == _messages(alone)
    assert _messages(alone)  # the injected violations are there to compare


def test_a_made_up_prefix_falls_back_to_one_process(synth, alone, monkeypatch) -> None:
    from kb.build import stages
    runs: list[int] = []
    full = stages.full

    def counted(*args, **kwargs):
        runs.append(args[4])  # jobs
        return full(*args, **kwargs)
    monkeypatch.setattr(stages, "full", counted)
    monkeypatch.setattr(Namer, "made_up", lambda self: True)  # as if rdflib had made one up
    again = check_fast(synth.seeds, jobs=2)
    assert runs == [2, 1]  # started on two workers, built again in one process
    assert again.kb_ttl == alone.kb_ttl
    assert _messages(again) == _messages(alone)


def test_spans_keep_to_one_seed_file_and_cover_every_record(synth) -> None:
    from kb.seeds.check import read_seeds
    records = list(read_seeds(synth.seeds).records.values())
    got = fork_map.spans(records, size=7)
    assert [i for a, b in got for i in range(a, b)] == list(range(len(records)))
    assert all(len({r.file for r in records[a:b]}) == 1 and b - a <= 7 for a, b in got)
    assert len({records[a].file for a, _ in got}) > 10
