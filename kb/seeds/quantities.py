"""Quantities in the seeds: a decimal value, the unit as reported, a unit code, what is counted.

The allowed codes are data (ontology/unit-codes.yaml). Values are kept in the XSD 1.1
canonical form of xsd:decimal ("5600000", "0.5", "9.7"), the form Oxigraph stores and writes,
so a published amount comes back byte for byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from kb.seeds.fast_yaml import read_yaml_fast

VALUE_RE = re.compile(r"^[0-9]+(\.[0-9]{1,18})?\Z")  # Oxigraph keeps 18 fraction digits
KEYS = ("value", "currency", "code", "unit", "of", "as_reported")
TEXT_KEYS = ("unit", "of", "as_reported")
CODES_FILE = "ontology/unit-codes.yaml"


@dataclass(frozen=True)
class Quantity:
    value: str  # canonical xsd:decimal
    currency: str | None = None  # ISO 4217
    code: str | None = None  # UN/CEFACT common code
    unit: str | None = None  # the unit as reported
    of: str | None = None  # what is counted or measured
    as_reported: str | None = None  # the source's wording of the whole figure


@dataclass(frozen=True)
class UnitCodes:
    currencies: dict[str, str]
    units: dict[str, str]


@lru_cache(maxsize=4)
def load_codes(path: Path) -> UnitCodes:
    """The allowed currency and unit codes."""
    raw = read_yaml_fast(path)
    return UnitCodes(dict(raw.get("currencies") or {}), dict(raw.get("units") or {}))


def canonical_decimal(text: str) -> str:
    """The XSD 1.1 canonical lexical form: "5600000.0" -> "5600000", "0.50" -> "0.5"."""
    d = Decimal(text)
    if d == 0:
        return "0"
    return format(d.normalize(), "f")


def parse_quantity(raw: Any, codes: UnitCodes, money: bool) -> tuple[Quantity | None, str, str]:
    """(the quantity, "", "") or (None, the key at fault, what is wrong)."""
    if not isinstance(raw, dict):
        return None, "", ("a quantity is {value: \"45\", unit: ..., code: ..., of: ..., "
                          "as_reported: ...}")
    unknown = [k for k in raw if k not in KEYS]
    if unknown:
        return None, str(unknown[0]), f"unknown quantity key; allowed: {', '.join(KEYS)}"
    value = raw.get("value")
    if value is None or value == "":
        return None, "value", "a quantity needs a value"
    if not isinstance(value, str) or not VALUE_RE.match(value):
        return None, "value", (f"{value!r} is not a plain decimal number (digits, an optional "
                               "'.' and up to 18 more digits; no sign, commas or words)")
    cur, code = raw.get("currency"), raw.get("code")
    if cur is not None and code is not None:
        return None, "code", "money takes `currency`; `code` is for other units"
    if cur is not None and cur not in codes.currencies:
        return None, "currency", f"{cur!r} is not a known ISO 4217 code ({CODES_FILE})"
    if code is not None and code not in codes.units:
        return None, "code", f"{code!r} is not a known UN/CEFACT unit code ({CODES_FILE})"
    if money and cur is None:
        return None, "currency", "an amount of money needs a currency (ISO 4217)"
    texts: dict[str, str | None] = {}
    for key in TEXT_KEYS:
        t = raw.get(key)
        if t is not None and (not isinstance(t, str) or not t.strip()):
            return None, key, "expected text"
        texts[key] = t.strip() if isinstance(t, str) else None
    return Quantity(canonical_decimal(value), cur, code, texts["unit"], texts["of"],
                    texts["as_reported"]), "", ""
