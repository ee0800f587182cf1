"""MAXREC: pass at most ``maxrec`` rows on, and learn whether more existed (TAP 1.1 §2.7.4).

Overflow is reported only on real truncation: after ``maxrec`` rows one more is asked
for, and OVERFLOW is set only if it exists. ``MAXREC=0`` asks for metadata only: no row
is read and the result always says OVERFLOW (DALI 1.1 §3.4.4; taplint ``runJustMeta``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Generic, TypeVar

from tap.errors import UsageError

T = TypeVar("T")


def resolve_maxrec(value: str | None, *, default: int, hard: int) -> int:
    """The MAXREC to apply: the request's value (DALI 1.1 §3.4.4), else ``default``,
    never more than the service's ``hard`` limit (truncation then reports OVERFLOW)."""
    if value is None or not value.strip():
        return min(default, hard)
    text = value.strip()
    if not text.isdigit():
        raise UsageError(
            f"MAXREC {value!r} is not a non-negative integer; give the maximum number of rows "
            f"to return (at most {hard:,}), or 0 for the metadata only."
        )
    return min(int(text), hard)


class RowLimit(Generic[T]):
    """Cuts an iterable of rows into batches, stopping after ``maxrec`` rows.

    Iterate :meth:`batches` to the end, then read :attr:`overflow` and :attr:`count`.
    """

    def __init__(self, rows: Iterable[T], maxrec: int | None) -> None:
        if maxrec is not None and maxrec < 0:
            raise ValueError("maxrec must be >= 0")
        self._rows = rows
        self.maxrec = maxrec
        self.overflow = maxrec == 0
        self.count = 0

    def batches(self, size: int) -> Iterator[list[T]]:
        if self.maxrec == 0:
            return
        it = iter(self._rows)
        remaining = self.maxrec
        while True:
            want = size if remaining is None else min(size, remaining)
            if want == 0:
                break
            batch = list(islice(it, want))
            if batch:
                self.count += len(batch)
                yield batch
            if remaining is not None:
                remaining -= len(batch)
            if len(batch) < want:
                return
        # Exactly maxrec rows were passed on: overflow iff a further row exists.
        self.overflow = next(it, _END) is not _END
        _close(it)

    def batches_of(self, batches: Iterable[list[T]]) -> Iterator[list[T]]:
        """Like :meth:`batches`, for a source that already comes in batches."""
        if self.maxrec == 0:
            return
        remaining = self.maxrec
        it = iter(batches)
        for batch in it:
            if remaining is not None and len(batch) >= remaining:
                if remaining:
                    self.count += remaining
                    yield batch[:remaining]
                self.overflow = len(batch) > remaining or any(len(b) > 0 for b in it)
                _close(it)
                return
            if batch:
                self.count += len(batch)
                yield batch
            if remaining is not None:
                remaining -= len(batch)


_END = object()


def _close(it: Iterator[object]) -> None:
    """Release what an abandoned source holds (a generator's cursor) right away."""
    close = getattr(it, "close", None)
    if close is not None:
        close()
