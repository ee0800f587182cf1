"""Celestial and spectral WCS from header values: image corners on the sky, spectral ranges.

Only what a catalog needs: the four corners of an image (for the footprint polygon and
the field of view) and the extent of a linear spectral axis. Zenithal projections (TAN,
SIN, ARC, ZEA, STG) are computed exactly (FITS WCS Paper II, §5.1); other projections are
treated as TAN, which is exact at the reference point and good to a fraction of a pixel
over the small fields HLSP images cover. Distortion (SIP, TPV) is ignored: it moves
corners by a few pixels at most, well inside what a footprint search needs.
"""

from __future__ import annotations

import math
from typing import Protocol

from catalog.harvest.fits.reader import Value


class Keywords(Protocol):
    """Anything with header-style ``get`` (a reader.Header, or a dict in tests)."""

    def get(self, keyword: str, default: Value = None, /) -> Value: ...


_CELESTIAL_LON = ("RA--", "GLON", "ELON")
_CELESTIAL_LAT = ("DEC-", "GLAT", "ELAT")
_LENGTH_UNITS = {
    "m": 1.0, "cm": 1e-2, "mm": 1e-3, "um": 1e-6, "micron": 1e-6, "nm": 1e-9,
    "angstrom": 1e-10, "a": 1e-10, "aa": 1e-10, "angstroms": 1e-10, "0.1nm": 1e-10,
}  # fmt: skip


def number(value: Value) -> float | None:
    """A finite float from a card value (numbers or numeric strings), else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return result if math.isfinite(result) else None


def length_unit(unit: Value, default: float = 1.0) -> float | None:
    """Metres per unit for a wavelength unit string; None for units that are not lengths."""
    if unit is None or (isinstance(unit, str) and not unit.strip()):
        return default
    key = str(unit).strip().lower().replace("µ", "u").replace("ångström", "angstrom")
    return _LENGTH_UNITS.get(key)


ZENITHAL = frozenset({"TAN", "SIN", "ARC", "ZEA", "STG"})
"""Projections computed exactly; footprints are only derived for these."""

# ICRS -> Galactic rotation (Hipparcos, ESA SP-1200 Vol. 1 §1.5.3); its transpose goes back.
_GALACTIC = (
    (-0.0548755604162154, -0.8734370902348850, -0.4838350155487132),
    (+0.4941094278755837, -0.4448296299600112, +0.7469822444972189),
    (-0.8676661490190047, -0.1980763734312015, +0.4559837761750669),
)
_OBLIQUITY = math.radians(23.4392911)  # J2000 mean obliquity (IAU 1980), for ELON/ELAT


def to_icrs(lon: float, lat: float, frame: str) -> tuple[float, float]:
    """(RA, Dec) in degrees from Galactic ('GLON') or ecliptic ('ELON') coordinates."""
    if frame not in {"GLON", "ELON"}:
        return lon, lat
    lo, la = math.radians(lon), math.radians(lat)
    v = (math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la))
    if frame == "GLON":
        x, y, z = (sum(_GALACTIC[r][c] * v[r] for r in range(3)) for c in range(3))
    else:
        ce, se = math.cos(_OBLIQUITY), math.sin(_OBLIQUITY)
        x, y, z = v[0], ce * v[1] - se * v[2], se * v[1] + ce * v[2]
    ra = math.degrees(math.atan2(y, x)) % 360.0
    return (0.0 if ra >= 360.0 else ra), math.degrees(math.asin(max(-1.0, min(1.0, z))))


def celestial_axes(header: Keywords) -> tuple[int, int] | None:
    """1-based (lon, lat) axis numbers of a celestial WCS, or None."""
    naxis = int(number(header.get("WCSAXES")) or number(header.get("NAXIS")) or 2)
    lon = lat = 0
    for i in range(1, max(naxis, 2) + 1):
        ctype = str(header.get(f"CTYPE{i}") or "").upper()
        if ctype.startswith(_CELESTIAL_LON):
            lon = i
        elif ctype.startswith(_CELESTIAL_LAT):
            lat = i
    return (lon, lat) if lon and lat else None


def _matrix(header: Keywords, i: int, j: int) -> tuple[float, float, float, float]:
    """The 2x2 linear transform (degrees per pixel) for axes i, j: CD, else PC x CDELT."""
    cd = [number(header.get(f"CD{a}_{b}")) for a in (i, j) for b in (i, j)]
    if any(v is not None for v in cd):
        m = [v or 0.0 for v in cd]
        return m[0], m[1], m[2], m[3]
    cdelt_i = number(header.get(f"CDELT{i}")) or 1.0
    cdelt_j = number(header.get(f"CDELT{j}")) or 1.0
    pc = [number(header.get(f"PC{a}_{b}")) for a in (i, j) for b in (i, j)]
    if all(v is None for v in pc):  # old-style CROTA2
        rot = math.radians(number(header.get(f"CROTA{j}")) or 0.0)
        pc = [math.cos(rot), -math.sin(rot), math.sin(rot), math.cos(rot)]
    defaults = (1.0, 0.0, 0.0, 1.0)
    p = [defaults[k] if v is None else v for k, v in enumerate(pc)]
    return p[0] * cdelt_i, p[1] * cdelt_i, p[2] * cdelt_j, p[3] * cdelt_j


def _deproject(x: float, y: float, code: str) -> tuple[float, float]:
    """Intermediate world coordinates (deg) -> native (phi, theta) in degrees."""
    r = math.hypot(x, y)
    phi = math.degrees(math.atan2(x, -y))
    if r == 0:
        return phi, 90.0
    r_rad = math.radians(r)
    if code == "SIN":
        theta = math.degrees(math.acos(min(1.0, r_rad)))
    elif code == "ARC":
        theta = 90.0 - r
    elif code == "ZEA":
        theta = 90.0 - 2 * math.degrees(math.asin(min(1.0, r_rad / 2)))
    elif code == "STG":
        theta = 90.0 - 2 * math.degrees(math.atan(r_rad / 2))
    else:  # TAN and anything treated like it
        theta = math.degrees(math.atan(1.0 / r_rad))
    return phi, theta


def _celestial(phi: float, theta: float, ra0: float, dec0: float) -> tuple[float, float]:
    """Native spherical (phi, theta) -> celestial (ra, dec), zenithal with LONPOLE=180."""
    p, t, d0 = math.radians(phi), math.radians(theta), math.radians(dec0)
    phi_p = math.pi  # LONPOLE default for zenithal projections with dec0 < 90
    sin_dec = math.sin(t) * math.sin(d0) + math.cos(t) * math.cos(d0) * math.cos(p - phi_p)
    dec = math.asin(max(-1.0, min(1.0, sin_dec)))
    y = -math.cos(t) * math.sin(p - phi_p)
    x = math.sin(t) * math.cos(d0) - math.cos(t) * math.sin(d0) * math.cos(p - phi_p)
    ra = ra0 + math.degrees(math.atan2(y, x))
    return ra % 360.0, math.degrees(dec)


class Celestial:
    """What mapping pixels to the sky needs from a header, read once: reference pixel and
    value, the 2x2 matrix, the projection code and the frame (RA--, GLON, ELON)."""

    def __init__(
        self,
        axes: tuple[int, int],
        crval: tuple[float, float],
        crpix: tuple[float, float],
        matrix: tuple[float, float, float, float],
        projection: tuple[str, str],
    ) -> None:
        self.lon_axis, self.lat_axis = axes
        self.crval = crval
        self.crpix = crpix
        self.matrix = matrix
        self.code, self.frame = projection  # ('TAN', 'RA--'), ...

    def to_sky(self, px: float, py: float) -> tuple[float, float]:
        """Sky position (deg, ICRS) of 1-based pixel (px, py) on the celestial axes."""
        m = self.matrix
        dx, dy = px - self.crpix[0], py - self.crpix[1]
        x, y = m[0] * dx + m[1] * dy, m[2] * dx + m[3] * dy
        phi, theta = _deproject(x, y, self.code)
        lon, lat = _celestial(phi, theta, self.crval[0], self.crval[1])
        return to_icrs(lon, lat, self.frame)


def celestial(header: Keywords) -> Celestial | None:
    """The header's celestial WCS, or None when it has none (or no usable reference)."""
    axes = celestial_axes(header)
    if axes is None:
        return None
    i, j = axes
    ra0, dec0 = number(header.get(f"CRVAL{i}")), number(header.get(f"CRVAL{j}"))
    crpix_i, crpix_j = number(header.get(f"CRPIX{i}")), number(header.get(f"CRPIX{j}"))
    if ra0 is None or dec0 is None or crpix_i is None or crpix_j is None:
        return None
    if not -90 <= dec0 <= 90:
        return None
    ctype = str(header.get(f"CTYPE{i}")).upper()
    return Celestial(
        (i, j), (ra0, dec0), (crpix_i, crpix_j), _matrix(header, i, j), (ctype[5:8], ctype[:4])
    )


def pixel_to_sky(header: Keywords, px: float, py: float) -> tuple[float, float] | None:
    """Sky position (deg) of 1-based pixel (px, py) on the celestial axes, or None."""
    wcs = celestial(header)
    return None if wcs is None else wcs.to_sky(px, py)


def image_corners(header: Keywords) -> list[tuple[float, float]] | None:
    """The four sky corners (deg) of a 2-D celestial image, counter-clockwise on the sky."""
    wcs = celestial(header)
    if wcs is None or wcs.code not in ZENITHAL:
        return None  # all-sky projections (CAR, AIT, MOL, ...) have no 4-corner footprint
    lon, lat = wcs.lon_axis, wcs.lat_axis
    n1 = number(header.get(f"NAXIS{lon}")) or number(header.get(f"ZNAXIS{lon}"))
    n2 = number(header.get(f"NAXIS{lat}")) or number(header.get(f"ZNAXIS{lat}"))
    if not n1 or not n2 or n1 < 1 or n2 < 1:
        return None
    pixels = [(0.5, 0.5), (n1 + 0.5, 0.5), (n1 + 0.5, n2 + 0.5), (0.5, n2 + 0.5)]
    points = [wcs.to_sky(x, y) for x, y in pixels]
    if _signed_area(points) < 0:  # east-left images run clockwise in (ra, dec) plane
        points.reverse()
    return points


def _signed_area(points: list[tuple[float, float]]) -> float:
    ra_ref = points[0][0]
    xy = [
        (((ra - ra_ref + 180) % 360 - 180) * math.cos(math.radians(dec)), dec) for ra, dec in points
    ]
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(xy, xy[1:] + xy[:1], strict=True))


def angular_distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in degrees (haversine, stable at small separations)."""
    ra1, dec1, ra2, dec2 = map(math.radians, (*a, *b))
    h = (
        math.sin((dec2 - dec1) / 2) ** 2
        + math.cos(dec1) * math.cos(dec2) * math.sin((ra2 - ra1) / 2) ** 2
    )
    return math.degrees(2 * math.asin(min(1.0, math.sqrt(h))))


class PositionGrid:
    """Positions bucketed on the unit sphere (3-D cells of the radius' size): finds one
    within the radius with no trouble at RA 0/360 or at the poles. A cell is one integer
    (its three indices packed), its 27 neighbours fixed offsets from it.

    Here, compiled, for target resolution: a batch looks up most of its new targets'
    positions (27 cells each), ~a tenth of the loader's Python time when interpreted."""

    def __init__(self, radius_deg: float) -> None:
        self.radius = radius_deg
        self.size = math.radians(radius_deg)
        self.cells: dict[int, list[tuple[float, float, int]]] = {}
        self.half: int = math.ceil(1 / self.size) + 2  # indices lie within ±(1/size + 1)
        self.base: int = 2 * self.half + 1
        self.around: list[int] = [
            (dx * self.base + dy) * self.base + dz
            for dx in (-1, 0, 1)
            for dy in (-1, 0, 1)
            for dz in (-1, 0, 1)
        ]

    def _cell(self, ra: float, dec: float) -> int:
        r, d = math.radians(ra), math.radians(dec)
        cos_d, size, half = math.cos(d), self.size, self.half
        x = int(cos_d * math.cos(r) // size) + half
        y = int(cos_d * math.sin(r) // size) + half
        return (x * self.base + y) * self.base + int(math.sin(d) // size) + half

    def add(self, ra: float | None, dec: float | None, target_id: int) -> None:
        if ra is not None and dec is not None:
            self.cells.setdefault(self._cell(ra, dec), []).append((ra, dec, target_id))

    def near(self, ra: float | None, dec: float | None) -> int | None:
        """A position within the radius (the first found, in a fixed order of cells), or
        None."""
        if ra is None or dec is None or not self.cells:
            return None
        cell, cells = self._cell(ra, dec), self.cells
        for offset in self.around:
            bucket = cells.get(cell + offset)
            if bucket is not None:
                for ra2, dec2, target_id in bucket:
                    if angular_distance((ra, dec), (ra2, dec2)) <= self.radius:
                        return target_id
        return None


def spectral_range(header: Keywords) -> tuple[float, float, int] | None:
    """(min, max) wavelength in metres and the pixel count of a linear spectral axis."""
    naxis = int(number(header.get("NAXIS")) or 0)
    for i in range(1, naxis + 1):
        ctype = str(header.get(f"CTYPE{i}") or "").upper()
        if ctype[:4] not in {"WAVE", "AWAV"} or ctype[4:5] not in {"", "-"}:
            continue
        algorithm = ctype[5:8].strip("-")
        if algorithm not in {"", "LOG"}:  # TAB, F2W, ...: not a linear axis
            return None
        n = number(header.get(f"NAXIS{i}"))
        crval, crpix = number(header.get(f"CRVAL{i}")), number(header.get(f"CRPIX{i}")) or 1.0
        step = number(header.get(f"CDELT{i}")) or number(header.get(f"CD{i}_{i}"))
        scale = length_unit(header.get(f"CUNIT{i}"))
        if not n or crval is None or step is None or scale is None:
            return None
        offsets = ((1 - crpix) * step, (n - crpix) * step)
        if algorithm == "LOG":  # Paper III, eq. 5: w = crval * exp(x / crval)
            ends = tuple(crval * math.exp(x / crval) for x in offsets)
        else:
            ends = tuple(crval + x for x in offsets)
        lo, hi = sorted(e * scale for e in ends)
        if lo <= 0:
            return None
        return lo, hi, int(n)
    return None
