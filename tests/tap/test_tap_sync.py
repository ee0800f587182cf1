"""/tap/sync over the catalog: ADQL on the published tables, formats, errors, safety, indexes."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from astropy.io.votable import parse as votable_parse
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from catalog.app import create_app
from catalog.db import Database
from catalog.tap_service import TAP_READER_ROLE
from catalog.tap_tables import published_metadata
from tap.adql import translate
from tap.tap_schema import with_tap_schema
from tests.support import factories as f


@pytest.fixture
def filled(database: Database) -> Database:
    with Session(database.engine) as s:
        coll = f.collection(s, "tglc", title="TESS-Gaia light curves")
        other = f.collection(s, "k2sff")
        s.execute(
            sa.text(
                "INSERT INTO hlsp.product (collection_id, file_name, file_path, file_bytes, "
                "file_mtime, pos, footprint, instrument, dataproduct_type) "
                "SELECT CASE WHEN g % 3 = 0 THEN :o ELSE :c END, "
                "'hlsp_x_tess_phot_t' || g || '_tess_v1_lc.fits', '/f' || g, 2880, now(), "
                "spoint(radians(100 + (g % 100) * 0.01), radians(10 + (g / 100) * 0.01)), "
                "('{(' || (100 + (g % 100) * 0.01) || 'd,10d),(' || (100.01 + (g % 100) * 0.01) "
                "|| 'd,10d),(' || (100.01 + (g % 100) * 0.01) || 'd,10.01d)}')::spoly, "
                "CASE WHEN g % 2 = 0 THEN 'WFC3' ELSE 'ACS' END, 'timeseries' "
                "FROM generate_series(1, 5000) g"
            ),
            {"c": coll.collection_id, "o": other.collection_id},
        )
        s.commit()
        s.execute(sa.text("ANALYZE hlsp.product"))
    return database


@pytest.fixture
def client(filled: Database) -> Iterator[TestClient]:
    with TestClient(create_app(filled)) as client:
        yield client


def sync(client: TestClient, query: str, **params: str) -> tuple[int, str, bytes]:
    answer = client.post("/tap/sync", data={"LANG": "ADQL", "QUERY": query, **params})
    return answer.status_code, answer.headers["content-type"], answer.content


def error_text(body: bytes) -> str:
    votable = votable_parse(io.BytesIO(body))
    status = [i for i in votable.resources[0].infos if i.name == "QUERY_STATUS"]
    assert status[0].value == "ERROR"
    return str(status[0].content)


def test_cone_search_over_obscore_returns_the_right_rows(
    client: TestClient, filled: Database
) -> None:
    query = (
        "SELECT obs_id, s_ra, s_dec FROM ivoa.ObsCore WHERE "
        "1 = CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 100.2, 10.2, 0.045))"
    )
    status, kind, body = sync(client, query, RESPONSEFORMAT="csv")
    assert status == 200 and kind.startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    with filled.engine.connect() as conn:
        expected = set(
            conn.execute(
                sa.text(
                    "SELECT obs_id FROM ivoa.obscore WHERE degrees(pos <-> "
                    "spoint(radians(100.2), radians(10.2))) < 0.045"
                )
            ).scalars()
        )
    assert expected and {r["obs_id"] for r in rows} == expected


def test_geometry_constraints_on_obscore_use_the_gist_indexes(filled: Database) -> None:
    metadata = with_tap_schema(published_metadata())
    cone = translate(
        "SELECT obs_id FROM ivoa.ObsCore WHERE DISTANCE(POINT('ICRS', s_ra, s_dec), "
        "POINT('ICRS', 100.2, 10.2)) < 0.05",
        metadata,
    )
    region = translate(
        "SELECT obs_id FROM ivoa.ObsCore WHERE "
        "CONTAINS(POINT('ICRS', 100.5, 10.005), s_region) = 1",
        metadata,
    )
    # Regions go through the GiST index on the circle holding each footprint: on the view,
    # on the table itself, and from a derived table (its hidden columns carry the circle).
    regions = [region] + [
        translate(q, metadata)
        for q in (
            "SELECT obs_id FROM ivoa.ObsCore WHERE INTERSECTS(s_region, "
            "CIRCLE('ICRS', 100.305, 10.005, 0.001)) = 1",
            "SELECT obs_id FROM hlsp.product WHERE CONTAINS(POINT('ICRS', 100.5, 10.005), "
            "footprint) = 1",
            "SELECT o.obs_id FROM (SELECT obs_id, s_region FROM ivoa.ObsCore) AS o "
            "WHERE 1 = INTERSECTS(o.s_region, POLYGON('ICRS', 100.3, 10.002, 100.32, 10.002, "
            "100.32, 10.008))",
        )
    ]
    with filled.engine.begin() as conn:
        # the role ADQL runs as: the hidden columns are readable
        conn.execute(sa.text(f"SET LOCAL ROLE {TAP_READER_ROLE}"))
        plans = [(cone, "product_pos_idx")] + [(r, "product_footprint_bound_idx") for r in regions]
        for translation, index in plans:
            plan = "\n".join(conn.execute(sa.text("EXPLAIN " + translation.sql)).scalars())
            assert index in plan, plan
        answers = [sorted(conn.execute(sa.text(r.sql)).scalars()) for r in regions]
        # The same rows as the exact polygon tests alone, on every row
        exact = [
            sorted(conn.execute(sa.text(sql)).scalars())
            for sql in (
                "SELECT obs_id FROM ivoa.obscore WHERE spoint(radians(100.5), radians(10.005)) "
                "<@ footprint",
                "SELECT obs_id FROM ivoa.obscore WHERE footprint && "
                "scircle(spoint(radians(100.305), "
                "radians(10.005)), radians(0.001))",
                "SELECT obs_id FROM hlsp_published.product WHERE spoint(radians(100.5), "
                "radians(10.005)) "
                "<@ footprint",
                "SELECT obs_id FROM ivoa.obscore WHERE footprint && "
                "'{(100.3d,10.002d),(100.32d,10.002d),(100.32d,10.008d)}'::spoly",
            )
        ]
    assert answers == exact
    assert all(answers), [len(a) for a in answers]


def test_footprint_circles_in_subqueries_joins_and_random_points(filled: Database) -> None:
    metadata = with_tap_schema(published_metadata())
    # A subquery of IN gets no hidden columns (it compares whole rows)
    within = translate(
        "SELECT obs_id FROM hlsp.product WHERE footprint IN (SELECT footprint FROM hlsp.product"
        " WHERE obs_id = 'hlsp_x_tess_phot_t7_tess_v1_lc')",
        metadata,
    )
    regions = translate(
        "SELECT obs_id FROM ivoa.ObsCore WHERE s_region IN (SELECT s_region FROM ivoa.ObsCore"
        " WHERE obs_id = 'hlsp_x_tess_phot_t7_tess_v1_lc')",
        metadata,
    )
    # Two footprints meet only where their circles do: one circle test, indexed either way
    pairs = translate(
        "SELECT COUNT(*) FROM hlsp.product AS a JOIN hlsp.product AS b ON "
        "INTERSECTS(a.footprint, b.footprint) = 1 WHERE a.obs_id = "
        "'hlsp_x_tess_phot_t7_tess_v1_lc'",
        metadata,
    )
    assert pairs.sql.count("footprint_bound") == 2, pairs.sql
    # A random point is drawn once: the circle test would draw a second one
    drawn = translate(
        "SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', "
        "100 + RAND(), 10.005), s_region) = 1",
        metadata,
    )
    assert drawn.sql.count("random()") == 1 and "footprint_bound" not in drawn.sql
    with filled.engine.begin() as conn:
        conn.execute(sa.text(f"SET LOCAL ROLE {TAP_READER_ROLE}"))
        same = conn.execute(
            sa.text(
                "SELECT count(*) FROM hlsp_published.product WHERE footprint = (SELECT "
                "footprint FROM hlsp_published.product WHERE obs_id = "
                "'hlsp_x_tess_phot_t7_tess_v1_lc')"
            )
        ).scalar_one()
        assert len(conn.execute(sa.text(within.sql)).all()) == same == 50  # one in 100 shapes
        assert len(conn.execute(sa.text(regions.sql)).all()) == same
        overlapping = conn.execute(sa.text(pairs.sql)).scalar_one()
        exact = conn.execute(
            sa.text(
                "SELECT count(*) FROM hlsp_published.product a JOIN hlsp_published.product b "
                "ON a.footprint && b.footprint WHERE a.obs_id = 'hlsp_x_tess_phot_t7_tess_v1_lc'"
            )
        ).scalar_one()
        assert overlapping == exact >= 2  # itself and its neighbours
        conn.execute(sa.text(drawn.sql)).all()


def test_every_output_format(client: TestClient) -> None:
    query = "SELECT TOP 3 obs_id, pos, instrument FROM hlsp.product ORDER BY obs_id"
    for fmt in ("votable", "votable/td", "votable/b", "votable/b2"):
        status, kind, body = sync(client, query, RESPONSEFORMAT=fmt)
        assert status == 200 and kind.startswith("application/x-votable+xml")
        table = votable_parse(io.BytesIO(body)).get_first_table().to_table()
        assert len(table) == 3 and table["pos"].shape == (3, 2)
    status, kind, body = sync(client, query, FORMAT="text/tab-separated-values")
    assert kind.startswith("text/tab-separated-values")
    assert body.decode().splitlines()[0].split("\t") == ["obs_id", "pos", "instrument"]
    status, _, body = sync(client, query, RESPONSEFORMAT="application/fits")
    assert status == 400 and "csv" in error_text(body)


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("SELECT pg_sleep(10) FROM hlsp.product", "pg_sleep"),
        ("SELECT * FROM hlsp.product; DELETE FROM hlsp.product", "line 1"),
        ("SELECT * FROM pg_catalog.pg_authid", "pg_catalog"),
        ("SELECT file_path FROM hlsp.product", "file_path"),
        ("SELECT ctid FROM hlsp.product", "ctid"),
        ("SELECT * FROM hlsp.harvest_run", "harvest_run"),
        ("SELECT TOP 1 obs_id FROM ivoa.ObsCore WHERE obs_id = 'a' || 1e999999", "1e999999"),
    ],
)
def test_hostile_queries_get_an_error_document_and_never_run(
    client: TestClient, filled: Database, query: str, says: str
) -> None:
    status, kind, body = sync(client, query)
    assert status == 400 and kind.startswith("application/x-votable+xml")
    assert says.lower() in error_text(body).lower()
    with filled.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM hlsp.product")).scalar() == 5000


def test_parameters_are_checked_with_clear_messages(client: TestClient) -> None:
    answer = client.get("/tap/sync", params={"QUERY": "SELECT TOP 1 * FROM hlsp.product"})
    assert answer.status_code == 400 and "LANG" in error_text(answer.content)
    answer = client.get("/tap/sync", params={"LANG": "OOBLECK", "QUERY": "SELECT 1"})
    assert "OOBLECK" in error_text(answer.content)
    answer = client.get(
        "/tap/sync",
        params={
            "lang": "adql-2.0",
            "query": "SELECT TOP 2 obs_id FROM ivoa.ObsCore",
            "maxrec": "1",
            "REQUEST": "doQuery",
            "DUMMY": "x",
        },
    )
    table = votable_parse(io.BytesIO(answer.content))
    assert answer.status_code == 200 and len(table.get_first_table().array) == 1
    answer = client.get(
        "/tap/sync", params={"LANG": "ADQL", "QUERY": "SELECT 1 FROM x", "MAXREC": "-3"}
    )
    assert "MAXREC" in error_text(answer.content)


def test_inline_upload_joins_a_published_table(client: TestClient) -> None:
    upload = (
        '<?xml version="1.0"?><VOTABLE version="1.3" '
        'xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE><TABLE>'
        '<FIELD name="ra" datatype="double"/><FIELD name="dec" datatype="double"/>'
        '<FIELD name="label" datatype="char" arraysize="*"/>'
        "<DATA><TABLEDATA><TR><TD>100.2</TD><TD>10.2</TD><TD>mine</TD></TR>"
        "<TR><TD>300</TD><TD>-80</TD><TD>nothing there</TD></TR></TABLEDATA></DATA>"
        "</TABLE></RESOURCE></VOTABLE>"
    )
    answer = client.post(
        "/tap/sync",
        data={
            "LANG": "ADQL",
            "UPLOAD": "pos,param:pos",
            "RESPONSEFORMAT": "csv",
            "QUERY": "SELECT u.label, COUNT(*) AS n "
            "FROM TAP_UPLOAD.pos AS u JOIN ivoa.ObsCore AS o "
            "ON DISTANCE(POINT('ICRS', u.ra, u.dec), POINT('ICRS', o.s_ra, o.s_dec)) < 0.02 "
            "GROUP BY u.label",
        },
        files={"pos": ("pos.xml", upload.encode(), "application/x-votable+xml")},
    )
    assert answer.status_code == 200, answer.text
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["label"] for r in rows] == ["mine"] and int(rows[0]["n"]) > 0
    missing = client.post(
        "/tap/sync",
        data={"LANG": "ADQL", "UPLOAD": "t,param:nope", "QUERY": "SELECT * FROM TAP_UPLOAD.t"},
    )
    assert "nope" in error_text(missing.content)
