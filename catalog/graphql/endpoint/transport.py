"""The HTTP side of ``/graphql``: what a request may look like, read with bounded memory.

A request is refused, before any GraphQL work, with a GraphQL-shaped JSON body
(``{"errors": [{"message": …, "extensions": {"code": …}}]}``) when:

- its body is larger than ``max_body_bytes`` (413, ``LIMIT_EXCEEDED``): a ``Content-Length``
  over the limit is refused before a byte of the body is read, a chunked body as soon as
  the bytes received pass it, so memory stays bounded by the limit;
- its query string is longer than ``max_body_bytes`` (414, ``LIMIT_EXCEEDED``);
- it is not a GraphQL request (400, ``BAD_REQUEST``): a POST that is not
  ``application/json``, a body that is not JSON (or nests too deeply to decode), a JSON
  value that is not an object (a string, a number, ``null``, a batch array), ``query`` not a
  string, ``variables`` or ``extensions`` not objects, ``operationName`` not a string;
  in a GET, ``variables`` or ``extensions`` that are not JSON objects.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import Message, Receive, Scope
from strawberry.http import GraphQLRequestData

JSON_TYPES = ("application/json", "application/graphql-response+json")


class RequestRefused(Exception):
    """A request refused before execution: an HTTP status, a code and a message."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str = "BAD_REQUEST",
        *,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = dict(headers or {})
        self.extensions = extensions

    def response(self) -> JSONResponse:
        return error_response(
            self.status, self.message, self.code, headers=self.headers, **self.extensions
        )


def error_response(
    status: int,
    message: str,
    code: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """A GraphQL-shaped error answer for a request that did not execute."""
    body = {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def _too_large(limit: int) -> RequestRefused:
    return RequestRefused(
        413,
        f"The request body is larger than the {limit} bytes allowed; send a smaller query "
        "(variables included).",
        "LIMIT_EXCEEDED",
        headers={"Connection": "close"},
        limit=limit,
    )


def check_size(scope: Scope, limit: int) -> None:
    """Refuse, from the request line and headers alone, a request over the size limit."""
    query_string: bytes = scope.get("query_string", b"")
    if len(query_string) > limit:
        raise RequestRefused(
            414,
            f"The query string is longer than the {limit} bytes allowed; POST the query as "
            "JSON instead.",
            "LIMIT_EXCEEDED",
            limit=limit,
        )
    declared = Headers(scope=scope).get("content-length")
    if declared is None:
        return
    if not declared.strip().isdigit():
        raise RequestRefused(400, "The Content-Length header is not a number of bytes.")
    if int(declared) > limit:
        raise _too_large(limit)


def bounded_receive(receive: Receive, limit: int) -> Callable[[], Awaitable[Message]]:
    """``receive`` that counts the body bytes and refuses the request past ``limit``."""
    received = 0

    async def counted() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise _too_large(limit)
        return message

    return counted


def _json(text: str | bytes, what: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise RequestRefused(400, f"{what} nests too deeply to be read.") from None
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        raise RequestRefused(400, f"{what} is not valid JSON (UTF-8).") from None


def _request_data(data: Mapping[str, Any], source: str) -> GraphQLRequestData:
    query = data.get("query")
    if query is not None and not isinstance(query, str):
        raise RequestRefused(400, f"{source} 'query' must be a string (the GraphQL document).")
    operation_name = data.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestRefused(400, f"{source} 'operationName' must be a string or null.")
    for name in ("variables", "extensions"):
        if data.get(name) is not None and not isinstance(data[name], dict):
            raise RequestRefused(400, f"{source} '{name}' must be a JSON object or null.")
    return GraphQLRequestData(
        query=query,
        variables=data.get("variables"),
        operation_name=operation_name,
        extensions=data.get("extensions"),
    )


def post_request(content_type: str, body: bytes) -> GraphQLRequestData:
    """The operation a POST body holds."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in JSON_TYPES:
        raise RequestRefused(
            400,
            "POST a JSON body with Content-Type: application/json "
            '({"query": "…", "variables": {…}}).',
        )
    data = _json(body, "The request body")
    if isinstance(data, list):
        raise RequestRefused(
            400, "Batches (a JSON array of operations) are not supported: send one per request."
        )
    if not isinstance(data, dict):
        raise RequestRefused(
            400, 'The request body must be a JSON object: {"query": "…", "variables": {…}}.'
        )
    return _request_data(data, "The body's")


def get_request(params: Mapping[str, str]) -> GraphQLRequestData:
    """The operation a GET query string holds (``variables``/``extensions`` as JSON text)."""
    data: dict[str, Any] = {
        "query": params.get("query"),
        "operationName": params.get("operationName") or None,
    }
    for name in ("variables", "extensions"):
        text = params.get(name)
        if text:
            data[name] = _json(text, f"The '{name}' parameter")
    return _request_data(data, "The")
