"""Migration 0003 (GraphQL indexes, text-search grant) goes down and up cleanly."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from catalog.db import READER_ROLE, Database
from tests.support.db import head_revision


def _state(db: Database) -> tuple[set[str], bool, bool]:
    with db.engine.connect() as conn:
        indexes = {
            r[0]
            for r in conn.execute(
                sa.text(
                    "SELECT indexname FROM pg_indexes "
                    "WHERE schemaname = 'hlsp' AND tablename = 'product'"
                )
            )
        }
        grants = [
            conn.execute(
                sa.text("SELECT has_column_privilege(:r, :t, 'search_text', 'SELECT')"),
                {"r": READER_ROLE, "t": t},
            ).scalar_one()
            for t in ("hlsp.collection", "hlsp.target_alias")
        ]
    return indexes, grants[0], grants[1]


def test_graphql_migration_down_and_up(database: Database) -> None:
    indexes, *grants = _state(database)
    assert {"product_file_name_idx", "product_collection_id_product_id_idx"} <= indexes
    assert grants == [True, True]

    database.migrate("0002")
    down, *grants_down = _state(database)
    assert "product_file_name_idx" not in down
    assert "product_collection_id_product_id_idx" not in down
    assert grants_down == [False, False]

    database.migrate()
    assert _state(database) == (indexes, True, True)
    assert database.schema_status().current == head_revision()


def test_the_reader_can_search_text_but_still_not_read_paths(database: Database) -> None:
    search = "SELECT count(*) FROM hlsp.collection WHERE search_text @@ to_tsquery('x')"
    with database.engine.connect() as conn, conn.begin():
        conn.execute(sa.text(f"SET TRANSACTION READ ONLY; SET LOCAL ROLE {READER_ROLE}"))
        assert conn.execute(sa.text(search)).scalar_one() == 0
    with database.engine.connect() as conn, conn.begin():
        conn.execute(sa.text(f"SET LOCAL ROLE {READER_ROLE}"))
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.execute(sa.text("SELECT file_path FROM hlsp.product"))
