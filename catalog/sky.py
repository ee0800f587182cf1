"""Positions, polygons and circles on the sky, in degrees: plain values, no database library.

    SkyPoint, SkyPolygon, SkyCircle   values (ICRS, degrees), with their pg_sphere literals
    wrap_ra, bounding_circle          RA into [0, 360); a circle holding a polygon
    parse_spoint/spoly/scircle        pg_sphere's text output (radians, or degrees with ``d``)

:mod:`catalog.sphere` maps them onto pg_sphere's column types for SQLAlchemy; the harvester's
records and the checker use them without loading SQLAlchemy.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import NamedTuple

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_PAIR_RE = re.compile(rf"\(\s*({_NUMBER})(d?)\s*,\s*({_NUMBER})(d?)\s*\)")


def wrap_ra(ra: float) -> float:
    """RA into [0, 360): ``%`` alone returns 360.0 for tiny negative values."""
    wrapped = ra % 360.0
    return 0.0 if wrapped >= 360.0 else wrapped


class SkyPoint(NamedTuple):
    """A position on the sky, ICRS, in degrees."""

    ra: float
    dec: float

    @classmethod
    def checked(cls, ra: float, dec: float) -> SkyPoint:
        """Validate and normalise (RA wrapped into [0, 360)); raise ValueError if impossible."""
        ra, dec = float(ra), float(dec)
        if not (math.isfinite(ra) and math.isfinite(dec)):
            raise ValueError(f"sky position must be finite, got ra={ra!r}, dec={dec!r}")
        if not -90.0 <= dec <= 90.0:
            raise ValueError(f"declination must lie in [-90, 90] degrees, got {dec!r}")
        return cls(wrap_ra(ra), dec)

    def pgsphere_literal(self) -> str:
        return f"({self.ra!r}d, {self.dec!r}d)"


class SkyPolygon(NamedTuple):
    """A spherical polygon (great-circle edges), vertices in degrees, ICRS."""

    vertices: tuple[SkyPoint, ...]

    @classmethod
    def from_degrees(cls, vertices: Iterable[tuple[float, float]]) -> SkyPolygon:
        points = tuple(SkyPoint.checked(ra, dec) for ra, dec in vertices)
        if len(points) < 3:
            raise ValueError(f"a polygon needs at least 3 vertices, got {len(points)}")
        return cls(points)

    def pgsphere_literal(self) -> str:
        return "{" + ",".join(p.pgsphere_literal() for p in self.vertices) + "}"

    def stcs(self) -> str:
        """The polygon as STC-S, as ObsCore ``s_region`` serves it."""
        return "Polygon ICRS " + " ".join(
            f"{_stcs_number(p.ra)} {_stcs_number(p.dec)}" for p in self.vertices
        )


class SkyCircle(NamedTuple):
    """A cone on the sky: centre (ICRS, degrees) and radius (degrees, at most 90)."""

    centre: SkyPoint
    radius: float

    def pgsphere_literal(self) -> str:
        return f"<{self.centre.pgsphere_literal()}, {self.radius!r}d>"


BOUND_MARGIN_DEG = math.degrees(1e-7)
"""Added to a bounding circle's radius (0.02"): 100 times pg_sphere's tolerance, so that
rounding never leaves a vertex outside by its measure."""


def bounding_circle(vertices: Iterable[tuple[float, float]]) -> SkyCircle:
    """A circle holding every vertex (degrees), centred on their mean direction.

    A cap of radius under 90° is convex on the sphere, so it holds the great-circle edges
    between its points too: it bounds the polygon. ValueError for vertices with no mean
    direction or no bounding circle within 90° (a polygon larger than a hemisphere)."""
    vectors = []
    for ra, dec in vertices:
        r, d = math.radians(ra), math.radians(dec)
        vectors.append((math.cos(d) * math.cos(r), math.cos(d) * math.sin(r), math.sin(d)))
    x, y, z = (math.fsum(v[i] for v in vectors) for i in range(3))
    norm = math.sqrt(x * x + y * y + z * z)
    if not vectors or not norm > 1e-9:
        raise ValueError("the vertices have no mean direction")
    x, y, z = x / norm, y / norm, z / norm
    radius = 0.0
    for vx, vy, vz in vectors:  # atan2(|c x v|, c . v): accurate at small and large angles
        cross = math.sqrt((y * vz - z * vy) ** 2 + (z * vx - x * vz) ** 2 + (x * vy - y * vx) ** 2)
        radius = max(radius, math.atan2(cross, x * vx + y * vy + z * vz))
    radius_deg = math.degrees(radius) + BOUND_MARGIN_DEG
    if radius_deg > 90.0:
        raise ValueError("the polygon does not fit in a hemisphere")
    latitude = math.atan2(z, math.hypot(x, y))  # (asin loses digits near the poles)
    centre = SkyPoint(wrap_ra(math.degrees(math.atan2(y, x))), math.degrees(latitude))
    return SkyCircle(centre, radius_deg)


def _stcs_number(value: float) -> str:
    """Degrees to 1e-10 (36 µas), trailing zeros trimmed: as hlsp.spoly_to_stcs() writes them."""
    text = f"{round(value, 10):.10f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _parse_pairs(text: str) -> list[SkyPoint]:
    points = []
    for lon, lon_deg, lat, lat_deg in _PAIR_RE.findall(text):
        ra = float(lon) if lon_deg else math.degrees(float(lon))
        dec = float(lat) if lat_deg else math.degrees(float(lat))
        points.append(SkyPoint(wrap_ra(ra), dec))
    return points


def parse_spoint(text: str) -> SkyPoint:
    points = _parse_pairs(text)
    if len(points) != 1:
        raise ValueError(f"not a pg_sphere spoint in RAD or DEG output mode: {text!r}")
    return points[0]


def parse_spoly(text: str) -> SkyPolygon:
    points = _parse_pairs(text)
    if len(points) < 3 or not text.lstrip().startswith("{"):
        raise ValueError(f"not a pg_sphere spoly in RAD or DEG output mode: {text!r}")
    return SkyPolygon(tuple(points))


_CIRCLE_RE = re.compile(rf"^\s*<\s*(\(.*\))\s*,\s*({_NUMBER})(d?)\s*>\s*$")


def parse_scircle(text: str) -> SkyCircle:
    match = _CIRCLE_RE.match(text)
    if match is None:
        raise ValueError(f"not a pg_sphere scircle in RAD or DEG output mode: {text!r}")
    radius = float(match[2]) if match[3] else math.degrees(float(match[2]))
    return SkyCircle(parse_spoint(match[1]), radius)
