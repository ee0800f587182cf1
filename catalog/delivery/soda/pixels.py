"""From a SODA region or band to the pixels of an image HDU, with astropy's WCS.

:func:`sky_box` gives the pixel bounding box of the part of a region that lies on an image
(SODA allows a bounding cutout: a circle or polygon is cut as its bounding box in pixel
space). It is the box around the region's outline points that fall on the image and the
image's edge points that fall in the region, so that a region larger than the image gives
the whole image and a region beside it gives nothing. Positions are ICRS; an image in
another celestial frame (FK5, Galactic…) has the points transformed first.

:func:`band_planes` gives the planes of a spectral axis whose extent meets a band in metres
(astropy converts the axis' unit and type, WAVE, FREQ, ENER, WAVN…, to wavelengths).

:func:`shift_header` moves the reference pixel of every WCS of a header (CRPIXja, and IRAF's
LTVi) by the cut's offset: the world coordinates of each kept pixel stay what they were.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.wcs import WCS, FITSFixedWarning
from astropy.wcs.utils import wcs_to_celestial_frame

from catalog.delivery.soda.errors import UsageError
from catalog.delivery.soda.shapes import Array, Band, Shape

EDGE_SAMPLES = 512  # points along each edge of an image
Box = tuple[int, int]  # first and last pixel (0-based, inclusive) along one FITS axis
_CRPIX = re.compile(r"^CRPIX(\d+)([A-Z]?)$")
_LTV = re.compile(r"^LTV(\d+)$")


def header_wcs(header: Any) -> WCS | None:
    """The header's primary WCS, or None when it has none astropy can read."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            wcs = WCS(header)
    except Exception:  # astropy raises many kinds for a malformed WCS
        return None
    return wcs


def has_celestial(wcs: WCS | None) -> bool:
    return wcs is not None and wcs.has_celestial and wcs.wcs.lng >= 0 and wcs.wcs.lat >= 0


def has_spectral(wcs: WCS | None) -> bool:
    return wcs is not None and wcs.wcs.spec >= 0


def _to_icrs(wcs: WCS, lon: Array, lat: Array) -> tuple[Array, Array]:
    frame = wcs_to_celestial_frame(wcs)
    if frame.name == "icrs":
        return lon, lat
    icrs = SkyCoord(lon * u.deg, lat * u.deg, frame=frame).icrs
    return np.asarray(icrs.ra.deg), np.asarray(icrs.dec.deg)


def _from_icrs(wcs: WCS, ra: Array, dec: Array) -> tuple[Array, Array]:
    frame = wcs_to_celestial_frame(wcs)
    if frame.name == "icrs":
        return ra, dec
    moved = SkyCoord(ra * u.deg, dec * u.deg, frame="icrs").transform_to(frame)
    spherical = moved.spherical
    return np.asarray(spherical.lon.deg), np.asarray(spherical.lat.deg)


def _celestial(wcs: WCS) -> tuple[WCS, tuple[int, int]]:
    """The celestial part of ``wcs`` and the FITS axes (0-based) of its two pixel axes."""
    axes = tuple(sorted((wcs.wcs.lng, wcs.wcs.lat)))
    return wcs.celestial, (axes[0], axes[1])


def _pixels(celestial: WCS, lon: Array, lat: Array) -> tuple[Array, Array]:
    world = np.empty((len(lon), 2))
    world[:, celestial.wcs.lng] = lon
    world[:, celestial.wcs.lat] = lat
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pixels = celestial.all_world2pix(world, 0, quiet=True)
    return pixels[:, 0], pixels[:, 1]


def _world(celestial: WCS, x: Array, y: Array) -> tuple[Array, Array]:
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        world = celestial.all_pix2world(np.column_stack([x, y]), 0)
    return world[:, celestial.wcs.lng], world[:, celestial.wcs.lat]


def _edges(nx: int, ny: int) -> tuple[Array, Array]:
    """Points along the outer edges of an nx x ny image, in 0-based pixel coordinates."""
    xs = np.linspace(-0.5, nx - 0.5, min(nx + 1, EDGE_SAMPLES))
    ys = np.linspace(-0.5, ny - 0.5, min(ny + 1, EDGE_SAMPLES))
    x = np.concatenate([xs, xs, np.full(len(ys), -0.5), np.full(len(ys), nx - 0.5)])
    y = np.concatenate([np.full(len(xs), -0.5), np.full(len(xs), ny - 0.5), ys, ys])
    return x, y


def sky_box(wcs: WCS, shape: Shape, data_shape: tuple[int, ...]) -> dict[int, Box] | None:
    """The pixel ranges (by 0-based FITS axis) of the bounding box of ``shape`` on an image
    whose ``data_shape`` is in numpy order; None when the region misses the image."""
    celestial, (axis_x, axis_y) = _celestial(wcs)
    fits_shape = data_shape[::-1]
    nx, ny = fits_shape[axis_x], fits_shape[axis_y]
    lon, lat = _from_icrs(celestial, *shape.outline())
    x, y = _pixels(celestial, lon, lat)
    on_image = np.isfinite(x) & np.isfinite(y)
    on_image &= (x >= -0.5) & (x <= nx - 0.5) & (y >= -0.5) & (y <= ny - 0.5)
    ex, ey = _edges(nx, ny)
    elon, elat = _world(celestial, ex, ey)
    valid = np.isfinite(elon) & np.isfinite(elat)
    inside = np.zeros(len(ex), dtype=bool)
    if valid.any():
        ra, dec = _to_icrs(celestial, elon[valid], elat[valid])
        inside[valid] = shape.contains(ra, dec)
    xs = np.concatenate([x[on_image], ex[inside]])
    ys = np.concatenate([y[on_image], ey[inside]])
    if not len(xs):
        return None
    first_x = int(np.clip(np.floor(xs.min() + 0.5), 0, nx - 1))
    last_x = int(np.clip(np.floor(xs.max() + 0.5), 0, nx - 1))
    first_y = int(np.clip(np.floor(ys.min() + 0.5), 0, ny - 1))
    last_y = int(np.clip(np.floor(ys.max() + 0.5), 0, ny - 1))
    return {axis_x: (first_x, last_x), axis_y: (first_y, last_y)}


def sky_coverage(wcs: WCS, data_shape: tuple[int, ...]) -> str:
    """Where an image lies, for a message: its centre and corners' extent in ICRS."""
    celestial, (axis_x, axis_y) = _celestial(wcs)
    fits_shape = data_shape[::-1]
    nx, ny = fits_shape[axis_x], fits_shape[axis_y]
    x = np.array([-0.5, nx - 0.5, nx - 0.5, -0.5, (nx - 1) / 2])
    y = np.array([-0.5, -0.5, ny - 0.5, ny - 0.5, (ny - 1) / 2])
    lon, lat = _world(celestial, x, y)
    if not np.isfinite(lon).all():
        return "an area its WCS cannot place"
    ra, dec = _to_icrs(celestial, lon, lat)
    centre = SkyCoord(ra[4] * u.deg, dec[4] * u.deg)
    radius = max(
        centre.separation(SkyCoord(r * u.deg, d * u.deg)).deg
        for r, d in zip(ra[:4], dec[:4], strict=True)
    )
    return f"a field of radius {radius:.4g} deg about RA {ra[4]:.6f}, Dec {dec[4]:.6f} (ICRS)"


def spectral_edges(wcs: WCS, planes: int) -> Array:
    """Wavelengths in metres of the edges of the ``planes`` pixels of the spectral axis
    (``planes + 1`` values, in pixel order)."""
    spectral = wcs.sub(["spectral"])
    edges = np.arange(planes + 1, dtype=np.float64) - 0.5
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            world = spectral.pixel_to_world(edges)
            metres = np.asarray(world.to_value(u.m, equivalencies=u.spectral()))
    except Exception as e:  # a velocity axis without a rest frequency, an odd unit
        ctype = spectral.wcs.ctype[0]
        raise UsageError(
            f"BAND cannot be applied: the spectral axis ({ctype}) does not convert to "
            f"wavelengths ({e})"
        ) from None
    return metres


def band_planes(wcs: WCS, band: Band, planes: int) -> tuple[int, Box | None, str]:
    """The spectral axis (0-based FITS axis), the planes whose extent meets ``band`` (None:
    none), and the axis' coverage in words."""
    edges = spectral_edges(wcs, planes)
    low = np.minimum(edges[:-1], edges[1:])
    high = np.maximum(edges[:-1], edges[1:])
    coverage = f"wavelengths {np.nanmin(low):.6g} to {np.nanmax(high):.6g} m"
    meets = np.flatnonzero((high >= band.low) & (low <= band.high))
    box = (int(meets[0]), int(meets[-1])) if len(meets) else None
    return int(wcs.wcs.spec), box, coverage


def shift_header(header: Any, starts: dict[int, int]) -> None:
    """Move the reference pixel of every WCS in ``header`` for a cut that starts at pixel
    ``starts[axis]`` (0-based) along each 0-based FITS axis."""
    for card in list(header.cards):
        key = card.keyword
        match = _CRPIX.match(key) or _LTV.match(key)
        if not match or not isinstance(card.value, int | float) or isinstance(card.value, bool):
            continue
        offset = starts.get(int(match.group(1)) - 1, 0)
        if offset:
            header[key] = card.value - offset  # IRAF: logical = LTM * physical + LTV
