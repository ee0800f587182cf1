"""Migrations build everything from an empty database, go down cleanly, and up again."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from catalog.config import Settings
from catalog.db import Database
from catalog.errors import MigrationError
from catalog.model import Base
from tests.support.db import database_url


def _state(db: Database) -> dict[str, list[str]]:
    with db.engine.connect() as conn:
        q = lambda sql: sorted(str(r[0]) for r in conn.execute(sa.text(sql)))  # noqa: E731
        return {
            "schemas": q("SELECT nspname FROM pg_namespace WHERE nspname IN ('hlsp', 'ivoa')"),
            "tables": q(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                "WHERE table_schema IN ('hlsp', 'ivoa')"
            ),
            "extensions": q("SELECT extname FROM pg_extension WHERE extname = 'pg_sphere'"),
            "functions": q(
                "SELECT proname FROM pg_proc p JOIN pg_namespace n "
                "ON n.oid = p.pronamespace WHERE nspname = 'hlsp'"
            ),
            "indexes": q("SELECT indexname FROM pg_indexes WHERE schemaname = 'hlsp'"),
            "grants": q(
                "SELECT table_schema || '.' || table_name FROM "
                "information_schema.role_table_grants WHERE grantee = 'hlsp_reader'"
            ),
        }


def test_up_down_up(server_url: str, fresh_database_name: str) -> None:
    db = Database(database_url(server_url, fresh_database_name), settings=Settings())
    empty = _state(db)
    assert empty["schemas"] == [] and empty["extensions"] == []

    db.migrate()
    up = _state(db)
    assert up["schemas"] == ["hlsp", "ivoa"]
    assert up["extensions"] == ["pg_sphere"]
    assert "ivoa.obscore" in up["tables"]
    assert {
        "hlsp.product",
        "hlsp.collection",
        "hlsp.target",
        "hlsp.provenance_input",
        "hlsp.harvest_run",
        "hlsp.harvest_failure",
    } <= set(up["tables"])
    assert {
        "product_pos_idx",
        "product_footprint_bound_idx",
        "target_pos_idx",
        "collection_search_text_idx",
        "target_alias_search_text_idx",
    } <= set(up["indexes"])
    assert "ivoa.obscore" in up["grants"]
    assert "hlsp.harvest_failure" not in up["grants"]
    assert db.schema_status().up_to_date

    db.migrate("base")
    assert _state(db) == empty
    assert db.schema_status().current is None

    db.migrate()
    assert _state(db) == up
    db.dispose()


def test_plain_alembic_upgrade_serves_complete_dids(
    server_url: str, fresh_database_name: str
) -> None:
    # No Database.migrate (which also syncs settings): the migration alone must seed them.
    from alembic import command

    from catalog.db import alembic_config

    url = database_url(server_url, fresh_database_name)
    command.upgrade(alembic_config(url=url), "head")
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO hlsp.collection (hlsp_id) VALUES ('x')"))
        conn.execute(
            sa.text(
                "INSERT INTO hlsp.product (collection_id, file_name, file_path, file_bytes, "
                "file_mtime) SELECT collection_id, 'a.fits', '/a.fits', 1, now() "
                "FROM hlsp.collection"
            )
        )
        did = conn.execute(sa.text("SELECT obs_publisher_did FROM ivoa.obscore")).scalar_one()
    engine.dispose()
    assert did == "ivo://hlsp.example/catalog?x/a.fits"


def test_model_and_migrations_agree(database: Database) -> None:
    with database.engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn,
            opts={
                "include_schemas": True,
                "include_object": lambda obj, name, type_, reflected, compare_to: (
                    obj.schema == "hlsp" if type_ == "table" else True
                ),
            },
        )
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], f"the model differs from the migrations: {diff}"


def test_failed_migration_changes_nothing(server_url: str, fresh_database_name: str) -> None:
    url = database_url(server_url, fresh_database_name)
    db = Database(url, settings=Settings())
    with db.engine.begin() as conn:  # a squatter where the migration wants to create a table
        conn.execute(sa.text("CREATE SCHEMA hlsp; CREATE TABLE hlsp.product (x int)"))
    with pytest.raises(MigrationError, match="already exists") as info:
        db.migrate()
    assert "rolled back" in str(info.value)
    state = _state(db)
    assert state["tables"] == ["hlsp.product"]
    assert state["extensions"] == []
    assert db.schema_status().current is None
    db.dispose()


def test_migrate_is_idempotent(database: Database) -> None:
    before = database.schema_status()
    database.migrate()
    database.migrate()
    assert database.schema_status() == before


def test_raw_headers_are_compressed_with_lz4_where_the_server_has_it(database):
    import sqlalchemy as sa

    with database.engine.connect() as conn:
        try:
            conn.execute(sa.text("SET default_toast_compression = lz4"))
        except sa.exc.DBAPIError:
            pytest.skip("this PostgreSQL server was built without lz4")
        method = conn.execute(
            sa.text(
                "SELECT attcompression FROM pg_attribute WHERE attrelid = 'hlsp.product'::regclass "
                "AND attname = 'headers'"
            )
        ).scalar_one()
    assert method == "l"
