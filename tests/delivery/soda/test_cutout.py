"""Cutouts of real and generated images, opened with astropy: the WCS of a cut agrees with
the original's at the cut's corners, the data are the original's pixels, the region is in
the cut, the original's cards and a provenance card are there."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS
from astropy.wcs.utils import proj_plane_pixel_scales

from catalog.corpus import Corpus, GeneratedFile
from catalog.delivery.soda.cutout import cut, file_name_for
from catalog.delivery.soda.errors import NoOverlap, ProductUnreadable, SodaError, UsageError
from catalog.delivery.soda.params import parse_request
from catalog.delivery.soda.shapes import Circle, Polygon, Range
from tests.support.db import shared_path

IMAGE_KINDS = ["jwst", "hst", "galex", "sim"]
STRUCTURAL = {"NAXIS1", "NAXIS2", "NAXIS3", "CRPIX1", "CRPIX2", "CRPIX3", "CHECKSUM", "DATASUM"}


def cut_open(path: Path, items: list[tuple[str, str]], tmp_path: Path, **kw: Any) -> fits.HDUList:
    result = cut(
        path, parse_request(items), max_output_bytes=kw.pop("max_bytes", 10**8), work_dir=tmp_path
    )
    assert result.path.parent == tmp_path and result.size == result.path.stat().st_size
    assert result.file_name.endswith("_cutout.fits")
    return fits.open(result.path)


def science(hdul: fits.HDUList) -> int:
    """The index of the first image HDU with a celestial WCS."""
    return next(
        i
        for i, h in enumerate(hdul)
        if h.is_image and h.header.get("NAXIS", 0) >= 2 and WCS(h.header).has_celestial
    )


def sky(wcs: WCS, x: float, y: float) -> SkyCoord:
    ra, dec = wcs.celestial.pixel_to_world_values(x, y)
    return SkyCoord(float(ra), float(dec), unit="deg")


def offset_in_original(original: WCS, cut_wcs: WCS) -> tuple[int, int]:
    """Where the cut's pixel (0, 0) lies in the original: whole pixels, or the WCS moved."""
    x, y = original.world_to_pixel_values(*cut_wcs.pixel_to_world_values(0, 0))
    ox, oy = round(float(x)), round(float(y))
    assert abs(x - ox) < 1e-6 and abs(y - oy) < 1e-6, (x, y)
    return ox, oy


def assert_wcs_and_pixels_agree(source: fits.ImageHDU, piece: fits.ImageHDU) -> tuple[int, int]:
    original, moved = WCS(source.header), WCS(piece.header)
    ox, oy = offset_in_original(original, moved)
    ny, nx = piece.data.shape
    assert np.array_equal(piece.data, source.data[oy : oy + ny, ox : ox + nx], equal_nan=True)
    for x, y in [(-0.5, -0.5), (nx - 0.5, -0.5), (nx - 0.5, ny - 0.5), (-0.5, ny - 0.5)]:
        separation = sky(moved, x, y).separation(sky(original, x + ox, y + oy)).deg
        assert separation < 1e-6, (x, y, separation)
    return ox, oy


def assert_inside(wcs: WCS, shape: tuple[int, ...], ra: float, dec: float) -> None:
    x, y = wcs.celestial.world_to_pixel_values(ra, dec)
    assert -0.5 <= x <= shape[-1] - 0.5 and -0.5 <= y <= shape[-2] - 0.5, (x, y)


def around(path: Path, x: float, y: float) -> tuple[float, float, float]:
    """RA, Dec of an image pixel and the image's pixel scale (deg)."""
    with fits.open(path) as hdul:
        wcs = WCS(hdul[science(hdul)].header).celestial
    ra, dec = wcs.pixel_to_world_values(x, y)
    return float(ra), float(dec), float(proj_plane_pixel_scales(wcs).mean())


def shapes_at(ra: float, dec: float, scale: float) -> list[tuple[str, str, Any]]:
    cos = np.cos(np.radians(dec))
    return [
        ("CIRCLE", f"{ra} {dec} {2.5 * scale}", Circle(ra, dec, 2.5 * scale)),
        (
            "POS",
            f"RANGE {ra - 3 * scale / cos} {ra + 3 * scale / cos} {dec - 2 * scale} "
            f"{dec + 2 * scale}",
            Range(ra - 3 * scale / cos, ra + 3 * scale / cos, dec - 2 * scale, dec + 2 * scale),
        ),
        (
            "POLYGON",
            f"{ra - 2 * scale / cos} {dec - 2 * scale} {ra + 3 * scale / cos} {dec} "
            f"{ra} {dec + 3 * scale}",
            Polygon(
                (
                    (ra - 2 * scale / cos, dec - 2 * scale),
                    (ra + 3 * scale / cos, dec),
                    (ra, dec + 3 * scale),
                )
            ),
        ),
    ]


@pytest.mark.parametrize("kind", IMAGE_KINDS)
@pytest.mark.parametrize("spelling", ["CIRCLE", "RANGE", "POLYGON"])
def test_image_cutouts_keep_the_wcs_pixels_and_cards(
    images: dict[str, GeneratedFile], kind: str, spelling: str, tmp_path: Path
) -> None:
    path = images[kind].path
    ra, dec, scale = around(path, 5.3, 9.6)
    name, value, shape = next(s for s in shapes_at(ra, dec, scale) if spelling in s[0] + s[1])
    with fits.open(path) as source, cut_open(path, [(name, value)], tmp_path) as piece:
        index = science(source)
        assert science(piece) == index
        ox, oy = assert_wcs_and_pixels_agree(source[index], piece[index])
        moved = WCS(piece[index].header)
        shape_of_cut = piece[index].data.shape
        assert shape_of_cut[0] < 16 and shape_of_cut[1] < 16, "a small region, a small cut"
        assert_inside(moved, shape_of_cut, ra, dec)
        # every point of the region's outline that is on the image is in the cut
        x, y = WCS(source[index].header).celestial.world_to_pixel_values(*shape.outline())
        on = (x >= -0.5) & (x <= 15.5) & (y >= -0.5) & (y <= 15.5)
        assert on.any()
        assert (x[on] - ox >= -0.5 - 1e-9).all() and (
            x[on] - ox <= shape_of_cut[1] - 0.5 + 1e-9
        ).all()
        assert (y[on] - oy >= -0.5 - 1e-9).all() and (
            y[on] - oy <= shape_of_cut[0] - 0.5 + 1e-9
        ).all()
        for number, hdu in enumerate(piece):
            original = source[number].header
            kept = {k for k in original if k not in STRUCTURAL and k not in {"", "HISTORY"}}
            assert kept <= set(hdu.header), kept - set(hdu.header)
            for key in kept - {"COMMENT"}:
                if key not in STRUCTURAL:
                    assert hdu.header[key] == original[key], key
        for header in (piece[0].header, piece[index].header):
            assert header["SODACUT"] == shape.describe()
            assert header["SODASRC"] == path.name
        assert any("SODA cutout of HDU" in h for h in piece[index].header["HISTORY"])


def test_an_error_array_without_a_wcs_is_cut_with_its_science_array(
    images: dict[str, GeneratedFile], tmp_path: Path
) -> None:
    path = images["jwst"].path
    ra, dec, scale = around(path, 8.0, 4.0)
    with (
        fits.open(path) as source,
        cut_open(path, [("CIRCLE", f"{ra} {dec} {2 * scale}")], tmp_path) as piece,
    ):
        assert [h.name for h in piece] == [h.name for h in source] == ["PRIMARY", "SCI", "ERR"]
        assert not WCS(source["ERR"].header).has_celestial
        sci, err = piece["SCI"], piece["ERR"]
        assert err.data.shape == sci.data.shape
        ox, oy = offset_in_original(WCS(source["SCI"].header), WCS(sci.header))
        ny, nx = err.data.shape
        assert np.array_equal(err.data, source["ERR"].data[oy : oy + ny, ox : ox + nx])
        assert WCS(err.header).has_celestial
        assert sky(WCS(err.header), 0, 0).separation(sky(WCS(sci.header), 0, 0)).deg < 1e-9


def test_a_region_larger_than_the_image_gives_the_whole_image(
    images: dict[str, GeneratedFile], tmp_path: Path
) -> None:
    path = images["hst"].path
    ra, dec, _ = around(path, 7.5, 7.5)
    for items in ([("CIRCLE", f"{ra} {dec} 5")], [("POS", "RANGE -Inf +Inf -Inf +Inf")]):
        with fits.open(path) as source, cut_open(path, items, tmp_path) as piece:
            assert piece["SCI"].data.shape == source["SCI"].data.shape
            assert assert_wcs_and_pixels_agree(source["SCI"], piece["SCI"]) == (0, 0)


def test_a_region_over_an_edge_is_trimmed_to_the_image(
    images: dict[str, GeneratedFile], tmp_path: Path
) -> None:
    path = images["galex"].path  # a simple FITS file: the image is the primary HDU
    ra, dec, scale = around(path, -1.0, 8.0)
    with (
        fits.open(path) as source,
        cut_open(path, [("CIRCLE", f"{ra} {dec} {3 * scale}")], tmp_path) as piece,
    ):
        assert len(piece) == 1
        ox, _ = assert_wcs_and_pixels_agree(source[0], piece[0])
        assert ox == 0
        assert piece[0].data.shape[1] in (2, 3)  # pixels 0..1 (or 2) of the 3-pixel radius


def test_a_region_beside_the_image_is_no_overlap_naming_where_the_image_is(
    images: dict[str, GeneratedFile], tmp_path: Path
) -> None:
    path = images["jwst"].path
    ra, dec, _ = around(path, 7.5, 7.5)
    far = (ra + 180) % 360
    for items in (
        [("CIRCLE", f"{ra} {dec + 1.0 if dec < 80 else dec - 1.0} 0.1")],
        [("CIRCLE", f"{far} {-dec} 1")],  # the opposite side of the sky
        [("POLYGON", f"{far} {-dec} {(far + 1) % 360} {-dec} {far} {-dec + 1}")],
    ):
        with pytest.raises(NoOverlap, match=r"the cut misses the product: HDU 1 covers a field"):
            cut(path, parse_request(items), max_output_bytes=10**8, work_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_the_size_bound_refuses_a_large_cut_before_reading(
    images: dict[str, GeneratedFile], tmp_path: Path
) -> None:
    path = images["hst"].path
    ra, dec, _ = around(path, 7.5, 7.5)
    with pytest.raises(UsageError, match="more than this service's limit of 3,000"):
        cut(path, parse_request([("CIRCLE", f"{ra} {dec} 5")]), max_output_bytes=3000)


def test_the_cube_is_cut_in_space_and_wavelength(cube: GeneratedFile, tmp_path: Path) -> None:
    with fits.open(cube.path) as source:
        wcs = WCS(source["SCI"].header)
        centre = wcs.celestial.pixel_to_world_values(1.5, 1.5)
        scale = float(proj_plane_pixel_scales(wcs.celestial).mean())
        waves = wcs.spectral.pixel_to_world_values(np.arange(8))  # wcslib: SI, m
    low, high = float(waves[2] + 1e-12), float(waves[5] - 1e-12)
    items = [("POS", f"CIRCLE {centre[0]} {centre[1]} {0.8 * scale}"), ("BAND", f"{low} {high}")]
    with fits.open(cube.path) as source, cut_open(cube.path, items, tmp_path) as piece:
        sci = piece["SCI"]
        moved = WCS(sci.header)
        planes = sci.data.shape[0]
        edges = moved.spectral.pixel_to_world_values(np.array([-0.5, planes - 0.5]))
        assert edges[0] <= low and edges[1] >= high  # the cut covers the band
        assert planes == 4  # planes 2..5 meet it, no more
        kept = moved.spectral.pixel_to_world_values(np.arange(planes))
        assert np.allclose(kept, waves[2:6], rtol=0, atol=1e-15)
        x, y = wcs.celestial.world_to_pixel_values(*moved.celestial.pixel_to_world_values(0, 0))
        ox, oy = round(float(x)), round(float(y))
        _, ny, nx = sci.data.shape
        assert np.array_equal(sci.data, source["SCI"].data[2:6, oy : oy + ny, ox : ox + nx])
        assert_inside(moved, sci.data.shape, *centre)
        assert sci.header["SODACUT"].startswith("CIRCLE ") and "; BAND " in sci.header["SODACUT"]
    with pytest.raises(NoOverlap, match=r"wavelengths .* m"):
        cut(cube.path, parse_request([("BAND", "2e-5 3e-5")]), max_output_bytes=10**8)


def test_band_alone_cuts_the_cube_planes(cube: GeneratedFile, tmp_path: Path) -> None:
    with fits.open(cube.path) as source:
        waves = WCS(source["SCI"].header).spectral.pixel_to_world_values(np.arange(8))
    point = float(waves[3])
    with cut_open(cube.path, [("BAND", f"{point} {point}")], tmp_path) as piece:
        assert piece["SCI"].data.shape == (1, 4, 4)  # SODA: a scalar band gives one plane


def _spectrum_check(piece: fits.HDUList, source: fits.HDUList, low: float, high: float) -> None:
    name = next(
        h.name
        for h in source
        if isinstance(h, fits.BinTableHDU) and "WAVELENGTH" in h.columns.names
    )
    before, after = source[name].data, piece[name].data
    unit = 1e-10  # Angstrom
    for row_before in before:
        in_band = (row_before["WAVELENGTH"] * unit >= low) & (
            row_before["WAVELENGTH"] * unit <= high
        )
        if in_band.any():
            match = [
                r
                for r in after
                if np.any(np.isin(r["WAVELENGTH"], row_before["WAVELENGTH"][in_band]))
            ]
            assert len(match) == 1
            row = match[0]
            assert np.array_equal(row["WAVELENGTH"], row_before["WAVELENGTH"][in_band])
            assert np.array_equal(row["FLUX"], row_before["FLUX"][in_band])
            if "NELEM" in after.columns.names:
                assert row["NELEM"] == in_band.sum()
    assert len(after) == sum(
        bool(((r["WAVELENGTH"] * unit >= low) & (r["WAVELENGTH"] * unit <= high)).any())
        for r in before
    )


def test_band_cuts_the_corpus_spectra(spectra: list[GeneratedFile], tmp_path: Path) -> None:
    assert len(spectra) >= 3
    for spectrum in spectra:
        with fits.open(spectrum.path) as source:
            waves = source["SCI"].data["WAVELENGTH"][0] * 1e-10
            low, high = float(waves[10]), float(waves[40])
            with cut_open(spectrum.path, [("BAND", f"{low} {high}")], tmp_path) as piece:
                _spectrum_check(piece, source, low, high)
                assert piece["SCI"].header["SODACUT"] == f"BAND {low:.10g} {high:.10g}"
                if "PROVENANCE" in source:
                    assert "PROVENANCE" in piece  # the co-add's inputs stay
            with pytest.raises(NoOverlap, match=r"covers .* Angstrom \(.* m\)"):
                cut(spectrum.path, parse_request([("BAND", "1e-3 2e-3")]), max_output_bytes=10**8)
            with pytest.raises(UsageError, match="POS cannot be applied to this product"):
                cut(spectrum.path, parse_request([("CIRCLE", "10 10 1")]), max_output_bytes=10**8)


@pytest.mark.shared
def test_band_cuts_the_orders_of_a_real_stis_echelle_spectrum(tmp_path: Path) -> None:
    path = shared_path("data", "fits", "mission", "odbue5030_x1d.fits")
    low, high = 2.3e-7, 2.31e-7
    with fits.open(path) as source, cut_open(path, [("BAND", f"{low} {high}")], tmp_path) as piece:
        assert len(piece["SCI"].data) == 2  # two echelle orders reach 2300-2310 Angstrom
        _spectrum_check(piece, source, low, high)
        diff = fits.HeaderDiff(
            source[0].header,
            piece[0].header,
            ignore_keywords=["SODACUT", "SODASRC", "CHECKSUM", "DATASUM", "BITPIX"],  # no data
            ignore_comments=["*"],
        )
        assert diff.identical or set(diff.diff_keyword_values) <= {"HISTORY"}, diff.report()
        assert not diff.diff_keywords  # nothing left out, nothing added but the SODA cards
        assert piece[0].header["SODACUT"] == "BAND 2.3e-07 2.31e-07"


@pytest.mark.shared
def test_the_real_jwst_image_has_no_fits_wcs_and_says_so(tmp_path: Path) -> None:
    path = shared_path("data", "fits", "mission", "jwst_image.fits")
    with pytest.raises(UsageError, match="no image in it has a celestial FITS WCS"):
        cut(path, parse_request([("CIRCLE", "10 10 0.1")]), max_output_bytes=10**8)


def test_scaled_integers_are_cut_as_their_physical_values(tmp_path: Path) -> None:
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval, wcs.wcs.crpix, wcs.wcs.cdelt = [150.0, 2.0], [10.5, 10.5], [-1e-3, 1e-3]
    raw = np.arange(400, dtype=np.int16).reshape(20, 20)
    raw[10, 10] = 7  # BLANK: no value
    scaled = fits.ImageHDU(raw, wcs.to_header(), name="SCI")
    scaled.header.update(BSCALE=0.5, BZERO=100.0, BLANK=7)
    unsigned = fits.ImageHDU(
        np.arange(400, dtype=np.uint16).reshape(20, 20) + 60000, wcs.to_header(), name="DQ"
    )
    floats = fits.ImageHDU(np.ones((20, 20), dtype=np.float32), wcs.to_header(), name="VAR")
    floats.header.update(BSCALE=2.0, BZERO=3.0)  # scaled floats: rare, allowed
    path = tmp_path / "scaled.fits"
    fits.HDUList([fits.PrimaryHDU(), scaled, unsigned, floats]).writeto(path)
    with fits.open(path) as source, cut_open(path, [("CIRCLE", "150 2 0.003")], tmp_path) as piece:
        assert (source["VAR"].data == 5.0).all() and (piece["VAR"].data == 5.0).all()
        for name in ("SCI", "DQ", "VAR"):
            assert_wcs_and_pixels_agree(source[name], piece[name])
        assert np.isnan(piece["SCI"].data).sum() == 1 and piece["SCI"].data.dtype.kind == "f"
        assert piece["DQ"].data.dtype.kind == "u" and piece["DQ"].data.min() >= 60000


def test_an_image_in_galactic_coordinates_is_cut_by_an_icrs_region(tmp_path: Path) -> None:
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["GLON-TAN", "GLAT-TAN"]
    wcs.wcs.crval, wcs.wcs.crpix, wcs.wcs.cdelt = [30.0, 5.0], [50.5, 50.5], [-1e-3, 1e-3]
    path = tmp_path / "galactic.fits"
    fits.PrimaryHDU(np.ones((100, 100), dtype=np.float32), wcs.to_header()).writeto(path)
    target = SkyCoord(30.02, 5.01, unit="deg", frame="galactic").icrs
    with (
        fits.open(path) as source,
        cut_open(path, [("CIRCLE", f"{target.ra.deg} {target.dec.deg} 0.004")], tmp_path) as piece,
    ):
        assert_wcs_and_pixels_agree(source[0], piece[0])
        x, y = WCS(piece[0].header).world_to_pixel_values(30.02, 5.01)
        assert 3 <= x <= piece[0].data.shape[1] - 4 and 3 <= y <= piece[0].data.shape[0] - 4


def test_damaged_files_give_a_soda_error(soda_corpus: Corpus, tmp_path: Path) -> None:
    assert len(soda_corpus.damaged) >= 8
    for damaged in soda_corpus.damaged:
        for items in (
            [("CIRCLE", f"{damaged.ra or 0} {damaged.dec or 0} 0.1")],
            [("BAND", "1e-7 1e-6")],
        ):
            try:
                result = cut(
                    damaged.path, parse_request(items), max_output_bytes=10**8, work_dir=tmp_path
                )
            except SodaError as e:
                assert e.message
                if damaged.damage in {"zero-length", "not-fits", "truncated-header", "bad-gzip"}:
                    assert isinstance(e, ProductUnreadable), (damaged.damage, e)
            else:
                assert damaged.damage not in {"zero-length", "not-fits", "truncated-header"}
                result.path.unlink()
    assert list(tmp_path.iterdir()) == []  # a failed cut leaves no file behind


def test_nothing_to_cut_is_a_usage_error(images: dict[str, GeneratedFile]) -> None:
    with pytest.raises(UsageError, match="no cutout asked for"):
        cut(images["jwst"].path, parse_request([("ID", "x")]), max_output_bytes=10**8)
    with pytest.raises(UsageError, match="BAND cannot be applied to this product"):
        cut(images["jwst"].path, parse_request([("BAND", "1e-6 2e-6")]), max_output_bytes=10**8)


def test_the_download_is_named_after_the_product() -> None:
    assert (
        file_name_for("hlsp_x_jwst_nircam_f090w_v1_img.fits")
        == "hlsp_x_jwst_nircam_f090w_v1_img_cutout.fits"
    )
    assert file_name_for("a b/../c.fits.gz") == "a_b_.._c_cutout.fits"
    assert file_name_for("") == "product_cutout.fits"


def test_a_gzipped_file_is_cut_like_the_plain_one(
    images: dict[str, GeneratedFile], tmp_path: Path
) -> None:
    plain = images["hst"].path
    packed = tmp_path / (plain.name + ".gz")
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    ra, dec, scale = around(plain, 6.0, 9.0)
    items = [("CIRCLE", f"{ra} {dec} {3 * scale}")]
    with cut_open(plain, items, tmp_path) as one, cut_open(packed, items, tmp_path) as other:
        for name in ("SCI", "WHT"):
            assert np.array_equal(one[name].data, other[name].data)
            assert WCS(one[name].header).wcs.compare(WCS(other[name].header).wcs)
    assert file_name_for(packed.name) == plain.name.removesuffix(".fits") + "_cutout.fits"


def test_an_unreadable_product_says_why_without_saying_where_it_is(tmp_path: Path) -> None:
    folder = tmp_path / "secret-archive-root"
    folder.mkdir()
    (folder / "hlsp_x.fits").mkdir()  # a directory where a file should be
    with pytest.raises(ProductUnreadable) as info:
        cut(folder / "hlsp_x.fits", parse_request([("BAND", "1e-7 2e-7")]), max_output_bytes=10**8)
    assert info.value.message.startswith("the product's file cannot be read as FITS: Is a dir")
    assert "secret-archive-root" not in info.value.document


def test_band_on_a_frequency_axis_keeps_the_planes_of_those_wavelengths(tmp_path: Path) -> None:
    wcs = WCS(naxis=3)
    wcs.wcs.ctype = ["RA---SIN", "DEC--SIN", "FREQ"]
    wcs.wcs.cunit = ["deg", "deg", "Hz"]
    wcs.wcs.crval, wcs.wcs.crpix = [200.0, -40.0, 1.0e11], [5.5, 5.5, 1.0]
    wcs.wcs.cdelt = [-1e-3, 1e-3, 1.0e9]  # 100 GHz, 1 GHz channels
    path = tmp_path / "radio_cube.fits"
    data = np.arange(20 * 10 * 10, dtype=np.float32).reshape(20, 10, 10)
    fits.PrimaryHDU(data, wcs.to_header()).writeto(path)
    c = 299_792_458.0
    low, high = c / 110.2e9, c / 104.8e9  # channels 5 (105 GHz) to 10 (110 GHz)
    with cut_open(path, [("BAND", f"{low} {high}")], tmp_path) as piece:
        assert piece[0].data.shape == (6, 10, 10)
        assert np.array_equal(piece[0].data, data[5:11])
        frequencies = WCS(piece[0].header).spectral.pixel_to_world_values(np.arange(6))
        assert np.allclose(frequencies, np.arange(105e9, 111e9, 1e9))


def test_an_extension_the_region_misses_is_left_out_and_said_so(tmp_path: Path) -> None:
    hdus: list[Any] = [fits.PrimaryHDU()]
    for name, ra in (("SCI", 10.0), ("SCI", 30.0)):
        wcs = WCS(naxis=2)
        wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
        wcs.wcs.crval, wcs.wcs.crpix, wcs.wcs.cdelt = [ra, 0.0], [8.5, 8.5], [-1e-3, 1e-3]
        hdus.append(fits.ImageHDU(np.ones((16, 16), dtype=np.float32), wcs.to_header(), name=name))
    hdus.append(fits.BinTableHDU.from_columns([fits.Column("X", "J", array=[1, 2])], name="INFO"))
    path = tmp_path / "two_chips.fits"
    fits.HDUList(hdus).writeto(path)
    with cut_open(path, [("CIRCLE", "30 0 0.003")], tmp_path) as piece:
        assert [h.name for h in piece] == ["PRIMARY", "SCI", "INFO"]
        assert piece["SCI"].header["CRVAL1"] == 30.0
        assert "HDU 1 left out: the cut misses it" in piece[0].header["HISTORY"]
