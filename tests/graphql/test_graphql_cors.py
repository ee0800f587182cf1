"""CORS on /graphql (and the same setting on /tap): portals on other origins can call them."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette

from catalog.app import _graphql_route, create_app
from catalog.config import Settings
from catalog.db import Database
from catalog.errors import ConfigError
from catalog.tap_service import tap_config
from tap.admission import Gate, GateLimits
from tests.support.server import live_server

PORTAL = "https://portal.example"
PREFLIGHT = {
    "Origin": PORTAL,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type, authorization",
}
QUERY = {"query": "{ collections { totalCount } }"}


def _graphql_only(db: Database) -> Starlette:
    # as the server mounts it
    return Starlette(routes=[_graphql_route(db, Gate("graphql", GateLimits(4, 64, 10)))])


def test_any_origin_by_default(api_db: Database) -> None:
    with live_server(_graphql_only(api_db)) as base:
        preflight = httpx.options(base + "/graphql", headers=PREFLIGHT, timeout=30)
        assert preflight.status_code in (200, 204)
        assert preflight.headers["access-control-allow-origin"] == "*"
        allowed = preflight.headers["access-control-allow-methods"]
        assert "POST" in allowed and "GET" in allowed
        headers = preflight.headers["access-control-allow-headers"].lower()
        assert "content-type" in headers and "authorization" in headers
        answer = httpx.post(base + "/graphql", json=QUERY, headers={"Origin": PORTAL}, timeout=30)
        assert answer.json() == {"data": {"collections": {"totalCount": 3}}}
        assert answer.headers["access-control-allow-origin"] == "*"


@pytest.fixture
def restricted(api_db: Database) -> Iterator[Database]:
    settings = Settings(cors_origins=(PORTAL, "http://localhost:3000"))
    db = Database(api_db.url, settings=settings)
    try:
        yield db
    finally:
        db.dispose()


def test_only_the_configured_origins_when_restricted(restricted: Database) -> None:
    with live_server(_graphql_only(restricted)) as base:
        url = base + "/graphql"
        preflight = httpx.options(url, headers=PREFLIGHT, timeout=30)
        assert preflight.status_code in (200, 204)
        assert preflight.headers["access-control-allow-origin"] == PORTAL
        answer = httpx.post(url, json=QUERY, headers={"Origin": PORTAL}, timeout=30)
        assert answer.headers["access-control-allow-origin"] == PORTAL
        elsewhere = {**PREFLIGHT, "Origin": "https://evil.example"}
        refused = httpx.options(url, headers=elsewhere, timeout=30)
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers
        answer = httpx.post(url, json=QUERY, headers={"Origin": "https://evil.example"}, timeout=30)
        assert "access-control-allow-origin" not in answer.headers


def test_the_tap_service_follows_the_same_setting(restricted: Database) -> None:
    assert tap_config(restricted).cors_origins == (PORTAL, "http://localhost:3000")
    with live_server(create_app(restricted)) as base:
        url = base + "/tap/sync"
        preflight = httpx.options(url, headers=PREFLIGHT, timeout=30)
        assert preflight.headers["access-control-allow-origin"] == PORTAL
        elsewhere = {**PREFLIGHT, "Origin": "https://evil.example"}
        assert httpx.options(url, headers=elsewhere, timeout=30).status_code == 400


def test_the_origins_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HLSP_CORS_ORIGINS", " https://a.example/ , http://b.example:8080 ")
    assert Settings.from_env().cors_origins == ("https://a.example", "http://b.example:8080")
    monkeypatch.delenv("HLSP_CORS_ORIGINS")
    assert Settings.from_env().cors_origins == ("*",)
    monkeypatch.setenv("HLSP_CORS_ORIGINS", "portal.example")
    with pytest.raises(ConfigError, match="HLSP_CORS_ORIGINS must be"):
        Settings.from_env()
