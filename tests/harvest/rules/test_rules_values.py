"""Metadata rules on keyword values, simulations, file-name agreement and provenance.

Each test starts from the compliant products of ``tests.test_rules`` and breaks one thing.
"""

from __future__ import annotations

import pytest

from catalog.harvest.findings import RULES
from catalog.harvest.rules import ProductKind, check_headers, normalise_version
from tests.support.rules import (
    DROP,
    ERROR,
    IMAGE,
    INFO,
    LC,
    WARNING,
    found,
    image,
    kind,
    light_curve,
    only,
    table,
)

# --- values -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["CC-BY-4.0", "CC BY 3.0", "cc by 4.0", 4, True, None])
def test_licence_other_than_cc_by_4(value):
    f = only(check_headers(light_curve({"LICENSE": value}), LC), "HLSP-K006", "LICENSE")
    assert f.severity is ERROR


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://creativecommons.org/licenses/by/4.0", "HLSP-K007"),
        ("http://creativecommons.org/licenses/by/4.0/", "HLSP-K007"),
        ("https://www.creativecommons.org/licenses/by/4.0/", "HLSP-K007"),
        ("https://creativecommons.org/licenses/by/3.0/", "HLSP-K008"),
        ("https://example.org/licence", "HLSP-K008"),
        (1.0, "HLSP-K008"),
    ],
)
def test_licence_url(url, code):
    f = only(check_headers(light_curve({"LICENURL": url}), LC), code, "LICENURL")
    assert f.severity is (WARNING if code == "HLSP-K007" else ERROR)


@pytest.mark.parametrize("doi", ["10.17909/T9G593", "10.17909/t9-r086-e880", "10.17909/8tdj-8n28"])
def test_doi_formats_of_every_era_pass(doi):
    assert check_headers(light_curve({"DOI": doi}), LC) == []


@pytest.mark.parametrize(
    ("doi", "hint"),
    [
        ("doi:10.17909/qsyr-ny68", "DOI = '10.17909/qsyr-ny68'"),
        ("https://doi.org/10.17909/qsyr-ny68", "DOI = '10.17909/qsyr-ny68'"),
        ("10.5281/zenodo.123", "start with 10.17909/"),
        ("10.17909/", ""),
        ("10.17909/ab--cd", ""),
        (17909, ""),
    ],
)
def test_malformed_doi(doi, hint):
    f = only(check_headers(light_curve({"DOI": doi}), LC), "HLSP-K009", "DOI")
    assert hint in f.message


def test_equinox_with_icrs_is_an_error_once_for_all_hdus():
    headers = light_curve({"EQUINOX": 2000.0}, {"EQUINOX": 2000.0})
    f = only(check_headers(headers, LC), "HLSP-K010", "EQUINOX")
    assert "HDU 0, 1" in f.message and f.hdu == 0


def test_equinox_follows_the_frame_of_its_own_hdu():
    headers = light_curve({"EQUINOX": 2000.0, "RADESYS": "FK5"}, {"RADESYS": "ICRS"})
    assert found(check_headers(headers, LC)) == set()


def test_fk5_needs_an_equinox():
    f = only(check_headers(light_curve(ext={"RADESYS": "FK5"}), LC), "HLSP-K001", "EQUINOX")
    assert "RADESYS = 'FK5' in HDU 1 (LIGHTCURVE)" in f.message
    assert check_headers(light_curve(ext={"RADESYS": "FK5", "EQUINOX": 2000.0}), LC) == []


@pytest.mark.parametrize(
    ("frame", "code", "severity"),
    [("FK4", "HLSP-K011", WARNING), ("GALACTIC", "HLSP-K011", ERROR), (0, "HLSP-K024", ERROR)],
)
def test_radesys_values(frame, code, severity):
    findings = [
        f for f in check_headers(light_curve(ext={"RADESYS": frame}), LC) if f.keyword == "RADESYS"
    ]
    assert [(f.code, f.severity) for f in findings] == [(code, severity)]


@pytest.mark.parametrize(
    ("keyword", "value", "code"),
    [
        ("RA_TARG", "abc", "HLSP-K014"),
        ("RA_TARG", "12:30:00", "HLSP-K014"),
        ("RA_TARG", True, "HLSP-K014"),
        ("RA_TARG", float("nan"), "HLSP-K014"),
        ("RA_TARG", 360.0, "HLSP-K015"),
        ("RA_TARG", -0.1, "HLSP-K015"),
        ("DEC_TARG", 90.5, "HLSP-K015"),
        ("DEC_TARG", -91, "HLSP-K015"),
        ("RA_OBJ", 400.0, "HLSP-K015"),
        ("TARG_DEC", "north", "HLSP-K014"),
    ],
)
def test_coordinates(keyword, value, code):
    findings = check_headers(light_curve(ext={keyword: value}), LC)
    assert (code, keyword) in found(findings)
    assert next(f for f in findings if f.code == code).severity is ERROR


@pytest.mark.parametrize(
    ("keyword", "value"), [("RA_TARG", 0), ("RA_TARG", 359.999), ("DEC_TARG", -90)]
)
def test_coordinate_limits_pass(keyword, value):
    assert check_headers(light_curve(ext={keyword: value}), LC) == []


@pytest.mark.parametrize(
    ("keyword", "value", "code"),
    [
        ("MJD-BEG", "58324.8", "HLSP-K014"),
        ("MJD-END", complex(1, 2), "HLSP-K014"),
        ("MJD_BEG", None, "HLSP-K014"),
        ("XPOSURE", "1800 s", "HLSP-K014"),
        ("XPOSURE", -1.0, "HLSP-K015"),
        ("TELAPSE", -5, "HLSP-K015"),
    ],
)
def test_times_and_durations_must_be_numbers(keyword, value, code):
    assert (code, keyword) in found(check_headers(light_curve({keyword: value}), LC))


@pytest.mark.parametrize(
    "value",
    [
        "2018-07-25",
        "2018-07-25T19:01",
        "2018-07-25T19:01:42.709",
        "2018-07-25T19:01:42.709Z",
        "2016-12-31T23:59:60",
    ],
)
def test_iso_dates_pass(value):
    assert check_headers(light_curve({"DATE-BEG": value}), LC) == []


@pytest.mark.parametrize(
    "value", ["25/07/18", "2018-02-30", "2018-07-25 19:01:42", "20180725", "", 2018, None]
)
def test_non_iso_dates(value):
    f = only(check_headers(light_curve({"DATE-BEG": value}), LC), "HLSP-K016", "DATE-BEG")
    assert f.severity is ERROR


def test_date_obs_is_checked_too():
    assert ("HLSP-K016", "DATE-OBS") in found(
        check_headers(light_curve({"DATE-OBS": "July 2018"}), LC)
    )


def test_times_out_of_order():
    f = only(check_headers(light_curve({"MJD-END": 58000.0}), LC), "HLSP-K017", "MJD-MID")
    assert "MJD-MID = 58338.7 is after MJD-END = 58000.0" in f.message
    headers = light_curve({"DATE-END": "2018-07-01T00:00:00"})
    assert found(check_headers(headers, LC)) == {("HLSP-K017", "DATE-BEG")}
    variants = {"MJD-BEG": DROP, "MJD-END": DROP, "MJD_BEG": 58400.0, "MJD_END": 58300.0}
    assert ("HLSP-K017", "MJD_BEG") in found(check_headers(light_curve(variants), LC))


def test_epoch_is_deprecated():
    f = only(check_headers(light_curve(ext={"EPOCH": 2000.0}), LC), "HLSP-K023", "EPOCH")
    assert f.severity is WARNING


# --- simulations ------------------------------------------------------------------------------


SIM = kind(ProductKind.IMAGE, simulated=True)


@pytest.mark.parametrize(
    ("value", "code"), [("T", "HLSP-K018"), (False, "HLSP-K018"), (1, "HLSP-K018")]
)
def test_simulatd_must_be_logical_true_on_a_simulation(value, code):
    f = only(check_headers(image({"SIMULATD": value}), SIM), code, "SIMULATD")
    assert f.severity is ERROR


def test_simulation_without_simulatd():
    only(check_headers(image(), SIM), "HLSP-K001", "SIMULATD")


def test_simulatd_in_an_extension_is_misplaced():
    only(check_headers(image(sci={"SIMULATD": True}), SIM), "HLSP-K005", "SIMULATD")


def test_simulatd_false_on_real_data_is_fine_a_string_is_not():
    assert check_headers(image({"SIMULATD": False}), IMAGE) == []
    only(check_headers(image({"SIMULATD": "F"}), IMAGE), "HLSP-K018", "SIMULATD")


# --- file-name agreement ----------------------------------------------------------------------


def test_hlspid_against_the_file_name_proj_id():
    assert check_headers(light_curve(), LC, name_proj_id="tglc") == []
    f = only(check_headers(light_curve(), LC, name_proj_id="qlp"), "HLSP-K019", "HLSPID")
    assert "HLSPID = 'TGLC'" in f.message and "'qlp'" in f.message


@pytest.mark.parametrize(
    ("header", "name", "same"),
    [
        ("v1", "v1", True),
        ("1", "v1", True),
        (1, "v1", True),
        ("1.0", "v1", True),
        ("v1.0", "v1", True),
        (1.0, "v1.0", True),
        ("v1p0", "v1", True),
        ("v01", "v1", True),
        ("v1.0.0", "v1p0p0", True),
        ("2", "v1", False),
        ("v1.1", "v1", False),
        ("v1.2.2a", "v1.2.2a", True),
        ("dr0.5", "v0.5", False),
    ],
)
def test_hlspver_against_the_file_name_version(header, name, same):
    assert (normalise_version(header) == normalise_version(name)) is same
    findings = check_headers(light_curve({"HLSPVER": header}), LC, name_version=name)
    if same:
        assert findings == []
    else:
        assert only(findings, "HLSP-K020", "HLSPVER").severity is WARNING


def test_hlsp_ver_variant_is_compared_too():
    headers = light_curve({"HLSPVER": DROP, "HLSP_VER": "2"})
    assert ("HLSP-K020", "HLSP_VER") in found(check_headers(headers, LC, name_version="v1"))


# --- provenance -------------------------------------------------------------------------------


def test_no_provenance_is_a_warning():
    f = only(check_headers(light_curve({"FILEID01": DROP}), LC), "HLSP-P001", None)
    assert f.severity is WARNING and "PROVENANCE" in f.message


def test_provenance_extension_counts():
    prov = table(2, "PROVENANCE", [("FILENAME", "30A", None), ("MJD_BEG", "D", "d")], rows=3)
    assert check_headers([*light_curve({"FILEID01": DROP}), prov], LC) == []
    empty = table(2, "PROVENANCE", [("FILENAME", "30A", None)], rows=0)
    findings = check_headers([*light_curve({"FILEID01": DROP}), empty], LC)
    assert found(findings) == {("HLSP-P004", "NAXIS2")}


def test_multi_keyword_needs_its_records():
    f = only(check_headers(light_curve({"INSTRUME": "MULTI"}), LC), "HLSP-P002", "INSTRUME")
    assert "INSTRU01" in f.message
    records = {"INSTRUME": "MULTI", "INSTRU01": "COS", "INSTRU02": "STIS", "FILEID02": "oc"}
    assert check_headers(light_curve(records), LC) == []


def test_multi_keyword_with_a_provenance_table_needs_no_records():
    prov = table(2, "PROVENANCE", [("FILENAME", "30A", None), ("INSTRUMENT", "8A", None)], rows=2)
    headers = [*light_curve({"FILEID01": DROP, "INSTRUME": "MULTI"}), prov]
    assert check_headers(headers, LC) == []


def test_numbered_records_without_gaps():
    headers = light_curve({"FILEID03": "x"})
    f = only(check_headers(headers, LC), "HLSP-P003", "FILEID01")
    assert "FILEID01, FILEID03" in f.message
    multi = {"DISPERSR": "MULTI", "DISPER01": "G130M", "DISPER03": "E230M", "FILEID02": "y"}
    assert found(check_headers(light_curve(multi), LC)) == {("HLSP-P003", "DISPER01")}


# --- registry and messages --------------------------------------------------------------------


def test_every_finding_code_is_registered_with_its_default_or_a_milder_severity():
    rank = {INFO: 0, WARNING: 1, ERROR: 2}
    headers = light_curve(
        {"DOI": "x", "LICENSE": "y", "DATE-BEG": "z", "HLSPLEAD": DROP, "INSTRUME": "MULTI"},
        {"RA_TARG": 999.0, "RADESYS": "GALACTIC", "FILTER": DROP, "EPOCH": 1950.0},
    )
    findings = check_headers(headers, LC, name_version="v9", name_proj_id="other")
    assert len(findings) >= 10
    for f in findings:
        assert f.code in RULES and f.code[5] in "KPC"
        registered = RULES[f.code]
        assert f.message.endswith(registered.fix)
        assert f.severity is registered.severity or f.code == "HLSP-K011"
        assert rank[f.severity] <= rank[registered.severity] or f.code == "HLSP-K011"
