"""Top-level and nested connections: filter, window, page statement, lazy total count."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from catalog.graphql import loaders
from catalog.graphql import queries as q
from catalog.graphql.context import RequestContext
from catalog.graphql.pagination import Connection, SortKey, Window, build_connection, make_window

N = TypeVar("N")


def window(
    ctx: RequestContext,
    keys: list[SortKey],
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Window:
    return make_window(ctx.settings, keys, first=first, after=after, last=last, before=before)


async def connection(
    ctx: RequestContext, entity: q.Entity, where: Any, win: Window, make: Callable[[Any], N]
) -> Connection[N]:
    rows = await ctx.run(lambda conn: conn.execute(q.page(entity, where, win)).all())

    async def total() -> int:
        return int(await ctx.run(lambda conn: conn.execute(q.count(entity, where)).scalar_one()))

    return build_connection(rows, win, make, total)


async def nested_connection(
    ctx: RequestContext,
    entity: q.Entity,
    via: str,
    parent_id: int,
    *,
    where: Any,
    page: Window,
    args: str,
    make: Callable[[Any], N],
) -> Connection[N]:
    """A connection under a parent, batched with its siblings (same arguments, one statement)."""
    rows = await loaders.nested_page(ctx, entity, via, where, page, args=args).load(parent_id)

    async def total() -> int:
        return await loaders.nested_count(ctx, entity, via, where, args).load(parent_id)

    return build_connection(rows, page, make, total)
