"""One file's headers arranged for the rules: keyword look-up over all HDUs, data HDUs, tables.

Look-ups follow MAST's guidelines (docs/hlsp-rules.md §4): a keyword may sit in the
primary header or in any extension, the primary header first. Values are the parsed card
values of :class:`~catalog.harvest.fits.reader.Header`; nothing here trusts their types.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import KeysView, Mapping, Sequence

from catalog.harvest.fits.reader import Header, Value

TABLE_KINDS = frozenset({"BINTABLE", "TABLE"})
ARRAY_KINDS = frozenset({"PRIMARY", "IMAGE"})
AUXILIARY_TABLES = frozenset({"PROVENANCE", "ASDF", "HDRTAB"})  # tables that are not the data
SCIENCE_NAMES = frozenset({"SCI", "SCIENCE", "FLUX", "DATA", "IMAGE", "SPECTRUM"})
MAX_AXES = 999  # FITS allows NAXIS <= 999; anything else is a broken header
_TFORM = re.compile(r"\s*\d*\s*([PQ]?)([A-Z])")
_FLOATING = frozenset("EDCMF")  # TFORM letters of float/complex columns (binary and ASCII)


def number(value: Value) -> float | None:
    """The value as a finite float when it is a FITS number (int or float, not logical)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        result = float(value)
    except OverflowError:
        return None
    return result if math.isfinite(result) else None


def integer(value: Value, low: int = 0, high: int = MAX_AXES) -> int | None:
    """The value when it is an integer (not logical) within [low, high]."""
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    return None


def text(value: Value) -> str | None:
    """The stripped value when it is a non-empty string."""
    if isinstance(value, str):
        stripped = value.strip()
        return stripped or None
    return None


def shown(value: Value) -> str:
    """A value as it would be written in a FITS card, for messages."""
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, str):
        short = value if len(value) <= 60 else value[:57] + "..."
        return "'" + short.replace("'", "''") + "'"
    if value is None:
        return "(undefined)"
    return repr(value)


def axes(values: Mapping[str, Value]) -> tuple[int, ...]:
    """NAXIS1..NAXISn of an HDU's keyword values; () when NAXIS is missing, malformed or 0."""
    n = integer(values.get("NAXIS"))
    if not n:
        return ()
    lengths: list[int] = []
    for i in range(1, n + 1):
        length = integer(values.get(f"NAXIS{i}"), 0, 2**62)
        if length is None:
            return ()
        lengths.append(length)
    return tuple(lengths)


def columns(values: Mapping[str, Value]) -> list[tuple[int, str | None, str | None, bool]]:
    """(n, TTYPEn, TUNITn, is a floating-point column) for each column of a table HDU."""
    count = integer(values.get("TFIELDS")) or 0
    result = []
    for i in range(1, count + 1):
        name = values.get(f"TTYPE{i}")
        unit = values.get(f"TUNIT{i}")
        form = values.get(f"TFORM{i}")
        result.append(
            (
                i,
                name.strip() if isinstance(name, str) else None,
                unit.strip() if isinstance(unit, str) else None,
                isinstance(form, str) and _floating(form),
            )
        )
    return result


@functools.lru_cache(maxsize=1024)
def _floating(tform: str) -> bool:
    """Whether a TFORMn value declares a floating-point or complex column."""
    match = _TFORM.match(tform.upper())
    return match is not None and match.group(2) in _FLOATING


def label(header: Header) -> str:
    """'HDU 1 (LIGHTCURVE)' or 'HDU 0 (primary)', for messages."""
    name = header.extname
    if header.index == 0 and (not name or name.upper() == "PRIMARY"):
        return "HDU 0 (primary)"
    return f"HDU {header.index} ({name})" if name else f"HDU {header.index}"


class FileView:
    """The headers of one file with the look-ups and HDU classes the rules need, built once.

    ``values[i]`` maps each keyword of ``headers[i]`` to the value of its first card (as
    :class:`Header` does, without its per-call ``upper()``: the rules run on every file).
    """

    __slots__ = (
        "_first",
        "_position",
        "_repeated",
        "arrays",
        "headers",
        "primary",
        "provenance",
        "tables",
        "values",
    )

    def __init__(self, headers: Sequence[Header]) -> None:
        self.headers = tuple(headers)
        self.primary = self.headers[0] if self.headers else None
        self.values: list[dict[str, Value]] = [h.first_values() for h in self.headers]
        self._position = {id(h): i for i, h in enumerate(self.headers)}
        # keyword -> position of the first HDU holding it (keys in the order of the last HDU
        # first: the rules that walk ``present`` see them so); keywords in several HDUs.
        first: dict[str, int] = {}
        repeated: set[str] = set()
        for position in range(len(self.headers) - 1, -1, -1):
            for keyword in self.values[position]:
                if keyword in first:
                    repeated.add(keyword)
                first[keyword] = position
        self._first = first
        self._repeated = repeated
        self.arrays: list[tuple[Header, tuple[int, ...]]] = []  # HDUs holding an array
        self.tables: list[Header] = []  # tables holding the data (not PROVENANCE, ...)
        self.provenance: list[Header] = []  # BINTABLEs with EXTNAME = 'PROVENANCE'

        for header, values in zip(self.headers, self.values, strict=True):
            if header.index == 0:
                kind = "PRIMARY"
            else:
                xtension = values.get("XTENSION")
                kind = xtension.strip().upper() if isinstance(xtension, str) else ""
            if kind in ARRAY_KINDS:
                shape = axes(values)
                if shape and all(shape):
                    self.arrays.append((header, shape))
            elif kind in TABLE_KINDS:
                name = values.get("EXTNAME")
                name = name.strip().upper() if isinstance(name, str) else ""
                if name == "PROVENANCE":
                    self.provenance.append(header)
                elif name not in AUXILIARY_TABLES:
                    self.tables.append(header)

    @property
    def present(self) -> KeysView[str]:
        """Every keyword of the file (set-like; commentary keywords excluded)."""
        return self._first.keys()

    def position(self, header: Header) -> int:
        """Where one of this file's headers is in the file (0 = primary)."""
        return self._position[id(header)]

    def of(self, header: Header) -> dict[str, Value]:
        """The keyword values of one of this file's headers."""
        return self.values[self._position[id(header)]]

    def find(self, keyword: str) -> tuple[Header, Value] | None:
        """The first HDU (primary first) holding the keyword, with its value."""
        position = self._first.get(keyword)
        if position is None:
            return None
        return self.headers[position], self.values[position][keyword]

    def everywhere(self, keyword: str) -> list[tuple[Header, Value]]:
        """Every HDU holding the keyword, with its value there."""
        position = self._first.get(keyword)
        if position is None:
            return []
        if keyword not in self._repeated:
            return [(self.headers[position], self.values[position][keyword])]
        return [
            (h, values[keyword])
            for h, values in zip(self.headers, self.values, strict=True)
            if keyword in values
        ]

    def has(self, keyword: str) -> bool:
        return keyword in self._first

    def science_arrays(self, min_axes: int = 1) -> list[tuple[Header, tuple[int, ...]]]:
        """The array HDUs that hold the science data: those named SCI (or similar), else the
        first with at least ``min_axes`` axes longer than one pixel."""
        candidates = [(h, s) for h, s in self.arrays if sum(1 for n in s if n > 1) >= min_axes]
        named = [(h, s) for h, s in candidates if (h.extname or "").upper() in SCIENCE_NAMES]
        return named or candidates[:1]

    def science_table(self, preferred: str | None = None) -> Header | None:
        """The table named ``preferred`` (e.g. LIGHTCURVE), else the first data table."""
        if preferred:
            for header in self.tables:
                if (header.extname or "").upper() == preferred:
                    return header
        return self.tables[0] if self.tables else None
