"""Product classification: by the file-name product type (docs/hlsp-rules.md §2, §3), else
headers."""

from __future__ import annotations

import pytest

from catalog.harvest.fits.reader import Card, Header, Value
from catalog.harvest.rules import Classification, ProductKind, classify

K = ProductKind


def hdu(index: int, cards: dict[str, Value]) -> Header:
    return Header(index, [Card(k, v) for k, v in cards.items()])


def bintable(index: int, names: list[str], rows: int = 100, **extra: Value) -> Header:
    cards: dict[str, Value] = {"XTENSION": "BINTABLE", "BITPIX": 8, "NAXIS": 2, "NAXIS1": 8}
    cards.update(NAXIS2=rows, PCOUNT=0, GCOUNT=1, TFIELDS=len(names))
    for i, name in enumerate(names, 1):
        cards[f"TTYPE{i}"] = name
        cards[f"TFORM{i}"] = "D"
    return hdu(index, {**cards, **extra})


def array(index: int, *shape: int, **extra: Value) -> Header:
    cards: dict[str, Value] = ({"SIMPLE": True} if index == 0 else {"XTENSION": "IMAGE"}) | {
        "BITPIX": -32,
        "NAXIS": len(shape),
    }
    cards.update({f"NAXIS{i}": n for i, n in enumerate(shape, 1)})
    return hdu(index, {**cards, **extra})


EMPTY_PRIMARY = array(0)


@pytest.mark.parametrize(
    ("product_type", "kind", "dataproduct", "simulated"),
    [
        # product types of the real names in docs/hlsp-rules.md §3
        ("llc", K.LIGHTCURVE, "timeseries", False),  # QLP, TGLC, K2SFF
        ("lc", K.LIGHTCURVE, "timeseries", False),  # ELEANOR-LITE, TESS-SPOC, EVEREST
        ("ens-lc", K.LIGHTCURVE, "timeseries", False),  # TASOC
        ("ts", K.LIGHTCURVE, "timeseries", False),  # K2GAP
        ("img", K.IMAGE, "image", False),  # TICA
        ("drz", K.IMAGE, "image", False),  # RELICS, CANDELS, JADES
        ("drc", K.IMAGE, "image", False),
        ("i2d", K.IMAGE, "image", False),  # CEERS
        ("sci", K.IMAGE, "image", False),
        ("wht", K.IMAGE, "image", False),
        ("cat", K.CATALOG, "measurements", False),  # RELICS, CANDELS, GLASS
        ("catalog", K.CATALOG, "measurements", False),  # JADES, HLF
        ("catalog-meth1", K.CATALOG, "measurements", False),  # HUGS
        ("phot-cat", K.CATALOG, "measurements", False),  # PIE
        ("spec", K.SPECTRUM, "spectrum", False),  # GLASS
        ("model-spec", K.SPECTRUM, "spectrum", False),
        ("spec-obs", K.SPECTRUM, "spectrum", False),  # AGN SED atlas
        ("fullspec", K.SPECTRUM, "spectrum", False),  # COS-GAL
        ("x1d", K.SPECTRUM, "spectrum", False),
        ("s2d", K.SPECTRUM, "spectrum", False),
        ("adapt-const-res-sed", K.SPECTRUM, "sed", False),  # MUSCLES
        ("npole-globalmap", K.IMAGE, "image", False),  # JUDO
        ("s3d", K.CUBE, "cube", False),
        ("tpf", K.CUBE, "cube", False),
        ("cube", K.CUBE, "cube", False),
        ("sim-psf", K.IMAGE, "image", True),  # BlueTides
        ("sim-img", K.IMAGE, "image", True),
        ("sim-cat", K.CATALOG, "measurements", True),
        ("SPEC", K.SPECTRUM, "spectrum", False),
    ],
)
def test_kind_from_the_file_name(product_type, kind, dataproduct, simulated):
    c = classify([EMPTY_PRIMARY], product_type)
    assert (c.kind, c.dataproduct_type, c.simulated) == (kind, dataproduct, simulated)
    assert "file name" in c.reason


def test_the_name_wins_over_the_headers():
    lc_table = bintable(1, ["TIME", "FLUX"])
    c = classify([EMPTY_PRIMARY, lc_table], "img")
    assert c.kind is K.IMAGE and c.reason == "product type 'img' in the file name"


@pytest.mark.parametrize("product_type", [None, "", "readme", "preview", "1d", "md5sum"])
def test_unknown_type_and_no_recognisable_data(product_type):
    c = classify([EMPTY_PRIMARY], product_type)
    assert c == Classification(
        K.OTHER,
        False,
        None,
        (f"product type '{product_type}' not recognised; " if product_type else "")
        + "no known product type in the file name and no recognisable data",
    )


def test_sim_alone_is_a_simulation_of_whatever_the_headers_show():
    c = classify([EMPTY_PRIMARY, bintable(1, ["RA", "DEC", "MAG_F150W"], rows=5000)], "sim")
    assert (c.kind, c.simulated) == (K.CATALOG, True)
    assert "'sim' in the product type" in c.reason


@pytest.mark.parametrize(
    ("headers", "kind", "reason"),
    [
        ([EMPTY_PRIMARY, bintable(1, ["time", "psf_flux"])], K.LIGHTCURVE, "time and flux"),
        ([EMPTY_PRIMARY, bintable(1, ["TIME", "SAP_FLUX"])], K.LIGHTCURVE, "time and flux"),
        ([EMPTY_PRIMARY, bintable(1, ["BJD", "MAG"])], K.LIGHTCURVE, "time and flux"),
        ([EMPTY_PRIMARY, bintable(1, ["WAVELENGTH", "FLUX"], 1)], K.SPECTRUM, "wavelength"),
        ([EMPTY_PRIMARY, bintable(1, ["WAVE", "FLUX", "ERR"])], K.SPECTRUM, "wavelength"),
        ([EMPTY_PRIMARY, bintable(1, ["ID", "RA", "DEC", "F160W"])], K.CATALOG, "RA and Dec"),
        ([array(0, 100, 100, CTYPE1="RA---TAN", CTYPE2="DEC--TAN")], K.IMAGE, "celestial"),
        ([EMPTY_PRIMARY, array(1, 200, 200)], K.IMAGE, "no celestial WCS"),
        ([array(0, 40, 40, 2000)], K.CUBE, "3-D array"),
        ([array(0, 2048, CTYPE1="WAVE")], K.SPECTRUM, "spectral axis"),
        ([array(0, 2048, 30, CTYPE1="AWAV-LOG")], K.SPECTRUM, "spectral axis"),
        ([array(0, 100, 100, 1, CTYPE1="RA---TAN", CTYPE2="DEC--TAN")], K.IMAGE, "celestial"),
    ],
)
def test_kind_from_the_headers(headers, kind, reason):
    c = classify(headers, None)
    assert c.kind is kind and reason in c.reason and not c.simulated


def test_tables_that_are_not_data_do_not_decide():
    one_row = bintable(1, ["RA", "DEC"], rows=1)  # a single position is not a catalog
    provenance = bintable(2, ["TIME", "FLUX"], EXTNAME="PROVENANCE")
    assert classify([EMPTY_PRIMARY, one_row, provenance], None).kind is K.OTHER


def test_light_curve_table_beats_an_image_in_the_primary():
    # TGLC v2: a 3-D aperture cutout in the primary, the light curve in a table
    headers = [array(0, 5, 5, 1093), bintable(1, ["time", "cal_aper_flux"])]
    assert classify(headers, None).kind is K.LIGHTCURVE


@pytest.mark.parametrize(
    ("cards", "simulated"),
    [
        ({"SIMULATD": True}, True),
        ({"SIMULATD": "T"}, True),
        ({"SIMULATD": False}, False),
        ({"SIMDATA": True}, True),
        ({"SIMDATA": False}, False),
        ({"SIMULATD": 1}, False),
    ],
)
def test_simulated_from_the_headers(cards, simulated):
    c = classify([array(0, 100, 100, **cards)], "img")
    assert c.simulated is simulated and c.kind is K.IMAGE
    assert ("simulated: " in c.reason) is simulated


def test_classification_is_hashable_and_frozen():
    c = classify([EMPTY_PRIMARY], "lc")
    assert hash(c) == hash(classify([], "lc"))
    with pytest.raises(AttributeError):
        c.kind = K.IMAGE  # type: ignore[misc]
