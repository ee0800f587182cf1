"""Reading an uploaded VOTable (TAP 1.1 §3.5, DALI 1.1 §3.4.5).

Accepts what clients send: TABLEDATA (taplint, astropy's default), BINARY (TOPCAT's
default, taplint) and BINARY2 (TOPCAT option, pyvo with ``tabledata_format="binary2"``),
base64 STREAMs inline, VOTable 1.1 to 1.4 with or without namespace. The first TABLE of
the document is the upload.

Limits: ``max_bytes`` bounds the document (checked before parsing), ``max_rows`` the
rows. Entity declarations are refused outright (no VOTable needs them, and they are how
XML bombs work); expat never fetches external entities.

Every problem is an :class:`~tap.errors.UploadError` that says what was wrong and where
(row and column for a bad value).
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import IO, Any

from tap.errors import UploadError
from tap.metadata import Column
from tap.upload.decode import Decoder
from tap.upload.fields import UploadField, make_field, sql_names, unique_names

DEFAULT_MAX_BYTES = 16 * 2**20
DEFAULT_MAX_ROWS = 1_000_000
_READ = 2**16


@dataclass(frozen=True)
class UploadedTable:
    """An uploaded table: ADQL-visible columns, their SQL names, and the decoded rows."""

    columns: tuple[Column, ...]
    sql_names: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    fields: tuple[UploadField, ...]

    @property
    def name_map(self) -> dict[str, str]:
        """Uploaded column name → SQL column name."""
        return {c.name: s for c, s in zip(self.columns, self.sql_names, strict=True)}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _read_all(data: bytes | IO[bytes], max_bytes: int) -> bytes:
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        over = len(raw) > max_bytes
    else:
        pieces = []
        total = 0
        over = False
        while not over:
            piece = data.read(_READ)
            if not piece:
                break
            total += len(piece)
            over = total > max_bytes
            pieces.append(piece)
        raw = b"".join(pieces)
    if over:
        raise UploadError(
            f"The uploaded table is larger than the limit of {max_bytes:,} bytes; "
            "upload fewer rows or columns."
        )
    return raw


_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)


def read_upload(
    data: bytes | IO[bytes],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_rows: int = DEFAULT_MAX_ROWS,
    label: str = "upload",
    too_many_rows: str | None = None,
) -> UploadedTable:
    """Parse an uploaded VOTable into an :class:`UploadedTable`.

    ``label`` names the upload in messages (the UPLOAD table name); ``too_many_rows`` is what
    to say when the table has more than ``max_rows`` rows (a limit shared with other tables).
    """
    raw = _read_all(data, max_bytes)
    prefix = f"Table {label}: "
    if not raw.strip():
        raise UploadError(prefix + "the upload is empty; send a VOTable document.")
    if _ENTITY.search(raw):
        raise UploadError(prefix + "XML entity declarations are not accepted in uploads.")
    try:
        return _Parser(prefix, max_rows, too_many_rows).parse(raw)
    except ET.ParseError as exc:
        raise UploadError(prefix + f"not well-formed XML ({exc}); send a VOTable.") from None


class _Parser:
    def __init__(self, prefix: str, max_rows: int, too_many_rows: str | None) -> None:
        self.prefix = prefix
        self.max_rows = max_rows
        self.too_many_rows = too_many_rows

    def fail(self, message: str) -> UploadError:
        return UploadError(self.prefix + message)

    def events(self, raw: bytes) -> Iterator[tuple[str, ET.Element]]:
        parser: ET.XMLPullParser[Any] = ET.XMLPullParser(events=("start", "end"))
        for start in range(0, len(raw), _READ):
            parser.feed(raw[start : start + _READ])
            yield from parser.read_events()  # type: ignore[misc]
        parser.close()
        yield from parser.read_events()  # type: ignore[misc]

    def parse(self, raw: bytes) -> UploadedTable:
        events = self.events(raw)
        root_seen = False
        for event, elem in events:
            tag = _local(elem.tag)
            if not root_seen:
                if tag != "VOTABLE":
                    raise self.fail(f"the document is <{tag}>, not a VOTable; send a VOTable.")
                root_seen = True
            if event == "start" and tag == "TABLE":
                return self.table(events)
        if not root_seen:
            raise self.fail("no XML element found; send a VOTable document.")
        raise self.fail("the VOTable has no TABLE; it must contain the table to upload.")

    def table(self, events: Iterator[tuple[str, ET.Element]]) -> UploadedTable:
        fields: list[UploadField] = []
        rows: list[tuple[Any, ...]] = []
        for event, elem in events:
            tag = _local(elem.tag)
            if event == "start":
                if tag == "DATA":
                    if not fields:
                        raise self.fail("the TABLE has no FIELD before its DATA.")
                    rows = self.data(events, fields)
                continue
            if tag == "FIELD":
                fields.append(self.field(len(fields), elem))
            elif tag == "TABLE":
                break
        if not fields:
            raise self.fail("the TABLE has no FIELD; describe each column with a FIELD.")
        names = unique_names([f.name for f in fields])
        columns = []
        for field, name in zip(fields, names, strict=True):
            column = field.column()
            columns.append(column if name == field.name else replace(column, name=name))
        return UploadedTable(tuple(columns), tuple(sql_names(names)), rows, tuple(fields))

    def field(self, position: int, elem: ET.Element) -> UploadField:
        description = ""
        null = None
        for child in elem:
            tag = _local(child.tag)
            if tag == "DESCRIPTION":
                description = " ".join((child.text or "").split())
            elif tag == "VALUES":
                null = child.get("null")
        try:
            return make_field(position, dict(elem.attrib), description, null)
        except UploadError as exc:
            raise self.fail(exc.message) from None

    def data(
        self, events: Iterator[tuple[str, ET.Element]], fields: list[UploadField]
    ) -> list[tuple[Any, ...]]:
        decoders = [Decoder(f) for f in fields]
        for event, elem in events:
            tag = _local(elem.tag)
            if event != "start":
                if tag == "DATA":
                    return []
                continue
            if tag == "TABLEDATA":
                return self.tabledata(events, decoders, elem.tag[: -len(tag)])
            if tag in ("BINARY", "BINARY2"):
                stream = self.stream(events, tag)
                return self.binary(stream, decoders, binary2=tag == "BINARY2")
            if tag == "FITS":
                raise self.fail(
                    "FITS-serialised VOTables cannot be uploaded; use TABLEDATA, BINARY or BINARY2."
                )
            raise self.fail(f"unexpected <{tag}> in DATA.")
        raise self.fail("the document ends inside DATA.")

    def tabledata(
        self, events: Iterator[tuple[str, ET.Element]], decoders: list[Decoder], namespace: str
    ) -> list[tuple[Any, ...]]:
        """Rows of a TABLEDATA (``namespace``: the ``{uri}`` its tags carry, or '')."""
        rows: list[tuple[Any, ...]] = []
        n = len(decoders)
        readers = [d.text for d in decoders]
        tr, td, end = namespace + "TR", namespace + "TD", namespace + "TABLEDATA"
        for event, elem in events:
            if event != "end":
                continue
            tag = elem.tag
            if tag == tr:
                cells = [cell.text or "" for cell in elem if cell.tag == td]
                if len(cells) != n:
                    raise self.fail(f"row {len(rows) + 1} has {len(cells)} cells for {n} FIELDs.")
                rows.append(self.row(len(rows), readers, cells, decoders))
                if len(rows) > self.max_rows:
                    raise self.too_many()
                elem.clear()
            elif tag == end:
                return rows
        raise self.fail("the document ends inside TABLEDATA.")

    def row(
        self, index: int, readers: list[Any], cells: list[str], decoders: list[Decoder]
    ) -> tuple[Any, ...]:
        try:
            return tuple(read(cell) for read, cell in zip(readers, cells, strict=True))
        except ValueError as exc:
            for decoder, cell in zip(decoders, cells, strict=True):
                try:
                    decoder.text(cell)
                except ValueError as inner:
                    raise self.fail(
                        f"row {index + 1}, column {decoder.field.name}: {inner}."
                    ) from None
            raise self.fail(f"row {index + 1}: {exc}.") from None

    def too_many(self) -> UploadError:
        return self.fail(
            self.too_many_rows or f"more than {self.max_rows:,} rows; upload at most that many."
        )

    def stream(self, events: Iterator[tuple[str, ET.Element]], kind: str) -> bytes:
        for event, elem in events:
            tag = _local(elem.tag)
            if event == "start" and tag == "STREAM":
                if elem.get("href"):
                    raise self.fail(
                        f"{kind} STREAM href (external data) is not accepted; "
                        "send the data inline, base64-encoded."
                    )
                encoding = elem.get("encoding", "base64")
                if encoding != "base64":
                    raise self.fail(
                        f"{kind} STREAM encoding {encoding!r} is not supported; use base64."
                    )
            elif event == "end" and tag == "STREAM":
                text = re.sub(r"\s+", "", elem.text or "")
                try:
                    return base64.b64decode(text, validate=True)
                except (binascii.Error, ValueError):
                    raise self.fail(f"the {kind} STREAM is not valid base64.") from None
            elif event == "end" and tag == kind:
                break
        raise self.fail(f"the {kind} element has no STREAM.")

    def binary(
        self, data: bytes, decoders: list[Decoder], *, binary2: bool
    ) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        n = len(decoders)
        mask_len = (n + 7) // 8 if binary2 else 0
        offset = 0
        end = len(data)
        kind = "BINARY2" if binary2 else "BINARY"
        while offset < end:
            row: list[Any] = []
            if offset + mask_len > end:
                raise self.truncated(kind, len(rows))
            mask = data[offset : offset + mask_len]
            offset += mask_len
            for i, decoder in enumerate(decoders):
                masked = bool(mask_len and mask[i // 8] & (0x80 >> (i % 8)))
                try:
                    value, offset = decoder.binary(data, offset, skip=masked)
                except (struct.error, IndexError):
                    raise self.truncated(kind, len(rows)) from None
                except (ValueError, UnicodeDecodeError) as exc:
                    raise self.fail(
                        f"row {len(rows) + 1}, column {decoder.field.name}: {exc}."
                    ) from None
                row.append(value)
            if offset > end:
                raise self.truncated(kind, len(rows))
            rows.append(tuple(row))
            if len(rows) > self.max_rows:
                raise self.too_many()
        return rows

    def truncated(self, kind: str, complete: int) -> UploadError:
        return self.fail(
            f"the {kind} stream ends in the middle of row {complete + 1} (after {complete} "
            "complete rows): the data is truncated or does not match the FIELDs."
        )
