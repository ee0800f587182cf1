"""The HTTP server, started as a user starts it, answered over real HTTP."""

from __future__ import annotations

import httpx
import sqlalchemy as sa

from catalog.db import Database
from tests import factories as f
from tests.clirun import serving
from tests.conftest import head_revision


def test_health_and_landing_page(database: Database, admin_engine: sa.Engine) -> None:
    from sqlalchemy.orm import Session

    with Session(database.engine) as s:
        f.product(s, f.collection(s, "tglc"))
        s.commit()
    env = {"HLSP_DATABASE_URL": database.url}
    with serving("serve", env=env) as base:
        health = httpx.get(base + "/health", timeout=10)
        assert health.status_code == 200
        body = health.json()
        assert body["status"] == "ok"
        assert body["database"] == "ok"
        assert body["schema_revision"] == body["schema_head"] == head_revision()

        page = httpx.get(base + "/", timeout=10)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert 'href="' + base + '/health"' in page.text
        assert "1 collections, 1 products" in page.text

        # The database goes away under the running server: health says so, with a reason.
        database.dispose()
        name = sa.engine.make_url(database.engine.url).database
        with admin_engine.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))
        down = httpx.get(base + "/health", timeout=10)
        assert down.status_code == 503
        assert down.json()["status"] == "unavailable"
        assert name in down.json()["reason"]
        assert "not reachable" in httpx.get(base + "/", timeout=10).text
