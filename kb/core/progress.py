"""Progress per stage for long builds: rich's bars on a terminal, one line per stage otherwise."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Step:
    """What a stage's body gets: `step(n)` advances its bar; `step.done = "read 37 seed
    files"` words its line off a terminal (default: the stage's name)."""

    def __init__(self, advance: Any):
        self._advance = advance
        self.done: str | None = None

    def __call__(self, n: int = 1) -> None:
        self._advance(n)


class Progress:
    """`with progress.stage("validate", total=n) as step: step(k)` times and shows a stage.

    Unless quiet: bars on stderr when it is a terminal; otherwise (a log, a pipe, CI) one line
    per stage that ended, with its time: `kb build: read 37 seed files in 1.2 s`. Stages
    opened with `say=False` (set-up) get no line. The stage timings are kept either way
    (`timings`)."""

    def __init__(self, quiet: bool = False, stream: Any = None, label: str = "kb build"):
        self.stream = stream or sys.stderr
        tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = not quiet and tty
        self.lines = not quiet and not tty
        self.label = label
        self.timings: dict[str, float] = {}
        self._bar: Any = None
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as Bar
            self._bar = Bar(TextColumn("{task.description:<12}"), BarColumn(),
                            MofNCompleteColumn(), TimeElapsedColumn(),
                            console=Console(file=self.stream), transient=False)

    def __enter__(self) -> Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    @contextmanager
    def stage(self, name: str, total: int | None = None, say: bool = True) -> Iterator[Step]:
        """Time a stage; the yielded Step advances its bar by n. A stage that raises gets no
        line (the error says what happened)."""
        task = self._bar.add_task(name, total=total) if self._bar is not None else None
        start = time.perf_counter()

        def advance(n: int = 1) -> None:
            if task is not None:
                self._bar.advance(task, n)

        step = Step(advance)
        ok = False
        try:
            yield step
            ok = True
        finally:
            took = time.perf_counter() - start
            self.timings[name] = self.timings.get(name, 0.0) + took
            if task is not None:
                t = self._bar.tasks[task]
                self._bar.update(task, completed=t.total if t.total is not None else 1,
                                 total=t.total if t.total is not None else 1)
            if ok and say and self.lines:
                print(f"{self.label}: {step.done or name} in {took:.1f} s", file=self.stream,
                      flush=True)
