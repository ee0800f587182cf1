"""Cell values of an uploaded table, from TABLEDATA text or BINARY/BINARY2 bytes.

Decoded values are Python values ready for COPY: ``int``, ``float``, ``bool``, ``str``,
``datetime`` (timestamps, UTC without zone), lists of numbers (arrays and geometry:
point ``[lon, lat]``, circle ``[lon, lat, r]``, polygon ``[lon1, lat1, …]``, degrees).
NULL is ``None``: an empty TABLEDATA cell, the FIELD's ``VALUES null``, a NaN float, the
BINARY2 null flag, a boolean ``?``. A value that does not fit its FIELD raises
:class:`ValueError` with the reason; the reader adds the row and column.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tap.upload.fields import UploadField

_FORMATS = {
    "unsignedByte": ("B", 1),
    "short": ("h", 2),
    "int": ("i", 4),
    "long": ("q", 8),
    "float": ("f", 4),
    "double": ("d", 8),
    "boolean": ("c", 1),
    "bit": ("B", 1),
}
_INT32 = struct.Struct(">i")
_FLOAT32 = struct.Struct(">f")
_TRUE = frozenset(["T", "t", "1", "true", "TRUE", "True"])
_FALSE = frozenset(["F", "f", "0", "false", "FALSE", "False"])
_BOOL_NULL = frozenset(["?", " ", "\0", ""])


def parse_int(text: str) -> int:
    text = text.strip()
    body = text.lstrip("+-")
    if body[:2].lower() == "0x":
        return int(text.replace("0x", "").replace("0X", ""), 16)
    return int(text)


def parse_bool(text: str) -> bool | None:
    text = text.strip()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if text in _BOOL_NULL:
        return None
    raise ValueError(f"{text!r} is not a boolean (T, F, true, false, 1, 0 or ?)")


_RANGES = {
    "unsignedByte": (0, 255), "short": (-(2**15), 2**15 - 1), "int": (-(2**31), 2**31 - 1),
    "long": (-(2**63), 2**63 - 1),
}  # fmt: skip


def _ranged(datatype: str) -> Callable[[str], int]:
    low, high = _RANGES.get(datatype, (-(2**63), 2**63 - 1))

    def parse(text: str) -> int:
        value = parse_int(text)
        if not low <= value <= high:
            raise ValueError(f"{value} is out of range for {datatype} ({low} to {high})")
        return value

    return parse


def parse_float32(text: str) -> float:
    """A ``float`` value as the 32-bit number it denotes (``1.1`` → 1.100000023841858)."""
    value = float(text)
    try:
        return float(_FLOAT32.unpack(_FLOAT32.pack(value))[0])
    except OverflowError:
        return math.copysign(math.inf, value)  # beyond the 32-bit range, as IEEE rounds


def parse_bit(text: str) -> bool:
    return parse_int(text) != 0


def parse_timestamp(text: str) -> datetime:
    """ISO 8601 as DALI writes it (``T``; a ``Z`` or offset is converted to UTC)."""
    text = text.strip()
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 timestamp (YYYY-MM-DDThh:mm:ss)") from None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def check_geometry(kind: str, values: list[float]) -> list[float] | None:
    """A DALI point/circle/polygon, validated; None when every coordinate is NaN (NULL)."""
    if all(math.isnan(v) for v in values):
        return None
    if any(math.isnan(v) or math.isinf(v) for v in values):
        raise ValueError(f"a {kind} with a NaN or infinite coordinate")
    if kind == "polygon" and (len(values) < 6 or len(values) % 2):
        raise ValueError(
            f"a polygon needs at least 3 (lon, lat) vertices, not {len(values)} numbers"
        )
    lats = values[1:2] if kind != "polygon" else values[1::2]
    if any(abs(lat) > 90 for lat in lats):
        raise ValueError("a latitude outside [-90, 90]")
    if kind == "circle" and not 0 < values[2] <= 180:
        raise ValueError("a circle radius outside (0, 180]")
    return values


class Decoder:
    """Reads one FIELD's values from text (:meth:`text`) or bytes (:meth:`binary`)."""

    def __init__(self, field: UploadField) -> None:
        self.field = field
        self.null = field.null.strip() if field.null is not None else None
        kind = field.kind
        fmt = _FORMATS.get(field.datatype)
        self._element: Callable[[str], Any]
        if field.datatype == "double":
            self._element = float
        elif field.datatype == "float":
            self._element = parse_float32
        elif field.datatype == "boolean":
            self._element = parse_bool
        elif field.datatype == "bit":
            self._element = parse_bit
        elif field.datatype in ("char", "unicodeChar"):
            self._element = str
        else:
            self._element = _ranged(field.datatype)
        self.kind = kind
        self.wide = field.datatype == "unicodeChar"
        if fmt is not None:
            self._fmt, self._size = fmt

    # -- TABLEDATA -----------------------------------------------------------------

    def text(self, cell: str) -> Any:  # noqa: PLR0911 - one return per kind of value
        field = self.field
        if cell == "" or (self.null is not None and cell.strip() == self.null):
            return None
        kind = self.kind
        if kind == "string":
            return cell
        if kind == "timestamp":
            return parse_timestamp(cell) if cell.strip() else None
        if field.scalar:
            if kind == "number" and cell.strip() == "NaN":
                return None  # astropy's TABLEDATA for a masked integer without VALUES null
            value = self._element(cell)
            return None if isinstance(value, float) and math.isnan(value) else value
        parts = cell.split()
        if not parts:
            return None
        values = [self._element(p) for p in parts]
        if field.count is not None and len(values) != field.count:
            raise ValueError(f"{len(values)} values where arraysize is {field.arraysize}")
        if kind in ("point", "circle", "polygon"):
            return check_geometry(kind, [float(v) for v in values])
        if self.null is not None:
            null = self._element(self.null)
            values = [None if v == null else v for v in values]
        return values

    # -- BINARY / BINARY2 --------------------------------------------------------------

    def binary(  # noqa: PLR0911, PLR0912
        self, data: bytes, offset: int, *, skip: bool = False
    ) -> tuple[Any, int]:
        """(value, offset after it); ``struct.error`` or IndexError when the data ends.

        ``skip``: the cell is NULL (BINARY2 flag): step over it, whatever it holds.
        """
        field = self.field
        count = field.count
        if count is None:
            (count,) = _INT32.unpack_from(data, offset)
            offset += 4
            if count < 0:
                raise ValueError(f"a negative element count ({count})")
        if skip:
            width = (
                count * (2 if self.wide else 1)
                if self.kind in ("string", "timestamp")
                else ((1 if field.scalar else count) * self._size)
            )
            if offset + width > len(data):
                raise struct.error("truncated")
            return None, offset + width
        if self.kind in ("string", "timestamp"):
            width = count * (2 if self.wide else 1)
            raw = data[offset : offset + width]
            if len(raw) < width:
                raise struct.error("truncated")
            offset += width
            text = raw.decode("utf-16-be") if self.wide else raw.decode("latin-1")
            if field.count is not None:
                text = text.rstrip("\0")
            if self.kind == "timestamp":
                return (parse_timestamp(text) if text.strip() else None), offset
            return text, offset
        n = 1 if field.scalar else count
        values = list(struct.unpack_from(f">{n}{self._fmt}", data, offset))
        offset += n * self._size
        if field.datatype == "boolean":
            values = [parse_bool(v.decode("latin-1")) for v in values]
        elif field.datatype == "bit":
            values = [bool(v & 0x80) for v in values]
        if field.scalar:
            value = values[0]
            if value is not None and self.null is not None and value == self._null_value():
                return None, offset
            if isinstance(value, float) and math.isnan(value):
                return None, offset
            return value, offset
        if self.kind in ("point", "circle", "polygon"):
            return check_geometry(self.kind, values), offset
        if self.null is not None:
            null = self._null_value()
            values = [None if v == null else v for v in values]
        return values, offset

    def _null_value(self) -> Any:
        assert self.null is not None
        return self._element(self.null)
