"""Shared fixtures: one validated build of the curated seeds per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.build import BuildResult, build
from kb.paths import ROOT, SEEDS

SHARED_TEXTS = ROOT.parent / "shared" / "seeds"


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    """Build the curated seeds once into a temporary dist/ (the real dist/ is never touched)."""
    dist = tmp_path_factory.mktemp("dist")
    return build(SEEDS, dist)


@pytest.fixture(scope="session")
def dist_dir(built: BuildResult) -> Path:
    return built.written[0].parent
