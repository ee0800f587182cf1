"""Archives written while they stream: stored ZIP (ZIP64 where needed) and POSIX tar.

A :class:`Layout` turns entries (a name inside the archive, a size, a modification time)
into the bytes around their data: the header before, what follows (a ZIP data descriptor
with the CRC-32 computed while the data went out; tar's padding to 512 bytes), and the
trailer (ZIP's central directory; tar's two zero blocks). Nothing is compressed (FITS data
compress poorly, and CPU is better spent elsewhere), so the exact length of an archive is
known from its entries before a byte is sent: :meth:`Layout.length` gives the
``Content-Length``, and no temporary file is ever written.

:class:`ArchiveResponse` streams one archive: each file is opened through
:meth:`Delivery.open_file <catalog.delivery.service.Delivery.open_file>` (the storage's
checks) and read in chunks on a worker thread, so memory is flat and the event loop never
waits on the disk; a client that disconnects stops it, and every descriptor is closed. A
file that cannot be opened once the headers are out is left out and listed in a final
``MISSING.txt`` (with the files the request named that the catalog does not have);
``MISSING.txt`` is then padded with blank lines so that the archive keeps the announced
length, or, when the bytes to fill would be unreasonable, the connection is ended (the
client sees an incomplete transfer, never a wrong archive).
"""

from __future__ import annotations

import logging
import struct
import tarfile
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import anyio
import anyio.to_thread
from starlette.types import Receive, Scope, Send

from catalog.delivery.lookup import HLSP_ID, StoredFile
from catalog.delivery.service import Delivery, NotDeliverable
from catalog.delivery.storage import OpenedFile

log = logging.getLogger(__name__)

CHUNK = 1 << 20
MISSING_NAME = "MISSING.txt"
PAD_MOST = 16 << 20  # bytes of blank lines MISSING.txt may be padded with
_U32 = 0xFFFFFFFF
_U16 = 0xFFFF
_UNSAFE = {chr(c) for c in range(32)} | {"\x7f", "/", "\\"}


def member_name(hlsp_id: str, file_name: str) -> str:
    """``<hlsp_id>/<file_name>``: the path of a catalogued file inside an archive; ValueError
    for anything that could climb out of its folder or carry control characters."""
    if not HLSP_ID.fullmatch(hlsp_id):
        raise ValueError(f"not a collection id: {hlsp_id!r}")
    if not file_name or file_name in {".", ".."} or _UNSAFE & set(file_name):
        raise ValueError(f"not a plain file name: {file_name!r}")
    return f"{hlsp_id}/{file_name}"


@dataclass(frozen=True)
class Entry:
    """One file of an archive: its path inside, its size, its modification time (POSIX s)."""

    name: str
    size: int
    mtime: float


@dataclass(frozen=True)
class Written:
    """An entry as it went out: where its header starts and the CRC-32 of its data."""

    entry: Entry
    offset: int
    crc: int


class Layout(Protocol):
    media_type: str
    extension: str
    needs_crc: bool

    def head(self, entry: Entry, offset: int) -> bytes: ...

    def tail(self, written: Written) -> bytes: ...

    def trailer(self, written: Sequence[Written], offset: int) -> bytes: ...


def archive_length(layout: Layout, entries: Sequence[Entry]) -> int:
    """The exact bytes of the archive of ``entries`` (its ``Content-Length``)."""
    offset = 0
    written: list[Written] = []
    for entry in entries:
        start = offset
        offset += len(layout.head(entry, offset)) + entry.size
        done = Written(entry, start, 0)
        offset += len(layout.tail(done))
        written.append(done)
    return offset + len(layout.trailer(written, offset))


def _dos_time(mtime: float) -> tuple[int, int]:
    """(time, date) in MS-DOS form, UTC, clamped to the years it can say (1980 to 2107)."""
    t = time.gmtime(min(max(mtime, 315532800.0), 4354819198.0))
    dos_time = (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2)
    dos_date = ((t.tm_year - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday
    return dos_time, dos_date


class ZipLayout:
    """Stored (method 0) ZIP entries with a data descriptor after each (bit 3: the CRC-32 is
    known only once the data went out), UTF-8 names (bit 11), ZIP64 records for entries,
    offsets and directories past 4 GiB or 65,535 entries (APPNOTE 6.3.x)."""

    media_type = "application/zip"
    extension = "zip"
    needs_crc = True
    FLAGS = 0x0008 | 0x0800

    def head(self, entry: Entry, offset: int) -> bytes:
        name = entry.name.encode()
        dos_time, dos_date = _dos_time(entry.mtime)
        if entry.size >= _U32:
            version, size, extra = 45, _U32, struct.pack("<HHQQ", 1, 16, 0, 0)
        else:
            version, size, extra = 20, 0, b""
        fixed = struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            version,
            self.FLAGS,
            0,
            dos_time,
            dos_date,
            0,
            size,
            size,
            len(name),
            len(extra),
        )
        return fixed + name + extra

    def tail(self, written: Written) -> bytes:
        size = written.entry.size
        if size >= _U32:
            return struct.pack("<IIQQ", 0x08074B50, written.crc, size, size)
        return struct.pack("<IIII", 0x08074B50, written.crc, size, size)

    def _central(self, written: Written) -> bytes:
        entry = written.entry
        name = entry.name.encode()
        dos_time, dos_date = _dos_time(entry.mtime)
        wide: list[int] = []
        size = entry.size
        if size >= _U32:
            wide += [size, size]
            size = _U32
        offset = written.offset
        if offset >= _U32:
            wide.append(offset)
            offset = _U32
        extra = struct.pack(f"<HH{len(wide)}Q", 1, 8 * len(wide), *wide) if wide else b""
        version = 45 if wide else 20
        fixed = struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            (3 << 8) | 45,  # made by: UNIX, 4.5
            version,
            self.FLAGS,
            0,
            dos_time,
            dos_date,
            written.crc,
            size,
            size,
            len(name),
            len(extra),
            0,
            0,
            0,
            0o100644 << 16,
            offset,
        )
        return fixed + name + extra

    def trailer(self, written: Sequence[Written], offset: int) -> bytes:
        directory = b"".join(self._central(w) for w in written)
        count, size = len(written), len(directory)
        out = [directory]
        if count >= _U16 or size >= _U32 or offset >= _U32:
            end64 = offset + size
            out.append(
                struct.pack(
                    "<IQHHIIQQQQ",
                    0x06064B50,
                    44,
                    (3 << 8) | 45,
                    45,
                    0,
                    0,
                    count,
                    count,
                    size,
                    offset,
                )
            )
            out.append(struct.pack("<IIQI", 0x07064B50, 0, end64, 1))
        out.append(
            struct.pack(
                "<IHHHHIIH",
                0x06054B50,
                0,
                0,
                min(count, _U16),
                min(count, _U16),
                min(size, _U32),
                min(offset, _U32),
                0,
            )
        )
        return b"".join(out)


class TarLayout:
    """POSIX (pax) tar: ustar headers, a pax extended header where a name or size needs it
    (non-ASCII or long names, files of 8 GiB and more), data padded to 512 bytes, two zero
    blocks at the end."""

    media_type = "application/x-tar"
    extension = "tar"
    needs_crc = False

    def head(self, entry: Entry, offset: int) -> bytes:
        info = tarfile.TarInfo(entry.name)
        info.size = entry.size
        info.mtime = int(max(entry.mtime, 0))
        info.mode = 0o644
        info.type = tarfile.REGTYPE
        return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "strict")

    def tail(self, written: Written) -> bytes:
        return b"\0" * (-written.entry.size % tarfile.BLOCKSIZE)

    def trailer(self, written: Sequence[Written], offset: int) -> bytes:
        return b"\0" * (2 * tarfile.BLOCKSIZE)


LAYOUTS: dict[str, Layout] = {"zip": ZipLayout(), "tar": TarLayout()}


def missing_text(lines: Sequence[str], length: int | None = None) -> bytes:
    """MISSING.txt: what the request named that the archive does not hold; padded with
    newlines to ``length`` bytes when given."""
    text = (
        "Files of this request that are not in this archive (the ID, then why):\n\n"
        + "".join(line + "\n" for line in lines)
    ).encode()
    if length is not None:
        text += b"\n" * (length - len(text))
    return text


def _padded_length(
    layout: Layout, written: Sequence[Written], offset: int, least: int, promised: int
) -> int | None:
    """The size MISSING.txt must have (at least ``least``) so that the archive, MISSING.txt
    last at ``offset``, is ``promised`` bytes long; None when none does."""

    def total(size: int) -> int:
        entry = Entry(MISSING_NAME, size, time.time())
        end = offset + len(layout.head(entry, offset)) + size
        done = Written(entry, offset, 0)
        end += len(layout.tail(done))
        return end + len(layout.trailer([*written, done], end))

    size = least
    for _ in range(16):  # converges at once but where a ZIP64 record appears or goes
        gap = promised - total(size)
        if gap == 0:
            return size
        size += gap
        if size < least:
            return None
    return None


def _read(opened: OpenedFile, offset: int, n: int, crc: int | None) -> tuple[bytes, int | None]:
    data = opened.read(offset, n)
    return data, (zlib.crc32(data, crc) if crc is not None else None)


class ArchiveResponse:
    """The ASGI response streaming one archive of catalogued files (see the module doc).

    ``files``: (entry, catalogued file) in archive order; ``missing``: lines for MISSING.txt
    known before the start (IDs not found, files that could not be opened); ``done``: called
    once however the response ends (the admission slots go back)."""

    def __init__(
        self,
        delivery: Delivery,
        layout: Layout,
        files: Sequence[tuple[Entry, StoredFile]],
        missing: Sequence[str],
        *,
        file_name: str,
        done: Callable[[], None],
    ) -> None:
        self.delivery = delivery
        self.layout = layout
        self.files = list(files)
        self.missing = list(missing)
        self.file_name = file_name
        self.done = done
        self.now = time.time()
        entries = [entry for entry, _ in self.files]
        if self.missing:
            size = len(missing_text(self.missing))
            entries.append(Entry(MISSING_NAME, size, self.now))
        self.length = archive_length(layout, entries)
        self.sent = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", self.layout.media_type.encode()),
                        (b"content-length", str(self.length).encode()),
                        (
                            b"content-disposition",
                            f'attachment; filename="{self.file_name}"'.encode(),
                        ),
                        (b"cache-control", b"private, no-store"),
                    ],
                }
            )
            async with anyio.create_task_group() as group:

                async def watch() -> None:
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    group.cancel_scope.cancel()

                group.start_soon(watch)
                await self._stream(send)
                group.cancel_scope.cancel()
        finally:
            self.done()

    async def _out(self, send: Send, data: bytes) -> None:
        if data:
            self.sent += len(data)
            await send({"type": "http.response.body", "body": data, "more_body": True})

    async def _stream(self, send: Send) -> None:
        written: list[Written] = []
        missing = list(self.missing)
        for entry, file in self.files:
            try:
                opened = await self.delivery.open_file(file)
            except NotDeliverable as error:
                missing.append(f"{entry.name}\t{error.message}")
                continue
            try:
                written.append(await self._entry(send, entry, opened))
            finally:
                opened.close()
        if missing:
            written.append(await self._missing(send, written, missing))
        await self._out(send, self.layout.trailer(written, self.sent))
        if self.sent != self.length:  # a promise broken: end the connection, never lie
            raise OSError(f"archive of {self.sent} bytes, {self.length} announced")
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _entry(self, send: Send, entry: Entry, opened: OpenedFile) -> Written:
        offset = self.sent
        await self._out(send, self.layout.head(entry, offset))
        crc: int | None = 0 if self.layout.needs_crc else None
        position = 0
        while position < entry.size:
            n = min(CHUNK, entry.size - position)
            data, crc = await anyio.to_thread.run_sync(_read, opened, position, n, crc)
            if not data:
                raise OSError(f"{entry.name} shrank while being sent")
            position += len(data)
            await self._out(send, data)
        done = Written(entry, offset, crc or 0)
        await self._out(send, self.layout.tail(done))
        return done

    async def _missing(self, send: Send, written: list[Written], lines: list[str]) -> Written:
        least = len(missing_text(lines))
        size = _padded_length(self.layout, written, self.sent, least, self.length)
        if size is None or size - least > PAD_MOST:
            raise OSError(
                f"{len(lines)} files went missing while an archive streamed: "
                "its announced length cannot be kept"
            )
        text = missing_text(lines, size)
        entry = Entry(MISSING_NAME, size, self.now)
        offset = self.sent
        await self._out(send, self.layout.head(entry, offset))
        for start in range(0, size, CHUNK):
            await self._out(send, text[start : start + CHUNK])
        done = Written(entry, offset, zlib.crc32(text))
        await self._out(send, self.layout.tail(done))
        return done
