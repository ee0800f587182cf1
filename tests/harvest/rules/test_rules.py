"""Metadata rules per product kind: each rule with a header that breaks it and one that passes.

Compliant headers follow MAST's HLSP metadata pages as summarised in docs/hlsp-rules.md §4;
each test changes one thing and expects exactly that finding.
"""

from __future__ import annotations

import pytest

from catalog.harvest.findings import Verdict, verdict_of
from catalog.harvest.fits.reader import Value
from catalog.harvest.rules import (
    ProductKind,
    check_headers,
    classify,
)
from catalog.harvest.rules.provenance import check_provenance
from catalog.harvest.rules.view import FileView
from tests.support.rules import (
    COMMON,
    DROP,
    ERROR,
    IMAGE,
    INFO,
    LC,
    LC_COLUMNS,
    LC_EXT,
    PRIMARY_EMPTY,
    TARGET,
    WARNING,
    WCS,
    found,
    hdu,
    image,
    kind,
    light_curve,
    only,
    table,
)


def test_compliant_light_curve_has_no_findings():
    assert check_headers(light_curve(), LC, name_version="v1", name_proj_id="tglc") == []


def test_compliant_image_has_no_findings():
    assert check_headers(image(), IMAGE, name_version="v1.0", name_proj_id="TGLC") == []


def test_compliant_spectrum_table_and_spectrum_image():
    primary = hdu(0, PRIMARY_EMPTY, COMMON, DISPRSR="G130M", APERTURE="PSA", DETECTOR="FUVA")
    cols = [("WAVELENGTH", "1024D", "Angstrom"), ("FLUX", "1024E", "erg/s/cm2/Angstrom")]
    spectrum = kind(ProductKind.SPECTRUM)
    assert check_headers([primary, table(1, "SCI", cols, rows=1)], spectrum) == []

    array: dict[str, Value] = {
        "NAXIS": 1,
        "NAXIS1": 2048,
        "BUNIT": "erg/s/cm2/Angstrom",
        "RADESYS": "ICRS",
    }
    wcs_1d: dict[str, Value] = {
        "WCSAXES": 1,
        "CTYPE1": "WAVE",
        "CUNIT1": "Angstrom",
        "CRVAL1": 1100.0,
    }
    wcs_1d |= {"CRPIX1": 1.0, "CD1_1": 0.01}
    single = hdu(0, PRIMARY_EMPTY, COMMON, array, wcs_1d, DISPRSR="G130M", APERTURE="PSA")
    assert found(check_headers([single], spectrum)) == {("HLSP-K003", "DETECTOR")}


def test_compliant_catalog_and_cube():
    cols = [("SOURCE", "20A", None), ("RA", "D", "deg"), ("DEC", "D", "deg"), ("F160W", "E", "")]
    cat = [hdu(0, PRIMARY_EMPTY, COMMON), table(1, "CATALOG", cols, {"RADESYS": "ICRS"})]
    assert check_headers(cat, kind(ProductKind.CATALOG)) == []

    cube: dict[str, Value] = {
        "NAXIS": 3,
        "NAXIS1": 40,
        "NAXIS2": 40,
        "NAXIS3": 2000,
        "BUNIT": "erg/s/cm2/A",
    }
    wcs3: dict[str, Value] = {
        **WCS,
        "WCSAXES": 3,
        "CTYPE3": "WAVE",
        "CRVAL3": 4800.0,
        "CRPIX3": 1.0,
    }
    wcs3 |= {"CD3_3": 1.25, "CUNIT3": "Angstrom"}
    headers = [hdu(0, PRIMARY_EMPTY, COMMON, TARGET, cube, wcs3)]
    assert check_headers(headers, kind(ProductKind.CUBE)) == []


def test_compliant_simulation_needs_no_provenance():
    headers = image({"SIMULATD": True, "FILEID01": DROP})
    assert check_headers(headers, kind(ProductKind.IMAGE, simulated=True)) == []


# --- presence: required, recommended, suggested -----------------------------------------------


def test_missing_required_keyword_is_an_error_with_a_fix():
    f = only(check_headers(light_curve({"DOI": DROP}), LC), "HLSP-K001", "DOI")
    assert f.severity is ERROR and f.verdict is Verdict.FAIL
    assert "DOI is not in any HDU" in f.message and "10.17909/" in f.message


def test_alternatives_satisfy_a_requirement():
    assert check_headers(light_curve({"DATE-BEG": DROP}), LC) == []  # MJD-BEG is enough
    headers = light_curve({"DATE-BEG": DROP, "MJD-BEG": DROP})
    f = only(check_headers(headers, LC), "HLSP-K001", "DATE-BEG")
    assert f.message.startswith("Neither DATE-BEG nor MJD-BEG is in any HDU")


def test_keywords_may_sit_in_the_extension_holding_the_data():
    moved = dict.fromkeys(("HLSPID", "DOI", "XPOSURE"), DROP)
    ext: dict[str, Value] = {"HLSPID": "TGLC", "DOI": "10.17909/610m-9474", "XPOSURE": 1800.0}
    assert check_headers(light_curve(moved, ext), LC) == []


def test_missing_recommended_keyword_is_a_warning_saying_mast_derives_it():
    f = only(check_headers(light_curve({"HLSPLEAD": DROP}), LC), "HLSP-K002", "HLSPLEAD")
    assert f.severity is WARNING and f.verdict is Verdict.NEEDS_REVIEW
    assert "MAST derives" in f.message


def test_missing_suggested_keyword_is_advice():
    f = only(check_headers(light_curve({"REFERENC": DROP}), LC), "HLSP-K003", "REFERENC")
    assert f.severity is INFO and verdict_of([f]) is Verdict.PASS


# --- non-standard variants (docs/hlsp-rules.md §5) ----------------------------------------


@pytest.mark.parametrize(
    ("drop", "add", "variant"),
    [
        (("XPOSURE",), {"XPTIME": 1800}, "XPTIME"),
        (("XPOSURE",), {"EXPTIME": 628.0}, "EXPTIME"),
        (("XPOSURE",), {"EXPOSURE": 22.08}, "EXPOSURE"),
        (("MJD-BEG", "DATE-BEG"), {"MJD_BEG": 58324.8}, "MJD_BEG"),
        (("MJD-END", "DATE-END"), {"MJD_END": 58352.6}, "MJD_END"),
        (("MJD-BEG", "DATE-BEG"), {"DATE-OBS": "2018-07-25T19:01:42"}, "DATE-OBS"),
        (("MJD-BEG", "DATE-BEG"), {"EXPSTART": 57894.08}, "EXPSTART"),
        (("MJD-BEG", "DATE-BEG"), {"TSTART": 1325.3, "BJDREFI": 2457000}, "TSTART"),
        (("TELAPSE",), {"TELAPS": 27.8}, "TELAPS"),
        (("HLSPVER",), {"HLSP_VER": "v1"}, "HLSP_VER"),
        (("HLSPNAME",), {"HSLPNAME": "ULLYSES"}, "HSLPNAME"),
        (("HLSPTARG",), {"OBJECT": "TIC 55652896"}, "OBJECT"),
    ],
)
def test_non_standard_keyword_is_reported_instead_of_missing(drop, add, variant):
    headers = light_curve({**dict.fromkeys(drop, DROP), **add})
    f = only(check_headers(headers, LC), "HLSP-K004", variant)
    assert f.severity is WARNING
    assert f"Non-standard keyword {variant}" in f.message and drop[0] in f.message


def test_variants_that_do_not_carry_the_information_do_not_count():
    # TSTART without a time reference; a string EXPOSURE (JWST's exposure number)
    headers = light_curve({"MJD-BEG": DROP, "DATE-BEG": DROP, "TSTART": 1325.3})
    assert found(check_headers(headers, LC)) == {("HLSP-K001", "DATE-BEG")}
    headers = light_curve({"XPOSURE": DROP, "EXPOSURE": "00001"})
    assert found(check_headers(headers, LC)) == {("HLSP-K001", "XPOSURE")}


def test_variant_of_a_suggested_keyword_is_advice():
    primary = hdu(0, PRIMARY_EMPTY, COMMON, OPT_ELEM="E230M", APERTURE="0.2X0.2", DETECTOR="X")
    cols = [("WAVELENGTH", "D", "Angstrom"), ("FLUX", "E", "erg/s/cm2/Angstrom")]
    findings = check_headers([primary, table(1, "SCI", cols)], kind(ProductKind.SPECTRUM))
    assert only(findings, "HLSP-K004", "OPT_ELEM").severity is INFO


@pytest.mark.parametrize(
    ("std", "variant"),
    [("RA_TARG", "RA_OBJ"), ("DEC_TARG", "DEC_OBJ"), ("RA_TARG", "TARG_RA")],
)
def test_position_variants_in_the_light_curve_extension(std, variant):
    headers = light_curve(ext={std: DROP, variant: 10.0})
    f = only(check_headers(headers, LC), "HLSP-K004", variant)
    assert f.hdu == 1


# --- light curves: keywords in the extension ----------------------------------------------------


def test_light_curve_keyword_only_in_the_primary_is_misplaced():
    headers = light_curve({"RA_TARG": 332.668}, {"RA_TARG": DROP})
    f = only(check_headers(headers, LC), "HLSP-K005", "RA_TARG")
    assert f.hdu == 0 and f.severity is WARNING and "HDU 1 (LIGHTCURVE)" in f.message


def test_light_curve_keyword_missing_everywhere_points_at_the_extension():
    f = only(check_headers(light_curve(ext={"FILTER": DROP}), LC), "HLSP-K001", "FILTER")
    assert f.hdu == 1 and "add it to HDU 1 (LIGHTCURVE)" in f.message


def test_light_curve_table_prefers_the_lightcurve_extension():
    headers = [
        hdu(0, PRIMARY_EMPTY, COMMON),
        table(1, "APERTURE_INFO", [("X", "E", "pix")]),
        table(2, "LIGHTCURVE", LC_COLUMNS, LC_EXT),
    ]
    assert check_headers(headers, LC) == []


# --- table columns ----------------------------------------------------------------------------


def test_float_column_without_unit_is_an_error_integer_and_text_columns_are_not():
    cols = [("TIME", "D", "d"), ("FLUX", "E", None), ("QUALITY", "J", None), ("ID", "8A", None)]
    headers = [light_curve()[0], table(1, "LIGHTCURVE", cols, LC_EXT)]
    f = only(check_headers(headers, LC), "HLSP-K022", "TUNIT2")
    assert "FLUX (TUNIT2)" in f.message and "QUALITY" not in f.message


def test_empty_unit_marks_a_dimensionless_column():
    cols = [("TIME", "D", "d"), ("RATIO", "E", "")]
    assert check_headers([light_curve()[0], table(1, "LIGHTCURVE", cols, LC_EXT)], LC) == []


def test_unnamed_column():
    cols = [("TIME", "D", "d"), (None, "E", "e-/s")]
    headers = [light_curve()[0], table(1, "LIGHTCURVE", cols, LC_EXT)]
    assert only(check_headers(headers, LC), "HLSP-K021", "TTYPE2").hdu == 1


def test_tables_with_the_same_problem_are_reported_once():
    cols = [("T", "D", None), ("FCOR", "D", None)]
    headers = [light_curve()[0]] + [table(i, f"APER{i}", cols, LC_EXT) for i in range(1, 6)]
    f = only(check_headers(headers, LC), "HLSP-K022", "TUNIT1")
    assert f.hdu == 1 and "4 more tables" in f.message


# --- images: WCS in the HDU it describes --------------------------------------------------------


def test_image_without_wcs():
    no_wcs = {k: DROP for k in WCS if not k.startswith(("CUNIT", "WCSAXES"))}
    findings = check_headers(image(sci=no_wcs), IMAGE)
    assert found(findings) == {("HLSP-K001", "CTYPE1"), ("HLSP-K001", "CD1_1")}
    assert all(f.hdu == 1 for f in findings)


def test_wcs_in_another_hdu_is_misplaced():
    wcs_keys = ("CTYPE1", "CTYPE2", "CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2")
    headers = image({k: WCS[k] for k in wcs_keys}, dict.fromkeys(wcs_keys, DROP))
    f = only(check_headers(headers, IMAGE), "HLSP-K005", "CTYPE1")
    assert f.hdu == 0 and "HDU 1 (SCI)" in f.message


def test_cd_and_pc_together():
    f = only(check_headers(image(sci={"PC1_1": 1.0}), IMAGE), "HLSP-K012", "CD1_1")
    assert f.severity is ERROR


def test_pc_matrix_needs_cdelt():
    pc = {"CD1_1": DROP, "CD1_2": DROP, "CD2_1": DROP, "CD2_2": DROP, "PC1_1": 1.0, "PC2_2": 1.0}
    only(check_headers(image(sci=pc), IMAGE), "HLSP-K001", "CDELT1")
    with_cdelt = {**pc, "CDELT1": -1e-5, "CDELT2": 1e-5}
    assert check_headers(image(sci=with_cdelt), IMAGE) == []


def test_cdelt_alone_is_valid_fits_but_noted():
    cdelt = {"CD1_1": DROP, "CD1_2": DROP, "CD2_1": DROP, "CD2_2": DROP}
    cdelt |= {"CDELT1": -1e-5, "CDELT2": 1e-5}
    assert only(check_headers(image(sci=cdelt), IMAGE), "HLSP-K013", "PC1_1").severity is INFO


def test_wcsaxes_recommended_cunit_suggested():
    findings = check_headers(image(sci={"WCSAXES": DROP, "CUNIT1": DROP}), IMAGE)
    assert found(findings) == {("HLSP-K002", "WCSAXES"), ("HLSP-K003", "CUNIT1")}


def test_image_filter_multi_needs_numbered_filters():
    findings = check_headers(image(sci={"FILTER": "MULTI"}), IMAGE)
    assert found(findings) == {("HLSP-P002", "FILTER")}
    headers = image(sci={"FILTER": "MULTI", "FILTER01": "F606W", "FILTER02": "F814W"})
    assert check_headers(headers, IMAGE) == []


def test_classify_then_check_on_an_unknown_product_checks_common_keywords_only():
    headers = [hdu(0, PRIMARY_EMPTY, COMMON)]
    classification = classify(headers, "preview")
    assert classification.kind is ProductKind.OTHER and classification.dataproduct_type is None
    assert check_headers(headers, classification) == []


def test_records_not_contiguous_points_at_the_first_hdu_holding_any_of_them() -> None:
    """FILEID03 in the primary header, FILEID01 and FILEID03 in HDU 1: the gap is reported
    at HDU 0, whatever order the keywords come in."""
    for first, second in (
        (("FILEID01", "a"), ("FILEID03", "c")),
        (("FILEID03", "c"), ("FILEID01", "a")),
    ):
        view = FileView(
            [
                hdu(0, {"SIMPLE": True, "FILEID03": "c"}),
                hdu(1, {"XTENSION": "IMAGE", first[0]: first[1], second[0]: second[1]}),
            ]
        )
        (gap,) = [f for f in check_provenance(view) if f.code == "HLSP-P003"]
        assert gap.hdu == 0 and gap.keyword == "FILEID01"
