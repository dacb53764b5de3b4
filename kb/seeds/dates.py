"""Dates as reported: parse, keep the precision, and compute earliest/latest xsd:date bounds."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

_YEAR = re.compile(r"^(\d{4})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$"
)

PRECISIONS = ("year", "month", "day", "time")
QUALIFIERS = ("exact", "about", "before", "after")


class DateError(ValueError):
    """A date that is malformed or impossible."""


@dataclass(frozen=True)
class Reported:
    """A date as the source gives it: its text, its precision, and the days it spans."""

    text: str
    precision: str
    first: date
    last: date


def parse_reported(text: str) -> Reported:
    """Parse YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][zone]."""
    try:
        if m := _YEAR.match(text):
            y = int(m[1])
            return Reported(text, "year", date(y, 1, 1), date(y, 12, 31))
        if m := _MONTH.match(text):
            y, mo = int(m[1]), int(m[2])
            if not 1 <= mo <= 12:
                raise DateError(f"month {mo} does not exist")
            return Reported(text, "month", date(y, mo, 1),
                            date(y, mo, calendar.monthrange(y, mo)[1]))
        if m := _DAY.match(text):
            d = date(int(m[1]), int(m[2]), int(m[3]))
            return Reported(text, "day", d, d)
        if m := _TIME.match(text):
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return Reported(text, "time", dt.date(), dt.date())
    except ValueError as exc:
        if isinstance(exc, DateError):
            raise
        raise DateError(f"{text!r} is not a real date ({exc})") from None
    raise DateError(
        f"{text!r} is not a date: write YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDTHH:MM"
    )


def parse_bound(text: str) -> date:
    """Parse an explicit earliest/latest bound, which must be a whole day."""
    if not _DAY.match(text):
        raise DateError(f"bound {text!r} must be a day, YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise DateError(f"{text!r} is not a real date ({exc})") from None


@dataclass(frozen=True)
class DateSpec:
    """A reported date with its qualifier, bounds and how it was derived."""

    reported: Reported | None
    qualifier: str
    earliest: date | None
    latest: date | None
    derived: bool
    basis: str | None


def make_spec(
    value: str | None,
    qualifier: str = "exact",
    earliest: str | None = None,
    latest: str | None = None,
    derived: bool = False,
    basis: str | None = None,
) -> DateSpec:
    """Build a DateSpec; bounds default from the value and qualifier."""
    if qualifier not in QUALIFIERS:
        raise DateError(f"qualifier {qualifier!r} is not one of {', '.join(QUALIFIERS)}")
    rep = parse_reported(value) if value is not None else None
    lo = parse_bound(earliest) if earliest is not None else None
    hi = parse_bound(latest) if latest is not None else None
    if rep is None and lo is None and hi is None:
        raise DateError("a date needs a value or at least one of earliest/latest")
    if rep is not None:
        if lo is None and qualifier in ("exact", "about"):
            lo = rep.first
        if hi is None and qualifier in ("exact", "about"):
            hi = rep.last
        if qualifier == "before" and hi is None:
            hi = rep.first - timedelta(days=1)
        if qualifier == "after" and lo is None:
            lo = rep.last + timedelta(days=1)
    if lo is not None and hi is not None and hi < lo:
        raise DateError(f"latest {hi} is before earliest {lo}")
    return DateSpec(rep, qualifier, lo, hi, derived, basis)
