"""Fixtures: a real PostgreSQL + pg_sphere for the whole session, a fresh database per test.

The server is a throwaway cluster started through the embedded-default code path
(``catalog.embedded``), or the server ``HLSP_TEST_DATABASE_URL`` points at (which must
allow CREATE DATABASE). A migrated template database is built once; each test that asks
for ``database`` gets its own copy, dropped afterwards, so tests never see each other's rows.

The folders below mirror the packages; a folder's own fixtures are in its ``conftest.py``,
and what several folders share is in ``tests/support/``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from catalog.db import Database, create_engine, sqlalchemy_url
from catalog.embedded import EmbeddedCluster
from tests.support.db import (
    catalog_database,
    create_database,
    database_url,
    drop_database,
    scratch_database,
)


@pytest.fixture(scope="session")
def scratch_dir() -> Iterator[Path]:
    # Not pytest's tmp_path: as root its 0700 parents would hide the cluster from the
    # unprivileged account PostgreSQL runs as.
    path = Path(tempfile.mkdtemp(prefix="hlsp-tests-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def server_url(scratch_dir: Path) -> Iterator[str]:
    """URL of a maintenance database on the test server (superuser or CREATEDB)."""
    external = os.environ.get("HLSP_TEST_DATABASE_URL")
    if external:
        yield database_url(external, make_url(sqlalchemy_url(external)).database or "postgres")
        return
    cluster = EmbeddedCluster(scratch_dir / "cluster", durable=False)
    cluster.start()
    try:
        yield cluster.url("postgres")
    finally:
        cluster.destroy()


@pytest.fixture(scope="session")
def admin_engine(server_url: str) -> Iterator[sa.Engine]:
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def template_name(admin_engine: sa.Engine, server_url: str) -> Iterator[str]:
    """A migrated database that every test database is copied from."""
    name = f"hlsp_template_{os.urandom(4).hex()}"
    create_database(admin_engine, name)
    db = catalog_database(server_url, name)
    db.migrate()
    db.dispose()
    yield name
    drop_database(admin_engine, name)


@pytest.fixture
def fresh_database_name(admin_engine: sa.Engine) -> Iterator[str]:
    """An empty database (no schema at all), dropped after the test."""
    name = f"hlsp_empty_{os.urandom(5).hex()}"
    create_database(admin_engine, name)
    yield name
    drop_database(admin_engine, name)


@pytest.fixture
def database(admin_engine: sa.Engine, server_url: str, template_name: str) -> Iterator[Database]:
    """A migrated database of this test's own."""
    with scratch_database(admin_engine, server_url, template_name, "hlsp_test") as db:
        yield db


@pytest.fixture(scope="module")
def module_database(
    admin_engine: sa.Engine, server_url: str, template_name: str
) -> Iterator[Database]:
    """A migrated database shared by one test module (for slow set-ups: corpora, servers)."""
    with scratch_database(admin_engine, server_url, template_name, "hlsp_module") as db:
        yield db


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    with Session(database.engine) as s:
        yield s
