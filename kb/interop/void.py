"""The dataset description (VoID and DCAT), computed from the graph on every build.

Counts, classes, vocabularies, sources and links come from the graph; the version and licence
from the ontology; title, publisher and locations from ontology/dataset.yaml. Every node has an
IRI under <base>id/dataset, so the description has no blank nodes and is byte-stable.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from rdflib import OWL, RDF, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, VOID

from kb.core.paths import DATASET
from kb.interop.context import context_iri
from kb.seeds.fast_yaml import read_yaml_fast
from kb.seeds.schema import load_schema

DATASET_ID = "dataset"
DCAT3 = Namespace(str(DCAT))  # DCAT 3 terms (dcat:version) that rdflib's closed DCAT lacks


@dataclass(frozen=True)
class Distribution:
    name: str
    title: str
    file: str
    media_type: str
    format: str | None
    conforms_to: str | None
    dump: bool  # a full RDF dump of the dataset (void:dataDump), not a lossy view


@dataclass(frozen=True)
class LinkTarget:
    name: str
    title: str
    homepage: str
    uri_space: str
    description: str


@dataclass(frozen=True)
class DatasetMeta:
    """What ontology/dataset.yaml says about the dataset."""

    title: str
    description: str
    publisher: str
    sparql_endpoint: str
    download: str
    distributions: tuple[Distribution, ...]
    link_targets: tuple[LinkTarget, ...]


@lru_cache(maxsize=4)
def load_meta(path: Path = DATASET) -> DatasetMeta:
    raw: Any = read_yaml_fast(path)
    dists = tuple(
        Distribution(name, str(d["title"]), str(d["file"]), str(d["media_type"]),
                     d.get("format"), d.get("conforms_to"), d.get("dump") == "yes")
        for name, d in raw["distributions"].items())
    targets = tuple(
        LinkTarget(name, str(t["title"]), str(t["homepage"]), str(t["uri_space"]),
                   str(t["description"]))
        for name, t in raw["link_targets"].items())
    return DatasetMeta(str(raw["title"]), str(raw["description"]), str(raw["publisher"]),
                       str(raw["sparql_endpoint"]), str(raw["download"]), dists, targets)


def dataset_iri() -> URIRef:
    """<base>id/dataset: the dataset; every other node of the description lies under it."""
    return URIRef(load_schema().id_iri(DATASET_ID))


def description_graph_iri() -> URIRef:
    """The named graph the description goes in, in the TriG export."""
    return URIRef(f"{dataset_iri()}/description")


def _node(*parts: str) -> URIRef:
    return URIRef("/".join([str(dataset_iri()), *parts]))


def _prefixes() -> dict[str, str]:
    return {**load_schema().prefixes, "rdf": str(RDF)}


def term_slug(iri: URIRef) -> str:
    """A stable IRI segment for a term: kbo:Person -> Person, prov:Agent -> prov-Agent."""
    s = str(iri)
    kbo = load_schema().kbo
    if s.startswith(kbo) and re.fullmatch(r"[A-Za-z0-9_-]+", s[len(kbo):]):
        return s[len(kbo):]
    for prefix, ns in sorted(_prefixes().items()):
        local = s[len(ns):]
        if s.startswith(ns) and re.fullmatch(r"[A-Za-z0-9_-]+", local):
            return f"{prefix}-{local}"
    return re.sub(r"[^A-Za-z0-9]+", "-", s).strip("-")


def vocabulary_of(iri: URIRef) -> str:
    """The namespace a term belongs to: up to its '#', or its last '/'."""
    s = str(iri)
    return s[: s.index("#") + 1] if "#" in s else s[: s.rindex("/") + 1]


@dataclass(frozen=True)
class Figures:
    """The counts the description states, all computed from the graph."""

    triples: int
    entities: int  # curated records: subjects of kbo:identifier
    distinct_subjects: int
    distinct_objects: int
    classes: dict[URIRef, int]  # class -> instances (asserted rdf:type)
    properties: dict[URIRef, int]  # property -> triples
    links: dict[str, int]  # link target name -> owl:sameAs triples
    sources: tuple[URIRef, ...]
    vocabularies: tuple[str, ...]


def figures(graph: Graph, targets: tuple[LinkTarget, ...] | None = None) -> Figures:
    """Count the graph. Raises ValueError for an owl:sameAs link into no declared target."""
    targets = targets if targets is not None else load_meta().link_targets
    kbo = Namespace(load_schema().kbo)
    instances: dict[URIRef, set] = {}
    for s, o in graph.subject_objects(RDF.type):
        instances.setdefault(o, set()).add(s)
    props = Counter(p for _, p, _ in graph)
    links: dict[str, int] = {t.name: 0 for t in targets}
    for s, o in graph.subject_objects(OWL.sameAs):
        hit = [t for t in targets if str(o).startswith(t.uri_space)]
        if not hit:
            raise ValueError(f"owl:sameAs {o} from {s} points into no declared link target "
                             f"(ontology/dataset.yaml link_targets)")
        links[hit[0].name] += 1
    vocabs = {vocabulary_of(p) for p in props} | {vocabulary_of(c) for c in instances}
    return Figures(
        triples=len(graph),
        entities=len(set(graph.subjects(kbo.identifier, None))),
        distinct_subjects=len(set(graph.subjects())),
        distinct_objects=len(set(graph.objects())),
        classes={c: len(s) for c, s in sorted(instances.items())},
        properties=dict(sorted(props.items())),
        links=links,
        sources=tuple(sorted(graph.subjects(RDF.type, kbo.SourceDocument))),
        vocabularies=tuple(sorted(vocabs)),
    )


def _ontology_header(ontology: Graph) -> tuple[URIRef, str, URIRef]:
    """The ontology's IRI, owl:versionInfo and dcterms:license."""
    onto = next(iter(sorted(ontology.subjects(RDF.type, OWL.Ontology))), None)
    if onto is None:
        raise ValueError("the ontology has no owl:Ontology header")
    version = ontology.value(onto, OWL.versionInfo)
    licence = ontology.value(onto, DCTERMS.license)
    if version is None or licence is None:
        raise ValueError(f"the ontology header {onto} lacks owl:versionInfo or dcterms:license")
    return URIRef(onto), str(version), URIRef(licence)


def describe(graph: Graph, ontology: Graph, meta: DatasetMeta | None = None,
             counted: Figures | None = None) -> Graph:
    """The VoID/DCAT description of `graph`, a graph of its own (never added to the KB).

    `counted`: the graph's figures when already known (kb.voidcounts keeps them for large KBs;
    `graph` then only has to answer whether it holds the dataset's own IRI)."""
    meta = meta or load_meta()
    base = load_schema().base
    ds = dataset_iri()
    if (ds, None, None) in graph:
        raise ValueError(f"{ds} is reserved for the dataset description; rename that record")
    f = counted if counted is not None else figures(graph, meta.link_targets)
    onto, version, licence = _ontology_header(ontology)
    g = Graph()
    for prefix, ns in [("void", VOID), ("dcat", DCAT), ("dcterms", DCTERMS), ("foaf", FOAF),
                       ("owl", OWL), ("xsd", XSD), ("kb", base + "id/"), *_prefixes().items()]:
        g.bind(prefix, ns, override=True, replace=True)

    def add(s: URIRef, p: URIRef, o: Any) -> None:
        g.add((s, p, o))

    def count(n: int) -> Literal:
        return Literal(n, datatype=XSD.integer)

    add(ds, RDF.type, VOID.Dataset)
    add(ds, RDF.type, DCAT.Dataset)
    add(ds, DCTERMS.title, Literal(meta.title, lang="en"))
    add(ds, DCTERMS.description, Literal(meta.description, lang="en"))
    add(ds, DCTERMS.license, licence)
    add(ds, OWL.versionInfo, Literal(version))
    add(ds, DCAT3.version, Literal(version))
    add(ds, DCTERMS.conformsTo, onto)
    publisher = _node("publisher")
    add(ds, DCTERMS.publisher, publisher)
    add(publisher, RDF.type, FOAF.Agent)
    add(publisher, FOAF.name, Literal(meta.publisher))
    for src in f.sources:
        add(ds, DCTERMS.source, src)
    add(ds, VOID.uriSpace, Literal(base + "id/"))
    endpoint = URIRef(base + meta.sparql_endpoint)
    add(ds, VOID.sparqlEndpoint, endpoint)
    service = _node("sparql")
    add(service, RDF.type, DCAT.DataService)
    add(service, DCAT.endpointURL, endpoint)
    add(service, DCAT.servesDataset, ds)
    add(service, DCTERMS.conformsTo, URIRef("https://www.w3.org/TR/sparql11-protocol/"))
    add(ds, DCAT.accessService, service)
    for d in meta.distributions:
        node = _node("distribution", d.name)
        url = URIRef(base + meta.download + d.file)
        add(ds, DCAT.distribution, node)
        add(node, RDF.type, DCAT.Distribution)
        add(node, DCTERMS.title, Literal(d.title, lang="en"))
        add(node, DCAT.downloadURL, url)
        add(node, DCAT.mediaType,
            URIRef(f"https://www.iana.org/assignments/media-types/{d.media_type}"))
        add(node, DCTERMS.license, licence)
        if d.format:
            add(node, DCTERMS.format, URIRef(d.format))
        if d.dump:
            add(ds, VOID.dataDump, url)
            if d.format:
                add(ds, VOID.feature, URIRef(d.format))
        if d.conforms_to:
            add(node, DCTERMS.conformsTo,
                URIRef(context_iri() if d.conforms_to == "context" else d.conforms_to))
    for vocab in f.vocabularies:
        add(ds, VOID.vocabulary, URIRef(vocab))
    add(ds, VOID.triples, count(f.triples))
    add(ds, VOID.entities, count(f.entities))
    add(ds, VOID.distinctSubjects, count(f.distinct_subjects))
    add(ds, VOID.distinctObjects, count(f.distinct_objects))
    add(ds, VOID.classes, count(len(f.classes)))
    add(ds, VOID.properties, count(len(f.properties)))
    for cls, n in f.classes.items():
        node = _node("class", term_slug(cls))
        add(ds, VOID.classPartition, node)
        add(node, VOID["class"], cls)
        add(node, VOID.entities, count(n))
    for prop, n in f.properties.items():
        node = _node("property", term_slug(prop))
        add(ds, VOID.propertyPartition, node)
        add(node, VOID.property, prop)
        add(node, VOID.triples, count(n))
    for t in meta.link_targets:
        target = _node("target", t.name)
        add(target, RDF.type, VOID.Dataset)
        add(target, DCTERMS.title, Literal(t.title))
        add(target, FOAF.homepage, URIRef(t.homepage))
        add(target, VOID.uriSpace, Literal(t.uri_space))
        ls = _node("linkset", t.name)
        add(ds, VOID.subset, ls)
        add(ls, RDF.type, VOID.Linkset)
        add(ls, DCTERMS.description, Literal(t.description, lang="en"))
        add(ls, VOID.subjectsTarget, ds)
        add(ls, VOID.objectsTarget, target)
        add(ls, VOID.linkPredicate, OWL.sameAs)
        add(ls, VOID.triples, count(f.links[t.name]))
    return g
