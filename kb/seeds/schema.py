"""The seed schema (ontology/seed-schema.yaml): which records and fields exist, and their terms."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from kb.core.errors import InputError, Problem
from kb.core.paths import SEED_SCHEMA
from kb.seeds.fast_yaml import read_yaml_fast

FIELD_KINDS = {
    "text", "texts", "ref", "refs", "date", "enum", "int", "amount", "duration",
    "participants", "sameas", "sequence", "titles", "quantity", "quantities",
}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str
    property: str | None
    required: bool = False
    to: tuple[str, ...] = ()
    values: dict[str, str] = field(default_factory=dict)
    as_class: bool = False
    involves: bool = False


@dataclass(frozen=True)
class RecordSpec:
    """An entity kind or a fact type."""

    name: str
    is_fact: bool
    cls: str
    fields: dict[str, FieldSpec]
    doc: str = ""


@dataclass(frozen=True)
class Schema:
    base: str
    prefixes: dict[str, str]
    actor_kinds: tuple[str, ...]
    entities: dict[str, RecordSpec]
    facts: dict[str, RecordSpec]
    roles: dict[str, str]
    stances: dict[str, str]
    qualifiers: dict[str, str]

    def expand(self, curie: str) -> str:
        """Expand a CURIE such as kbo:Person into a full IRI."""
        prefix, _, local = curie.partition(":")
        if prefix not in self.prefixes:
            raise InputError(Problem(str(SEED_SCHEMA), None, None, f"unknown prefix in {curie}"))
        return self.prefixes[prefix] + local

    def id_iri(self, ident: str) -> str:
        return f"{self.base}id/{ident}"

    @property
    def kbo(self) -> str:
        return self.prefixes["kbo"]


def _field(name: str, raw: Any, where: str) -> FieldSpec:
    kind = str(raw.get("kind", ""))
    if kind not in FIELD_KINDS:
        raise InputError(Problem(where, None, name, f"unknown field kind {kind!r}"))
    return FieldSpec(
        name=name,
        kind=kind,
        property=raw.get("property"),
        required=raw.get("required") == "true",
        to=tuple(raw.get("to", ())),
        values=dict(raw.get("values", {})),
        as_class=raw.get("as") == "class",
        involves=raw.get("involves") == "true",
    )


def _records(raw: Any, is_fact: bool, common: dict[str, FieldSpec], where: str) -> dict:
    out = {}
    for name, spec in raw.items():
        fields = dict(common)
        fields.update({f: _field(f, r, where) for f, r in spec.get("fields", {}).items()})
        out[name] = RecordSpec(name, is_fact, spec["class"], fields, spec.get("doc", ""))
    return out


@lru_cache(maxsize=4)
def load_schema(path: Path = SEED_SCHEMA) -> Schema:
    """Read the seed schema once."""
    raw = read_yaml_fast(path)
    where = str(path)
    common = {f: _field(f, r, where) for f, r in raw.get("fact_fields", {}).items()}
    return Schema(
        base=raw["base"],
        prefixes=dict(raw["prefixes"]),
        actor_kinds=tuple(raw["actor_kinds"]),
        entities=_records(raw["entities"], False, {}, where),
        facts=_records(raw["facts"], True, common, where),
        roles=dict(raw["participant_roles"]),
        stances=dict(raw["stances"]),
        qualifiers=dict(raw["date_qualifiers"]),
    )
