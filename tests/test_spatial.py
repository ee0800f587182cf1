"""Spatial queries through pg_sphere agree with spherical geometry computed independently."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from catalog.model import Product
from catalog.sphere import SkyPoint, SkyPolygon, SPoint, cone, parse_spoint, parse_spoly
from tests import factories as f


def angular_distance(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    """Vincenty formula, degrees in and out (stable at all separations)."""
    l1, b1, l2, b2 = map(math.radians, (ra1, dec1, ra2, dec2))
    dl = l2 - l1
    num = math.hypot(
        math.cos(b2) * math.sin(dl),
        math.cos(b1) * math.sin(b2) - math.sin(b1) * math.cos(b2) * math.cos(dl),
    )
    den = math.sin(b1) * math.sin(b2) + math.cos(b1) * math.cos(b2) * math.cos(dl)
    return math.degrees(math.atan2(num, den))


@pytest.fixture
def sky(session: Session) -> list[tuple[int, float, float]]:  # (id, ra, dec)
    rng = random.Random(20261123)
    coll = f.collection(session)
    points = [
        (rng.uniform(0, 360), math.degrees(math.asin(rng.uniform(-1, 1)))) for _ in range(1500)
    ]
    # Crowd the awkward places: the RA wrap and the poles.
    points += [
        (rng.choice([rng.uniform(0, 2), rng.uniform(358, 360)]), rng.uniform(-3, 3))
        for _ in range(300)
    ]
    points += [(rng.uniform(0, 360), rng.uniform(87, 90)) for _ in range(200)]
    rows = [
        {
            "collection_id": coll.collection_id,
            "file_name": f"p{i}.fits",
            "file_path": f"/p{i}",
            "file_bytes": 1,
            "file_mtime": datetime.now(UTC),
            "pos": SkyPoint(ra, dec),
        }
        for i, (ra, dec) in enumerate(points)
    ]
    session.execute(sa.insert(Product), rows)
    session.commit()
    rows_back = session.execute(sa.select(Product.product_id, Product.s_ra, Product.s_dec))
    return [(pid, ra, dec) for pid, ra, dec in rows_back if ra is not None and dec is not None]


@pytest.mark.parametrize(
    ("ra", "dec", "radius"),
    [
        (0.0, 0.0, 1.5),
        (359.5, 1.0, 2.0),
        (120.0, 89.5, 2.5),
        (200.0, -30.0, 10.0),
        (45.0, 45.0, 8.0),
        (10.0, 0.0, 90.0),
    ],
)
def test_cone_search_matches_spherical_geometry(
    session: Session, sky: list[tuple[int, float, float]], ra: float, dec: float, radius: float
) -> None:
    got = set(
        session.scalars(sa.select(Product.product_id).where(cone(Product.pos, ra, dec, radius)))
    )
    want = {pid for pid, pra, pdec in sky if angular_distance(ra, dec, pra, pdec) < radius - 1e-9}
    edge = {
        pid for pid, pra, pdec in sky if abs(angular_distance(ra, dec, pra, pdec) - radius) <= 1e-9
    }
    assert want, "the case should select something"
    assert want <= got <= want | edge


def test_cone_rejects_nonsense() -> None:
    col = sa.column("pos", SPoint())
    for args in [
        (0, 0, 0),
        (0, 0, -1),
        (0, 0, 181),
        (0, 95, 1),
        (math.nan, 0, 1),
        (0, 0, math.inf),
    ]:
        with pytest.raises(ValueError):
            cone(col, *args)


def test_footprint_contains_and_overlaps(session: Session) -> None:
    coll = f.collection(session)
    # A field straddling RA = 0.
    square = SkyPolygon.from_degrees([(359.0, -1.0), (1.0, -1.0), (1.0, 1.0), (359.0, 1.0)])
    p = f.product(session, coll, footprint=square)
    session.commit()

    def contains(ra: float, dec: float) -> bool:
        point = sa.func.spoint(sa.func.radians(ra), sa.func.radians(dec))
        q = sa.select(Product.product_id).where(Product.footprint.op("@>")(point))
        return session.scalar(q) == p.product_id

    assert contains(0.0, 0.0)
    assert contains(359.5, 0.5)
    assert not contains(2.0, 0.0)
    assert not contains(180.0, 0.0)
    overlapping = sa.select(Product.product_id).where(
        Product.footprint.op("&&")(
            sa.func.scircle(sa.func.spoint(sa.func.radians(1.5), 0.0), sa.func.radians(0.6))
        )
    )
    assert session.scalar(overlapping) == p.product_id


@settings(max_examples=200, deadline=None)
@given(
    ra=st.floats(-720, 720, allow_nan=False),
    dec=st.floats(-90, 90, allow_nan=False),
)
def test_literal_parse_round_trip(ra: float, dec: float) -> None:
    point = SkyPoint.checked(ra, dec)
    assert 0.0 <= point.ra < 360.0
    back = parse_spoint(point.pgsphere_literal())
    assert back == point


def test_parse_both_output_modes() -> None:
    rad = parse_spoint("(0.176687652651632 , -0.357792496658838)")
    deg = parse_spoint("(10.123456789012d , -20.5d)")
    assert rad.ra == pytest.approx(10.123456789012, abs=1e-10)
    assert rad.dec == pytest.approx(-20.5, abs=1e-10)
    assert deg == SkyPoint(10.123456789012, -20.5)
    poly = parse_spoly("{(10d , 20d),(11d , 20d),(11d , 21d)}")
    assert poly.stcs() == "Polygon ICRS 10 20 11 20 11 21"  # as hlsp.spoly_to_stcs() writes it
    with pytest.raises(ValueError):
        parse_spoly("(10d , 20d)")
    with pytest.raises(ValueError):
        SkyPolygon.from_degrees([(0, 0), (1, 1)])


def test_positions_survive_the_database_in_both_output_modes(session: Session) -> None:
    coll = f.collection(session)
    p = f.product(
        session,
        coll,
        pos=SkyPoint(271.25, -33.125),
        footprint=SkyPolygon.from_degrees([(10, 20), (11, 20), (11, 21)]),
    )
    session.commit()
    for mode in ("RAD", "DEG"):
        session.execute(sa.text("SELECT set_sphere_output(:m)"), {"m": mode})
        session.expire_all()
        got = session.get(Product, p.product_id)
        assert got is not None and got.pos is not None and got.footprint is not None
        assert got.pos.ra == pytest.approx(271.25, abs=1e-10)
        assert got.pos.dec == pytest.approx(-33.125, abs=1e-10)
        assert got.footprint.vertices[2].dec == pytest.approx(21.0, abs=1e-10)
    session.execute(sa.text("SELECT set_sphere_output('RAD')"))
