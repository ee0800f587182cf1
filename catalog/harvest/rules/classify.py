"""What kind of product a file is: from the file-name product type, else from its headers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from catalog.harvest.fits.reader import Header
from catalog.harvest.rules.view import FileView, columns, integer, label, text


class ProductKind(StrEnum):
    IMAGE = "image"
    SPECTRUM = "spectrum"
    LIGHTCURVE = "lightcurve"
    CATALOG = "catalog"
    CUBE = "cube"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Classification:
    kind: ProductKind
    simulated: bool
    dataproduct_type: str | None  # ObsCore: image, cube, spectrum, sed, timeseries, measurements
    reason: str  # how it was decided, e.g. "product type 'lc' in the file name"

    def __reduce__(self) -> tuple[type[Classification], tuple[object, ...]]:
        return Classification, (
            self.kind,
            self.simulated,
            self.dataproduct_type,
            self.reason,
        )  # see native.py


_K = ProductKind
PRODUCT_TYPES: dict[str, ProductKind] = {
    **dict.fromkeys(
        ("img", "image", "drz", "drc", "sci", "i2d", "wht", "mosaic", "stack", "map", "rms",
         "exp", "expmap", "mask", "segment", "seg", "psf", "ffi", "warp", "flt", "flc",
         "kappa", "magnif", "deflect", "mass", "weight", "ivm"),
        _K.IMAGE,
    ),
    **dict.fromkeys(
        ("spec", "spectrum", "spectra", "spec1d", "spec2d", "x1d", "x1dsum", "x2d", "s2d",
         "sx1", "sed", "fullspec"),
        _K.SPECTRUM,
    ),
    **dict.fromkeys(
        ("lc", "llc", "slc", "lightcurve", "lightcurves", "ts", "timeseries"), _K.LIGHTCURVE
    ),
    **dict.fromkeys(("cube", "s3d", "tpf", "spec3d", "3d", "hsi", "ifu"), _K.CUBE),
    **dict.fromkeys(
        ("cat", "catalog", "catalogue", "phot", "photometry", "list", "source", "sources",
         "param", "params", "z", "morph"),
        _K.CATALOG,
    ),
}  # fmt: skip
_SUFFIXES = (("spec", _K.SPECTRUM), ("map", _K.IMAGE), ("cat", _K.CATALOG), ("lc", _K.LIGHTCURVE))
DATAPRODUCT_TYPES: dict[ProductKind, str | None] = {
    _K.IMAGE: "image",
    _K.SPECTRUM: "spectrum",
    _K.LIGHTCURVE: "timeseries",
    _K.CATALOG: "measurements",
    _K.CUBE: "cube",
    _K.OTHER: None,
}
_TIME = frozenset({"TIME", "BJD", "MJD", "HJD", "JD", "BTJD", "TIME_BJD", "BJD_TDB", "T"})
_WAVE = frozenset({"WAVELENGTH", "WAVE", "LAMBDA", "WAVELENGTHS", "FREQUENCY"})
_RA = frozenset({"RA", "RA_DEG", "RAJ2000", "RA_J2000", "ALPHA_J2000", "RA_ICRS", "RA_TARG"})
_DEC = frozenset({"DEC", "DEC_DEG", "DEJ2000", "DEC_J2000", "DELTA_J2000", "DEC_ICRS"})
_CELESTIAL = frozenset({"RA", "DEC", "GLON", "GLAT", "ELON", "ELAT", "SLON", "SLAT"})
_SPECTRAL = frozenset({"WAVE", "AWAV", "FREQ", "ENER", "WAVN", "VRAD", "VOPT", "ZOPT", "BETA"})
_FLUXES = frozenset({"RATE", "COUNTS", "FCOR", "FRAW"})  # FCOR, FRAW: K2SFF
_SIM = "sim"


def classify(headers: Sequence[Header], product_type: str | None) -> Classification:
    """The kind of product: the file-name product type decides when it is known (compound
    types by their last known element, 'sim-' marking a simulation), else the headers."""
    elements = [e for e in (product_type or "").strip().lower().split("-") if e]
    sim_by_name = _SIM in elements
    sim_by_header = _simulated(headers)
    kind, reason, sed = _from_name(product_type or "", [e for e in elements if e != _SIM])
    if kind is None:
        kind, reason = _from_headers(FileView(headers))
        if elements:
            reason = f"product type '{product_type}' not recognised; {reason}"
    if sim_by_name:
        reason += f"; simulated: 'sim' in the product type '{product_type}'"
    elif sim_by_header:
        reason += f"; simulated: {sim_by_header}"
    dataproduct = "sed" if sed and kind is _K.SPECTRUM else DATAPRODUCT_TYPES[kind]
    return Classification(kind, sim_by_name or bool(sim_by_header), dataproduct, reason)


def _from_name(product_type: str, elements: list[str]) -> tuple[ProductKind | None, str, bool]:
    sed = "sed" in elements
    for element in reversed(elements):
        kind = PRODUCT_TYPES.get(element)
        if kind is not None:
            return kind, _name_reason(product_type, element), sed
    for element in reversed(elements):
        for suffix, kind in _SUFFIXES:
            if element.endswith(suffix):
                return kind, _name_reason(product_type, element), sed
    return None, "", sed


def _name_reason(product_type: str, element: str) -> str:
    if element == product_type.strip().lower():
        return f"product type '{element}' in the file name"
    return f"element '{element}' of the product type '{product_type}' in the file name"


def _simulated(headers: Sequence[Header]) -> str:
    """Why the headers say the data are simulated ('' when they do not)."""
    for header in headers:
        for keyword in ("SIMULATD", "SIMDATA"):
            value = header.get(keyword)
            if value is True or (text(value) or "").upper() in {"T", "TRUE"}:
                return f"{keyword} = T in {label(header)}"
    return ""


def _from_headers(view: FileView) -> tuple[ProductKind, str]:
    return (
        _from_tables(view)
        or _from_arrays(view)
        or (_K.OTHER, "no known product type in the file name and no recognisable data")
    )


def _from_tables(view: FileView) -> tuple[ProductKind, str] | None:
    for table in view.tables:
        values = view.of(table)
        names = {n.upper() for _, n, _, _ in columns(values) if n}
        rows = integer(values.get("NAXIS2"), 0, 2**62) or 0
        fluxy = any("FLUX" in n or "MAG" in n or n in _FLUXES for n in names)
        if names & _TIME and fluxy:
            return _K.LIGHTCURVE, f"time and flux columns in {label(table)}"
        if (names & _WAVE or any(n.startswith("WAVE") for n in names)) and fluxy:
            return _K.SPECTRUM, f"wavelength and flux columns in {label(table)}"
        if names & _RA and names & _DEC and rows > 1:
            return _K.CATALOG, f"RA and Dec columns in the {rows}-row table {label(table)}"
    return None


def _from_arrays(view: FileView) -> tuple[ProductKind, str] | None:
    for header, shape in view.arrays:
        big = [n for n in shape if n > 1]
        axis_types = {
            (text(header.get(f"CTYPE{i}")) or "").upper().split("-")[0]
            for i in range(1, len(shape) + 1)
        }
        spectral_1 = (text(header.get("CTYPE1")) or "").upper().split("-")[0] in _SPECTRAL
        if len(big) >= 3:
            return _K.CUBE, f"{len(big)}-D array in {label(header)}"
        if len(big) == 2 and axis_types & _CELESTIAL:
            return _K.IMAGE, f"2-D array with a celestial WCS in {label(header)}"
        if len(big) in {1, 2} and spectral_1:
            return _K.SPECTRUM, f"{len(big)}-D array with a spectral axis 1 in {label(header)}"
        if len(big) == 2:
            return _K.IMAGE, f"2-D array (no celestial WCS) in {label(header)}"
    return None
