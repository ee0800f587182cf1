"""Collection consistency: one HLSPID, one DOI, a README (docs/hlsp-rules.md §7)."""

from __future__ import annotations

import pickle

import pytest

from catalog.harvest.findings import Severity
from catalog.harvest.fits.reader import Card, Header, Value
from catalog.harvest.rules import MemberFacts, check_collection, member_facts
from catalog.harvest.rules.collection import is_readme

DOI = "10.17909/610m-9474"


def member(
    name: str,
    hlspid: str | None = "TGLC",
    doi: str | None = DOI,
    *,
    proj_id: str | None = "tglc",
    product_type: str | None = "llc",
) -> MemberFacts:
    return MemberFacts(name, hlspid, "v1", doi, proj_id, "v1", product_type)


README = member("hlsp_tglc_readme.txt", None, None, product_type="readme")


def files(n: int) -> list[MemberFacts]:
    return [member(f"hlsp_tglc_tess_ffi_gaiaid-{i}-s0001_tess_v1_llc.fits") for i in range(n)]


def test_consistent_collection_has_no_findings():
    assert check_collection([*files(3), README]) == ([], {})


def test_empty_collection_has_no_findings():
    assert check_collection([]) == ([], {})


def test_readme_missing():
    collection, per_file = check_collection(files(2), other_files=["preview.png"])
    assert [(f.code, f.severity) for f in collection] == [("HLSP-C003", Severity.ERROR)]
    assert "3 files" in collection[0].message and per_file == {}


@pytest.mark.parametrize(
    "name",
    [
        "hlsp_tglc_readme.txt",
        "hlsp_ps1-strm_ps1_gpc1_all_multi_v1_readme.txt",
        "README.md",
        "readme",
        "docs/README_v2.txt",
        "HLSP_TGLC_README.MD",
    ],
)
def test_readme_among_the_other_files(name):
    assert is_readme(name)
    assert check_collection(files(2), other_files=[name]) == ([], {})


@pytest.mark.parametrize("name", ["hlsp_tglc_tess_ffi_x_tess_v1_llc.fits", "notes.txt", ""])
def test_not_a_readme(name):
    assert not is_readme(name)


def test_hlspid_disagreeing_with_the_majority():
    odd = member("odd.fits", "TGLC2")
    collection, per_file = check_collection([*files(3), odd, README])
    assert collection == []
    assert list(per_file) == ["odd.fits"]
    (f,) = per_file["odd.fits"]
    assert (f.code, f.keyword, f.severity) == ("HLSP-C001", "HLSPID", Severity.ERROR)
    assert "HLSPID = 'TGLC2' here, but 'TGLC' in 3 of the 4 files" in f.message


def test_hlspid_case_does_not_matter_and_missing_ones_are_not_counted():
    members = [member("a", "TGLC"), member("b", "tglc"), member("c", None), README]
    assert check_collection(members) == ([], {})


def test_a_tie_goes_to_the_file_name_proj_id():
    members = [member("a", "QLP"), member("b", "TGLC"), README]
    _, per_file = check_collection(members)
    assert list(per_file) == ["a"]
    members = [member("a", "BETA", proj_id=None), member("b", "ALPHA", proj_id=None), README]
    assert list(check_collection(members)[1]) == ["a"]  # then alphabetical


def test_doi_disagreeing():
    members = [*files(2), member("new.fits", doi="10.17909/abcd-1234"), README]
    _, per_file = check_collection(members)
    (f,) = per_file["new.fits"]
    assert (f.code, f.keyword) == ("HLSP-C002", "DOI")


def test_member_facts_from_headers():
    primary = Header(0, [Card("SIMPLE", True), Card("HLSPID", " TGLC "), Card("HLSPVER", 1)])
    ext = Header(1, [Card("XTENSION", "BINTABLE"), Card("DOI", DOI), Card("HLSPID", "X")])
    facts = member_facts("f.fits", [primary, ext], "tglc", "v1", "llc")
    assert facts == MemberFacts("f.fits", "TGLC", "1", DOI, "tglc", "v1", "llc")
    assert pickle.loads(pickle.dumps(facts)) == facts


@pytest.mark.parametrize(
    ("cards", "hlspver", "hlspid"),
    [
        ({"HLSP_VER": "v2"}, "v2", None),
        ({"HLSPVER": True, "HLSPID": ""}, None, None),
        ({"HLSPVER": None, "HLSPID": 5}, None, "5"),
    ],
)
def test_member_facts_variants_and_odd_values(cards: dict[str, Value], hlspver, hlspid):
    facts = member_facts("f", [Header(0, [Card(k, v) for k, v in cards.items()])], None, None, None)
    assert (facts.hlspver, facts.hlspid) == (hlspver, hlspid)
