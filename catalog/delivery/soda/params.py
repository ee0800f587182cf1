"""The parameters of one SODA {sync} request, parsed and checked: :func:`parse_request`.

Input is the request's (name, value) pairs in order, repeated names included, as from
Starlette's ``request.query_params.multi_items()`` or a form. Names are case-insensitive
(DALI 1.1 §3.1); unknown names are ignored, as DALI asks; an empty value counts as absent
(DataLink clients send the descriptor's empty PARAMs).

Accepted:
    ID         the product (one value)
    POS        ``CIRCLE ra dec radius`` | ``RANGE lon1 lon2 lat1 lat2`` | ``POLYGON ra1 dec1 ...``
    CIRCLE     ``ra dec radius`` (what pyvo's SodaQuery sends for ``circle=``)
    POLYGON    ``ra1 dec1 ra2 dec2 ra3 dec3 ...`` (at least 3, at most MAX_VERTICES vertices)
    BAND       ``low high``, wavelengths in metres, ``-Inf``/``+Inf`` for an open end
    RESPONSEFORMAT  FITS only (``application/fits``, ``image/fits``, ``fits``)

One cutout per synchronous request: a second POS/CIRCLE/POLYGON (of any of the three names)
or a second BAND or ID is a MultiValuedParamNotSupported error (SODA 1.0 §3.1 lets a service
refuse multiple values; a client falls back to one request per cut). TIME and POL are
refused with a UsageError: no product here is cut in time or polarisation.

Checks: numbers are plain decimals (no NaN; infinities only where an interval may be open);
RA/longitudes in [0, 360], Dec/latitudes in [-90, 90], a radius in (0, 180]; latitude ranges
and bands not reversed (a longitude range may wrap through 0); polygons without repeated
consecutive vertices, without crossing edges, with an area, and within a hemisphere.
Values longer than MAX_VALUE_CHARS and requests of more than MAX_PARAMETERS pairs are
refused before anything is parsed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from catalog.delivery.soda.errors import MultiValuedParamNotSupported, UsageError
from catalog.delivery.soda.shapes import Band, Circle, Polygon, Range, Shape, first_crossing

MAX_VALUE_CHARS = 4096
MAX_PARAMETERS = 100
MAX_VERTICES = 100
FITS_FORMATS = frozenset({"application/fits", "image/fits", "fits"})
SPATIAL = ("POS", "CIRCLE", "POLYGON")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$", re.ASCII)  # no other digits
_INFINITY = re.compile(r"^([+-]?)inf(inity)?$", re.IGNORECASE)


@dataclass(frozen=True)
class SodaRequest:
    """What one request asks to cut: ``id`` (None when not given), at most one spatial
    ``shape`` and one ``band``."""

    id: str | None = None
    shape: Shape | None = None
    band: Band | None = None

    def describe(self) -> str:
        """The cut in SODA's own syntax, e.g. ``CIRCLE 10 20 0.1; BAND 1e-06 2e-06``."""
        parts = [p.describe() for p in (self.shape, self.band) if p is not None]
        return "; ".join(parts) or "no cut"


def _number(name: str, token: str, *, infinite: bool = False) -> float:
    if _NUMBER.match(token):
        value = float(token)
        if math.isinf(value):
            raise UsageError(f"{name}: {token[:40]} is too large a number")
        return value
    match = _INFINITY.match(token)
    if match and infinite:
        return -math.inf if match.group(1) == "-" else math.inf
    if match:
        raise UsageError(f"{name}: {token} is not allowed here; give a finite number")
    if token.lower() in {"nan", "+nan", "-nan"}:
        raise UsageError(f"{name}: NaN is not a number SODA accepts")
    raise UsageError(f"{name}: {token[:40]!r} is not a number")


def _numbers(name: str, text: str, *, infinite: bool = False) -> list[float]:
    return [_number(name, t, infinite=infinite) for t in text.split()]


def _check_ra(name: str, ra: float) -> None:
    if not 0.0 <= ra <= 360.0:
        raise UsageError(f"{name}: longitude/RA {ra:g} is outside [0, 360] degrees")


def _check_dec(name: str, dec: float) -> None:
    if not -90.0 <= dec <= 90.0:
        raise UsageError(f"{name}: latitude/Dec {dec:g} is outside [-90, 90] degrees")


def circle(name: str, text: str) -> Circle:
    """``ra dec radius`` in degrees."""
    values = _numbers(name, text)
    if len(values) != 3:
        raise UsageError(f"{name}: a circle is 'ra dec radius' (3 numbers), got {len(values)}")
    ra, dec, radius = values
    _check_ra(name, ra)
    _check_dec(name, dec)
    if not 0.0 < radius <= 180.0:
        raise UsageError(f"{name}: the radius must lie in (0, 180] degrees, got {radius:g}")
    return Circle(ra, dec, radius)


def range_(name: str, text: str) -> Range:
    """``lon1 lon2 lat1 lat2`` in degrees, -Inf/+Inf for the sky's limits."""
    values = _numbers(name, text, infinite=True)
    if len(values) != 4:
        raise UsageError(f"{name}: a range is 'lon1 lon2 lat1 lat2' (4 numbers), got {len(values)}")
    lon1, lon2, lat1, lat2 = values
    lon1 = 0.0 if lon1 == -math.inf else lon1
    lon2 = 360.0 if lon2 == math.inf else lon2
    lat1 = -90.0 if lat1 == -math.inf else lat1
    lat2 = 90.0 if lat2 == math.inf else lat2
    for lon in (lon1, lon2):
        _check_ra(name, lon)
    for lat in (lat1, lat2):
        _check_dec(name, lat)
    if lat1 > lat2:
        raise UsageError(f"{name}: the latitude range {lat1:g} {lat2:g} is reversed")
    return Range(lon1, lon2, lat1, lat2)


def polygon(name: str, text: str) -> Polygon:
    """``ra1 dec1 ra2 dec2 ...``: at least 3 vertices, a simple polygon in a hemisphere."""
    values = _numbers(name, text)
    if len(values) % 2:
        raise UsageError(f"{name}: a polygon is pairs of 'ra dec', got {len(values)} numbers")
    if len(values) < 6:
        raise UsageError(f"{name}: a polygon needs at least 3 vertices, got {len(values) // 2}")
    if len(values) > 2 * MAX_VERTICES:
        raise UsageError(
            f"{name}: a polygon may have at most {MAX_VERTICES} vertices, got {len(values) // 2}"
        )
    vertices = tuple(zip(values[::2], values[1::2], strict=True))
    for ra, dec in vertices:
        _check_ra(name, ra)
        _check_dec(name, dec)
    shape = Polygon(vertices)
    x, y, _, cosines = shape.plane()
    if float(cosines.min()) < 0.02:
        raise UsageError(f"{name}: the polygon does not fit in a hemisphere; split it")
    points = list(zip(x.tolist(), y.tolist(), strict=True))
    n = len(points)
    for i in range(n):
        if np.hypot(*np.subtract(points[i], points[(i + 1) % n])) < 1e-12:
            raise UsageError(f"{name}: vertex {i + 1} repeats the next one")
    area = sum(
        points[i][0] * points[(i + 1) % n][1] - points[(i + 1) % n][0] * points[i][1]
        for i in range(n)
    )
    if abs(area) < 1e-18:
        raise UsageError(f"{name}: the polygon has no area (its vertices are on one line)")
    crossing = first_crossing(x, y)
    if crossing is not None:
        raise UsageError(
            f"{name}: the polygon's edges {crossing[0] + 1} and {crossing[1] + 1} cross; give "
            "its vertices in order around it"
        )
    return shape


def band(name: str, text: str) -> Band:
    """``low high`` wavelengths in metres (-Inf/+Inf for an open end)."""
    values = _numbers(name, text, infinite=True)
    if len(values) != 2:
        raise UsageError(f"{name}: an interval is 'low high' (2 numbers), got {len(values)}")
    low, high = values
    if low > high:
        raise UsageError(f"{name}: the interval {low:g} {high:g} is reversed (low > high)")
    if high <= 0 or low == math.inf:
        raise UsageError(f"{name}: wavelengths are positive metres, got {low:g} {high:g}")
    return Band(max(low, 0.0), high)


def _pos(text: str) -> Shape:
    keyword, _, rest = text.strip().partition(" ")
    kind = keyword.upper()
    if kind == "CIRCLE":
        return circle("POS", rest)
    if kind == "RANGE":
        return range_("POS", rest)
    if kind == "POLYGON":
        return polygon("POS", rest)
    raise UsageError(
        f"POS must start with CIRCLE, RANGE or POLYGON, got {keyword[:20]!r} "
        "(e.g. POS=CIRCLE 10.68 41.27 0.05)"
    )


def _collect(items: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Non-empty values by upper-case name, within the size limits."""
    seen: dict[str, list[str]] = {}
    for count, (name, value) in enumerate(items, start=1):
        if count > MAX_PARAMETERS:
            raise UsageError(f"too many parameters: at most {MAX_PARAMETERS} are read")
        if len(value) > MAX_VALUE_CHARS or len(name) > 64:
            raise UsageError(
                f"parameter {name[:64].upper()} is {len(value)} characters long; at most "
                f"{MAX_VALUE_CHARS} are accepted"
            )
        if value.strip():
            seen.setdefault(name.upper(), []).append(value)
    return seen


def _spatial(spatial: list[tuple[str, str]]) -> Shape | None:
    if not spatial:
        return None
    if len(spatial) > 1:
        names = ", ".join(n for n, _ in spatial)
        raise MultiValuedParamNotSupported(
            f"one spatial constraint per request (POS, CIRCLE or POLYGON once), got {names}; "
            "send one request per cutout"
        )
    name, value = spatial[0]
    if name == "POS":
        return _pos(value)
    if name == "CIRCLE":
        return circle(name, value)
    return polygon(name, value)


def parse_request(items: Iterable[tuple[str, str]]) -> SodaRequest:
    """The SODA request the (name, value) pairs make, checked (see the module docstring);
    raises :class:`UsageError` or :class:`MultiValuedParamNotSupported`."""
    seen = _collect(items)
    for name in ("TIME", "POL"):
        if name in seen:
            raise UsageError(f"{name} is not supported by this service: no product is cut by it")
    for name in ("ID", "BAND", "RESPONSEFORMAT"):
        if len(seen.get(name, ())) > 1:
            raise MultiValuedParamNotSupported(
                f"{name} was given {len(seen[name])} times; a synchronous cutout takes one"
            )
    response_format = seen.get("RESPONSEFORMAT", [""])[0].strip()
    if response_format and response_format.lower() not in FITS_FORMATS:
        raise UsageError(
            f"RESPONSEFORMAT {response_format[:60]!r} is not offered: cutouts are FITS "
            "(application/fits)"
        )
    shape = _spatial([(n, v) for n in SPATIAL for v in seen.get(n, ())])
    wavelengths = band("BAND", seen["BAND"][0]) if "BAND" in seen else None
    ids = seen.get("ID")
    return SodaRequest(id=ids[0].strip() if ids else None, shape=shape, band=wavelengths)
