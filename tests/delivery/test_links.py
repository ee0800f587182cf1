"""Where a product's documentation and provenance inputs link to, from the catalog's text."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from catalog.delivery.links import Input, archive_url, paper_url, qualifier


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlparse(url).query)


@pytest.mark.parametrize(
    ("identifier", "mission"),
    [
        ("odbue5030_x1d.fits", "HST"),
        ("jw01234001001_02101_00001_nrca1_cal.fits", "JWST"),
        ("tess2019359002923-s0020-0000000261136679-0165-s_lc.fits", "TESS"),
    ],
)
def test_mission_files_link_to_their_mast_download(identifier: str, mission: str) -> None:
    url, what = archive_url(Input("file", identifier, None, None, None))
    assert url.startswith("https://mast.stsci.edu/api/v0.1/Download/file?")
    assert _query(url)["uri"] == [f"mast:{mission}/product/{identifier}"]
    assert identifier in what


def test_programs_link_to_their_pages() -> None:
    url, _ = archive_url(Input("program", "2107", "JWST", None, None))
    assert url.startswith("https://www.stsci.edu/jwst/") and _query(url)["id"] == ["2107"]
    url, _ = archive_url(Input("program", "15654", "HST", None, None))
    assert _query(url) == {"id": ["15654"], "observatory": ["HST"]}


@pytest.mark.parametrize(
    ("kind", "identifier"),
    [
        ("observation", "leks55v4q"),
        ("observation", "jw02107-o001_t001_nircam_clear-f150w"),
        ("observation", "tess-s0058-4-2"),
        ("file", "some notes & more?.txt"),
        ("program", "not a number"),
    ],
)
def test_other_inputs_are_a_mast_search_for_them(kind: str, identifier: str) -> None:
    url, _ = archive_url(Input(kind, identifier, None, None, None))
    assert url.startswith("https://mast.stsci.edu/portal/")
    assert _query(url)["searchQuery"] == [identifier]


@pytest.mark.parametrize(
    ("reference", "url"),
    [
        ("2020ApJ...896..123S", "https://ui.adsabs.harvard.edu/abs/2020ApJ...896..123S"),
        (
            "Smith et al. 2019, AJ 157, 98 (2019AJ....157...98S)",
            "https://ui.adsabs.harvard.edu/abs/2019AJ....157...98S",
        ),
        ("https://arxiv.org/abs/2101.00001", "https://arxiv.org/abs/2101.00001"),
        ("Smith et al., in preparation", None),
        ("", None),
        (None, None),
        ("javascript:alert(1)", None),
    ],
)
def test_reference_papers(reference: str | None, url: str | None) -> None:
    assert paper_url(reference) == url


def test_product_types() -> None:
    assert qualifier("image") == "#image" and qualifier("timeseries") == "#timeseries"
    assert qualifier(None) is None and qualifier("something else") is None
