"""ADQL geometry on pg_sphere (which works in radians; ADQL in degrees).

Constructors build ``spoint``/``scircle``/``spoly`` values; predicates become pg_sphere
operators (``<@`` for CONTAINS, ``&&`` for INTERSECTS, a point operand of INTERSECTS turning
it into CONTAINS); :func:`to_output` turns a geometry in the final select list into the DALI
arrays (degrees) a VOTable writer serialises without knowing pg_sphere.
"""

from __future__ import annotations

import math
import re

from tap.adql.values import GEOMETRY, NUMERIC_RANK, Value
from tap.errors import AdqlError

# Frames whose coordinates we take as ICRS; others would need a transformation we do not do.
_ICRS_LIKE = ("", "ICRS", "FK5", "J2000", "UNKNOWNFRAME", "UNKNOWN")


def check_coord_sys(text: str | None) -> None:
    if text is None:
        return
    frame = text.strip().split()[0].upper() if text.strip() else ""
    if frame not in _ICRS_LIKE:
        raise AdqlError(
            f"the coordinate system {text!r} is not supported: positions are ICRS; "
            "pass '' (or 'ICRS') as the coordinate system"
        )


def _number(value: Value, what: str) -> str:
    if value.kind not in NUMERIC_RANK and value.kind != "null":
        raise AdqlError(f"{what} must be a number (degrees), not a {value.kind} value")
    return value.sql


def spoint_sql(lon: Value, lat: Value) -> str:
    return f"spoint(radians({_number(lon, 'a longitude')}), radians({_number(lat, 'a latitude')}))"


def point(lon: Value, lat: Value) -> Value:
    return Value(spoint_sql(lon, lat), "point")


def require_point(value: Value, what: str) -> str:
    if value.kind != "point":
        raise AdqlError(
            f"{what} must be a point (POINT(…) or a point column), not a {value.kind} value"
        )
    return value.sql


def circle(centre: Value, radius: Value, constant: float | None = None) -> Value:
    centre_sql = require_point(centre, "the centre of CIRCLE")
    if constant is not None and not 0 <= constant <= 90:
        raise AdqlError(f"a CIRCLE radius must be between 0 and 90 degrees, not {constant!r}")
    return Value(f"scircle({centre_sql}, radians({_number(radius, 'a radius')}))", "circle")


def _deg(value: float) -> str:
    return f"{value:.12f}".rstrip("0").rstrip(".") + "d"


def polygon(vertices: list[Value], constants: list[float] | None = None) -> Value:
    """A polygon of points; a literal when all coordinates are constants (degrees)."""
    if constants is not None:
        pairs = ",".join(
            f"({_deg(constants[i])},{_deg(constants[i + 1])})" for i in range(0, len(constants), 2)
        )
        return Value(f"'{{{pairs}}}'::spoly", "polygon")
    rows = ", ".join(
        f"({n}, {require_point(v, 'a POLYGON vertex')})" for n, v in enumerate(vertices, 1)
    )
    sql = f"(SELECT spoly(v.p ORDER BY v.n) FROM (VALUES {rows}) AS v(n, p))"  # noqa: S608
    return Value(sql, "polygon")


def box(
    lon: Value, lat: Value, width: Value, height: Value, constants: list[float] | None = None
) -> Value:
    """ADQL BOX: the polygon of the corners lon ± width/2, lat ± height/2."""
    if constants is not None:
        x, y, w, h = constants
        corners = [
            x - w / 2,
            y - h / 2,
            x + w / 2,
            y - h / 2,
            x + w / 2,
            y + h / 2,
            x - w / 2,
            y + h / 2,
        ]
        return polygon([], corners)
    xs, ys = _number(lon, "a longitude"), _number(lat, "a latitude")
    ws, hs = _number(width, "a width"), _number(height, "a height")
    vertices = [
        Value(
            f"spoint(radians(({xs}) {sx} ({ws}) / 2.0), radians(({ys}) {sy} ({hs}) / 2.0))", "point"
        )
        for sx, sy in (("-", "-"), ("+", "-"), ("+", "+"), ("-", "+"))
    ]
    return polygon(vertices)


def box_around(centre: Value, width: Value, height: Value) -> Value:
    c = require_point(centre, "the centre of BOX")
    return box(
        Value(f"degrees(long({c}))", "double"), Value(f"degrees(lat({c}))", "double"), width, height
    )


def geometry_sql(value: Value, function: str) -> str:
    """The pg_sphere SQL of a geometry operand (a REGION column uses its geometric twin)."""
    if value.kind in GEOMETRY:
        return value.sql
    if value.kind == "region":
        if value.geometry is None:
            raise AdqlError(
                f"{function} cannot use this region column: it has no geometric "
                "form in the database; use a point or polygon column"
            )
        return value.geometry
    if value.kind == "null":
        return "NULL::spoint"
    raise AdqlError(
        f"{function} needs a geometry (POINT, CIRCLE, POLYGON, BOX, REGION or a "
        f"geometry column), not a {value.kind} value"
    )


def geometry_kind(value: Value) -> str:
    return "polygon" if value.kind == "region" else value.kind


def _meets_bound(value: Value, other: Value) -> str | None:
    """SQL that is true whenever ``value`` meets ``other`` (shares a point with it), on the
    indexed circle holding ``value``; None when ``value`` has no such circle."""
    if value.bound is None:
        return None
    kind = geometry_kind(other)
    if kind == "point":
        return f"({value.bound}) @> ({geometry_sql(other, 'CONTAINS')})"
    if kind in ("circle", "polygon"):
        return f"({value.bound}) && ({geometry_sql(other, 'INTERSECTS')})"
    return None


def _with_bounds(exact: str, a: Value, b: Value) -> str:
    """``exact``, led by the circle tests it implies (which the GiST indexes answer). The
    result is the same, NULLs and NOT included: each added test is true when ``exact`` is.
    An operand drawn at random (RAND) is not repeated: a second draw would change it."""
    if "random()" in a.sql or "random()" in b.sql:
        return exact
    if a.bound is not None and b.bound is not None:  # two footprints: their circles meet
        tests = [f"({a.bound}) && ({b.bound})"]
    else:
        tests = [t for t in (_meets_bound(a, b), _meets_bound(b, a)) if t is not None]
    return f"({' AND '.join([*tests, exact])})" if tests else exact


def contains(inner: Value, outer: Value) -> str:
    """SQL boolean: inner lies within outer."""
    a, b = geometry_sql(inner, "CONTAINS"), geometry_sql(outer, "CONTAINS")
    if geometry_kind(outer) == "point":
        if geometry_kind(inner) != "point":
            raise AdqlError(
                "CONTAINS(region, point) is never true (only a point lies in a point): "
                "the contained geometry comes first, as in CONTAINS(point, region)"
            )
        return f"({a}) = ({b})"
    return _with_bounds(f"({a}) <@ ({b})", inner, outer)


def intersects(left: Value, right: Value) -> str:
    if geometry_kind(left) == "point":
        return contains(left, right)
    if geometry_kind(right) == "point":
        return contains(right, left)
    a, b = geometry_sql(left, "INTERSECTS"), geometry_sql(right, "INTERSECTS")
    return _with_bounds(f"({a}) && ({b})", left, right)


def distance(p: Value, q: Value) -> Value:
    a = require_point(p, "an argument of DISTANCE")
    b = require_point(q, "an argument of DISTANCE")
    return Value(f"degrees(({a}) <-> ({b}))", "double", "deg")


def within(p: Value, q: Value, radius: Value, op: str, constant: float | None) -> str:
    """SQL boolean ``DISTANCE(p, q) op radius`` in a form the GiST index serves.

    pg_sphere circles have radii in [0, 90] degrees: a constant radius outside that range
    keeps the plain distance comparison; an expression is clamped into it.
    """
    a = require_point(p, "an argument of DISTANCE")
    b = require_point(q, "an argument of DISTANCE")
    r = _number(radius, "a distance")
    if constant is not None and not 0 < constant <= 90:
        return f"degrees(({a}) <-> ({b})) {op} {r}"
    if q.column is not None and p.column is None:
        a, b = b, a  # keep the indexed column on the left of <@
    if constant is None:
        r = f"LEAST(GREATEST({r}, 0), 90)"
    return f"({a}) <@ scircle({b}, radians({r}))"


def centroid(value: Value) -> Value:
    kind = geometry_kind(value)
    if kind == "point":
        return Value(geometry_sql(value, "CENTROID"), "point")
    if kind == "circle":
        return Value(f"center({value.sql})", "point")
    raise AdqlError("CENTROID is supported for circles and points only")


def area(value: Value) -> Value:
    kind = geometry_kind(value)
    if kind == "point":
        return Value("0.0::double precision", "double", "deg**2")
    # pg_sphere gives steradians; (180/pi)^2 turns them into square degrees
    return Value(f"degrees(degrees(area({geometry_sql(value, 'AREA')})))", "double", "deg**2")


def coordinate(value: Value, which: int) -> Value:
    p = require_point(value, f"the argument of COORD{which}")
    return Value(f"degrees({'long' if which == 1 else 'lat'}({p}))", "double", "deg")


# -- STC-S (REGION) and CAST to geometry ---------------------------------------------------------

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def _numbers(text: str, what: str) -> list[float]:
    words = text.split()
    if not all(re.fullmatch(_NUMBER, w) for w in words):
        raise AdqlError(f"cannot read {what} from {text!r}: expected numbers (degrees)")
    numbers = [float(w) for w in words]
    if not all(math.isfinite(n) for n in numbers):
        raise AdqlError(f"cannot read {what} from {text!r}: numbers out of range")
    return numbers


_REGION_HELP = (
    "REGION({!r}) is not supported: use 'Position x y', 'Circle x y r', 'Box x y w h' or "
    "'Polygon x1 y1 x2 y2 x3 y3 …' in ICRS (no Union, Intersection or Not)"
)


def region(stcs: str) -> Value:
    """REGION('Position|Circle|Box|Polygon [frame] numbers…') in ICRS."""
    words = stcs.split()
    if not words:
        raise AdqlError("REGION needs an STC-S string such as 'Circle ICRS 10 20 1'")
    shape = words[0].lower()
    if shape not in ("position", "circle", "box", "polygon"):
        raise AdqlError(_REGION_HELP.format(stcs))
    rest = words[1:]
    if rest and not re.fullmatch(_NUMBER, rest[0]):
        check_coord_sys(rest[0])
        rest = rest[1:]
    numbers = _numbers(" ".join(rest), f"a REGION {words[0]}")
    if shape == "position" and len(numbers) == 2:
        return Value(f"spoint(radians({numbers[0]!r}), radians({numbers[1]!r}))", "point")
    if shape == "circle" and len(numbers) == 3:
        x, y, r = numbers
        return Value(f"scircle(spoint(radians({x!r}), radians({y!r})), radians({r!r}))", "circle")
    if shape == "box" and len(numbers) == 4:
        return box(
            Value("", "double"),
            Value("", "double"),
            Value("", "double"),
            Value("", "double"),
            numbers,
        )
    if shape == "polygon" and len(numbers) >= 6 and len(numbers) % 2 == 0:
        return polygon([], numbers)
    raise AdqlError(_REGION_HELP.format(stcs))


def cast_literal(text: str, target: str) -> Value:
    """CAST('lon lat' AS POINT), CAST('lon lat r' AS CIRCLE), CAST('x1 y1 …' AS POLYGON)."""
    numbers = _numbers(text, f"a {target}")
    if target == "POINT" and len(numbers) == 2:
        return region("Position " + text)
    if target == "CIRCLE" and len(numbers) == 3:
        return region("Circle " + text)
    if target == "POLYGON" and len(numbers) >= 6 and len(numbers) % 2 == 0:
        return polygon([], numbers)
    raise AdqlError(f"cannot CAST {text!r} to {target}: wrong number of coordinates")


# -- results -------------------------------------------------------------------------------------

_POLYGON_ARRAY = (
    "(SELECT array_agg(c.v ORDER BY t.n, c.k) FROM regexp_matches(({0})::text, "
    r"'\(\s*([-+0-9.eE]+)(d?)\s*,\s*([-+0-9.eE]+)(d?)\s*\)', 'g') WITH ORDINALITY AS t(m, n), "
    "LATERAL (VALUES "
    "(1, CASE WHEN t.m[2] = 'd' THEN t.m[1]::float8 ELSE degrees(t.m[1]::float8) END), "
    "(2, CASE WHEN t.m[4] = 'd' THEN t.m[3]::float8 ELSE degrees(t.m[3]::float8) END)) AS c(k, v))"
)


def to_output(value: Value) -> str:
    """SQL giving a geometry as a DALI double array in degrees (others unchanged)."""
    sql = value.sql
    if value.kind == "point":
        array = f"ARRAY[degrees(long({sql})), degrees(lat({sql}))]"
    elif value.kind == "circle":
        array = (
            f"ARRAY[degrees(long(center({sql}))), degrees(lat(center({sql}))), "
            f"degrees(radius({sql}))]"
        )
    elif value.kind == "polygon":
        return _POLYGON_ARRAY.format(sql)
    else:
        return sql
    return f"(CASE WHEN ({sql}) IS NULL THEN NULL ELSE {array} END)"
