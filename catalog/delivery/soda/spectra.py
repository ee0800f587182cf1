"""BAND cutouts of spectra stored as FITS tables.

Two layouts are read: one row per sample (a scalar ``WAVELENGTH``/``WAVE``/``LAMBDA`` column:
the rows in the band are kept), and one row per spectrum or order with array columns (HST
COS/STIS ``x1d``: each row's elements in the band are kept, in every array column of the
wavelength array's length; rows with none are left out; ``NELEM`` says each row's new
length). When the rows keep different numbers of elements the arrays become variable-length
(``P`` format), as FITS tables allow. A band narrower than the sampling keeps the sample
nearest to it. The column's unit (``TUNITn``) says how the band's metres convert: lengths,
frequencies, energies and wave numbers all do (astropy's spectral equivalencies).
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import numpy.typing as npt
from astropy import units as u
from astropy.io import fits

from catalog.delivery.soda.errors import NoOverlap, UsageError
from catalog.delivery.soda.shapes import Array, Band

WAVELENGTH_NAMES = ("WAVELENGTH", "WAVE", "LAMBDA")
_STRUCTURE = re.compile(r"^(XTENSION|BITPIX|NAXIS\d*|PCOUNT|GCOUNT|TFIELDS|THEAP)$")
_COLUMN_KEYWORD = re.compile(r"^T[A-Z]{3,5}\d{1,3}$")
_FORMAT = re.compile(r"^(\d*)([A-Z])")


def wavelength_column(hdu: Any) -> str | None:
    """The name of ``hdu``'s wavelength column, if it is a binary table that has one."""
    if not isinstance(hdu, fits.BinTableHDU):
        return None
    names = {n.upper(): n for n in hdu.columns.names}
    return next((names[n] for n in WAVELENGTH_NAMES if n in names), None)


def _unit(hdu: Any, column: str) -> u.UnitBase:
    text = (hdu.columns[column].unit or "").strip()
    for candidate in (text, text.rstrip("s"), text.lower().rstrip("s")):
        if not candidate:
            continue
        try:
            unit = u.Unit(candidate)
            (1 * unit).to(u.m, equivalencies=u.spectral())
        except (ValueError, TypeError, u.UnitsError):
            continue
        return unit
    raise UsageError(
        f"BAND cannot be applied: the spectrum's {column} column has no wavelength unit this "
        f"service understands (TUNIT {text!r})"
    )


def _in_column_units(band: Band, unit: u.UnitBase) -> tuple[float, float]:
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ends = (np.array([band.low, band.high]) * u.m).to_value(unit, equivalencies=u.spectral())
    low, high = sorted(float(e) for e in ends)
    slack = 1e-12  # relative: a band ending on a sample keeps it, whatever the unit rounding
    return low - abs(low) * slack, high + abs(high) * slack


def _selected(waves: Array, low: float, high: float) -> npt.NDArray[np.bool_]:
    """The samples in [low, high]; the one nearest the band when it falls between two."""
    finite = np.isfinite(waves)
    mask = finite & (waves >= low) & (waves <= high)
    if not mask.any() and finite.any():
        lowest, highest = np.min(waves[finite]), np.max(waves[finite])
        if low <= highest and high >= lowest:
            distance = np.abs(waves - (low + high) / 2)
            mask[int(np.nanargmin(np.where(finite, distance, np.nan)))] = True
    return mask


def _header(hdu: Any) -> fits.Header:
    header = fits.Header()
    for card in hdu.header.cards:
        if not (_STRUCTURE.match(card.keyword) or _COLUMN_KEYWORD.match(card.keyword)):
            header.append(card)
    return header


def _column(original: Any, fmt: str, array: Any, *, dim: str | None = None) -> fits.Column:
    return fits.Column(
        name=original.name,
        format=fmt,
        unit=original.unit,
        null=original.null,
        disp=original.disp,
        dim=dim,
        array=array,
    )


def _coverage(waves: Array, unit: u.UnitBase) -> str:
    finite = waves[np.isfinite(waves)]
    if not len(finite):
        return "no valid wavelengths"
    low, high = float(finite.min()), float(finite.max())
    metres = sorted((np.array([low, high]) * unit).to_value(u.m, equivalencies=u.spectral()))
    return f"{low:.6g} to {high:.6g} {unit} ({metres[0]:.6g} to {metres[1]:.6g} m)"


def cut_spectrum(hdu: Any, column: str, band: Band) -> tuple[fits.BinTableHDU, str]:
    """The part of the table ``hdu`` in ``band`` (see the module docstring), and what was
    kept in words; :class:`NoOverlap` names the spectrum's coverage when nothing is."""
    unit = _unit(hdu, column)
    low, high = _in_column_units(band, unit)
    data = hdu.data
    waves = np.asarray(data[column], dtype=np.float64)
    if waves.ndim == 1:
        mask = _selected(waves, low, high)
        if not mask.any():
            raise NoOverlap(f"the band misses the spectrum, which covers {_coverage(waves, unit)}")
        kept = fits.BinTableHDU(data=data[mask], header=hdu.header.copy())
        return kept, f"rows of {column} in {low:.6g}..{high:.6g} {unit}: {int(mask.sum())}"
    if waves.ndim != 2:
        raise UsageError(f"BAND cannot be applied: the {column} column is not 1-D per row")
    return _cut_rows(hdu, column, waves, (low, high, unit))


def _cut_rows(
    hdu: Any, column: str, waves: Array, band: tuple[float, float, u.UnitBase]
) -> tuple[fits.BinTableHDU, str]:
    """The elements in the band of each row's arrays (one row per spectrum or order)."""
    low, high, unit = band
    data = hdu.data
    rows, length = waves.shape
    names = {n.upper(): n for n in hdu.columns.names}
    nelem = names.get("NELEM")
    if nelem is not None:
        counts = np.clip(np.asarray(data[nelem], dtype=np.int64), 0, length)
        waves = np.where(np.arange(length)[None, :] < counts[:, None], waves, np.nan)
    spans: list[tuple[int, int, int]] = []  # (row, first, last)
    for row in range(rows):
        chosen = np.flatnonzero(_selected(waves[row], low, high))
        if len(chosen):
            spans.append((row, int(chosen[0]), int(chosen[-1])))
    if not spans:
        raise NoOverlap(f"the band misses the spectrum, which covers {_coverage(waves, unit)}")
    kept_rows = np.array([s[0] for s in spans])
    sizes = [last - first + 1 for _, first, last in spans]
    columns = []
    for original in hdu.columns:
        values = data[original.name]
        match = _FORMAT.match(str(original.format))
        code = match.group(2) if match else ""
        if values.ndim == 2 and values.shape[1] == length and code and original.dim is None:
            pieces = [values[row, first : last + 1] for row, first, last in spans]
            if len(set(sizes)) == 1:
                columns.append(_column(original, f"{sizes[0]}{code}", np.stack(pieces)))
            else:
                array = np.empty(len(pieces), dtype=object)
                array[:] = [np.asarray(p) for p in pieces]
                columns.append(_column(original, f"P{code}()", array))
        elif original.name == nelem:
            columns.append(_column(original, str(original.format), np.array(sizes)))
        else:
            kept = values[kept_rows]
            columns.append(_column(original, str(original.format), kept, dim=original.dim))
    table = fits.BinTableHDU.from_columns(columns, header=_header(hdu))
    return table, f"{sum(sizes)} samples of {column} in {low:.6g}..{high:.6g} {unit}"
