"""`kb new`: a record skeleton generated from the seed schema, every field commented with its
kind and allowed values (required fields active, optional ones commented out)."""

from __future__ import annotations

from kb.core.errors import InputError, Problem
from kb.seeds.schema import FieldSpec, RecordSpec, Schema

COLUMN = 44  # where the comments start
DATE_SHAPES = '"YYYY" | "YYYY-MM" | "YYYY-MM-DD" | "YYYY-MM-DDTHH:MM"'
DATE_KEYS = "{value, qualifier, earliest, latest, derived, basis}"
ATTRIBUTIONS = ('outlet | curators | {person: id} | {organisation: id} | {document: id} | '
                '{anonymous: description, count: "N"}')
SUPPORTS = ("the parts of the fact this passage supports (default: all): fields such as date, "
            "place, title, amount; {participant: id}; {role: id}; {<actor field>: id}")


def targets(schema: Schema, to: tuple[str, ...]) -> str:
    """The kinds a reference accepts, `actor` and `fact:T` spelt out."""
    out: list[str] = []
    for t in to:
        if t == "actor":
            out.extend(schema.actor_kinds)
        elif t == "fact":
            out.append("fact of any type")
        elif t.startswith("fact:"):
            out.append(f"{t[5:]} fact")
        else:
            out.append(t)
    return " | ".join(out)


def describe(schema: Schema, spec: FieldSpec) -> str:
    """A field's kind and allowed values, for a comment."""
    k = spec.kind
    what = {
        "text": "text",
        "texts": "list of texts",
        "ref": f"id of: {targets(schema, spec.to)}",
        "refs": f"list of ids of: {targets(schema, spec.to)}",
        "date": f"date: {DATE_SHAPES}, or {DATE_KEYS}",
        "enum": "one of: " + " | ".join(spec.values),
        "int": 'whole number, quoted ("3")',
        "amount": "amount: value in digits, currency an ISO 4217 code; unit, of, as_reported",
        "quantity": "quantity: {value: digits, unit, code (UN/CEFACT), of, as_reported}",
        "quantities": "list of quantities: {value: digits, unit, code or currency, of, "
                      "as_reported}",
        "duration": "ISO 8601 duration, e.g. P7D",
        "participants": "list of {actor: id, role}; role: " + " | ".join(schema.roles),
        "sameas": "checked Wikidata ids, each with who checked it, against what, when (a date)",
        "sequence": f"list of ids of: {targets(schema, spec.to)}; an item may be "
                    "{event: id, gap: P5D, gap_as_reported: text}",
        "titles": "list of {title: text, source: id, para: N}, each naming one of the "
                  "fact's citations",
    }.get(k, f"{k} (see ontology/seed-schema.yaml)")
    return ("required; " if spec.required else "") + what


def _placeholder(spec: FieldSpec) -> tuple[str, list[str]]:
    """The value written after `name:`, and any lines below it."""
    if spec.kind in ("texts", "refs", "sequence"):
        return "[]", []
    if spec.kind == "amount":
        return '{value: "", currency: ""}', []
    if spec.kind == "participants":
        return "", ['  - {actor: "", role: ""}', '  - {actor: "", role: ""}']
    if spec.kind == "titles":
        return "", ['  - {title: "", source: "", para: ""}']
    if spec.kind == "sameas":
        return "", ['  - {wikidata: "", checked_by: "", checked_against: "", checked_on: ""}']
    return '""', []


def _line(text: str, comment: str) -> str:
    return f"{text.ljust(COLUMN - 1)} # {comment}" if comment else text


def _field_lines(name: str, value: str, below: list[str], comment: str,
                 active: bool) -> list[str]:
    mark = "" if active else "# "
    head = f"{mark}{name}:" + (f" {value}" if value else "")
    return [_line(head, comment)] + [f"{mark}{b}" for b in below]


def record_spec(schema: Schema, name: str, is_fact: bool) -> RecordSpec:
    """The entity kind or fact type `name`; an unknown one is an InputError listing the known."""
    table = schema.facts if is_fact else schema.entities
    if name not in table:
        what = "fact type" if is_fact else "entity kind"
        raise InputError(Problem("<input>", None, None, f"unknown {what} {name!r}; known: "
                                 f"{', '.join(sorted(table))}"))
    return table[name]


def skeleton(schema: Schema, name: str, is_fact: bool) -> str:
    """The YAML skeleton of one record of entity kind / fact type `name`, under its section."""
    spec = record_spec(schema, name, is_fact)
    lines = [_line('id: ""', "required: a new id (a-z, 0-9, - and _), never renamed once "
                   "published" if not (name == "source") else
                   "required: the text file's name without .txt (kb sources add does this)"),
             _line(f"type: {name}", spec.doc or f"{spec.cls}")]
    for fname, fspec in spec.fields.items():
        value, below = _placeholder(fspec)
        lines += _field_lines(fname, value, below, describe(schema, fspec), fspec.required)
    if is_fact:
        lines += [
            _line("citations:", "required: at least one (kb cite prints one)"),
            _line('  - source: ""', "required: id of a source"),
            _line('    para: ""', "required: paragraph number, from 1 (a non-empty line)"),
            _line('    anchor: ""', "at most 8 words, verbatim from that paragraph"),
            _line("    # stance: asserts", "one of: " + " | ".join(schema.stances)),
            _line("    # according_to: outlet", ATTRIBUTIONS),
            _line("    # supports: [date]", SUPPORTS),
        ]
    section = "facts" if is_fact else "entities"
    body = [f"  - {lines[0]}"] + [f"    {x}" for x in lines[1:]]
    return f"{section}:\n" + "\n".join(x.rstrip() for x in body) + "\n"
