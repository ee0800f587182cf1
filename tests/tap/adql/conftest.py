"""Fixture of the ADQL tests: ``adql_db``, the small published schema of
:mod:`tests.support.adql_db` in a database of its own, built once per session."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa

from tests.support.adql_db import READER, SCHEMA_SQL, AdqlDatabase
from tests.support.db import create_database, database_url, drop_database


@pytest.fixture(scope="session")
def adql_db(admin_engine: sa.Engine, server_url: str) -> Iterator[AdqlDatabase]:
    name = f"hlsp_adql_{READER.rsplit('_', 1)[1]}"
    create_database(admin_engine, name)
    url = database_url(server_url, name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SCHEMA_SQL.replace("{reader}", READER))
    yield AdqlDatabase(url)
    drop_database(admin_engine, name)
    with admin_engine.connect() as conn:
        conn.execute(sa.text(f"DROP ROLE IF EXISTS {READER}"))
