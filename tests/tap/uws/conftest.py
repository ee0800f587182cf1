"""Fixtures of the UWS tests: a job service on the test's database (``svc``) and a Starlette
test client of its app (``client``). A module that needs other limits or owners overrides
``svc`` or ``client``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from catalog.db import Database
from tap.uws import UwsService
from tests.support.uws import make_app, make_service


@pytest.fixture
def svc(database: Database) -> UwsService:
    return make_service(database.engine)


@pytest.fixture
def client(svc: UwsService) -> Iterator[TestClient]:
    with TestClient(make_app(svc), follow_redirects=False) as c:
        yield c
