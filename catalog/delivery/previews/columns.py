"""Finding what to draw in a FITS file: the columns of a spectrum, a light curve or a catalog
(by name, in order of preference, or by TUCD), the largest image, and axis labels with units.

Names are matched without regard to case (TGLC writes ``time``, ``psf_flux``); the first
name of a list that a table has wins, so a TESS light curve is drawn from ``PDCSAP_FLUX``
(systematics-corrected) rather than ``SAP_FLUX``, and a K2SFF one from ``FCOR``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from astropy.io.fits import HDUList

WAVELENGTH = ("WAVELENGTH", "WAVE", "LAMBDA", "WAVELENGTHS", "LAM", "FREQUENCY", "FREQ")
SPECTRAL_FLUX = ("FLUX", "FLUX_DENSITY", "FLAM", "FNU", "SPECFLUX", "NET", "COUNTS", "RATE")
TIME = ("TIME", "T", "BJD", "BTJD", "BKJD", "TIME_BJD", "BJD_TDB", "MJD", "HJD", "JD")
LIGHTCURVE_FLUX = (
    "PDCSAP_FLUX",
    "FCOR",
    "FLUX",
    "SAP_FLUX",
    "CAL_PSF_FLUX",
    "PSF_FLUX",
    "CAL_APER_FLUX",
    "APERTURE_FLUX",
    "FRAW",
    "RATE",
    "COUNTS",
    "MAG",
)
RA = ("RA", "RA_DEG", "RADEG", "RAJ2000", "RA_J2000", "RA_ICRS", "ALPHA_J2000", "ALPHAWIN_J2000")
DEC = ("DEC", "DEC_DEG", "DECDEG", "DEJ2000", "DEC_J2000", "DE_ICRS", "DEC_ICRS", "DELTA_J2000")
_LABEL_UNIT_CHARS = 40


@dataclass(frozen=True)
class Column:
    """A table column: its name as written, its position (1-based, the ``n`` of TTYPEn)
    and its unit (TUNITn, None when absent)."""

    name: str
    number: int
    unit: str | None


def is_table(hdu: Any) -> bool:
    """A binary or ASCII table extension."""
    return str(hdu.header.get("XTENSION", "")).strip().upper() in {"BINTABLE", "TABLE"}


def table_columns(hdu: Any) -> dict[str, Column]:
    """The columns of a table HDU by upper-case name, read from its header (TTYPEn, TUNITn)."""
    header = hdu.header
    found: dict[str, Column] = {}
    count = header.get("TFIELDS", 0)
    if not isinstance(count, int) or not 0 < count <= 999:
        return found
    for n in range(1, count + 1):
        name = header.get(f"TTYPE{n}")
        if isinstance(name, str) and name.strip():
            unit = header.get(f"TUNIT{n}")
            unit = unit.strip() if isinstance(unit, str) and unit.strip() else None
            found.setdefault(name.strip().upper(), Column(name.strip(), n, unit))
    return found


def _first(found: dict[str, Column], names: tuple[str, ...]) -> Column | None:
    return next((found[n] for n in names if n in found), None)


def _by_ucd(hdu: Any, found: dict[str, Column], prefix: str) -> Column | None:
    for column in found.values():
        ucd = hdu.header.get(f"TUCD{column.number}")
        if isinstance(ucd, str) and ucd.strip().lower().startswith(prefix):
            return column
    return None


def spectrum_columns(hdu: Any) -> tuple[Column, Column] | None:
    """(wavelength, flux) of a table HDU, or None."""
    found = table_columns(hdu)
    wave = _first(found, WAVELENGTH) or _by_ucd(hdu, found, "em.wl")
    flux = _first(found, SPECTRAL_FLUX) or _by_ucd(hdu, found, "phot.flux")
    return (wave, flux) if wave is not None and flux is not None else None


def lightcurve_columns(hdu: Any) -> tuple[Column, list[Column]] | None:
    """(time, flux columns in order of preference) of a table HDU, or None: the named flux
    columns first, then any other column whose name holds FLUX (not an error column)."""
    found = table_columns(hdu)
    time = _first(found, TIME) or _by_ucd(hdu, found, "time.epoch")
    fluxes = [found[n] for n in LIGHTCURVE_FLUX if n in found]
    fluxes += [
        c
        for n, c in found.items()
        if "FLUX" in n and not n.endswith(("_ERR", "_ERROR", "ERR")) and c not in fluxes
    ]
    return (time, fluxes) if time is not None and fluxes else None


def sky_columns(hdu: Any) -> tuple[Column, Column] | None:
    """(RA, Dec) of a table HDU, by name or by TUCD ``pos.eq.ra`` / ``pos.eq.dec``, or None."""
    found = table_columns(hdu)
    ra = _first(found, RA) or _by_ucd(hdu, found, "pos.eq.ra")
    dec = _first(found, DEC) or _by_ucd(hdu, found, "pos.eq.dec")
    return (ra, dec) if ra is not None and dec is not None else None


def image_shape(hdu: Any) -> tuple[int, ...]:
    """The FITS axis lengths (NAXIS1 first) of an image HDU from its header; () when it holds
    no image or its header is not sensible."""
    if is_table(hdu) or not getattr(hdu, "is_image", False):
        return ()
    header = hdu.header
    naxis = header.get("ZNAXIS", header.get("NAXIS", 0))
    if not isinstance(naxis, int) or not 0 < naxis <= 999:
        return ()
    key = "ZNAXIS" if "ZNAXIS" in header else "NAXIS"
    lengths = [header.get(f"{key}{i}") for i in range(1, naxis + 1)]
    if not all(isinstance(n, int) and n > 0 for n in lengths):
        return ()
    return tuple(int(n) for n in lengths)


def largest_image(hdus: HDUList, *, least_axes: int = 2) -> Any:
    """The image HDU with the most pixels among those with at least ``least_axes`` axes longer
    than one pixel (the first of equals: SCI before ERR and DQ); None when there is none."""
    best, most = None, 0
    for hdu in hdus:
        shape = image_shape(hdu)
        if sum(1 for n in shape if n > 1) < least_axes:
            continue
        pixels = 1
        for n in shape:
            pixels *= n
        if pixels > most:
            best, most = hdu, pixels
    return best


def label(name: str, unit: str | None) -> str:
    """An axis label: the column's name and, when it has one, its unit as the file writes it
    (``WAVELENGTH [Angstrom]``), both cut to a readable length."""
    name = name.strip()[:_LABEL_UNIT_CHARS] or "?"
    if not unit or not unit.strip():
        return name
    unit = unit.strip()
    if len(unit) > _LABEL_UNIT_CHARS:
        unit = unit[: _LABEL_UNIT_CHARS - 1] + "…"
    return f"{name} [{unit}]"
