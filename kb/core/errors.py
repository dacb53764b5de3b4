"""Typed errors: bad input (exit 2) is kept apart from a KB that does not conform (exit 1)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located in a file."""

    file: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = f" [{self.field}]" if self.field else ""
        return f"{where}:{field} {self.message}"


class KBError(Exception):
    """Base class of the errors the `kb` command reports to users."""

    exit_code = 2


class InputError(KBError):
    """Bad input: seed files, schema, query files or command arguments. Exit code 2."""

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem("<input>", None, None, problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class NonConformingError(KBError):
    """The KB was built but breaks a SHACL shape or a quality check. Exit code 1."""

    exit_code = 1

    def __init__(self, report: str):
        self.report = report
        super().__init__(report)
