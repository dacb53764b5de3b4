"""The one pipeline: plan the shapes, then build with the build cache or from scratch.

`check_fast` reads the seeds, maps them to RDF, validates them and assembles kb.ttl; with a
cache folder only what an edit touched is redone (kb.build.cache), else everything
(kb.build.stages). The shapes' plan is made once per process and kept in the cache.
"""

from __future__ import annotations

import pickle
from pathlib import Path

from kb.build.cache import cached_build, fingerprint
from kb.build.stages import Built, default_jobs, uncached
from kb.core.files import write_atomic
from kb.core.paths import ONTOLOGY, SEEDS, SHAPES_DIR
from kb.core.progress import Progress
from kb.rdf.ontology import load_ontology
from kb.seeds.schema import load_schema
from kb.validate.report import load_shapes
from kb.validate.rules import Plan, plan

_PLANS: dict[tuple, Plan] = {}


def _plan(engine: str, cache_dir: Path | None = None) -> Plan:
    """The shapes' plan, made once per process for the same shapes and ontology (and kept in
    the build cache, if given, for the next process: making it parses ~20 SPARQL queries)."""
    key = (engine, *((p, p.stat().st_mtime_ns, p.stat().st_size)
                     for p in [ONTOLOGY, *sorted(SHAPES_DIR.glob("*.ttl"))]))
    if key not in _PLANS:
        _PLANS.clear()
        _PLANS[key] = _stored_plan(engine, cache_dir) if cache_dir is not None else \
            plan(load_shapes(), load_ontology(), engine)
    return _PLANS[key]


def _stored_plan(engine: str, cache_dir: Path) -> Plan:
    path = cache_dir / f"plan-{fingerprint(engine)[:24]}.pickle"
    try:
        got = pickle.loads(path.read_bytes())
        if isinstance(got, Plan):
            return got
    except Exception:  # noqa: BLE001 - missing or unreadable: made again
        pass
    made = plan(load_shapes(), load_ontology(), engine)
    for old in cache_dir.glob("plan-*.pickle"):
        old.unlink(missing_ok=True)
    write_atomic(path, pickle.dumps(made, pickle.HIGHEST_PROTOCOL))
    return made


def check_fast(seeds_dir: Path = SEEDS, *, cache_dir: Path | None = None,
               jobs: int | None = None, progress: Progress | None = None,
               engine: str = "sparql") -> Built:
    """Load and validate the seeds, and serialise dist/kb.ttl, the fast way."""
    progress = progress or Progress(quiet=True)
    jobs = jobs or default_jobs()
    schema = load_schema()
    with progress.stage("plan", say=False):
        the_plan = _plan(engine, cache_dir)
    if cache_dir is not None:
        return cached_build(seeds_dir, cache_dir, schema, the_plan, engine, jobs, progress)
    return uncached(seeds_dir, schema, the_plan, jobs, progress)


