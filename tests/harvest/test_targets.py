"""The in-batch position index of target resolution against a brute-force search."""

from __future__ import annotations

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.db import Database
from catalog.harvest.fits.skywcs import PositionGrid, angular_distance
from catalog.harvest.ids import Sequences
from catalog.harvest.targets import MATCH_RADIUS_ARCSEC

RADIUS = MATCH_RADIUS_ARCSEC / 3600
# Clustered positions (a few arcsec apart) near RA 0/360, the poles and elsewhere.
CENTRES = [(0.0, 0.0), (359.9995, 10.0), (123.4, 89.9995), (200.0, -89.9999), (45.0, -30.0)]
_positions = st.tuples(
    st.sampled_from(CENTRES), st.floats(-2e-3, 2e-3), st.floats(-2e-3, 2e-3)
).map(lambda p: ((p[0][0] + p[1]) % 360.0, max(-90.0, min(90.0, p[0][1] + p[2]))))


@settings(max_examples=200, deadline=None)
@given(
    stored=st.lists(_positions, max_size=12), probes=st.lists(_positions, min_size=1, max_size=6)
)
def test_grid_finds_a_position_within_the_radius_whenever_there_is_one(
    stored: list[tuple[float, float]], probes: list[tuple[float, float]]
) -> None:
    grid = PositionGrid(RADIUS)
    for target_id, (ra, dec) in enumerate(stored):
        grid.add(ra, dec, target_id)
    for ra, dec in probes:
        within = {t for t, p in enumerate(stored) if angular_distance((ra, dec), p) <= RADIUS}
        found = grid.near(ra, dec)
        assert (found is None) == (not within)
        assert found is None or found in within


def test_grid_ignores_missing_positions() -> None:
    grid = PositionGrid(RADIUS)
    grid.add(None, 1.0, 1)
    assert grid.near(None, 1.0) is None and grid.near(1.0, 1.0) is None
    grid.add(1.0, 1.0, 2)
    assert grid.near(1.0, 1.0 + RADIUS / 2) == 2 and grid.near(1.0, 1.0 + 2 * RADIUS) is None


def test_ids_are_drawn_in_blocks_from_the_columns_sequence(database: Database) -> None:
    with psycopg.connect(database.url, autocommit=True) as conn:
        sequences = Sequences(conn)
        first = sequences.draw("hlsp.target", "target_id", 5)
        second = sequences.draw("hlsp.target", "target_id", 3)
        assert first == sorted(first) and len(set(first + second)) == 8
        assert min(second) > max(first)
        assert sequences.draw("hlsp.product", "product_id", 0) == []
        # Ids other writers get from the column's default come after the drawn ones.
        row = conn.execute("INSERT INTO hlsp.target (name) VALUES ('x') RETURNING target_id")
        assert row.fetchone()[0] > max(second)  # type: ignore[index]
        with pytest.raises(ValueError, match="not a serial column"):
            sequences.draw("hlsp.target", "name", 1)
