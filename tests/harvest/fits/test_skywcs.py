"""Image corners and spectral ranges against astropy.wcs (the reference implementation)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.harvest.fits.reader import Card, Header
from catalog.harvest.fits.skywcs import (
    angular_distance,
    image_corners,
    length_unit,
    number,
    pixel_to_sky,
    spectral_range,
)


def kw(cards: dict[str, object]) -> Header:
    return Header(0, [Card(k, v) for k, v in cards.items()])  # type: ignore[arg-type]


def _astropy_sky(header: dict[str, object], px: float, py: float) -> tuple[float, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wcs = WCS(fits.Header(header))
    ra, dec = wcs.all_pix2world([[px, py]], 1)[0]
    return float(ra) % 360.0, float(dec)


@settings(max_examples=150, deadline=None)
@given(
    ra0=st.floats(0, 359.99),
    dec0=st.floats(-89, 89),
    scale=st.floats(1e-5, 5e-3),
    rot=st.floats(0, 360),
    n1=st.integers(10, 8000),
    n2=st.integers(10, 8000),
    code=st.sampled_from(["TAN", "SIN", "ARC", "ZEA", "STG"]),
    use_cd=st.booleans(),
    flip=st.booleans(),
)
def test_corners_match_astropy(ra0, dec0, scale, rot, n1, n2, code, use_cd, flip):
    c, s = math.cos(math.radians(rot)), math.sin(math.radians(rot))
    sx = -scale if not flip else scale
    header: dict[str, object] = {
        "NAXIS": 2,
        "NAXIS1": n1,
        "NAXIS2": n2,
        "CTYPE1": f"RA---{code}",
        "CTYPE2": f"DEC--{code}",
        "CRVAL1": ra0,
        "CRVAL2": dec0,
        "CRPIX1": n1 / 2 + 0.3,
        "CRPIX2": n2 / 2 - 0.7,
    }
    if use_cd:
        header |= {"CD1_1": sx * c, "CD1_2": -scale * s, "CD2_1": sx * s, "CD2_2": scale * c}
    else:
        header |= {"CDELT1": sx, "CDELT2": scale, "PC1_1": c, "PC1_2": -s, "PC2_1": s, "PC2_2": c}
    for px, py in [(0.5, 0.5), (n1 + 0.5, 0.5), (n1 / 3, n2 + 0.5)]:
        ours = pixel_to_sky(kw(header), px, py)
        assert ours is not None
        assert angular_distance(ours, _astropy_sky(header, px, py)) < 1e-7  # < 0.4 mas


def test_corners_are_counter_clockwise_and_cover_the_image():
    header = {
        "NAXIS": 2,
        "NAXIS1": 1000,
        "NAXIS2": 800,
        "CTYPE1": "RA---TAN",
        "CTYPE2": "DEC--TAN",
        "CRVAL1": 53.16,
        "CRVAL2": -27.78,
        "CRPIX1": 500.5,
        "CRPIX2": 400.5,
        "CD1_1": -1e-4,
        "CD1_2": 0.0,
        "CD2_1": 0.0,
        "CD2_2": 1e-4,
    }
    corners = image_corners(kw(header))
    assert corners is not None and len(corners) == 4
    # east is left (RA decreases to the right): counter-clockwise means RA then Dec rising
    diag = angular_distance(corners[0], corners[2])
    assert diag == pytest.approx(math.hypot(1000, 800) * 1e-4, rel=1e-3)
    area = sum(
        (a[0] - 53.16) * (b[1] + 27.78) - (b[0] - 53.16) * (a[1] + 27.78)
        for a, b in zip(corners, corners[1:] + corners[:1], strict=True)
    )
    assert area > 0


def test_no_celestial_wcs_gives_nothing():
    assert image_corners(kw({"NAXIS": 2, "NAXIS1": 10, "NAXIS2": 10})) is None
    assert (
        image_corners(
            kw({"NAXIS": 2, "NAXIS1": 10, "NAXIS2": 10, "CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN"})
        )
        is None
    )  # no CRVAL/CRPIX
    assert (
        pixel_to_sky(
            kw(
                {
                    "CTYPE1": "RA---TAN",
                    "CTYPE2": "DEC--TAN",
                    "CRVAL1": 10,
                    "CRVAL2": 95,
                    "CRPIX1": 1,
                    "CRPIX2": 1,
                }
            ),
            1,
            1,
        )
        is None
    )


@pytest.mark.parametrize(
    ("unit", "algorithm", "factor"),
    [
        ("Angstrom", "", 1e-10),
        ("nm", "", 1e-9),
        ("um", "", 1e-6),
        ("m", "", 1.0),
        ("Angstrom", "LOG", 1e-10),
        (None, "", 1.0),
    ],
)
def test_spectral_range_matches_astropy(unit, algorithm, factor):
    crval = 5000.0 if factor != 1.0 else 5e-7
    step = 1.5 if factor != 1.0 else 1.5e-10
    ctype = "WAVE" + (f"-{algorithm}" if algorithm else "")
    header: dict[str, object] = {
        "NAXIS": 1,
        "NAXIS1": 2048,
        "CTYPE1": ctype,
        "CRVAL1": crval,
        "CRPIX1": 10.0,
        "CDELT1": step,
    }
    if unit:
        header["CUNIT1"] = unit
    found = spectral_range(kw(header))
    assert found is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wcs = WCS(fits.Header(header))
    world = wcs.all_pix2world(np.array([[1.0], [2048.0]]), 1)[:, 0]
    expected = sorted(float(w) for w in world)  # astropy converts WAVE to SI metres
    assert found[0] == pytest.approx(expected[0], rel=1e-9)
    assert found[1] == pytest.approx(expected[1], rel=1e-9)
    assert found[2] == 2048


def test_spectral_range_refuses_what_it_cannot_compute():
    assert (
        spectral_range(
            kw({"NAXIS": 1, "NAXIS1": 10, "CTYPE1": "FREQ", "CRVAL1": 1e9, "CDELT1": 1e6})
        )
        is None
    )
    assert (
        spectral_range(
            kw({"NAXIS": 1, "NAXIS1": 10, "CTYPE1": "WAVE-TAB", "CRVAL1": 1.0, "CDELT1": 1.0})
        )
        is None
    )
    assert (
        spectral_range(
            kw(
                {
                    "NAXIS": 1,
                    "NAXIS1": 10,
                    "CTYPE1": "WAVE",
                    "CRVAL1": 1.0,
                    "CDELT1": 1.0,
                    "CUNIT1": "Jy",
                }
            )
        )
        is None
    )


def test_numbers_and_units():
    assert number("  12.5 ") == 12.5
    assert number(True) is None
    assert number("nan") is None
    assert number(float("inf")) is None
    assert number(3) == 3.0
    assert length_unit("Angstrom") == 1e-10
    assert length_unit("µm") == 1e-6
    assert length_unit("erg/s") is None


@pytest.mark.parametrize(
    ("frame", "astropy_frame"), [("G", "galactic"), ("E", "barycentricmeanecliptic")]
)
def test_galactic_and_ecliptic_images_land_where_astropy_puts_them(frame, astropy_frame):
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    header = {
        "NAXIS": 2,
        "NAXIS1": 100,
        "NAXIS2": 100,
        "CTYPE1": f"{frame}LON-TAN",
        "CTYPE2": f"{frame}LAT-TAN",
        "CRVAL1": 0.3,
        "CRVAL2": -0.2,
        "CRPIX1": 50.5,
        "CRPIX2": 50.5,
        "CDELT1": -1e-3,
        "CDELT2": 1e-3,
    }
    lon, lat = _astropy_sky(header, 1.0, 100.0)  # astropy: native frame coordinates
    expected = SkyCoord(lon * u.deg, lat * u.deg, frame=astropy_frame).icrs
    ours = pixel_to_sky(kw(header), 1.0, 100.0)
    assert ours is not None
    # the ecliptic of date vs J2000 mean ecliptic differ by < 0.1"; galactic is exact
    assert angular_distance(ours, (expected.ra.deg, expected.dec.deg)) < 0.5 / 3600


def test_all_sky_projections_get_no_footprint():
    header = {
        "NAXIS": 2,
        "NAXIS1": 360,
        "NAXIS2": 180,
        "CTYPE1": "RA---CAR",
        "CTYPE2": "DEC--CAR",
        "CRVAL1": 180.0,
        "CRVAL2": 0.0,
        "CRPIX1": 180.5,
        "CRPIX2": 90.5,
        "CDELT1": -1.0,
        "CDELT2": 1.0,
    }
    assert image_corners(kw(header)) is None
