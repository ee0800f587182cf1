"""BINARY and BINARY2 rows encoded by PostgreSQL itself: the fast path.

Per-value Python work caps a writer at a few hundred thousand rows a second. Instead, the
query is wrapped so that the database returns each result row as one ``bytea`` that is
already the row's BINARY2 (or BINARY) encoding (unicodeChar text apart, see below): the
null bitmask from ``IS NULL`` tests, then each cell from the big-endian ``*send``
functions (``int8send``, ``float8send``…), which are exactly VOTable's binary layout.
Python only joins the row bytes of a batch and base64-encodes them, both in C.

Only built-in functions and operators are used: the wrapped query runs in the same
read-only transaction and restricted role as any ADQL query. Column types that this
module does not know how to encode (:func:`cell_sql` returns ``None``) make the whole
query go through the generic writer instead; results are identical either way (the test
suite compares them byte for byte).

Encodings (``c`` is the column, NULL → the filler, BINARY2, or the null value, BINARY):
  long/int/short           int8send/int4send/int2send(c::type)
  unsignedByte             last byte of int2send
  double/float             float8send/float4send (NULL → NaN in BINARY)
  boolean                  'T' / 'F' ('?' for NULL in BINARY)
  char *                   int4 length + ASCII bytes (non-ASCII characters → '?')
  unicodeChar *            the text itself, encoded to UTF-16BE by :meth:`FastPlan.assemble`
                           (PostgreSQL has no UTF-16 conversion; a regular expression
                           interleaving zero bytes costs more than Python's codec)
  timestamp (char *)       the ISO text cast with ``T`` for the space (fraction of a second
                           as PostgreSQL prints it), UTC for timestamptz
  double[n] (point/circle) float8send of each element; double[*] (polygon): count + elements
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter, methodcaller
from typing import Any

from tap.metadata import Column
from tap.votable.codecs import FieldCodec

_INT32 = struct.Struct(">i")
_UTF16 = methodcaller("encode", "utf-16-be")

_NAN8 = r"'\x7ff8000000000000'::bytea"
_INTS = {"int8": 8, "int4": 4, "int2": 2}
_FLOATS = {"float8", "float4", "int8", "int4", "int2", "numeric"}
_TEXTS = {"text", "varchar", "bpchar", "name"}
_TIMES = {"timestamp", "timestamptz", "date"}


def _hex(data: bytes) -> str:
    return rf"'\x{data.hex()}'::bytea"


def _ascii_text(value: str) -> str:
    """Length-prefixed ASCII bytes of a text expression (non-ASCII characters → '?')."""
    return (
        f"CASE WHEN octet_length({value}) = char_length({value})"
        f" THEN int4send(octet_length({value})) || convert_to({value}, 'UTF8')"
        f" ELSE int4send(char_length({value}))"
        f" || convert_to(regexp_replace({value}, '[^[:ascii:]]', '?', 'g'), 'UTF8') END"
    )


def _timestamp_text(c: str, pg_type: str) -> str:
    """ISO text with a ``T``: the server's own output when DateStyle is ISO (checked by
    the caller), which is what :func:`tap.votable.codecs.timestamp_text` writes too."""
    if pg_type == "timestamptz":
        c = f"({c} AT TIME ZONE 'UTC')"
    return f"replace({c}::text, ' ', 'T')"


TEXT = "text"  # cell_sql's answer for a unicodeChar cell that Python encodes


def cell_sql(  # noqa: PLR0911, PLR0912 - one answer per (datatype, PostgreSQL type)
    column: Column, codec: FieldCodec, c: str, pg_type: str, *, iso_dates: bool = True
) -> str | None:
    """SQL for the bytes of a non-NULL cell (NULL when ``c`` is NULL), or None if unsupported.

    ``iso_dates``: the session's DateStyle is ISO, so timestamps cast to text are ISO.
    """
    datatype = column.datatype
    if codec.scalar:
        if datatype in ("long", "int", "short") and pg_type in _INTS:
            sql = {"long": "int8", "int": "int4", "short": "int2"}[datatype]
            if _INTS[pg_type] > _INTS[sql]:
                return None  # a narrowing cast could fail part-way; let Python report it
            return f"{sql}send({c}::{sql})"
        if datatype == "unsignedByte" and pg_type in ("int2", "int4"):
            return f"substring(int2send({c}::int2) from 2)"
        if datatype == "double" and pg_type in _FLOATS:
            return f"float8send({c}::float8)"
        if datatype == "float" and pg_type in ("float4", "int2"):
            return f"float4send({c}::float4)"
        if datatype == "boolean" and pg_type == "bool":
            return rf"CASE WHEN {c} THEN '\x54'::bytea WHEN NOT {c} THEN '\x46'::bytea END"
        return None
    if codec.is_string:
        if not codec.variable:
            return None
        if pg_type in _TIMES and column.xtype in ("timestamp", "adql:TIMESTAMP"):
            if not iso_dates:
                return None
            # record_send(ROW(text)) is (1 column, type oid, int4 length, bytes): from byte
            # 9 on, the length-prefixed ASCII that VOTable wants, the text computed once.
            text = _timestamp_text(c, pg_type)
            return f"CASE WHEN {c} IS NOT NULL THEN substring(record_send(ROW({text})) from 9) END"
        if pg_type not in _TEXTS or column.xtype in ("timestamp", "adql:TIMESTAMP"):
            return None
        if datatype == "char":
            return _ascii_text(c)
        return TEXT  # UTF-16 is encoded in Python (PostgreSQL has no UTF-16 conversion)
    if datatype == "double" and pg_type == "_float8":
        if codec.count is not None:
            elements = " || ".join(
                f"COALESCE(float8send({c}[{i}]), {_NAN8})" for i in range(1, codec.count + 1)
            )
            return f"CASE WHEN {c} IS NOT NULL THEN {elements} END"
        return (
            f"int4send(cardinality({c})) || COALESCE((SELECT string_agg(COALESCE("  # noqa: S608
            f"float8send(e.v), {_NAN8}), ''::bytea ORDER BY e.n) FROM unnest({c})"
            " WITH ORDINALITY AS e(v, n)), ''::bytea)"
        )
    return None


def _null_mask(names: Sequence[str]) -> str:
    """The BINARY2 null bitmask; rows without a NULL (most) skip the per-column tests."""
    groups = []
    for start in range(0, len(names), 8):
        bits = " + ".join(
            f"(CASE WHEN q.{name} IS NULL THEN {0x80 >> i} ELSE 0 END)"
            for i, name in enumerate(names[start : start + 8])
        )
        groups.append(rf"set_byte('\x00'::bytea, 0, {bits})")
    none = _hex(bytes((len(names) + 7) // 8))
    every = ", ".join(f"q.{name}" for name in names)
    return f"CASE WHEN num_nulls({every}) = 0 THEN {none} ELSE {' || '.join(groups)} END"


@dataclass(frozen=True)
class FastPlan:
    """The wrapped query, and how to join each fetched row's parts into the row's bytes.

    Each row of :attr:`sql` holds ``bytea`` segments, with the ``text`` of every
    unicodeChar column between them (PostgreSQL cannot produce UTF-16):
    ``seg0, text1, seg1, text2, seg2…``, each segment before a text ending with that
    text's length prefix; :meth:`assemble` turns a batch into bytes.
    """

    sql: str
    texts: int

    def assemble(self, rows: list[tuple[Any, ...]]) -> bytes:
        if self.texts == 0:
            return b"".join([r[0] for r in rows])
        # Column by column, in C loops. Each segment before a text ends with the text's
        # length in characters (NULL is '' in SQL: 4 zero bytes, what a NULL cell needs),
        # which is its length in UTF-16 code units unless it holds characters beyond the
        # BMP (two units each): then the batch takes the per-row path.
        streams: list[list[Any]] = [list(map(itemgetter(i), rows)) for i in range(len(rows[0]))]
        for i in range(1, len(streams), 2):
            texts = streams[i]
            data = streams[i] = list(map(_UTF16, texts))
            if sum(map(len, data)) != 2 * sum(map(len, texts)):
                streams[i - 1] = [
                    head[:-4] + _INT32.pack(len(d) >> 1)
                    for head, d in zip(streams[i - 1], data, strict=True)
                ]
        return b"".join(chain.from_iterable(zip(*streams, strict=True)))


def plan(
    sql: str,
    columns: Sequence[Column],
    codecs: Sequence[FieldCodec],
    pg_types: Sequence[str],
    *,
    binary2: bool,
    limit: int | None,
    iso_dates: bool = True,
) -> FastPlan | None:
    """The fast-path query for ``sql``'s BINARY2/BINARY encoding, or None if a column
    cannot be encoded here.

    ``pg_types`` are the PostgreSQL type names of ``sql``'s output columns (``int8``,
    ``float8``, ``text``, ``_float8``…).
    """
    if not columns or len(pg_types) != len(columns):
        return None
    names = [f"c{i}" for i in range(len(columns))]
    segments: list[list[str]] = [[]]
    if binary2:
        segments[-1].append(_null_mask(names))
    texts = []
    for column, codec, name, pg_type in zip(columns, codecs, names, pg_types, strict=True):
        cell = cell_sql(column, codec, f"q.{name}", pg_type, iso_dates=iso_dates)
        if cell is None:
            return None
        if cell == TEXT:
            texts.append(f"COALESCE(q.{name}, '')")
            segments[-1].append(f"int4send(char_length(COALESCE(q.{name}, '')))")
            segments.append([])
            continue
        null = codec.fill if binary2 else codec.null1
        segments[-1].append(f"COALESCE({cell}, {_hex(null)})")
    select = []
    for i, segment in enumerate(segments):
        if i:
            select.append(texts[i - 1])
        select.append(" || ".join(segment) if segment else "''::bytea")
    body = sql.strip().rstrip(";")
    # The translated query wrapped with encodings of its columns: nothing from user input
    # but the (already translated and checked) query itself.
    query = f"SELECT {', '.join(select)} FROM (\n{body}\n) AS q({', '.join(names)})"  # noqa: S608
    if limit is not None:
        query += f" LIMIT {int(limit)}"
    return FastPlan(query, len(texts))
