"""COPY text lines read back by PostgreSQL exactly as psycopg's own row writer sends them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime

import psycopg
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.db import Database
from catalog.harvest import copytext
from catalog.harvest.copytext import PRODUCT_COLUMNS
from catalog.harvest.findings import Finding, Severity, Verdict
from catalog.harvest.load import _STAGED, NOT_HARVESTED, exact_mtime
from catalog.harvest.records import InputRef, ProductRecord, SoftwareRef, TargetRef
from catalog.model import Product
from catalog.sphere import SkyCircle, SkyPoint, wrap_ra

TRICKY = ["", "plain", "back\\slash", "tab\there", "new\nline", "carriage\rreturn", "\\N",
          "quote ' and \"", "é ü ∞ 🙂", "\\\\t", "trailing\\", " ", "a\tb\nc\\d\re"]  # fmt: skip
REALS = [None, 0.0, -0.0, 1e-05, 1.5, 59000.123456789, 1e300, 5e-324, math.inf, -math.inf,
         math.nan]  # fmt: skip


def _finding(n: int, severity: Severity) -> Finding:
    text = TRICKY[n % len(TRICKY)]
    return Finding(
        f"HLSP-K{n % 1000:03d}",
        severity,
        f"message {text}",
        hdu=None if n % 3 else n,
        keyword=text or None,
        field=None if n % 2 else "version",
    )


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
    columns = (
        "product_id bigint, finding_index int, code text, severity text, hdu int, "
        "keyword text, message text"
    )
    severities = [Severity.ERROR, Severity.INFO, Severity.WARNING]
    findings = [_finding(n, severities[n % 3]) for n in range(40)]
    stored = [f for f in findings if f.severity != Severity.INFO]
    expected = [
        (7, n, f.code, str(f.severity), f.hdu, f.keyword or f.field, f.message)
        for n, f in enumerate(stored, start=1)
    ]
    with psycopg.connect(database.url) as conn:
        ours = _load(conn, "ours", columns, copytext.finding_lines(7, findings))
        theirs = _rows(conn, "theirs", columns, expected)
    assert len(ours) == len(stored) > 0
    _same(ours, theirs)
    assert copytext.finding_lines(7, [f for f in findings if f.severity == Severity.INFO]) == ""


def test_provenance_and_software_read_back_as_write_row_sends_them(database: Database) -> None:
    inputs = [
        InputRef(
            "file",
            TRICKY[n % len(TRICKY)] or "x",
            f"FILEID{n:02d}",
            program_id=None if n % 2 else TRICKY[n % len(TRICKY)],
            telescope="HST\t1",
            instrument=None,
            t_min=REALS[n % len(REALS)],
            t_max=REALS[(n + 3) % len(REALS)],
        )
        for n in range(30)
    ]
    software = [
        SoftwareRef(TRICKY[n % len(TRICKY)], None if n % 2 else "v1\\2", "PROCSOFT")
        for n in range(15)
    ]
    input_columns = (
        "product_id bigint, input_index int, kind text, identifier text, "
        "source text, program_id text, telescope text, instrument text, "
        "t_min float8, t_max float8"
    )
    software_columns = (
        "product_id bigint, software_index int, name text, software_version text, source text"
    )
    with psycopg.connect(database.url) as conn:
        _same(
            _load(conn, "i1", input_columns, copytext.input_lines(3, inputs)),
            _rows(conn, "i2", input_columns, [(3, n, *i) for n, i in enumerate(inputs, start=1)]),
        )
        _same(
            _load(conn, "s1", software_columns, copytext.software_lines(2**40, software)),
            _rows(
                conn,
                "s2",
                software_columns,
                [(2**40, n, *s) for n, s in enumerate(software, start=1)],
            ),
        )


@settings(max_examples=60, deadline=None)
@given(
    texts=st.lists(
        st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")), max_size=8
    ),
    reals=st.lists(st.floats(), max_size=8),
)
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


# -- product rows ------------------------------------------------------------------------------

MTIMES = [0, -1, 999, 1000, 1_000_000_999, 1_700_000_000_123_456_789, -62_135_596_800 * 10**9,
          253_402_300_799_999_999_999, 951_782_400 * 10**9 - 1]  # fmt: skip
"""Nanoseconds: the epoch, before it, sub-microsecond truncation, years 1 and 9999, the eve
of 2000-02-29."""
FOOTPRINTS = [
    None,
    [],
    [
        (52.94121976039927, -28.018582497854766),
        (-1e-20, 0.5),
        (360.0, -90.0),
        (-725.25, 89.99999999999999),
    ],
]


BOUNDS = [
    None,
    SkyCircle(SkyPoint(359.99999999999994, -89.5), 1e-7),
    SkyCircle(SkyPoint(0.0, 12.345678901234567), 89.99999999999999),
]


def _record(n: int) -> ProductRecord:
    def some(offset: int) -> str | None:
        value = TRICKY[(n + offset) % len(TRICKY)]
        return None if (n + offset) % 5 == 0 else value

    def real(offset: int) -> float | None:
        return REALS[(n + offset) % len(REALS)]

    return ProductRecord(
        path=f"/data/{some(1) or ''}/{n}.fits",
        file_name=f"{some(2) or ''}{n}.fits",
        file_bytes=2880 * n + 2**40 * (n % 2),
        mtime_ns=MTIMES[n % len(MTIMES)],
        file_format=some(3) or "fits",
        collection="c",
        collection_source="HLSPID",
        hdu_count=n,
        product_version=some(4),
        product_type=some(5),
        dataproduct_type=some(6),
        observatory=some(7),
        telescope=some(8),
        instrument=some(9),
        detector=some(10),
        filter_name=some(11),
        aperture=some(12),
        disperser=some(13),
        target_name=some(14),
        ra=None if n % 4 == 0 else 359.9999999999999 - n * 1.1,
        dec=-89.5 + n * 0.37,
        footprint=FOOTPRINTS[n % len(FOOTPRINTS)],
        footprint_bound=BOUNDS[n % len(BOUNDS)],
        s_fov=real(1),
        s_xel1=None if n % 3 == 0 else 2**31 - n,
        s_xel2=n,
        t_min=real(2),
        t_max=real(3),
        time_scale=some(15),
        t_exptime=real(4),
        t_xel=None if n % 2 else 2**40 + n,
        em_min=real(5),
        em_max=real(6),
        em_xel=None if n % 7 == 0 else n,
        simulated=n % 2 == 1,
        headers='[{"cards":[["K","a\\\\b \\"q\\" \\t é"]]}]' + (some(16) or ""),
        verdict=list(Verdict)[n % len(Verdict)],
    )


def point_literal(ra: float | None, dec: float | None) -> str | None:
    """The spoint literal the catalog's other writers send (``SkyPoint``), or None."""
    return None if ra is None or dec is None else SkyPoint(ra, dec).pgsphere_literal()


def _written_row(no: int, r: ProductRecord, collection_id: int, run_id: int) -> tuple[object, ...]:
    """The row psycopg's ``write_row`` used to receive for a product (the loader's former
    ``_product_row``): what ``product_line`` must be read back as. Keyed by column, put in
    the order of ``PRODUCT_COLUMNS``."""
    footprint = (
        "{" + ",".join(f"({wrap_ra(ra)!r}d, {dec!r}d)" for ra, dec in r.footprint) + "}"
        if r.footprint
        else None
    )
    values = {
        "collection_id": collection_id,
        "file_name": r.file_name,
        "file_path": r.path,
        "file_format": r.file_format,
        "file_bytes": r.file_bytes,
        "file_mtime": exact_mtime(r.mtime_ns),
        "hdu_count": r.hdu_count,
        "product_version": r.product_version,
        "product_type": r.product_type,
        "dataproduct_type": r.dataproduct_type,
        "calib_level": 4,
        "observatory": r.observatory,
        "telescope": r.telescope,
        "instrument": r.instrument,
        "detector": r.detector,
        "filter_name": r.filter_name,
        "aperture": r.aperture,
        "disperser": r.disperser,
        "target_name": r.target_name,
        "pos": point_literal(r.ra, r.dec),
        "footprint": footprint,
        "footprint_bound": r.footprint_bound.pgsphere_literal() if r.footprint_bound else None,
        "s_fov": r.s_fov,
        "s_xel1": r.s_xel1,
        "s_xel2": r.s_xel2,
        "t_min": r.t_min,
        "t_max": r.t_max,
        "time_scale": r.time_scale,
        "t_exptime": r.t_exptime,
        "t_xel": r.t_xel,
        "em_min": r.em_min,
        "em_max": r.em_max,
        "em_xel": r.em_xel,
        "simulated": r.simulated,
        "headers": r.headers,
        "verdict": str(r.verdict),
        "harvest_run_id": run_id,
    }
    missing = [column for column in PRODUCT_COLUMNS if column not in values]
    assert not missing, f"the expected row has no value for {missing}"
    return (no, *(values[column] for column in PRODUCT_COLUMNS))


def test_product_lines_read_back_as_write_row_sends_them(database: Database) -> None:
    """Every column, as the staging table types them (geometry and JSON as text: compared
    byte for byte), plus a trailing timestamptz as the cold load's ``last_harvested``."""
    columns = "row_no int, " + ", ".join(f"{c} {t}" for c, t in _STAGED) + ", seen timestamptz"
    records = [_record(n) for n in range(60)]
    now = datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=UTC)
    end = f"\t{now}\n"
    lines = "".join(copytext.product_line(n, r, 7 + n, 2**33, end) for n, r in enumerate(records))
    rows = [(*_written_row(n, r, 7 + n, 2**33), now) for n, r in enumerate(records)]
    assert lines.count("\n") == len(records)
    with psycopg.connect(database.url) as conn:
        ours = _load(conn, "p1", columns, lines)
        theirs = _rows(conn, "p2", columns, rows)
    assert len(ours) == len(records)
    _same(ours, theirs)
    assert {row[6] for row in ours} >= {exact_mtime(ns) for ns in MTIMES}
    assert copytext.product_line(1, records[1], 2, 3, "\n").endswith("\t3\n")


def test_every_product_column_is_harvested_or_said_not_to_be() -> None:
    """A column added to the product table must be written by the harvest (PRODUCT_COLUMNS
    and ``product_line``) or listed in ``load.NOT_HARVESTED`` with the reason."""
    columns = list(Product.__table__.columns.keys())
    unaccounted = [c for c in columns if c not in PRODUCT_COLUMNS and c not in NOT_HARVESTED]
    assert not unaccounted, (
        f"product columns neither in copytext.PRODUCT_COLUMNS nor in load.NOT_HARVESTED: "
        f"{unaccounted}"
    )
    both = sorted(set(PRODUCT_COLUMNS) & set(NOT_HARVESTED))
    assert not both, f"product columns both harvested and listed as not: {both}"
    unknown = [c for c in (*PRODUCT_COLUMNS, *NOT_HARVESTED) if c not in columns]
    assert not unknown, f"not columns of the product table: {unknown}"
    assert len(set(PRODUCT_COLUMNS)) == len(PRODUCT_COLUMNS)


def test_product_line_has_one_field_per_column() -> None:
    """``product_line`` and PRODUCT_COLUMNS agree in number (tabs inside values are escaped)."""
    for n in range(12):
        line = copytext.product_line(n, _record(n), 1, 2, "\n")
        assert line.count("\t") == len(PRODUCT_COLUMNS), line
        assert line.split("\t")[1 + PRODUCT_COLUMNS.index("calib_level")] == "4"


@settings(max_examples=300, deadline=None)
@given(
    ns=st.integers(-62_135_596_800 * 10**9, 253_402_300_799_999_999_999)
    | st.integers(-(10**19), 10**19)
)
def test_timestamp_is_the_datetime_psycopg_prints(ns: int) -> None:
    assert copytext.timestamp(ns) == str(exact_mtime(ns))


def test_timestamp_out_of_range_fails_as_the_datetime_did() -> None:
    for ns in (-62_135_596_800 * 10**9 - 1, 253_402_300_800 * 10**9):
        for convert in (copytext.timestamp, exact_mtime):
            try:
                convert(ns)
            except ValueError:
                continue
            raise AssertionError(f"{convert.__name__}({ns}) did not fail")


@settings(max_examples=200, deadline=None)
@given(
    vertices=st.lists(
        st.tuples(
            st.floats(-1e6, 1e6) | st.sampled_from([-1e-300, -0.0, 360.0]), st.floats(-90, 90)
        ),
        max_size=6,
    ),
    ra=st.none() | st.floats(allow_nan=False),
    dec=st.none() | st.floats(allow_nan=False),
)
def test_geometry_literals_are_the_former_ones(
    vertices: list[tuple[float, float]], ra: float | None, dec: float | None
) -> None:
    expected = (
        "{" + ",".join(f"({wrap_ra(a)!r}d, {d!r}d)" for a, d in vertices) + "}"
        if vertices
        else "\\N"
    )
    assert copytext.polygon(vertices) == expected
    assert copytext.point(ra, dec) == (point_literal(ra, dec) or "\\N")
    if ra is not None and dec is not None:
        bound = SkyCircle(SkyPoint(ra, dec), abs(dec))
        assert copytext.circle(bound) == bound.pgsphere_literal()


def test_target_rows_read_back_as_write_row_sends_them(database: Database) -> None:
    targets = [
        (
            n + 1,
            TargetRef(
                TRICKY[n % len(TRICKY)] or "x",
                "OBJECT",
                None if n % 3 == 0 else REALS[n % 7 + 1] or 359.99999999999994,
                -89.99999999999999 + n,
            ),
        )
        for n in range(25)
    ]
    aliases = [
        (TRICKY[n % len(TRICKY)], 2**40 + n, TRICKY[(n + 5) % len(TRICKY)]) for n in range(25)
    ]
    links = [(n, 2**35 - n) for n in range(25)]
    with psycopg.connect(database.url) as conn:
        columns = "target_id bigint, name text, pos text"
        _same(
            _load(conn, "t1", columns, copytext.target_lines(targets)),
            _rows(
                conn, "t2", columns, [(t, r.name, point_literal(r.ra, r.dec)) for t, r in targets]
            ),
        )
        columns = "name_key text, target_id bigint, name text"
        _same(
            _load(conn, "a1", columns, copytext.alias_lines(aliases)),
            _rows(conn, "a2", columns, aliases),
        )
        columns = "product_id bigint, target_id bigint"
        _same(
            _load(conn, "l1", columns, copytext.link_lines(links)),
            _rows(conn, "l2", columns, links),
        )
    assert copytext.target_lines([]) == copytext.alias_lines([]) == copytext.link_lines([]) == ""


# -- array literals ----------------------------------------------------------------------------

ARRAY_TEXTS = [*TRICKY, '"', 'say "hi"', "a,b", "{x}", "NULL", "null", " lead", "trail ", '\\\\"']


@settings(max_examples=40, deadline=None)
@given(
    texts=st.lists(
        st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")),
        max_size=10,
    ),
    ints=st.lists(st.integers(-(2**63), 2**63 - 1), max_size=10),
    reals=st.lists(st.none() | st.floats(), max_size=10),
)
def test_array_literals_read_back_as_the_lists(
    module_database: Database, texts: list[str], ints: list[int], reals: list[float | None]
) -> None:
    with psycopg.connect(module_database.url) as conn:
        row = conn.execute(
            "SELECT %s::text[], %s::bigint[], %s::float8[], %s::text[]",
            (
                copytext.text_array(texts),
                copytext.int_array(ints),
                copytext.real_array(reals),
                copytext.text_array(ARRAY_TEXTS),
            ),
        ).fetchone()
    assert row is not None
    assert row[0] == texts and row[1] == ints and row[3] == ARRAY_TEXTS
    _same([tuple(row[2])], [tuple(reals)])
