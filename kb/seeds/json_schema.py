"""A JSON Schema (draft-07) of the seed format, generated from the seed schema, for editors with
a YAML language server: field completion, and wrong kinds, unknown fields and bad dates flagged.

It mirrors kb.seeds.check's rules that a schema can state (shapes of values, required and
allowed fields); references to declared ids and real calendar dates stay the loader's."""

from __future__ import annotations

import json
from typing import Any

from kb.core import paths
from kb.seeds.quantities import load_codes
from kb.seeds.schema import FieldSpec, RecordSpec, Schema
from kb.seeds.skeleton import ATTRIBUTIONS, SUPPORTS, describe

DRAFT = "http://json-schema.org/draft-07/schema#"
ID = r"^[a-z0-9][a-z0-9_-]*$"
MONTH, DAY = r"(0[1-9]|1[0-2])", r"(0[1-9]|[12][0-9]|3[01])"
DATE = (rf"^[0-9]{{4}}(-{MONTH}(-{DAY}(T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?"
        r"(Z|[+-][0-9]{2}:[0-9]{2})?)?)?)?$")
BOUND = rf"^[0-9]{{4}}-{MONTH}-{DAY}$"
DURATION = (r"^P(?!$)([0-9]+Y)?([0-9]+M)?([0-9]+W)?([0-9]+D)?"
            r"(T(?=[0-9])([0-9]+H)?([0-9]+M)?([0-9]+S)?)?$")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/definitions/{name}"}


def _definitions(schema: Schema) -> dict[str, Any]:
    """The value shapes every record shares."""
    codes = load_codes(paths.ONTOLOGY_DIR / "unit-codes.yaml")
    attribution = {"anyOf": [
        {"const": "outlet"}, {"const": "curators"},
        *({"type": "object", "required": [k], "additionalProperties": False,
           "properties": {k: _ref("id")}} for k in ("person", "organisation", "document")),
        {"type": "object", "required": ["anonymous"], "additionalProperties": False,
         "properties": {"anonymous": {"type": "string", "minLength": 1},
                        "count": _ref("whole-number")}},
    ], "description": ATTRIBUTIONS}
    return {
        "id": {"type": "string", "pattern": ID,
               "description": "an id: ASCII a-z, 0-9, '-' and '_'"},
        "text": {"type": ["string", "number", "boolean"],
                 "description": "text (every scalar is read as text)"},
        "whole-number": {"anyOf": [{"type": "string", "pattern": "^[0-9]+$"},
                                   {"type": "integer", "minimum": 0}]},
        "date-value": {"type": "string", "pattern": DATE,
                       "description": "YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][zone]"},
        "date": {"anyOf": [_ref("date-value"), {
            "type": "object", "additionalProperties": False, "minProperties": 1,
            "properties": {
                "value": _ref("date-value"),
                "qualifier": {"enum": list(schema.qualifiers)},
                "earliest": {"type": "string", "pattern": BOUND},
                "latest": {"type": "string", "pattern": BOUND},
                "derived": {"enum": ["yes", "no"]},
                "basis": {"type": "string"},
            }}]},
        "quantity": {"type": "object", "required": ["value"], "additionalProperties": False,
                     "not": {"required": ["currency", "code"]},
                     "properties": {
                         "value": {"type": "string", "pattern": r"^[0-9]+(\.[0-9]{1,18})?$",
                                   "description": "a decimal number in digits, quoted"},
                         "currency": {"enum": list(codes.currencies),
                                      "description": "ISO 4217 (ontology/unit-codes.yaml)"},
                         "code": {"enum": list(codes.units), "description":
                                  "UN/CEFACT common code (ontology/unit-codes.yaml)"},
                         "unit": {"type": "string", "description": "the unit as reported"},
                         "of": {"type": "string", "description": "what is counted"},
                         "as_reported": {"type": "string",
                                         "description": "the figure in the source's words"}}},
        "amount": {"allOf": [_ref("quantity"), {"required": ["currency"]}]},
        "quantities": {"type": "array", "items": _ref("quantity")},
        "duration": {"type": "string", "pattern": DURATION},
        "participants": {"type": "array", "items": {
            "type": "object", "required": ["actor"], "additionalProperties": False,
            "properties": {"actor": _ref("id"), "role": {"enum": list(schema.roles)}}}},
        "sameas": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "required": ["wikidata", "checked_by", "checked_against", "checked_on"],
            "properties": {"wikidata": {"type": "string", "pattern": "^Q[1-9][0-9]*$"},
                           "checked_by": {"type": "string"},
                           "checked_against": {"type": "string"},
                           "checked_on": _ref("date-value")}}},
        "sequence": {"type": "array", "items": {"anyOf": [_ref("id"), {
            "type": "object", "required": ["event"], "additionalProperties": False,
            "properties": {"event": _ref("id"), "gap": _ref("duration"),
                           "gap_as_reported": {"type": "string"}}}]}},
        "titles": {"type": "array", "items": {
            "type": "object", "required": ["title", "source", "para"],
            "additionalProperties": False,
            "properties": {"title": _ref("text"), "source": _ref("id"),
                           "para": _ref("paragraph")}}},
        "paragraph": {"anyOf": [{"type": "string", "pattern": "^[1-9][0-9]*$"},
                                {"type": "integer", "minimum": 1}],
                      "description": "paragraph number, from 1 (a non-empty line)"},
        "attribution": attribution,
        "citation": {
            "type": "object", "required": ["source", "para"], "additionalProperties": False,
            "properties": {
                "source": _ref("id"),
                "para": _ref("paragraph"),
                "anchor": {"type": "string", "minLength": 1,
                           "description": "at most 8 words, verbatim from that paragraph"},
                "stance": {"enum": list(schema.stances)},
                "according_to": {"anyOf": [_ref("attribution"),
                                           {"type": "array", "items": _ref("attribution")}]},
                "supports": {"type": "array", "minItems": 1, "uniqueItems": True,
                             "description": SUPPORTS, "items": {"anyOf": [
                                 {"type": "string", "pattern": "^[a-z][a-z_]*$"},
                                 {"type": "object", "minProperties": 1, "maxProperties": 1,
                                  "propertyNames": {"pattern": "^[a-z][a-z_]*$"},
                                  "additionalProperties": _ref("id")}]}},
            }},
        "citations": {"type": "array", "minItems": 1, "items": _ref("citation")},
        "corroboration": {"type": "object", "required": ["fact", "citations"],
                          "additionalProperties": False,
                          "properties": {"fact": _ref("id"), "citations": _ref("citations")}},
    }


def _field(schema: Schema, spec: FieldSpec) -> dict[str, Any]:
    k = spec.kind
    if k == "text":
        out: dict[str, Any] = _ref("text")
    elif k == "texts":
        out = {"type": "array", "items": _ref("text")}
    elif k == "ref":
        out = _ref("id")
    elif k == "refs":
        out = {"type": "array", "uniqueItems": True, "items": _ref("id")}
    elif k == "enum":
        out = {"enum": list(spec.values)}
    elif k == "int":
        out = _ref("whole-number")
    elif k in ("date", "amount", "duration", "participants", "sameas", "sequence", "titles",
               "quantity", "quantities"):
        out = _ref(k)
    else:  # a kind this generator does not know yet: anything goes, the loader checks it
        out = {}
    if "$ref" in out:  # draft-07 ignores keywords beside $ref
        out = {"allOf": [out]}
    return {"description": describe(schema, spec), **out}


def _record(schema: Schema, spec: RecordSpec, section: str) -> dict[str, Any]:
    props: dict[str, Any] = {"id": _ref("id"), "type": {"const": spec.name}}
    props.update({name: _field(schema, f) for name, f in spec.fields.items()})
    required = ["id", "type"] + [n for n, f in spec.fields.items() if f.required]
    if spec.is_fact:
        props["citations"] = _ref("citations")
        required.append("citations")
    return {"type": "object", "description": spec.doc or f"{section[:-1]} of type {spec.name} "
            f"({spec.cls})", "required": required, "properties": props,
            "additionalProperties": False}


def _union(table: dict[str, RecordSpec], name: str) -> dict[str, Any]:
    """Any record of a section: `type` picks the record's own schema."""
    return {"type": "object", "required": ["id", "type"],
            "properties": {"id": _ref("id"), "type": {"enum": list(table)}},
            "allOf": [{"if": {"properties": {"type": {"const": t}}, "required": ["type"]},
                       "then": _ref(f"{name}-{t}")} for t in table]}


def json_schema(schema: Schema) -> dict[str, Any]:
    """The JSON Schema of a seed file."""
    defs = _definitions(schema)
    defs["entity"] = _union(schema.entities, "entity")
    defs["fact"] = _union(schema.facts, "fact")
    for t, spec in schema.entities.items():
        defs[f"entity-{t}"] = _record(schema, spec, "entities")
    for t, spec in schema.facts.items():
        defs[f"fact-{t}"] = _record(schema, spec, "facts")
    return {
        "$schema": DRAFT,
        "$id": f"{schema.base}seed-format.schema.json",
        "title": "kb seed file",
        "description": "A curated seed file (seeds/**/*.yaml). Generated from "
                       "ontology/seed-schema.yaml by `kb schema --json-schema`; do not edit.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "entities": {"type": "array", "items": _ref("entity"),
                         "description": "people, organisations, groups, places, documents, "
                                        "sources - declared once"},
            "facts": {"type": "array", "items": _ref("fact"),
                      "description": "things that happened or held, each with citations"},
            "corroborations": {"type": "array", "items": _ref("corroboration"),
                               "description": "more citations for a fact declared elsewhere"},
        },
        "definitions": defs,
    }


def dumps(schema: Schema) -> str:
    """The JSON Schema as byte-stable text."""
    return json.dumps(json_schema(schema), indent=2, ensure_ascii=False) + "\n"
