"""Per-request DataLoaders: one SQL statement per kind of thing, whatever the page size.

Resolvers ask a loader for one parent's data; the loader collects every key asked for in the
same tick and runs one statement for all of them. So ``products(first: 100) { collection
targets inputs }`` costs one statement for the page and one per relation, not one per
product. Loaders live in the request context (``ctx.loaders``), so nothing is cached
between requests. Nested lists with arguments get one loader per distinct set of arguments.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from strawberry.dataloader import DataLoader

from catalog.graphql import queries as q
from catalog.graphql.access import visible_collections
from catalog.graphql.context import RequestContext
from catalog.graphql.pagination import Window

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _loader(
    ctx: RequestContext,
    name: Hashable,
    batch: Callable[[sa.Connection, list[K]], dict[K, V]],
    default: Callable[[], V],
) -> DataLoader[K, V]:
    existing = ctx.loaders.get(name)
    if existing is not None:
        return existing  # type: ignore[no-any-return]

    async def load(keys: list[K]) -> list[V]:
        found = await ctx.run(lambda conn: batch(conn, keys))
        return [found.get(k, default()) for k in keys]

    loader: DataLoader[K, V] = DataLoader(load_fn=load)
    ctx.loaders[name] = loader
    return loader


NOT_READY: Any = object()
"""What :func:`settled` answers when the loader does not hold the value yet."""


def settled(loader: DataLoader[K, V], key: K) -> V:
    """The value ``loader`` already holds for ``key`` (loaded without error), or
    :data:`NOT_READY`: a resolver that finds its value here answers synchronously, which spares
    graphql-core a task and a gather per item of a list."""
    future = loader.cache_map.get(key) if loader.cache else None
    if future is None or not future.done() or future.cancelled() or future.exception():
        return NOT_READY  # type: ignore[no-any-return]
    return future.result()


def now_or_later(loader: DataLoader[K, V], key: K, convert: Callable[[V], Any]) -> Any:
    """``convert(value)`` now when the loader holds the value, else an awaitable of it (which
    graphql-core awaits: a resolver may answer either)."""
    value = settled(loader, key)
    if value is not NOT_READY:
        return convert(value)
    return _converted(loader.load(key), convert)


async def _converted(pending: Awaitable[V], convert: Callable[[V], Any]) -> Any:
    return convert(await pending)


def _grouped(rows: Sequence[Any]) -> dict[int, list[Any]]:
    groups: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        groups[row._mapping[q.PARENT]].append(row)
    return groups


def rows_by_id(ctx: RequestContext, entity: q.Entity, where: Any) -> DataLoader[int, Any]:
    """One row of ``entity`` per id (None when missing or not visible)."""

    def batch(conn: sa.Connection, ids: list[int]) -> dict[int, Any]:
        rows = conn.execute(q.by_ids(entity, ids, where)).all()
        return {getattr(row, entity.id.key): row for row in rows}

    return _loader(ctx, ("by_id", entity.name), batch, lambda: None)


def collections(ctx: RequestContext) -> DataLoader[int, Any]:
    """Collection rows by id, as the caller may see them (the loader :func:`rows_by_id`
    makes for collections; built once per request, with its visibility condition)."""
    existing = ctx.loaders.get(("by_id", q.COLLECTION.name))
    if existing is not None:
        return existing  # type: ignore[no-any-return]
    return rows_by_id(ctx, q.COLLECTION, visible_collections(ctx.caller))


def targets_of_product(ctx: RequestContext) -> DataLoader[int, list[Any]]:
    def batch(conn: sa.Connection, ids: list[int]) -> dict[int, list[Any]]:
        return _grouped(conn.execute(q.targets_of_products(ids)).all())

    return _loader(ctx, "targets_of_product", batch, list)


def aliases_of_target(ctx: RequestContext) -> DataLoader[int, list[Any]]:
    def batch(conn: sa.Connection, ids: list[int]) -> dict[int, list[Any]]:
        return _grouped(conn.execute(q.aliases_of_targets(ids)).all())

    return _loader(ctx, "aliases_of_target", batch, list)


def children_of_product(ctx: RequestContext, kind: str) -> DataLoader[int, list[Any]]:
    model, order = q.CHILDREN[kind]

    def batch(conn: sa.Connection, ids: list[int]) -> dict[int, list[Any]]:
        return _grouped(conn.execute(q.children(model, order, ids)).all())

    return _loader(ctx, ("children", kind), batch, list)


def nested_page(
    ctx: RequestContext, entity: q.Entity, via: str, where: Any, window: Window, *, args: str
) -> DataLoader[int, list[Any]]:
    """The page of ``entity`` under each parent (``via``: collection or target)."""

    def batch(conn: sa.Connection, ids: list[int]) -> dict[int, list[Any]]:
        return _grouped(conn.execute(q.nested_pages(entity, via, ids, where, window)).all())

    return _loader(ctx, ("nested_page", entity.name, via, args), batch, list)


def nested_count(
    ctx: RequestContext, entity: q.Entity, via: str, where: Any, args: str
) -> DataLoader[int, int]:
    def batch(conn: sa.Connection, ids: list[int]) -> dict[int, int]:
        rows = conn.execute(q.nested_counts(entity, via, ids, where)).all()
        return {row[0]: int(row[1]) for row in rows}

    return _loader(ctx, ("nested_count", entity.name, via, args), batch, int)
