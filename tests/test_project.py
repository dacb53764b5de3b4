"""`kb` works on the KB it is run in (kb.toml at its root, searched upwards from the working
directory, or --project DIR), not on the folder the package is installed in."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kb.core.paths import ROOT

DATA = ("kb.toml", "seeds", "ontology", "shapes", "queries")


def kb(*args: str, cwd: Path, env: dict[str, str] | None = None
       ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kb", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env=env)


@pytest.fixture(scope="module")
def other_kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second checkout of the KB's data (no code) with one fact fewer."""
    root = tmp_path_factory.mktemp("other") / "kb"
    root.mkdir()
    for name in DATA:
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, root / name)
    (root / "notes").mkdir()
    return root


def test_kb_builds_the_kb_it_is_run_in(other_kb: Path) -> None:
    result = kb("build", "--quiet", cwd=other_kb / "notes")  # from a folder inside it
    assert result.returncode == 0, result.stderr
    assert (other_kb / "dist" / "kb.ttl").is_file()
    assert not (other_kb / "notes" / "dist").exists()
    assert str(other_kb / "dist") in result.stdout


def test_project_option_names_the_kb(other_kb: Path, tmp_path: Path) -> None:
    result = kb("--project", str(other_kb), "stats", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("triples: ")


def test_outside_a_kb_is_a_clear_error(tmp_path: Path) -> None:
    result = kb("validate", cwd=tmp_path)
    assert result.returncode == 2
    assert "not inside a KB: no kb.toml" in result.stderr
    assert "Traceback" not in result.stderr
    assert kb("--help", cwd=tmp_path).returncode == 0  # help needs no KB
    wrong = kb("--project", str(tmp_path), "validate", cwd=tmp_path)
    assert wrong.returncode == 2 and "not inside a KB" in wrong.stderr


def test_a_regular_install_builds_a_kb(other_kb: Path, tmp_path: Path) -> None:
    """The package as a wheel installs it (no editable link to this checkout) still builds."""
    wheel_dir, source = tmp_path / "wheel", tmp_path / "source"
    source.mkdir()
    for name in ("kb", "pyproject.toml", "README.md"):  # built from a copy: no build/ here
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, source / name)
    made = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                           "--no-build-isolation", "-q", "-w", str(wheel_dir), str(source)],
                          capture_output=True, text=True, timeout=600)
    assert made.returncode == 0, made.stderr
    site = tmp_path / "site"
    (wheel,) = wheel_dir.glob("kb-*.whl")
    shutil.unpack_archive(str(wheel), str(site), format="zip")
    assert (site / "kb" / "serve" / "web" / "app.js").is_file()  # package data shipped
    env = {**os.environ, "PYTHONPATH": str(site), "PYTHONSAFEPATH": "1"}
    result = subprocess.run([sys.executable, "-c", "import kb, sys; print(kb.__file__); "
                             "from kb.cli.main import main; sys.argv = ['kb', 'validate']; "
                             "main()"], cwd=other_kb, capture_output=True, text=True,
                            timeout=600, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(str(site / "kb"))
    assert "triples conform" in result.stdout
