"""How one column's values are written: as text (TABLEDATA, CSV, TSV) and as bytes (BINARY/2).

A :class:`FieldCodec` is built once per result column from its VOTable type
(``datatype``, ``arraysize``, ``xtype``) and then applied to every value of the column.
Values are what psycopg returns: ``int``, ``float``, ``Decimal``, ``bool``, ``str``,
``datetime``/``date`` (timestamps), lists of numbers (arrays, and geometry, which the
ADQL translator returns as ``double precision[]`` in degrees).

Nulls:
  TABLEDATA, CSV, TSV  an empty cell.
  BINARY               integers: the ``VALUES null`` sentinel declared on the FIELD (the
                       type's smallest value, 255 for unsignedByte); floats: NaN;
                       variable-length arrays and strings: length 0; booleans: ``?``.
  BINARY2              the row's null bitmask; the cell holds filler bytes of its size.

Timestamps are written ``YYYY-MM-DDThh:mm:ss[.ffffff]`` (DALI 1.1 §3.3.3): the fraction
of a second only when there is one, to the microsecond with trailing zeros dropped (as
PostgreSQL prints it, so the fast path agrees), no time zone letter (aware values are
converted to UTC first). A real value equal to an integer sentinel reads back as NULL in BINARY
and TABLEDATA readers that honour ``VALUES null``; BINARY2 has no such ambiguity.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from tap.metadata import Column


class EncodingError(ValueError):
    """A value does not fit its column's declared VOTable type."""


@dataclass(frozen=True)
class _Primitive:
    fmt: str  # struct format character (big-endian applied later)
    size: int
    sentinel: int | None  # BINARY/TABLEDATA null value for integers


_PRIMITIVES: dict[str, _Primitive] = {
    "short": _Primitive("h", 2, -(2**15)),
    "int": _Primitive("i", 4, -(2**31)),
    "long": _Primitive("q", 8, -(2**63)),
    "unsignedByte": _Primitive("B", 1, 255),
    "float": _Primitive("f", 4, None),
    "double": _Primitive("d", 8, None),
    "floatComplex": _Primitive("f", 8, None),
    "doubleComplex": _Primitive("d", 16, None),
}
_COMPLEX = frozenset(["floatComplex", "doubleComplex"])
_INT32 = struct.Struct(">i")
NAN8 = struct.pack(">d", math.nan)
NAN4 = struct.pack(">f", math.nan)


def element_count(arraysize: str | None) -> tuple[bool, int | None]:
    """(is_scalar, fixed number of elements or None when variable) of an arraysize."""
    if arraysize is None or arraysize == "":
        return True, 1
    dims = arraysize.split("x")
    total = 1
    for i, dim in enumerate(dims):
        if dim.endswith("*"):
            if i != len(dims) - 1:
                raise EncodingError(f"arraysize {arraysize!r}: only the last dimension may vary")
            return False, None
        if not dim.isdigit() or int(dim) == 0:
            raise EncodingError(f"arraysize {arraysize!r} is not a VOTable arraysize")
        total *= int(dim)
    return False, total


def timestamp_text(value: datetime | date | str) -> str:
    """DALI timestamp: ``YYYY-MM-DDThh:mm:ss[.ffffff]``, UTC, no zone letter."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        head = f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value:%H:%M:%S}"
        if not value.microsecond:
            return head
        return f"{head}.{value.microsecond:06d}".rstrip("0")
    if isinstance(value, date):
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    return str(value)


def double_text(value: float) -> str:
    """Shortest round-tripping decimal, with VOTable's spellings of the special values."""
    if math.isnan(value):
        return "NaN"
    if value in (math.inf, -math.inf):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def float_text(value: float) -> str:
    """Like :func:`double_text`, but the shortest text that round-trips as a 32-bit float."""
    if math.isnan(value) or value in (math.inf, -math.inf):
        return double_text(value)
    single = struct.unpack(">f", struct.pack(">f", value))[0]
    for digits in range(6, 10):
        candidate = f"{single:.{digits}g}"
        if struct.unpack(">f", struct.pack(">f", float(candidate)))[0] == single:
            return candidate
    return repr(single)  # pragma: no cover - 9 digits always round-trip


def _int_text(value: Any) -> str:
    return str(int(value))


def _bool_text(value: Any) -> str:
    return "T" if value else "F"


def _to_float(value: Any) -> float:
    return float(value) if value is not None else math.nan


class FieldCodec:
    """Text and binary encoders for one column; see the module docstring for nulls."""

    def __init__(self, column: Column) -> None:
        self.column = column
        datatype = column.datatype
        self.datatype = datatype
        self.is_string = datatype in ("char", "unicodeChar")
        scalar, count = element_count(column.arraysize)
        if self.is_string and column.arraysize is None:
            scalar, count = False, 1  # a single character
        self.scalar = scalar
        self.count = count  # elements (characters for strings); None = variable length
        self.variable = count is None
        prim = _PRIMITIVES.get(datatype)
        self.null_literal: str | None = None
        if prim is not None and prim.sentinel is not None:
            self.null_literal = str(prim.sentinel)
        self.text: Callable[[Any], str]
        self.pack: Callable[[Any], bytes]
        if self.is_string:
            self._init_string()
        elif datatype == "boolean":
            self._init_boolean()
        elif datatype == "bit":
            self._init_bit()
        elif prim is not None:
            self._init_number(prim)
        else:  # pragma: no cover - Column validates datatype
            raise EncodingError(f"column {column.name}: unsupported datatype {datatype}")

    # BINARY2: bytes standing in for a NULL cell; BINARY: the NULL value itself.
    fill: bytes
    null1: bytes

    def _init_string(self) -> None:
        wide = self.datatype == "unicodeChar"
        encoding, unit = ("utf-16-be", 2) if wide else ("ascii", 1)
        timestamp = self.column.xtype in ("timestamp", "adql:TIMESTAMP")

        def as_str(value: Any) -> str:
            if timestamp or isinstance(value, date):
                return timestamp_text(value)
            return value if isinstance(value, str) else str(value)

        self.text = as_str
        count = self.count
        if count is None:

            def pack_variable(value: Any) -> bytes:
                raw = as_str(value).encode(encoding, "replace")
                return _INT32.pack(len(raw) // unit) + raw

            self.pack = pack_variable
            self.fill = self.null1 = b"\0\0\0\0"
        else:
            width = count * unit

            def pack_fixed(value: Any) -> bytes:
                raw = as_str(value).encode(encoding, "replace")[:width]
                return raw + b"\0" * (width - len(raw))

            self.pack = pack_fixed
            self.fill = self.null1 = b"\0" * width

    def _init_boolean(self) -> None:
        def pack_one(value: Any) -> bytes:
            return b"?" if value is None else (b"T" if value else b"F")

        self._init_elements(_bool_text, pack_one, 1, b"?", "?")

    def _init_bit(self) -> None:
        count = self.count
        if count is None or count > 1:
            # Bit arrays are packed 8 to a byte; they never come out of PostgreSQL here.
            raise EncodingError(f"column {self.column.name}: bit arrays are not supported")
        self.text = lambda v: "1" if v else "0"
        self.pack = lambda v: b"\x80" if v else b"\0"
        self.fill = self.null1 = b"\0"

    def _init_number(self, prim: _Primitive) -> None:
        datatype = self.datatype
        fmt, size = prim.fmt, prim.size
        is_float = datatype in ("float", "double") or datatype in _COMPLEX
        one = struct.Struct(">" + fmt)
        if datatype in _COMPLEX:
            pair = struct.Struct(">2" + fmt)
            text_fn = float_text if datatype == "floatComplex" else double_text

            def complex_text(v: Any) -> str:
                c = complex(v)
                return f"{text_fn(c.real)} {text_fn(c.imag)}"

            def complex_pack(v: Any) -> bytes:
                if v is None:
                    return pair.pack(math.nan, math.nan)
                c = complex(v)
                return pair.pack(c.real, c.imag)

            self._init_elements(complex_text, complex_pack, size, complex_pack(None), "NaN NaN")
            return
        if is_float:
            text_fn = float_text if datatype == "float" else double_text
            null_bytes = NAN4 if datatype == "float" else NAN8
            self._init_numeric_elements(
                lambda v: text_fn(float(v)), one, fmt, size, null_bytes, "NaN", _to_float
            )
            return
        sentinel = prim.sentinel
        assert sentinel is not None
        self._init_numeric_elements(
            _int_text,
            one,
            fmt,
            size,
            one.pack(sentinel),
            str(sentinel),
            lambda v: sentinel if v is None else int(v),
        )

    def _init_numeric_elements(  # noqa: PLR0917 - private, called twice
        self,
        text_one: Callable[[Any], str],
        one: struct.Struct,
        fmt: str,
        size: int,
        null_bytes: bytes,
        null_text: str,
        coerce: Callable[[Any], Any],
    ) -> None:
        """Numbers: a scalar, or a fixed or variable array packed with one struct call."""
        column = self.column
        if self.scalar:
            self.text = text_one
            if fmt in "fd":
                self.pack = lambda v: one.pack(float(v))
            else:
                self.pack = lambda v: one.pack(int(v))
            self.fill = b"\0" * size
            self.null1 = null_bytes
            return

        def elements_text(values: Sequence[Any]) -> str:
            return " ".join(null_text if v is None else text_one(v) for v in values)

        self.text = elements_text
        count = self.count
        if count is None:

            def pack_variable(values: Sequence[Any]) -> bytes:
                n = len(values)
                if None in values:
                    values = [coerce(v) for v in values]
                return _INT32.pack(n) + struct.pack(f">{n}{fmt}", *values)

            self.pack = pack_variable
            self.fill = self.null1 = b"\0\0\0\0"
            return
        packer = struct.Struct(f">{count}{fmt}")

        def pack_fixed(values: Sequence[Any]) -> bytes:
            if len(values) != count:
                raise EncodingError(
                    f"column {column.name}: {len(values)} values where arraysize is {count}"
                )
            if None in values:
                values = [coerce(v) for v in values]
            return packer.pack(*values)

        self.pack = pack_fixed
        self.fill = b"\0" * (size * count)
        self.null1 = null_bytes * count

    def _init_elements(
        self,
        text_one: Callable[[Any], str],
        pack_one: Callable[[Any], bytes],
        size: int,
        null_bytes: bytes,
        null_text: str,
    ) -> None:
        """Booleans and complex numbers: element by element."""
        column = self.column
        if self.scalar:
            self.text = text_one
            self.pack = pack_one
            self.fill = b"\0" * size
            self.null1 = null_bytes
            return
        self.text = lambda vs: " ".join(null_text if v is None else text_one(v) for v in vs)
        count = self.count
        if count is None:
            self.pack = lambda vs: _INT32.pack(len(vs)) + b"".join(pack_one(v) for v in vs)
            self.fill = self.null1 = b"\0\0\0\0"
            return

        def pack_fixed(values: Sequence[Any]) -> bytes:
            if len(values) != count:
                raise EncodingError(
                    f"column {column.name}: {len(values)} values where arraysize is {count}"
                )
            return b"".join(pack_one(v) for v in values)

        self.pack = pack_fixed
        self.fill = b"\0" * (size * count)
        self.null1 = null_bytes * count


def codecs_for(columns: Sequence[Column]) -> list[FieldCodec]:
    return [_codec(c) for c in columns]


@lru_cache(maxsize=4096)
def _codec(column: Column) -> FieldCodec:
    """One codec per column (it holds only what the column says): the published columns are
    the same in every query, and building their codecs cost as much as encoding 100 rows."""
    return FieldCodec(column)
