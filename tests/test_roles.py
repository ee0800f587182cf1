"""The read-only role for query traffic sees published tables and can change nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from catalog.db import READER_ROLE, Database
from tests import factories as f


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
        ("UPDATE hlsp.collection SET title = 'x'", "read-only transaction"),
        ("CREATE TABLE hlsp.evil (x int)", "read-only transaction"),
    ],
)
def test_reader_cannot_reach_the_rest(database: Database, sql: str, error: str) -> None:
    with database.engine.connect() as conn, conn.begin():
        _as_reader(conn)
        with pytest.raises(sa.exc.DBAPIError, match=error):
            conn.execute(sa.text(sql))


def test_reader_cannot_write_even_outside_read_only(database: Database) -> None:
    with database.engine.connect() as conn, conn.begin():
        conn.execute(sa.text(f"SET LOCAL ROLE {READER_ROLE}"))
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.execute(sa.text("INSERT INTO hlsp.collection (hlsp_id) VALUES ('x')"))
