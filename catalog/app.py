"""The Starlette application: one server for the landing page, health, and (later) TAP + GraphQL."""

from __future__ import annotations

import contextlib
import html
from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Mount, Route

from catalog import __version__
from catalog.db import Database
from catalog.tap_service import build_tap

ENDPOINTS = [
    ("/", "This page"),
    ("/health", "Health check: is the database reachable and its schema current (JSON)"),
    ("/tap", "IVOA TAP 1.1 service (ADQL 2.1, ObsCore): TOPCAT, pyvo, STILTS"),
    ("/graphql", "GraphQL API for portals (GraphiQL in a browser)"),
]


def _health(db: Database) -> tuple[int, dict[str, Any]]:
    try:
        with db.read_engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        schema = db.schema_status()
    except Exception as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        return 503, {"status": "unavailable", "database": "unreachable", "reason": reason}
    body = {
        "status": "ok" if schema.up_to_date else "degraded",
        "database": "ok",
        "schema_revision": schema.current,
        "schema_head": schema.head,
        "version": __version__,
    }
    return (200 if schema.up_to_date else 503), body


def _counts(db: Database) -> dict[str, int] | None:
    try:
        with db.read_engine.connect() as conn:
            row = conn.execute(sa.text(
                "SELECT (SELECT count(*) FROM hlsp.collection), "
                "(SELECT count(*) FROM hlsp.product WHERE withdrawn_at IS NULL), "
                "(SELECT count(*) FROM hlsp.target)"
            )).one()  # fmt: skip
    except sa.exc.SQLAlchemyError:
        return None
    return {"collections": row[0], "products": row[1], "targets": row[2]}


def _landing(counts: dict[str, int] | None, base: str) -> str:
    items = "\n".join(
        f'<li><a href="{html.escape(base + path)}"><code>{html.escape(path)}</code></a> '
        f"— {html.escape(text)}</li>"
        for path, text in ENDPOINTS
    )
    if counts is None:
        summary = "<p><strong>The database is not reachable.</strong> See /health.</p>"
    else:
        summary = (
            f"<p>{counts['collections']} collections, {counts['products']} products, "
            f"{counts['targets']} targets.</p>"
        )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>HLSP Catalog</title>
<style>body{{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;
line-height:1.5}}code{{background:#f3f3f3;padding:0 .2em}}</style></head>
<body><h1>HLSP Catalog</h1>
<p>Metadata catalog of High-Level Science Products (version {__version__}).</p>
{summary}
<h2>Endpoints</h2><ul>
{items}
</ul></body></html>"""


def create_app(db: Database) -> Starlette:
    async def health(request: Request) -> JSONResponse:
        status, body = await run_in_threadpool(_health, db)
        return JSONResponse(body, status_code=status)

    async def landing(request: Request) -> HTMLResponse:
        counts = await run_in_threadpool(_counts, db)
        base = str(request.base_url).rstrip("/")
        return HTMLResponse(_landing(counts, base))

    tap = build_tap(db)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(tap.start)
        try:
            yield
        finally:
            await run_in_threadpool(tap.stop)

    app = Starlette(
        routes=[Route("/", landing), Route("/health", health), Mount("/tap", app=tap.app())],
        lifespan=lifespan,
    )
    app.state.db = db
    app.state.tap = tap
    _mount_graphql(app, db)
    return app


def _mount_graphql(app: Starlette, db: Database) -> None:
    """GraphQL at /graphql (settings from HLSP_GRAPHQL_*; see catalog.graphql.limits), with
    CORS for the origins of HLSP_CORS_ORIGINS, so that portals on other sites can use it."""
    from starlette.middleware.cors import CORSMiddleware

    from catalog.graphql.view import graphql_app

    endpoint = CORSMiddleware(
        graphql_app(db),
        allow_origins=list(db.settings.cors_origins),
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type", "Authorization", "Accept"],
        max_age=600,
    )
    app.router.routes.append(Route("/graphql", endpoint, methods=["GET", "POST", "OPTIONS"]))
