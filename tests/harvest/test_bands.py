"""The filter band table and its lookups (catalog.harvest.bands), and the coarse wavebands
(catalog.graphql.enums)."""

from __future__ import annotations

import math
import re
import timeit
from collections import Counter

import pytest

from catalog.graphql.enums import WAVEBANDS, waveband
from catalog.harvest import bands
from catalog.harvest.bands import band_range, bands_range

A = 1e-10  # Angstrom in metres


def angstrom(found: tuple[float, float] | None) -> tuple[float, float]:
    assert found is not None
    return round(found[0] / A, 1), round(found[1] / A, 1)


# -- the table --------------------------------------------------------------------------------


def test_every_row_is_a_physical_band() -> None:
    rows = bands.rows()
    assert len(rows) > 200
    for row in rows:
        assert 0 < row.em_min < row.em_max, row
        assert row.em_min >= 1e-10, row  # 0.1 nm
        assert row.em_max <= 1e-3, row  # 1 mm
        assert row.em_max / row.em_min < 3, row  # no leak-dominated or runaway rows
        assert row.curve in {"system", "filter"}, row
        assert row.source, row


def test_rows_are_unique() -> None:
    keys = Counter((r.facility, r.instrument, r.filter.upper()) for r in bands.rows())
    assert [k for k, n in keys.items() if n > 1] == []


def test_coverage_per_instrument() -> None:
    count = Counter((r.facility, r.instrument) for r in bands.rows())
    assert count[("HST", "ACS/WFC")] == 13
    assert count[("JWST", "NIRCam")] == 29
    assert count[("JWST", "NIRISS")] == 12
    assert count[("JWST", "MIRI")] == 9
    assert count[("PS1", "GPC1")] == 6
    assert count[("SDSS", "SDSS")] == 5
    assert count[("WISE", "WISE")] == 4
    assert count[("Spitzer", "IRAC")] == 4
    assert count[("Spitzer", "MIPS")] == 3
    assert count[("2MASS", "2MASS")] == 3
    assert count[("GALEX", "GALEX")] == 2


# Published values (SVO WavelengthMin/Max, or the 1 % rule on the cited curve) and a central
# wavelength from an independent figure: the SVO WavelengthMean of the same profile, the
# curve's pivot, or the mission's quoted band centre.
KNOWN = [
    (("HST", "ACS/WFC", "F606W"), (4625.8, 7179.3), 5917.7),  # pivot of the synphot curve
    (("JWST", "NIRCam", "F200W"), (17232.8, 22593.6), 19933.9),  # SVO WavelengthMean
    (("TESS", None, None), (5711.4, 10615.9), 7865.0),  # Cousins I centre, Ricker+2015
    (("GALEX", None, "NUV"), (1692.5, 3006.7), 2315.7),  # SVO WavelengthMean
    (("2MASS", None, "Ks"), (19543.7, 23552.4), 21590.0),  # SVO WavelengthMean
    (("WISE", None, "W4"), (195200.8, 279107.2), 220883.0),  # SVO WavelengthMean
    (("Kepler", None, None), (4183.7, 9050.2), 6416.8),  # SVO WavelengthMean
]


@pytest.mark.parametrize(("key", "edges", "central"), KNOWN)
def test_known_values(
    key: tuple[str, str | None, str | None], edges: tuple[float, float], central: float
) -> None:
    found = angstrom(band_range(*key))
    assert found == edges
    assert found[0] < central < found[1]


def test_edges_bracket_the_wavelength_in_the_name() -> None:
    # F606W is centred near 606 nm, NIRCam F200W near 2.00 um, WFC3/IR F160W near 1.60 um.
    for row in bands.rows():
        match = re.match(r"^FQ?(\d{3,4})", row.filter)
        if row.facility not in {"HST", "JWST"} or match is None:
            continue
        digits = int(match.group(1))
        infrared = row.facility == "JWST" or row.instrument.startswith(("WFC3/IR", "NICMOS"))
        nominal = digits * (1e-8 if infrared else 1e-9)
        assert row.em_min < nominal < row.em_max, row


# -- aliases ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (("HST", "ACS/WFC", "f606w"), ("HST", "ACS/WFC", "F606W")),
        (("hst", "acs_wfc", "F606W"), ("HST", "ACS/WFC", "F606W")),
        (("Hubble", "WFC3", "F606W"), ("HST", "WFC3/UVIS", "F606W")),
        (("HST", "WFC3/UVIS", "F606W"), ("HST", "WFC3/UVIS", "F606W")),
        (("HST", "ACS", "CLEAR1L;F814W"), ("HST", "ACS/*", "F814W")),
        (("HST", "ACS", "F814W;CLEAR2L"), ("HST", "ACS/*", "F814W")),
        (("HST", "ACS/WFC", "CLEAR1L;F814W"), ("HST", "ACS/WFC", "F814W")),
        ((None, "WFC3/IR", "F160W"), ("HST", "WFC3/IR", "F160W")),
        (("HST", "NIC1", "F110W"), ("HST", "NICMOS/*", "F110W")),
        (("JWST", "NIRCAM", "F444W;CLEAR"), ("JWST", "NIRCam", "F444W")),
        (("JWST", "NIRCAM", "F444W;F405N"), ("JWST", "NIRCam", "F405N")),
        (("JWST", "NIRISS", "CLEAR;F150W"), ("JWST", "NIRISS", "F150W")),
        (("jwst", "miri", "f770w"), ("JWST", "MIRI", "F770W")),
        (("TESS", None, "TESS"), ("TESS", "TESS", "TESS")),
        (("tess", None, "tess"), ("TESS", "TESS", "TESS")),
        ((None, "TESS", None), ("TESS", "TESS", "TESS")),
        (("TESS", "TESS", ""), ("TESS", "TESS", "TESS")),
        (("K2", None, None), ("Kepler", "Kepler", "Kp")),
        (("Kepler", "Kepler", "KEPLER"), ("Kepler", "Kepler", "Kp")),
        (("GALEX", None, "nuv"), ("GALEX", "GALEX", "NUV")),
        (("GALEX", None, "2"), ("GALEX", "GALEX", "FUV")),
        (("PS1", None, "g.00000"), ("PS1", "GPC1", "g")),
        (("Pan-STARRS1", "GPC1", "r"), ("PS1", "GPC1", "r")),
        (("SDSS", None, "r"), ("SDSS", "SDSS", "r")),
        (("2MASS", None, "Ks"), ("2MASS", "2MASS", "Ks")),
        (("2MASS", None, "K_s"), ("2MASS", "2MASS", "Ks")),
        (("2MASS", None, "KS"), ("2MASS", "2MASS", "Ks")),
        (("WISE", None, "w1"), ("WISE", "WISE", "W1")),
        (("WISE", None, "WISE W1"), ("WISE", "WISE", "W1")),
        (("Spitzer", "IRAC", "IRAC1"), ("Spitzer", "IRAC", "I1")),
        (("Spitzer", None, "ch1"), ("Spitzer", "IRAC", "I1")),
        (("Spitzer", "IRAC", "I1"), ("Spitzer", "IRAC", "I1")),
        (("Spitzer", "IRAC", "3.6"), ("Spitzer", "IRAC", "I1")),
        (("Spitzer", "IRAC", "[8.0]"), ("Spitzer", "IRAC", "I4")),
        (("Spitzer", "MIPS", "24um"), ("Spitzer", "MIPS", "24")),
        ((None, None, "F606W"), ("HST", "*", "F606W")),
    ],
)
def test_aliases(
    query: tuple[str | None, str | None, str | None], expected: tuple[str, str, str]
) -> None:
    facility, instrument, name = expected
    rows = [
        r
        for r in bands.rows()
        if r.facility == facility
        and r.filter == name
        and (instrument == "*" or r.instrument.startswith(instrument.rstrip("*")))
    ]
    assert rows, expected
    union = (min(r.em_min for r in rows), max(r.em_max for r in rows))
    assert band_range(*query) == union


def test_ambiguous_instrument_gives_the_union_of_its_family_or_facility() -> None:
    each = [
        angstrom(band_range("HST", instrument, "F606W"))
        for instrument in ("ACS/WFC", "ACS/HRC", "WFC3/UVIS", "WFPC2")
    ]
    assert angstrom(band_range("HST", None, "F606W")) == (
        min(lo for lo, _ in each),
        max(hi for _, hi in each),
    )
    wfc, hrc = each[:2]
    assert angstrom(band_range("HST", "ACS", "F606W")) == (min(wfc[0], hrc[0]), max(wfc[1], hrc[1]))
    assert band_range("HST", "NOT-AN-INSTRUMENT", "F606W") == band_range("HST", None, "F606W")


def test_observatory_wins_over_an_instrument_of_another_facility() -> None:
    assert band_range("HST", "NIRCAM", "F606W") == band_range("HST", None, "F606W")


# -- unions -----------------------------------------------------------------------------------


def test_bands_range_is_the_union() -> None:
    found = angstrom(bands_range("HST", "ACS/WFC", ["F435W", "F606W", "F814W"]))
    assert found == (3604.8, 9643.6)


def test_hyphenated_products_are_unions() -> None:
    assert band_range("HST", "ACS/WFC", "f606w-f814w") == bands_range(
        "HST", "ACS/WFC", ["F606W", "F814W"]
    )
    assert bands_range("HST", "ACS/WFC", ["f606w-f814w"]) == band_range(
        "HST", "ACS/WFC", "f606w-f814w"
    )


def test_multi_with_numbered_filters() -> None:
    filters = ["MULTI", "F435W", "F775W", "F850LP"]
    assert angstrom(bands_range("HST", "ACS/WFC", filters)) == (3604.8, 10925.3)


def test_unresolvable_filters_are_skipped() -> None:
    assert bands_range("HST", "ACS/WFC", ["F606W", "FR656N"]) == band_range(
        "HST", "ACS/WFC", "F606W"
    )
    assert bands_range("HST", "ACS/WFC", ["FR656N", "POL0V"]) is None
    assert bands_range("HST", "ACS/WFC", []) is None


def test_empty_filter_list_uses_the_single_band_of_a_facility() -> None:
    assert bands_range("TESS", None, [""]) == band_range("TESS", None, None)
    assert bands_range("GALEX", None, [""]) is None


def test_disjoint_light_path_stays_wide() -> None:
    found = angstrom(band_range("HST", "ACS/WFC", "F435W;F850LP"))
    assert found == (3604.8, 10925.3)


# -- unknown ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        ("HST", None, "BOGUS"),
        ("HST", "ACS/WFC", None),
        ("HST", "ACS/WFC", "CLEAR1L;CLEAR2L"),
        ("HST", "ACS/WFC", "F336W"),  # a WFC3/WFPC2 filter, not an ACS one
        ("HST", "ACS/SBC", "F125LP"),  # not in the table
        ("HST", "STIS", "CLEAR"),
        ("JWST", "NIRSPEC", "F290LP"),  # spectra: use their wavelength axis
        (None, None, "F150W"),  # HST NICMOS and JWST: ambiguous
        (None, None, "g"),  # SDSS and PS1: ambiguous
        (None, None, None),
        ("Gaia", None, "G"),
    ],
)
def test_unknown(query: tuple[str | None, str | None, str | None]) -> None:
    assert band_range(*query) is None


def test_an_unknown_observatory_is_guessed_from_a_specific_filter_name() -> None:
    assert band_range("HLSP", None, "F606W") == band_range("HST", None, "F606W")
    assert band_range(None, None, "F444W") == band_range("JWST", None, "F444W")


# -- wavebands --------------------------------------------------------------------------------


def test_waveband_of_common_filters() -> None:
    def of(*key: str | None) -> tuple[str, ...]:
        found = band_range(*key)
        assert found is not None
        return waveband(*found)

    assert of("GALEX", None, "FUV") == ("uv",)
    assert of("GALEX", None, "NUV") == ("uv", "optical")
    assert of("HST", "ACS/WFC", "F606W") == ("optical",)
    assert of("HST", "ACS/WFC", "F850LP") == ("optical", "infrared")
    assert of("2MASS", None, "J") == ("infrared",)
    # the IVOA note puts 100-200 um in the millimetre regime
    assert of("Spitzer", "MIPS", "70") == ("infrared", "millimeter")
    assert of("Spitzer", "MIPS", "160") == ("millimeter",)


def test_waveband_boundaries_belong_to_the_longer_band() -> None:
    assert waveband(3e-7, 1e-6) == ("optical",)
    assert waveband(1e-6, 1e-6) == ("infrared",)
    assert waveband(3e-7, 3e-7) == ("optical",)
    assert waveband(2.9e-7, 3.1e-7) == ("uv", "optical")
    assert waveband(1e-12, 1e-12) == ("gamma-ray",)
    assert waveband(1e-11, 1e-8) == ("x-ray",)
    assert waveband(5e-8, 5e-8) == ("euv",)
    assert waveband(1e-3, 1e-3) == ("millimeter",)
    assert waveband(0.21, 0.21) == ("radio",)
    assert waveband(1e-12, 1.0) == tuple(name for name, _ in WAVEBANDS)


@pytest.mark.parametrize(
    "bad", [(0.0, 1e-6), (-1e-7, 1e-6), (2e-6, 1e-6), (math.nan, 1e-6), (1e-7, math.inf)]
)
def test_waveband_rejects_non_ranges(bad: tuple[float, float]) -> None:
    with pytest.raises(ValueError, match="not a wavelength range"):
        waveband(*bad)


# -- speed ------------------------------------------------------------------------------------


def test_repeated_lookups_are_fast() -> None:
    band_range("HST", "WFC3/UVIS", "CLEAR;F606W")
    bands_range("HST", "ACS", ["F606W", "F814W"])
    n = 20_000
    single = timeit.timeit(lambda: band_range("HST", "WFC3/UVIS", "CLEAR;F606W"), number=n) / n
    several = timeit.timeit(lambda: bands_range("HST", "ACS", ["F606W", "F814W"]), number=n) / n
    assert single < 5e-6  # a dict hit: ~0.1 us here; generous for a loaded CI machine
    assert several < 2e-5
