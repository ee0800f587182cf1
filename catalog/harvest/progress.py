"""Progress of long runs: a rich bar with rate and ETA on a terminal, log lines otherwise."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class Reporter:
    """Counts files as they are done; draws a bar on a TTY, else a line every few seconds."""

    def __init__(
        self,
        label: str,
        *,
        stream: TextIO | None = None,
        interval: float = 5.0,
        enabled: bool = True,
    ) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.interval = interval
        self.enabled = enabled
        self.total: int | None = None
        self.done = 0
        self.failed = 0
        self._started = time.monotonic()
        self._last_line = self._started
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> Reporter:
        if self.enabled and self.stream.isatty():
            console = Console(file=self.stream, markup=False, highlight=False)
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=console,
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=None, rate="")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
        elif self.enabled and self.done:
            self._line(final=True)

    def set_total(self, total: int) -> None:
        self.total = total
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, total=total)

    def advance(self, count: int = 1, *, failed: int = 0) -> None:
        self.done += count
        self.failed += failed
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=self.done, rate=f"{self.rate():,.0f}/s")
        elif self.enabled and time.monotonic() - self._last_line >= self.interval:
            self._line()

    def rate(self) -> float:
        elapsed = time.monotonic() - self._started
        return self.done / elapsed if elapsed > 0 else 0.0

    def _line(self, *, final: bool = False) -> None:
        self._last_line = time.monotonic()
        rate = self.rate()
        total = f"/{self.total}" if self.total is not None else ""
        eta = ""
        if self.total and rate > 0 and not final:
            eta = f", ETA {max(0.0, (self.total - self.done) / rate):.0f} s"
        print(
            f"{self.label}: {self.done}{total} files, {self.failed} failed, "
            f"{rate:,.0f} files/s{eta}",
            file=self.stream,
            flush=True,
        )
