"""Columns of the tables that hold the data: every column named, physical columns with units.

MAST requires TTYPEn and TUNITn on spectra, light curves and catalogs stored as tables.
Integer, logical and text columns (counters, flags, identifiers) may omit TUNITn. Tables
with the same problem are reported once (K2SFF has 21 aperture tables with one layout).
"""

from __future__ import annotations

from collections.abc import Sequence

from catalog.harvest.findings import Finding
from catalog.harvest.fits.reader import Header
from catalog.harvest.rules import codes
from catalog.harvest.rules.view import FileView, columns, label

_LISTED = 8  # names shown in a message before "and N more"


def check_columns(view: FileView, tables: Sequence[Header]) -> list[Finding]:
    """Findings for unnamed columns and physical columns without units in ``tables``."""
    unnamed: dict[tuple[int, ...], list[Header]] = {}
    unitless: dict[tuple[tuple[int, str], ...], list[Header]] = {}
    for table in tables:
        cols = columns(view.of(table))
        missing_name = tuple(i for i, name, _, _ in cols if name is None)
        missing_unit = tuple(
            (i, name or f"column {i}")
            for i, name, unit, floating in cols
            if floating and unit is None
        )
        if missing_name:
            unnamed.setdefault(missing_name, []).append(table)
        if missing_unit:
            unitless.setdefault(missing_unit, []).append(table)
    findings: list[Finding] = []
    for numbers, hdus in unnamed.items():
        keys = [f"TTYPE{i}" for i in numbers]
        findings.append(
            codes.COLUMN_UNNAMED(
                f"{_where(hdus)} {_has_no(keys)}; name each column",
                hdu=hdus[0].index,
                keyword=keys[0],
            )
        )
    for cols_missing, hdus in unitless.items():
        names = [f"{name} (TUNIT{i})" for i, name in cols_missing]
        findings.append(
            codes.COLUMN_NO_UNIT(
                f"In {_where(hdus)} the floating-point columns {_listing(names)} have no unit",
                hdu=hdus[0].index,
                keyword=f"TUNIT{cols_missing[0][0]}",
            )
        )
    return findings


def _where(hdus: list[Header]) -> str:
    first = label(hdus[0])
    if len(hdus) == 1:
        return first
    return f"{first} and {len(hdus) - 1} more tables with the same columns"


def _has_no(keys: list[str]) -> str:
    return f"has no {_listing(keys)}"


def _listing(items: list[str]) -> str:
    if len(items) <= _LISTED:
        return ", ".join(items)
    return ", ".join(items[:_LISTED]) + f" and {len(items) - _LISTED} more"
