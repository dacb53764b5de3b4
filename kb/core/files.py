"""Writing a file so that readers never see half of it; copying ranges of files in the kernel."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temp file beside path, then rename over it: readers never see half a file.
    (For one file, e.g. `kb export -o`; a build's set of files goes through kb.distdir.)"""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def copy_range(src: int, dst: int, offset: int, n: int) -> None:
    """Append `n` bytes of file `src` from `offset` to `dst` (at its position), copied by the
    kernel (copy_file_range) where the file system allows it, else through user space."""
    while n > 0:
        try:
            k = os.copy_file_range(src, dst, min(n, 1 << 30), offset)
        except OSError:  # e.g. EXDEV, ENOSYS, EINVAL
            k = os.write(dst, os.pread(src, min(n, 1 << 24), offset))
        if k <= 0:
            raise OSError(f"cannot copy {n} bytes at {offset}: the file is cut short")
        offset += k
        n -= k


@dataclass
class Spliced:
    """A file's bytes given as a head and runs of another file, held open: written out, hashed
    or read without first being put together in memory. The source must never change the
    bytes of its runs (appending to it, or renaming another file over its name, is fine)."""

    head: bytes
    source: BinaryIO
    runs: list[tuple[int, int]]  # (offset, size) in `source`, in order

    @property
    def size(self) -> int:
        return len(self.head) + sum(n for _, n in self.runs)

    def write_to(self, fd: int, head: bool = True) -> None:
        """Append the bytes (without the head if not `head`) to `fd`, copied by the kernel."""
        view = memoryview(self.head if head else b"")
        while view:
            view = view[os.write(fd, view):]
        for offset, n in self.runs:
            copy_range(self.source.fileno(), fd, offset, n)

    def chunks(self, limit: int = 1 << 22) -> Iterator[bytes]:
        """The bytes in pieces of at most `limit`."""
        yield self.head
        for offset, n in self.runs:
            while n > 0:
                got = os.pread(self.source.fileno(), min(n, limit), offset)
                if not got:
                    raise OSError(f"{self.source.name}: cut short at {offset}")
                offset += len(got)
                n -= len(got)
                yield got

    def read(self) -> bytes:
        """The bytes, in memory (tests, small KBs: a build itself never needs them whole)."""
        out = bytearray(self.size)
        out[:len(self.head)] = self.head
        view, pos = memoryview(out), len(self.head)
        for offset, n in self.runs:
            end = pos + n
            while pos < end:
                k = os.preadv(self.source.fileno(), [view[pos:end]], offset)
                if k <= 0:
                    raise OSError(f"{self.source.name}: cut short at {offset}")
                pos, offset = pos + k, offset + k
        view.release()
        return bytes(out)
