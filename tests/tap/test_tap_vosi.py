"""TAP metadata: what the catalog publishes, TAP_SCHEMA, and the VOSI documents."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from io import BytesIO

import pytest
import sqlalchemy as sa
from pyvo.io import vosi
from starlette.testclient import TestClient

from catalog.app import create_app
from catalog.config import Settings
from catalog.db import READER_ROLE, Database
from catalog.tap_examples import EXAMPLES
from catalog.tap_service import TAP_READER_ROLE
from catalog.tap_tables import PUBLISHED_SCHEMA, published_metadata
from tap import tap_schema
from tap.metadata import Column, MetadataError, votable_type


@pytest.fixture
def client(database: Database) -> Iterator[TestClient]:
    with TestClient(create_app(database)) as client:
        yield client


def _granted(conn: sa.Connection, role: str) -> set[tuple[str, str]]:
    rows = conn.execute(
        sa.text(
            "SELECT table_schema || '.' || table_name, column_name "
            "FROM information_schema.column_privileges "
            "WHERE grantee = :role AND privilege_type = 'SELECT' "
            "AND table_schema IN ('hlsp', 'hlsp_published', 'ivoa')"
        ),
        {"role": role},
    ).all()
    return {(r[0], r[1]) for r in rows}


# Unpublished but granted: the ObsCore view's pg_sphere columns (the ADQL translator uses them
# for s_ra/s_dec/s_region), the circles holding footprints (region queries test them first)
# and the tsvectors of GraphQL's text search.
HELPERS = {
    ("ivoa.obscore", "pos"),
    ("ivoa.obscore", "footprint"),
    ("ivoa.obscore", "footprint_bound"),
    ("{hlsp}.product", "footprint_bound"),
    ("{hlsp}.collection", "search_text"),
    ("{hlsp}.target_alias", "search_text"),
}

# What the delivery look-ups read as the reader role besides the published tables (never
# published over TAP): the companion files' names (not their paths) and the harvested roots.
DELIVERY = {
    *(
        ("hlsp.companion_file", c)
        for c in (
            "companion_id",
            "collection_id",
            "file_name",
            "stem",
            "file_bytes",
            "file_mtime",
            "media_type",
            "role",
            "last_seen",
        )
    ),
    ("hlsp.harvest_root", "root"),
    ("hlsp.harvest_root", "first_harvested"),
}


def test_published_columns_are_exactly_what_the_query_roles_may_select(
    database: Database,
) -> None:
    metadata = published_metadata()
    declared = {(t.relation, c.name) for t in metadata.tables for c in t.columns}
    with database.engine.connect() as conn:
        # ADQL runs as the TAP role: the published views and ObsCore, no hlsp table
        granted = _granted(conn, TAP_READER_ROLE)
        helpers = {(t.format(hlsp=PUBLISHED_SCHEMA), c) for t, c in HELPERS}
        assert declared == granted - helpers
        # GraphQL reads the base tables as the reader role: the same columns
        views = PUBLISHED_SCHEMA + "."
        base = {("hlsp." + r.removeprefix(views), c) for r, c in declared if r.startswith(views)}
        on_tables = {g for g in _granted(conn, READER_ROLE) if g[0].startswith("hlsp.")}
        assert base == on_tables - {(t.format(hlsp="hlsp"), c) for t, c in HELPERS} - DELIVERY
        assert on_tables >= DELIVERY
        # and every declared SQL type is the live one
        live: dict[str, str] = dict(
            conn.execute(
                sa.text(
                    "SELECT c.table_schema || '.' || c.table_name || '.' || c.column_name, "
                    "format_type(a.atttypid, a.atttypmod) FROM information_schema.columns c "
                    "JOIN pg_attribute a ON a.attrelid = "
                    "(c.table_schema || '.' || c.table_name)::regclass "
                    "AND a.attname = c.column_name "
                    "WHERE c.table_schema IN ('hlsp_published', 'ivoa')"
                )
            ).all()
        )
    for table in metadata.tables:
        for column in table.columns:
            assert live[f"{table.relation}.{column.name}"] == column.sql_type, column.name


def test_obscore_is_published_under_its_standard_name() -> None:
    metadata = published_metadata()
    obscore = metadata.table("ivoa.obscore")
    assert obscore is not None
    assert obscore.qualified_name == "ivoa.ObsCore"
    s_region = obscore.column("s_region")
    assert s_region is not None
    assert (s_region.datatype, s_region.arraysize, s_region.xtype) == ("char", "*", "adql:REGION")
    assert all(c.std and c.principal for c in obscore.columns if c.utype)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("integer", ("int", None, None)),
        ("BIGINT", ("long", None, None)),
        ("double precision", ("double", None, None)),
        ("text", ("unicodeChar", "*", None)),
        ("character varying(12)", ("unicodeChar", "12*", None)),
        ("character(3)", ("char", "3", None)),
        ("timestamp with time zone", ("char", "*", "timestamp")),
        ("spoint", ("double", "2", "point")),
        ("spoly", ("double", "*", "polygon")),
        ("double precision[]", ("double", "*", None)),
    ],
)
def test_postgres_types_map_to_votable_types(sql: str, expected: tuple[str, ...]) -> None:
    assert votable_type(sql) == expected


def test_unknown_types_and_bad_datatypes_are_refused() -> None:
    with pytest.raises(MetadataError, match="unsupported PostgreSQL type"):
        votable_type("jsonb")
    with pytest.raises(MetadataError, match="not a VOTable datatype"):
        Column("x", "integer", "integer", "an int")


def test_tap_schema_describes_everything_including_itself(database: Database) -> None:
    metadata = tap_schema.with_tap_schema(published_metadata())
    with database.engine.begin() as conn:
        assert tap_schema.install(conn, published_metadata(), reader_role=READER_ROLE)
    with database.engine.begin() as conn:  # unchanged metadata: nothing rewritten
        assert not tap_schema.install(conn, published_metadata(), reader_role=READER_ROLE)
    with database.engine.connect() as conn:
        conn.execute(sa.text(f"SET ROLE {READER_ROLE}"))
        tables = conn.execute(sa.text("SELECT table_name FROM tap_schema.tables")).scalars().all()
        assert tables == [t.qualified_name for t in metadata.tables]
        assert "TAP_SCHEMA.columns" in tables and "ivoa.ObsCore" in tables
        columns = conn.execute(
            sa.text(
                'SELECT table_name, column_name, datatype, arraysize, "size", principal, std, '
                "indexed FROM tap_schema.columns"
            )
        ).all()
        assert len(columns) == sum(len(t.columns) for t in metadata.tables)
        size = [c for c in columns if c[0] == "TAP_SCHEMA.columns" and c[1].endswith('size"')]
        assert [c[1] for c in size] == ['"size"']  # stored delimited: SIZE is reserved
        assert all(c[6] == 1 for c in columns if c[0].startswith("TAP_SCHEMA."))
        assert {c[5] for c in columns} | {c[6] for c in columns} <= {0, 1}
        point = next(c for c in columns if c[0] == "hlsp.target" and c[1] == "pos")
        assert point[2:5] == ("double", "2", 2)
        keys = conn.execute(
            sa.text("SELECT key_id, from_table, target_table FROM tap_schema.keys")
        ).all()
        assert ("TAP_SCHEMA.columns.table_name", "TAP_SCHEMA.columns", "TAP_SCHEMA.tables") in keys
        assert len(keys) == len(metadata.keys)
        key_columns = conn.execute(sa.text("SELECT count(*) FROM tap_schema.key_columns"))
        assert key_columns.scalar_one() == sum(len(k.columns) for k in metadata.keys)


def test_tables_document_matches_tap_schema_and_validates(client: TestClient) -> None:
    response = client.get("/tap/tables")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    tableset = vosi.parse_tables(BytesIO(response.content), pedantic=True)
    names = [t.name for t in tableset.iter_tables()]
    metadata = tap_schema.with_tap_schema(published_metadata())
    assert names == [t.qualified_name for t in metadata.tables]
    obscore = tableset.get_table_by_name("ivoa.ObsCore")
    assert len(obscore.columns) == 33
    region = next(c for c in obscore.columns if c.name == "s_region")
    assert region.datatype.content == "char"
    assert obscore.foreignkeys[0].targettable == "hlsp.product"

    brief = client.get("/tap/tables", params={"detail": "min"})
    tables = vosi.parse_tables(BytesIO(brief.content), pedantic=True)
    assert all(not t.columns for t in tables.iter_tables())

    one = client.get("/tap/tables/ivoa.ObsCore")
    assert one.status_code == 200
    root = ET.fromstring(one.content)
    assert root.tag == "{http://www.ivoa.net/xml/VOSITables/v1.0}table"
    assert len(root.findall("column")) == 33
    missing = client.get("/tap/tables/hlsp.harvest_run")
    assert missing.status_code == 404
    assert "hlsp.harvest_run" in missing.text
    assert client.post("/tap/tables").status_code == 405


def test_capabilities_declare_the_service(database: Database) -> None:
    database.settings = Settings(public_url="https://archive.example/hlsp/")
    with TestClient(create_app(database)) as client:
        response = client.get("/tap/capabilities")
    assert response.status_code == 200
    assert response.headers["server"].startswith("HLSP-Catalog/")
    caps = vosi.parse_capabilities(BytesIO(response.content), pedantic=False)
    tap = next(c for c in caps if c.standardid == "ivo://ivoa.net/std/TAP")
    assert tap.interfaces[0].accessurls[0].content == "https://archive.example/hlsp/tap"
    assert tap.outputlimit.default.content == 10_000
    assert tap.outputlimit.hard.unit == "row"
    assert [m.ivo_id for m in tap.datamodels] == ["ivo://ivoa.net/std/ObsCore#core-1.1"]
    assert {v.ivo_id for v in tap.languages[0].versions} == {
        "ivo://ivoa.net/std/ADQL#v2.0",
        "ivo://ivoa.net/std/ADQL#v2.1",
    }
    standards = {c.standardid for c in caps}
    assert "ivo://ivoa.net/std/VOSI#tables-1.1" in standards
    assert "ivo://ivoa.net/std/DALI#examples" in standards


def test_availability_checks_the_database(
    client: TestClient, database: Database, admin_engine: sa.Engine
) -> None:
    up = client.get("/tap/availability")
    assert up.status_code == 200
    assert b"<vosi:available>true</vosi:available>" in up.content
    database.dispose()
    name = sa.engine.make_url(database.engine.url).database
    with admin_engine.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))
    down = client.get("/tap/availability")
    assert b"<vosi:available>false</vosi:available>" in down.content
    assert name is not None and name.encode() in down.content


def test_examples_are_well_formed_rdfa(client: TestClient) -> None:
    response = client.get("/tap/examples")
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    ns = "{http://www.w3.org/1999/xhtml}"
    body = root.find(f"{ns}body")
    assert body is not None and body.get("vocab") == "http://www.ivoa.net/rdf/examples#"
    blocks = [e for e in root.iter() if e.get("typeof") == "example"]
    assert len(blocks) == len(EXAMPLES) >= 8
    for block in blocks:
        assert block.get("resource") == "#" + (block.get("id") or "")
        queries = [e for e in block.iter() if e.get("property") == "query"]
        names = [e for e in block.iter() if e.get("property") == "name"]
        assert len(queries) == len(names) == 1
        assert queries[0].text and "SELECT" in queries[0].text and not list(queries[0])


def test_landing_page_lists_resources_and_tables(client: TestClient) -> None:
    page = client.get("/tap/")
    assert page.status_code == 200
    assert "ivoa.ObsCore" in page.text
    assert "/tap/capabilities" in page.text
    cors = client.get("/tap/capabilities", headers={"Origin": "https://portal.example"})
    assert cors.headers["access-control-allow-origin"] == "*"
