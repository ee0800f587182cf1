"""File nomenclature: the verdicts MAST's checker (mct) gives, field by field and name by name.

Expected verdicts come from MAST's rules as docs/hlsp-rules.md §2 and §3 summarise them and from
mct's own tests (spacetelescope/mast_contributor_tools,
mast_contributor_tools/tests/filename_check/test_hlsp_filename.py, dev branch).
"""

from __future__ import annotations

import pickle
import re
import time

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from catalog.harvest.findings import RULES, Severity, Verdict
from catalog.harvest.rules import nomenclature as nm
from catalog.harvest.rules.nomenclature import check_field, check_name, parse_name, vocabulary

PASS, REVIEW, FAIL = Verdict.PASS, Verdict.NEEDS_REVIEW, Verdict.FAIL


def reasons(result: nm.NameCheck) -> set[tuple[str | None, str]]:
    return {(f.field, f.code) for f in result.findings}


# --- docs/hlsp-rules.md §3: real names and the verdict mct gives them -----------------------------

INSTRUMENT = ("instrument", nm.UNKNOWN_INSTRUMENT.code)
PRODUCT = ("product_type", nm.UNKNOWN_PRODUCT_TYPE.code)
OPT_ELEM = ("opt_elem", nm.UNKNOWN_OPT_ELEM.code)
TARGET_LONG = ("target", nm.TOO_LONG.code)

REAL_NAMES = [
    ("hlsp_qlp_tess_ffi_s0010-0000000260128333_tess_v01_llc.fits", REVIEW, {PRODUCT}),
    (
        "hlsp_tglc_tess_ffi_gaiaid-6399196263939178880-s0001-cam2-ccd1_tess_v1_llc.fits",
        FAIL,
        {TARGET_LONG, PRODUCT},
    ),
    (
        "hlsp_tglc_tess_ffi_gaiaid-6399196263939178880-s0001-cam2-ccd1_tess_v2_llc.fits",
        FAIL,
        {TARGET_LONG, PRODUCT},
    ),
    ("hlsp_gsfc-eleanor-lite_tess_ffi_s0001-0000000336732616_tess_v1.0_lc.fits", PASS, set()),
    ("hlsp_tess-spoc_tess_phot_0000000025155310-s0001_tess_v1_lc.fits", REVIEW, {INSTRUMENT}),
    (
        "hlsp_tasoc_tess_ffi_tic00150441810-s0001-cam4-ccd4-c1800_tess_v05_ens-lc.fits",
        FAIL,
        {TARGET_LONG},
    ),
    ("hlsp_tasoc_tess_ffi_tic00412064070-s01-c1800_tess_v04_lc.fits", PASS, set()),
    ("hlsp_tess-data-alerts_tess_phot_00055652896-s01_tess_v1_lc.fits", REVIEW, {INSTRUMENT}),
    ("hlsp_tica_tess_ffi_s0084-o2-01023889-cam1-ccd1_tess_v01_img.fits", PASS, set()),
    ("hlsp_everest_k2_llc_201367065-c01_kepler_v2.0_lc.fits", REVIEW, {INSTRUMENT}),
    ("hlsp_k2sff_k2_lightcurve_211394805-c16_kepler_v1_llc.fits", REVIEW, {INSTRUMENT, PRODUCT}),
    ("hlsp_k2gap_k2_lightcurve_201121245-c01_kepler_v1_ts.txt", REVIEW, {INSTRUMENT, PRODUCT}),
    ("hlsp_relics_hst_wfc3ir-30mas_abell3192_f105w_v1_drz.fits", REVIEW, {INSTRUMENT}),
    ("hlsp_relics_hst_acs-wfc3ir_abell520_multi_v1_cat.txt", REVIEW, {INSTRUMENT}),
    ("hlsp_relics_hst_acs-30mas_smacs0723-73_f606w_v1_drc.fits", REVIEW, {INSTRUMENT}),
    ("hlsp_ps1-strm_ps1_gpc1_all_multi_v1_readme.txt", REVIEW, {INSTRUMENT}),
    (
        "hlsp_ps1-strm_ps1_gpc1_p69-p77_multi_v1_cat.csv.gz",
        REVIEW,
        {INSTRUMENT, ("extension", nm.UNKNOWN_EXTENSION.code)},
    ),
    ("hlsp_ps1-strm_ps1_gpc1_all_multi_v1_md5sum.txt", REVIEW, {INSTRUMENT, PRODUCT}),
    ("hlsp_candels_hst_wfc3_gs-tot_f160w_v1.0_drz.fits", PASS, set()),
    ("hlsp_candels_hst_acs_cos-tot-sect23_f606w_v1.0_drz.fits", PASS, set()),
    ("hlsp_candels_hst_wfc3_egs-tot-multiband_f160w_v1_cat.txt", PASS, set()),
    (
        "hlsp_frontier_hst_acs-30mas-selfcal_abell2744_f814w_v1.0-epoch2_drz.fits",
        FAIL,
        {INSTRUMENT, ("version", nm.TOO_LONG.code), ("version", nm.VERSION_FORMAT.code)},
    ),
    (
        "hlsp_ceers_jwst_nircam_nircam1_f200w_dr0.5_i2d.fits",
        FAIL,
        {("version", nm.VERSION_FORMAT.code)},
    ),
    ("hlsp_ceers_jwst_nircam_fullceers_f277w_v1_sci.fits.gz", PASS, set()),
    ("hlsp_ceers_jwst_nircam_fullceers_f277w_v1_wht.fits.gz", PASS, set()),
    ("hlsp_jades_jwst_nircam_goods-s-deep_f277w_v2.0_drz.fits", PASS, set()),
    (
        "hlsp_jades_jwst_nircam_goods-s-deep_photometry_v2.0_catalog.fits",
        REVIEW,
        {OPT_ELEM, PRODUCT},
    ),
    ("hlsp_glass-jwst_jwst_nirspec_abell2744-1324-10003_f170lp-g235h_v1_spec.fits", PASS, set()),
    ("hlsp_glass-jwst_jwst_niriss_abell2744_v1_cat.fits", PASS, set()),
    ("hlsp_phangs-jwst_jwst_nircam_ngc1385_f335m_v1p0p1_img.fits", PASS, set()),
    ("hlsp_bluetides_jwst_nircam_z7-file1_f150w_v1_sim-psf.fits", PASS, set()),
    ("hlsp_bluetides_multi_multi_all_multi_v1_sim.csv", PASS, set()),
    ("hlsp_rocky-worlds_hst_cos_trappist-1_g130m_v1.0_lc.fits", PASS, set()),
    ("hlsp_cos-gal_hst_cos_j152447.75-p041919.8_g130m_v1_fullspec.fits", REVIEW, {PRODUCT}),
    ("hlsp_hff-deepspace_hst_acs-wfc3_all_multi_v1_readme.txt", PASS, set()),
    ("hlsp_judo_hst_wfc3_jupiter-20120919_f275w_v1.0_npole-globalmap.fits", REVIEW, {PRODUCT}),
    (
        "hlsp_muscles_multi_multi_gj832_broadband_v22_adapt-const-res-sed.fits",
        FAIL,
        {OPT_ELEM, PRODUCT, ("product_type", nm.TOO_LONG.code)},
    ),
]


@pytest.mark.parametrize(("name", "verdict", "why"), REAL_NAMES)
def test_real_names_get_mct_verdict_and_reason(
    name: str, verdict: Verdict, why: set[tuple[str, str]]
) -> None:
    result = check_name(name, hlsp_id=name.split("_")[1])
    assert result.verdict is verdict
    assert reasons(result) == why
    assert result.is_hlsp_name


def test_reason_names_the_offending_value_and_a_fix() -> None:
    (finding,) = check_name("hlsp_qlp_tess_ffi_s0010-0000000260128333_tess_v01_llc.fits").findings
    assert finding.field == "product_type"
    assert finding.severity is Severity.WARNING
    assert "'llc'" in finding.message
    assert "'lc'" in finding.message  # the close known type is suggested
    assert finding.message.endswith(nm.UNKNOWN_PRODUCT_TYPE.fix)
    (long_target, _) = check_name(REAL_NAMES[1][0]).findings
    assert "42 characters" in long_target.message
    assert "limit of 30" in long_target.message


# --- mct's field tests ------------------------------------------------------------------------
# (field, value, expected collection id, mct scores: capitalization, length, format, value,
#  field verdict). "" rows: we report one "empty field" finding instead of four.

P, F, R = "pass", "fail", "needs review"
MCT_FIELDS = [
    ("hlsp", "hlsp", None, P, P, P, P, PASS),
    ("hlsp", "HLSP", None, F, P, P, P, FAIL),
    ("hlsp", "hst", None, P, P, P, F, FAIL),
    ("hlsp", "banana", None, P, F, P, F, FAIL),
    ("hlsp", "123-hlsp", None, P, F, P, F, FAIL),
    ("hlsp", "h.lp", None, P, P, F, F, FAIL),
    ("hlsp", "hlsp!", None, P, F, F, F, FAIL),
    ("proj_id", "my-hlsp", "my-hlsp", P, P, P, P, PASS),
    ("proj_id", "tica", "tica", P, P, P, P, PASS),
    ("proj_id", "phangs-jwst", "phangs-jwst", P, P, P, P, PASS),
    ("proj_id", "my-hlsp", "MY-HLSP", P, P, P, P, PASS),
    ("proj_id", "MY-HLSP", "my-hlsp", F, P, P, P, FAIL),
    ("proj_id", "wrong-name", "my-hlsp", P, P, P, F, FAIL),
    ("proj_id", "my hlsp", "my hlsp", P, P, F, P, FAIL),
    ("proj_id", "my-hlsp!", "my-hlsp!", P, P, F, P, FAIL),
    ("proj_id", "my.hlsp", "my.hlsp", P, P, F, P, FAIL),
    ("proj_id", "2hlsp", "2-my-hlsp", P, P, F, F, FAIL),
    ("proj_id", "hlsp+hlsp", "hlsp+hlsp", P, P, F, P, FAIL),
    (
        "proj_id",
        "really-really-long-hlsp-name",
        "really-really-long-hlsp-name",
        P,
        F,
        P,
        P,
        FAIL,
    ),
    ("observatory", "hst", None, P, P, P, P, PASS),
    ("observatory", "jwst", None, P, P, P, P, PASS),
    ("observatory", "hst-jwst", None, P, P, P, P, PASS),
    ("observatory", "sdss", None, P, P, P, P, PASS),
    ("observatory", "multi", None, P, P, P, P, PASS),
    ("observatory", "roman", None, P, P, P, R, REVIEW),
    ("observatory", "fake-mission", None, P, P, P, R, REVIEW),
    ("observatory", "hst_jwst", None, P, P, F, R, FAIL),
    ("observatory", "hst.jwst", None, P, P, F, R, FAIL),
    ("observatory", "HST", None, F, P, P, P, FAIL),
    ("observatory", "ReallyLongMissionName", None, F, F, P, R, FAIL),
    ("instrument", "nirspec", None, P, P, P, P, PASS),
    ("instrument", "multi", None, P, P, P, P, PASS),
    ("instrument", "nircam-nirspec", None, P, P, P, P, PASS),
    ("instrument", "mystery-camera", None, P, P, P, R, REVIEW),
    ("instrument", "STIS", None, F, P, P, P, FAIL),
    ("instrument", "my.instrument", None, P, P, F, R, FAIL),
    ("target", "vega", None, P, P, P, P, PASS),
    ("target", "m31", None, P, P, P, P, PASS),
    ("target", "multi", None, P, P, P, P, PASS),
    ("target", "ngc1385", None, P, P, P, P, PASS),
    ("target", "obj-123", None, P, P, P, P, PASS),
    ("target", "2m04215943+1932063", None, P, P, P, P, PASS),
    ("target", "j152447.75-p041919.8", None, P, P, P, P, PASS),
    ("target", "2mass-j09512393-p3542490", None, P, P, P, P, PASS),
    ("target", "sdssj085259.22-p031320.6", None, P, P, P, P, PASS),
    ("target", "1saxj1032.3-p5051", None, P, P, P, P, PASS),
    ("target", "M31", None, F, P, P, P, FAIL),
    ("target", "2M04215943+1932063", None, F, P, P, P, FAIL),
    ("target", "123+456", None, F, P, P, P, FAIL),  # all digits: str.islower() is False
    ("opt_elem", "f435w", None, P, P, P, P, PASS),
    ("opt_elem", "u", None, P, P, P, P, PASS),
    ("opt_elem", "multi", None, P, P, P, P, PASS),
    ("opt_elem", "g102-f435w", None, P, P, P, P, PASS),
    ("opt_elem", "fakefilter", None, P, P, P, R, REVIEW),
    ("opt_elem", "F435W", None, F, P, P, P, FAIL),
    ("version", "v1", None, P, P, P, P, PASS),
    ("version", "v2.3", None, P, P, P, P, PASS),
    ("version", "v1.2.3", None, P, P, P, P, PASS),
    ("version", "v12.34.56", None, P, P, P, P, PASS),
    ("version", "v01", None, P, P, P, P, PASS),
    ("version", "v1p0p1", None, P, P, P, P, PASS),
    ("version", "dr1", None, P, P, F, F, FAIL),
    ("version", "1.2.3", None, F, P, F, F, FAIL),
    ("version", "v1-1", None, P, P, F, F, FAIL),
    ("version", "v123.4", None, P, P, F, F, FAIL),
    ("version", "v1.2.3.4", None, P, P, F, F, FAIL),
    ("version", "V1", None, F, P, F, F, FAIL),
    ("version", "v1.", None, P, P, F, F, FAIL),
    ("version", "v1.a", None, P, P, F, F, FAIL),
    ("product_type", "drz", None, P, P, P, P, PASS),
    ("product_type", "lc", None, P, P, P, P, PASS),
    ("product_type", "spec", None, P, P, P, P, PASS),
    ("product_type", "fake-suffix", None, P, P, P, R, REVIEW),
    ("product_type", "2dspec", None, P, P, P, R, REVIEW),
    ("product_type", "2DSPEC", None, F, P, P, R, FAIL),
    ("extension", "fits", None, P, P, P, P, PASS),
    ("extension", "pdf", None, P, P, P, P, PASS),
    ("extension", "png", None, P, P, P, P, PASS),
    ("extension", "dat", None, P, P, P, P, PASS),
    ("extension", "tar.gz", None, P, P, P, P, PASS),
    ("extension", "h5", None, P, P, P, P, PASS),
    ("extension", "blah", None, P, P, P, R, REVIEW),
    ("extension", "JPG", None, F, P, P, P, FAIL),
    ("generic3", "anything", None, P, P, P, P, PASS),
    ("generic3", "dashes-are-fine", None, P, P, P, P, PASS),
    ("generic3", "multi", None, P, P, P, P, PASS),
    ("generic3", "ANYTHING", None, F, P, P, P, FAIL),
    ("generic3", "generic-field-name-is-too-long", None, P, F, P, P, FAIL),
    ("generic3", "pluses+are+not+fine", None, P, P, F, P, FAIL),
]
FORMAT_RULE = {
    "proj_id": nm.PROJ_ID_FORMAT,
    "target": nm.TARGET_FORMAT,
    "version": nm.VERSION_FORMAT,
    "extension": nm.EXTENSION_FORMAT,
}
VALUE_RULE = {
    "hlsp": nm.HLSP_LITERAL,
    "proj_id": nm.PROJ_ID_MISMATCH,
    "observatory": nm.UNKNOWN_OBSERVATORY,
    "instrument": nm.UNKNOWN_INSTRUMENT,
    "opt_elem": nm.UNKNOWN_OPT_ELEM,
    "product_type": nm.UNKNOWN_PRODUCT_TYPE,
    "extension": nm.UNKNOWN_EXTENSION,
    # target and version: mct's value check is the format pattern, reported once
    "target": nm.TARGET_FORMAT,
    "version": nm.VERSION_FORMAT,
}


@pytest.mark.parametrize(
    ("field", "value", "expected", "cap", "length", "fmt", "val", "verdict"), MCT_FIELDS
)
def test_mct_field_scores(
    field: str,
    value: str,
    expected: str | None,
    cap: str,
    length: str,
    fmt: str,
    val: str,
    verdict: Verdict,
) -> None:
    want = set()
    if cap == F:
        want.add(nm.NOT_LOWER_CASE.code)
    if length == F:
        want.add(nm.TOO_LONG.code)
    if fmt == F:
        want.add(FORMAT_RULE.get(field, nm.FIELD_FORMAT).code)
    if val != P:
        want.add(VALUE_RULE[field].code)
    result = check_field(field, value, hlsp_id=expected)
    assert result.verdict is verdict
    assert {f.code for f in result.findings} == want
    assert all(f.field == field for f in result.findings)
    assert result.name == field
    assert result.value == value


@pytest.mark.parametrize("field", [*nm.FIELD_NAMES, "generic3"])
def test_empty_field_is_one_failure(field: str) -> None:
    result = check_field(field, "", hlsp_id="x")
    assert result.verdict is FAIL
    assert [f.code for f in result.findings] == [nm.EMPTY_FIELD.code]


def test_unknown_field_name_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown file-name field"):
        check_field("telescope", "hst")


# --- mct's whole-name tests -------------------------------------------------------------------

MCT_NAMES = [
    ("hlsp_fake-hlsp_hst_wfc3_vega_f160w_v1_img.fits", "fake-hlsp", PASS),
    ("hlsp_phangs-jwst_jwst_nircam_ngc1385_f335m_v1p0p1_img.fits", "phangs-jwst", PASS),
    ("hlsp_hff-deepspace_hst_acs-wfc3_all_multi_v1_readme.txt", "hff-deepspace", PASS),
    ("hlsp_cos-gal_hst_cos_j152447.75-p041919.8_g130m_v1_fullspec.fits", "cos-gal", REVIEW),
    ("hlsp_tica_tess_ffi_s0084-o2-01023889-cam1-ccd1_tess_v01_img.fits", "tica", PASS),
    ("hlsp_tica_tess_ffi_s0084-o2-01023889-cam1-ccd1_tess_v1_img.fits", "tica", PASS),
    ("hlsp_judo_hst_wfc3_jupiter-20120919_f275w_v1.0_npole-globalmap.fits", "judo", REVIEW),
    ("hlsp_my-hlsp_multi_multi_vega_multi_v1_spec.fits", "my-hlsp", PASS),
    ("hlsp_my-hlsp_hst_multi_vega_multi_v1_spec.fits", "my-hlsp", PASS),
    ("hlsp_my-hlsp_hst_readme.txt", "my-hlsp", PASS),
    ("hlsp_my-hlsp_alltargets_v1_cat.fits", "my-hlsp", PASS),
    ("hlsp_specs_hst_acs_j012910+145935_f250w_v1.0_img.fits", "specs", PASS),
    ("hlsp_fake-hlsp_hst_wfc3_VEGA_f160w_v1_img.fits", "fake-hlsp", FAIL),
    ("hlsp_fake-hlsp_hst_wfc3_VEGA_f160w_v1_img.fits", "wrong-name", FAIL),
    ("hlsp_fake-hlsp_hst_wfc3_vega_f160w_v1_img.fits", "invalid_name", FAIL),
]


@pytest.mark.parametrize(("name", "hlsp_id", "verdict"), MCT_NAMES)
def test_mct_names(name: str, hlsp_id: str, verdict: Verdict) -> None:
    assert nm.FILENAME_PATTERN.fullmatch(name)
    assert check_name(name, hlsp_id).verdict is verdict


def test_wrong_collection_fails_on_proj_id_only() -> None:
    result = check_name("hlsp_fake-hlsp_hst_wfc3_vega_f160w_v1_img.fits", "wrong-name")
    assert reasons(result) == {("proj_id", nm.PROJ_ID_MISMATCH.code)}
    assert "'wrong-name'" in result.findings[0].message
    assert parse_name("hlsp_fake-hlsp_hst_wfc3_vega_f160w_v1_img.fits").verdict is PASS


@pytest.mark.parametrize(
    ("name", "code"),
    [  # mct raises ValueError on these; we report them
        ("fakefile.fits", nm.NOT_HLSP.code),
        ("two_fields.fits", nm.NOT_HLSP.code),
        ("this_fake_file_name_has_more_than_nine_fields.fits", nm.NOT_HLSP.code),
        ("odbue5030_x1d.fits", nm.NOT_HLSP.code),
        ("", nm.NOT_HLSP.code),
        ("hlsp", nm.NOT_HLSP.code),
        ("hlsp_two.fits", nm.FIELD_COUNT.code),
        ("hlsp_x.tar.gz", nm.FIELD_COUNT.code),
        ("hlsp_fake_file_name_has_more_than_nine_fields.fits", nm.FIELD_COUNT.code),
        ("hlsp_fake-hlsp_hst_wfc3_vega_f160w_v1_img", nm.NO_EXTENSION.code),
    ],
)
def test_names_mct_rejects_outright(name: str, code: str) -> None:
    result = check_name(name, "fakehlsp")
    assert result.verdict is FAIL
    assert [f.code for f in result.findings] == [code]
    assert result.findings[0].field is None
    assert result.fields == ()
    assert not result.is_hlsp_name
    assert result.proj_id is result.version is result.product_type is result.extension is None


def test_not_hlsp_message_explains_template() -> None:
    (finding,) = check_name("odbue5030_x1d.fits").findings
    assert "'odbue5030_x1d.fits'" in finding.message
    assert nm.TEMPLATE in finding.message


# --- versions (docs/hlsp-rules.md §2) and READMEs ------------------------------------------------


@pytest.mark.parametrize("version", ["v1", "v2.3", "v1.2.3", "v12.34.56", "v01", "v1p0p1"])
def test_version_pass(version: str) -> None:
    assert check_field("version", version).verdict is PASS
    assert check_name(f"hlsp_x1_hst_acs_m31_f606w_{version}_img.fits").version == version


@pytest.mark.parametrize(
    "version", ["dr1", "1.2.3", "v1-1", "v123.4", "v1.2.3.4", "V1", "v1.", "v1.a", "v1.2.2a"]
)
def test_version_fail(version: str) -> None:
    assert check_field("version", version).verdict is FAIL
    result = check_name(f"hlsp_x1_hst_acs_m31_f606w_{version}_img.fits")
    assert result.verdict is FAIL
    assert {f.field for f in result.findings} == {"version"}


@pytest.mark.parametrize(
    "name",
    [
        "hlsp_mct-tutorial_readme.txt",
        "hlsp_my-hlsp_readme.md",
        "hlsp_my-hlsp_readme.pdf",
        "hlsp_my-hlsp_hst_readme.txt",
        "hlsp_my-hlsp_hst_jwst_readme.txt",
    ],
)
def test_readme_needs_no_version(name: str) -> None:
    result = check_name(name, name.split("_")[1])
    assert result.verdict is PASS
    assert result.version is None
    assert result.field("version") is None
    assert result.product_type == "readme"


def test_readme_product_type_is_case_checked() -> None:
    result = check_name("hlsp_my-hlsp_README.txt")
    assert reasons(result) == {("product_type", nm.NOT_LOWER_CASE.code)}
    assert "'readme'" in result.findings[0].message


def test_four_fields_without_readme_lack_a_version() -> None:
    result = check_name("hlsp_my-hlsp_cat.fits", "my-hlsp")
    assert reasons(result) == {("version", nm.VERSION_FORMAT.code)}
    assert "only READMEs" in result.findings[0].message
    assert result.version is None


def test_readme_version_slot_is_not_checked_like_mct() -> None:
    result = check_name("hlsp_ps1-strm_ps1_camera_all_multi_dr2_readme.txt")
    assert result.verdict is PASS
    assert [f.name for f in result.fields] == [
        "hlsp",
        "proj_id",
        "observatory",
        "instrument",
        "target",
        "opt_elem",
        "product_type",
        "extension",
    ]


# --- structure of the result -------------------------------------------------------------------


def test_nine_fields_are_positional() -> None:
    result = check_name("hlsp_candels_hst_wfc3_gs-tot_f160w_v1.0_drz.fits.gz", "CANDELS")
    assert [f.name for f in result.fields] == list(nm.FIELD_NAMES)
    assert [f.value for f in result.fields] == [
        "hlsp",
        "candels",
        "hst",
        "wfc3",
        "gs-tot",
        "f160w",
        "v1.0",
        "drz",
        "fits.gz",
    ]
    assert (result.proj_id, result.observatory, result.instrument, result.target) == (
        "candels",
        "hst",
        "wfc3",
        "gs-tot",
    )
    assert (result.opt_elem, result.version, result.product_type, result.extension) == (
        "f160w",
        "v1.0",
        "drz",
        "fits.gz",
    )


@pytest.mark.parametrize(
    ("name", "generic"),
    [
        ("hlsp_my-hlsp_v1_cat.fits", []),
        ("hlsp_my-hlsp_alltargets_v1_cat.fits", ["generic3"]),
        ("hlsp_my-hlsp_hst_all_v1_cat.fits", ["generic3", "generic4"]),
        ("hlsp_glass-jwst_jwst_niriss_abell2744_v1_cat.fits", ["generic3", "generic4", "generic5"]),
    ],
)
def test_short_names_have_generic_fields(name: str, generic: list[str]) -> None:
    result = check_name(name)
    assert [f.name for f in result.fields] == [
        "hlsp",
        "proj_id",
        *generic,
        "version",
        "product_type",
        "extension",
    ]
    assert result.observatory is result.instrument is result.target is result.opt_elem is None
    assert result.version == "v1"
    assert result.verdict is PASS


def test_generic_fields_check_case_length_format_only() -> None:
    result = check_name("hlsp_x1_Some+Thing_hubble_v1_cat.fits")
    assert reasons(result) == {
        ("generic3", nm.NOT_LOWER_CASE.code),
        ("generic3", nm.FIELD_FORMAT.code),
    }


def test_directories_are_ignored_but_the_given_name_is_kept() -> None:
    path = "data/hst/hlsp_candels_hst_wfc3_gs-tot_f160w_v1.0_drz.fits"
    result = check_name(path, "candels")
    assert result.file_name == path
    assert result.verdict is PASS


def test_empty_fields() -> None:
    result = check_name("hlsp__hst_acs_m31_f606w_v1_img.fits")
    assert reasons(result) == {("proj_id", nm.EMPTY_FIELD.code)}
    result = check_name("hlsp_x1_hst_acs_m31_f606w_v1_img.")
    assert ("extension", nm.EMPTY_FIELD.code) in reasons(result)
    assert result.verdict is FAIL


def test_characters_outside_mct_file_pattern() -> None:
    result = check_name("hlsp_x1_hst_acs_m 31_f606w_v1_img.fits")
    assert reasons(result) == {("target", nm.TARGET_FORMAT.code), (None, nm.NAME_CHARACTERS.code)}
    assert "' '" in result.findings[-1].message
    result = check_name("hlsp_x1_hst_acs_m31_f606w_v1_img.fits-1")
    assert (None, nm.NAME_CHARACTERS.code) in reasons(result)
    assert result.verdict is FAIL


def test_name_length_advice() -> None:
    def name(proj_id: str) -> str:
        return f"hlsp_{proj_id}_hst_acs-wfc3_{'t' * 30}_f606w-f814w_v1_img.fits"

    at_limit = name("p" * 17)
    assert len(at_limit) == 90
    assert check_name(at_limit).verdict is PASS
    over = name("p" * 18)
    result = check_name(over)
    assert result.verdict is REVIEW
    assert reasons(result) == {(None, nm.NAME_TOO_LONG.code)}
    assert "91 characters" in result.findings[0].message


def test_result_is_picklable() -> None:
    for name in (REAL_NAMES[0][0], REAL_NAMES[1][0], "odbue5030_x1d.fits"):
        result = check_name(name, "qlp")
        assert pickle.loads(pickle.dumps(result)) == result


def test_every_finding_kind_is_registered_with_matching_severity() -> None:
    codes = [f"HLSP-N{i:03d}" for i in range(1, 21)]
    assert all(code in RULES for code in codes)
    warnings = {
        nm.UNKNOWN_OBSERVATORY,
        nm.UNKNOWN_INSTRUMENT,
        nm.UNKNOWN_OPT_ELEM,
        nm.UNKNOWN_PRODUCT_TYPE,
        nm.UNKNOWN_EXTENSION,
        nm.NAME_TOO_LONG,
    }
    for code in codes:
        expected = Severity.WARNING if RULES[code] in warnings else Severity.ERROR
        assert RULES[code].severity is expected, code
        assert RULES[code].fix


# --- vocabularies ----------------------------------------------------------------------------


def test_vocabulary_is_mct_complete() -> None:
    vocab = vocabulary()
    assert vocab is vocabulary()  # loaded once
    assert len(vocab.tree) == 25
    for observatory in ("2mass", "cfht", "galex", "hale", "hst", "jwst", "multi", "tess", "wise"):
        assert observatory in vocab.observatories
    assert set(vocab.tree["hst"]) == {
        "acs",
        "cos",
        "foc",
        "fos",
        "hrs",
        "hsp",
        "nicmos",
        "stis",
        "wfc3",
        "wfpc",
        "wfpc2",
    }
    assert set(vocab.tree["jwst"]) == {"miri", "nircam", "niriss", "nirspec"}
    assert dict(vocab.tree["tess"]) == {"ffi": ("tess",)}
    assert dict(vocab.tree["multi"]) == {"multi": ("multi",)}
    assert sum(len(fs) for insts in vocab.tree.values() for fs in insts.values()) == 629
    assert {"llc", "catalog", "ts"}.isdisjoint(vocab.product_types)
    assert {"readme", "sim", "psf", "lc", "x1d"} <= vocab.product_types
    assert len(vocab.product_types) == 70
    assert "csv.gz" not in vocab.extensions
    assert {"fits", "fits.gz", "fits.bz2", "tar.gz", "asdf"} <= vocab.extensions
    assert len(vocab.extensions) == 25


def test_hyphenated_vocabulary_entries_are_split_like_mct() -> None:
    # oif.yaml lists 'hawk-i' but mct checks each '-' element against the flat list
    assert check_field("instrument", "hawk-i").verdict is REVIEW
    assert check_field("instrument", "vircam").verdict is PASS


# --- patterns: ours accept exactly what mct's do -------------------------------------------

MCT_FIELD = re.compile(r"^[a-zA-Z]*[a-zA-Z0-9-]*[a-zA-Z0-9]*$")
MCT_EXTENSION = re.compile(r"^[a-zA-Z]*[a-zA-Z0-9.]*[a-zA-Z0-9]*$")


@settings(max_examples=300)
@given(st.text(alphabet="aZ09-.+_ é", max_size=12))
def test_simplified_patterns_match_mct(text: str) -> None:
    assert bool(nm.FIELD_PATTERN.fullmatch(text)) == bool(MCT_FIELD.fullmatch(text))
    assert bool(nm.EXTENSION_PATTERN.fullmatch(text)) == bool(MCT_EXTENSION.fullmatch(text))


# --- properties --------------------------------------------------------------------------------


@settings(max_examples=400)
@given(st.text(), st.none() | st.text(max_size=12))
def test_any_text_gives_a_verdict(name: str, hlsp_id: str | None) -> None:
    result = check_name(name, hlsp_id)
    assert result.verdict in Verdict
    assert result.verdict is Verdict.worst(f.verdict for f in result.findings)
    assert all(f.code in RULES and f.message for f in result.findings)
    field_findings = [f for fc in result.fields for f in fc.findings]
    assert list(result.findings[: len(field_findings)]) == field_findings
    assert result.is_hlsp_name == bool(result.fields)


@settings(max_examples=200)
@given(st.text(alphabet="hlsp_HLSP.-+v01a9 ", max_size=60))
def test_hlsp_like_text_gives_a_verdict(tail: str) -> None:
    result = check_name("hlsp_" + tail)
    assert result.verdict in Verdict
    for fc in result.fields:
        assert fc.verdict is Verdict.worst(f.verdict for f in fc.findings)
        assert all(f.field == fc.name for f in fc.findings)


def _plain(values: frozenset[str]) -> list[str]:
    return sorted(v for v in values if re.fullmatch(r"[a-z0-9]+", v) and v.islower())


def _joined(values: frozenset[str], limit: int) -> st.SearchStrategy[str]:
    elements = st.lists(st.sampled_from(_plain(values)), min_size=1, max_size=3)
    return elements.map("-".join).filter(lambda v: len(v) <= limit)


VOCAB = vocabulary()
proj_ids = st.from_regex(r"[a-z][a-z0-9-]{0,18}[a-z0-9]", fullmatch=True)
targets = st.from_regex(r"[a-z0-9][a-z0-9+.-]{0,28}[a-z0-9]", fullmatch=True).filter(str.islower)
versions = st.from_regex(nm.VERSION_PATTERN, fullmatch=True).filter(lambda v: len(v) <= 9)
generics = st.from_regex(r"[a-z][a-z0-9-]{0,19}", fullmatch=True)
nine_fields = st.tuples(
    st.just("hlsp"),
    proj_ids,
    _joined(VOCAB.observatories, 20),
    _joined(VOCAB.instruments, 20),
    targets,
    _joined(VOCAB.filters, 20),
    versions,
    _joined(VOCAB.product_types, 16).filter(lambda v: v != "readme"),  # READMEs: no version
    st.sampled_from(sorted(VOCAB.extensions)),
)


def _name(values: tuple[str, ...] | list[str]) -> str:
    return "_".join(values[:-1]) + "." + values[-1]


@settings(max_examples=300)
@given(nine_fields)
def test_valid_nine_field_names_pass(values: tuple[str, ...]) -> None:
    name = _name(values)
    assume(len(name) <= nm.MAX_NAME_LENGTH)
    result = check_name(name, values[1].upper())
    assert result.verdict is PASS, result.findings
    assert result.target == values[4]


@settings(max_examples=200)
@given(
    proj_ids,
    st.lists(generics, min_size=0, max_size=3),
    versions,
    _joined(VOCAB.product_types, 16),
    st.sampled_from(sorted(VOCAB.extensions)),
)
def test_valid_short_names_pass(
    proj_id: str, middle: list[str], version: str, product: str, extension: str
) -> None:
    name = _name(["hlsp", proj_id, *middle, version, product, extension])
    assume(len(name) <= nm.MAX_NAME_LENGTH)
    assert check_name(name, proj_id).verdict is PASS


@settings(max_examples=300)
@given(nine_fields, st.integers(0, 8))
def test_upper_case_fails_that_field_only(values: tuple[str, ...], index: int) -> None:
    upper = values[index].upper()
    assume(upper != values[index])
    mutated = list(values)
    mutated[index] = upper
    result = check_name(_name(mutated), values[1])
    field = nm.FIELD_NAMES[index]
    assert result.verdict is FAIL
    assert {fc.name for fc in result.fields if fc.verdict is not PASS} == {field}
    expected = [nm.NOT_LOWER_CASE.code]
    if field == "version":  # mct's version pattern wants a lower-case 'v' too
        expected.append(nm.VERSION_FORMAT.code)
    assert [f.code for f in result.findings if f.field] == expected


def _stretch(value: str, limit: int, joiner: str) -> str:
    longer = value
    while len(longer) <= limit:
        longer += joiner + value
    return longer


@settings(max_examples=300)
@given(nine_fields, st.integers(1, 8))
def test_over_length_fails_that_field(values: tuple[str, ...], index: int) -> None:
    field = nm.FIELD_NAMES[index]
    joiner = "." if field == "extension" else "-"
    mutated = list(values)
    mutated[index] = _stretch(values[index], nm.MAX_LENGTH[field], joiner)
    result = check_name(_name(mutated), mutated[1])
    checked = result.field(field)
    assert checked is not None
    assert checked.verdict is FAIL
    assert nm.TOO_LONG.code in {f.code for f in checked.findings}
    assert all(fc.verdict is PASS for fc in result.fields if fc.name != field)


# --- speed -------------------------------------------------------------------------------------


def test_pathological_names_stay_fast() -> None:
    names = [
        "hlsp_" + "a." * 50_000 + "-",
        "hlsp_x_y_" + "a-" * 50_000 + "!.fits",
        "hlsp_x_" + ".a" * 50_000 + "+",
        "hlsp_a_" + ".b" * 30_000 + "!_v1_cat.fits",
    ]
    start = time.perf_counter()
    for name in names:
        assert check_name(name).verdict is FAIL
    assert time.perf_counter() - start < 2.0


def test_typical_names_are_quick() -> None:
    names = [
        f"hlsp_tica_tess_ffi_s{i % 99:04d}-o2-{i:08d}-cam1-ccd1_tess_v01_img.fits"
        for i in range(5000)
    ]
    start = time.perf_counter()
    for name in names:
        check_name(name, "tica")
    per_name = (time.perf_counter() - start) / len(names)
    assert per_name < 200e-6  # measured ~10 µs; generous against slow CI machines
