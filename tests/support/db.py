"""The test database server: URLs, scratch databases, the reference data, a held table lock.

Fixtures built on these live in ``tests/conftest.py``; a module that needs a database of its
own with a different lifetime (a module-scoped catalog, a session-wide ADQL schema) uses
:func:`scratch_database` directly.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from catalog.config import Settings
from catalog.db import Database, sqlalchemy_url

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
TEST_AUTHORITY = "ivo://test.example/hlsp"


def database_url(server_url: str, name: str) -> str:
    """``server_url`` with the database ``name`` (a libpq URL, as the catalog takes)."""
    url = make_url(sqlalchemy_url(server_url)).set(database=name)
    return url.render_as_string(hide_password=False).replace("+psycopg", "")


def create_database(admin: sa.Engine, name: str, template: str | None = None) -> None:
    with admin.connect() as conn:
        suffix = f" TEMPLATE {template}" if template else ""
        conn.execute(sa.text(f"CREATE DATABASE {name}{suffix}"))


def drop_database(admin: sa.Engine, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def catalog_database(server_url: str, name: str) -> Database:
    """The catalog's handle on database ``name`` of the test server."""
    return Database(
        database_url(server_url, name), settings=Settings(ivoa_authority=TEST_AUTHORITY)
    )


@contextmanager
def scratch_database(
    admin: sa.Engine, server_url: str, template: str | None, prefix: str = "hlsp_scratch"
) -> Iterator[Database]:
    """A database of its own (a copy of ``template``, or empty), dropped on exit."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    create_database(admin, name, template=template)
    db = catalog_database(server_url, name)
    try:
        yield db
    finally:
        db.dispose()
        drop_database(admin, name)


def head_revision() -> str:
    """The newest migration revision (what a migrated database reports)."""
    from alembic.script import ScriptDirectory

    from catalog.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def shared_path(*parts: str) -> Path:
    """A file of the reference data beside the checkout; skips the test when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs the reference data at {path} (../shared beside the checkout)")
    return path


class TableLock:
    """An ``ACCESS EXCLUSIVE`` lock on a table, held by a session of its own in a thread;
    ``engine`` looks at the database meanwhile (``pg_stat_activity``, ``pg_locks``)."""

    def __init__(self, db: Database, table: str) -> None:
        self.engine = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool)
        self._table = table
        self._locked = threading.Event()
        self._release = threading.Event()
        self._holder = threading.Thread(target=self._hold)

    def _hold(self) -> None:
        with self.engine.connect() as conn, conn.begin():
            conn.exec_driver_sql(f"LOCK TABLE {self._table} IN ACCESS EXCLUSIVE MODE")
            self._locked.set()
            self._release.wait(120)

    def release(self) -> None:
        """Let go of the lock now (the blocked statements go on); idempotent."""
        self._release.set()
        if self._holder.is_alive():
            self._holder.join()


@contextmanager
def locked_table(db: Database, table: str = "hlsp.product") -> Iterator[TableLock]:
    """Hold ``table`` exclusively until the block ends (or :meth:`TableLock.release`)."""
    lock = TableLock(db, table)
    lock._holder.start()
    try:
        assert lock._locked.wait(10), f"could not lock {table}"
        yield lock
    finally:
        lock.release()
        lock.engine.dispose()
