"""Entry points, object fields, relations, facets and statement counts, over HTTP."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from catalog.db import Database
from catalog.graphql import loaders
from tests.support.cli import serving
from tests.support.graphql import GraphQLClient
from tests.support.graphql_catalog import names

PRODUCT_TREE = """query($first: Int) {
  products(first: $first, orderBy: [{field: FILE_NAME}]) {
    edges { node {
      fileName
      collection { hlspId title }
      targets { name aliases products(first: 3) { edges { node { fileName } } } }
      inputs { kind identifier }
      software { name version }
      findings { code severity }
    } }
  }
}"""


def test_statements_per_request_do_not_grow_with_page_size_or_nesting(
    api: GraphQLClient,
) -> None:
    counts = {}
    for first in (1, 3, 11):
        data = api.run(PRODUCT_TREE, {"first": first})
        assert len(data["products"]["edges"]) == first
        counts[first] = api.statements
    # transaction setup, page, collections, targets, aliases, target products, inputs,
    # software, findings
    assert counts == {1: 9, 3: 9, 11: 9}, counts

    nested = """query($first: Int) { collections { nodes { hlspId
      products(first: $first) { totalCount nodes { fileName collection { hlspId }
        targets { name } } } } } }"""
    per_size = set()
    for first in (1, 5):
        api.run(nested, {"first": first})
        per_size.add(api.statements)
    # setup, collections page, product pages, their counts, collections, targets
    assert per_size == {6}


def test_relations_a_page_selects_are_loaded_with_it_and_only_those(
    api: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page's products get their collection and targets loaded with the page (one statement
    each), whether selected directly, under an alias or through named or inline fragments,
    so that those fields answer at once; the same values as one product asked for alone (whose
    fields wait for their loader); a relation the page does not select, or leaves out with
    @skip, costs nothing."""
    waited: list[int] = []
    later = loaders._converted

    def counted(pending: Any, convert: Any) -> Any:
        waited.append(1)
        return later(pending, convert)

    monkeypatch.setattr(loaders, "_converted", counted)
    api.run("{ products(first: 5) { edges { node { fileName } } } }")
    assert api.statements == 2  # setup, page
    skipped = """query($no: Boolean!) { products(first: 5) { nodes { fileName
      collection @skip(if: $no) { hlspId } ... @include(if: false) { targets { name } } } } }"""
    api.run(skipped, {"no": True})
    assert api.statements == 2

    page = api.run("""
      fragment Rel on Product { home: collection { hlspId } ... on Product { targets { name } } }
      fragment Page on ProductConnection { nodes { id ...Rel } }
      { products(first: 5, orderBy: [{field: FILE_NAME}]) {
          ...Page edges { node { fileName } } } }""")["products"]
    assert api.statements == 4  # setup, page, collections, targets
    assert waited == []  # every collection and targets answered from the loaded page
    for node in page["nodes"]:
        alone = api.run(
            "query($id: ID!) { node(id: $id) { ... on Product { home: collection { hlspId } "
            "targets { name } } } }",
            {"id": node["id"]},
        )["node"]
        assert alone == {"home": node["home"], "targets": node["targets"]}
    assert waited  # alone, a product's relations wait for their loader
    assert {n["home"]["hlspId"] for n in page["nodes"]} and any(n["targets"] for n in page["nodes"])


def test_total_count_is_computed_only_when_asked(api: GraphQLClient) -> None:
    api.run("{ products(first: 2) { edges { cursor } } }")
    without = api.statements
    data = api.run("{ products(first: 2) { totalCount edges { cursor } } }")
    assert data["products"]["totalCount"] == 11
    assert api.statements == without + 1
    assert sum("count(*)" in sql for sql in api.sql) == 1


def test_product_fields_relations_and_provenance(api: GraphQLClient) -> None:
    data = api.run("""{ product(fileName: "a1.fits") {
      id fileName obsId fileBytes instrument observatory dataproductType verdict simulated
      raDeg decDeg tMinMjd tMaxMjd emMinMetres emMaxMetres wavebands calibLevel
      footprint { raDeg decDeg }
      collection { hlspId title projectLead doi }
      targets { name objectType raDeg decDeg aliases }
      inputs { index kind identifier source programId telescope instrument tMinMjd tMaxMjd }
      software { index name version source }
      findings { code }
    } }""")["product"]
    assert data["fileName"] == "a1.fits" and data["obsId"] == "a1"
    assert data["fileBytes"] == 1000 and data["dataproductType"] == "IMAGE"
    assert data["verdict"] == "PASS" and data["simulated"] is False and data["calibLevel"] == 4
    assert (data["raDeg"], data["decDeg"]) == pytest.approx((10.0, 20.0))
    assert (data["tMinMjd"], data["tMaxMjd"]) == (50000, 50001)
    assert data["wavebands"] == ["OPTICAL"]
    corners = [c for v in data["footprint"] for c in (v["raDeg"], v["decDeg"])]
    assert corners == pytest.approx([9.8, 19.8, 10.2, 19.8, 10.2, 20.2, 9.8, 20.2])
    assert data["collection"] == {
        "hlspId": "alpha",
        "title": "Alpha Deep Fields",
        "projectLead": "Ada Lovelace",
        "doi": "10.17909/alpha-1",
    }
    assert data["targets"] == [
        {
            "name": "NGC 1000",
            "objectType": "galaxy",
            "raDeg": 10.0,
            "decDeg": pytest.approx(20.0),
            "aliases": ["NGC 1000"],
        }
    ]
    assert data["inputs"] == [
        {
            "index": 1,
            "kind": "OBSERVATION",
            "identifier": "j8xi01010",
            "source": "FILEID01",
            "programId": "10092",
            "telescope": "HST",
            "instrument": "ACS/WFC",
            "tMinMjd": 50000,
            "tMaxMjd": 50000.5,
        },
        {
            "index": 2,
            "kind": "PROGRAM",
            "identifier": "10092",
            "source": "PROPOSID",
            "programId": None,
            "telescope": None,
            "instrument": None,
            "tMinMjd": None,
            "tMaxMjd": None,
        },
    ]
    assert data["software"] == [
        {"index": 1, "name": "drizzlepac", "version": "3.5.1", "source": "CREATOR"}
    ]
    assert data["findings"] == []
    assert api.run(
        '{ product(fileName: "a2.fits") { findings { code severity keyword message } wavebands } }'
    )["product"] == {
        "findings": [
            {
                "code": "HLSP-K012",
                "severity": "WARNING",
                "keyword": "TELESCOP",
                "message": "TELESCOP is missing; add it.",
            }
        ],
        "wavebands": ["UV", "OPTICAL"],
    }


def test_lookups_by_name_and_id(api: GraphQLClient) -> None:
    assert api.run('{ collection(hlspId: "BETA") { hlspId } }') == {
        "collection": {"hlspId": "beta"}
    }
    assert api.run('{ collection(hlspId: "nope") { hlspId } }') == {"collection": None}
    assert api.run('{ product(fileName: "nope.fits") { id } }') == {"product": None}
    errors = api.errors('{ product(fileName: "dup.fits") { id } }')
    assert errors[0]["extensions"]["code"] == "AMBIGUOUS" and "hlspId" in errors[0]["message"]
    dup = api.run('{ product(fileName: "dup.fits", hlspId: "beta") { collection { hlspId } } }')
    assert dup["product"]["collection"]["hlspId"] == "beta"
    # A target by any spelling of any of its names.
    for name in ("TIC 12345", "tic12345", "TIC-12345", "Gaia DR3 42"):
        target = api.run(
            "query($n: String!) { target(name: $n) { name products { totalCount "
            "nodes { fileName collection { hlspId } } } } }",
            {"n": name},
        )
        assert target["target"]["name"] == "TIC 12345", name
        assert target["target"]["products"]["totalCount"] == 2
    assert api.run('{ target(name: "Vega") { name } }') == {"target": None}

    ids = api.run("""{ products(first: 3, orderBy: [{field: FILE_NAME}]) { nodes { id } }
      collections(first: 1) { nodes { id } } targets(first: 1) { nodes { id } } }""")
    gids = [n["id"] for part in ids.values() for n in part["nodes"]]
    nodes = api.run(
        """query($ids: [ID!]!) { nodes(ids: $ids) { __typename id
      ... on Product { fileName } ... on Collection { hlspId } ... on Target { name } } }""",
        {"ids": gids},
    )["nodes"]
    assert [n["__typename"] for n in nodes] == ["Product"] * 3 + ["Collection", "Target"]
    assert [n["id"] for n in nodes] == gids
    one = api.run(
        "query($id: ID!) { node(id: $id) { ... on Product { fileName } } }", {"id": gids[0]}
    )
    assert one == {"node": {"fileName": "a1.fits"}}
    missing = base64.b64encode(b"Product:987654").decode()
    assert api.run("query($id: ID!) { node(id: $id) { id } }", {"id": missing}) == {"node": None}
    for bad in ("nonsense", base64.b64encode(b"Harvest:1").decode()):
        errors = api.errors("query($id: ID!) { node(id: $id) { id } }", {"id": bad})
        assert errors[0]["extensions"]["code"] == "INVALID_ARGUMENT"


def test_withdrawn_products_are_never_served(api: GraphQLClient, api_db: Database) -> None:
    assert api.run('{ product(fileName: "gx.fits") { id } }') == {"product": None}
    with api_db.engine.connect() as conn:
        pk = conn.exec_driver_sql(
            "SELECT product_id FROM hlsp.product WHERE file_name = 'gx.fits'"
        ).scalar_one()
    gid = base64.b64encode(f"Product:{pk}".encode()).decode()
    assert api.run("query($id: ID!) { node(id: $id) { id } }", {"id": gid}) == {"node": None}
    ngc = api.run('{ target(name: "NGC 1000") { products { nodes { fileName } } } }')
    assert "gx.fits" not in str(ngc)
    facets = api.run("{ facets { total } }")
    assert facets["facets"]["total"] == 11


def test_facets_over_any_filter(api: GraphQLClient) -> None:
    q = """query($f: ProductFilter) { facets(filter: $f) { total
      collection { value count } observatory { value count } instrument { value count }
      dataproductType { value count } verdict { value count } waveband { value count } } }"""
    everything = api.run(q)["facets"]
    assert api.statements == 2  # setup, one pass over the matches for every facet
    assert everything["total"] == 11
    assert everything["collection"] == [
        {"value": "beta", "count": 5},
        {"value": "alpha", "count": 4},
        {"value": "gamma", "count": 2},
    ]
    assert everything["observatory"] == [
        {"value": "HST", "count": 5},
        {"value": "TESS", "count": 4},
        {"value": None, "count": 2},
    ]
    assert everything["instrument"][0] == {"value": "TESS", "count": 4}
    assert {v["value"]: v["count"] for v in everything["dataproductType"]} == {
        "TIMESERIES": 4,
        "IMAGE": 3,
        "SPECTRUM": 2,
        None: 2,
    }
    assert everything["verdict"] == [
        {"value": "PASS", "count": 5},
        {"value": None, "count": 3},
        {"value": "NEEDS_REVIEW", "count": 2},
        {"value": "FAIL", "count": 1},
    ]
    assert everything["waveband"] == [
        {"value": "OPTICAL", "count": 6},
        {"value": "UV", "count": 2},
        {"value": "INFRARED", "count": 1},
    ]

    hst = api.run(q, {"f": {"observatory": {"eq": "HST"}, "not": {"verdict": {"eq": "FAIL"}}}})
    assert hst["facets"]["total"] == 4
    assert hst["facets"]["collection"] == [
        {"value": "alpha", "count": 2},
        {"value": "gamma", "count": 2},
    ]
    nothing = api.run(q, {"f": {"instrument": {"eq": "NIRSpec"}}})["facets"]
    assert nothing == {
        "total": 0,
        "collection": [],
        "observatory": [],
        "instrument": [],
        "dataproductType": [],
        "verdict": [],
        "waveband": [],
    }
    api.run("{ facets { total } }")
    assert api.statements == 2
    api.run("{ facets { waveband { value } } }")
    assert api.statements == 2


def test_search_across_collections(api: GraphQLClient) -> None:
    data = api.run("""{ search(text: "ultraviolet", filter: {observatory: {eq: "HST"}}) {
      products(first: 10, orderBy: [{field: FILE_NAME}]) { totalCount edges { node { fileName } } }
      facets { collection { value count } }
      collections { hlspId }
      targets { name } } }""")["search"]
    assert names(data["products"]) == ["a1", "a2", "a3", "g1", "g2"]
    assert data["products"]["totalCount"] == 5
    assert data["facets"]["collection"] == [
        {"value": "alpha", "count": 3},
        {"value": "gamma", "count": 2},
    ]
    assert [c["hlspId"] for c in data["collections"]] == ["alpha", "gamma"]
    assert data["targets"] == []
    tic = api.run(
        '{ search(text: "TIC 999") { targets { name } products { nodes { fileName } } } }'
    )
    assert tic["search"] == {
        "targets": [{"name": "TIC 999"}],
        "products": {"nodes": [{"fileName": "b2.fits"}]},
    }


def test_descriptions_come_from_the_model(api: GraphQLClient) -> None:
    from catalog.model import Product

    fields = api.run('{ __type(name: "Product") { description fields { name description } } }')
    described = {f["name"]: f["description"] for f in fields["__type"]["fields"]}
    assert described["tMinMjd"].startswith(Product.__table__.c.t_min.comment)
    assert "Unit: days" in described["tMinMjd"]
    assert "Unit: metres" in described["emMinMetres"]
    assert "Unit: degrees" in described["raDeg"]
    assert "filePath" not in described and "headers" not in described
    assert all(described.values())


def test_graphiql_in_a_browser(api: GraphQLClient) -> None:
    page = httpx.get(api.url, headers={"Accept": "text/html"}, timeout=10)
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    via_get = httpx.get(
        api.url, params={"query": "{ collections { nodes { hlspId } } }"}, timeout=10
    )
    assert via_get.json()["data"]["collections"]["nodes"][0] == {"hlspId": "alpha"}
    mutation = httpx.post(api.url, json={"query": "mutation { x }"}, timeout=10)
    assert mutation.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_served_by_hlsp_serve(api_db: Database, monkeypatch: Any) -> None:
    env = {"HLSP_DATABASE_URL": api_db.url, "HLSP_GRAPHQL_MAX_PAGE_SIZE": "5"}
    with serving("serve", env=env) as base:
        ok = httpx.post(
            base + "/graphql",
            json={"query": "{ products(first: 5) { nodes { fileName } } }"},
            timeout=30,
        )
        assert len(ok.json()["data"]["products"]["nodes"]) == 5
        capped = httpx.post(
            base + "/graphql",
            json={"query": "{ products(first: 6) { nodes { fileName } } }"},
            timeout=30,
        )
        assert capped.json()["errors"][0]["extensions"] == {"code": "LIMIT_EXCEEDED", "limit": 5}
        assert "/graphql" in httpx.get(base + "/", timeout=10).text
