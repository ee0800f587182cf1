"""Fixtures: a real PostgreSQL + pg_sphere for the whole session, a fresh database per test.

The server is a throwaway cluster started through the embedded-default code path
(``catalog.embedded``), or the server ``HLSP_TEST_DATABASE_URL`` points at (which must
allow CREATE DATABASE). A migrated template database is built once; each test that asks
for ``database`` gets its own copy, dropped afterwards, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from catalog.config import Settings
from catalog.db import Database, create_engine, sqlalchemy_url
from catalog.embedded import EmbeddedCluster

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
TEST_AUTHORITY = "ivo://test.example/hlsp"


def database_url(server_url: str, name: str) -> str:
    url = make_url(sqlalchemy_url(server_url)).set(database=name)
    return url.render_as_string(hide_password=False).replace("+psycopg", "")


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


def _create_database(admin: sa.Engine, name: str, template: str | None = None) -> None:
    with admin.connect() as conn:
        suffix = f" TEMPLATE {template}" if template else ""
        conn.execute(sa.text(f"CREATE DATABASE {name}{suffix}"))


def _drop_database(admin: sa.Engine, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(scope="session")
def template_name(admin_engine: sa.Engine, server_url: str) -> Iterator[str]:
    name = f"hlsp_template_{uuid.uuid4().hex[:8]}"
    _create_database(admin_engine, name)
    db = Database(database_url(server_url, name), settings=Settings(ivoa_authority=TEST_AUTHORITY))
    db.migrate()
    db.dispose()
    yield name
    _drop_database(admin_engine, name)


@pytest.fixture
def fresh_database_name(admin_engine: sa.Engine) -> Iterator[str]:
    """An empty database (no schema at all), dropped after the test."""
    name = f"hlsp_empty_{uuid.uuid4().hex[:10]}"
    _create_database(admin_engine, name)
    yield name
    _drop_database(admin_engine, name)


@pytest.fixture
def database(admin_engine: sa.Engine, server_url: str, template_name: str) -> Iterator[Database]:
    """A migrated database of this test's own."""
    name = f"hlsp_test_{uuid.uuid4().hex[:10]}"
    _create_database(admin_engine, name, template=template_name)
    db = Database(database_url(server_url, name), settings=Settings(ivoa_authority=TEST_AUTHORITY))
    yield db
    db.dispose()
    _drop_database(admin_engine, name)


@pytest.fixture(scope="module")
def module_database(
    admin_engine: sa.Engine, server_url: str, template_name: str
) -> Iterator[Database]:
    """A migrated database shared by one test module (for slow set-ups: corpora, servers)."""
    name = f"hlsp_module_{uuid.uuid4().hex[:10]}"
    _create_database(admin_engine, name, template=template_name)
    db = Database(database_url(server_url, name), settings=Settings(ivoa_authority=TEST_AUTHORITY))
    yield db
    db.dispose()
    _drop_database(admin_engine, name)


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    with Session(database.engine) as s:
        yield s


def head_revision() -> str:
    """The newest migration revision (what a migrated database reports)."""
    from alembic.script import ScriptDirectory

    from catalog.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs the reference data at {path} (../shared beside the checkout)")
    return path


# The GraphQL tests' catalog with known values, served over HTTP (fixtures api_db, api).
pytest_plugins = ["tests.graphql_fixtures"]
