"""Drawing tables with matplotlib (a :class:`~matplotlib.figure.Figure` on its own Agg canvas:
no pyplot, no global state, safe in any thread or process): a spectrum as flux against
wavelength (every row of an echelle or multi-segment table), a light curve as flux against
time, a catalog as its sources' positions on the sky (RA growing to the left, as on the sky).

A preview is ``size`` x ``3/4 size`` pixels with labelled axes (the column names and the
units of TUNITn, :func:`~catalog.delivery.previews.columns.label`); a thumbnail (``size``
below :data:`LABELLED`) is the bare curve, which stays legible at that scale. At most
:data:`MOST_POINTS` points are drawn (every n-th beyond that).
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from catalog.delivery.previews import columns
from catalog.delivery.previews.errors import PreviewError
from catalog.delivery.previews.images import NothingToDraw

if TYPE_CHECKING:
    from astropy.io.fits import HDUList
    from matplotlib.axes import Axes
    from numpy.typing import NDArray

LABELLED = 400  # sizes from this one up get axes, ticks and labels
MOST_POINTS = 50_000
_DPI = 100
_LINE = "#1f4e8c"


def _figure(size: int) -> tuple[Figure, Axes, bool]:
    height = max(1, round(size * 3 / 4))
    figure = Figure(figsize=(size / _DPI, height / _DPI), dpi=_DPI)
    FigureCanvasAgg(figure)
    labelled = size >= LABELLED
    if labelled:
        axes = figure.add_axes((0.1, 0.1, 0.86, 0.84))
    else:
        axes = figure.add_axes((0.02, 0.02, 0.96, 0.96))
        axes.set_axis_off()
    return figure, axes, labelled


def _png(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=_DPI)
    return out.getvalue()


def _column(hdu: Any, column: columns.Column) -> NDArray[Any]:
    data = hdu.data
    if data is None or len(data) == 0:
        raise PreviewError(f"its table {_name(hdu)} has no rows: there is nothing to draw")
    values = data.field(column.number - 1)
    if values.dtype == object:  # variable-length arrays (TFORMn = 'PE(...)')
        return np.asarray(values, dtype=object)
    return np.asarray(values, dtype=np.float64)


def _name(hdu: Any) -> str:
    return str(hdu.header.get("EXTNAME") or "of the file").strip()


def _robust_limits(axes: Axes, values: list[NDArray[np.float64]]) -> None:
    """The y-axis over the 0.5 to 99.5 percentiles of the values drawn (a cosmic ray or the
    ragged end of an echelle order does not flatten the rest), with a margin."""
    joined = np.concatenate([v[np.isfinite(v)] for v in values])
    if joined.size < 2:
        return
    low, high = np.percentile(joined, [0.5, 99.5])
    if high > low:
        margin = 0.05 * (high - low)
        axes.set_ylim(float(low - margin), float(high + margin))


def _every(count: int) -> int:
    return max(1, math.ceil(count / MOST_POINTS))


def _finite(*arrays: NDArray[Any]) -> NDArray[np.bool_]:
    mask = np.ones(arrays[0].shape, dtype=bool)
    for array in arrays:
        mask &= np.isfinite(array)
    return mask


def _pairs(x: NDArray[Any], y: NDArray[Any]) -> list[tuple[NDArray[Any], NDArray[Any]]]:
    """The (x, y) segments of two columns: one per row for array columns, else one."""
    if "O" in {x.dtype.kind, y.dtype.kind}:
        rows = [
            (np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel())
            for a, b in zip(x, y, strict=True)
        ]
    elif x.ndim >= 2 and y.ndim >= 2:
        rows = list(zip(x.reshape(len(x), -1), y.reshape(len(y), -1), strict=True))
    else:
        rows = [(x.ravel(), y.ravel())]
    return [(a[: min(a.size, b.size)], b[: min(a.size, b.size)]) for a, b in rows]


def draw_spectrum(hdus: HDUList, size: int) -> bytes:
    """Flux against wavelength, every segment (row) of the first table that has both."""
    for hdu in hdus:
        found = columns.spectrum_columns(hdu) if columns.is_table(hdu) else None
        if found is None:
            continue
        wave, flux = found
        segments = _pairs(_column(hdu, wave), _column(hdu, flux))
        step = _every(sum(a.size for a, _ in segments))
        figure, axes, labelled = _figure(size)
        drawn = []
        for x, y in segments:
            keep = _finite(x, y)
            if keep.sum() >= 2:
                axes.plot(x[keep][::step], y[keep][::step], color=_LINE, linewidth=0.8)
                drawn.append(y[keep])
        if not drawn:
            raise PreviewError(
                f"its spectrum ({wave.name}, {flux.name}) has no finite values to draw"
            )
        _robust_limits(axes, drawn)
        if labelled:
            axes.set_xlabel(columns.label(wave.name, wave.unit))
            axes.set_ylabel(columns.label(flux.name, flux.unit))
        return _png(figure)
    raise NothingToDraw("it holds no table with wavelength and flux columns")


def draw_lightcurve(hdus: HDUList, size: int) -> bytes:
    """Flux against time: the first flux column (in order of preference) of the first table
    with a time column that has finite values."""
    for hdu in hdus:
        found = columns.lightcurve_columns(hdu) if columns.is_table(hdu) else None
        if found is None:
            continue
        time, fluxes = found
        t = _column(hdu, time).ravel()
        chosen = flux_to_draw(hdu, t, fluxes)
        if chosen is not None:
            flux, f, keep = chosen
            step = _every(int(keep.sum()))
            figure, axes, labelled = _figure(size)
            axes.plot(
                t[keep][::step],
                f[keep][::step],
                linestyle="none",
                marker=".",
                markersize=2 if labelled else 1,
                color=_LINE,
            )
            _robust_limits(axes, [f[keep]])
            if labelled:
                axes.set_xlabel(columns.label(time.name, time.unit or _time_unit(hdu)))
                axes.set_ylabel(columns.label(flux.name, flux.unit))
            return _png(figure)
        names = ", ".join(f.name for f in fluxes)
        raise PreviewError(f"its light curve has no finite values of {time.name} and {names}")
    raise NothingToDraw("it holds no table with time and flux columns")


def flux_to_draw(
    hdu: Any, t: NDArray[Any], fluxes: list[columns.Column]
) -> tuple[columns.Column, NDArray[Any], NDArray[np.bool_]] | None:
    """The first flux column with at least two finite points that vary (a constant column
    is a placeholder when another has data), else the first with two finite points."""
    usable = []
    for flux in fluxes:
        f = _column(hdu, flux)
        if f.dtype == object or f.ndim != 1 or f.size != t.size:
            continue
        keep = _finite(t, f)
        if keep.sum() < 2:
            continue
        if np.ptp(f[keep]) > 0:
            return flux, f, keep
        usable.append((flux, f, keep))
    return usable[0] if usable else None


def _time_unit(hdu: Any) -> str | None:
    unit = hdu.header.get("TIMEUNIT")
    return unit if isinstance(unit, str) else None


def sky_coordinates(
    ra: NDArray[np.float64], dec: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Finite positions with RA in [0, 360), turned to [-180, 180) when the sources straddle
    RA 0 (so a field at RA 359.9 to 0.1 is drawn as one field, not two)."""
    keep = _finite(ra, dec) & (np.abs(dec) <= 90)
    ra, dec = np.mod(ra[keep], 360.0), dec[keep]
    if ra.size and ra.max() - ra.min() > 180:
        turned = np.where(ra >= 180, ra - 360, ra)
        if turned.max() - turned.min() < ra.max() - ra.min():
            ra = turned
    return ra, dec


def draw_catalog(hdus: HDUList, size: int) -> bytes:
    """The sources' positions on the sky, from the first table with RA and Dec columns."""
    for hdu in hdus:
        found = columns.sky_columns(hdu) if columns.is_table(hdu) else None
        if found is None:
            continue
        ra_column, dec_column = found
        ra_values, dec_values = _column(hdu, ra_column), _column(hdu, dec_column)
        if ra_values.dtype == object or ra_values.ndim != 1 or dec_values.shape != ra_values.shape:
            continue
        ra, dec = sky_coordinates(ra_values, dec_values)
        if not ra.size:
            raise PreviewError(
                f"its catalog has no source with a finite position ({ra_column.name}, "
                f"{dec_column.name} in degrees)"
            )
        step = _every(ra.size)
        figure, axes, labelled = _figure(size)
        axes.scatter(ra[::step], dec[::step], s=12 if labelled else 2, color=_LINE, linewidths=0)
        axes.invert_xaxis()
        axes.set_aspect(1 / max(math.cos(math.radians(float(np.median(dec)))), 0.05), "datalim")
        if labelled:
            axes.set_xlabel(columns.label(ra_column.name, ra_column.unit or "deg"))
            axes.set_ylabel(columns.label(dec_column.name, dec_column.unit or "deg"))
        return _png(figure)
    raise NothingToDraw("it holds no table with RA and Dec columns")
