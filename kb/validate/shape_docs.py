"""Generate docs/ontology.md from the ontology and the shapes themselves.

The page lists the classes (definition, superclasses, disjoint classes), the properties (domain,
range, definition), the value sets, the terms reused from other vocabularies, and every shape's
constraints with their messages and severities. Everything is sorted, so the same ontology and
shapes always give the same text; `kb docs --check` compares it with the committed file.

`constraints()` is also what the shape tests use to find every constraint that needs a
counter-example.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rdflib import OWL, RDF, RDFS, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from kb.core.paths import ONTOLOGY, ROOT, SHAPES_DIR
from kb.rdf.ontology import load_ontology
from kb.validate.report import load_shapes

SH = Namespace("http://www.w3.org/ns/shacl#")
KBO = Namespace("https://kb.example.org/ontology#")
KBS = Namespace("https://kb.example.org/shapes#")
DOC_FILE = ROOT / "docs" / "ontology.md"

PREFIXES = {
    "kbo": str(KBO), "kbs": str(KBS), "kb": "https://kb.example.org/id/",
    "sh": str(SH), "rdf": str(RDF), "rdfs": str(RDFS), "owl": str(OWL),
    "xsd": "http://www.w3.org/2001/XMLSchema#", "schema": "https://schema.org/",
    "dcterms": "http://purl.org/dc/terms/", "foaf": "http://xmlns.com/foaf/0.1/",
    "org": "http://www.w3.org/ns/org#", "prov": "http://www.w3.org/ns/prov#",
    "oa": "http://www.w3.org/ns/oa#", "wd": "http://www.wikidata.org/entity/",
}

# Each SHACL Core parameter, and the constraint component it belongs to.
PARAMETERS: dict[URIRef, str] = {
    SH["class"]: "Class", SH.datatype: "Datatype", SH.nodeKind: "NodeKind",
    SH.minCount: "MinCount", SH.maxCount: "MaxCount",
    SH.minExclusive: "MinExclusive", SH.minInclusive: "MinInclusive",
    SH.maxExclusive: "MaxExclusive", SH.maxInclusive: "MaxInclusive",
    SH.minLength: "MinLength", SH.maxLength: "MaxLength", SH.pattern: "Pattern",
    SH.languageIn: "LanguageIn", SH.uniqueLang: "UniqueLang",
    SH.equals: "Equals", SH.disjoint: "Disjoint",
    SH.lessThan: "LessThan", SH.lessThanOrEquals: "LessThanOrEquals",
    SH["not"]: "Not", SH["and"]: "And", SH["or"]: "Or", SH.xone: "Xone", SH.node: "Node",
    SH.qualifiedMinCount: "QualifiedMinCount", SH.qualifiedMaxCount: "QualifiedMaxCount",
    SH.closed: "Closed", SH.hasValue: "HasValue", SH["in"]: "In",
}
# Predicates of a shape that are not constraint parameters.
NOT_PARAMETERS = {
    RDF.type, RDFS.label, RDFS.comment, SH.path, SH.message, SH.severity, SH.name,
    SH.description, SH.order, SH.group, SH.deactivated, SH.targetClass, SH.targetNode,
    SH.targetSubjectsOf, SH.targetObjectsOf, SH.flags, SH.ignoredProperties,
    SH.qualifiedValueShape, SH.qualifiedValueShapesDisjoint, SH.property, SH.sparql,
    SH.declare, SH.prefixes,
}
TARGETS = {SH.targetClass: "instances of", SH.targetSubjectsOf: "subjects of",
           SH.targetObjectsOf: "objects of", SH.targetNode: "the node"}


def curie(node: Node) -> str:
    """A term as prefix:name when a known prefix fits, else <iri>; literals as their text."""
    if isinstance(node, URIRef):
        for prefix, ns in PREFIXES.items():
            if str(node).startswith(ns) and "/" not in str(node)[len(ns):]:
                return f"{prefix}:{str(node)[len(ns):]}"
        return f"<{node}>"
    return str(node)


def path_text(g: Graph, path: Node) -> str:
    """A SHACL property path written as a SPARQL property path (kbo:a/kbo:b, ^kbo:c, a|b)."""
    if isinstance(path, URIRef):
        return curie(path)
    if (path, RDF.first, None) in g:
        return "/".join(_path_part(g, p) for p in Collection(g, path))
    for pred, fmt in ((SH.inversePath, "^{}"), (SH.zeroOrMorePath, "{}*"),
                      (SH.oneOrMorePath, "{}+"), (SH.zeroOrOnePath, "{}?")):
        inner = g.value(path, pred)
        if inner is not None:
            return fmt.format(_path_part(g, inner))
    alts = g.value(path, SH.alternativePath)
    if alts is not None:
        return "|".join(_path_part(g, p) for p in Collection(g, alts))
    raise ValueError(f"not a SHACL path: {path}")


def _path_part(g: Graph, path: Node) -> str:
    text = path_text(g, path)
    return text if isinstance(path, URIRef) else f"({text})"


@dataclass(frozen=True)
class Constraint:
    """One constraint of the shapes: a component used by a shape, or one SPARQL constraint.

    `shape` is the named node shape; `key` says which of its constraints this is: "" for the
    node shape's own, the path for a property shape's, the SPARQL constraint's name for one.
    """

    shape: URIRef
    key: str
    component: URIRef
    severity: URIRef
    message: str
    node: Node  # the property shape, node shape or SPARQL constraint it is declared on


def node_shapes(shapes: Graph) -> list[URIRef]:
    """The named node shapes, sorted."""
    found = set(shapes.subjects(RDF.type, SH.NodeShape))
    for pred in TARGETS:
        found |= set(shapes.subjects(pred, None))
    return sorted((s for s in found if isinstance(s, URIRef)), key=curie)


def property_shapes(shapes: Graph, shape: Node) -> list[Node]:
    """A node shape's property shapes, sorted by path."""
    return sorted(shapes.objects(shape, SH.property),
                  key=lambda p: path_text(shapes, shapes.value(p, SH.path)))


def _components(shapes: Graph, shape: Node) -> list[URIRef]:
    out = set()
    for pred in set(shapes.predicates(shape)):
        if pred in PARAMETERS:
            out.add(SH[PARAMETERS[pred] + "ConstraintComponent"])
        elif pred not in NOT_PARAMETERS:
            raise ValueError(f"{curie(shape)} uses {curie(pred)}, which kb.docs does not know")
    return sorted(out)


def _message(shapes: Graph, node: Node) -> str:
    return str(shapes.value(node, SH.message) or "")


def _severity(shapes: Graph, node: Node) -> URIRef:
    sev = shapes.value(node, SH.severity)
    return sev if isinstance(sev, URIRef) else SH.Violation


def constraints(shapes: Graph) -> list[Constraint]:
    """Every constraint in the shapes graph, sorted by shape, key and component.

    SPARQL constraints must be named (an IRI, not a blank node), so that tests and docs can say
    which one they mean."""
    out = []
    for shape in node_shapes(shapes):
        sev = _severity(shapes, shape)
        for comp in _components(shapes, shape):
            out.append(Constraint(shape, "", comp, sev, _message(shapes, shape), shape))
        for ps in property_shapes(shapes, shape):
            key = path_text(shapes, shapes.value(ps, SH.path))
            for comp in _components(shapes, ps):
                out.append(Constraint(shape, key, comp, _severity(shapes, ps),
                                      _message(shapes, ps), ps))
        for sparql in sorted(shapes.objects(shape, SH.sparql), key=curie):
            if not isinstance(sparql, URIRef):
                raise ValueError(f"{curie(shape)} has an unnamed SPARQL constraint: give it an "
                                 "IRI (kbs:...) so that tests and docs can refer to it")
            out.append(Constraint(shape, curie(sparql), SH.SPARQLConstraintComponent, sev,
                                  _message(shapes, sparql) or _message(shapes, shape), sparql))
    return sorted(out, key=lambda c: (curie(c.shape), c.key, curie(c.component)))


# --- Rendering -------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _text(g: Graph, node: Node, pred: URIRef) -> str:
    values = sorted(str(v) for v in g.objects(node, pred) if isinstance(v, Literal))
    return " ".join(values)


def _class_expr(g: Graph, node: Node) -> str:
    """A class: its name, or a union/intersection written out."""
    if isinstance(node, URIRef):
        return curie(node)
    for pred, word in ((OWL.unionOf, " or "), (OWL.intersectionOf, " and ")):
        members = g.value(node, pred)
        if members is not None:
            return word.join(sorted(_class_expr(g, m) for m in Collection(g, members)))
    one_of = g.value(node, OWL.oneOf)
    if one_of is not None:
        return "one of " + ", ".join(curie(m) for m in Collection(g, one_of))
    return "(an anonymous class)"


def _terms(g: Graph, kinds: Iterable[URIRef], ours: bool) -> list[URIRef]:
    found: set[URIRef] = set()
    for kind in kinds:
        found |= {s for s in g.subjects(RDF.type, kind) if isinstance(s, URIRef)}
    return sorted((t for t in found if str(t).startswith(str(KBO)) == ours), key=curie)


def _list(g: Graph, node: Node, pred: URIRef) -> str:
    return ", ".join(sorted(_class_expr(g, o) for o in g.objects(node, pred))) or "—"


def _ontology_section(o: Graph) -> list[str]:
    onto = next(o.subjects(RDF.type, OWL.Ontology))
    lines = [f"Ontology `{onto}`, version {_text(o, onto, OWL.versionInfo)}.", "",
             _text(o, onto, URIRef("http://purl.org/dc/terms/description")), "",
             _text(o, onto, RDFS.comment), "", "## Classes", ""]
    rows = []
    for c in _terms(o, [OWL.Class], ours=True):
        disjoint = {x for x in o.objects(c, OWL.disjointWith)}
        disjoint |= {x for x in o.subjects(OWL.disjointWith, c)}
        rows.append([f"`{curie(c)}`", _text(o, c, RDFS.label), _text(o, c, RDFS.comment),
                     _list(o, c, RDFS.subClassOf),
                     ", ".join(sorted(curie(x) for x in disjoint)) or "—"])
    lines += _table(["Class", "Label", "Definition", "Superclasses", "Disjoint with"], rows)
    lines += ["", "## Properties", ""]
    rows = []
    kinds = {OWL.ObjectProperty: "object", OWL.DatatypeProperty: "datatype",
             OWL.TransitiveProperty: "transitive"}
    for p in _terms(o, kinds, ours=True):
        kind = ", ".join(sorted(kinds[k] for k in o.objects(p, RDF.type) if k in kinds))
        inverse = set(o.objects(p, OWL.inverseOf)) | set(o.subjects(OWL.inverseOf, p))
        sup = _list(o, p, RDFS.subPropertyOf)
        if inverse:
            sup += "; inverse of " + ", ".join(sorted(curie(x) for x in inverse))
        rows.append([f"`{curie(p)}`", kind, _list(o, p, RDFS.domain), _list(o, p, RDFS.range),
                     _text(o, p, RDFS.comment), sup])
    lines += _table(["Property", "Kind", "Domain", "Range", "Definition",
                     "Superproperties"], rows)
    lines += ["", "## Value sets", "",
              "Closed sets of named values (`owl:oneOf`); a field's value is one of them.", ""]
    rows = []
    for c in _terms(o, [OWL.Class], ours=True):
        members = o.value(c, OWL.oneOf)
        if members is None:
            continue
        values = [f"`{curie(m)}` ({_text(o, m, RDFS.label)})" for m in Collection(o, members)]
        rows.append([f"`{curie(c)}`", ", ".join(values)])
    lines += _table(["Class", "Values"], rows)
    lines += ["", "## Terms reused from other vocabularies", "",
              "Declared in the ontology because the KB uses them; their meaning is their own "
              "vocabulary's.", ""]
    rows = []
    reused = _terms(o, [OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty], ours=False)
    for t in reused:
        kind = ", ".join(sorted(curie(k) for k in o.objects(t, RDF.type)))
        rows.append([f"`{curie(t)}`", kind, _list(o, t, RDFS.isDefinedBy),
                     _text(o, t, RDFS.comment)])
    lines += _table(["Term", "Declared as", "Defined by", "Use in the KB"], rows)
    return lines


def _parameter(shapes: Graph, node: Node, pred: URIRef) -> str:
    """One constraint parameter and its value, as text."""
    name = curie(pred).removeprefix("sh:")
    values = []
    for v in sorted(shapes.objects(node, pred), key=str):
        if pred in (SH["in"], SH.languageIn):
            values.append("(" + " ".join(curie(x) for x in Collection(shapes, v)) + ")")
        elif pred in (SH["or"], SH["and"], SH.xone):
            word = {SH["or"]: " or ", SH["and"]: " and ", SH.xone: " xor "}[pred]
            values.append("(" + word.join(_inline_shape(shapes, m)
                                          for m in Collection(shapes, v)) + ")")
        elif pred in (SH["not"], SH.node):
            values.append(f"[{_inline_shape(shapes, v)}]")
        elif pred == SH.pattern:
            values.append(f"`{v}`")
        else:
            values.append(curie(v))
    return f"{name} {', '.join(values)}"


def _inline_shape(shapes: Graph, node: Node) -> str:
    if isinstance(node, URIRef):
        return curie(node)
    parts = []
    path = shapes.value(node, SH.path)
    if path is not None:
        parts.append(path_text(shapes, path))
    parts += [_parameter(shapes, node, p) for p in sorted(set(shapes.predicates(node)), key=curie)
              if p in PARAMETERS]
    return " ".join(parts)


def _checks(shapes: Graph, node: Node) -> str:
    return "; ".join(_parameter(shapes, node, p)
                     for p in sorted(set(shapes.predicates(node)), key=curie) if p in PARAMETERS)


def _shapes_section(shapes: Graph) -> list[str]:
    lines = ["## Shapes", "",
             "What `kb validate` checks (shapes/*.ttl). A **Violation** stops the build; a "
             "**Warning** or **Info** is reported and the build goes on. Each row is one node "
             "shape's own constraints, one property shape, or one SPARQL constraint; the message "
             "is what the report says when it fails.", ""]
    for shape in node_shapes(shapes):
        targets = [f"{word} {curie(t)}" for pred, word in TARGETS.items()
                   for t in sorted(shapes.objects(shape, pred), key=curie)]
        lines += [f"### `{curie(shape)}`", "", "Applies to " + "; ".join(targets) + ".", ""]
        rows = []
        sev = curie(_severity(shapes, shape)).removeprefix("sh:")
        if _checks(shapes, shape):
            rows.append(["(the node)", _checks(shapes, shape), sev, _message(shapes, shape)])
        for ps in property_shapes(shapes, shape):
            rows.append([f"`{path_text(shapes, shapes.value(ps, SH.path))}`",
                         _checks(shapes, ps), curie(_severity(shapes, ps)).removeprefix("sh:"),
                         _message(shapes, ps)])
        for sparql in sorted(shapes.objects(shape, SH.sparql), key=curie):
            rows.append([f"`{curie(sparql)}`", "SPARQL", sev,
                         _message(shapes, sparql) or _message(shapes, shape)])
        lines += _table(["Constraint", "Checks", "Severity", "Message"], rows) + [""]
    return lines


def generate(ontology: Graph | None = None, shapes: Graph | None = None) -> str:
    """The text of docs/ontology.md."""
    o = ontology if ontology is not None else load_ontology()
    s = shapes if shapes is not None else load_shapes()
    title = _text(o, next(o.subjects(RDF.type, OWL.Ontology)), RDFS.label)
    lines = [f"# {title}", "",
             f"<!-- Generated by `kb docs` from {ONTOLOGY.relative_to(ROOT)} and "
             f"{SHAPES_DIR.relative_to(ROOT)}/*.ttl. Do not edit: edit those and rerun. -->", ""]
    lines += _ontology_section(o) + [""] + _shapes_section(s)
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


def write(path: Path = DOC_FILE) -> bool:
    """Write the docs; True if the file changed."""
    text = generate()
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def is_current(path: Path = DOC_FILE) -> bool:
    """True if the file holds exactly what `generate()` gives."""
    return path.exists() and path.read_text(encoding="utf-8") == generate()

