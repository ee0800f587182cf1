"""Admission in front of an ASGI application (the GraphQL endpoint).

The request body is read first (the guard bounds its size and time), then a slot of the
gate is taken, then the application runs with the body replayed; the slot is given back when
the application returns. A request that gets no slot is answered 503 with ``Retry-After``
and a GraphQL error ``SERVICE_UNAVAILABLE``, without running anything. Requests that touch no
database (CORS preflights, a GET without a query: the GraphQL IDE page a browser asks for)
pass without a slot.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tap import Gate, Overloaded


def _runs_nothing(scope: Scope) -> bool:
    """A GET or HEAD without a ``query`` parameter: the IDE page or an error, no execution
    (a GET *with* one runs it, whatever its Accept header says)."""
    if scope["method"] not in ("GET", "HEAD"):
        return False
    return "query" not in parse_qs(scope.get("query_string", b"").decode("latin-1"))


# As catalog.graphql answers the same refusals (catalog/graphql/endpoint/transport.py, view.py).
_CODES = {408: "BAD_REQUEST", 413: "LIMIT_EXCEEDED", 503: "SERVICE_UNAVAILABLE"}


def graphql_error(status: int, message: str, **extensions: Any) -> tuple[bytes, str]:
    """A GraphQL error response body for a request refused before it ran."""
    code = _CODES.get(status, "BAD_REQUEST")
    body = {
        "data": None,
        "errors": [{"message": message, "extensions": {"code": code, **extensions}}],
    }
    return json.dumps(body).encode(), "application/json"


def _graphql_overloaded(exc: Overloaded) -> tuple[bytes, str]:
    return graphql_error(503, exc.message, retryAfter=exc.retry_after)


class Admitted:
    """``app`` behind ``gate`` (see the module docstring)."""

    def __init__(self, app: ASGIApp, gate: Gate) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS" or _runs_nothing(scope):
            await self.app(scope, receive, send)
            return
        try:
            self.gate.check()  # full: refuse before reading the request
        except Overloaded as exc:
            await _refuse(send, exc)
            return
        messages: list[Message] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            messages.append(message)
            if not message.get("more_body", False):
                break
        try:
            slot = await self.gate.acquire()
        except Overloaded as exc:
            await _refuse(send, exc)
            return

        async def replay() -> Message:
            if messages:
                return messages.pop(0)
            return await receive()

        try:
            await self.app(scope, replay, send)
        finally:
            slot.release()


async def _refuse(send: Send, exc: Overloaded) -> None:
    body, media_type = _graphql_overloaded(exc)
    headers: list[Any] = [
        (b"content-type", media_type.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(exc.retry_after).encode()),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
