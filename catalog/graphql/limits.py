"""How the GraphQL endpoint names the limits it enforces: ``extensions.code`` of the errors
graphql-core raises itself (parse, validation, token and depth limits) and the hints that go
with them. The limits themselves are settings (:class:`catalog.config.GraphQLSettings`,
``HLSP_GRAPHQL_*``; the README's table).
"""

from __future__ import annotations

import re
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError

_LIMIT_MESSAGES = (
    re.compile(r"Document contains more than \d+ tokens"),
    re.compile(r"Source contains more than \d+ code points"),
    re.compile(r"Document is nested too deeply"),
    re.compile(r"Variable values are nested too deeply"),
)
_INTROSPECTION = re.compile(r"GraphQL introspection has been disabled")


def error_code(error: GraphQLError) -> str:
    """The ``extensions.code`` of an error GraphQL itself raised (parse, validation, limits);
    our own validation rules give theirs in the error's extensions."""
    given = (error.extensions or {}).get("code")
    if isinstance(given, str):
        return given
    for pattern in _LIMIT_MESSAGES:
        if pattern.search(error.message):
            return "LIMIT_EXCEEDED"
    if _INTROSPECTION.search(error.message):
        return "INTROSPECTION_DISABLED"
    if isinstance(error, GraphQLSyntaxError):
        return "GRAPHQL_PARSE_FAILED"
    return "GRAPHQL_VALIDATION_FAILED"


def limit_hint(code: str) -> dict[str, Any]:
    if code == "LIMIT_EXCEEDED":
        return {"hint": "Split the query into smaller ones (see the limits in the README)."}
    if code == "INTROSPECTION_DISABLED":
        return {"hint": "Use the published schema, graphql/schema.graphql."}
    return {}
