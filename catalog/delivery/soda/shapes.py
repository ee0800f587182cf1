"""The regions and interval a SODA request cuts by, and their geometry on the sphere.

:class:`Circle`, :class:`Range` and :class:`Polygon` are ICRS regions in degrees (SODA 1.0
§3.3, DALI 1.1 shapes); :class:`Band` is a wavelength interval in metres. Each region can say
which of a set of positions it contains (:meth:`contains`) and give points along its outline
(:meth:`outline`), which is all a cutout needs to find the pixels a region covers.

Polygons are the smaller of the two regions their great-circle edges bound, and must fit in
a hemisphere: they are handled in the gnomonic projection centred on their vertices' mean
direction, where great circles are straight lines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]

OUTLINE_POINTS = 256  # points along a circle's outline
EDGE_POINTS = 48  # points along each edge of a polygon or a range


def unit_vectors(ra: Array, dec: Array) -> Array:
    """Unit vectors (n x 3) of positions in degrees."""
    a, d = np.radians(ra), np.radians(dec)
    return np.stack([np.cos(d) * np.cos(a), np.cos(d) * np.sin(a), np.sin(d)], axis=-1)


def angles(vectors: Array) -> tuple[Array, Array]:
    """RA in [0, 360) and Dec of (not necessarily unit) vectors, in degrees."""
    x, y, z = vectors[..., 0], vectors[..., 1], vectors[..., 2]
    ra = np.degrees(np.arctan2(y, x)) % 360.0
    dec = np.degrees(np.arctan2(z, np.hypot(x, y)))
    return ra, dec


def _basis(centre: Array) -> tuple[Array, Array]:
    """Two unit vectors that make an orthonormal basis with the unit vector ``centre``."""
    helper = np.array([0.0, 0.0, 1.0]) if abs(centre[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    east = np.cross(helper, centre)
    east /= np.linalg.norm(east)
    return east, np.cross(centre, east)


def _format(values: list[float]) -> str:
    return " ".join(f"{v:.10g}" for v in values)


@dataclass(frozen=True)
class Circle:
    """A cone: centre (``ra``, ``dec``) and ``radius``, degrees."""

    ra: float
    dec: float
    radius: float

    def describe(self) -> str:
        return f"CIRCLE {_format([self.ra, self.dec, self.radius])}"

    def contains(self, ra: Array, dec: Array) -> npt.NDArray[np.bool_]:
        centre = unit_vectors(np.array(self.ra), np.array(self.dec))
        cosines = unit_vectors(ra, dec) @ centre
        return np.asarray(cosines >= math.cos(math.radians(self.radius)) - 1e-15)

    def outline(self) -> tuple[Array, Array]:
        centre = unit_vectors(np.array(self.ra), np.array(self.dec))
        east, north = _basis(centre)
        bearings = np.linspace(0.0, 2 * math.pi, OUTLINE_POINTS, endpoint=False)
        r = math.radians(self.radius)
        points = (
            math.cos(r) * centre
            + math.sin(r) * np.cos(bearings)[:, None] * north
            + math.sin(r) * np.sin(bearings)[:, None] * east
        )
        return angles(points)


@dataclass(frozen=True)
class Range:
    """Longitude and latitude intervals, degrees. ``lon_min > lon_max`` is a range that
    wraps through 0 (``350 10`` is 20 degrees wide)."""

    lon_min: float
    lon_max: float
    lat_min: float
    lat_max: float

    def describe(self) -> str:
        return f"RANGE {_format([self.lon_min, self.lon_max, self.lat_min, self.lat_max])}"

    @property
    def width(self) -> float:
        return (self.lon_max - self.lon_min) % 360.0 or (
            360.0 if self.lon_max != self.lon_min else 0.0
        )

    def contains(self, ra: Array, dec: Array) -> npt.NDArray[np.bool_]:
        inside_lat = (dec >= self.lat_min) & (dec <= self.lat_max)
        if self.lon_max - self.lon_min >= 360.0:
            return np.asarray(inside_lat)
        offset = (ra - self.lon_min) % 360.0
        return np.asarray(inside_lat & (offset <= self.width))

    def outline(self) -> tuple[Array, Array]:
        lons = self.lon_min + np.linspace(0.0, self.width, EDGE_POINTS)
        lats = np.linspace(self.lat_min, self.lat_max, EDGE_POINTS)
        ra = np.concatenate(
            [lons, lons, np.full(EDGE_POINTS, self.lon_min), np.full(EDGE_POINTS, self.lon_max)]
        )
        dec = np.concatenate(
            [np.full(EDGE_POINTS, self.lat_min), np.full(EDGE_POINTS, self.lat_max), lats, lats]
        )
        return ra % 360.0, dec


@dataclass(frozen=True)
class Polygon:
    """A spherical polygon: ``vertices`` (ra, dec) in degrees, joined by great circles."""

    vertices: tuple[tuple[float, float], ...]

    def describe(self) -> str:
        return f"POLYGON {_format([c for v in self.vertices for c in v])}"

    def _vectors(self) -> Array:
        ra, dec = np.array(self.vertices, dtype=np.float64).T
        return unit_vectors(ra, dec)

    def plane(self) -> tuple[Array, Array, Array, Array]:
        """The vertices in the gnomonic plane about the centre: (x, y) and the projection's
        centre and basis as one (3 x 3) array, and the cosines of the vertices' distance to
        the centre (all positive for a polygon that fits in a hemisphere)."""
        vectors = self._vectors()
        total = vectors.sum(axis=0)
        norm = float(np.linalg.norm(total))
        centre = total / norm if norm > 1e-12 else vectors[0]
        east, north = _basis(centre)
        frame = np.stack([centre, east, north])
        cosines = vectors @ centre
        safe = np.where(cosines > 1e-12, cosines, 1e-12)
        return (vectors @ east) / safe, (vectors @ north) / safe, frame, cosines

    def contains(self, ra: Array, dec: Array) -> npt.NDArray[np.bool_]:
        px, py, frame, _ = self.plane()
        points = unit_vectors(ra, dec)
        cosines = points @ frame[0]
        front = cosines > 1e-9
        safe = np.where(front, cosines, 1.0)
        x, y = (points @ frame[1]) / safe, (points @ frame[2]) / safe
        inside = np.zeros(x.shape, dtype=bool)
        n = len(px)
        for i in range(n):  # even-odd rule, one edge at a time over all points
            x1, y1, x2, y2 = px[i], py[i], px[(i + 1) % n], py[(i + 1) % n]
            crosses = (y1 > y) != (y2 > y)
            with np.errstate(divide="ignore", invalid="ignore"):
                at = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            inside ^= crosses & (x < at)
        return np.asarray(inside & front)

    def outline(self) -> tuple[Array, Array]:
        vectors = self._vectors()
        steps = np.linspace(0.0, 1.0, EDGE_POINTS, endpoint=False)[:, None]
        points = [
            a + steps * (b - a) for a, b in zip(vectors, np.roll(vectors, -1, axis=0), strict=True)
        ]
        return angles(np.concatenate(points))


Shape = Circle | Range | Polygon


@dataclass(frozen=True)
class Band:
    """A wavelength interval in metres; either end may be infinite (open)."""

    low: float
    high: float

    def describe(self) -> str:
        return f"BAND {_format([self.low, self.high])}"


def first_crossing(x: Array, y: Array) -> tuple[int, int] | None:
    """The first pair (i, j), i < j, of non-adjacent edges of the closed plane polygon with
    vertices (x, y) that cross or touch (edge i joins vertex i to vertex i + 1); None when
    the polygon is simple. All pairs at once with numpy: 100 vertices take well under a
    millisecond."""
    n = len(x)
    points = x + 1j * y  # complex numbers: the cross product is Im(conj(u) v)
    a, b = points[:, None], np.roll(points, -1)[:, None]  # edge i: a -> b
    c, d = points[None, :], np.roll(points, -1)[None, :]  # edge j: c -> d

    def side(
        p: npt.NDArray[np.complex128], q: npt.NDArray[np.complex128], r: npt.NDArray[np.complex128]
    ) -> Array:
        return np.asarray(np.imag(np.conj(q - p) * (r - p)))

    def between(
        p: npt.NDArray[np.complex128], q: npt.NDArray[np.complex128], r: npt.NDArray[np.complex128]
    ) -> npt.NDArray[np.bool_]:
        return np.asarray(
            (np.minimum(p.real, q.real) <= r.real)
            & (r.real <= np.maximum(p.real, q.real))
            & (np.minimum(p.imag, q.imag) <= r.imag)
            & (r.imag <= np.maximum(p.imag, q.imag))
        )

    tolerance = 1e-12 * float(np.max(np.abs(b - a))) ** 2  # on a line, to rounding
    d1, d2, d3, d4 = (
        np.where(np.abs(v) <= tolerance, 0.0, np.sign(v))
        for v in (side(c, d, a), side(c, d, b), side(a, b, c), side(a, b, d))
    )
    crossing = (d1 * d2 < 0) & (d3 * d4 < 0)
    crossing |= (d1 == 0) & between(c, d, a)
    crossing |= (d2 == 0) & between(c, d, b)
    crossing |= (d3 == 0) & between(a, b, c)
    crossing |= (d4 == 0) & between(a, b, d)
    i, j = np.indices((n, n))
    crossing &= (j >= i + 2) & ~((i == 0) & (j == n - 1))  # adjacent edges share a vertex
    found = np.argwhere(crossing)
    return (int(found[0][0]), int(found[0][1])) if len(found) else None
