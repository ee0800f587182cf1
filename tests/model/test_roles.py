"""The read-only role for query traffic sees published tables and can change nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from catalog.config import Settings
from catalog.db import QUERY_LOGIN, READER_ROLE, Database
from tests.support import factories as f


def _as_reader(conn: sa.Connection) -> None:
    conn.execute(sa.text("SET TRANSACTION READ ONLY"))
    conn.execute(sa.text(f"SET LOCAL ROLE {READER_ROLE}"))


def test_reader_reads_published_tables(database: Database, session: Session) -> None:
    f.product(session, f.collection(session, "tglc"))
    session.commit()
    with database.engine.connect() as conn, conn.begin():
        _as_reader(conn)
        assert conn.execute(sa.text("SELECT count(*) FROM ivoa.obscore")).scalar() == 1
        assert conn.execute(sa.text("SELECT hlsp_id FROM hlsp.collection")).scalar() == "tglc"


@pytest.mark.parametrize(
    ("sql", "error"),
    [
        ("SELECT * FROM hlsp.harvest_failure", "permission denied"),
        ("SELECT * FROM hlsp.setting", "permission denied"),
        ("SELECT file_path FROM hlsp.product", "permission denied"),
        ("SELECT headers FROM hlsp.product", "permission denied"),
        ("UPDATE hlsp.collection SET title = 'x'", "read-only transaction"),
        ("CREATE TABLE hlsp.evil (x int)", "read-only transaction"),
    ],
)
def test_reader_cannot_reach_the_rest(database: Database, sql: str, error: str) -> None:
    with database.engine.connect() as conn, conn.begin():
        _as_reader(conn)
        with pytest.raises(sa.exc.DBAPIError, match=error):
            conn.execute(sa.text(sql))


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO hlsp.collection (hlsp_id) VALUES ('x')",
        "UPDATE hlsp.collection SET title = 'x'",
        "DELETE FROM hlsp.product",
        "CREATE TABLE hlsp.evil (x int)",
    ],
)
def test_reader_cannot_write_even_outside_read_only(database: Database, sql: str) -> None:
    with database.engine.connect() as conn, conn.begin():
        conn.execute(sa.text(f"SET LOCAL ROLE {READER_ROLE}"))
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.execute(sa.text(sql))


@pytest.fixture
def query_login(database: Database, admin_engine: sa.Engine) -> Iterator[str]:
    """A login like the embedded default's hlsp_query: member of the reader role only."""
    name = f"q_{uuid.uuid4().hex[:8]}"
    with admin_engine.connect() as conn:
        conn.execute(sa.text(f"CREATE ROLE {name} LOGIN IN ROLE {READER_ROLE}"))
    url = sa.engine.make_url(database.engine.url).set(username=name)
    yield url.render_as_string(hide_password=False)
    with admin_engine.connect() as conn:
        conn.execute(sa.text(f"DROP ROLE {name}"))


def test_query_login_cannot_climb_back_to_a_privileged_role(query_login: str) -> None:
    engine = sa.create_engine(query_login, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM ivoa.obscore")).scalar() == 0
            assert conn.execute(sa.text("SELECT count(*) FROM hlsp.product")).scalar() == 0
            for escape in (
                "SELECT set_config('role', 'hlsp_admin', false)",
                "SET ROLE hlsp_admin",
                "SET SESSION AUTHORIZATION hlsp_admin",
            ):
                with pytest.raises(sa.exc.DBAPIError, match="permission denied"):
                    conn.execute(sa.text(escape))
                conn.rollback()
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                conn.execute(sa.text("SELECT pg_read_file('postgresql.conf')"))
    finally:
        engine.dispose()


def test_embedded_default_sends_queries_through_the_unprivileged_login(tmp_path: Path) -> None:
    db = Database.from_settings(Settings(data_dir=tmp_path))
    assert sa.engine.make_url(db.read_url).username == QUERY_LOGIN
    assert sa.engine.make_url(db.url).username == "hlsp_admin"
