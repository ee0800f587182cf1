"""uvicorn's HTTP protocol with a deadline and a size limit for each request head.

uvicorn reads a request's line and headers for as long as the client takes: a client that
opens a connection and sends nothing, or a header a byte at a time, holds the connection
forever (uvicorn's keep-alive timeout only runs between requests). Here a request head must
arrive whole within ``head_timeout`` seconds of the connection (or of the first byte of a
later request on it) and in at most ``head_limit`` bytes; otherwise the client gets 408 or
431 and the connection is closed. The request body has its own deadline per silence, in
:mod:`catalog.serving.guard`.

The settings come from the server's :class:`catalog.serving.launch.ServerConfig`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

DEFAULT_HEAD_TIMEOUT = 20.0
DEFAULT_HEAD_LIMIT = 64 * 1024
LINGER_SECONDS = 2.0
LINGER_BYTES = 1 << 20


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """See the module docstring."""

    def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.head_timeout = float(getattr(config, "head_timeout", DEFAULT_HEAD_TIMEOUT))
        self.head_limit = int(getattr(config, "head_limit", DEFAULT_HEAD_LIMIT))
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_bytes = 0
        self._in_head = False
        self._discarding = False
        self._refusal: tuple[int, bytes, bytes] | None = None  # due when a response ends

    def _busy(self) -> bool:
        """A request is being answered (a later, pipelined head must wait for it)."""
        return self.cycle is not None and not self.cycle.response_complete

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head()
        super().connection_lost(exc)

    def _start_head(self) -> None:
        """A head begins: count its bytes, and give it ``head_timeout`` seconds (from now,
        or, behind a request still being answered, from when that answer ends)."""
        self._stop_head()
        self._in_head = True
        self._head_bytes = 0
        if not self._busy():
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_expired)

    def _stop_head(self) -> None:
        self._in_head = False
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def data_received(self, data: bytes) -> None:
        if self._discarding:  # after a refusal: read what the client still sends, drop it
            self._head_bytes += len(data)
            if self._head_bytes > LINGER_BYTES:
                self.transport.close()
            return
        if not self._in_head and not self._busy():
            # Bytes between requests (even the blank lines the parser skips without
            # beginning a message) start the next head's clock.
            self._start_head()
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        # Still in the head after this chunk (its body, if any, not begun): the head alone is
        # over the limit. (A chunk that completes the head may carry body bytes too.)
        if self._in_head and self._head_bytes > self.head_limit:
            self._refuse(
                431,
                b"Request Header Fields Too Large",
                b"The request line and headers are too large.",
            )

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._in_head:  # a later request on a kept-alive (or pipelining) connection
            self._start_head()

    def on_headers_complete(self) -> None:
        self._stop_head()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._refusal is not None:
            status, reason, text = self._refusal
            self._refusal = None
            self._refuse(status, reason, text)
        elif self._in_head and self._head_timer is None and not self.transport.is_closing():
            # a pipelined head that began while this response was on its way: its clock
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_expired)

    def _head_expired(self) -> None:
        self._head_timer = None
        if self._in_head and not self.transport.is_closing():
            self._refuse(408, b"Request Timeout", b"The request headers did not arrive in time.")

    def _refuse(self, status: int, reason: bytes, text: bytes) -> None:
        self._stop_head()
        if self.transport.is_closing():
            return
        if self._busy():  # the answer in progress goes first; read nothing more meanwhile
            self._refusal = (status, reason, text)
            self.flow.pause_reading()
            return
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s"
            % (status, reason, len(text) + 1, text + b"\n")
        )
        # Closing with unread bytes would reset the connection, and the client might never
        # read the answer: half-close, drop what still arrives for a moment, then close.
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self._discarding = True
            self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()
