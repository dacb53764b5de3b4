"""What `kb publish --since VERSION` sends: the patches from VERSION to the latest release,
composed into one, and what the store must hold before and after."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kb.core.errors import InputError, Problem
from kb.interop import rdf_patch
from kb.interop.void import dataset_iri
from kb.release.versions import Version, find, release_iri, releases

VOID_TRIPLES = "http://rdfs.org/ns/void#triples"


@dataclass(frozen=True)
class Delta:
    since: Version
    latest: Version
    latest_folder: Path
    patch: rdf_patch.Patch | None  # None: the store is to be at `since` already (latest)
    since_triples: int  # the graph's size at `since`
    triples: int  # the graph's size at `latest`
    description: list[str]  # the latest release's VoID, as N-Triples rows


def void_triples(void_ttl: Path) -> int:
    """void:triples of the dataset, as the release's void.ttl states it."""
    ds = ox.NamedNode(str(dataset_iri()))
    for t in ox.parse(path=str(void_ttl), format=ox.RdfFormat.TURTLE):
        if t.subject == ds and t.predicate.value == VOID_TRIPLES:
            return int(t.object.value)
    raise InputError(Problem(str(void_ttl), None, None, "states no void:triples of the dataset"))


def plan(folder: Path, since: str) -> Delta:
    """The composed patch from release `since` to the latest release in `folder`; InputError
    for an unknown release or a broken chain of patches."""
    version, since_folder = find(folder, since)
    known = releases(folder)
    latest = max(known)
    patches = []
    prev = release_iri(version)
    for v, path in known.items():
        if not version < v:
            continue
        file = path / "patch.rdfp"
        if not file.is_file():
            raise InputError(Problem(str(file), None, None, "missing: the patch from the "
                                     "previous release is needed to publish a delta"))
        patch = rdf_patch.read_rdf_patch(file.read_bytes(), str(file))
        if patch.prev != prev or patch.id != release_iri(v):
            raise InputError(Problem(str(file), 1, None,
                                     f"the patch goes from {patch.prev} to {patch.id}, "
                                     f"not from {prev} to {release_iri(v)}"))
        patches.append(patch)
        prev = patch.id
    return Delta(version, latest, known[latest],
                 rdf_patch.compose(patches) if patches else None,
                 void_triples(since_folder / "void.ttl"),
                 void_triples(known[latest] / "void.ttl"),
                 sorted(rdf_patch.rows_of(known[latest] / "void.ttl")))
