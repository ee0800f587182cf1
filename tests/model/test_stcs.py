"""hlsp.spoly_to_stcs (migration 0007) writes every polygon exactly as the regular-expression
version it replaced (migration 0001's body), in each output mode pg_sphere may be set to."""

from __future__ import annotations

import importlib

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from catalog.db import Database

MIGRATION = importlib.import_module("migrations.versions.0007_faster_stcs_regions")

# Four corners around a centre: RA anywhere (0 and 360 included), Dec up to the poles, sizes
# from 1e-9 degrees (digits beyond the rounding) to a few degrees.
polygon = st.tuples(
    st.floats(0, 360), st.floats(-86, 86), st.sampled_from([1e-9, 1e-4, 0.01, 1.0, 3.0])
)


@pytest.fixture
def conn(database: Database):
    with database.engine.connect() as conn:
        # the regular-expression version, as a reference beside the new one
        conn.exec_driver_sql(MIGRATION.REGEX.replace("hlsp.spoly_to_stcs", "pg_temp.regex_stcs", 1))
        yield conn
        conn.rollback()


def _polygon_sql(ra: float, dec: float, size: float) -> str:
    corners = [(ra, dec), (ra + size, dec), (ra + size, dec + size), (ra, dec + size)]
    return "{" + ",".join(f"({a!r}d, {d!r}d)" for a, d in corners) + "}"


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(shape=polygon)
def test_the_same_text_in_rad_and_deg_output(
    conn: sa.Connection, shape: tuple[float, float, float]
) -> None:
    ra, dec, size = shape
    text = _polygon_sql(ra, dec, size)
    try:
        with conn.begin_nested():
            conn.execute(sa.text("SELECT CAST(:p AS spoly)"), {"p": text})
    except sa.exc.DBAPIError:
        assume(False)  # a polygon pg_sphere itself refuses (degenerate): nothing to write
    for mode in ("RAD", "DEG"):
        conn.execute(sa.text("SELECT set_sphere_output(:m)"), {"m": mode})
        new, old = _both(conn, text)
        assert new == old
        assert new is not None and new.startswith("Polygon ICRS ")
    conn.execute(sa.text("SELECT set_sphere_output('RAD')"))


def _both(conn: sa.Connection, text: str) -> tuple[str | None, str | None]:
    """The new function's text and the old (regular-expression) one's, for one polygon."""
    both = "SELECT hlsp.spoly_to_stcs(CAST(:p AS spoly)), pg_temp.regex_stcs(CAST(:p AS spoly))"
    new, old = conn.execute(sa.text(both), {"p": text}).one()
    return new, old


def test_unknown_output_modes_give_null_as_before(conn: sa.Connection) -> None:
    text = _polygon_sql(10, 20, 1)
    for mode in ("DMS", "HMS"):
        conn.execute(sa.text("SELECT set_sphere_output(:m)"), {"m": mode})
        new, old = _both(conn, text)
        assert new is None and old is None
