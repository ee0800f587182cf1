"""The limits that keep one request from hurting the service, and their settings.

Every limit has a default and an ``HLSP_GRAPHQL_*`` environment variable:

==========================  ==================================  =========
setting                     environment variable                default
==========================  ==================================  =========
``max_depth``               ``HLSP_GRAPHQL_MAX_DEPTH``          10
``max_tokens``              ``HLSP_GRAPHQL_MAX_TOKENS``         2000
``max_aliases``             ``HLSP_GRAPHQL_MAX_ALIASES``        20
``max_nodes``               ``HLSP_GRAPHQL_MAX_NODES``          10000
``max_result_fields``       ``HLSP_GRAPHQL_MAX_RESULT_FIELDS``  100000
``max_query_chars``         ``HLSP_GRAPHQL_MAX_QUERY_CHARS``    50000
``max_page_size``           ``HLSP_GRAPHQL_MAX_PAGE_SIZE``      1000
``max_list_items``          ``HLSP_GRAPHQL_MAX_LIST_ITEMS``     1000
``max_filter_depth``        ``HLSP_GRAPHQL_MAX_FILTER_DEPTH``   8
``max_filter_values``       ``HLSP_GRAPHQL_MAX_FILTER_VALUES``  2000
``max_body_bytes``          ``HLSP_GRAPHQL_MAX_BODY_BYTES``     1048576
``statement_timeout_ms``    ``HLSP_GRAPHQL_STATEMENT_TIMEOUT``  5000
``request_timeout_ms``      ``HLSP_GRAPHQL_REQUEST_TIMEOUT``    30000
``introspection``           ``HLSP_GRAPHQL_INTROSPECTION``      on
==========================  ==================================  =========

Depth counts nested selections (fragments included); tokens are graphql-core's lexer
tokens; aliases are counted over the whole document. ``max_list_items`` bounds every list in
a filter (``in``, polygon vertices, ``and``/``or`` branches); ``max_filter_depth`` bounds the
nesting of ``and``/``or``/``not`` and relation filters; ``max_filter_values`` bounds the
whole filter (conditions plus list items, variables included: the token limit only sees the
document). ``max_nodes`` bounds the objects a query may ask for before it runs: the page
size (``first``/``last``, 20 when not given; the number of ``ids``) of every paged field,
multiplied by the page sizes of the paged fields around it, summed over the document
(:mod:`catalog.graphql.cost`); ``max_result_fields`` bounds the fields of the result the
same way (every selected field once per object asked for), and the variables may hold 4
list items or object fields per ``max_filter_values``. ``max_query_chars`` bounds the
length of the query text (comments and strings included: the token limit does not see
their size). ``max_body_bytes`` bounds a POST body and a GET query string;
``request_timeout_ms`` is the wall-clock budget of a whole request (its statements each have
``statement_timeout_ms``). With introspection off, GraphiQL is not served either (it needs
introspection).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError

from catalog.errors import ConfigError

_TRUE = {"1", "on", "true", "yes"}
_FALSE = {"0", "off", "false", "no"}


def _int_env(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must lie in [{low}, {high}], got {value}")
    return value


def _bool_env(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"{name} must be on or off, got {raw!r}")


@dataclass(frozen=True)
class GraphQLSettings:
    """Limits and switches of the GraphQL endpoint (see the module docstring)."""

    max_depth: int = 10
    max_tokens: int = 2000
    max_aliases: int = 20
    max_nodes: int = 10_000
    max_result_fields: int = 100_000
    max_query_chars: int = 50_000
    max_page_size: int = 1000
    max_list_items: int = 1000
    max_filter_depth: int = 8
    max_filter_values: int = 2000
    max_body_bytes: int = 1_048_576
    statement_timeout_ms: int = 5000
    request_timeout_ms: int = 30_000
    introspection: bool = True

    @classmethod
    def from_env(cls) -> GraphQLSettings:
        env = "HLSP_GRAPHQL_"
        return cls(
            max_depth=_int_env(env + "MAX_DEPTH", cls.max_depth, 2, 100),
            max_tokens=_int_env(env + "MAX_TOKENS", cls.max_tokens, 50, 1_000_000),
            max_aliases=_int_env(env + "MAX_ALIASES", cls.max_aliases, 0, 10_000),
            max_nodes=_int_env(env + "MAX_NODES", cls.max_nodes, 1, 100_000_000),
            max_result_fields=_int_env(
                env + "MAX_RESULT_FIELDS", cls.max_result_fields, 1, 100_000_000
            ),
            max_query_chars=_int_env(env + "MAX_QUERY_CHARS", cls.max_query_chars, 100, 10_000_000),
            max_page_size=_int_env(env + "MAX_PAGE_SIZE", cls.max_page_size, 1, 100_000),
            max_list_items=_int_env(env + "MAX_LIST_ITEMS", cls.max_list_items, 1, 100_000),
            max_filter_depth=_int_env(env + "MAX_FILTER_DEPTH", cls.max_filter_depth, 1, 64),
            max_filter_values=_int_env(env + "MAX_FILTER_VALUES", cls.max_filter_values, 1, 50_000),
            max_body_bytes=_int_env(env + "MAX_BODY_BYTES", cls.max_body_bytes, 1024, 1 << 30),
            statement_timeout_ms=_int_env(
                env + "STATEMENT_TIMEOUT", cls.statement_timeout_ms, 1, 3_600_000
            ),
            request_timeout_ms=_int_env(
                env + "REQUEST_TIMEOUT", cls.request_timeout_ms, 100, 3_600_000
            ),
            introspection=_bool_env(env + "INTROSPECTION", cls.introspection),
        )


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
