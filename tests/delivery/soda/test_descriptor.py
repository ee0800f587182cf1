"""The inputs of a product's DataLink #cutout descriptor: which parameters each kind of
product declares, with SODA's UCDs, units and xtypes, and VALUES where its data are."""

from __future__ import annotations

import math

import pytest

from catalog.delivery.descriptor import InputParam
from catalog.delivery.soda.descriptor import inputs, offers_cutout
from catalog.delivery.soda.params import parse_request

FOOTPRINT = [(10.0, 20.0), (10.1, 20.0), (10.1, 20.1), (10.0, 20.1)]


def by_name(params: list[InputParam]) -> dict[str, InputParam]:
    return {p.name: p for p in params}


def test_an_image_declares_the_spatial_parameters_with_its_footprint() -> None:
    params = by_name(
        inputs("ivo://x?a/b.fits", "image", footprint=FOOTPRINT, circle=(10.05, 20.05, 0.08))
    )
    assert list(params) == ["ID", "POS", "CIRCLE", "POLYGON"]
    assert params["ID"].value == "ivo://x?a/b.fits"
    assert params["ID"].ucd == "meta.ref.url;meta.curation"
    circle, polygon, pos = params["CIRCLE"], params["POLYGON"], params["POS"]
    assert (circle.xtype, circle.unit, circle.arraysize, circle.ucd) == (
        "circle",
        "deg",
        "3",
        "pos.outline;obs",
    )
    assert circle.maximum == "10.05 20.05 0.08" and circle.minimum is None
    assert (polygon.xtype, polygon.unit, polygon.arraysize) == ("polygon", "deg", "*")
    assert polygon.maximum == "10 20 10.1 20 10.1 20.1 10 20.1"
    assert (pos.datatype, pos.arraysize, pos.unit, pos.xtype) == ("char", "*", None, None)
    assert '<VALUES><MAX value="10.05 20.05 0.08"/></VALUES>' in circle.xml()
    assert 'xtype="polygon"' in polygon.xml() and 'ucd="pos.outline;obs"' in polygon.xml()
    # what the descriptor declares is what the service takes back
    assert parse_request([("CIRCLE", circle.maximum), ("POLYGON", "")]).shape is not None
    assert parse_request([("POLYGON", polygon.maximum)]).shape is not None


def test_a_cube_adds_band_and_a_spectrum_has_band_only() -> None:
    cube = by_name(inputs("c", "cube", footprint=FOOTPRINT, wavelengths=(9.7e-7, 1.2e-6)))
    assert list(cube) == ["ID", "POS", "CIRCLE", "POLYGON", "BAND"]
    band = cube["BAND"]
    assert (band.xtype, band.unit, band.ucd, band.arraysize, band.datatype) == (
        "interval",
        "m",
        "em.wl;stat.interval",
        "2",
        "double",
    )
    assert (band.minimum, band.maximum) == ("9.7e-07", "1.2e-06")
    spectrum = by_name(inputs("s", "spectrum", wavelengths=(1.13e-7, math.inf)))
    assert list(spectrum) == ["ID", "BAND"]
    assert (spectrum["BAND"].minimum, spectrum["BAND"].maximum) == ("1.13e-07", None)


@pytest.mark.parametrize("kind", ["timeseries", "measurements", None, "visibility"])
def test_products_without_cutouts_declare_nothing(kind: str | None) -> None:
    assert inputs("x", kind, footprint=FOOTPRINT) == []
    assert not offers_cutout(kind)


def test_unknown_or_non_finite_coverage_leaves_values_out() -> None:
    params = by_name(
        inputs("x", "image", footprint=[(math.nan, 1.0), (2.0, 3.0)], circle=(1, 2, math.inf))
    )
    assert params["POLYGON"].maximum is None and params["CIRCLE"].maximum is None
    assert by_name(inputs("x", "cube"))["BAND"].minimum is None
