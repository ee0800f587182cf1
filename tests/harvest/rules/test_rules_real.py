"""The rules on real files: what their headers show (docs/hlsp-rules.md §5) is what is reported.

Headers are read with astropy (test-only) and converted to the shared Header model.
"""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path
from typing import Any

import pytest

from catalog.harvest.findings import Finding, Severity
from catalog.harvest.fits.reader import Card, Header, Value
from catalog.harvest.rules import ProductKind, check_headers, classify
from tests.support.db import shared_path

pytestmark = pytest.mark.shared

HLSP = ("data", "fits", "hlsp")
TGLC_V1 = "hlsp_tglc_tess_ffi_gaiaid-6399196263939178880-s0001-cam2-ccd1_tess_v1_llc.fits"
TGLC_V2 = "hlsp_tglc_tess_ffi_gaiaid-5707485527450614656-s0007-cam2-ccd3_tess_v2_llc.fits"
ALERTS = "hlsp_tess-data-alerts_tess_phot_00055652896-s01_tess_v1_lc.fits"
K2SFF = "hlsp_k2sff_k2_lightcurve_201367065-c01_kepler_v1_llc.fits"


def read(path: Path) -> list[Header]:
    fits: Any = importlib.import_module("astropy.io.fits")  # test-only, untyped
    headers = []
    with warnings.catch_warnings(), fits.open(path) as hdus:
        warnings.simplefilter("ignore")
        for index, hdu in enumerate(hdus):
            cards = []
            for card in hdu.header.cards:
                value = card.value
                cards.append(Card(card.keyword, _plain(value), card.comment))
            headers.append(Header(index, cards))
    return headers


def _plain(value: object) -> Value:
    if isinstance(value, str | bool | int | float | complex):
        return value
    return None  # astropy's Undefined


def check(name: str, *where: str) -> tuple[list[Finding], ProductKind]:
    headers = read(shared_path(*(where or HLSP), name))
    fields = name.split(".", maxsplit=1)[0].split("_")
    product_type = fields[-1] if name.startswith("hlsp_") else None
    classification = classify(headers, product_type)
    findings = check_headers(
        headers,
        classification,
        name_version=fields[-2] if product_type else None,
        name_proj_id=fields[1] if product_type else None,
    )
    return findings, classification.kind


def by(findings: list[Finding], code: str) -> dict[str | None, Finding]:
    return {f.keyword: f for f in findings if f.code == code}


@pytest.mark.parametrize("name", [TGLC_V1, TGLC_V2])
def test_tglc(name):
    findings, kind = check(name)
    assert kind is ProductKind.LIGHTCURVE
    missing = by(findings, "HLSP-K001")
    # no HLSPID, DOI or LICENSE (docs/hlsp-rules.md §5), nor these
    assert set(missing) == {
        "HLSPID",
        "DOI",
        "LICENSE",
        "LICENURL",
        "HLSPVER",
        "OBSERVAT",
        "MJD-MID",
    }
    assert all(f.severity is Severity.ERROR for f in missing.values())
    # non-standard MJD_BEG/MJD_END, XPTIME, TELAPS, RA_OBJ/DEC_OBJ, OBJECT: recognised
    variants = by(findings, "HLSP-K004")
    assert set(variants) == {
        "MJD_BEG",
        "MJD_END",
        "XPTIME",
        "TELAPS",
        "RA_OBJ",
        "DEC_OBJ",
        "OBJECT",
    }
    assert variants["XPTIME"].hdu == 1 and "used for XPOSURE" in variants["XPTIME"].message
    assert "used for DATE-BEG or MJD-BEG" in variants["MJD_BEG"].message
    assert variants["RA_OBJ"].hdu == 1  # the extension's copy is the one that counts
    # its float columns carry no TUNITn (flags and cadence numbers need none)
    (units,) = by(findings, "HLSP-K022").values()
    assert units.hdu == 1 and "psf_flux (TUNIT2)" in units.message
    assert "TESS_flags" not in units.message
    assert set(by(findings, "HLSP-P001")) == {None}
    assert not by(findings, "HLSP-K010")  # RADESYS = 'ICRS' and no EQUINOX: right
    assert set(by(findings, "HLSP-K005")) == {"BUNIT"}  # BUNIT only in the primary


def test_tess_data_alerts():
    findings, kind = check(ALERTS)
    assert kind is ProductKind.LIGHTCURVE
    (equinox,) = by(findings, "HLSP-K010").values()  # EQUINOX = 2000.0 beside ICRS
    assert equinox.hdu == 0 and "HDU 0, 1, 2" in equinox.message
    variants = by(findings, "HLSP-K004")
    assert {"DATE-OBS", "EXPOSURE", "RA_OBJ", "DEC_OBJ", "OBJECT"} <= set(variants)
    assert "in days" in variants["EXPOSURE"].message
    assert by(findings, "HLSP-K001")["FILTER"].hdu == 1
    assert "DATE-END" not in by(findings, "HLSP-K001")  # present in the standard form
    assert "TELAPSE" not in by(findings, "HLSP-K002")
    assert not by(findings, "HLSP-K022")  # every float column has TUNITn
    assert not by(findings, "HLSP-K016")  # '2018-07-25T19:01:42.709Z' is ISO-8601


def test_k2sff():
    findings, kind = check(K2SFF)
    assert kind is ProductKind.LIGHTCURVE
    (units,) = by(findings, "HLSP-K022").values()  # 21 aperture tables, one finding
    assert units.hdu == 1 and "HDU 1 (BESTAPER) and 20 more tables" in units.message
    assert "ARCLENGTH (TUNIT4)" in units.message
    assert "HLSP-K010" in {f.code for f in findings}
    assert {"DATE-OBS", "EXPOSURE", "RA_OBJ", "OBJECT"} <= set(by(findings, "HLSP-K004"))


def test_stis_x1d_is_a_table_spectrum():
    findings, kind = check("odbue5030_x1d.fits", "data", "fits", "mission")
    assert kind is ProductKind.SPECTRUM
    variants = by(findings, "HLSP-K004")
    assert {"DATE-OBS", "EXPEND", "EXPTIME", "TARGNAME", "OPT_ELEM"} == set(variants)
    assert variants["OPT_ELEM"].severity is Severity.INFO  # DISPRSR is only suggested
    missing = by(findings, "HLSP-K001")
    assert {"TIMESYS", "HLSPID", "DOI", "MJD-MID"} <= set(missing)
    assert not {"RA_TARG", "DEC_TARG", "PROPOSID"} & set(missing)
    assert not by(findings, "HLSP-K022")  # SPORDER, NELEM, DQ are integers
    assert not by(findings, "HLSP-K015")  # RA_TARG/DEC_TARG in range


def test_jwst_image_without_wcs():
    findings, kind = check("jwst_image.fits", "data", "fits", "mission")
    assert kind is ProductKind.IMAGE
    wcs = by(findings, "HLSP-K001")["CTYPE1"]
    assert wcs.hdu == 1 and "HDU 1 (SCI)" in wcs.message
