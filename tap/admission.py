"""Bounded admission: how much of one kind of work a server process runs at once.

A :class:`Gate` lets at most ``limit`` requests of its kind hold a slot at a time; up to
``queue`` more wait, in arrival order, at most ``max_wait`` seconds each; anything beyond is
refused at once with :class:`Overloaded`, which the endpoint answers with ``503`` and a
``Retry-After`` (TAP: a DALI error document; GraphQL: ``SERVICE_UNAVAILABLE``). A request
that holds a slot can always get what its slot stands for (a database connection, a thread),
because the host sizes its pools from the gates' limits: nothing admitted waits on anything
that another admitted request holds while it waits on something else, so overload cannot
turn into a deadlock, only into fast refusals.

Slots are usually held with ``async with gate.admit():``. Work that outlives its handler (a
result still being written by a database thread after the response has started) takes a
:class:`Slot` with :meth:`Gate.acquire` and releases it from wherever it ends;
:meth:`Slot.release` may be called from any thread, and more than once.

Everything here runs on the event loop, in constant time per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass


class Overloaded(Exception):
    """The gate's slots and queue are full, or the wait ran out: try again later."""

    def __init__(self, gate: str, retry_after: int, reason: str) -> None:
        super().__init__(f"{gate}: {reason}")
        self.gate = gate
        self.retry_after = retry_after
        self.reason = reason

    @property
    def message(self) -> str:
        return (
            f"The service is busy ({self.reason}); try again in {self.retry_after} s. "
            "Large or long queries are better run asynchronously (/tap/async)."
            if self.gate == "sync"
            else f"The service is busy ({self.reason}); try again in {self.retry_after} s."
        )


@dataclass(frozen=True)
class GateLimits:
    """``limit`` slots; ``queue`` waiters at most; ``max_wait`` seconds of waiting each."""

    limit: int
    queue: int
    max_wait: float

    def __post_init__(self) -> None:
        if self.limit < 1 or self.queue < 0 or self.max_wait < 0:
            raise ValueError(f"invalid gate limits {self}")


class Slot:
    """One admitted request's hold on a gate; released once, from any thread."""

    __slots__ = ("_gate", "_lock", "_released", "_started")

    def __init__(self, gate: Gate) -> None:
        self._gate = gate
        self._lock = threading.Lock()
        self._released = False
        self._started = time.monotonic()

    def release(self) -> None:
        with self._lock:
            if self._released:
                return
            self._released = True
        held = time.monotonic() - self._started
        loop = self._gate._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._gate._release(held)
        else:
            loop.call_soon_threadsafe(self._gate._release, held)


class Gate:
    """Admission for one kind of work in one process (see the module docstring)."""

    def __init__(self, name: str, limits: GateLimits) -> None:
        self.name = name
        self.limits = limits
        self.active = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._service = 0.05  # seconds a slot is held, smoothed: for Retry-After
        self.admitted = 0
        self.refused = 0

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def retry_after(self) -> int:
        """Seconds after which a refused client may expect a slot: the queue's drain time,
        at least 1 (Retry-After is in whole seconds), at most 30."""
        drain = (self.waiting + self.active) * self._service / self.limits.limit
        return max(1, min(30, math.ceil(drain)))

    def check(self) -> None:
        """Raise :class:`Overloaded` now if a request arriving now would be refused: lets an
        endpoint refuse before it reads or parses anything."""
        if self.active >= self.limits.limit and len(self._waiters) >= self.limits.queue:
            self.refused += 1
            raise Overloaded(self.name, self.retry_after(), "too many requests are waiting")

    async def acquire(self, *, patient: bool = False) -> Slot:
        """A slot now, or after waiting in the queue; :class:`Overloaded` otherwise.

        ``patient``: for work already under way that must not fail half-done (the next chunk
        of a download whose headers went out): it waits in the queue whatever its length and
        for as long as it takes (its request's cancellation still ends the wait)."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        if self.active < self.limits.limit and not self._waiters:
            self.active += 1
            self.admitted += 1
            return Slot(self)
        if not patient and len(self._waiters) >= self.limits.queue:
            self.refused += 1
            raise Overloaded(self.name, self.retry_after(), "too many requests are waiting")
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(
                asyncio.shield(waiter), None if patient else self.limits.max_wait
            )
        except TimeoutError:
            if waiter.done() and not waiter.cancelled():
                return self._admitted()  # handed a slot just as the wait ran out
            waiter.cancel()
            self._discard(waiter)
            self.refused += 1
            raise Overloaded(
                self.name,
                self.retry_after(),
                f"no capacity within {self.limits.max_wait:g} s",
            ) from None
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release(0.0)  # handed a slot, but the request is gone: pass it on
            else:
                waiter.cancel()
                self._discard(waiter)
            raise
        return self._admitted()

    def _admitted(self) -> Slot:
        self.admitted += 1
        return Slot(self)

    def _discard(self, waiter: asyncio.Future[None]) -> None:
        with contextlib.suppress(ValueError):
            self._waiters.remove(waiter)

    def _release(self, held: float) -> None:
        if held > 0:
            self._service += 0.1 * (held - self._service)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes to the first waiter
                return
        self.active -= 1

    @asynccontextmanager
    async def admit(self) -> AsyncIterator[Slot]:
        slot = await self.acquire()
        try:
            yield slot
        finally:
            slot.release()

    def status(self) -> dict[str, int]:
        return {
            "limit": self.limits.limit,
            "active": self.active,
            "waiting": self.waiting,
            "admitted": self.admitted,
            "refused": self.refused,
        }


class ByteBudget:
    """Bytes that the requests of a process may hold together (of spooled results, of request
    bodies being received): :meth:`take` says whether ``n`` more fit, :meth:`give` returns
    them; any thread."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def take(self, n: int) -> bool:
        with self._lock:
            if self.used + n > self.limit:
                return False
            self.used += n
            return True

    def give(self, n: int) -> None:
        with self._lock:
            self.used -= n
