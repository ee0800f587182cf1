"""Open-ended values through every serialization: what is written reads back the same."""

from __future__ import annotations

import math
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tap.metadata import Column
from tap.upload import read_upload
from tap.votable import write
from tests.support.votable_cases import astropy_rows, same

COLUMNS = (
    Column("t", "text", "unicodeChar", "text", arraysize="*"),
    Column("a", "text", "char", "ascii", arraysize="*"),
    Column("d", "float8", "double", "double"),
    Column("f", "float4", "float", "float"),
    Column("i", "int4", "int", "int"),
    Column("l", "int8", "long", "long"),
    Column("arr", "float8[]", "double", "array", arraysize="*"),
)
ILLEGAL_XML = {*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF}

texts = st.text(st.characters(blacklist_categories=["Cs"]), max_size=40)
doubles = st.floats(allow_nan=True, allow_infinity=True)
singles = st.floats(width=32, allow_nan=False, allow_infinity=True)
rows = st.lists(
    st.tuples(
        st.none() | texts,
        st.none() | st.text(st.characters(max_codepoint=0x7F), max_size=20),
        st.none() | doubles,
        st.none() | singles,
        st.none() | st.integers(-(2**31) + 1, 2**31 - 1),
        st.none() | st.integers(-(2**63) + 1, 2**63 - 1),
        st.none() | st.lists(st.floats(allow_nan=False), max_size=5),
    ),
    max_size=8,
)


def expected(column: Column, value: Any, serialization: str) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None  # NaN is the null of floating-point values
    if column.name in ("t", "a") and serialization == "TABLEDATA":
        return "".join("\ufffd" if ord(ch) in ILLEGAL_XML else ch for ch in value)
    if column.name == "f":
        return struct.unpack(">f", struct.pack(">f", value))[0]
    return value


# astropy warns (W55) about the U+FFFD that replaces control characters in a char column.
@pytest.mark.filterwarnings("ignore:.*W55")
@settings(max_examples=60, deadline=None)
@given(rows)
def test_written_values_read_back(values: list[tuple[Any, ...]]) -> None:
    for serialization, fmt in (("TABLEDATA", "votable/td"), ("BINARY2", "votable/b2")):
        data = b"".join(write(COLUMNS, values, fmt))
        back = read_upload(data).rows
        assert len(back) == len(values)
        for got, sent in zip(back, values, strict=True):
            for column, g, s in zip(COLUMNS, got, sent, strict=True):
                want = expected(column, s, serialization)
                if serialization == "TABLEDATA" and want in ("", []):
                    assert g in (None, want)  # an empty cell is NULL
                    continue
                assert same(g, want), f"{serialization} {column.name}: {g!r} != {want!r}"
        _, parsed = astropy_rows(data)
        assert len(parsed) == len(values)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(texts, st.none() | doubles), max_size=6))
def test_csv_and_tsv_keep_one_line_per_row(values: list[tuple[str, float | None]]) -> None:
    import csv
    import io

    columns = COLUMNS[0], COLUMNS[2]
    text = b"".join(write(columns, values, "csv")).decode()
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    assert [row[0] for row in parsed[1:]] == [v[0] for v in values]
    tsv = b"".join(write(columns, values, "tsv")).decode()
    lines = tsv.split("\n")
    assert len(lines) == len(values) + 2 and lines[-1] == ""
    unescape = {"\\t": "\t", "\\n": "\n", "\\r": "\r", "\\\\": "\\"}
    for line, (t, _) in zip(lines[1:], values, strict=False):
        cell = line.split("\t")[0]
        out, i = [], 0
        while i < len(cell):
            pair = cell[i : i + 2]
            if pair in unescape:
                out.append(unescape[pair])
                i += 2
            else:
                out.append(cell[i])
                i += 1
        assert "".join(out) == t
