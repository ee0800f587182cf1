"""The catalog's Starlette app: the landing page, /health, /tap, /graphql and GraphiQL's files.

Each process has its gates (:mod:`catalog.serving.budget`): TAP, GraphQL and the
availability checks admit a bounded number of requests at once and refuse the rest quickly
with 503 and ``Retry-After``; the database pools are sized so that an admitted request never
waits for a connection. :class:`catalog.serving.guard.RequestGuard` bounds request bodies and
adds the security headers.
"""

from __future__ import annotations

import contextlib
import html
import logging
from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from catalog import __version__
from catalog.db import Database
from catalog.delivery.datalink import MAX_BODY as DATALINK_MAX_BODY
from catalog.delivery.previews import PreviewService
from catalog.delivery.routes import delivery_routes
from catalog.delivery.service import Delivery
from catalog.graphql.endpoint.ide import STATIC_DIR
from catalog.serving.admit import Admitted, graphql_error
from catalog.serving.budget import Budget, Gates
from catalog.serving.guard import RequestGuard
from catalog.tap_service import build_tap
from tap import VOTABLE, Gate, Overloaded, error_document

log = logging.getLogger(__name__)
# Request bodies: TAP's uploads (plus the form around them), GraphQL documents, bulk lists of
# IDs (catalog.delivery.bulk_ids, HLSP_BULK_MAX_BODY_BYTES), DataLink's forms of IDs, nothing
# else.
# TAP's own form reader refuses a body over its uploads plus 1 MiB, and GraphQL's view one
# over HLSP_GRAPHQL_MAX_BODY_BYTES, each in its own error format; the guard, a little above
# those, is the net for whatever does not read its body through them.
FORM_OVERHEAD = 2 << 20
GRAPHQL_MARGIN = 64 << 10

ENDPOINTS = [
    ("/", "This page"),
    ("/health", "Health check: is the database reachable and its schema current (JSON)"),
    ("/tap", "IVOA TAP 1.1 service (ADQL 2.1, ObsCore): TOPCAT, pyvo, STILTS"),
    ("/graphql", "GraphQL API for portals (GraphiQL in a browser)"),
    (
        "/datalink/links",
        "IVOA DataLink 1.1: a product's file, preview, documentation, "
        "provenance and cutout service, by obs_publisher_did (ID=...)",
    ),
    (
        "/bulk/script",
        "A curl script that downloads many products (ID=... repeated, or a TAP result)",
    ),
    ("/bulk/archive", "Many products as one streamed zip or tar (ID=..., format=zip|tar)"),
]


def _health(db: Database) -> tuple[int, dict[str, Any]]:
    try:
        with db.read_engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        schema = db.schema_status()
    except Exception as exc:
        # The cause (host, socket path, database name) is for the server log only.
        log.warning("health: the database is unreachable: %s", getattr(exc, "orig", exc))
        reason = "the catalog database cannot be reached; see the server log"
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
            row = conn.execute(
                sa.text(
                    "SELECT (SELECT count(*) FROM hlsp.collection), "
                    "(SELECT count(*) FROM hlsp.product WHERE withdrawn_at IS NULL), "
                    "(SELECT count(*) FROM hlsp.target)"
                )
            ).one()
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


def _dali_error(status: int, message: str) -> tuple[bytes, str]:
    return error_document(message), VOTABLE


def create_app(db: Database) -> Starlette:
    serving = db.settings.serving
    budget = Budget.from_settings(serving)
    gates = Gates.from_budget(budget)
    db.size_query_pool(budget.query_connections)

    async def health(request: Request) -> JSONResponse:
        try:
            async with gates.meta.admit():
                status, body = await run_in_threadpool(_health, db)
        except Overloaded as exc:
            return JSONResponse(
                {"status": "busy", "reason": exc.message},
                status_code=503,
                headers={"Retry-After": str(exc.retry_after)},
            )
        return JSONResponse(body, status_code=status)

    async def landing(request: Request) -> HTMLResponse:
        try:
            async with gates.meta.admit():
                counts = await run_in_threadpool(_counts, db)
        except Overloaded:
            counts = None
        base = str(request.base_url).rstrip("/")
        return HTMLResponse(_landing(counts, base))

    tap = build_tap(db, gates=gates, budget=budget)
    delivery = Delivery(db, gate=gates.delivery, public_url=db.settings.public_url)
    previews = PreviewService.from_settings(db.settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(tap.start)
        # The drawing processes start with the first preview asked for (about 2.5 s of CPU
        # each, and their memory): a server that is never asked for one never pays for them.
        try:
            yield
        finally:
            await run_in_threadpool(tap.stop)
            previews.close()

    guard = Middleware(
        RequestGuard,
        body_limits=[
            ("/tap", tap.config.upload_bytes + FORM_OVERHEAD),
            ("/graphql", db.settings.graphql.max_body_bytes + GRAPHQL_MARGIN),
            ("/bulk", db.settings.bulk.max_body_bytes + FORM_OVERHEAD),
            ("/datalink", DATALINK_MAX_BODY + (4 << 10)),
        ],
        client_timeout=serving.client_timeout,
        send_stall=serving.send_stall,
        renderers=[("/tap", _dali_error), ("/datalink", _dali_error), ("/graphql", graphql_error)],
    )
    app = Starlette(
        routes=[
            Route("/", landing),
            Route("/health", health),
            Mount("/tap", app=tap.app()),
            _graphql_route(db, gates.graphql),
            *delivery_routes(delivery, gates.downloads, previews, db.settings),
            # files the pages load (GraphiQL's scripts: catalog.graphql.endpoint.ide), never the
            # internet
            Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
        ],
        lifespan=lifespan,
        middleware=[guard],
    )
    app.state.db = db
    app.state.tap = tap
    app.state.gates = gates
    app.state.delivery = delivery
    app.state.previews = previews
    return app


def _graphql_route(db: Database, gate: Gate) -> Route:
    """GraphQL at /graphql (settings from HLSP_GRAPHQL_*; see catalog.graphql.limits), behind
    its gate, with CORS for the origins of HLSP_CORS_ORIGINS, so that portals on other sites
    can use it (preflights take no slot; refusals carry the CORS headers too)."""
    from starlette.middleware.cors import CORSMiddleware

    from catalog.graphql.endpoint.view import graphql_app

    endpoint = CORSMiddleware(
        Admitted(graphql_app(db), gate),
        allow_origins=list(db.settings.cors_origins),
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type", "Authorization", "Accept"],
        expose_headers=["Retry-After"],
        max_age=600,
    )
    return Route("/graphql", endpoint, methods=["GET", "POST", "OPTIONS"])
