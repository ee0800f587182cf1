"""Fixtures of the GraphQL tests: the catalog of known values (``api_db``, built once per
module from :mod:`tests.support.graphql_catalog`) and a client of it served over HTTP
(``api``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from catalog.app import create_app
from catalog.db import Database
from tests.support.db import scratch_database
from tests.support.graphql import GraphQLClient
from tests.support.graphql_catalog import build_catalog
from tests.support.server import live_server


@pytest.fixture(scope="module")
def api_db(admin_engine: sa.Engine, server_url: str, template_name: str) -> Iterator[Database]:
    with scratch_database(admin_engine, server_url, template_name, "hlsp_gql") as db:
        build_catalog(db)
        yield db


@pytest.fixture(scope="module")
def api(api_db: Database) -> Iterator[GraphQLClient]:
    with live_server(create_app(api_db)) as base:
        client = GraphQLClient(base, api_db)
        yield client
        client.close()
