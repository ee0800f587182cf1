"""Errors of the GraphQL API, each with a stable ``code`` sent in ``extensions.code``.

Portals match on ``extensions.code``; the message says what was wrong and what to do. No
error ever carries a stack trace or SQL: anything unexpected becomes ``INTERNAL_ERROR``
(the details go to the server log).

    GraphQLApiError                 base class, INTERNAL_ERROR
    ├── InvalidFilter               a filter value is impossible or hostile (INVALID_FILTER)
    ├── InvalidCursor               a cursor is malformed or from another ordering (INVALID_CURSOR)
    ├── InvalidArgument             another argument is out of range (INVALID_ARGUMENT)
    ├── LimitExceeded               a size limit (page, list, nesting) was passed (LIMIT_EXCEEDED)
    ├── NotFound                    an id names nothing the caller may see (NOT_FOUND)
    ├── Ambiguous                   a name matches several objects (AMBIGUOUS)
    ├── QueryTimeout                the database statement timeout fired (QUERY_TIMEOUT)
    └── ServiceUnavailable          the database is unreachable, lost, or its pool is full
                                    (SERVICE_UNAVAILABLE)

Errors raised by GraphQL itself get codes too: ``GRAPHQL_PARSE_FAILED``,
``GRAPHQL_VALIDATION_FAILED``, ``INTROSPECTION_DISABLED`` and ``LIMIT_EXCEEDED`` (depth,
tokens, length, aliases, objects and fields asked for); see :mod:`catalog.graphql.limits`.
A request that is not a GraphQL request gets ``BAD_REQUEST`` (HTTP 400), one over the size
limits ``LIMIT_EXCEEDED`` (HTTP 413/414); see :mod:`catalog.graphql.endpoint.transport`.
"""

from __future__ import annotations

from typing import Any


class GraphQLApiError(Exception):
    """An expected failure with a user-facing message and a stable code."""

    code = "INTERNAL_ERROR"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, **self.details}


class InvalidFilter(GraphQLApiError):
    code = "INVALID_FILTER"


class InvalidCursor(GraphQLApiError):
    code = "INVALID_CURSOR"


class InvalidArgument(GraphQLApiError):
    code = "INVALID_ARGUMENT"


class LimitExceeded(GraphQLApiError):
    code = "LIMIT_EXCEEDED"


class NotFound(GraphQLApiError):
    code = "NOT_FOUND"


class Ambiguous(GraphQLApiError):
    code = "AMBIGUOUS"


class QueryTimeout(GraphQLApiError):
    code = "QUERY_TIMEOUT"


class ServiceUnavailable(GraphQLApiError):
    code = "SERVICE_UNAVAILABLE"
