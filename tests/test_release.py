"""`kb release` and `kb diff` on tmp copies of tests/fixtures/mini (never the repo's releases/)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner, Result
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, OWL, PROV, XSD

from kb.cli.main import main
from kb.core.errors import InputError
from kb.core.paths import ROOT
from kb.interop import rdf_patch
from kb.release import changelog
from kb.release.versions import parse

MINI = ROOT / "tests" / "fixtures" / "mini"
DS = URIRef("https://kb.example.org/id/dataset")
GRAPH = "https://kb.example.org/graph/kb"

# The edit between 1.0.0 and 1.1.0: one fact's description, a citation moved to another
# paragraph, an entity renamed.
EDITS = [
    ("facts/facts.yaml", "met at the hotel.", "met at the harbour hotel."),
    ("facts/facts.yaml", "para: 4", "para: 3"),
    ("entities/all.yaml", "name: The Fund,", "name: The Big Fund,"),
]

CHANGELOG_1_1 = """\
# Changes from 1.0.0 to 1.1.0

Triples: 20 added, 20 removed.
Entities: 0 added, 0 removed, 1 changed.
Facts: 0 added, 0 removed, 1 changed.
Citations: 1 added, 1 removed.

## Entities changed

- `fund` — Organisation, SovereignWealthFund “The Big Fund”
  - `rdfs:label`: “The Fund” → “The Big Fund”
  - `schema:name`: “The Fund” → “The Big Fund”

## Facts changed

- `envoy-meets-adviser` — Contact, Meeting “Envoy meets adviser”
  - `schema:description`: “The envoy and the adviser met at the hotel.” → \
“The envoy and the adviser met at the harbour hotel.”

## Citations added

- `envoy-meets-adviser`: src_a ¶3 “did not recall any meeting” (cannot-recall)

## Citations removed

- `envoy-meets-adviser`: src_a ¶4 “did not recall any meeting” (cannot-recall)
"""


def kb(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def edit(seeds: Path) -> None:
    for name, old, new in EDITS:
        f = seeds / name
        text = f.read_text(encoding="utf-8")
        assert old in text
        f.write_text(text.replace(old, new), encoding="utf-8")


def release(tmp: Path, version: str, *extra: str) -> Result:
    return kb("release", version, "--seeds", str(tmp / "seeds"), "--dist", str(tmp / "dist"),
              "--releases", str(tmp / "releases"), "--issued", "2026-01-01", *extra)


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Releases 1.0.0 and 1.1.0 of the mini KB, the second after EDITS."""
    tmp = tmp_path_factory.mktemp("two")
    shutil.copytree(MINI, tmp / "seeds")
    first = release(tmp, "1.0.0")
    assert first.exit_code == 0, first.output
    edit(tmp / "seeds")
    second = release(tmp, "1.1.0")
    assert second.exit_code == 0, second.output
    return tmp


def test_release_writes_the_folder(two: Path) -> None:
    r = two / "releases"
    assert sorted(p.name for p in r.iterdir()) == ["1.0.0", "1.1.0"]
    assert sorted(p.name for p in (r / "1.0.0").iterdir()) == \
        ["CHANGELOG.md", "kb.ttl", "void.ttl"]  # the first release has no patch
    assert sorted(p.name for p in (r / "1.1.0").iterdir()) == \
        ["CHANGELOG.md", "kb.ttl", "patch.rdfp", "patch.ru", "void.ttl"]
    assert (r / "1.1.0" / "CHANGELOG.md").read_text(encoding="utf-8") == CHANGELOG_1_1
    assert (r / "1.1.0" / "kb.ttl").read_bytes() == (two / "dist" / "kb.ttl").read_bytes()


def test_release_void_states_version_date_and_predecessor(two: Path) -> None:
    void = Graph().parse(two / "releases" / "1.1.0" / "void.ttl")
    assert set(void.objects(DS, OWL.versionInfo)) == {Literal("1.1.0")}
    assert set(void.objects(DS, DCTERMS.issued)) == {Literal("2026-01-01", datatype=XSD.date)}
    assert set(void.objects(DS, PROV.wasRevisionOf)) == \
        {URIRef("https://kb.example.org/id/dataset/release/1.0.0")}
    first = Graph().parse(two / "releases" / "1.0.0" / "void.ttl")
    assert set(first.objects(DS, PROV.wasRevisionOf)) == set()
    # Apart from those, the release's VoID is the build's.
    build = Graph().parse(two / "dist" / "void.ttl")
    for g in (void, build):
        g.remove((DS, OWL.versionInfo, None))
        g.remove((DS, URIRef("http://www.w3.org/ns/dcat#version"), None))
    void.remove((DS, DCTERMS.issued, None))
    void.remove((DS, PROV.wasRevisionOf, None))
    assert isomorphic(void, build)


def test_the_patches_turn_one_release_into_the_next(two: Path) -> None:
    r = two / "releases"
    old = rdf_patch.rows_of(r / "1.0.0" / "kb.ttl")
    new = rdf_patch.rows_of(r / "1.1.0" / "kb.ttl")
    patch = rdf_patch.read_rdf_patch((r / "1.1.0" / "patch.rdfp").read_bytes(), "patch.rdfp")
    assert patch.prev == "https://kb.example.org/id/dataset/release/1.0.0"
    assert patch.id == "https://kb.example.org/id/dataset/release/1.1.0"
    assert (old - set(patch.deletes)) | set(patch.adds) == new
    assert len(patch.adds) == len(patch.deletes) == 20
    # The SPARQL Update, run by Oxigraph on 1.0.0 in the named graph, gives 1.1.0.
    store = ox.Store()
    store.load(path=str(r / "1.0.0" / "kb.ttl"), format=ox.RdfFormat.TURTLE,
               to_graph=ox.NamedNode(GRAPH))
    store.update((r / "1.1.0" / "patch.ru").read_text(encoding="utf-8"))
    got = Graph().parse(data=store.dump(format=ox.RdfFormat.N_TRIPLES,
                                        from_graph=ox.NamedNode(GRAPH)), format="nt")
    assert isomorphic(got, Graph().parse(r / "1.1.0" / "kb.ttl"))


def test_release_is_byte_stable(two: Path, tmp_path: Path) -> None:
    """The same build, previous release and date give byte-identical files."""
    shutil.copytree(two / "seeds", tmp_path / "seeds")
    shutil.copytree(two / "releases" / "1.0.0", tmp_path / "releases" / "1.0.0")
    again = release(tmp_path, "1.1.0")
    assert again.exit_code == 0, again.output
    for f in (two / "releases" / "1.1.0").iterdir():
        assert (tmp_path / "releases" / "1.1.0" / f.name).read_bytes() == f.read_bytes(), f.name


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.mark.parametrize("version, message", [
    ("1.1", "not a SemVer version"),
    ("v2.0.0", "not a SemVer version"),
    ("1.1.0", "release 1.1.0 exists already"),
    ("1.0.5", "not above the latest release 1.1.0"),
    ("1.1.0-rc.1", "not above the latest release 1.1.0"),  # a pre-release comes before
])
def test_bad_versions_write_nothing(two: Path, tmp_path: Path, version: str,
                                    message: str) -> None:
    shutil.copytree(two / "seeds", tmp_path / "seeds")
    shutil.copytree(two / "releases", tmp_path / "releases")
    before = _snapshot(tmp_path / "releases")
    result = release(tmp_path, version)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert _snapshot(tmp_path / "releases") == before
    assert not (tmp_path / "dist").exists()  # refused before building


def test_a_non_conforming_kb_is_not_released(tmp_path: Path) -> None:
    shutil.copytree(MINI, tmp_path / "seeds")
    with (tmp_path / "seeds" / "entities" / "all.yaml").open("a", encoding="utf-8") as f:
        f.write("  - {id: loner, type: person, name: A Loner}\n")  # cited by nothing
    result = release(tmp_path, "1.0.0")
    assert result.exit_code == 1 and "does not conform" in result.output, result.output
    assert not (tmp_path / "releases").exists() or not any((tmp_path / "releases").iterdir())


def test_a_missing_previous_dump_is_a_clear_error(two: Path, tmp_path: Path) -> None:
    shutil.copytree(two / "seeds", tmp_path / "seeds")
    shutil.copytree(two / "releases", tmp_path / "releases")
    (tmp_path / "releases" / "1.1.0" / "kb.ttl").unlink()
    result = release(tmp_path, "1.2.0")
    assert result.exit_code == 2, result.output
    assert "1.1.0/kb.ttl: missing" in result.output and "release archive" in result.output
    assert not (tmp_path / "releases" / "1.2.0").exists()
    assert not (tmp_path / "dist").exists()  # refused before building


def test_semver_order() -> None:
    order = ["0.9.0", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta.2",
             "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.10.0", "2.0.0"]
    assert sorted(order, key=parse) == order
    with pytest.raises(InputError):
        parse("01.0.0")


# -- kb diff ---------------------------------------------------------------------------------
def diff(two: Path, *args: str) -> Result:
    return kb("diff", *args, "--releases", str(two / "releases"), "--seeds", str(two / "seeds"))


def test_diff_of_releases_is_the_release_changelog(two: Path) -> None:
    result = diff(two, "1.0.0", "1.1.0")
    assert result.exit_code == 0, result.output
    assert result.stdout == CHANGELOG_1_1
    patch = diff(two, "1.0.0", "1.1.0", "--format", "rdf-patch")
    assert patch.stdout.encode() == (two / "releases" / "1.1.0" / "patch.rdfp").read_bytes()
    update = diff(two, "1.0.0", "1.1.0", "--format", "sparql")
    assert update.stdout.encode() == (two / "releases" / "1.1.0" / "patch.ru").read_bytes()


def test_diff_of_files_and_folders(two: Path) -> None:
    old, new = two / "releases" / "1.0.0" / "kb.ttl", two / "releases" / "1.1.0"
    result = diff(two, str(old), str(new))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[2:] == CHANGELOG_1_1.splitlines()[2:]
    assert result.stdout.splitlines()[0] == f"# Changes from {old} to {new}"
    same = diff(two, str(old), "1.0.0")
    assert same.exit_code == 0 and "No changes." in same.stdout
    back = diff(two, "1.1.0", "1.0.0")
    assert "- `envoy-meets-adviser`: src_a ¶4 “did not recall any meeting” (cannot-recall)" \
        in back.stdout.split("## Citations added")[1].split("##")[0]


def test_diff_of_git_revisions(tmp_path: Path) -> None:
    """kb diff HEAD~1 HEAD builds each revision's seeds in a temporary folder."""
    repo = tmp_path / "repo"
    shutil.copytree(MINI, repo / "seeds")

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                        *args], check=True, capture_output=True)

    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "first")
    edit(repo / "seeds")
    git("commit", "-q", "-am", "second")
    (repo / "seeds" / "facts" / "facts.yaml").write_text("broken: [\n", encoding="utf-8")
    result = kb("diff", "HEAD~1", "HEAD", "--seeds", str(repo / "seeds"),
                "--releases", str(tmp_path / "none"))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[2:] == CHANGELOG_1_1.splitlines()[2:]


@pytest.mark.parametrize("make, message", [
    (lambda t: ("no-such-thing", "1.0.0"), "is neither a release"),
    (lambda t: ("9.9.9", "1.0.0"), "is neither a release"),
    (lambda t: (str(t / "bad.ttl"), "1.0.0"), "bad.ttl: not valid RDF"),
    (lambda t: (str(t / "latin1.ttl"), "1.0.0"), "latin1.ttl: not valid RDF"),
])
def test_diff_bad_input(two: Path, tmp_path: Path, make, message: str) -> None:
    (tmp_path / "bad.ttl").write_text("<a> <b> .\n", encoding="utf-8")
    (tmp_path / "latin1.ttl").write_bytes('<urn:a> <urn:b> "café" .\n'.encode("latin-1"))
    old, new = make(tmp_path)
    result = kb("diff", old, new, "--releases", str(two / "releases"),
                "--seeds", str(tmp_path))
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_diff_of_a_revision_that_does_not_build(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(MINI, repo / "seeds")
    (repo / "seeds" / "facts" / "facts.yaml").write_text("facts: [\n", encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-q", "--allow-empty", "-m", "empty"], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-q", "-m", "broken"], check=True)
    result = kb("diff", "HEAD~1", "HEAD", "--seeds", str(repo / "seeds"),
                "--releases", str(tmp_path / "none"))
    assert result.exit_code == 2, result.output
    assert "HEAD~1: git has no seeds/ at that revision" in result.output
    result = kb("diff", "HEAD", str(repo / "seeds"), "--seeds", str(repo / "seeds"),
                "--releases", str(tmp_path / "none"))
    assert result.exit_code == 2, result.output
    assert "HEAD: the seeds at that revision do not build" in result.output


@pytest.mark.parametrize("text, line, message", [
    ("H id <urn:a> .\nTX .\nA <urn:s> <urn:p> .\nTC .\n", 3, "not an N-Triples triple"),
    ("H id <urn:a> .\nQ <urn:s> <urn:p> <urn:o> .\n", 2, "unknown row code 'Q'"),
    ("TX .\nA <urn:s> <urn:p> <urn:o> .\n", None, "no 'H id' header"),
])
def test_bad_patches(text: str, line: int | None, message: str) -> None:
    with pytest.raises(InputError) as caught:
        rdf_patch.read_rdf_patch(text.encode(), "p.rdfp")
    problem = caught.value.problems[0]
    assert (problem.file, problem.line) == ("p.rdfp", line) and message in problem.message


def test_compose_is_applying_in_order() -> None:
    a, b, c = "<urn:a> <urn:p> <urn:o>", "<urn:b> <urn:p> <urn:o>", "<urn:c> <urn:p> <urn:o>"
    start = {a, b}
    p1 = rdf_patch.diff(start, {b, c}, "urn:1", "urn:0")
    p2 = rdf_patch.diff({b, c}, {a, c}, "urn:2", "urn:1")
    both = rdf_patch.compose([p1, p2])
    assert (both.prev, both.id) == ("urn:0", "urn:2")
    assert (start - set(both.deletes)) | set(both.adds) == {a, c}


def test_block_wise_comparison_equals_the_whole_parse(two: Path, tmp_path: Path) -> None:
    """dumps.compare parses only the blocks that differ; the answer must be the whole parse's,
    including a literal holding a blank line and a block added at the end."""
    from kb.release.dumps import compare

    def nt(src: Path, name: str) -> Path:
        out = tmp_path / name
        out.write_text("".join(f"{r} .\n" for r in sorted(rdf_patch.rows_of(src))),
                       encoding="utf-8")
        return out

    old, new = two / "releases" / "1.0.0" / "kb.ttl", two / "releases" / "1.1.0" / "kb.ttl"
    fast = compare(old, new)
    slow = compare(nt(old, "old.nt"), nt(new, "new.nt"))  # no blocks: parsed whole
    assert fast[:2] == slow[:2]
    assert changelog.markdown(fast[2], "a", "b") == changelog.markdown(slow[2], "a", "b")
    text = new.read_text(encoding="utf-8")
    odd = tmp_path / "odd.ttl"
    odd.write_text(text.replace('schema:name "The Big Fund"',
                                'schema:name """The Big\n\n.\nFund"""') +
                   "\nkb:zz-new\n    schema:name \"Z\" ;\n.\n", encoding="utf-8")
    fast = compare(new, odd)
    slow = compare(nt(new, "new.nt"), nt(odd, "odd.nt"))
    assert fast[:2] == slow[:2] and len(fast[0]) == 1 and len(fast[1]) == 2
    assert changelog.markdown(fast[2], "a", "b") == changelog.markdown(slow[2], "a", "b")
