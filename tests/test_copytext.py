"""COPY text lines read back by PostgreSQL exactly as psycopg's own row writer sends them."""

from __future__ import annotations

import math
from collections.abc import Sequence

import psycopg
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.db import Database
from catalog.harvest import copytext
from catalog.harvest.findings import Finding, Severity
from catalog.harvest.records import InputRef, SoftwareRef

TRICKY = ["", "plain", "back\\slash", "tab\there", "new\nline", "carriage\rreturn", "\\N",
          "quote ' and \"", "é ü ∞ 🙂", "\\\\t", "trailing\\", " ", "a\tb\nc\\d\re"]  # fmt: skip
REALS = [None, 0.0, -0.0, 1e-05, 1.5, 59000.123456789, 1e300, 5e-324, math.inf, -math.inf,
         math.nan]  # fmt: skip


def _finding(n: int, severity: Severity) -> Finding:
    text = TRICKY[n % len(TRICKY)]
    return Finding(f"HLSP-K{n % 1000:03d}", severity, f"message {text}", hdu=None if n % 3 else n,
                   keyword=text or None, field=None if n % 2 else "version")  # fmt: skip


def _load(
    conn: psycopg.Connection, table: str, columns: str, lines: str
) -> list[tuple[object, ...]]:
    conn.execute(f"CREATE TEMP TABLE {table} ({columns})")
    with conn.cursor() as cur, cur.copy(f"COPY {table} FROM STDIN") as copy:
        copy.write(lines)
    return conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()


def _rows(
    conn: psycopg.Connection, table: str, columns: str, rows: Sequence[tuple[object, ...]]
) -> list[tuple[object, ...]]:
    conn.execute(f"CREATE TEMP TABLE {table} ({columns})")
    with conn.cursor() as cur, cur.copy(f"COPY {table} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    return conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()


def _same(left: list[tuple[object, ...]], right: list[tuple[object, ...]]) -> None:
    assert len(left) == len(right)
    for a, b in zip(left, right, strict=True):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            if isinstance(x, float) and math.isnan(x):
                assert isinstance(y, float) and math.isnan(y)
            else:
                assert x == y and type(x) is type(y), (a, b)


def test_findings_read_back_as_write_row_sends_them(database: Database) -> None:
    columns = "product_id bigint, finding_index int, code text, severity text, hdu int, " \
              "keyword text, message text"  # fmt: skip
    severities = [Severity.ERROR, Severity.INFO, Severity.WARNING]
    findings = [_finding(n, severities[n % 3]) for n in range(40)]
    stored = [f for f in findings if f.severity != Severity.INFO]
    expected = [(7, n, f.code, str(f.severity), f.hdu, f.keyword or f.field, f.message)
                for n, f in enumerate(stored, start=1)]  # fmt: skip
    with psycopg.connect(database.url) as conn:
        ours = _load(conn, "ours", columns, copytext.finding_lines(7, findings))
        theirs = _rows(conn, "theirs", columns, expected)
    assert len(ours) == len(stored) > 0
    _same(ours, theirs)
    assert copytext.finding_lines(7, [f for f in findings if f.severity == Severity.INFO]) == ""


def test_provenance_and_software_read_back_as_write_row_sends_them(database: Database) -> None:
    inputs = [InputRef("file", TRICKY[n % len(TRICKY)] or "x", f"FILEID{n:02d}",
                       program_id=None if n % 2 else TRICKY[n % len(TRICKY)],
                       telescope="HST\t1", instrument=None, t_min=REALS[n % len(REALS)],
                       t_max=REALS[(n + 3) % len(REALS)]) for n in range(30)]  # fmt: skip
    software = [SoftwareRef(TRICKY[n % len(TRICKY)], None if n % 2 else "v1\\2", "PROCSOFT")
                for n in range(15)]  # fmt: skip
    input_columns = "product_id bigint, input_index int, kind text, identifier text, " \
                    "source text, program_id text, telescope text, instrument text, " \
                    "t_min float8, t_max float8"  # fmt: skip
    software_columns = "product_id bigint, software_index int, name text, " \
                       "software_version text, source text"  # fmt: skip
    with psycopg.connect(database.url) as conn:
        _same(_load(conn, "i1", input_columns, copytext.input_lines(3, inputs)),
              _rows(conn, "i2", input_columns, [(3, n, *i) for n, i in
                                                enumerate(inputs, start=1)]))  # fmt: skip
        _same(_load(conn, "s1", software_columns, copytext.software_lines(2**40, software)),
              _rows(conn, "s2", software_columns, [(2**40, n, *s) for n, s in
                                                   enumerate(software, start=1)]))  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(st.text(st.characters(blacklist_categories=["Cs"],
                                            blacklist_characters="\x00")), max_size=8),
       reals=st.lists(st.floats(), max_size=8))  # fmt: skip
def test_any_text_and_double_read_back_unchanged(texts: list[str], reals: list[float]) -> None:
    """Without a database: COPY's text-format decoding, done by hand, inverts the encoding."""
    for value in texts:
        decoded = _unescape(copytext.text(value))
        assert decoded == value
        assert "\t" not in copytext.text(value) and "\n" not in copytext.text(value)
    for number in reals:
        back = float(copytext.real(number).replace("Infinity", "inf"))
        assert back == number or (math.isnan(back) and math.isnan(number))
    assert copytext.text(None) == copytext.real(None) == copytext.integer(None) == "\\N"


def _unescape(field: str) -> str:
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\":
            out.append({"\\": "\\", "n": "\n", "r": "\r", "t": "\t"}[field[i + 1]])
            i += 2
        else:
            out.append(field[i])
            i += 1
    return "".join(out)
