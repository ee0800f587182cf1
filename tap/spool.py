"""A query's result on its way to the client, decoupled from the database.

A synchronous query writes its output document through a :class:`ResultSpool` from a
worker thread as fast as PostgreSQL produces it; the client reads it at its own pace through
:class:`SpoolResponse`. The database connection (and the request's admission slot) is
therefore held for as long as the query runs, not for as long as the client takes to read:
a slow or stalled reader holds a socket and some disk, nothing the next query needs.

The spool keeps up to ``memory`` bytes in memory; beyond that it writes to an unlinked
temporary file (in ``directory``), at most ``max_bytes`` unread bytes per result and at most
the shared :class:`ByteBudget` over all results of the process. When either is full the
producer waits for the client to read; the time it may spend waiting over the whole result
is ``hold``: after that the result is abandoned (:class:`SpoolOverrun` in the producer; the
client's response ends without its final chunk, which HTTP clients report as a truncated
transfer). When the client disconnects, the producer's next write raises
:class:`ClientGone`, so the query ends and its transaction is rolled back at once.

:class:`SpoolResponse` sends what the spool holds, gives each chunk ``stall`` seconds to be
accepted by the client (a client that stops reading is dropped), drops a client still reading
after ``deliver`` seconds while bytes wait for it on disk (so that slow readers cannot keep
the process's spool budget), and watches for the client going away while the result is still
being produced.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
import threading
import time
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from tap.admission import ByteBudget

log = logging.getLogger(__name__)

READ_CHUNK = 1 << 16


class ClientGone(Exception):
    """The client disconnected or was dropped: stop producing."""


class SpoolOverrun(Exception):
    """The client read too slowly for too long while the spool was full."""


class ResultSpool:
    """One result's bytes between a producer thread and the event loop (see module doc)."""

    def __init__(
        self,
        *,
        budget: ByteBudget,
        memory: int = 1 << 20,
        max_bytes: int = 1 << 30,
        hold: float = 30.0,
        directory: str | None = None,
    ) -> None:
        self.budget = budget
        self.memory = memory
        self.max_bytes = max_bytes
        self.hold = hold
        self.directory = directory
        self._cond = threading.Condition()
        self._mem: deque[bytes] = deque()
        self._mem_bytes = 0
        self._spilled = False
        self._fd: int | None = None
        self._written = 0  # file offsets
        self._read = 0
        self._done = False
        self._error: BaseException | None = None
        self._gone = False
        self._held = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready: asyncio.Event | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Attach the consumer's event loop (before the producer starts)."""
        self._loop = loop
        self._ready = asyncio.Event()

    # -- producer (a worker thread) -----------------------------------------------------------

    def write(self, chunk: bytes) -> None:
        if not chunk:
            return
        with self._cond:
            if self._gone:
                raise ClientGone
            if not self._spilled and self._mem_bytes + len(chunk) <= self.memory:
                self._mem.append(chunk)
                self._mem_bytes += len(chunk)
            else:
                self._spilled = True
                self._wait_for_room(len(chunk))
                try:
                    if self._fd is None:
                        self._fd = _temporary_file(self.directory)
                    _write_all(self._fd, chunk, self._written)
                except BaseException:
                    self.budget.give(len(chunk))  # reserved, never written
                    raise
                self._written += len(chunk)
        self._wake()

    def _wait_for_room(self, n: int) -> None:
        """Reserve ``n`` bytes of file; wait (at most what remains of ``hold``) for the
        client to read when this spool or the process's budget is full."""
        while True:
            if self._gone:
                raise ClientGone
            if self._written - self._read + n <= self.max_bytes and self.budget.take(n):
                return
            remaining = self.hold - self._held
            if remaining <= 0:
                raise SpoolOverrun(
                    f"the client read too slowly: more than {self.max_bytes:,} bytes waited "
                    f"for it for {self.hold:g} s"
                )
            started = time.monotonic()
            self._cond.wait(min(remaining, 0.5))
            self._held += time.monotonic() - started

    def finish(self, error: BaseException | None = None) -> None:
        """The producer is done (``error``: it failed part-way)."""
        with self._cond:
            self._done = True
            self._error = error
        self._wake()

    def _wake(self) -> None:
        loop, ready = self._loop, self._ready
        if loop is not None and ready is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(ready.set)

    # -- consumer (the event loop) ------------------------------------------------------------

    @property
    def on_disk(self) -> bool:
        """Bytes wait for the client in the spool's file (it reads slower than it gets)."""
        return self._fd is not None and self._read < self._written

    def abandon(self) -> None:
        """The client is gone: make the producer stop, free the file."""
        with self._cond:
            self._gone = True
            self._cond.notify_all()
            self._close_file()
        if self._ready is not None:
            self._ready.set()

    def _close_file(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.budget.give(self._written - self._read)
        self._written = self._read = 0

    def _take(self) -> bytes | None:
        """The next bytes to send, or None if there are none yet (under the lock)."""
        if self._mem:
            chunk = self._mem.popleft()
            self._mem_bytes -= len(chunk)
            self._cond.notify_all()
            return chunk
        if self._fd is not None and self._read < self._written:
            n = min(READ_CHUNK, self._written - self._read)
            data = os.pread(self._fd, n, self._read)
            if not data:
                raise OSError(f"the spool file ended {self._written - self._read} bytes early")
            self._read += len(data)
            self.budget.give(len(data))
            if self._read == self._written:  # caught up: back to memory
                os.ftruncate(self._fd, 0)
                self._read = self._written = 0
                self._spilled = False
            self._cond.notify_all()
            return data
        return None

    async def read(self) -> bytes | None:
        """The next chunk; None at the end; the producer's error if it failed."""
        assert self._ready is not None, "bind() the spool to the event loop first"
        while True:
            self._ready.clear()
            with self._cond:
                if self._gone:
                    raise ClientGone
                chunk = self._take()
                if chunk is not None:
                    return chunk
                if self._done:
                    self._close_file()
                    if self._error is not None:
                        raise self._error
                    return None
            await self._ready.wait()


def _write_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        view, offset = view[n:], offset + n


def _temporary_file(directory: str | None) -> int:
    if directory is not None:
        Path(directory).mkdir(mode=0o700, parents=True, exist_ok=True)
    handle = tempfile.TemporaryFile(prefix="tap-result-", dir=directory)  # noqa: SIM115
    fd = os.dup(handle.fileno())
    handle.close()
    return fd


class SpoolResponse(Response):
    """An ASGI response that sends a spool's bytes (see the module docstring)."""

    def __init__(
        self,
        spool: ResultSpool,
        *,
        media_type: str,
        headers: Mapping[str, str] | None = None,
        stall: float = 60.0,
        deliver: float = 900.0,
    ) -> None:
        self.spool = spool
        self.stall = stall
        self.deliver = deliver
        self.status_code = 200
        self.media_type = media_type
        self.background = None
        self.init_headers(headers)  # no body: no Content-Length, chunked transfer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        watcher = asyncio.ensure_future(self._watch(receive))
        deadline = time.monotonic() + self.deliver
        try:
            await self._send(
                send, {"type": "http.response.start", "status": 200, "headers": self.raw_headers}
            )
            while (chunk := await self.spool.read()) is not None:
                await self._send(
                    send, {"type": "http.response.body", "body": chunk, "more_body": True}
                )
                if self.spool.on_disk and time.monotonic() > deadline:
                    raise SpoolOverrun(
                        f"the client took more than {self.deliver:g} s to read a result the "
                        "server kept on disk for it"
                    )
            await self._send(send, {"type": "http.response.body", "body": b"", "more_body": False})
        except ClientGone:
            return
        except (SpoolOverrun, TimeoutError) as exc:
            log.warning("TAP result abandoned: %s", str(exc) or "the client stopped reading")
        except Exception:
            log.exception("TAP result failed part-way")
        finally:
            self.spool.abandon()
            watcher.cancel()

    async def _send(self, send: Send, message: Message) -> None:
        async with asyncio.timeout(self.stall):  # (cheaper than wait_for: no task per send)
            await send(message)

    async def _watch(self, receive: Receive) -> None:
        while True:
            message: Any = await receive()
            if message["type"] == "http.disconnect":
                self.spool.abandon()
                return
