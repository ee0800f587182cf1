"""Drawing images and cubes: the largest image of the file (a cube collapsed along its
spectral axis with a NaN-aware median), read with a stride so no more than about twice the
output's pixels are ever loaded, stretched with astropy's zscale interval and an asinh
stretch, written by Pillow as an 8-bit grey PNG (north up when the file's WCS is the usual
one: FITS rows run bottom to top).

The longest side of the picture is ``size`` exactly: a large image is reduced (Lanczos), a
small one enlarged with nearest-neighbour pixels so each of its pixels stays a sharp square.
"""

from __future__ import annotations

import io
import math
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
from astropy.visualization import AsinhStretch, ZScaleInterval
from PIL import Image

from catalog.delivery.previews import columns
from catalog.delivery.previews.errors import PreviewError

if TYPE_CHECKING:
    from astropy.io.fits import HDUList
    from numpy.typing import NDArray

MOST_PLANES = 64  # planes of a cube read for its median: evenly spaced beyond that
_SPECTRAL = ("WAVE", "AWAV", "FREQ", "ENER", "WAVN", "VRAD", "VOPT", "ZOPT", "BETA", "VELO")


class NothingToDraw(PreviewError):
    """The file has no data of the kind asked for (another kind may still be drawable)."""


def draw_image(hdus: HDUList, size: int, *, cube: bool) -> bytes:
    """The PNG of the file's largest image (``cube``: prefer one with three axes or more)."""
    hdu = columns.largest_image(hdus, least_axes=3) if cube else None
    if hdu is None:
        hdu = columns.largest_image(hdus)
    if hdu is None:
        raise NothingToDraw("it holds no image with at least 2 x 2 pixels")
    shape = columns.image_shape(hdu)
    plane = _read_plane(hdu, shape, size)
    return _png(_stretch(plane), size)


def _spectral_axis(header: Any, naxis: int) -> int:
    """The FITS axis number (1-based) of a cube's spectral axis: the one whose CTYPE names a
    spectral coordinate, else the third."""
    for i in range(1, naxis + 1):
        ctype = str(header.get(f"CTYPE{i}", "")).strip().upper()
        if ctype[:4] in _SPECTRAL:
            return i
    return 3


def _read_plane(hdu: Any, shape: tuple[int, ...], size: int) -> NDArray[np.float64]:
    """A 2-D float array of at most about ``2 size`` pixels a side: every ``step``-th pixel of
    the image (of the median over the spectral axis for a cube; the first plane of any further
    axis), scaled by BSCALE/BZERO with BLANK pixels as NaN."""
    data = hdu.data  # opened with do_not_scale_image_data: the raw (memory-mapped) array
    if data is None:
        raise NothingToDraw("its image has no data")
    long_axes = [i + 1 for i, n in enumerate(shape) if n > 1]  # FITS axis numbers
    spectral = _spectral_axis(hdu.header, len(shape)) if len(long_axes) >= 3 else None
    spatial = [a for a in long_axes if a != spectral][:2]
    if len(spatial) < 2:
        raise NothingToDraw("its image has fewer than two axes longer than one pixel")
    step = max(1, math.ceil(max(shape[a - 1] for a in spatial) / (2 * size)))
    index: list[Any] = []
    for axis in range(len(shape), 0, -1):  # numpy order: the last FITS axis first
        if axis in spatial:
            index.append(slice(None, None, step))
        elif axis == spectral:
            planes = shape[axis - 1]
            index.append(slice(None, None, max(1, math.ceil(planes / MOST_PLANES))))
        else:
            index.append(0)
    raw = np.asarray(data[tuple(index)])
    values = _scaled(hdu.header, raw)
    if values.ndim == 3:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN spectra
            values = np.nanmedian(values, axis=0)
    return values


def _scaled(header: Any, raw: NDArray[Any]) -> NDArray[np.float64]:
    values = raw.astype(np.float64)
    blank = header.get("BLANK")
    if raw.dtype.kind in "iu" and isinstance(blank, int):
        values[raw == blank] = np.nan
    bscale, bzero = header.get("BSCALE", 1.0), header.get("BZERO", 0.0)
    if isinstance(bscale, int | float) and bscale != 1:
        values *= float(bscale)
    if isinstance(bzero, int | float) and bzero != 0:
        values += float(bzero)
    return values


def _stretch(values: NDArray[np.float64]) -> NDArray[np.uint8]:
    """8-bit grey levels: zscale limits, an asinh stretch; NaN and infinities black."""
    finite = np.isfinite(values)
    if not finite.any():
        raise PreviewError("every pixel of its image is NaN or infinite: there is nothing to draw")
    low, high = ZScaleInterval().get_limits(values[finite])
    if not high > low:  # a constant image: mid-grey
        levels = np.where(finite, 0.5, 0.0)
    else:
        scaled = np.clip((np.where(finite, values, low) - low) / (high - low), 0.0, 1.0)
        levels = np.where(finite, AsinhStretch(a=0.1)(scaled), 0.0)
    return (np.clip(levels, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


def fit(width: int, height: int, size: int) -> tuple[int, int]:
    """(width, height) scaled so the longest side is ``size``, the other at least 1."""
    scale = size / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _png(levels: NDArray[np.uint8], size: int) -> bytes:
    picture = Image.fromarray(np.ascontiguousarray(levels[::-1]), mode="L")
    target = fit(picture.width, picture.height, size)
    smaller = target[0] < picture.width
    picture = picture.resize(
        target, Image.Resampling.LANCZOS if smaller else Image.Resampling.NEAREST
    )
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()
