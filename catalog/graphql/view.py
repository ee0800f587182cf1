"""The ``/graphql`` endpoint: strawberry's ASGI view with the request context and error shape.

GET with ``Accept: text/html`` (a browser) serves GraphiQL; GET with ``?query=`` and POST
with JSON run queries. Every error has ``extensions.code`` (see :mod:`catalog.graphql.errors`)
and a message meant for the caller; unexpected failures become ``INTERNAL_ERROR`` with a
generic message, their details logged on the server only.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from catalog.db import Database
from catalog.graphql.context import ANONYMOUS, Caller, RequestContext
from catalog.graphql.errors import GraphQLApiError
from catalog.graphql.limits import GraphQLSettings, error_code, limit_hint
from catalog.graphql.schema import build_schema

INTERNAL_MESSAGE = "Internal error: the request failed on the server; it has been logged."


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


def graphql_app(db: Database, settings: GraphQLSettings | None = None) -> CatalogGraphQL:
    """The ASGI app served at ``/graphql`` (settings from ``HLSP_GRAPHQL_*`` when None)."""
    return CatalogGraphQL(db, settings or GraphQLSettings.from_env())
