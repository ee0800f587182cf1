"""Headers for the rules' tests: a compliant light curve and image, and builders of HDUs and
tables, each test changing one thing (MAST's HLSP metadata pages, as summarised in
docs/hlsp-rules.md §4)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from catalog.harvest.findings import Finding, Severity
from catalog.harvest.fits.reader import Card, Header, Value
from catalog.harvest.rules import (
    Classification,
    ProductKind,
)

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

COMMON: dict[str, Value] = {
    "HLSPID": "TGLC",
    "HLSPNAME": "TESS-Gaia Light Curves",
    "HLSPLEAD": "Te Han",
    "HLSPVER": "v1",
    "HLSPTARG": "Gaia DR3 6399196263939178880",
    "DOI": "10.17909/610m-9474",
    "LICENSE": "CC BY 4.0",
    "LICENURL": "https://creativecommons.org/licenses/by/4.0/",
    "TELESCOP": "TESS",
    "INSTRUME": "Photometer",
    "OBSERVAT": "TESS",
    "PROPOSID": "G011",
    "REFERENC": "2023AJ....165...71H",
    "TIMESYS": "TDB",
    "DATE-BEG": "2018-07-25T19:01:42",
    "DATE-END": "2018-08-22T16:13:41",
    "MJD-BEG": 58324.8,
    "MJD-MID": 58338.7,
    "MJD-END": 58352.6,
    "XPOSURE": 1800.0,
    "TELAPSE": 2404800.0,
    "FILEID01": "tess2018206045859-s0001-0000000389023759",
}
PRIMARY_EMPTY: dict[str, Value] = {"SIMPLE": True, "BITPIX": 8, "NAXIS": 0, "EXTEND": True}
TARGET: dict[str, Value] = {
    "RA_TARG": 332.668,
    "DEC_TARG": -65.518,
    "RADESYS": "ICRS",
    "FILTER": "TESS",
    "APERTURE": "3x3",
    "DETECTOR": "CCD1",
}
WCS: dict[str, Value] = {
    "WCSAXES": 2,
    "CTYPE1": "RA---TAN",
    "CTYPE2": "DEC--TAN",
    "CRVAL1": 150.1,
    "CRVAL2": 2.2,
    "CRPIX1": 50.5,
    "CRPIX2": 50.5,
    "CD1_1": -1e-5,
    "CD1_2": 0.0,
    "CD2_1": 0.0,
    "CD2_2": 1e-5,
    "CUNIT1": "deg",
    "CUNIT2": "deg",
}


def hdu(index: int, *items: Mapping[str, Value], **extra: Value) -> Header:
    """A header from dictionaries of cards (later ones override earlier ones)."""
    merged: dict[str, Value] = {}
    for part in (*items, extra):
        merged.update(part)
    return Header(index, [Card(k, v) for k, v in merged.items() if v is not DROP])


DROP: Value = "\x00drop"  # marks a card to leave out


def table(
    index: int,
    name: str,
    cols: Iterable[tuple[str | None, str, str | None]],
    extra: Mapping[str, Value] = {},
    *,
    rows: int = 100,
) -> Header:
    """A BINTABLE header: cols are (TTYPE, TFORM, TUNIT), None leaving the card out."""
    cards: dict[str, Value] = {"XTENSION": "BINTABLE", "BITPIX": 8, "NAXIS": 2}
    col_cards: dict[str, Value] = {}
    n = 0
    for n, (ttype, tform, tunit) in enumerate(cols, 1):
        if ttype is not None:
            col_cards[f"TTYPE{n}"] = ttype
        col_cards[f"TFORM{n}"] = tform
        if tunit is not None:
            col_cards[f"TUNIT{n}"] = tunit
    cards.update(NAXIS1=8 * n, NAXIS2=rows, PCOUNT=0, GCOUNT=1, TFIELDS=n, **col_cards)
    cards["EXTNAME"] = name
    return hdu(index, cards, extra)


LC_COLUMNS = [("TIME", "D", "d"), ("FLUX", "E", "e-/s"), ("QUALITY", "J", None)]
LC_EXT: dict[str, Value] = {**TARGET, "BUNIT": "e-/s"}


def light_curve(primary: Mapping[str, Value] = {}, ext: Mapping[str, Value] = {}) -> list[Header]:
    return [
        hdu(0, PRIMARY_EMPTY, COMMON, primary),
        table(1, "LIGHTCURVE", LC_COLUMNS, {**LC_EXT, **ext}),
    ]


def image(primary: Mapping[str, Value] = {}, sci: Mapping[str, Value] = {}) -> list[Header]:
    image_hdu: dict[str, Value] = {"XTENSION": "IMAGE", "BITPIX": -32, "NAXIS": 2}
    image_hdu.update(NAXIS1=100, NAXIS2=100, PCOUNT=0, GCOUNT=1, EXTNAME="SCI")
    return [
        hdu(0, PRIMARY_EMPTY, COMMON, {"PSFSIZE": 0.1}, primary),
        hdu(1, image_hdu, WCS, TARGET, {"BUNIT": "MJy/sr"}, sci),
    ]


def kind(k: ProductKind, simulated: bool = False) -> Classification:
    return Classification(k, simulated, None, "test")


LC = kind(ProductKind.LIGHTCURVE)
IMAGE = kind(ProductKind.IMAGE)


def found(findings: list[Finding]) -> set[tuple[str, str | None]]:
    return {(f.code, f.keyword) for f in findings}


def only(findings: list[Finding], code: str, keyword: str | None) -> Finding:
    """The single finding; fails showing all of them otherwise."""
    assert found(findings) == {(code, keyword)}, [f.message for f in findings]
    assert len(findings) == 1
    return findings[0]


# --- compliant products pass ------------------------------------------------------------------
