"""Drawing one file (in this process): every product type of the corpus and the real files of
``../shared`` give valid PNGs of the documented size, drawn from their data; damaged files
and hostile bytes give a PreviewError that says what is wrong, and nothing else escapes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from catalog.corpus import Corpus, GeneratedFile
from catalog.delivery.previews import columns
from catalog.delivery.previews.errors import PreviewError
from catalog.delivery.previews.kinds import Kind, kind_of_file, kind_of_product
from catalog.delivery.previews.plots import LABELLED, flux_to_draw, sky_coordinates
from catalog.delivery.previews.render import (
    MOST_PICTURE_PIXELS,
    PREVIEW_SIZE,
    THUMBNAIL_SIZE,
    render,
    thumbnail_of_picture,
)
from tests.support.db import shared_path
from tests.support.delivery import KINDS, picture

KIND = {
    "image": Kind.IMAGE,
    "cube": Kind.CUBE,
    "spectrum": Kind.SPECTRUM,
    "lightcurve": Kind.LIGHTCURVE,
    "catalog": Kind.CATALOG,
}


def one_per_collection(corpus: Corpus, kind: str) -> list[GeneratedFile]:
    chosen: dict[str, GeneratedFile] = {}
    for f in corpus.intact:
        if f.kind == kind:
            chosen.setdefault(f.hlsp_id, f)
    assert chosen, f"the corpus has no {kind}"
    return list(chosen.values())


def grey(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"), dtype=np.float64)


@pytest.mark.parametrize("kind", KINDS)
def test_every_product_type_gets_a_preview_and_a_thumbnail(corpus: Corpus, kind: str) -> None:
    for generated in one_per_collection(corpus, kind):
        preview = picture(render(generated.path, KIND[kind], size=PREVIEW_SIZE))
        thumbnail = picture(render(generated.path, KIND[kind], size=THUMBNAIL_SIZE))
        assert max(preview.size) == PREVIEW_SIZE and min(preview.size) >= 256, generated.path
        assert max(thumbnail.size) == THUMBNAIL_SIZE, generated.path
        # Drawn from the data: neither picture is one flat colour.
        assert grey(preview).std() > 1 and grey(thumbnail).std() > 1, generated.path
        # Without a kind, the file's contents lead to the same drawing (same size).
        assert picture(render(generated.path, None, size=PREVIEW_SIZE)).size == preview.size


@pytest.mark.parametrize("kind", ["image", "cube"])
def test_an_image_preview_is_the_stretched_data(corpus: Corpus, kind: str) -> None:
    generated = one_per_collection(corpus, kind)[0]
    levels = grey(picture(render(generated.path, KIND[kind], size=PREVIEW_SIZE)))
    # The corpus draws a galaxy-like blob: the bright middle stands out of the sky.
    height, width = levels.shape
    middle = levels[height * 3 // 8 : height * 5 // 8, width * 3 // 8 : width * 5 // 8].mean()
    corner = levels[: height // 8, : width // 8].mean()
    assert middle > corner + 20
    assert len(np.unique(levels)) >= 8  # a stretch, not a threshold (a cube is 4 x 4 pixels)


def test_a_spectrum_is_labelled_with_the_units_of_its_columns(corpus: Corpus) -> None:
    generated = one_per_collection(corpus, "spectrum")[0]
    with fits.open(generated.path) as hdus:
        found = next(columns.spectrum_columns(h) for h in hdus if columns.is_table(h))
    assert found is not None
    wave, flux = found
    assert columns.label(wave.name, wave.unit) == "WAVELENGTH [Angstrom]"
    assert columns.label(flux.name, flux.unit) == "FLUX [erg/s/cm2/Angstrom]"
    assert columns.label("T", None) == "T"
    assert columns.label("X", "u" * 100).endswith("…]") and len(columns.label("X", "u" * 100)) < 50


def test_light_curves_are_drawn_from_the_preferred_flux_of_each_style(corpus: Corpus) -> None:
    preferred, drawn = {}, {}
    for generated in one_per_collection(corpus, "lightcurve"):
        with fits.open(generated.path) as hdus:
            table = next(h for h in hdus if columns.is_table(h))
            found = columns.lightcurve_columns(table)
            assert found is not None
            time, fluxes = found
            preferred[generated.hlsp_id] = (time.name, fluxes[0].name)
            times = np.asarray(table.data[time.name], dtype=float)
            chosen = flux_to_draw(table, times, fluxes)
            assert chosen is not None
            drawn[generated.hlsp_id] = chosen[0].name
    assert preferred == {
        "tess-ffilc": ("TIME", "FLUX"),
        "ffi-gaia": ("time", "cal_psf_flux"),
        "k2phot": ("T", "FCOR"),
    }
    # The corpus's TGLC calibrated fluxes are constant placeholders: the PSF flux is drawn.
    assert drawn == {"tess-ffilc": "FLUX", "ffi-gaia": "psf_flux", "k2phot": "FCOR"}


def test_a_catalog_is_drawn_from_its_positions(corpus: Corpus) -> None:
    generated = one_per_collection(corpus, "catalog")[0]
    with fits.open(generated.path) as hdus:
        found = next(columns.sky_columns(h) for h in hdus if columns.is_table(h))
        assert found is not None
        ra = np.asarray(hdus["CATALOG"].data[found[0].name], dtype=float)
        dec = np.asarray(hdus["CATALOG"].data[found[1].name], dtype=float)
    shown_ra, shown_dec = sky_coordinates(ra, dec)
    assert shown_ra.size == ra.size and np.allclose(shown_dec, dec)
    # A field across RA 0 is one field, not two at either end of the sky.
    across, _ = sky_coordinates(np.array([359.9, 0.1, np.nan]), np.array([1.0, 2.0, 3.0]))
    assert sorted(across.tolist()) == pytest.approx([-0.1, 0.1])
    # Positions that are no positions are left out.
    odd, _ = sky_coordinates(np.array([1.0, 2.0, np.inf]), np.array([95.0, 2.0, 3.0]))
    assert odd.tolist() == [2.0]


def test_the_kind_comes_from_the_catalog_then_the_name() -> None:
    assert kind_of_product("timeseries", "img") is Kind.LIGHTCURVE
    assert kind_of_product("sed", None) is Kind.SPECTRUM
    assert kind_of_product("measurements", None) is Kind.CATALOG
    assert kind_of_product(None, "sim-img") is Kind.IMAGE
    assert kind_of_product("visibility", "s3d") is Kind.CUBE
    assert kind_of_product(None, "llc") is Kind.LIGHTCURVE
    assert kind_of_product(None, "stamp") is None
    assert kind_of_product(None, None) is None


def test_a_kind_the_file_does_not_hold_falls_back_to_what_it_holds(corpus: Corpus) -> None:
    lightcurve = one_per_collection(corpus, "lightcurve")[0]
    with fits.open(lightcurve.path) as hdus:
        assert kind_of_file(hdus) is Kind.LIGHTCURVE
    # Catalogued as an image (a wrong product type), drawn as the light curve it is.
    drawn = picture(render(lightcurve.path, Kind.IMAGE, size=PREVIEW_SIZE))
    assert drawn.size == (PREVIEW_SIZE, PREVIEW_SIZE * 3 // 4)


def test_thumbnails_of_plots_are_bare_and_previews_labelled() -> None:
    assert THUMBNAIL_SIZE < LABELLED <= PREVIEW_SIZE


# -- the real files --------------------------------------------------------------------------

REAL = [
    ("mission", "jwst_image.fits"),
    ("mission", "odbue5030_x1d.fits"),
    ("hlsp", "hlsp_tess-data-alerts_tess_phot_00055652896-s01_tess_v1_lc.fits"),
    ("hlsp", "hlsp_k2sff_k2_lightcurve_201367065-c01_kepler_v1_llc.fits"),
    ("hlsp", "hlsp_tglc_tess_ffi_gaiaid-5707485527450614656-s0034-cam2-ccd3_tess_v2_llc.fits"),
    ("hlsp", "hlsp_tglc_tess_ffi_gaiaid-6399196263939178880-s0001-cam2-ccd1_tess_v1_llc.fits"),
]


@pytest.mark.shared
@pytest.mark.parametrize(("folder", "name"), REAL, ids=[n for _, n in REAL])
def test_the_real_files_get_previews(folder: str, name: str) -> None:
    path = shared_path("data", "fits", folder, name)
    product_type = name.removesuffix(".fits").rsplit("_", 1)[-1]
    kind = kind_of_product(None, product_type)  # image, x1d, lc, llc
    preview = picture(render(path, kind, size=PREVIEW_SIZE))
    thumbnail = picture(render(path, kind, size=THUMBNAIL_SIZE))
    assert max(preview.size) == PREVIEW_SIZE and max(thumbnail.size) == THUMBNAIL_SIZE
    if name != "jwst_image.fits":  # its SCI array is all zeros: one grey, rightly
        assert grey(preview).std() > 1


@pytest.mark.shared
def test_a_file_of_headers_only_says_it_holds_nothing_to_draw() -> None:
    path = shared_path("data", "fits", "mission", "jwst_headers.fits")
    with pytest.raises(PreviewError, match="holds nothing to draw") as info:
        render(path, None, size=PREVIEW_SIZE)
    assert info.value.code == "HLSP-050"
    with pytest.raises(PreviewError, match=r"cannot be drawn as an image: .*2 x 2 pixels"):
        render(path, Kind.IMAGE, size=PREVIEW_SIZE)


# -- damaged and hostile files ---------------------------------------------------------------

SAYS = {
    "zero-length": "is empty",
    "not-fits": "not a readable FITS file",
    "truncated-header": "not a readable FITS file",
    "missing-end": "not a readable FITS file",
    "truncated-data": "truncated",
    "bad-gzip": "gzip",  # its CRC, or the garbage it makes of the headers
    "unreadable": "permission denied",
}


def test_damaged_files_say_what_is_wrong(corpus: Corpus) -> None:
    damaged = {f.damage: f for f in corpus.damaged}
    assert set(SAYS) | {"non-ascii"} == set(damaged)
    for damage, says in SAYS.items():
        generated = damaged[damage]
        try:
            render(generated.path, KIND[generated.kind], size=PREVIEW_SIZE)
        except PreviewError as error:
            assert error.message.startswith(generated.path.name), error.message
            assert says in error.message, (damage, error.message)
        else:  # only a file unreadable by its mode, to root, is drawn
            assert damage == "unreadable", damage
    # A Latin-1 byte in a header comment leaves the data whole: drawn.
    picture(render(damaged["non-ascii"].path, Kind.LIGHTCURVE, size=PREVIEW_SIZE))


def test_a_missing_file_and_a_directory(tmp_path: Path) -> None:
    with pytest.raises(PreviewError, match="missing from the server's disk"):
        render(tmp_path / "gone.fits", Kind.IMAGE, size=PREVIEW_SIZE)
    with pytest.raises(PreviewError, match="directory"):
        render(tmp_path, Kind.IMAGE, size=PREVIEW_SIZE)


@pytest.mark.parametrize("size", [0, -5, 15, 4097, 10**9])
def test_a_size_out_of_range_is_refused(corpus: Corpus, size: int) -> None:
    path = corpus.intact[0].path
    with pytest.raises(ValueError, match="size must be an integer from 16 to 4096"):
        render(path, None, size=size)
    with pytest.raises(ValueError, match="size must be"):
        thumbnail_of_picture(path, size)


def test_images_with_nothing_finite_or_a_hostile_header(tmp_path: Path) -> None:
    nan = tmp_path / "nan_img.fits"
    fits.PrimaryHDU(np.full((8, 8), np.nan, dtype=np.float32)).writeto(nan)
    with pytest.raises(PreviewError, match="every pixel of its image is NaN"):
        render(nan, Kind.IMAGE, size=PREVIEW_SIZE)
    flat = tmp_path / "flat_img.fits"
    fits.PrimaryHDU(np.ones((8, 8), dtype=np.int16)).writeto(flat)
    assert grey(picture(render(flat, Kind.IMAGE, size=64))).std() == 0  # constant: one grey
    lying = tmp_path / "lying_img.fits"  # a header promising 10^12 pixels, one block of data
    header = fits.Header([("SIMPLE", True), ("BITPIX", -32), ("NAXIS", 2)])
    header["NAXIS1"] = header["NAXIS2"] = 1_000_000
    lying.write_bytes(header.tostring().encode("ascii") + bytes(2880))
    with pytest.raises(PreviewError, match=r"lying_img\.fits cannot be drawn"):
        render(lying, Kind.IMAGE, size=PREVIEW_SIZE)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=6000), st.sampled_from([None, *Kind]))
def test_arbitrary_bytes_give_a_preview_error_or_a_png(
    tmp_path: Path, data: bytes, kind: Kind | None
) -> None:
    path = tmp_path / "hostile.fits"
    path.write_bytes(b"SIMPLE  =                    T" + data)
    try:
        picture(render(path, kind, size=THUMBNAIL_SIZE))
    except PreviewError as error:
        assert error.message.startswith("hostile.fits")


# -- the collection's own graphics -----------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF"])
def test_a_shipped_graphic_is_made_small(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"preview.{fmt.lower()}"
    gradient = np.tile(np.arange(0, 250, 0.25, dtype=np.uint8)[:1000], (600, 1))
    Image.fromarray(gradient, mode="L").convert("RGB").save(path, format=fmt)
    small = picture(thumbnail_of_picture(path, THUMBNAIL_SIZE))
    assert small.size == (THUMBNAIL_SIZE, round(THUMBNAIL_SIZE * 600 / 1000))
    tiny = tmp_path / f"tiny.{fmt.lower()}"
    Image.new("RGB", (40, 30), "red").save(tiny, format=fmt)
    assert picture(thumbnail_of_picture(tiny, THUMBNAIL_SIZE)).size == (40, 30)  # not enlarged


def test_a_shipped_graphic_that_is_a_bomb_or_no_picture_is_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    Image.new("1", (12_000, 12_000)).save(bomb)  # a few KB, 144 million pixels
    assert MOST_PICTURE_PIXELS < 12_000 * 12_000
    with pytest.raises(PreviewError, match="more than the 100,000,000 a preview may have"):
        thumbnail_of_picture(bomb, THUMBNAIL_SIZE)
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    with pytest.raises(PreviewError, match="not a PNG, JPEG or GIF picture"):
        thumbnail_of_picture(text, THUMBNAIL_SIZE)
    bmp = tmp_path / "old.bmp"
    Image.new("RGB", (10, 10)).save(bmp, format="BMP")
    with pytest.raises(PreviewError, match="a BMP picture: a preview must be PNG, JPEG or GIF"):
        thumbnail_of_picture(bmp, THUMBNAIL_SIZE)
    cut = tmp_path / "cut.png"
    whole = io.BytesIO()
    Image.new("RGB", (300, 300), "blue").save(whole, format="PNG")
    cut.write_bytes(whole.getvalue()[:200])
    with pytest.raises(PreviewError, match=r"cut\.png"):
        thumbnail_of_picture(cut, THUMBNAIL_SIZE)


def _table(path: Path, **named: np.ndarray) -> Path:
    columns_ = [fits.Column(name=n, format="D", array=a) for n, a in named.items()]
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(columns_)]).writeto(path)
    return path


@pytest.mark.parametrize(
    ("kind", "named", "says"),
    [
        (Kind.LIGHTCURVE, {"TIME": np.arange(5.0), "SAP_FLUX": np.full(5, np.nan)}, "no finite"),
        (Kind.SPECTRUM, {"WAVE": np.zeros(0), "FLUX": np.zeros(0)}, "has no rows"),
        (Kind.SPECTRUM, {"WAVE": np.full(4, np.inf), "FLUX": np.ones(4)}, "no finite values"),
        (Kind.CATALOG, {"RA": np.array([1.0, 2.0]), "DEC": np.array([91.0, np.nan])}, "finite"),
        (Kind.CATALOG, {"X": np.ones(3), "Y": np.ones(3)}, "no table with RA and Dec"),
    ],
    ids=["flux-all-nan", "empty-table", "wave-infinite", "positions-off-sky", "no-columns"],
)
def test_tables_without_drawable_values_say_so(
    tmp_path: Path, kind: Kind, named: dict[str, np.ndarray], says: str
) -> None:
    path = _table(tmp_path / "odd_table.fits", **named)
    with pytest.raises(PreviewError, match=says) as info:
        render(path, kind, size=PREVIEW_SIZE)
    assert info.value.message.startswith("odd_table.fits")
