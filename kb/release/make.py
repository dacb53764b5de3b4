"""`kb release VERSION`: the validated build, frozen into releases/VERSION/.

The folder holds kb.ttl (the full dump), void.ttl (the build's description with the release's
version, dcterms:issued and prov:wasRevisionOf the previous release), CHANGELOG.md (from the
previous release) and the patch from the previous release as RDF Patch (patch.rdfp) and as
SPARQL Update (patch.ru). It is written into a hidden temporary folder and renamed into
place, so a release is there complete or not at all. The same build, version, previous
release and date give byte-identical files.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from rdflib import OWL, XSD, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV

from kb.build.distdir import snapshot
from kb.build.run import current_build
from kb.core.errors import InputError, Problem
from kb.interop import rdf_patch
from kb.interop.formats import turtle
from kb.interop.void import DCAT3, dataset_iri
from kb.release import changelog
from kb.release.dumps import compare
from kb.release.versions import Version, parse, release_iri, releases
from kb.seeds.schema import load_schema

FILES = ("kb.ttl", "void.ttl", "CHANGELOG.md", "patch.rdfp", "patch.ru")


@dataclass(frozen=True)
class Released:
    folder: Path
    previous: Version | None
    changes: changelog.Changes


def default_graph() -> str:
    """The graph `kb publish` writes by default, named in patch.ru."""
    return f"{load_schema().base}graph/kb"


def issued_today() -> date:
    """Today (UTC), or the day of SOURCE_DATE_EPOCH when set (reproducible builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    now = datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC)
    return now.date()


def release_void(void_ttl: bytes, version: Version, issued: date,
                 previous: Version | None) -> bytes:
    """The build's VoID with the release's version, issue date and predecessor."""
    g = Graph().parse(data=void_ttl, format="turtle")
    ds = dataset_iri()
    for p in (OWL.versionInfo, DCAT3.version):
        g.remove((ds, p, None))
        g.add((ds, p, Literal(str(version))))
    g.add((ds, DCTERMS.issued, Literal(issued.isoformat(), datatype=XSD.date)))
    g.bind("prov", PROV, override=True, replace=True)
    if previous is not None:
        g.add((ds, PROV.wasRevisionOf, URIRef(release_iri(previous))))
    return turtle(g)


def dump_of(folder: Path) -> Path:
    """A release's kb.ttl; InputError saying how to restore it if it is missing."""
    kb_ttl = folder / "kb.ttl"
    if not kb_ttl.is_file():
        raise InputError(Problem(str(kb_ttl), None, None,
                                 "missing: the full dump is kept out of git (releases/README.md)"
                                 "; restore it from the release archive, or rebuild it with "
                                 "`kb build` at the release's commit and copy dist/kb.ttl"))
    return kb_ttl


def release(text: str, seeds_dir: Path, dist: Path, folder: Path,
            issued: date | None = None) -> Released:
    """Build (if dist/ is not current), then write folder/VERSION/. InputError (nothing
    written) for a bad, existing or non-increasing version."""
    version = parse(text)
    known = releases(folder)
    if any(v.text == text for v in known) or (folder / text).exists():
        raise InputError(Problem(str(folder / text), None, None,
                                 f"release {text} exists already; pick a new version"))
    previous = max(known) if known else None
    if previous is not None and not previous < version:
        raise InputError(f"version {text} is not above the latest release {previous}")
    old_dump = dump_of(known[previous]) if previous is not None else None  # before building
    current_build(seeds_dir, dist)
    build = snapshot(dist)
    kb_ttl = (build / "kb.ttl").read_bytes()
    void_ttl = (build / "void.ttl").read_bytes()
    if old_dump is not None:
        removed, added, changes = compare(old_dump, build / "kb.ttl")
    else:
        removed, added = set(), rdf_patch.rows_of(build / "kb.ttl")
        changes = changelog.compute(removed, added)
    files = {
        "kb.ttl": kb_ttl,
        "void.ttl": release_void(void_ttl, version, issued or issued_today(), previous),
        "CHANGELOG.md": changelog.markdown(
            changes, str(previous) if previous else "an empty KB", str(version)).encode(),
    }
    if previous is not None:
        patch = rdf_patch.Patch(release_iri(version), release_iri(previous),
                                tuple(sorted(removed)), tuple(sorted(added)))
        files["patch.rdfp"] = rdf_patch.to_rdf_patch(patch)
        files["patch.ru"] = rdf_patch.to_sparql_update(patch, default_graph()).encode()
    folder.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{text}.", dir=folder))
    try:
        tmp.chmod(0o755)
        for name, data in files.items():
            (tmp / name).write_bytes(data)
        os.rename(tmp, folder / text)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Released(folder / text, previous, changes)
