"""The outermost ASGI layer: request bodies bounded in size, time and memory; headers that
every response (and every page) should carry.

- **Size**: a body larger than its route's limit (``Content-Length`` up front, or counted as
  it arrives) is answered ``413`` at once.
- **Time**: a client that leaves its body silent for ``client_timeout`` seconds is answered
  ``408``.
- **Memory**: the bodies being received by the process hold at most ``intake_budget`` bytes
  together; a request that would go beyond is answered ``503`` with ``Retry-After``.
- **Stalled readers**: a response the client does not accept for ``send_stall`` seconds is
  abandoned (the application sees the client gone; the connection is closed).

In each case the connection is closed after the answer, and the application sees the client
disconnect (so it stops, and its later response is discarded). The answer is in the form the
clients of that path read (``renderers``: a DALI error document under ``/tap``, a GraphQL
error under ``/graphql``), plain text elsewhere.

Every response gets ``X-Content-Type-Options: nosniff``; HTML and XHTML pages also get a
Content-Security-Policy (pages of this server load nothing from elsewhere; the GraphQL IDE's
scripts come from this server too), ``X-Frame-Options: DENY`` and ``Referrer-Policy``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tap import ByteBudget

log = logging.getLogger(__name__)

Renderer = Callable[[int, str], tuple[bytes, str]]
"""(HTTP status, message) -> (body, media type) of a refusal."""

PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# strawberry's GraphiQL page: its scripts and styles from this server
# (catalog.graphql.endpoint.ide), inline bootstrap code.
GRAPHIQL_POLICY = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


class _Refused(Exception):
    def __init__(self, status: int, text: str, retry_after: int | None = None) -> None:
        super().__init__(text)
        self.status = status
        self.text = text
        self.retry_after = retry_after


class RequestGuard:
    """See the module docstring. ``body_limits``: (path prefix, bytes), first match wins;
    ``default_limit`` for every other path."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        body_limits: Sequence[tuple[str, int]] = (),
        default_limit: int = 64 * 1024,
        client_timeout: float = 20.0,
        send_stall: float = 60.0,
        intake_budget: ByteBudget | None = None,
        renderers: Sequence[tuple[str, Renderer]] = (),
    ) -> None:
        self.app = app
        self.body_limits = tuple(body_limits)
        self.default_limit = default_limit
        self.client_timeout = client_timeout
        self.send_stall = send_stall
        self.budget = intake_budget or ByteBudget(256 * 1024 * 1024)
        self.renderers = tuple(renderers)

    def renderer_for(self, path: str) -> Renderer:
        for prefix, renderer in self.renderers:
            if _under(path, prefix):
                return renderer
        return plain_text

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.body_limits:
            if _under(path, prefix):
                return limit
        return self.default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exchange = _Exchange(self, scope, receive, send)
        await exchange.run()


class _Exchange:
    """One request through the guard."""

    def __init__(self, guard: RequestGuard, scope: Scope, receive: Receive, send: Send) -> None:
        self.guard = guard
        self.scope = scope
        self._receive = receive
        self._send = send
        self.limit = guard.limit_for(scope.get("path", ""))
        self.received = 0  # body bytes so far (the size limit)
        self.held = 0  # of which the process's budget still counts
        self.body_done = False
        self.started = False
        self.refused = False
        self.html_policy = (
            GRAPHIQL_POLICY if scope.get("path", "").startswith("/graphql") else PAGE_POLICY
        )

    async def run(self) -> None:
        declared = _content_length(self.scope)
        try:
            if declared is not None and declared > self.limit:
                raise _Refused(413, self._too_large())
            await self.guard.app(self.scope, self.receive, self.send)
        except _Refused as exc:
            await self._refuse(exc)
        except Exception:
            if not self.refused:
                raise
        finally:
            self._give_back()

    def _give_back(self) -> None:
        """The body's bytes leave the process's budget: once the answer starts, the request
        has been read and used (a response may take long to deliver; its body is done)."""
        self.guard.budget.give(self.held)
        self.held = 0

    def _too_large(self) -> str:
        return f"The request body is larger than this resource accepts ({self.limit:,} bytes)."

    async def receive(self) -> Message:
        if self.refused:
            return {"type": "http.disconnect"}
        if self.body_done:
            return await self._receive()  # waiting for a disconnect: no deadline
        message, refusal = await self._body_message()
        if refusal is not None:
            await self._refuse(refusal)
            return {"type": "http.disconnect"}
        return message

    async def _body_message(self) -> tuple[Message, _Refused | None]:
        try:
            async with asyncio.timeout(self.guard.client_timeout):
                message = await self._receive()
        except TimeoutError:
            text = f"The request body stalled for {self.guard.client_timeout:g} s."
            return {}, _Refused(408, text)
        if message["type"] != "http.request":
            return message, None
        size = len(message.get("body", b""))
        if self.received + size > self.limit:
            return message, _Refused(413, self._too_large())
        if not self.guard.budget.take(size):
            text = "The server is receiving too much data; try again shortly."
            return message, _Refused(503, text, 2)
        self.received += size
        self.held += size
        if not message.get("more_body", False):
            self.body_done = True
        return message, None

    async def send(self, message: Message) -> None:
        if self.refused:
            return  # the client already has its answer
        if message["type"] == "http.response.start":
            self.started = True
            self._give_back()
            message["headers"] = _with_security_headers(
                list(message.get("headers", [])), self.html_policy
            )
        try:
            async with asyncio.timeout(self.guard.send_stall):
                await self._send(message)
        except TimeoutError:
            self.refused = True  # nothing more can reach this client
            log.warning("dropped a client that read nothing for %g s", self.guard.send_stall)
            raise OSError("the client stopped reading") from None

    async def _refuse(self, exc: _Refused) -> None:
        if self.refused:
            return
        self.refused = True
        if self.started:  # too late for a status: end the connection
            return
        body, media_type = self.guard.renderer_for(self.scope.get("path", ""))(exc.status, exc.text)
        headers = [
            (b"content-type", media_type.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        if exc.retry_after is not None:
            headers.append((b"retry-after", str(exc.retry_after).encode()))
        headers = _with_security_headers(headers, self.html_policy)
        stall = self.guard.send_stall
        try:
            async with asyncio.timeout(stall):
                await self._send(
                    {"type": "http.response.start", "status": exc.status, "headers": headers}
                )
            async with asyncio.timeout(stall):
                await self._send({"type": "http.response.body", "body": body, "more_body": False})
        except TimeoutError:
            log.warning("dropped a client that read nothing for %g s", stall)


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def plain_text(status: int, message: str) -> tuple[bytes, str]:
    return (message + "\n").encode(), "text/plain; charset=utf-8"


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _with_security_headers(headers: list[Any], html_policy: str) -> list[Any]:
    names = {bytes(name).lower() for name, _ in headers}
    out = list(headers)
    if b"x-content-type-options" not in names:
        out.append((b"x-content-type-options", b"nosniff"))
    content_type = next(
        (bytes(v).lower() for n, v in headers if bytes(n).lower() == b"content-type"), b""
    )
    if content_type.startswith((b"text/html", b"application/xhtml+xml")):
        if b"content-security-policy" not in names:
            out.append((b"content-security-policy", html_policy.encode()))
        if b"x-frame-options" not in names:
            out.append((b"x-frame-options", b"DENY"))
        if b"referrer-policy" not in names:
            out.append((b"referrer-policy", b"same-origin"))
    return out
