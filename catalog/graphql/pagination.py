"""Relay connections with keyset pagination.

A page is ``first`` items after a cursor, or ``last`` items before one. The order is the
``orderBy`` fields followed by the id, so it is total and stable under ties; nulls sort last
whatever the direction. A cursor encodes the order (so a cursor from another ordering is
refused) and the values of the order key and the id of its row: the next page is ``WHERE
key > cursor`` on an index, never ``OFFSET``. ``totalCount`` is a separate ``count(*)`` run
only when the query asks for it.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
import strawberry

from catalog.config import GraphQLSettings
from catalog.graphql.enums import Direction
from catalog.graphql.errors import InvalidArgument, InvalidCursor, LimitExceeded

N = TypeVar("N")
DEFAULT_PAGE_SIZE = 20
MAX_ORDER_FIELDS = 3


@strawberry.type(description="Where a page sits in the whole list (Relay).")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type(description="One item of a page, with the cursor to continue from it.")
class Edge(Generic[N]):
    node: N
    cursor: str


@strawberry.type(description="A page of a list (Relay connection).")
class Connection(Generic[N]):
    edges: list[Edge[N]]
    page_info: PageInfo
    count_total: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="The items of the page, without cursors.")
    def nodes(self) -> list[N]:
        return [edge.node for edge in self.edges]

    @strawberry.field(
        description="Number of items matching the filter in the whole list (not only this "
        "page). Computed only when asked for: it costs a count over every match."
    )
    async def total_count(self) -> int:
        return await self.count_total()


@dataclass(frozen=True)
class SortKey:
    """One ORDER BY term: an expression, its direction, and how to render cursor values."""

    name: str
    expr: Any
    descending: bool
    nullable: bool


@dataclass(frozen=True)
class Window:
    """What page is asked for: ``limit`` rows after/before ``cursor`` in ``keys`` order."""

    keys: tuple[SortKey, ...]
    limit: int
    backward: bool
    cursor: tuple[Any, ...] | None
    has_cursor: bool

    def signature(self) -> str:
        return ",".join(f"{k.name}:{'desc' if k.descending else 'asc'}" for k in self.keys)

    def order_by(self) -> list[Any]:
        terms: list[Any] = []
        for key in self.keys:
            descending = key.descending != self.backward
            if key.nullable:
                flag = key.expr.is_(None)
                terms.append(flag.desc() if self.backward else flag.asc())
            terms.append(key.expr.desc() if descending else key.expr.asc())
        return terms

    def after(self) -> sa.ColumnElement[bool]:
        """Rows strictly beyond the cursor in the direction of travel."""
        if self.cursor is None:
            return sa.true()
        alternatives: list[sa.ColumnElement[bool]] = []
        equal: list[sa.ColumnElement[bool]] = []
        for key, value in zip(self.keys, self.cursor, strict=True):
            descending = key.descending != self.backward
            if key.nullable:
                is_null = key.expr.is_(None)
                if value is None:  # null sorts last: only backward can go to non-null values
                    if self.backward:
                        alternatives.append(sa.and_(*equal, key.expr.is_not(None)))
                    equal.append(is_null)
                    continue
                if not self.backward:
                    alternatives.append(sa.and_(*equal, is_null))
                equal.append(key.expr.is_not(None))
            beyond = key.expr < value if descending else key.expr > value
            alternatives.append(sa.and_(*equal, beyond))
            equal.append(key.expr == value)
        return sa.or_(*alternatives)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    return value


def encode_cursor(window: Window, values: Sequence[Any]) -> str:
    payload = json.dumps(
        [window.signature(), [_jsonable(v) for v in values]], separators=(",", ":")
    )
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


class _Malformed(Exception):
    pass


INT64 = (-(2**63), 2**63 - 1)


def _python_type(key: SortKey) -> type | None:
    try:
        kind: type = key.expr.type.python_type
    except (AttributeError, NotImplementedError):
        return None
    return kind


def _key_value(value: Any, key: SortKey) -> Any:
    """A decoded cursor value, checked against the type of its sort key (raises _Malformed)."""
    if value is None:
        if key.nullable:
            return None
        raise _Malformed
    kind = _python_type(key)
    if isinstance(value, dict):
        if kind is not datetime or set(value) != {"t"} or not isinstance(value["t"], str):
            raise _Malformed
        try:
            return datetime.fromisoformat(value["t"])
        except ValueError:
            raise _Malformed from None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _Malformed
    if kind is float and isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            raise _Malformed from None
        if not math.isfinite(number):
            raise _Malformed
        return number
    if kind is int and isinstance(value, int) and INT64[0] <= value <= INT64[1]:
        return value
    if kind is str and isinstance(value, str) and "\x00" not in value:
        return value
    raise _Malformed


def decode_cursor(cursor: str, signature: str, keys: Sequence[SortKey]) -> tuple[Any, ...]:
    """The key values a cursor holds, each of its key's type, or InvalidCursor."""
    bad = InvalidCursor(
        "The cursor is not one this list gave out (malformed, or from another list or "
        "ordering); use a cursor from the same query with the same orderBy.",
    )
    if len(cursor) > 4096:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        if not isinstance(payload, list) or len(payload) != 2:
            raise _Malformed
        sig, values = payload
        if sig != signature or not isinstance(values, list) or len(values) != len(keys):
            raise _Malformed
        return tuple(_key_value(v, k) for v, k in zip(values, keys, strict=True))
    except (_Malformed, binascii.Error, ValueError, RecursionError):
        raise bad from None


def make_window(
    settings: GraphQLSettings,
    keys: Sequence[SortKey],
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Window:
    """Check the page arguments and turn them into a :class:`Window`."""
    if first is not None and last is not None:
        raise InvalidArgument("Give first or last, not both (Relay pages go one way).")
    if after is not None and before is not None:
        raise InvalidArgument("Give after or before, not both.")
    if last is None and before is not None and first is None:
        last = DEFAULT_PAGE_SIZE
    backward = last is not None
    limit = last if backward else (first if first is not None else DEFAULT_PAGE_SIZE)
    assert limit is not None
    name = "last" if backward else "first"
    if limit < 0:
        raise InvalidArgument(f"{name} must be 0 or more, got {limit}.")
    if limit > settings.max_page_size:
        raise LimitExceeded(
            f"{name} is {limit}; at most {settings.max_page_size} items per page. Page "
            "through the rest with the cursors.",
            limit=settings.max_page_size,
        )
    if (backward and after is not None) or (not backward and before is not None):
        raise InvalidArgument("Use after with first, before with last.")
    cursor_text = before if backward else after
    window = Window(tuple(keys), limit, backward, None, cursor_text is not None)
    if cursor_text is None:
        return window
    cursor = decode_cursor(cursor_text, window.signature(), window.keys)
    return Window(tuple(keys), limit, backward, cursor, True)


def sort_keys(
    order: Sequence[tuple[str, Any, bool, bool]] | None, id_name: str, id_expr: Any
) -> list[SortKey]:
    """(name, expr, descending, nullable) terms + the id, in the last term's direction."""
    terms = list(order or [])
    if len(terms) > MAX_ORDER_FIELDS:
        raise InvalidArgument(f"orderBy takes at most {MAX_ORDER_FIELDS} fields.")
    names = [t[0] for t in terms]
    if len(set(names)) != len(names):
        raise InvalidArgument("orderBy names a field twice.")
    keys: list[SortKey] = []
    id_descending = terms[-1][2] if terms else False
    for term in terms:
        if term[0] == id_name:  # the id is unique: terms after it would never apply
            id_descending = term[2]
            break
        keys.append(SortKey(*term))
    return [*keys, SortKey(id_name, id_expr, id_descending, False)]


def descending(direction: Direction | None) -> bool:
    return direction == Direction.DESC


def build_connection(
    rows: Sequence[Any],
    window: Window,
    make_node: Callable[[Any], N],
    count_total: Callable[[], Awaitable[int]],
) -> Connection[N]:
    """Rows fetched with ``LIMIT limit + 1`` (in travel order) -> a connection."""
    more = len(rows) > window.limit
    page = list(rows[: window.limit])
    if window.backward:
        page.reverse()
    edges = [
        Edge(
            node=make_node(row),
            cursor=encode_cursor(window, [row._mapping[f"_k{i}"] for i in range(len(window.keys))]),
        )
        for row in page
    ]
    info = PageInfo(
        has_next_page=more if not window.backward else window.has_cursor,
        has_previous_page=more if window.backward else window.has_cursor,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )
    return Connection(edges=edges, page_info=info, count_total=count_total)


def key_columns(window: Window) -> list[Any]:
    """The key expressions labelled ``_k0..`` so each row carries its cursor values."""
    return [key.expr.label(f"_k{i}") for i, key in enumerate(window.keys)]
