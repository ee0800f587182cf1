"""Query results streamed from PostgreSQL: row counts, OVERFLOW, the encoding fast path."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from catalog.db import Database
from tap.metadata import Column
from tap.votable import Info, query_result, stream_rows
from tests.support.votable_cases import astropy_rows, same, statuses, stilts_csv


@pytest.fixture
def conn(database: Database) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database.url) as connection:
        yield connection


def c(name: str, datatype: str, arraysize: str | None = None, xtype: str | None = None) -> Column:
    return Column(name, "x", datatype, f"{name} column", arraysize, xtype)


SERIES = "SELECT i AS n FROM generate_series(1, {n}) AS i"
N_COLUMN = (c("n", "int"),)


def document(conn, sql, columns, fmt, **kw) -> bytes:
    return b"".join(query_result(conn, sql, columns, fmt, **kw))


@pytest.mark.parametrize("fmt", ["votable/td", "votable/b", "votable/b2", "csv"])
@pytest.mark.parametrize(
    ("n", "maxrec", "rows", "overflow"),
    [
        (0, None, 0, False),
        (1, None, 1, False),
        (2500, None, 2500, False),
        (2500, 2500, 2500, False),
        (2500, 2499, 2499, True),
        (2500, 1000, 1000, True),
        (2500, 0, 0, True),
        (10, 1, 1, True),
    ],
)
def test_row_counts_and_overflow(conn, fmt: str, n: int, maxrec, rows: int, overflow: bool) -> None:
    data = document(conn, SERIES.format(n=n), N_COLUMN, fmt, maxrec=maxrec, batch=1000)
    if fmt == "csv":
        lines = data.decode().splitlines()
        assert lines[0] == "n" and lines[1:] == [str(i) for i in range(1, rows + 1)]
        return
    _, got = astropy_rows(data)
    assert [r[0] for r in got] == list(range(1, rows + 1))
    assert statuses(data) == [("OK", True)] + ([("OVERFLOW", False)] if overflow else [])


def test_stream_rows_fetches_in_batches_up_to_maxrec_plus_one(conn) -> None:
    rows = stream_rows(conn, SERIES.format(n=10_000), maxrec=2500, batch=700)
    assert [r[0] for r in rows] == list(range(1, 2502))
    rows = stream_rows(conn, SERIES.format(n=3), batch=2)
    assert list(rows) == [(1,), (2,), (3,)]
    assert conn.execute("SELECT 1").fetchone() == (1,)  # cursor closed, connection usable


EVERY_TYPE = r"""
SELECT i::bigint AS l, (i - 2)::int AS k, i::smallint AS s, (i * 40)::smallint AS ub,
  i / 3.0::float8 AS d, (i / 3.0)::real AS f, i % 2 = 0 AS b,
  CASE i WHEN 1 THEN 'plain' WHEN 2 THEN E'h\u00e9llo \u2603 \U0001D11E' WHEN 3 THEN ''
         WHEN 4 THEN E'tab\there' ELSE 'x' || i END AS u,
  CASE i WHEN 2 THEN E'caf\u00e9' ELSE 'ascii ' || i END AS a,
  timestamp '2020-01-02 03:04:05' + i * interval '0.25 second' AS t,
  timestamptz '2020-06-01 12:00:00+02' + i * interval '1 day' AS tz,
  date '2021-01-01' + i AS dt,
  ARRAY[(i * 10)::float8, (i - 3)::float8] AS pt,
  ARRAY[1.0, 2.0, i::float8 / 10] AS ci,
  ARRAY[0, 0, 1, 0, 1, i]::float8[] AS pg
FROM generate_series(1, 5) AS i
UNION ALL
SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
"""
EVERY_COLUMNS = (
    c("l", "long"), c("k", "int"), c("s", "short"), c("ub", "unsignedByte"), c("d", "double"),
    c("f", "float"), c("b", "boolean"), c("u", "unicodeChar", "*"), c("a", "char", "*"),
    c("t", "char", "*", "timestamp"), c("tz", "char", "*", "timestamp"),
    c("dt", "char", "*", "timestamp"), c("pt", "double", "2", "point"),
    c("ci", "double", "3", "circle"), c("pg", "double", "*", "polygon"),
)  # fmt: skip


def _decoded(data: bytes) -> bytes:
    """The binary rows inside a BINARY/BINARY2 document."""
    stream = re.search(rb'<STREAM encoding="base64">(.*)</STREAM>', data, re.S)
    assert stream is not None
    return base64.b64decode(b"".join(stream.group(1).split()))


@pytest.mark.parametrize("fmt", ["votable/b", "votable/b2"])
@pytest.mark.parametrize("maxrec", [None, 3, 6])
def test_fast_path_is_byte_identical_to_the_generic_writer(conn, fmt: str, maxrec) -> None:
    fast = document(conn, EVERY_TYPE, EVERY_COLUMNS, fmt, maxrec=maxrec)
    generic = document(conn, EVERY_TYPE, EVERY_COLUMNS, fmt, maxrec=maxrec, fast=False)
    assert _decoded(fast) == _decoded(generic)
    assert fast == generic


def test_fast_path_is_taken_for_the_supported_types(conn, monkeypatch) -> None:
    from tap.votable import fastpath

    plans = []
    real = fastpath.plan

    def spy(*args, **kwargs):
        plans.append(real(*args, **kwargs))
        return plans[-1]

    monkeypatch.setattr(fastpath, "plan", spy)
    document(conn, EVERY_TYPE, EVERY_COLUMNS, "votable/b2")
    assert plans and plans[0] is not None and plans[0].texts == 1


def test_fast_path_values_read_back(conn, tmp_path: Path) -> None:
    data = document(conn, EVERY_TYPE, EVERY_COLUMNS, "votable/b2")
    _, rows = astropy_rows(data)
    assert len(rows) == 6
    first, second, last = rows[0], rows[1], rows[5]
    assert first[:7] == [1, -1, 1, 40, 1 / 3.0, pytest.approx(1 / 3.0), False]
    assert second[7] == "h\u00e9llo \u2603 \U0001d11e"
    assert second[8] == "caf?"  # char is ASCII: non-ASCII characters become '?'
    assert first[9] == "2020-01-02T03:04:05.25" and rows[3][9] == "2020-01-02T03:04:06"
    assert first[10] == "2020-06-02T10:00:00"  # timestamptz in UTC
    assert first[11] == "2021-01-02"
    assert same(first[12], [10.0, -2.0]) and same(first[13], [1.0, 2.0, 0.1])
    assert same(first[14], [0.0, 0.0, 1.0, 0.0, 1.0, 1.0])
    assert last[:7] == [None] * 7 and last[12:] == [None, None, None]
    path = tmp_path / "fast.vot"
    path.write_bytes(data)
    header, stil = stilts_csv(path)
    assert header[7] == "u" and stil[1][7] == "h\u00e9llo \u2603 \U0001d11e"
    assert stil[5] == [""] * len(EVERY_COLUMNS)  # every NULL is a NULL for STIL too


def test_unsupported_types_take_the_generic_path(conn) -> None:
    sql = "SELECT ARRAY[1, 2, i] AS ia, i::numeric AS num FROM generate_series(1, 3) AS i"
    columns = (c("ia", "int", "*"), c("num", "long"))
    data = document(conn, sql, columns, "votable/b2")
    _, rows = astropy_rows(data)
    assert rows == [[[1, 2, 1], 1], [[1, 2, 2], 2], [[1, 2, 3], 3]]


def test_an_error_before_the_first_row_is_raised(conn) -> None:
    with pytest.raises(psycopg.errors.UndefinedColumn):
        query_result(conn, "SELECT nope FROM generate_series(1, 3)", N_COLUMN, "votable/b2")
    conn.rollback()
    with pytest.raises(psycopg.errors.DivisionByZero):
        query_result(conn, "SELECT 1 / 0 AS n", N_COLUMN, "votable/td")


@pytest.mark.parametrize("fmt", ["votable/td", "votable/b2"])
@pytest.mark.parametrize("fast", [True, False])
def test_an_error_part_way_ends_the_document_with_error_status(conn, fmt, fast) -> None:
    sql = "SELECT 10 / (3000 - i) AS n FROM generate_series(1, 5000) AS i"
    data = document(conn, sql, N_COLUMN, fmt, batch=1000, fast=fast)
    found = statuses(data)
    assert found[0] == ("OK", True) and found[-1] == ("ERROR", False)
    assert b"division by zero" in data


def test_maxrec_zero_does_not_run_the_query(conn) -> None:
    data = document(conn, "SELECT 1 / 0 AS n", N_COLUMN, "votable/b2", maxrec=0)
    assert statuses(data) == [("OK", True), ("OVERFLOW", False)]
    assert b'<FIELD name="n"' in data


def test_abandoned_stream_leaves_the_connection_usable(conn) -> None:
    chunks = query_result(conn, SERIES.format(n=100_000), N_COLUMN, "votable/b2", batch=1000)
    next(chunks)
    next(chunks)
    chunks.close()  # type: ignore[attr-defined]
    assert conn.execute("SELECT 2").fetchone() == (2,)


def test_infos_are_written(conn) -> None:
    data = document(
        conn,
        SERIES.format(n=2),
        N_COLUMN,
        "votable/b2",
        infos=[Info("QUERY", "SELECT n FROM t"), Info("SQL", "SELECT i")],
    )
    assert b'<INFO name="QUERY" value="SELECT n FROM t"/>' in data


def test_timestamps_agree_with_python_formatting(conn) -> None:
    from tap.votable.codecs import timestamp_text

    sql = (
        "SELECT t::timestamp FROM (VALUES ('2020-01-01 00:00:00'), ('2020-01-01 00:00:00.5'),"
        " ('2020-01-01 00:00:00.000001'), ('0999-12-31 23:59:59.123')) AS v(t)"
    )
    python = [timestamp_text(row[0]) for row in conn.execute(sql)]
    assert python[:3] == [
        "2020-01-01T00:00:00",
        "2020-01-01T00:00:00.5",
        "2020-01-01T00:00:00.000001",
    ]
    _, rows = astropy_rows(document(conn, sql, (c("t", "char", "*", "timestamp"),), "votable/b2"))
    assert [r[0] for r in rows] == python
    assert isinstance(conn.execute(sql).fetchone()[0], datetime)


@pytest.mark.parametrize("fmt", ["votable/b", "votable/b2"])
@pytest.mark.parametrize("astral", [True, False])
def test_fast_path_texts_first_and_last(conn, fmt: str, astral: bool) -> None:
    """Text columns at both ends, NULLs, with and without characters beyond the BMP."""
    special = "E'\\U0001F600 smile'" if astral else "'caf\u00e9'"
    sql = (
        f"SELECT CASE WHEN i % 3 = 0 THEN NULL WHEN i = 7 THEN {special} ELSE 'a' || i END AS t1,"
        " i AS n, CASE WHEN i % 4 = 0 THEN NULL ELSE repeat('\u00e9', i % 5) END AS t2"
        " FROM generate_series(1, 20) AS i"
    )
    columns = (c("t1", "unicodeChar", "*"), c("n", "int"), c("t2", "unicodeChar", "*"))
    fast = document(conn, sql, columns, fmt)
    assert fast == document(conn, sql, columns, fmt, fast=False)
    _, rows = astropy_rows(fast)
    assert rows[6][0] == ("\U0001f600 smile" if astral else "caf\u00e9")
    assert rows[1] == ["a2", 2, "\u00e9\u00e9"]


@pytest.mark.parametrize("fast", [True, False])
def test_failures_leave_the_callers_transaction_usable(conn, fast: bool) -> None:
    with conn.transaction():
        conn.execute("CREATE TEMPORARY TABLE kept (x int)")
        with pytest.raises(psycopg.errors.DivisionByZero):
            query_result(conn, "SELECT 1 / 0 AS n", N_COLUMN, "votable/b2", fast=fast)
        sql = "SELECT 10 / (3000 - i) AS n FROM generate_series(1, 5000) AS i"
        data = document(conn, sql, N_COLUMN, "votable/b2", batch=1000, fast=fast)
        assert statuses(data)[-1] == ("ERROR", False) and b"division by zero" in data
        assert conn.execute("SELECT count(*) FROM kept").fetchone() == (0,)


def test_fast_path_across_batches_and_base64_pieces(conn) -> None:
    """Many batches and several base64 pieces: still the generic writer's exact bytes."""
    sql = (
        "SELECT i::bigint AS id, CASE WHEN i % 7 = 0 THEN NULL ELSE i / 3.0 END::float8 AS d,"
        " 'obj_' || i AS name, timestamp '2020-01-01' + i * interval '1.5 second' AS t,"
        " ARRAY[(i % 360)::float8, ((i % 180) - 90)::float8] AS pt"
        " FROM generate_series(1, 20000) AS i"
    )
    columns = (
        c("id", "long"),
        c("d", "double"),
        c("name", "unicodeChar", "*"),
        c("t", "char", "*", "timestamp"),
        c("pt", "double", "2", "point"),
    )
    fast = document(conn, sql, columns, "votable/b2", batch=3000, maxrec=19000)
    assert fast.count(b"\n") > 10  # several base64 pieces
    assert fast == document(conn, sql, columns, "votable/b2", batch=700, maxrec=19000, fast=False)
    assert statuses(fast) == [("OK", True), ("OVERFLOW", False)]


@pytest.mark.parametrize("fast", [True, False])
def test_small_and_large_results_are_fetched_alike(conn, monkeypatch, fast: bool) -> None:
    """Results bounded or expected to be small are fetched by a plain cursor (parallel plans
    allowed), others through a server-side cursor: same document either way, and abandoning
    either leaves the connection usable."""
    from tap.votable import stream

    sql = SERIES.format(n=30_000)
    assert (stream.estimated_rows(conn, sql) or 0) > stream.SMALL_RESULT_ROWS
    assert not stream.fetch_in_one(conn, sql, 100_000)
    assert stream.fetch_in_one(conn, SERIES.format(n=10), 100_000)
    large = document(conn, sql, N_COLUMN, "votable/b2", fast=fast, maxrec=50_000)
    monkeypatch.setattr(stream, "SMALL_RESULT_ROWS", 10**9)
    small = document(conn, sql, N_COLUMN, "votable/b2", fast=fast, maxrec=50_000)
    assert small == large and large.count(b"<FIELD") == 1
    chunks = query_result(conn, sql, N_COLUMN, "votable/b2", batch=1000, fast=fast, maxrec=50_000)
    next(chunks)
    chunks.close()  # type: ignore[attr-defined]
    assert conn.execute("SELECT 3").fetchone() == (3,)
