"""A request whose body is cut off at a size limit, checked as it arrives."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.types import Message


def limited(request: Request, limit: int, too_large: Callable[[], Exception]) -> Request:
    """``request`` whose body raises ``too_large()`` once it passes ``limit`` bytes: at once
    when its ``Content-Length`` says so, else when the bytes received do."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large()
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise too_large()
        return message

    return Request(request.scope, receive)
