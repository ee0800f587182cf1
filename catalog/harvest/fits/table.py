"""Reading a few columns of a small binary table, for what headers do not say.

Two things live in table rows rather than headers: the wavelength range of a spectrum
stored as a table (a WAVELENGTH column) and the rows of a PROVENANCE extension. Only
tables whose data unit is small (``MAX_BYTES``) are read, from the offset the header
reader recorded; gzip files are decompressed up to that point. Variable-length (P/Q)
columns are not read.
"""

from __future__ import annotations

import gzip
import math
import os
import re
import struct
from collections.abc import Sequence
from typing import BinaryIO

from catalog.harvest.fits.reader import Header
from catalog.harvest.fits.skywcs import number

MAX_BYTES = 4 * 1024 * 1024
_TFORM = re.compile(r"^\s*(\d*)([LXBIJKAEDCMPQ])", re.IGNORECASE)
_SIZES = {"L": 1, "B": 1, "I": 2, "J": 4, "K": 8, "A": 1, "E": 4, "D": 8, "C": 8, "M": 16}
_CODES = {"B": "B", "I": "h", "J": "i", "K": "q", "E": "f", "D": "d"}

TableValue = str | float | int | bool | None


def _layout(header: Header) -> dict[str, tuple[int, str, int]]:
    """column name (upper case) -> (byte offset in the row, type code, repeat)."""
    layout: dict[str, tuple[int, str, int]] = {}
    offset = 0
    for n in range(1, int(number(header.get("TFIELDS")) or 0) + 1):
        match = _TFORM.match(str(header.get(f"TFORM{n}") or ""))
        if match is None:
            return {}
        repeat = int(match.group(1) or 1)
        code = match.group(2).upper()
        if code == "X":
            width = (repeat + 7) // 8
        elif code in {"P", "Q"}:
            width = 8 if code == "P" else 16
        else:
            width = _SIZES[code] * repeat
        name = str(header.get(f"TTYPE{n}") or f"COL{n}").strip().upper()
        layout.setdefault(name, (offset, code, repeat))
        offset += width
    return layout


def _open(path: str, follow_links: bool) -> BinaryIO:
    flags = os.O_RDONLY | (0 if follow_links else getattr(os, "O_NOFOLLOW", 0))
    raw = os.fdopen(os.open(path, flags), "rb")  # returned to the caller's with-block
    if raw.read(2) == b"\x1f\x8b":
        raw.seek(0)
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    raw.seek(0)
    return raw


def read_columns(
    path: str, header: Header, names: Sequence[str], *, follow_links: bool = True
) -> dict[str, list[TableValue]]:
    """The values of the named columns (arrays flattened), or {} when not readable here
    (``follow_links=False``: nor when ``path`` is a symbolic link, see reader)."""
    if header.kind != "BINTABLE" or not 0 < header.data_bytes <= MAX_BYTES:
        return {}
    layout = _layout(header)
    wanted = {n.upper(): layout[n.upper()] for n in names if n.upper() in layout}
    width = int(number(header.get("NAXIS1")) or 0)
    rows = int(number(header.get("NAXIS2")) or 0)
    if not wanted or width <= 0 or rows <= 0 or width * rows > header.data_bytes:
        return {}
    try:
        with _open(path, follow_links) as stream:
            stream.seek(header.data_offset)
            data = stream.read(width * rows)
    except OSError:  # gone, or made a link, since its headers were read
        return {}
    if len(data) < width * rows:
        return {}
    result: dict[str, list[TableValue]] = {}
    for name, (offset, code, repeat) in wanted.items():
        values: list[TableValue] = []
        for row in range(rows):
            start = row * width + offset
            if code == "A":
                values.append(
                    data[start : start + repeat]
                    .decode("ascii", "replace")
                    .split("\x00", 1)[0]
                    .rstrip()
                )
            elif code == "L":
                values += [b == 0x54 for b in data[start : start + repeat]]
            elif code in _CODES:
                values += struct.unpack_from(f">{repeat}{_CODES[code]}", data, start)
        result[name] = values
    return result


def finite_range(values: Sequence[TableValue]) -> tuple[float, float] | None:
    """(min, max) of the finite positive numbers among ``values``."""
    numbers = [
        float(v)
        for v in values
        if isinstance(v, int | float)
        and not isinstance(v, bool)
        and math.isfinite(float(v))
        and float(v) > 0
    ]
    return (min(numbers), max(numbers)) if numbers else None
