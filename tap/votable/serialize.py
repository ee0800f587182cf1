"""VOTable TABLEDATA, BINARY and BINARY2 serializations, streamed batch by batch.

Each writer takes the result columns, batches of rows (already cut by MAXREC, see
:mod:`tap.votable.rowlimit`) and the caller's INFOs, and yields UTF-8 ``bytes`` chunks of
roughly ``CHUNK`` bytes: memory holds one batch and one chunk, whatever the result size.

BINARY and BINARY2 rows are concatenated and base64-encoded in pieces whose length is a
multiple of 3, so the pieces join into one valid base64 stream. :func:`binary_stream`
also accepts rows that are already encoded (the PostgreSQL fast path,
:mod:`tap.votable.fastpath`).

If reading rows fails after the document has started, the table is closed and a
post-table ``INFO name="QUERY_STATUS" value="ERROR"`` says why (DALI 1.1 §4.4.2).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from tap.errors import TapError
from tap.metadata import Column
from tap.votable import document, xmltext
from tap.votable.codecs import FieldCodec, codecs_for
from tap.votable.document import Info, Resource
from tap.votable.rowlimit import RowLimit

log = logging.getLogger(__name__)

CHUNK = 3 * 2**16  # raw bytes per base64 piece (a multiple of 3)

Row = Sequence[Any]


def failure_message(exc: BaseException) -> str:
    """What a client is told when the rows stop coming part-way."""
    if isinstance(exc, TapError):
        return exc.message
    name = type(exc).__name__
    if name == "QueryCanceled":
        return (
            "The query was cancelled before all rows were sent (it exceeded the execution "
            "time limit); the rows above are incomplete. Narrow the query or use MAXREC/TOP."
        )
    return f"The result is incomplete: reading rows failed part-way ({name}: {exc})."


def _binary_nulls(codecs: Sequence[FieldCodec]) -> list[str | None]:
    """VALUES null per FIELD for BINARY: integers need a sentinel to be NULL.

    TABLEDATA needs none (an empty cell is NULL for every type since VOTable 1.3), nor
    does BINARY2 (null bitmask): declaring one there would only make real values equal
    to the sentinel read back as NULL.
    """
    return [c.null_literal for c in codecs]


def tabledata(
    columns: Sequence[Column], limit: RowLimit[Row], infos: Iterable[Info | Resource], batch: int
) -> Iterator[bytes]:
    infos = list(infos)
    codecs = codecs_for(columns)
    yield (document.head(columns, infos) + "\n<TABLEDATA>\n").encode()
    escape = xmltext.text
    cells: list[tuple[Callable[[Any], str], bool]] = [(c.text, c.is_string) for c in codecs]
    error = None
    try:
        for rows in limit.batches(batch):
            out = []
            for row in rows:
                tds = ["<TR>"]
                for (text, is_string), value in zip(cells, row, strict=True):
                    if value is None:
                        tds.append("<TD/>")
                    elif is_string:
                        tds.append(f"<TD>{escape(text(value))}</TD>")
                    else:
                        tds.append(f"<TD>{text(value)}</TD>")
                tds.append("</TR>\n")
                out.append("".join(tds))
            yield "".join(out).encode("utf-8")
    except Exception as exc:
        log.exception("TABLEDATA output stopped part-way")
        error = failure_message(exc)
    end = document.tail(overflow=limit.overflow, error=error, infos=infos)
    yield ("</TABLEDATA>" + end).encode()


def encode_rows_binary2(codecs: Sequence[FieldCodec]) -> Callable[[list[Row]], bytes]:
    """A function turning a batch of rows into BINARY2 bytes (null bitmask, then cells)."""
    n = len(codecs)
    mask_len = (n + 7) // 8
    packs = [c.pack for c in codecs]
    fills = [c.fill for c in codecs]
    bits = [(i // 8, 0x80 >> (i % 8)) for i in range(n)]
    empty_mask = bytes(mask_len)

    def encode(rows: list[Row]) -> bytes:
        out: list[bytes] = []
        append = out.append
        for row in rows:
            if len(row) != n:
                raise ValueError(f"a row has {len(row)} values for {n} columns")
            if None in row:
                mask = bytearray(mask_len)
                cells = []
                for i, value in enumerate(row):
                    if value is None:
                        byte, bit = bits[i]
                        mask[byte] |= bit
                        cells.append(fills[i])
                    else:
                        cells.append(packs[i](value))
                append(bytes(mask))
                out.extend(cells)
            else:
                append(empty_mask)
                out.extend([pack(value) for pack, value in zip(packs, row, strict=True)])
        return b"".join(out)

    return encode


def encode_rows_binary(codecs: Sequence[FieldCodec]) -> Callable[[list[Row]], bytes]:
    """Like :func:`encode_rows_binary2` for BINARY: no bitmask, NULLs as sentinels."""
    n = len(codecs)
    packs = [c.pack for c in codecs]
    nulls = [c.null1 for c in codecs]

    def encode(rows: list[Row]) -> bytes:
        out: list[bytes] = []
        for row in rows:
            if len(row) != n:
                raise ValueError(f"a row has {len(row)} values for {n} columns")
            out.extend(
                [nulls[i] if value is None else packs[i](value) for i, value in enumerate(row)]
            )
        return b"".join(out)

    return encode


def binary_stream(
    columns: Sequence[Column],
    encoded: Iterable[bytes],
    limit: RowLimit[Any],
    infos: Iterable[Info | Resource],
    *,
    binary2: bool,
) -> Iterator[bytes]:
    """The document around base64 pieces of already-encoded row bytes."""
    infos = list(infos)
    codecs = codecs_for(columns)
    element = "BINARY2" if binary2 else "BINARY"
    nulls = None if binary2 else _binary_nulls(codecs)
    yield (
        document.head(columns, infos, null_literals=nulls)
        + f'\n<{element}>\n<STREAM encoding="base64">\n'
    ).encode()
    b64 = base64.b64encode
    pending: list[bytes] = []
    size = 0
    error = None
    try:
        for data in encoded:
            pending.append(data)
            size += len(data)
            if size >= CHUNK:
                raw = pending[0] if len(pending) == 1 else b"".join(pending)
                view = memoryview(raw)
                cut = len(raw) - len(raw) % CHUNK  # same pieces whatever the batch sizes
                yield b"\n".join([b64(view[i : i + CHUNK]) for i in range(0, cut, CHUNK)]) + b"\n"
                pending = [raw[cut:]]
                size = len(raw) - cut
    except Exception as exc:
        log.exception("%s output stopped part-way", element)
        error = failure_message(exc)
    raw = b"".join(pending)
    end = f"</STREAM>\n</{element}>" + document.tail(
        overflow=limit.overflow, error=error, infos=infos
    )
    yield (b64(raw) + b"\n" if raw else b"") + end.encode()


def binary(
    columns: Sequence[Column], limit: RowLimit[Row], infos: Iterable[Info | Resource], batch: int
) -> Iterator[bytes]:
    encode = encode_rows_binary(codecs_for(columns))
    encoded = (encode(rows) for rows in limit.batches(batch))
    return binary_stream(columns, encoded, limit, infos, binary2=False)


def binary2(
    columns: Sequence[Column], limit: RowLimit[Row], infos: Iterable[Info | Resource], batch: int
) -> Iterator[bytes]:
    encode = encode_rows_binary2(codecs_for(columns))
    encoded = (encode(rows) for rows in limit.batches(batch))
    return binary_stream(columns, encoded, limit, infos, binary2=True)
