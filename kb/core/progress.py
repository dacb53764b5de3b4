"""Progress per stage for long builds: rich's bars on a terminal, nothing otherwise."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Progress:
    """`with progress.stage("validate", total=n) as step: step(k)` times and shows a stage.

    Bars go to stderr, and only when it is a terminal and quiet is off; the stage timings
    are kept either way (`timings`)."""

    def __init__(self, quiet: bool = False, stream: Any = None):
        self.stream = stream or sys.stderr
        self.enabled = not quiet and bool(getattr(self.stream, "isatty", lambda: False)())
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
    def stage(self, name: str, total: int | None = None) -> Iterator[Any]:
        """Time a stage; the yielded function advances its bar by n."""
        task = self._bar.add_task(name, total=total) if self._bar is not None else None
        start = time.perf_counter()

        def step(n: int = 1) -> None:
            if task is not None:
                self._bar.advance(task, n)

        try:
            yield step
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start
            if task is not None:
                t = self._bar.tasks[task]
                self._bar.update(task, completed=t.total if t.total is not None else 1,
                                 total=t.total if t.total is not None else 1)

