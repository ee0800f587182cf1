"""Arbitrary headers never make the rules raise: any keyword, any value of any type."""

from __future__ import annotations

import pickle

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.harvest.findings import RULES, Finding
from catalog.harvest.fits.reader import Card, Header
from catalog.harvest.rules import (
    Classification,
    ProductKind,
    check_collection,
    check_headers,
    classify,
    member_facts,
)

KNOWN = [
    "SIMPLE", "XTENSION", "NAXIS", "NAXIS1", "NAXIS2", "NAXIS3", "TFIELDS", "TTYPE1", "TTYPE2",
    "TFORM1", "TFORM2", "TUNIT1", "EXTNAME", "WCSAXES", "CTYPE1", "CTYPE2", "CRVAL1", "CRPIX1",
    "CD1_1", "PC1_1", "CDELT1", "RADESYS", "EQUINOX", "EPOCH", "DATE-BEG", "DATE-END",
    "DATE-AVG", "DATE-OBS", "MJD-BEG", "MJD-END", "MJD-MID", "MJD_BEG", "RA_TARG", "DEC_TARG",
    "RA_OBJ", "TARG_DEC", "XPOSURE", "XPTIME", "EXPOSURE", "TELAPSE", "TSTART", "BJDREFI",
    "LICENSE", "LICENURL", "DOI", "HLSPID", "HLSPVER", "HLSP_VER", "SIMULATD", "SIMDATA",
    "FILEID01", "FILEID03", "INSTRUME", "INSTRU01", "FILTER", "FILTER01", "COMMENT", "HISTORY",
    "", "HIERARCH ESO DET", "ra_targ",
]  # fmt: skip
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.complex_numbers(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        [
            "MULTI",
            "T",
            "ICRS",
            "FK5",
            "BINTABLE",
            "IMAGE",
            "PROVENANCE",
            "1E",
            "PE(10)",
            "10.17909/ab-cd",
            "2018-07-25T19:01:42",
            "2018-13-45",
            "v1",
        ]
    ),
)
CARDS = st.lists(
    st.builds(
        Card,
        st.one_of(st.sampled_from(KNOWN), st.text(max_size=10)),
        VALUES,
        st.text(max_size=5),
    ),
    max_size=25,
)
HEADERS = st.lists(st.builds(Header, st.integers(min_value=-1, max_value=30), CARDS), max_size=4)
PRODUCT_TYPES = st.one_of(
    st.none(),
    st.sampled_from(["lc", "img", "spec", "cat", "cube", "sim-img", "sim", "-", "sim--", "x"]),
    st.text(max_size=12),
)
NAMES = st.one_of(st.none(), st.text(max_size=8), st.sampled_from(["v1", "tglc", "v1p0"]))


def _valid(findings: list[Finding]) -> None:
    assert isinstance(findings, list)
    for finding in findings:
        assert finding.code in RULES and finding.message


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HEADERS, PRODUCT_TYPES, NAMES, NAMES)
def test_arbitrary_headers_never_raise(headers, product_type, version, proj_id):
    classification = classify(headers, product_type)
    assert isinstance(classification.kind, ProductKind)
    _valid(check_headers(headers, classification, name_version=version, name_proj_id=proj_id))
    for kind in ProductKind:
        for simulated in (False, True):
            forced = Classification(kind, simulated, None, "forced")
            _valid(check_headers(headers, forced, name_version=version, name_proj_id=proj_id))
    facts = member_facts("f.fits", headers, proj_id, version, product_type)
    assert pickle.loads(pickle.dumps(facts)) == facts
    collection, per_file = check_collection([facts, facts], other_files=["x"])
    _valid(collection)
    for findings in per_file.values():
        _valid(findings)
