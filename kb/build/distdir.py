"""dist/ replaced as one set: every build goes to a fresh directory that is swapped in at once.

`dist` is a symlink to `.<dist>.builds/<id>/` beside it. A build writes all its files into a new
directory there, then renames a new symlink over `dist` (rename(2) is atomic), all under a lock
(`.<dist>.builds/lock`, fcntl.flock) so that concurrent builds queue. A reader resolves the
symlink once (`snapshot`) and reads every file from that directory, so it always sees one
complete build. The previous build is kept until the next one lands (a reader may still be
reading it); older ones, and whatever a killed build left, are removed by the next build,
except a build some process holds (`snapshot(hold=True)`, e.g. `kb serve`, whose query workers
load it again when they restart). A real `dist/` directory (the old layout) is moved into
`.<dist>.builds/` by the first build; files in dist/ that a build does not make (e.g. a
`kb export -o dist/kb.trig`) are carried over to the next build.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import secrets
import shutil
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

from kb.core.files import Spliced

READERS = ".readers"  # in each build directory: readers hold a shared flock on it
LOCK = "lock"
CHUNK = 1 << 20  # bytes per write(2)
_HELD: list[int] = []  # descriptors of builds this process holds until it exits


def builds_dir(dist: Path) -> Path:
    """Where the build directories of `dist` live: `.<name>.builds/` beside it."""
    dist = _absolute(dist)
    return dist.parent / f".{dist.name}.builds"


def lock_path(dist: Path) -> Path:
    """The lock file that concurrent builds of `dist` queue on."""
    return builds_dir(dist) / LOCK


def _absolute(dist: Path) -> Path:
    """dist as an absolute path with its parent resolved (realpath compares equal)."""
    path = Path(os.path.abspath(dist))
    return Path(os.path.realpath(path.parent)) / path.name


def _root(dist: Path) -> Path:
    """builds_dir(dist), resolved: the parent of every build directory realpath gives."""
    return Path(os.path.realpath(builds_dir(dist)))


def snapshot(dist: Path, *, hold: bool = False) -> Path:
    """The directory holding dist's current build, resolved once: read every file of one build
    from it. hold: keep that build from being removed by later builds while this process
    lives (for a long-running reader)."""
    dist = _absolute(dist)
    while True:
        here = Path(os.path.realpath(dist))
        if not hold or here.parent != _root(dist):  # the old layout: nothing to hold
            return here
        fd = _hold(here)
        if fd is not None:
            _HELD.append(fd)
            return here


@contextmanager
def reading(dist: Path) -> Iterator[Path]:
    """snapshot(dist), kept from removal until the block ends."""
    dist = _absolute(dist)
    while True:
        here = Path(os.path.realpath(dist))
        if here.parent != _root(dist):
            yield here
            return
        fd = _hold(here)
        if fd is not None:
            break
    try:
        yield here
    finally:
        os.close(fd)


def _hold(build: Path) -> int | None:
    """A shared lock on a build directory, or None if it was removed in the meantime."""
    try:
        fd = os.open(build / READERS, os.O_RDONLY)
    except FileNotFoundError:
        return None
    fcntl.flock(fd, fcntl.LOCK_SH)
    if (build / READERS).exists():  # not removed while we waited for the lock
        return fd
    os.close(fd)
    return None


@contextmanager
def locked(dist: Path) -> Iterator[None]:
    """Hold dist's build lock; if another build holds it, say so on stderr and wait."""
    path = lock_path(dist)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            who = f" (pid {holder})" if holder.isdigit() else ""
            print(f"waiting for another build of {_absolute(dist)}{who} to finish",
                  file=sys.stderr, flush=True)
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def write_set(dist: Path, files: Mapping[str, bytes | Path | Spliced]) -> Path:
    """Write `files` (name -> bytes, a finished file to link or copy, or a Spliced one to copy
    in the kernel) as dist's new build and swap it in as one set.

    Under the lock: the files go into a fresh build directory (each fsynced), then one rename
    makes `dist` point at it; then earlier builds but the one just replaced, and leftovers of
    killed builds, are removed. Returns the new build directory."""
    dist = _absolute(dist)
    with locked(dist):
        root = _root(dist)
        new = root / _new_id()
        new.mkdir()
        try:
            _write(new / READERS, b"")
            for name, data in files.items():
                _write(new / name, data)
            previous = Path(os.path.realpath(dist)) if os.path.lexists(dist) else None
            if previous is not None and previous.is_dir():
                _carry_over(previous, new, set(files))
            _fsync_dir(new)
            previous = _swap(dist, new)
        except BaseException:
            shutil.rmtree(new, ignore_errors=True)
            raise
        _prune(root, keep={new, *([previous] if previous else [])})
    return new


def _new_id() -> str:
    """Sortable by time; unique across processes."""
    return f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{secrets.token_hex(4)}"


def _write(path: Path, data: bytes | Path | Spliced) -> None:
    if isinstance(data, Path):
        _link_or_copy(str(data), str(path))
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        if isinstance(data, bytes):
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view[:CHUNK]):]
        else:
            data.write_to(fd)
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _carry_over(previous: Path, new: Path, made: set[str]) -> None:
    """Files in dist/ that no build makes (e.g. exports written there) go on to the new build,
    as hard links; temporaries of killed writes do not."""
    for entry in sorted(previous.iterdir()):
        name = entry.name
        if name in made or name == READERS or (name.startswith(".") and name.endswith(".tmp")):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, new / name, symlinks=True, copy_function=_link_or_copy)
        else:
            _link_or_copy(str(entry), str(new / name))


def _link_or_copy(src: str, dst: str) -> None:
    if os.path.islink(src):
        os.symlink(os.readlink(src), dst)
        return
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _swap(dist: Path, new: Path) -> Path | None:
    """Make `dist` a symlink to `new` in one rename; returns the build it pointed to (a real
    dist/ directory is moved into the builds directory first, and that is returned)."""
    root = new.parent
    link = root / f"{new.name}.link"
    os.symlink(os.path.relpath(new, dist.parent), link)
    if os.path.isdir(dist) and not os.path.islink(dist):  # the old layout: a real directory
        legacy = root / f"legacy-{new.name}"
        if _exchange(link, dist):  # dist is the symlink now, `link` the old directory
            os.rename(link, legacy)
        else:  # no renameat2: dist is missing for an instant
            os.rename(dist, legacy)
            os.rename(link, dist)
        for tmp in legacy.glob(".*.tmp"):  # what killed writes of the old layout left
            tmp.unlink(missing_ok=True)
        previous: Path | None = legacy
    else:
        previous = Path(os.path.realpath(dist)) if os.path.lexists(dist) else None
        os.replace(link, dist)
    _fsync_dir(dist.parent)
    return previous


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    fn = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if fn is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _prune(root: Path, keep: set[Path]) -> None:
    """Remove from the builds directory everything but the lock, `keep`, and builds a reader
    holds: older builds, half-written ones and temporary links of killed builds."""
    for entry in sorted(root.iterdir()):
        if entry.name == LOCK or entry in keep:
            continue
        if entry.is_symlink() or not entry.is_dir():
            with suppress(FileNotFoundError):
                entry.unlink()
            continue
        try:
            fd = os.open(entry / READERS, os.O_RDONLY)
        except FileNotFoundError:  # half-written, or an old-layout dist/
            shutil.rmtree(entry, ignore_errors=True)
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # a reader holds it
            os.close(fd)
            continue
        try:
            (entry / READERS).unlink()  # first: a reader waiting on it then looks again
            shutil.rmtree(entry, ignore_errors=True)
        finally:
            os.close(fd)
