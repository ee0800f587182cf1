"""The documented portal operations (graphql/operations/*.graphql), run over HTTP against a
harvested generated corpus, their results checked against the database by plain SQL."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from catalog.app import create_app
from catalog.corpus import generate_corpus
from catalog.db import Database
from catalog.graphql.enums import waveband
from catalog.harvest.run import HarvestOptions, harvest
from tests.support.db import REPO, scratch_database
from tests.support.graphql import GraphQLClient
from tests.support.server import live_server

OPERATIONS = REPO / "graphql" / "operations"
TESTED = {
    "collection_page", "cone_search", "target_products", "products_needing_review",
    "product_provenance", "text_search", "portal_search", "facet_panel", "product_downloads",
}  # fmt: skip


@pytest.fixture(scope="module")
def corpus_db(
    admin_engine: sa.Engine,
    server_url: str,
    template_name: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Database]:
    root = tmp_path_factory.mktemp("gql-corpus") / "hlsp"
    generate_corpus(root, files=120, seed=11, flaws=True)
    with scratch_database(admin_engine, server_url, template_name, "hlsp_gql") as db:
        summary = harvest(db, HarvestOptions(paths=[root], jobs=2, progress=False))
        assert summary.state == "completed"
        yield db


@pytest.fixture(scope="module")
def client(corpus_db: Database) -> Iterator[GraphQLClient]:
    with live_server(create_app(corpus_db)) as base:
        c = GraphQLClient(base, corpus_db)
        yield c
        c.close()


def op(name: str) -> str:
    return (OPERATIONS / f"{name}.graphql").read_text(encoding="utf-8")


def sql(db: Database, query: str, **params: Any) -> list[Any]:
    with db.engine.connect() as conn:
        return list(conn.execute(sa.text(query), params).all())


def test_every_operation_is_tested() -> None:
    assert {p.stem for p in OPERATIONS.glob("*.graphql")} == TESTED
    for path in OPERATIONS.glob("*.graphql"):
        assert path.read_text().startswith("# "), f"{path.name} needs a documenting comment"


def test_collection_page(client: GraphQLClient, corpus_db: Database) -> None:
    hlsp_id, title, doi, count = sql(
        corpus_db,
        """
        SELECT c.hlsp_id, c.title, c.doi, count(*) FROM hlsp.collection c
        JOIN hlsp.product p USING (collection_id) WHERE p.withdrawn_at IS NULL
        GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1 LIMIT 1""",
    )[0]
    pages, after = [], None
    while True:
        data = client.run(op("collection_page"), {"hlspId": hlsp_id, "first": 10, "after": after})
        statements = client.statements
        coll = data["collection"]
        assert (coll["hlspId"], coll["title"], coll["doi"]) == (hlsp_id, title, doi)
        assert coll["products"]["totalCount"] == count
        pages.append([e["node"]["fileName"] for e in coll["products"]["edges"]])
        if not coll["products"]["pageInfo"]["hasNextPage"]:
            break
        after = coll["products"]["pageInfo"]["endCursor"]
    assert len(pages) == math.ceil(count / 10)
    assert [n for p in pages for n in p] == [
        r[0]
        for r in sql(
            corpus_db,
            """
        SELECT file_name FROM hlsp.product JOIN hlsp.collection USING (collection_id)
        WHERE hlsp_id = :h AND withdrawn_at IS NULL ORDER BY file_name""",
            h=hlsp_id,
        )
    ]
    # setup, collection, product page, its count, facets
    assert statements == 5

    facets = data["facets"]
    assert facets["total"] == count
    expected = Counter(
        dict(
            sql(
                corpus_db,
                """SELECT instrument, count(*) FROM hlsp.product
        JOIN hlsp.collection USING (collection_id) WHERE hlsp_id = :h GROUP BY 1""",
                h=hlsp_id,
            )
        )
    )
    assert {f["value"]: f["count"] for f in facets["instrument"]} == expected
    ranges = sql(
        corpus_db,
        """SELECT em_min, em_max FROM hlsp.product JOIN hlsp.collection
        USING (collection_id) WHERE hlsp_id = :h AND em_min IS NOT NULL""",
        h=hlsp_id,
    )
    bands = Counter(b.upper().replace("-", "_") for lo, hi in ranges for b in waveband(lo, hi))
    assert {f["value"]: f["count"] for f in facets["waveband"]} == bands
    assert sum(f["count"] for f in facets["verdict"]) == count


def _separation(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    r1, d1, r2, d2 = map(math.radians, (ra1, dec1, ra2, dec2))
    cos = math.sin(d1) * math.sin(d2) + math.cos(d1) * math.cos(d2) * math.cos(r1 - r2)
    return math.degrees(math.acos(max(-1.0, min(1.0, cos))))


def test_cone_search(client: GraphQLClient, corpus_db: Database) -> None:
    ra, dec = sql(
        corpus_db,
        """SELECT s_ra, s_dec FROM hlsp.product WHERE footprint IS NOT NULL
                                ORDER BY file_name LIMIT 1""",
    )[0]
    radius = 0.05
    data = client.run(
        op("cone_search"), {"raDeg": ra, "decDeg": dec, "radiusDeg": radius, "first": 1000}
    )
    found = {n["fileName"]: n for n in data["products"]["nodes"]}
    positions = sql(
        corpus_db,
        "SELECT file_name, s_ra, s_dec, footprint IS NOT NULL FROM "
        "hlsp.product WHERE s_ra IS NOT NULL AND withdrawn_at IS NULL",
    )
    inside = {name for name, r, d, _ in positions if _separation(ra, dec, r, d) <= radius}
    assert inside and inside <= set(found)
    with_footprint = {name for name, _, _, fp in positions if fp}
    assert set(found) - inside <= with_footprint  # the others overlap by their footprint
    assert data["products"]["totalCount"] == len(found)
    assert sum(f["count"] for f in data["facets"]["collection"]) == len(found)
    assert all(n["collection"]["hlspId"] for n in found.values())
    far = client.run(op("cone_search"), {"raDeg": ra, "decDeg": dec, "radiusDeg": 1e-9})
    assert {n["fileName"] for n in far["products"]["nodes"]} <= set(found)


def test_target_products_in_every_hlsp(client: GraphQLClient, corpus_db: Database) -> None:
    name, collections = sql(
        corpus_db,
        """
        SELECT t.name, count(DISTINCT p.collection_id) FROM hlsp.target t
        JOIN hlsp.product_target pt USING (target_id) JOIN hlsp.product p USING (product_id)
        GROUP BY t.target_id, t.name ORDER BY 2 DESC, count(*) DESC, 1 LIMIT 1""",
    )[0]
    assert collections >= 2
    spelled = name.lower().replace(" ", "")  # any spelling of the name finds it
    data = client.run(op("target_products"), {"name": spelled})["target"]
    assert data["name"] == name
    expected = sql(
        corpus_db,
        """
        SELECT p.file_name, c.hlsp_id FROM hlsp.product p JOIN hlsp.collection c
        USING (collection_id) JOIN hlsp.product_target pt USING (product_id)
        JOIN hlsp.target t USING (target_id) WHERE t.name = :n AND p.withdrawn_at IS NULL
        ORDER BY p.file_name""",
        n=name,
    )
    got = [(n["fileName"], n["collection"]["hlspId"]) for n in data["products"]["nodes"]]
    assert got == [tuple(r) for r in expected]
    assert data["products"]["totalCount"] == len(expected)
    assert len({h for _, h in got}) == collections
    assert name in data["aliases"] or any(
        a.lower().replace(" ", "") == spelled for a in data["aliases"]
    )


def test_products_needing_review(client: GraphQLClient, corpus_db: Database) -> None:
    flagged = sql(
        corpus_db,
        """SELECT p.file_name, p.verdict, c.hlsp_id FROM hlsp.product p
        JOIN hlsp.collection c USING (collection_id)
        WHERE verdict IN ('NEEDS REVIEW', 'FAIL') ORDER BY file_name""",
    )
    assert flagged
    data = client.run(op("products_needing_review"), {"first": 1000})
    nodes = data["products"]["nodes"]
    assert [
        (n["fileName"], n["verdict"].replace("_", " "), n["collection"]["hlspId"]) for n in nodes
    ] == [tuple(r) for r in flagged]
    assert all(n["findings"] for n in nodes)  # each says what to fix
    some = nodes[0]
    assert [(f["code"], f["message"]) for f in some["findings"]] == [
        tuple(r)
        for r in sql(
            corpus_db,
            """SELECT code, message FROM hlsp.product_finding JOIN hlsp.product
        USING (product_id) WHERE file_name = :f ORDER BY finding_index""",
            f=some["fileName"],
        )
    ]
    verdicts = {v["value"]: v["count"] for v in data["facets"]["verdict"]}
    assert verdicts["NEEDS_REVIEW"] + verdicts["FAIL"] == len(flagged)

    hlsp_id = flagged[0][2]
    one = client.run(op("products_needing_review"), {"hlspId": hlsp_id, "first": 1000})
    assert {n["collection"]["hlspId"] for n in one["products"]["nodes"]} == {hlsp_id}
    assert one["products"]["totalCount"] == sum(1 for r in flagged if r[2] == hlsp_id)


def test_product_provenance(client: GraphQLClient, corpus_db: Database) -> None:
    file_name, hlsp_id = sql(
        corpus_db,
        """SELECT p.file_name, c.hlsp_id FROM hlsp.product p
        JOIN hlsp.collection c USING (collection_id) JOIN hlsp.provenance_input i
        USING (product_id) GROUP BY 1, 2 ORDER BY count(*) DESC, 1 LIMIT 1""",
    )[0]
    data = client.run(op("product_provenance"), {"fileName": file_name, "hlspId": hlsp_id})
    product = data["product"]
    assert product["fileName"] == file_name and product["collection"]["hlspId"] == hlsp_id
    inputs = sql(
        corpus_db,
        """SELECT i.input_index, upper(i.kind), i.identifier, i.source,
        i.program_id, i.telescope, i.instrument, i.t_min, i.t_max FROM hlsp.provenance_input i
        JOIN hlsp.product p USING (product_id) WHERE p.file_name = :f ORDER BY i.input_index""",
        f=file_name,
    )
    assert len(inputs) >= 2
    assert [tuple(i.values()) for i in product["inputs"]] == [tuple(r) for r in inputs]
    software = sql(
        corpus_db,
        """SELECT s.software_index, s.name, s.software_version, s.source
        FROM hlsp.provenance_software s JOIN hlsp.product p USING (product_id)
        WHERE p.file_name = :f ORDER BY s.software_index""",
        f=file_name,
    )
    assert [tuple(s.values()) for s in product["software"]] == [tuple(r) for r in software]
    assert client.run(op("product_provenance"), {"fileName": "no-such-file.fits"}) == {
        "product": None
    }


def test_text_search(client: GraphQLClient, corpus_db: Database) -> None:
    variables = {
        "text": "ultraviolet",
        "filter": {"dataproductType": {"in": ["SPECTRUM"]}},
        "first": 1000,
    }
    data = client.run(op("text_search"), variables)["search"]
    matched = [c["hlspId"] for c in data["collections"]]
    titles = sql(
        corpus_db,
        "SELECT hlsp_id FROM hlsp.collection WHERE title ILIKE '%ultraviolet%' ORDER BY hlsp_id",
    )
    assert [r[0] for r in titles] and {r[0] for r in titles} <= set(matched)
    spectra = sql(
        corpus_db,
        """SELECT file_name FROM hlsp.product JOIN hlsp.collection
        USING (collection_id) WHERE hlsp_id = ANY(:h) AND dataproduct_type = 'spectrum'
        AND withdrawn_at IS NULL ORDER BY file_name""",
        h=matched,
    )
    assert spectra
    assert [n["fileName"] for n in data["products"]["nodes"]] == [r[0] for r in spectra]
    assert data["products"]["totalCount"] == data["facets"]["total"] == len(spectra)
    assert data["facets"]["dataproductType"] == [{"value": "SPECTRUM", "count": len(spectra)}]

    target = sql(corpus_db, "SELECT name FROM hlsp.target ORDER BY name LIMIT 1")[0][0]
    by_name = client.run(op("text_search"), {"text": target})["search"]
    assert target in [t["name"] for t in by_name["targets"]]
    assert by_name["products"]["totalCount"] >= 1


def test_portal_search_and_facet_panel(client: GraphQLClient, corpus_db: Database) -> None:
    form = {
        "dataproductType": {"in": ["TIMESERIES", "IMAGE"]},
        "observatory": {"in": ["TESS", "JWST", "K2"]},
    }
    expected = sql(
        corpus_db,
        """SELECT count(*) FROM hlsp.product WHERE withdrawn_at IS NULL
        AND dataproduct_type IN ('timeseries', 'image')
        AND observatory IN ('TESS', 'JWST', 'K2')""",
    )[0][0]
    assert expected > 20
    seen, after, statements = [], None, set()
    while True:
        page = client.run(op("portal_search"), {"filter": form, "after": after})["products"]
        statements.add(client.statements)
        seen += [e["node"] for e in page["edges"]]
        assert len(page["edges"]) <= 20
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == expected and len({n["id"] for n in seen}) == expected
    assert all(n["collection"]["hlspId"] and n["targets"] for n in seen)
    assert statements == {4}  # setup, page, collections, targets

    panel = client.run(op("facet_panel"), {"filter": form})["facets"]
    assert panel["total"] == expected
    for facet, column in (
        ("observatory", "observatory"),
        ("instrument", "instrument"),
        ("dataproductType", "dataproduct_type"),
        ("verdict", "verdict"),
    ):
        rows = sql(
            corpus_db,
            f"""SELECT {column}, count(*) FROM hlsp.product
            WHERE withdrawn_at IS NULL AND dataproduct_type IN ('timeseries', 'image')
            AND observatory IN ('TESS', 'JWST', 'K2') GROUP BY 1""",
        )
        expected = {
            (v.upper().replace(" ", "_") if v and facet in ("dataproductType", "verdict") else v): n
            for v, n in rows
        }
        assert {v["value"]: v["count"] for v in panel[facet]} == expected, facet
    everything = client.run(op("facet_panel"))["facets"]
    assert everything["total"] == sql(corpus_db, "SELECT count(*) FROM hlsp.product")[0][0]
    assert client.statements == 2


def test_product_downloads(client: GraphQLClient, corpus_db: Database) -> None:
    """The links of a page of products: each file downloads byte for byte from accessUrl;
    the DID is ObsCore's; the other links are this server's, keyed by the same id."""
    import hashlib
    from pathlib import Path
    from urllib.parse import parse_qs, urlsplit

    import httpx

    hlsp_id = "uv-stars"
    data = client.run(op("product_downloads"), {"hlspId": hlsp_id, "first": 8})
    nodes = data["products"]["nodes"]
    assert len(nodes) == 8
    rows = {
        r[0]: (r[1], r[2])
        for r in sql(
            corpus_db,
            """SELECT o.obs_publisher_did, p.file_path, p.file_name FROM ivoa.obscore o
            JOIN hlsp.product p USING (product_id) WHERE o.provenance_name = :h""",
            h=hlsp_id,
        )
    }
    base = client.url.rsplit("/graphql", 1)[0]
    with httpx.Client(timeout=30) as http:
        for node in nodes:
            path, name = rows[node["publisherDid"]]
            assert node["fileName"] == name
            assert node["accessUrl"] == f"{base}/files/{hlsp_id}/{name}"
            assert node["previewUrl"] == f"{base}/previews/{hlsp_id}/{name}"
            assert node["thumbnailUrl"] == f"{base}/thumbnails/{hlsp_id}/{name}"
            link = urlsplit(node["datalinkUrl"])
            assert f"{link.scheme}://{link.netloc}{link.path}" == f"{base}/datalink/links"
            assert parse_qs(link.query) == {"ID": [node["publisherDid"]]}
            body = http.get(node["accessUrl"]).content
            assert hashlib.sha256(body).digest() == hashlib.sha256(Path(path).read_bytes()).digest()
            assert len(body) == node["fileBytes"]
    # the links cost one statement for the page's collections, not one per product
    with_links = client.statements
    client.run(
        "query($h: String!) { products(filter: {collection: {hlspId: {eq: $h}}}, first: 8) "
        "{ totalCount nodes { fileName } } }",
        {"h": hlsp_id},
    )
    assert with_links == client.statements + 1
