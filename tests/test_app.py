"""The HTTP server, started as a user starts it, answered over real HTTP."""

from __future__ import annotations

import httpx
import sqlalchemy as sa

from catalog.db import Database
from tests.support import factories as f
from tests.support.cli import serving
from tests.support.db import head_revision


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
        # A page of this server loads nothing from elsewhere and is not framed elsewhere.
        assert page.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert "default-src 'none'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"
        assert 'href="' + base + '/health"' in page.text
        assert "1 collections, 1 products" in page.text

        # The database goes away under the running server: health says so, with a reason
        # that names nothing of the server's insides (database, host, socket path).
        database.dispose()
        name = sa.engine.make_url(database.engine.url).database
        with admin_engine.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))
        down = httpx.get(base + "/health", timeout=10)
        assert down.status_code == 503
        assert down.json()["status"] == "unavailable"
        assert "cannot be reached" in down.json()["reason"]
        url = sa.engine.make_url(database.engine.url)
        socket_dir = str(url.query.get("host", "")) or str(url.host)
        for secret in (name or "?", socket_dir, "/"):
            assert secret not in down.text
        assert "not reachable" in httpx.get(base + "/", timeout=10).text
