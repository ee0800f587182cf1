"""The TAP service as a Starlette application: VOSI, examples, sync and async queries.

:class:`TapService` is given the published metadata, a database engine for queries and
one for its own bookkeeping (job store, TAP_SCHEMA), and a :class:`TapConfig`; its
:meth:`TapService.app` is mounted by the host (``/tap``). It knows nothing of the host.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any
from urllib.parse import unquote

import psycopg
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from tap import examples as examples_mod
from tap import tap_schema, vosi
from tap.admission import ByteBudget, Gate, Overloaded, Slot
from tap.config import TapConfig
from tap.errors import TapError, Unavailable
from tap.examples import Example
from tap.features import adql_features
from tap.form import read_params
from tap.metadata import TapMetadata
from tap.params import Params
from tap.query import QueryRunner, ResultResources
from tap.spool import ClientGone, ResultSpool, SpoolOverrun, SpoolResponse
from tap.uws import ContextOf, UwsLimits, UwsService, no_context
from tap.votable.document import error_document
from tap.votable.formats import DESCRIPTIONS

log = logging.getLogger(__name__)

XML = "text/xml; charset=utf-8"

ExtraCapabilities = Callable[[Request], str]
"""The host's own ``capability`` elements for the capabilities document of a request (XML
text in the VOSI capabilities namespaces: ``vs:ParamHTTP``, ``vr:WebBrowser``...)."""
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
                    (k, v)
                    for k, v in message.get("headers", [])  # type: ignore[attr-defined]
                    if k.lower() != b"server"
                ]
                headers.append((b"server", self.value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_header)  # type: ignore[arg-type]


@dataclass(frozen=True)
class TapGates:
    """The service's admission gates (:mod:`tap.admission`), per server process."""

    sync: Gate
    jobs: Gate
    meta: Gate


class TapService:
    """One TAP service over ``metadata``.

    ``query_engine`` runs ADQL (its login should be unprivileged; the service also switches
    to ``config.reader_role`` in each query transaction); ``admin_engine`` writes the
    service's own tables (TAP_SCHEMA, jobs) and is used at :meth:`install` time.
    ``extra_capabilities`` adds the host's services to ``/capabilities`` (e.g. DataLink).
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
        gates: TapGates | None = None,
        context_of: ContextOf | None = None,
        result_resources: ResultResources | None = None,
        extra_capabilities: ExtraCapabilities | None = None,
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
            if output_formats is None
            else output_formats
        )
        self.started = datetime.now(UTC)
        self.runner = QueryRunner(self.metadata, query_engine, config, resources=result_resources)
        self.context_of: ContextOf = context_of or no_context
        self.extra_capabilities = extra_capabilities
        self.gates = gates or TapGates(
            sync=Gate("sync", config.sync_gate),
            jobs=Gate("async", config.jobs_gate),
            meta=Gate("availability", config.meta_gate),
        )
        self.spool_budget = ByteBudget(config.spool_budget)
        # A thread per admitted query (the gate bounds them): never a queue behind others.
        self._sync_threads = ThreadPoolExecutor(
            max_workers=config.sync_gate.limit + 1, thread_name_prefix="tap-sync"
        )
        self.uws = UwsService(
            admin_engine,
            self.runner.execute_job,
            query_engine=query_engine,
            limits=UwsLimits(
                default_execution_duration=config.duration_default,
                max_execution_duration=config.duration_hard,
                default_destruction=timedelta(seconds=config.retention_default),
                max_destruction=timedelta(seconds=config.retention_hard),
                upload_limit=config.upload_bytes,
            ),
            base_url=config.base_url,
            context_of=self.context_of,
            render_error=_error_document,
            gate=self.gates.jobs,
        )
        # /sync reads its parameters under the same limits as /async
        self.form_limits = self.uws.limits.form()

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
        self._sync_threads.shutdown(wait=False, cancel_futures=True)
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
            self.base_url(request),
            self.config,
            features=self.features,
            output_formats=self.output_formats,
            examples=bool(self.examples),
            extra=self.extra_capabilities(request) if self.extra_capabilities else "",
        )
        return Response(body, media_type=XML)

    async def availability(self, request: Request) -> Response:
        try:
            async with self.gates.meta.admit():
                ok, note = await run_in_threadpool(self._check_database)
        except Overloaded as exc:
            ok, note = False, exc.message
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
        """``/sync``: run the query now and stream the result (TAP 1.1 §2.1).

        The request waits for a slot of the sync gate (503 when there is none soon); the
        query runs on a worker thread that writes the result into a spool and gives its
        connection and slot back as soon as the database is done, whatever the client's
        pace (:mod:`tap.spool`). A client that goes away before the first byte cancels the
        statement; one that goes away later stops the result at the next chunk."""
        try:
            self.gates.sync.check()  # full: refuse before reading the request
            params, parts = await read_params(request, self.form_limits)
            slot = await self.gates.sync.acquire()
        except Overloaded as exc:
            return overloaded_response(exc)
        except TapError as exc:
            return error_response(exc.message, 400)
        return await self._run_sync(request, params, parts, slot)

    async def _run_sync(
        self, request: Request, params: Params, parts: Mapping[str, bytes], slot: Slot
    ) -> Response:
        loop = asyncio.get_running_loop()
        spool = ResultSpool(
            budget=self.spool_budget,
            memory=self.config.spool_memory,
            max_bytes=self.config.spool_max_bytes,
            hold=self.config.spool_hold,
            directory=self.config.spool_dir,
        )
        spool.bind(loop)
        query = _SyncQuery(
            runner=self.runner,
            params=params,
            parts=parts,
            config=self.config,
            spool=spool,
            slot=slot,
            loop=loop,
            context=self.context_of(request),
        )
        try:
            loop.run_in_executor(self._sync_threads, query.run)
        except RuntimeError:  # the executor has shut down: the server is stopping
            slot.release()
            return error_response("the service is shutting down; try again shortly", 503)
        try:
            media_type = await _first_of(query.started, request.receive, query.cancel)
        except TapError as exc:
            return error_response(exc.message, 503 if isinstance(exc, Unavailable) else 400)
        except ClientGone:
            return Response(status_code=499)  # nobody is listening
        except Exception:
            log.exception("TAP sync query failed")
            return error_response("the service failed while running the query (logged)", 500)
        return SpoolResponse(spool, media_type=media_type, stall=self.config.send_stall)

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
            middleware=[
                Middleware(
                    CORSMiddleware,
                    allow_origins=list(self.config.cors_origins),
                    allow_methods=["GET", "POST", "DELETE"],
                    allow_headers=["*"],
                    expose_headers=["Location", "Content-Disposition"],
                )
            ],
        )
        return ServerHeader(app, self.config.server_software)


def _error_document(message: str) -> tuple[bytes, str]:
    return error_document(message), VOTABLE


def error_response(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    """A VOTable error document (DALI §4.4), with an HTTP status clients read it under."""
    return Response(
        error_document(message), status_code=status, media_type=VOTABLE, headers=headers
    )


def overloaded_response(exc: Overloaded) -> Response:
    """503 with ``Retry-After``: the request was not run; the client may send it again."""
    return error_response(exc.message, 503, {"Retry-After": str(exc.retry_after)})


class _SyncQuery:
    """One synchronous query on its worker thread: start it, tell the event loop (the
    media type, or the error), write the result into the spool, then give back the
    connection and the slot."""

    def __init__(
        self,
        *,
        runner: QueryRunner,
        params: Params,
        parts: Mapping[str, bytes],
        config: TapConfig,
        spool: ResultSpool,
        slot: Slot,
        loop: asyncio.AbstractEventLoop,
        context: Mapping[str, str],
    ) -> None:
        self.runner = runner
        self.context = context
        self.params = params
        self.parts = parts
        self.config = config
        self.spool = spool
        self.slot = slot
        self.loop = loop
        self.started: asyncio.Future[str] = loop.create_future()
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()
        self._cancelled = False

    def _tell(self, result: str | BaseException) -> None:
        def settle() -> None:
            if self.started.done():
                return
            if isinstance(result, BaseException):
                self.started.set_exception(result)
            else:
                self.started.set_result(result)

        with contextlib.suppress(RuntimeError):  # the loop has closed (shutdown)
            self.loop.call_soon_threadsafe(settle)

    def _connected(self, conn: psycopg.Connection[Any]) -> None:
        with self._lock:
            self._conn = conn
            cancelled = self._cancelled
        if cancelled:
            raise ClientGone

    def cancel(self) -> None:
        """The client left before the first byte (on the event loop): stop the result, mark
        the query cancelled, and cancel its statement from a worker thread (cancelling opens
        a connection to the server: never on the event loop)."""
        self.spool.abandon()
        if not self.started.done():
            self.started.cancel()  # nobody will read what the query ends with
        with self._lock:
            self._cancelled = True
            conn = self._conn
        if conn is not None:
            self.loop.run_in_executor(None, _cancel_statement, conn)

    def run(self) -> None:
        deadline = time.monotonic() + self.config.sync_timeout + self.config.spool_hold
        try:
            try:
                output = self.runner.run_sync(
                    self.params,
                    self.parts,
                    timeout=self.config.sync_timeout,
                    on_connect=self._connected,
                    context=self.context,
                )
            except BaseException as exc:
                self._tell(exc)
                return
            self._tell(output.media_type)
            with self._lock:
                self._conn = None  # from here on, a departed client stops the writes
            _produce(output.chunks, self.spool, deadline)
        finally:
            self.slot.release()


def _produce(chunks: Iterator[bytes], spool: ResultSpool, deadline: float) -> None:
    """Write ``chunks`` into ``spool`` until done, the client goes, or the deadline passes;
    always close ``chunks`` (ending the transaction, returning the connection)."""
    try:
        for chunk in chunks:
            spool.write(chunk)
            if time.monotonic() > deadline:
                raise SpoolOverrun("the result took longer to deliver than the sync limit")
    except ClientGone:
        spool.finish(None)
    except BaseException as exc:
        spool.finish(exc)
    else:
        spool.finish(None)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            try:
                close()
            except Exception:
                log.warning("ending a TAP query's transaction failed", exc_info=True)


def _cancel_statement(conn: psycopg.Connection[Any]) -> None:
    with contextlib.suppress(psycopg.Error):
        conn.cancel_safe(timeout=5)


async def _first_of(
    started: asyncio.Future[str], receive: Receive, cancel: Callable[[], None]
) -> str:
    """Wait for the query to start; if the client disconnects first, cancel it."""

    async def disconnected() -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return

    watcher = asyncio.ensure_future(disconnected())
    try:
        pending: list[asyncio.Future[Any]] = [started, watcher]
        await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        cancel()
        raise
    finally:
        watcher.cancel()
    if not started.done():
        cancel()
        raise ClientGone
    return started.result()


Handler = Callable[[Request], Awaitable[Response]]
