"""Release versions: SemVer 2.0.0 strings, their order, and the releases/ folder."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering
from pathlib import Path

from kb.core.errors import InputError
from kb.interop.void import dataset_iri

# The regular expression recommended by semver.org.
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$")


@total_ordering
@dataclass(frozen=True)
class Version:
    text: str
    core: tuple[int, int, int]
    pre: tuple[str, ...]

    def _key(self) -> tuple:
        # A pre-release sorts before its release; numeric identifiers before alphanumeric ones.
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.pre)
        return (self.core, 0 if self.pre else 1, pre)

    def __lt__(self, other: Version) -> bool:
        return self._key() < other._key()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        return self.text


def parse(text: str) -> Version:
    """A SemVer version; InputError if `text` is not one."""
    m = SEMVER.match(text)
    if not m:
        raise InputError(f"version {text!r} is not a SemVer version such as 1.2.0 or 1.2.0-rc.1")
    pre = tuple(m.group(4).split(".")) if m.group(4) else ()
    return Version(text, (int(m.group(1)), int(m.group(2)), int(m.group(3))), pre)


def releases(folder: Path) -> dict[Version, Path]:
    """The releases in `folder` (sub-folders named by a version and holding void.ttl), oldest
    first."""
    found = {}
    if folder.is_dir():
        for sub in folder.iterdir():
            if sub.is_dir() and SEMVER.match(sub.name) and (sub / "void.ttl").is_file():
                found[parse(sub.name)] = sub
    return dict(sorted(found.items()))


def find(folder: Path, text: str) -> tuple[Version, Path]:
    """The release `text` in `folder`; InputError naming the known releases if it is not there."""
    version = parse(text)
    known = releases(folder)
    for v, path in known.items():
        if v.text == version.text:
            return v, path
    names = ", ".join(str(v) for v in known) or "none"
    raise InputError(f"no release {text} in {folder} (releases: {names})")


def release_iri(version: Version | str) -> str:
    """<base>id/dataset/release/VERSION: a release of the dataset, named in VoID and patches."""
    return f"{dataset_iri()}/release/{version}"
