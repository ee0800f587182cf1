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
from catalog.sphere import (
    BOUND_MARGIN_DEG,
    SkyPoint,
    SkyPolygon,
    SPoint,
    bounding_circle,
    cone,
    parse_spoint,
    parse_spoly,
    wrap_ra,
)
from tests.support import factories as f


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


quads = st.tuples(
    st.floats(0, 360, allow_nan=False),
    st.floats(-89.5, 89.5, allow_nan=False),
    st.floats(1e-5, 5, allow_nan=False),
    st.floats(1e-5, 5, allow_nan=False),
    st.floats(0, 2 * math.pi, allow_nan=False),
)


def _quad(
    ra: float, dec: float, width: float, height: float, turn: float
) -> list[tuple[float, float]]:
    """A footprint-like quadrilateral around (ra, dec), turned, near the poles too."""
    corners = []
    for dx, dy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        x, y = dx * width / 2, dy * height / 2
        x, y = x * math.cos(turn) - y * math.sin(turn), x * math.sin(turn) + y * math.cos(turn)
        d = max(-89.99, min(89.99, dec + y))
        corners.append((wrap_ra(ra + x / max(math.cos(math.radians(d)), 1e-3)), d))
    return corners


@settings(max_examples=300, deadline=None)
@given(quads)
def test_the_bounding_circle_holds_every_vertex_and_is_tight(quad: tuple[float, ...]) -> None:
    corners = _quad(*quad)
    bound = bounding_circle(corners)
    distances = [
        angular_distance(bound.centre.ra, bound.centre.dec, ra, dec) for ra, dec in corners
    ]
    assert max(distances) < bound.radius
    assert bound.radius <= max(distances) + 2 * BOUND_MARGIN_DEG


def test_no_bounding_circle_beyond_a_hemisphere() -> None:
    with pytest.raises(ValueError, match="hemisphere"):
        bounding_circle([(0, 0), (120, 0), (240, 0), (0, 80)])
    with pytest.raises(ValueError, match="mean direction"):
        bounding_circle([(0, 0), (180, 0)])


def test_pg_sphere_agrees_the_circles_hold_the_polygons(session: Session) -> None:
    """What the catalog's check (footprint <@ footprint_bound) will test, on many shapes;
    and the trigger's circle for SQL writers is the same circle."""
    rng = random.Random(5)
    shapes = [
        _quad(
            rng.uniform(0, 360),
            rng.uniform(-85, 85),
            rng.uniform(1e-5, 5),
            rng.uniform(1e-5, 5),
            rng.uniform(0, 6.3),
        )
        for _ in range(2000)
    ]
    polygons = [SkyPolygon.from_degrees(s).pgsphere_literal() for s in shapes]
    circles = [bounding_circle(s).pgsphere_literal() for s in shapes]
    held, trigger_close = session.execute(
        sa.text(
            "SELECT bool_and(p::spoly <@ c::scircle), bool_and("
            "center(hlsp.spoly_bound(p::spoly)) <-> center(c::scircle) < radians(1e-9) AND "
            "abs(radius(hlsp.spoly_bound(p::spoly)) - radius(c::scircle)) < radians(1e-9)) "
            "FROM unnest(CAST(:p AS text[]), CAST(:c AS text[])) AS t(p, c)"
        ),
        {"p": polygons, "c": circles},
    ).one()
    assert held and trigger_close
    coll = f.collection(session)
    product = f.product(session, coll, footprint=SkyPolygon.from_degrees(shapes[0]))
    stored = session.execute(
        sa.text("SELECT footprint <@ footprint_bound FROM hlsp.product WHERE product_id = :p"),
        {"p": product.product_id},
    ).scalar_one()
    assert stored  # filled by the trigger: the ORM does not set it
    session.execute(
        sa.text(  # a new footprint with its circle cleared: the trigger sets one
            "UPDATE hlsp.product SET footprint = CAST(:f AS spoly), footprint_bound = NULL "
            "WHERE product_id = :p"
        ),
        {"f": polygons[1], "p": product.product_id},
    )
    assert session.execute(
        sa.text(
            "SELECT footprint_bound IS NOT NULL AND footprint <@ footprint_bound "
            "FROM hlsp.product WHERE product_id = :p"
        ),
        {"p": product.product_id},
    ).scalar_one()
    with pytest.raises(sa.exc.IntegrityError, match="footprint_within_bound"):
        session.execute(
            sa.text(
                "UPDATE hlsp.product SET footprint_bound = scircle(spoint(0, 0), radians(1)) "
                "WHERE product_id = :p"
            ),
            {"p": product.product_id},
        )


def test_each_sphere_type_names_the_python_class_its_columns_hold() -> None:
    from catalog.sphere import SCircle, SkyCircle, SPoint, SPoly

    types = {SPoint: SkyPoint, SPoly: SkyPolygon, SCircle: SkyCircle}
    assert {t: t().python_type for t in types} == types
