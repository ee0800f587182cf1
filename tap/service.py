"""The TAP service as a Starlette application: VOSI, examples, sync and async queries.

:class:`TapService` is given the published metadata, a database engine for queries and
one for its own bookkeeping (job store, TAP_SCHEMA), and a :class:`TapConfig`; its
:meth:`TapService.app` is mounted by the host (``/tap``). It knows nothing of the host.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from html import escape
from urllib.parse import unquote

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from tap import examples as examples_mod
from tap import tap_schema, vosi
from tap.config import TapConfig
from tap.errors import TapError
from tap.examples import Example
from tap.features import adql_features
from tap.form import read_params
from tap.metadata import TapMetadata
from tap.query import QueryRunner
from tap.uws import UwsLimits, UwsService
from tap.votable.document import error_document
from tap.votable.formats import DESCRIPTIONS

log = logging.getLogger(__name__)

XML = "text/xml; charset=utf-8"
VOTABLE = "application/x-votable+xml"


class ServerHeader:
    """Sets ``Server`` (taplint W_SVR0/W_SVRV want a product token naming the software)."""

    def __init__(self, app: ASGIApp, value: str) -> None:
        self.app = app
        self.value = value.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_header(message: dict[str, object]) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", [])  # type: ignore[attr-defined]
                    if k.lower() != b"server"
                ]  # fmt: skip
                headers.append((b"server", self.value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_header)  # type: ignore[arg-type]


class TapService:
    """One TAP service over ``metadata``.

    ``query_engine`` runs ADQL (its login should be unprivileged; the service also switches
    to ``config.reader_role`` in each query transaction); ``admin_engine`` writes the
    service's own tables (TAP_SCHEMA, jobs) and is used at :meth:`install` time.
    """

    def __init__(
        self,
        metadata: TapMetadata,
        *,
        query_engine: sa.Engine,
        admin_engine: sa.Engine,
        config: TapConfig,
        examples: Sequence[Example] = (),
        features: Sequence[vosi.Feature] | None = None,
        output_formats: Sequence[vosi.OutputFormat] | None = None,
    ) -> None:
        self.published = metadata
        self.metadata = tap_schema.with_tap_schema(metadata)
        self.query_engine = query_engine
        self.admin_engine = admin_engine
        self.config = config
        examples_mod.check(examples, self.metadata)
        self.examples = tuple(examples)
        self.features = tuple(adql_features() if features is None else features)
        self.output_formats = tuple(
            [vosi.OutputFormat(d.mime, d.aliases, d.ivo_id) for d in DESCRIPTIONS]
            if output_formats is None else output_formats
        )  # fmt: skip
        self.started = datetime.now(UTC)
        self.runner = QueryRunner(self.metadata, query_engine, config)
        self.uws = UwsService(
            admin_engine, self.runner.execute_job, query_engine=query_engine,
            limits=UwsLimits(
                default_execution_duration=config.duration_default,
                max_execution_duration=config.duration_hard,
                default_destruction=timedelta(seconds=config.retention_default),
                max_destruction=timedelta(seconds=config.retention_hard),
                upload_limit=config.upload_bytes,
            ),
            base_url=config.base_url, render_error=_error_document,
        )  # fmt: skip

    # -- installation -------------------------------------------------------------------

    def install(self) -> None:
        """Create or refresh the service's own database objects (idempotent)."""
        with self.admin_engine.begin() as conn:
            if tap_schema.install(conn, self.published, reader_role=self.config.reader_role):
                log.info("TAP_SCHEMA rewritten")

    def start(self) -> None:
        """Install, then start the async job workers and the reaper of expired jobs."""
        self.install()
        self.uws.start()

    def stop(self) -> None:
        self.uws.stop()
        self.admin_engine.dispose()

    # -- helpers --------------------------------------------------------------------------

    def base_url(self, request: Request) -> str:
        if self.config.base_url:
            return self.config.base_url.rstrip("/")
        # Inside a Mount, root_path is the host's prefix plus the mount path (/tap).
        root = request.scope.get("root_path", "")
        return str(request.url.replace(path=root, query="", fragment="")).rstrip("/")

    def _check_database(self) -> tuple[bool, str]:
        try:
            with self.query_engine.connect() as conn:
                conn.execute(sa.text("SELECT count(*) FROM tap_schema.schemas")).scalar_one()
        except sa.exc.SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            return False, f"The database is not answering queries: {reason}"
        return True, "The service is accepting queries."

    # -- endpoints ------------------------------------------------------------------------

    async def landing(self, request: Request) -> HTMLResponse:
        base = self.base_url(request)
        links = [
            ("sync", "synchronous queries (GET or POST: LANG=ADQL, QUERY=...)"),
            ("async", "asynchronous queries (UWS 1.1 job list)"),
            ("capabilities", "what this service supports (VOSI)"),
            ("availability", "whether it is up (VOSI)"),
            ("tables", "published tables and columns (VOSI)"),
            ("examples", "example queries"),
        ]
        items = "".join(
            f'<li><a href="{escape(base)}/{p}"><code>{p}</code></a> — {escape(t)}</li>'
            for p, t in links
        )
        tables = "".join(
            f"<li><code>{escape(t.qualified_name)}</code> — {escape(t.description)}</li>"
            for t in self.published.tables
        )
        page = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{escape(self.config.title)} — TAP</title>"
            "<style>body{font-family:system-ui,sans-serif;max-width:50rem;margin:2rem auto;"
            "padding:0 1rem;line-height:1.5}</style></head><body>"
            f"<h1>{escape(self.config.title)}: TAP service</h1>"
            f"<p>{escape(self.config.description)}</p>"
            f"<p>IVOA TAP 1.1 endpoint: <code>{escape(base)}</code>. Use it from TOPCAT "
            "(VO → Table Access Protocol), pyvo (<code>pyvo.dal.TAPService(url)</code>) or "
            "STILTS (<code>stilts tapquery</code>).</p>"
            f"<h2>Resources</h2><ul>{items}</ul><h2>Tables</h2><ul>{tables}</ul></body></html>"
        )
        return HTMLResponse(page)

    async def capabilities(self, request: Request) -> Response:
        body = vosi.capabilities(
            self.base_url(request), self.config, features=self.features,
            output_formats=self.output_formats, examples=bool(self.examples),
        )  # fmt: skip
        return Response(body, media_type=XML)

    async def availability(self, request: Request) -> Response:
        ok, note = await run_in_threadpool(self._check_database)
        return Response(vosi.availability(ok, note, self.started), media_type=XML)

    async def tables(self, request: Request) -> Response:
        detail = request.query_params.get("detail", "max").lower() != "min"
        return Response(vosi.tableset(self.metadata, detail=detail), media_type=XML)

    async def table(self, request: Request) -> Response:
        name = unquote(request.path_params["name"])
        table = next((t for t in self.metadata.tables if t.qualified_name == name), None)
        if table is None:
            table = self.metadata.table(name)
        if table is None:
            return PlainTextResponse(
                f"No published table is called {name!r}; see {self.base_url(request)}/tables",
                status_code=404,
            )
        return Response(vosi.table_document(table, self.metadata), media_type=XML)

    async def examples_page(self, request: Request) -> Response:
        if not self.examples:
            return PlainTextResponse("This service has no examples.", status_code=404)
        body = examples_mod.document(self.examples, title=self.config.title)
        return Response(body, media_type="application/xhtml+xml; charset=utf-8")

    async def sync(self, request: Request) -> Response:
        """``/sync``: run the query now and stream the result (TAP 1.1 §2.1)."""
        try:
            params, parts = await read_params(request, upload_limit=self.config.upload_bytes)
            output = await run_in_threadpool(
                self.runner.run_sync, params, parts, timeout=self.config.sync_timeout
            )
        except TapError as exc:
            return error_response(exc.message, 400)
        except sa.exc.OperationalError as exc:
            log.warning("TAP sync: database unavailable: %s", exc)
            return error_response("the database is not available; try again later", 503)
        except Exception:
            log.exception("TAP sync query failed")
            return error_response("the service failed while running the query (logged)", 500)
        return StreamingResponse(output.chunks, media_type=output.media_type)

    # -- assembly -------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        get_only = ["GET", "HEAD"]
        return [
            Route("/", self.landing, methods=get_only),
            Route("/capabilities", self.capabilities, methods=get_only),
            Route("/availability", self.availability, methods=get_only),
            Route("/tables", self.tables, methods=get_only),
            Route("/tables/{name:path}", self.table, methods=get_only),
            Route("/examples", self.examples_page, methods=get_only),
            Route("/sync", self.sync, methods=["GET", "POST"]),
        ]

    def app(self, extra_routes: Sequence[BaseRoute] = ()) -> ASGIApp:
        app = Starlette(
            routes=[*self.routes(), *self.uws.routes(), *extra_routes],
            middleware=[Middleware(
                CORSMiddleware, allow_origins=list(self.config.cors_origins),
                allow_methods=["GET", "POST", "DELETE"], allow_headers=["*"],
                expose_headers=["Location", "Content-Disposition"],
            )],
        )  # fmt: skip
        return ServerHeader(app, self.config.server_software)


def _error_document(message: str) -> tuple[bytes, str]:
    return error_document(message), VOTABLE


def error_response(message: str, status: int) -> Response:
    """A VOTable error document (DALI §4.4), with an HTTP status clients read it under."""
    return Response(error_document(message), status_code=status, media_type=VOTABLE)


Handler = Callable[[Request], Awaitable[Response]]
