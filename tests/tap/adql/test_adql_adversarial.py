"""Hostile and random ADQL: always an AdqlError or SQL that PostgreSQL accepts, never a crash.

Generated SQL is checked with EXPLAIN as the restricted role in a read-only transaction: it
must never be a syntax error, nor touch a relation or column the role cannot see.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tap.adql import parse, translate
from tap.errors import AdqlError, AdqlSyntaxError
from tests.support.adql_db import METADATA, READER, AdqlDatabase

# -- adversarial ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("adql", "words"),
    [
        ("SELECT pg_sleep(10) FROM cat.src", "unknown function pg_sleep()"),
        ("SELECT id FROM cat.src WHERE pg_sleep(10) IS NULL", "unknown function pg_sleep()"),
        ("SELECT id FROM cat.src; DROP TABLE cat.src", "only one statement"),
        ("SELECT id FROM cat.src; ", None),
        ("SELECT id FROM cat.src /* */; DROP TABLE cat.src", "expected the end"),
        ("SELECT relname FROM pg_catalog.pg_class", "unknown table pg_catalog.pg_class"),
        ("SELECT * FROM information_schema.tables", "unknown table information_schema.tables"),
        ("SELECT * FROM pg_class", "unknown table pg_class"),
        ("SELECT ctid FROM cat.src", "unknown column ctid"),
        ("SELECT s.xmin FROM cat.src AS s", "has no column xmin"),
        ("SELECT oid FROM cat.src", "unknown column oid"),
        ("SELECT tableoid FROM cat.src", "unknown column tableoid"),
        ("SELECT * FROM cat.private", "unknown table cat.private"),
        ("SELECT secret FROM cat.src", "unknown column secret"),
        ("SELECT footprint FROM cat.src", "unknown column footprint"),
        ("SELECT id FROM cat.srcs", "did you mean cat.src?"),
        ("SELECT mags FROM cat.src", "did you mean mag?"),
        ("SELECT id FROM cat.src WHERE current_user = 'x'", "reserved word"),
        ("SELECT version() FROM cat.src", "unknown function version()"),
        ("SELECT set_config('a.b', 'c', 0) FROM cat.src", "unknown function set_config()"),
        ("SELECT id FROM cat.src WHERE name = 'a' || chr(0)", "unknown function chr()"),
        ("SELECT id FROM cat.src WHERE mag > 1e400", "out of the double precision range"),
        ("SELECT id FROM cat.src ORDER BY 9", "the query has 1 columns"),
        ("SELECT TOP 1 id FROM cat.src UNION SELECT name FROM cat.src ORDER BY mag", "ORDER BY"),
        ("SELECT s.id FROM cat.src AS s, cat.obs AS s", "more than one table"),
        ("SELECT id FROM cat.src, cat.obs", "ambiguous"),
        ('SELECT "é" FROM cat.src', "unknown column"),
        ("SELECT id FROM cat.src WHERE id = 'x'", "cannot compare"),
        ("SELECT name + 1 FROM cat.src", "needs numbers"),
        ("SELECT LOWER(mag) FROM cat.src", "needs a string"),
        ("SELECT MAX(pos) FROM cat.src", "geometry"),
        ("SELECT CAST(pos AS INTEGER) FROM cat.src", "cannot be CAST"),
        ("SELECT id FROM cat.src WHERE DISTANCE(name, pos) < 1", "must be a point"),
    ],
)
def test_adversarial_queries(adql_db: AdqlDatabase, adql: str, words: str | None) -> None:
    if words is None:
        assert adql_db.rows(adql)
        return
    with pytest.raises(AdqlError) as caught:
        adql_db.translate(adql)
    assert words in caught.value.message


def test_literals_cannot_escape(adql_db: AdqlDatabase) -> None:
    tricky = "x' OR 1=1; DROP TABLE cat.src; --"
    adql = "SELECT id FROM cat.src WHERE name = '" + tricky.replace("'", "''") + "'"
    assert adql_db.rows(adql) == []
    rows = adql_db.rows('SELECT \'ñ☃ \\ "q"\' AS "weird ""label""", id FROM cat.src WHERE id = 1')
    assert rows == [('ñ☃ \\ "q"', 1)]
    tr = adql_db.translate('SELECT id AS "a""b" FROM cat.src')
    assert tr.columns[0].name == 'a"b'


def test_the_database_role_is_the_last_line(adql_db: AdqlDatabase) -> None:
    """Even hand-written SQL over unpublished tables fails as the reader role, read-only."""
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        adql_db.execute("SELECT * FROM cat.private")
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        adql_db.execute("CREATE TEMP TABLE x (a int)")


# -- random queries -----------------------------------------------------------------------------

_COLUMNS = ["s.id", "s.ra", "s.dec", "s.mag", 's."size"', "s.name", "s.flux", "s.pos", "ra",
            "o.wl", "o.band", "s.s_region", "s.obs_time"]  # fmt: skip
_FUNCTIONS = {"ABS": 1, "CEILING": 1, "DEGREES": 1, "EXP": 1, "FLOOR": 1, "LOG": 1, "LOG10": 1,
              "MOD": 2, "PI": 0, "POWER": 2, "RADIANS": 1, "RAND": 0, "ROUND": 1, "SQRT": 1,
              "TRUNCATE": 1, "ACOS": 1, "ATAN2": 2, "COS": 1, "LOWER": 1, "UPPER": 1,
              "COALESCE": 2, "COORD1": 1, "COORD2": 1, "AREA": 1, "CENTROID": 1, "COORDSYS": 1,
              "MAX": 1, "COUNT": 1, "AVG": 1, "ivo_hasword": 2, "DISTANCE": 2, "POINT": 2,
              "CIRCLE": 2, "IN_UNIT": 2}  # fmt: skip

_numbers = st.one_of(
    st.integers(-(10**30), 10**30).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["0", "1", ".5", "1e-3", "90"]),
)
_strings = st.text(max_size=8).map(lambda s: "'" + s.replace("'", "''") + "'")
_atoms = st.one_of(st.sampled_from(_COLUMNS), _numbers, _strings, st.just("NULL"))


def _call(name: str, args: list[str]) -> str:
    return f"{name}({', '.join(args)})"


_exprs = st.recursive(
    _atoms,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "||"]), inner).map(" ".join),
        inner.map(lambda e: f"({e})"),
        inner.map(lambda e: f"-({e})"),
        st.sampled_from(sorted(_FUNCTIONS)).flatmap(
            lambda f: st.lists(inner, min_size=_FUNCTIONS[f], max_size=_FUNCTIONS[f]).map(
                lambda args: _call(f, args)
            )
        ),
        st.tuples(inner, st.sampled_from(["INTEGER", "VARCHAR(4)", "DOUBLE PRECISION"])).map(
            lambda t: f"CAST({t[0]} AS {t[1]})"
        ),
    ),
    max_leaves=6,
)
_conditions = st.recursive(
    st.one_of(
        st.tuples(_exprs, st.sampled_from(["=", "<>", "<", ">=", "LIKE", "NOT ILIKE"]), _exprs).map(
            " ".join
        ),
        st.tuples(_exprs, _exprs, _exprs).map(lambda t: f"{t[0]} BETWEEN {t[1]} AND {t[2]}"),
        _exprs.map(lambda e: f"{e} IS NOT NULL"),
        st.tuples(_exprs, _exprs).map(lambda t: f"{t[0]} IN ({t[1]}, 1)"),
        st.tuples(_exprs, _exprs, _numbers).map(
            lambda t: f"CONTAINS(POINT({t[0]}, {t[1]}), CIRCLE(s.ra, s.dec, {t[2]})) = 1"
        ),
        _numbers.map(lambda r: f"DISTANCE(s.pos, POINT(10, 20)) < {r}"),
    ),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["AND", "OR"]), inner).map(lambda t: f"({' '.join(t)})"),
        inner.map(lambda c: f"NOT {c}"),
    ),
    max_leaves=4,
)
_queries = st.builds(
    lambda top, items, join, where, order: (
        f"SELECT {top}{', '.join(items)} FROM cat.src AS s {join}{where}{order}"
    ),
    st.sampled_from(["", "TOP 3 ", "DISTINCT "]),
    st.lists(_exprs, min_size=1, max_size=3),
    st.sampled_from(
        ["", "JOIN cat.obs AS o USING (id) ", "LEFT JOIN cat.obs AS o ON o.id = s.id "]
    ),
    st.one_of(st.just(""), _conditions.map(lambda c: f"WHERE {c} ")),
    st.sampled_from(["", "ORDER BY 1", "ORDER BY 1 DESC OFFSET 2"]),
)

# PostgreSQL errors a well-formed query can still meet (types, grouping, arithmetic).
_RUNTIME = (
    psycopg.errors.UndefinedFunction,
    psycopg.errors.DatatypeMismatch,
    psycopg.errors.InvalidTextRepresentation,
    psycopg.errors.GroupingError,
    psycopg.errors.NumericValueOutOfRange,
    psycopg.errors.InvalidParameterValue,
    psycopg.errors.CannotCoerce,
    psycopg.errors.AmbiguousFunction,
    psycopg.errors.InvalidColumnReference,
    psycopg.errors.StringDataRightTruncation,
    psycopg.errors.InvalidDatetimeFormat,
    psycopg.errors.DivisionByZero,
    psycopg.errors.InvalidArgumentForLogarithm,
    psycopg.errors.InvalidArgumentForPowerFunction,
    psycopg.errors.InternalError_,  # pg_sphere's range checks (latitude, circle radius)
)


@pytest.fixture(scope="module")
def reader(adql_db: AdqlDatabase) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(adql_db.url, autocommit=True) as conn:
        yield conn


def _explain(conn: psycopg.Connection[tuple[object, ...]], sql: str) -> None:
    try:
        with conn.transaction():
            conn.execute("SET TRANSACTION READ ONLY")
            conn.execute(f"SET LOCAL ROLE {READER}")
            conn.execute("SET LOCAL statement_timeout = '5s'")
            conn.execute("EXPLAIN " + sql)
    except _RUNTIME:
        pass


@settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_queries)
def test_generated_queries_translate_to_valid_sql(
    reader: psycopg.Connection[tuple[object, ...]], adql: str
) -> None:
    try:
        tr = translate(adql, METADATA, row_limit=10)
    except AdqlError as exc:
        assert exc.message
        return
    assert len(tr.columns) >= 1
    _explain(reader, tr.sql)


_TOKENS = ["SELECT", "FROM", "WHERE", "TOP", "(", ")", ",", ".", "*", "+", "-", "/", "=", "<",
           "AND", "OR", "NOT", "IN", "LIKE", "IS", "NULL", "JOIN", "ON", "USING", "UNION", "AS",
           "ORDER", "BY", "GROUP", "HAVING", "OFFSET", "WITH", "cat", "src", "obs", "id", "ra",
           "POINT", "CIRCLE", "CONTAINS", "DISTANCE", "1", "2.5", "'x'", '"id"', ";", "--",
           "\n", "||", "CAST", "INTEGER", "COUNT", "DISTINCT", "EXISTS", "BETWEEN"]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_TOKENS), st.text(max_size=3)), max_size=30))
def test_token_soup_never_crashes(tokens: list[str]) -> None:
    text = " ".join(tokens)
    try:
        translate(text, METADATA)
    except AdqlSyntaxError as exc:
        assert exc.line >= 1 and exc.column >= 1
    except AdqlError as exc:
        assert exc.message


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_never_crashes(text: str) -> None:
    try:
        parse(text)
    except AdqlError as exc:
        assert exc.message
