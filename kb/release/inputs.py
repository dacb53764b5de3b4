"""What `kb diff` compares: a release, a kb.ttl (or .nt) file, a folder holding kb.ttl, or a
git revision whose seeds are built in a temporary folder (with today's ontology and shapes)."""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
import urllib.parse
from contextlib import ExitStack
from pathlib import Path

from kb.build.run import build
from kb.core.errors import InputError, KBError
from kb.release.make import dump_of as release_dump
from kb.release.versions import SEMVER, find, release_iri


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=False)


def _revision(arg: str, root: Path) -> str | None:
    """The commit `arg` names in the git repository at `root`, or None."""
    if arg.startswith("-"):
        return None
    try:
        done = _git(root, "rev-parse", "--verify", "--quiet", f"{arg}^{{commit}}")
    except OSError:  # no git
        return None
    return done.stdout.decode().strip() if done.returncode == 0 else None


def dump_at_revision(commit: str, arg: str, root: Path, seeds_dir: Path, tmp: Path) -> Path:
    """Build the seeds of `commit` in the folder `tmp`; the kb.ttl built."""
    top = _git(root, "rev-parse", "--show-toplevel").stdout.decode().strip()
    try:
        rel = seeds_dir.resolve().relative_to(Path(top).resolve()).as_posix()
    except ValueError:
        raise InputError(f"{seeds_dir} is not inside the git repository {top}") from None
    archive = _git(Path(top), "archive", "--format=tar", commit, "--", rel)
    if archive.returncode != 0:
        raise InputError(f"{arg}: git has no {rel}/ at that revision: "
                         f"{archive.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(tmp, filter="data")
    try:
        build(tmp / rel, tmp / "dist")
    except KBError as exc:
        raise InputError(f"{arg}: the seeds at that revision do not build:\n{exc}") from None
    return tmp / "dist" / "kb.ttl"


def dump_of(arg: str, releases: Path, root: Path, seeds_dir: Path, stack: ExitStack) -> Path:
    """The kb.ttl `arg` names: a release in `releases`, a file or folder, or a git revision
    (built in a temporary folder that lives as long as `stack`)."""
    if SEMVER.match(arg) and (releases / arg).is_dir():
        _, folder = find(releases, arg)
        return release_dump(folder)
    path = Path(arg)
    if path.is_dir():
        path = path / "kb.ttl"
    if path.is_file():
        return path
    commit = _revision(arg, root)
    if commit is not None:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kb-diff-")))
        return dump_at_revision(commit, arg, root, seeds_dir, tmp)
    raise InputError(f"{arg!r} is neither a release in {releases}, a kb.ttl file or folder, "
                     "nor a git revision")


def input_iri(arg: str) -> str:
    """An IRI for the header of a patch between inputs: a release's IRI, else a URN."""
    if SEMVER.match(arg):
        return release_iri(arg)
    return "urn:kb:input:" + urllib.parse.quote(arg, safe="")
