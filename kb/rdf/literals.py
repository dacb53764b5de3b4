"""Literals the way pySHACL judges them: a typed literal rdflib cannot read is ill-typed."""

from __future__ import annotations

from rdflib import Literal


def _assert_datatype() -> object | None:
    try:
        from pyshacl.constraints.core.value_constraints import DatatypeConstraintComponent
        return DatatypeConstraintComponent._assert_actual_datatype
    except (ImportError, AttributeError):  # pragma: no cover - another pySHACL
        return None


ASSERT_DATATYPE = _assert_datatype()


def ill_typed(lit: Literal) -> bool:
    """pySHACL's test: a typed literal never matches sh:datatype if this is true."""
    if lit.datatype is None:
        return False
    if getattr(lit, "ill_typed", None) is True:
        return True
    return ASSERT_DATATYPE is not None and not ASSERT_DATATYPE(None, lit, lit.datatype)  # type: ignore[operator]


