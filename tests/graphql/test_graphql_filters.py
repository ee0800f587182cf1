"""Every filter operator, sky, time, wavelength and text filter, over HTTP against the app."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.graphql import GraphQLClient
from tests.support.graphql_catalog import names

Q = """query($f: ProductFilter) {
  products(filter: $f, first: 100, orderBy: [{field: FILE_NAME}]) {
    edges { node { fileName } }
  }
}"""


def polygon(*vertices: tuple[float, float]) -> dict[str, Any]:
    return {"vertices": [{"raDeg": ra, "decDeg": dec} for ra, dec in vertices]}


def found(api: GraphQLClient, f: dict[str, Any]) -> list[str]:
    return names(api.run(Q, {"f": f})["products"])


def test_no_filter_lists_live_products_only(api: GraphQLClient) -> None:
    assert found(api, {}) == ["a1", "a2", "a3", "b1", "b2", "b3", "b4", "dup", "dup", "g1", "g2"]


@pytest.mark.parametrize(
    ("f", "expected"),
    [
        ({"instrument": {"eq": "TESS"}}, ["b1", "b2", "b3", "b4"]),
        ({"instrument": {"neq": "TESS"}}, ["a1", "a2", "a3", "g1", "g2"]),  # nulls excluded
        ({"instrument": {"in": ["COS", "STIS", "NICMOS"]}}, ["g1", "g2"]),
        ({"instrument": {"in": []}}, []),
        ({"instrument": {"gt": "TESS"}}, ["a2", "a3"]),
        ({"instrument": {"gte": "TESS"}}, ["a2", "a3", "b1", "b2", "b3", "b4"]),
        ({"instrument": {"lt": "COS"}}, ["a1"]),
        ({"instrument": {"lte": "COS"}}, ["a1", "g1"]),
        ({"instrument": {"ilike": "wfc3/%"}}, ["a2", "a3"]),
        ({"instrument": {"ilike": "%S"}}, ["a2", "b1", "b2", "b3", "b4", "g1", "g2"]),
        ({"instrument": {"isNull": True}}, ["dup", "dup"]),
        ({"targetName": {"isNull": False, "ilike": "ngc%"}}, ["a1", "a2", "g1"]),
        ({"fileName": {"eq": "a1.fits"}}, ["a1"]),
        ({"obsId": {"in": ["a1", "b2"]}}, ["a1", "b2"]),
        ({"observatory": {"eq": "HST"}, "productType": {"eq": "img"}}, ["a1", "a2", "a3"]),
    ],
)
def test_string_operators(api: GraphQLClient, f: dict[str, Any], expected: list[str]) -> None:
    assert found(api, f) == expected


@pytest.mark.parametrize(
    ("f", "expected"),
    [
        ({"fileBytes": {"eq": 4000}}, ["b1", "b3", "b4"]),
        ({"fileBytes": {"neq": 4000, "lt": 5000}}, ["a1", "a2", "a3", "dup", "dup"]),
        ({"fileBytes": {"in": [1000, 8000]}}, ["a1", "g2"]),
        ({"fileBytes": {"gt": 5000}}, ["g1", "g2"]),
        ({"fileBytes": {"gte": 5000, "lte": 7000}}, ["b2", "g1"]),
        ({"fileBytes": {"gt": 5_000_000_000}}, []),  # 64-bit values are fine
        ({"raDeg": {"gt": 300}}, ["b2"]),
        ({"raDeg": {"isNull": True}, "observatory": {"isNull": False}}, ["b4", "g2"]),
        ({"decDeg": {"lt": 0}}, ["a3"]),
        ({"tMinMjd": {"gte": 58000, "lt": 58060}}, ["b1", "b2", "b4"]),
        ({"tMaxMjd": {"eq": 50001}}, ["a1"]),
        ({"emMinMetres": {"lt": 2e-7}}, ["g1"]),
        ({"emMaxMetres": {"gt": 1.5e-6}}, ["a3"]),
        ({"calibLevel": {"eq": 4}, "instrument": {"eq": "COS"}}, ["g1"]),
        ({"calibLevel": {"neq": 4}}, []),
        ({"simulated": {"eq": True}}, ["g2"]),
        (
            {"simulated": {"eq": False}, "instrument": {"ilike": "%s%"}},
            ["a1", "a2", "b1", "b2", "b3", "b4", "g1"],
        ),
        ({"dataproductType": {"eq": "SPECTRUM"}}, ["g1", "g2"]),
        (
            {"dataproductType": {"in": ["IMAGE", "SPECTRUM"]}, "observatory": {"eq": "HST"}},
            ["a1", "a2", "a3", "g1", "g2"],
        ),
        ({"dataproductType": {"neq": "TIMESERIES"}}, ["a1", "a2", "a3", "g1", "g2"]),
        ({"dataproductType": {"isNull": True}}, ["dup", "dup"]),
        ({"verdict": {"eq": "NEEDS_REVIEW"}}, ["a2", "g2"]),
        ({"verdict": {"in": ["FAIL", "NEEDS_REVIEW"]}}, ["a2", "a3", "g2"]),
        ({"verdict": {"isNull": True}}, ["b3", "dup", "dup"]),
        ({"lastHarvested": {"lt": "2000-01-01T00:00:00Z"}}, []),
        ({"lastHarvested": {"gt": "2000-01-01T00:00:00"}, "fileBytes": {"eq": 1000}}, ["a1"]),
    ],
)
def test_number_date_boolean_and_enum_operators(
    api: GraphQLClient, f: dict[str, Any], expected: list[str]
) -> None:
    assert found(api, f) == expected


@pytest.mark.parametrize(
    ("f", "expected"),
    [
        ({"or": [{"instrument": {"eq": "COS"}}, {"fileBytes": {"eq": 1000}}]}, ["a1", "g1"]),
        (
            {"and": [{"observatory": {"eq": "TESS"}}, {"fileBytes": {"eq": 4000}}]},
            ["b1", "b3", "b4"],
        ),
        (
            {"not": {"observatory": {"eq": "TESS"}}, "observatory": {"isNull": False}},
            ["a1", "a2", "a3", "g1", "g2"],
        ),
        ({"or": []}, []),
        ({"and": []}, ["a1", "a2", "a3", "b1", "b2", "b3", "b4", "dup", "dup", "g1", "g2"]),
        (
            {
                "or": [
                    {"and": [{"instrument": {"eq": "TESS"}}, {"not": {"verdict": {"eq": "PASS"}}}]},
                    {"instrument": {"eq": "STIS"}},
                ]
            },
            ["g2"],
        ),  # b3: NOT(null = 'PASS') is null
        ({"collection": {"hlspId": {"eq": "gamma"}}}, ["g1", "g2"]),
        (
            {"collection": {"title": {"ilike": "%light%"}}, "fileBytes": {"lt": 4500}},
            ["b1", "b3", "b4", "dup"],
        ),
        ({"collection": {"doi": {"isNull": True}}, "instrument": {"isNull": True}}, ["dup"]),
        ({"targets": {"name": {"eq": "NGC 1000"}}}, ["a1", "a2", "g1"]),
        ({"targets": {"alias": {"eq": "Gaia DR3 42"}}}, ["b1", "b4"]),
        ({"targets": {"objectType": {"eq": "star"}}, "fileBytes": {"gt": 4000}}, ["b2"]),
        ({"findings": {"code": {"eq": "HLSP-K012"}}}, ["a2"]),
        ({"findings": {"severity": {"eq": "ERROR"}}}, []),
        ({"collection": {"products": {"instrument": {"eq": "COS"}}}}, ["g1", "g2"]),
    ],
)
def test_boolean_combinations_and_relation_filters(
    api: GraphQLClient, f: dict[str, Any], expected: list[str]
) -> None:
    assert found(api, f) == expected


@pytest.mark.parametrize(
    ("f", "expected"),
    [
        # a1 only through its footprint (centre 0.28 deg away), b1 by its position.
        ({"cone": {"raDeg": 10.3, "decDeg": 20.0, "radiusDeg": 0.15}}, ["a1", "b1"]),
        ({"cone": {"raDeg": 10.0, "decDeg": 20.0, "radiusDeg": 0.001}}, ["a1", "g1"]),
        # Across RA 0/360.
        ({"cone": {"raDeg": 0.0, "decDeg": 0.0, "radiusDeg": 0.2}}, ["b2", "b3"]),
        ({"cone": {"raDeg": 360.0, "decDeg": 0.0, "radiusDeg": 0.11}}, ["b2", "b3"]),
        # Wider than 90°: the complement of the antipodal cone (a3 is 166.5° away).
        (
            {"cone": {"raDeg": 10.0, "decDeg": 20.0, "radiusDeg": 166}},
            ["a1", "a2", "b1", "b2", "b3", "g1"],
        ),
        (
            {"cone": {"raDeg": 10.0, "decDeg": 20.0, "radiusDeg": 168}},
            ["a1", "a2", "a3", "b1", "b2", "b3", "g1"],
        ),
        (
            {"cone": {"raDeg": 20.0, "decDeg": -30.0, "radiusDeg": 180}},
            ["a1", "a2", "a3", "b1", "b2", "b3", "g1"],
        ),
        ({"region": polygon((10.4, 19.9), (10.6, 19.9), (10.6, 20.1), (10.4, 20.1))}, ["a2"]),
        ({"region": polygon((10.19, 20.15), (10.25, 20.15), (10.25, 20.18))}, ["a1"]),  # footprint
        ({"time": {"startMjd": 50000.5, "endMjd": 50010}}, ["a1", "a2"]),  # touching counts
        ({"time": {"startMjd": 58045}}, ["b2", "b3"]),
        ({"time": {"endMjd": 50000}}, ["a1"]),
        (
            {"time": {"start": "2017-09-04T00:00:00Z", "end": "2017-09-05T00:00:00Z"}},
            ["b1", "b4"],
        ),  # MJD 58000 = 2017-09-04
        ({"time": {"start": "2017-10-20T00:00:00", "endMjd": 58046}}, ["b2"]),
        ({"wavelength": {"minMetres": 1e-6, "maxMetres": 2e-6}}, ["a3", "b1", "b2", "b3", "b4"]),
        ({"wavelength": {"maxMetres": 1.5e-7}}, ["g1"]),
        ({"wavelength": {"minMetres": 1.6e-6}}, ["a3"]),
        ({"waveband": {"eq": "UV"}}, ["a2", "g1"]),
        ({"waveband": {"in": ["INFRARED", "UV"]}}, ["a2", "a3", "g1"]),
        ({"waveband": {"in": []}}, []),
        ({"waveband": {"eq": "RADIO"}}, []),
        ({"text": "galaxy clusters"}, ["a1", "a2", "a3", "dup"]),  # description (stemmed)
        ({"text": "lovelace"}, ["a1", "a2", "a3", "dup"]),  # project lead
        ({"text": '"optical imaging" alpha'}, ["a1", "a2", "a3", "dup"]),  # a phrase, the id
        ({"text": "TIC 12345"}, ["b1", "b4"]),  # target name
        ({"text": "tic12345"}, ["b1", "b4"]),  # its alias
        ({"text": "gaia dr3 42"}, ["b1", "b4"]),
        ({"text": "b2.fits"}, ["b2"]),  # a file name
        ({"text": "ultraviolet -galaxy"}, ["g1", "g2"]),  # web-search syntax
        ({"text": "ultraviolet -lovelace"}, ["g1", "g2"]),
        ({"text": '-"galaxy clusters" ultraviolet'}, ["g1", "g2"]),
        ({"text": "nothing-like-this"}, []),
        (
            {"text": "ultraviolet", "cone": {"raDeg": 10, "decDeg": 20, "radiusDeg": 1}},
            ["a1", "a2", "g1"],
        ),
    ],
)
def test_sky_time_wavelength_and_text(
    api: GraphQLClient, f: dict[str, Any], expected: list[str]
) -> None:
    assert found(api, f) == expected


def test_collection_and_target_filters(api: GraphQLClient) -> None:
    q = """query($c: CollectionFilter, $t: TargetFilter) {
      collections(filter: $c, orderBy: [{field: HLSP_ID}]) { nodes { hlspId } }
      targets(filter: $t, orderBy: [{field: NAME}]) { nodes { name } }
    }"""

    def run(c: Any = None, t: Any = None) -> tuple[list[str], list[str]]:
        data = api.run(q, {"c": c, "t": t})
        return (
            [n["hlspId"] for n in data["collections"]["nodes"]],
            [n["name"] for n in data["targets"]["nodes"]],
        )

    assert run() == (
        ["alpha", "beta", "gamma"],
        ["M 31", "NGC 1000", "TIC 12345", "TIC 777", "TIC 999"],
    )
    assert run({"text": "ultraviolet"})[0] == ["alpha", "gamma"]
    assert run({"or": [{"hlspId": {"eq": "beta"}}, {"doi": {"ilike": "%gamma%"}}]})[0] == [
        "beta",
        "gamma",
    ]
    assert run({"products": {"instrument": {"eq": "TESS"}}})[0] == ["beta"]
    assert run({"not": {"projectLead": {"ilike": "b%"}}})[0] == ["alpha", "gamma"]
    assert run(t={"objectType": {"eq": "galaxy"}})[1] == ["M 31", "NGC 1000"]
    assert run(t={"cone": {"raDeg": 0, "decDeg": 0, "radiusDeg": 0.5}})[1] == ["TIC 777", "TIC 999"]
    assert run(t={"text": "ngc"})[1] == ["NGC 1000"]
    assert run(t={"alias": {"ilike": "gaia%"}})[1] == ["TIC 12345"]
    assert run(t={"products": {"collection": {"hlspId": {"eq": "gamma"}}}})[1] == ["NGC 1000"]
    assert run(t={"raDeg": {"gt": 100}, "decDeg": {"lt": 0}})[1] == ["M 31"]
