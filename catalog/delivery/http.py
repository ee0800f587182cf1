"""A catalogued file over HTTP, as download managers and ``curl -C -`` expect it (RFC 9110).

- ``HEAD`` and ``GET``; ``Content-Length``, ``Accept-Ranges: bytes``, a strong ``ETag``,
  ``Last-Modified``, ``Content-Type`` (the catalogue's: ``application/fits``,
  ``application/fits+gzip``, ``text/plain``, ``image/png``...) and ``Content-Disposition``
  with the file name (``filename`` in ASCII and ``filename*`` in UTF-8).
- Conditional requests: ``If-None-Match`` (weak comparison) / ``If-Modified-Since`` → 304;
  ``If-Match`` / ``If-Unmodified-Since`` → 412.
- ``Range``: one range → 206 with ``Content-Range``; several → ``multipart/byteranges``;
  more than :data:`MAX_RANGES`, or ranges overlapping, are served whole (200), as the RFC
  allows; a range that starts past the end → 416 with ``Content-Range: bytes */<size>``;
  a malformed ``Range`` is ignored. ``If-Range`` with another validator → the whole file.
- The body is read from the already-open, checked descriptor in chunks of :data:`CHUNK`
  bytes on a worker thread, so memory is flat whatever the size, the event loop never
  waits on the disk, and the bytes are those of the file that was checked. A client that
  disconnects ends the reading (and frees the download slot) at the chunk under way.
"""

from __future__ import annotations

import itertools
import re
import secrets
import unicodedata
from collections.abc import Iterable
from email.utils import parsedate_to_datetime
from urllib.parse import quote

import anyio
import anyio.to_thread
from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from catalog.delivery.storage import OpenedFile

CHUNK = 1 << 20
MAX_RANGES = 16
# Shown in the browser: plain text and pictures; anything else (HTML, PDF, FITS...) is saved,
# never rendered from this server's origin.
INLINE_TYPES = (
    "text/plain",
    "text/markdown",
    "text/csv",
    "text/x-rst",
    "image/png",
    "image/jpeg",
    "image/gif",
)
_RANGE = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")


def content_disposition(file_name: str, media_type: str) -> str:
    """``filename`` in printable ASCII without ``%`` (some clients decode it: RFC 6266
    appendix D), and ``filename*`` in UTF-8 when they differ; invisible format characters
    (a right-to-left override shows ``x_\u202etxt.exe`` as ``x_exe.txt``) become ``_``."""
    kind = "inline" if media_type.startswith(INLINE_TYPES) else "attachment"
    shown = "".join("_" if unicodedata.category(c) == "Cf" else c for c in file_name)
    ascii_name = "".join(
        c if 32 <= ord(c) < 127 and c not in '"\\;%' else "_" for c in shown
    ).strip()
    header = f'{kind}; filename="{ascii_name or "download"}"'
    if ascii_name != file_name:
        header += f"; filename*=UTF-8''{quote(shown, safe='')}"
    return header


def parse_ranges(header: str, size: int) -> list[tuple[int, int]] | None:
    """Satisfiable byte ranges as (first, last) inclusive; None when the header is malformed
    (ignored: the whole file); [] when none is satisfiable (416)."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or not spec.strip():
        return None
    ranges: list[tuple[int, int]] = []
    for part in spec.split(","):
        match = _RANGE.match(part)
        if match is None:
            return None
        first, last = match.groups()
        if not first and not last:
            return None
        if len(first) > 19 or len(last) > 19:  # beyond any file: a malformed request
            return None
        if not first:  # the last n bytes
            n = int(last)
            if n == 0:
                continue
            ranges.append((max(0, size - n), size - 1))
            continue
        start = int(first)
        end = int(last) if last else size - 1
        if last and end < start:
            return None
        if start >= size:
            continue
        ranges.append((start, min(end, size - 1)))
    return ranges


def _overlapping(ranges: list[tuple[int, int]]) -> bool:
    ordered = sorted(ranges)
    return any(b[0] <= a[1] for a, b in itertools.pairwise(ordered))


def _etags(header: str) -> list[str]:
    """The entity tags of If-None-Match, for the weak comparison (``W/`` dropped)."""
    return [t.strip().removeprefix("W/") for t in header.split(",") if t.strip()]


def _http_date(value: str) -> float | None:
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


class FileResponse:
    """The ASGI response for one opened file; closes it when done (or abandoned)."""

    def __init__(self, opened: OpenedFile, headers: Headers, method: str) -> None:
        self.opened = opened
        self.request = headers
        self.method = method
        self.media_type = opened.file.media_type

    def _base_headers(self) -> dict[str, str]:
        return {
            "etag": self.opened.etag,
            "last-modified": self.opened.last_modified_http,
            "accept-ranges": "bytes",
            "cache-control": "private, no-cache",
        }

    def _precondition(self) -> int | None:
        """304 or 412 when the conditional headers say so (RFC 9110 §13.2.2 order)."""
        etag = self.opened.etag
        modified = int(self.opened.last_modified.timestamp())
        if_match = self.request.get("if-match")
        if if_match is not None:  # the strong comparison: a weak tag never matches
            tags = [t.strip() for t in if_match.split(",")]
            if "*" not in tags and etag not in tags:
                return 412
        elif (since := self.request.get("if-unmodified-since")) is not None:
            when = _http_date(since)
            if when is not None and modified > when:
                return 412
        if_none = self.request.get("if-none-match")
        if if_none is not None:
            tags = _etags(if_none)
            if "*" in tags or etag in tags:
                return 304 if self.method in ("GET", "HEAD") else 412
        elif (since := self.request.get("if-modified-since")) is not None and self.method in (
            "GET",
            "HEAD",
        ):
            when = _http_date(since)
            if when is not None and modified <= when:
                return 304
        return None

    def _ranges(self) -> list[tuple[int, int]] | None:
        header = self.request.get("range")
        if header is None or self.method != "GET":
            return None
        if_range = self.request.get("if-range")
        if if_range is not None:
            if if_range.startswith(('"', "W/")):
                if if_range.strip() != self.opened.etag:  # strong comparison
                    return None
            else:
                when = _http_date(if_range)
                if when is None or int(self.opened.last_modified.timestamp()) > when:
                    return None
        ranges = parse_ranges(header, self.opened.size)
        if ranges and (len(ranges) > MAX_RANGES or _overlapping(ranges)):
            return None
        return ranges

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # uvicorn's ``send`` returns quietly once the client is gone (ASGI < 2.4): the
        # response watches for the disconnect itself, or it would read the rest of the file
        # (any size, holding its download slot) for nobody.
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(_cancel_on_disconnect, receive, group.cancel_scope)
                await self._respond(send)
                group.cancel_scope.cancel()
        except BaseExceptionGroup as error:  # one failure (the file shrank...): as itself
            if len(error.exceptions) == 1:
                raise error.exceptions[0] from None
            raise
        finally:
            self.opened.close()

    async def _respond(self, send: Send) -> None:
        headers = self._base_headers()
        status = self._precondition()
        if status is not None:
            await _start(send, status, headers)
            await send({"type": "http.response.body", "body": b""})
            return
        size = self.opened.size
        headers["content-disposition"] = content_disposition(
            self.opened.file.file_name, self.media_type
        )
        ranges = self._ranges()
        if ranges == []:
            headers["content-range"] = f"bytes */{size}"
            headers["content-type"] = "text/plain; charset=utf-8"
            body = f"None of the requested ranges lies within the file's {size} bytes.\n"
            headers["content-length"] = str(len(body))
            await _start(send, 416, headers)
            await send({"type": "http.response.body", "body": body.encode()})
            return
        if ranges is None:
            headers["content-type"] = self.media_type
            headers["content-length"] = str(size)
            await _start(send, 200, headers)
            await self._body(send, [(0, size - 1)] if size else [])
        elif len(ranges) == 1:
            first, last = ranges[0]
            headers["content-type"] = self.media_type
            headers["content-range"] = f"bytes {first}-{last}/{size}"
            headers["content-length"] = str(last - first + 1)
            await _start(send, 206, headers)
            await self._body(send, ranges)
        else:
            await self._multipart(send, headers, ranges)

    async def _multipart(
        self, send: Send, headers: dict[str, str], ranges: list[tuple[int, int]]
    ) -> None:
        boundary = secrets.token_hex(16)
        size = self.opened.size
        heads = [
            (
                f"--{boundary}\r\nContent-Type: {self.media_type}\r\n"
                f"Content-Range: bytes {first}-{last}/{size}\r\n\r\n"
            ).encode()
            for first, last in ranges
        ]
        tail = f"\r\n--{boundary}--\r\n".encode()
        length = sum(len(h) for h in heads) + sum(b - a + 1 for a, b in ranges)
        length += 2 * (len(ranges) - 1) + len(tail)
        headers["content-type"] = f"multipart/byteranges; boundary={boundary}"
        headers["content-length"] = str(length)
        await _start(send, 206, headers)
        if self.method == "HEAD":
            await send({"type": "http.response.body", "body": b""})
            return
        for i, (head, span) in enumerate(zip(heads, ranges, strict=True)):
            prefix = (b"\r\n" if i else b"") + head
            await send({"type": "http.response.body", "body": prefix, "more_body": True})
            await self._chunks(send, span, more_after=True)
        await send({"type": "http.response.body", "body": tail})

    async def _body(self, send: Send, spans: Iterable[tuple[int, int]]) -> None:
        if self.method == "HEAD":
            await send({"type": "http.response.body", "body": b""})
            return
        for span in spans:
            await self._chunks(send, span, more_after=True)
        await send({"type": "http.response.body", "body": b""})

    async def _chunks(self, send: Send, span: tuple[int, int], *, more_after: bool) -> None:
        offset, last = span
        while offset <= last:
            n = min(CHUNK, last - offset + 1)
            data = await anyio.to_thread.run_sync(self.opened.read, offset, n)
            if not data:  # the file shrank under us: stop short (the length is a promise
                raise OSError(f"{self.opened.file.file_name} shrank while being sent")
            offset += len(data)
            await send({"type": "http.response.body", "body": data, "more_body": more_after})


async def _cancel_on_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    scope.cancel()


async def _start(send: Send, status: int, headers: dict[str, str]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
        }
    )
