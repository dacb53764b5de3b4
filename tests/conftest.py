"""Shared fixtures: one validated build of the curated seeds per test session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kb.build.current import fingerprint, record
from kb.build.run import BuildResult, build
from kb.core.paths import ROOT, SEEDS

SHARED_TEXTS = ROOT.parent / "shared" / "seeds"


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    """Build the curated seeds once into a temporary dist/ (the real dist/ is never touched)."""
    dist = tmp_path_factory.mktemp("dist")
    return build(SEEDS, dist)


@pytest.fixture(scope="session")
def dist_dir(built: BuildResult) -> Path:
    return built.written[0].parent


@pytest.fixture(scope="session")
def current_dist(dist_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the session's validated build, stamped as current so commands reuse it."""
    dist = tmp_path_factory.mktemp("current-dist")
    for f in dist_dir.glob("*.ttl"):
        shutil.copy2(f, dist / f.name)
    record(dist, fingerprint(SEEDS))
    return dist
