"""A result with every column type the writers handle, and ways to read results back.

Shared by the VOTable writer, streaming and upload tests: ``COLUMNS``/``ROWS`` (with a row
of NULLs, unicode, XML specials, control characters, NaN/inf, empty strings and arrays,
points/circles/polygons, timestamps), and readers through astropy and STILTS.
"""

from __future__ import annotations

import csv
import io
import math
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tap.metadata import Column


def col(
    name: str, datatype: str, arraysize: str | None = None, xtype: str | None = None, **kw: Any
) -> Column:
    return Column(
        name, kw.pop("sql_type", "x"), datatype, f"the {name} column", arraysize, xtype, **kw
    )


COLUMNS: tuple[Column, ...] = (
    col("b", "boolean"),
    col("ub", "unsignedByte"),
    col("s", "short"),
    col("i", "int", unit="count", ucd="meta.number"),
    col("l", "long", ucd="meta.id;meta.main", utype="obscore:DataID.observationID"),
    col("f", "float", unit="mag"),
    col("d", "double", unit="deg", ucd="pos.eq.ra"),
    col("c1", "char", "1"),
    col("c4", "char", "4"),
    col("cs", "char", "*"),
    col("u", "unicodeChar", "*"),
    col("t", "char", "*", "timestamp"),
    col("pt", "double", "2", "point", unit="deg"),
    col("ci", "double", "3", "circle", unit="deg"),
    col("pg", "double", "*", "polygon", unit="deg"),
    col("ia", "int", "*"),
    col("s_region", "char", "*", "adql:REGION"),
    col('"size"', "short"),
)
NAMES = ["b", "ub", "s", "i", "l", "f", "d", "c1", "c4", "cs", "u", "t", "pt", "ci", "pg", "ia",
         "s_region", "size"]  # fmt: skip

ROWS: list[tuple[Any, ...]] = [
    (True, 200, -32767, 2147483647, 9223372036854775807, 1.5, 10.123456789012345, "a", "abcd",
     "x<y & z>w \"q\" 'a'", "héllo ☃ 𝄞 \u00e9", datetime(2020, 1, 2, 3, 4, 5, 123456),
     [10.0, 20.0], [10.0, 20.0, 0.5], [1.0, 2.0, 3.0, 2.0, 2.0, 4.0], [1, -2, 3],
     "Polygon ICRS 1 2 3 2 2 4", 7),
    tuple([None] * 18),
    (False, 0, 0, -2147483647, -9223372036854775807, math.inf, math.nan, " ", "ab", "",
     "", datetime(1999, 12, 31, 23, 59, 59), [359.5, -90.0], [0.0, 0.0, 180.0],
     [0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0], [], "", -1),
    (True, 1, 1, 1, 1, -math.inf, -0.0, "z", "wxyz", "tab\there\nnewline\rcr", "\x01 ctrl \x7f",
     datetime(2024, 2, 29, 12, 0, 0, 500000), [0.0, 0.0], [1.0, 2.0, 3.0],
     [0.0, 0.0, 1.0, 0.0, 1.0, 1.0], [2147483647], "Circle ICRS 1 2 3", 32767),
]  # fmt: skip


def expected(name: str, value: Any, serialization: str) -> Any:
    """What a reader should see for ``value`` written in ``serialization``."""
    if value is None:
        return None
    if name == "t":
        return timestamp_text(value)
    if name == "f" and isinstance(value, float) and math.isfinite(value):
        return float(np.float32(value))
    if name in ("cs", "s_region") and isinstance(value, str) and serialization != "TABLEDATA":
        return value.encode("ascii", "replace").decode()
    if isinstance(value, str) and serialization == "TABLEDATA":
        return "".join("\ufffd" if (ord(ch) < 32 and ch not in "\t\n\r") else ch for ch in value)
    return value


def timestamp_text(value: datetime) -> str:
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{value.microsecond:06d}".rstrip("0") if value.microsecond else text


# -- astropy -------------------------------------------------------------------------------


def astropy_rows(data: bytes) -> tuple[Any, list[list[Any]]]:
    """(astropy table, rows as Python values with masked → None)."""
    from astropy.io.votable import parse

    table = parse(io.BytesIO(data), verify="exception").get_first_table()
    array = table.array
    rows = []
    for i in range(len(array)):
        row: list[Any] = []
        for name in array.dtype.names:
            value = array[name][i]
            mask = array.mask[name][i]
            if np.size(mask) > 0 and np.all(mask):
                row.append(None)
                continue
            if hasattr(value, "tolist"):
                value = value.tolist()
            row.append(value)
        rows.append(row)
    return table, rows


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


# -- STILTS --------------------------------------------------------------------------------


def stilts() -> str:
    path = shutil.which("stilts")
    if path is None:
        pytest.skip("needs STILTS (apt-get install stilts)")
    return path


def stilts_csv(path: Path, ifmt: str = "votable") -> tuple[list[str], list[list[str]]]:
    """The table at ``path`` as STILTS reads it, through its CSV output."""
    out = subprocess.run(
        [stilts(), "tpipe", f"in={path}", f"ifmt={ifmt}", "omode=out", "ofmt=csv"],
        capture_output=True,
        check=True,
        timeout=120,
    )
    rows = list(csv.reader(io.StringIO(out.stdout.decode("utf-8"), newline="")))
    return rows[0], rows[1:]


def stilts_value(text: str, column: Column) -> Any:
    """A STILTS CSV cell as a Python value comparable with :func:`expected`."""
    if text == "":
        return None
    if column.arraysize not in (None, "1") and column.datatype not in ("char", "unicodeChar"):
        inner = text.strip("()")
        return [_number(p, column.datatype) for p in inner.split(",")] if inner.strip() else []
    if column.datatype in ("char", "unicodeChar"):
        return text
    if column.datatype == "boolean":
        return {"true": True, "false": False}[text]
    return _number(text, column.datatype)


def _number(text: str, datatype: str) -> Any:
    text = text.strip()
    if datatype in ("float", "double"):
        return float(text)
    return int(text)


def votlint(path: Path) -> list[str]:
    """STILTS votlint errors and warnings for the document at ``path`` (not its INFOs)."""
    out = subprocess.run(
        [stilts(), "votlint", f"votable={path}"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = (out.stdout + out.stderr).splitlines()
    return [line for line in lines if line.strip() and not line.startswith("INFO")]


def values_of(rows: Sequence[Sequence[Any]], index: int) -> list[Any]:
    return [row[index] for row in rows]


VOTABLE_NS = "{http://www.ivoa.net/xml/VOTable/v1.3}"


def statuses(data: bytes) -> list[tuple[str, bool]]:
    """QUERY_STATUS values, each with whether it comes before the TABLE."""
    root = ET.fromstring(data)
    resource = root.find(f"{VOTABLE_NS}RESOURCE")
    assert resource is not None
    found, before = [], True
    for child in resource:
        if child.tag == f"{VOTABLE_NS}TABLE":
            before = False
        elif child.tag == f"{VOTABLE_NS}INFO" and child.get("name") == "QUERY_STATUS":
            found.append((child.get("value") or "", before))
    return found
