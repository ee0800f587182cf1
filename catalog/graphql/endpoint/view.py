"""The ``/graphql`` endpoint: strawberry's ASGI view with bounds, the request context and
the error shape.

GET with ``Accept: text/html`` (a browser) serves GraphiQL; GET with ``?query=`` and POST
with JSON run queries. Every error has ``extensions.code`` (see :mod:`catalog.graphql.errors`)
and a message meant for the caller; unexpected failures become ``INTERNAL_ERROR`` with a
generic message, their details logged on the server only.

Each request is bounded: its size (:mod:`catalog.graphql.endpoint.transport`), its document
(:mod:`catalog.graphql.validation.document`, :mod:`catalog.graphql.validation.cost`) and its
wall-clock time (``request_timeout_ms``). When the time is up, or when the client goes away,
the execution is cancelled, the running SQL statement cancelled in PostgreSQL, the
transaction rolled back and the connection returned to the pool
(:meth:`RequestContext.abort`); the client (if still there) gets ``QUERY_TIMEOUT``. A
request that failed only because the database is unavailable (unreachable, or every
connection of the pool in use) is answered with HTTP 503 and ``Retry-After``.

HTTP statuses: 200 for every executed request (data, errors, or both, limits and timeouts
included); 400 ``BAD_REQUEST`` for what is not a GraphQL request; 404 for GraphiQL when
introspection is off; 408 when the body does not arrive within the time allowed; 413/414
for a body or query string over the size limit; 503 ``SERVICE_UNAVAILABLE``.
"""

from __future__ import annotations

import asyncio
import logging
from functools import cached_property
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.types import ExecutionResult

from catalog.config import GraphQLSettings
from catalog.db import Database
from catalog.graphql.context import ANONYMOUS, Caller, RequestContext
from catalog.graphql.endpoint.ide import offline_page
from catalog.graphql.endpoint.transport import (
    RequestRefused,
    bounded_receive,
    check_size,
    error_response,
    get_request,
    post_request,
)
from catalog.graphql.errors import GraphQLApiError
from catalog.graphql.limits import error_code, limit_hint
from catalog.graphql.schema import build_schema

INTERNAL_MESSAGE = "Internal error: the request failed on the server; it has been logged."
RETRY_AFTER_SECONDS = 5
log = logging.getLogger(__name__)


def caller_of(request: Request | WebSocket) -> Caller:
    """Who is asking. No authentication yet: everyone is anonymous."""
    del request
    return ANONYMOUS


def format_error(error: GraphQLError) -> dict[str, Any]:
    """An error as the response carries it: message, locations, path, extensions.code."""
    original = error.original_error
    body: dict[str, Any] = {}
    if isinstance(original, GraphQLApiError):
        body["message"] = original.message
        extensions = original.extensions()
    elif original is None or error.path is None:
        code = error_code(error)
        body["message"] = error.message
        extensions = {**(error.extensions or {}), "code": code, **limit_hint(code)}
    else:
        body["message"] = INTERNAL_MESSAGE
        extensions = {"code": "INTERNAL_ERROR"}
    if error.locations:
        body["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        body["path"] = list(error.path)
    body["extensions"] = extensions
    return body


def only_unavailable(body: GraphQLHTTPResponse) -> bool:
    """Did the request fail as a whole, and only because the database is unavailable?"""
    errors = body.get("errors") or []
    data = body.get("data")
    codes = {e.get("extensions", {}).get("code") for e in errors if isinstance(e, dict)}
    no_data = data is None or all(value is None for value in data.values())
    return bool(errors) and codes == {"SERVICE_UNAVAILABLE"} and no_data


async def _disconnected(receive: Receive) -> None:
    """Returns when the client closes the connection (the body has been read before)."""
    while (await receive())["type"] != "http.disconnect":
        pass


class CatalogGraphQL(GraphQL[RequestContext, None]):
    """strawberry's ASGI view bound to one database and its settings."""

    def __init__(self, db: Database, settings: GraphQLSettings) -> None:
        super().__init__(
            build_schema(settings),
            graphql_ide="graphiql" if settings.introspection else None,
            allow_queries_via_get=True,
        )
        self.db = db
        self.settings = settings
        if self.graphql_ide:
            _ = self.graphql_ide_html  # a page whose files this server lacks fails at start

    @cached_property
    def graphql_ide_html(self) -> str:
        """strawberry's GraphiQL page, loading its files from this server (module ``ide``)."""
        return offline_page(super().graphql_ide_html)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        response = await self.answer(scope, receive)
        if response is not None:  # None: the client has gone
            await response(scope, receive, send)

    async def answer(self, scope: Scope, receive: Receive) -> Response | None:
        """Read the request within its bounds, run it within its budget."""
        loop = asyncio.get_running_loop()
        budget = self.settings.request_timeout_ms / 1000
        deadline = loop.time() + budget
        limit = self.settings.max_body_bytes
        try:
            check_size(scope, limit)
            request = Request(scope, receive=bounded_receive(receive, limit))
            async with asyncio.timeout(budget):
                await request.body()
        except RequestRefused as refused:
            return refused.response()
        except TimeoutError:
            return error_response(
                408,
                f"The request did not arrive within the {self.settings.request_timeout_ms} ms "
                "allowed.",
                "BAD_REQUEST",
                headers={"Connection": "close"},
            )
        context = await self.get_context(request, Response())
        work = asyncio.ensure_future(self.run(request, context=context))
        gone = asyncio.ensure_future(_disconnected(receive))
        try:
            done, _ = await asyncio.wait(
                {work, gone},
                timeout=max(0.0, deadline - loop.time()),
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            gone.cancel()
            if not work.done():
                work.cancel()
                await context.abort()
                await asyncio.gather(work, return_exceptions=True)
        if work in done:
            await context.close()
            return self._result(work)
        if gone in done:
            log.info("GraphQL: the client went away; its request was cancelled")
            return None
        log.warning("GraphQL: a request ran out of its %d ms", self.settings.request_timeout_ms)
        return JSONResponse(
            {
                "data": None,
                "errors": [
                    {
                        "message": f"The request took longer than the "
                        f"{self.settings.request_timeout_ms} ms allowed and was cancelled; "
                        "narrow the filter or ask for fewer items.",
                        "extensions": {
                            "code": "QUERY_TIMEOUT",
                            "timeoutMs": self.settings.request_timeout_ms,
                        },
                    }
                ],
            }
        )

    def _result(self, work: asyncio.Future[Response]) -> Response:
        try:
            return work.result()
        except RequestRefused as refused:
            return refused.response()
        except HTTPException as exc:
            code = "NOT_FOUND" if exc.status_code == 404 else "BAD_REQUEST"
            return error_response(exc.status_code, exc.reason, code)

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> GraphQLRequestData:
        if request.method == "GET":
            return get_request(request.query_params)  # type: ignore[arg-type]
        return post_request(request.content_type or "", await request.get_body())

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> RequestContext:
        return RequestContext(self.db, self.settings, caller_of(request), request)

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        body: GraphQLHTTPResponse = {"data": result.data}
        if result.errors:  # logged by CatalogSchema.process_errors
            body["errors"] = [format_error(e) for e in result.errors]
        if result.extensions:
            body["extensions"] = result.extensions
        return body

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        if isinstance(response_data, dict) and only_unavailable(response_data):
            response.status_code = 503
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response


def graphql_app(db: Database, settings: GraphQLSettings | None = None) -> CatalogGraphQL:
    """The ASGI app served at ``/graphql`` (the database's settings when None)."""
    return CatalogGraphQL(db, settings or db.settings.graphql)
