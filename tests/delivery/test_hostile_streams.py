"""Hostile downloaders at the ASGI boundary: a client that goes away mid-file, a file that
shrinks while it is sent. The response runs over a real file opened by the real storage, as
uvicorn drives it (``send`` after a disconnect returns quietly, as uvicorn's does)."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.datastructures import Headers
from starlette.types import Message

from catalog.delivery.http import CHUNK, FileResponse
from catalog.delivery.lookup import StoredFile
from catalog.delivery.storage import OpenedFile, PosixStorage

SIZE = 64 * CHUNK


def _stored(path: Path) -> StoredFile:
    info = path.stat()
    return StoredFile(
        kind="companion",
        hlsp_id="hostile",
        file_name=path.name,
        path=str(path),
        size=info.st_size,
        mtime=datetime.fromtimestamp(info.st_mtime_ns // 1000 / 1e6, UTC),
        media_type="application/octet-stream",
        obs_id=path.stem,
    )


def _opened(tmp_path: Path, size: int = SIZE) -> OpenedFile:
    path = tmp_path / "large.bin"
    with path.open("wb") as file:
        file.truncate(size)
    return PosixStorage(lambda: [str(tmp_path)]).open(_stored(path))


class Client:
    """A client of the response: reads ``read_before_leaving`` body bytes, then leaves."""

    def __init__(self, read_before_leaving: int) -> None:
        self.budget = read_before_leaving
        self.received = 0
        self.after_leaving = 0
        self.gone = asyncio.Event()
        self.asked = False

    async def receive(self) -> Message:
        if not self.asked:
            self.asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if message["type"] != "http.response.body":
            return
        await asyncio.sleep(0)  # the network: the server's loop runs between two sends
        if self.gone.is_set():  # uvicorn drops what is sent after a disconnect, silently
            self.after_leaving += len(message.get("body", b""))
            return
        self.received += len(message.get("body", b""))
        if self.received >= self.budget:
            self.gone.set()


def test_a_client_that_leaves_mid_file_stops_the_reading(tmp_path: Path) -> None:
    opened = _opened(tmp_path)
    client = Client(read_before_leaving=2 * CHUNK)
    response = FileResponse(opened, Headers({}), "GET")
    scope = {"type": "http", "method": "GET", "headers": []}
    asyncio.run(asyncio.wait_for(response(scope, client.receive, client.send), 60))
    assert client.received >= 2 * CHUNK
    # at most the chunk under way when the disconnect arrived, never the rest of the file
    assert client.after_leaving <= 2 * CHUNK, (
        f"{client.after_leaving:,} bytes of a {SIZE:,}-byte file were read for a client "
        "that had gone"
    )
    assert opened.fd == -1, "the file stays open after the response"


def test_a_file_that_shrinks_mid_download_ends_the_response(tmp_path: Path) -> None:
    opened = _opened(tmp_path)
    os.truncate(opened.real_path, CHUNK)  # the file shrinks after the check
    client = Client(read_before_leaving=SIZE + 1)
    response = FileResponse(opened, Headers({}), "GET")
    scope = {"type": "http", "method": "GET", "headers": []}
    with pytest.raises(OSError, match="shrank"):
        asyncio.run(asyncio.wait_for(response(scope, client.receive, client.send), 60))
    assert client.received == CHUNK
    assert opened.fd == -1
