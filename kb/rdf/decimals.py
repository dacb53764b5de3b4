"""xsd:decimal written so that every store and parser keeps its lexical form.

Turtle's shorthand for a decimal needs a '.', so rdflib writes the canonical "5600000" as
`5600000.0`, a different literal for rdflib (and the same value for Oxigraph, which stores
"5600000"). The KB keeps decimals in the XSD 1.1 canonical form Oxigraph writes
(kb.seeds.quantities.canonical_decimal) and has rdflib write them as `"5600000"^^xsd:decimal`,
which every Turtle/TriG parser reads back byte for byte.
"""

from __future__ import annotations

import rdflib.term
from rdflib import XSD


def write_decimals_typed() -> None:
    """Have rdflib's Turtle, TriG and N3 writers spell out xsd:decimal literals (idempotent)."""
    plain = rdflib.term._PLAIN_LITERAL_TYPES
    if XSD.decimal in plain:
        rdflib.term._PLAIN_LITERAL_TYPES = tuple(t for t in plain if t != XSD.decimal)
