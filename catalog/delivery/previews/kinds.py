"""Which drawing a product gets: from its ObsCore ``dataproduct_type``, else the HLSP product
type of its file name, else what the file holds (:func:`kind_of_file`).

The product-type vocabulary mirrors the harvest's classification (MAST's HLSP product types);
delivery does not import the harvest, so the few names a drawing needs are listed here.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from catalog.delivery.previews import columns

if TYPE_CHECKING:
    from astropy.io.fits import HDUList


class Kind(StrEnum):
    """What is drawn: an image, a collapsed cube, a spectrum, a light curve or sky positions."""

    IMAGE = "image"
    CUBE = "cube"
    SPECTRUM = "spectrum"
    LIGHTCURVE = "lightcurve"
    CATALOG = "catalog"


DATAPRODUCT_TYPES: dict[str, Kind] = {
    "image": Kind.IMAGE,
    "cube": Kind.CUBE,
    "spectrum": Kind.SPECTRUM,
    "sed": Kind.SPECTRUM,
    "timeseries": Kind.LIGHTCURVE,
    "measurements": Kind.CATALOG,
}
"""ObsCore 1.1 ``dataproduct_type`` values with a drawing (``visibility``, ``event``: none)."""

_NAMES: dict[Kind, str] = {
    Kind.IMAGE: "img image drz drc sci i2d wht mosaic stack map rms exp expmap mask segment seg "
    "psf ffi warp flt flc kappa magnif deflect mass weight ivm",
    Kind.SPECTRUM: "spec spectrum spectra spec1d spec2d x1d x1dsum x2d s2d sx1 sed fullspec",
    Kind.LIGHTCURVE: "lc llc slc lightcurve lightcurves ts timeseries",
    Kind.CUBE: "cube s3d tpf spec3d 3d hsi ifu",
    Kind.CATALOG: "cat catalog catalogue phot photometry list source sources param params z morph",
}
PRODUCT_TYPES: dict[str, Kind] = {
    name: kind for kind, names in _NAMES.items() for name in names.split()
}
"""HLSP product types (the last field of a file name) and their drawing."""


def kind_of_product(dataproduct_type: str | None, product_type: str | None) -> Kind | None:
    """The drawing the catalog's description asks for: ``dataproduct_type`` when it has one,
    else the product type (a compound one, ``sim-img``, by its last known element); None when
    neither says (the file decides, :func:`kind_of_file`)."""
    if dataproduct_type is not None:
        kind = DATAPRODUCT_TYPES.get(dataproduct_type.strip().lower())
        if kind is not None:
            return kind
    elements = [e for e in (product_type or "").strip().lower().split("-") if e]
    for element in reversed(elements):
        if element in PRODUCT_TYPES:
            return PRODUCT_TYPES[element]
    return None


def kind_of_file(hdus: HDUList) -> Kind | None:
    """The drawing what the file holds allows: a table with wavelength and flux columns is a
    spectrum, one with time and flux a light curve, one with RA and Dec a catalog; else its
    largest image (NAXIS >= 3: a cube). None: nothing to draw."""
    tables = [hdu for hdu in hdus if columns.is_table(hdu)]
    for kind, test in (
        (Kind.SPECTRUM, columns.spectrum_columns),
        (Kind.LIGHTCURVE, columns.lightcurve_columns),
        (Kind.CATALOG, columns.sky_columns),
    ):
        if any(test(hdu) is not None for hdu in tables):
            return kind
    image = columns.largest_image(hdus)
    if image is None:
        return None
    return Kind.CUBE if int(image.header.get("NAXIS", 0)) >= 3 else Kind.IMAGE
