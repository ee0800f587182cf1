"""A real HTTP server for in-process tests: uvicorn serving an ASGI app in a thread.

The app runs in the test's process, so a test can watch its engine (statements per request,
backends) while requests go over a real socket. Tests of the ``hlsp serve`` command itself
use :func:`tests.support.cli.serving` (subprocesses) instead.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(app: ASGIApp, *, lifespan: bool = False, mount: str = "") -> Iterator[str]:
    """Serve ``app`` on a free loopback port; yield its base URL (with ``mount`` appended).

    ``lifespan``: run the app's startup and shutdown (background services such as UWS)."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on" if lifespan else "off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}{mount}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
