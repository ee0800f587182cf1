"""The Query type and the schema: entry points for portals."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import sqlalchemy as sa
import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from catalog import model
from catalog.config import GraphQLSettings
from catalog.graphql import aggregates, listing, loaders
from catalog.graphql import queries as q
from catalog.graphql.access import visible_collections, visible_products
from catalog.graphql.context import RequestContext
from catalog.graphql.enums import LONG_SCALAR, Long
from catalog.graphql.errors import Ambiguous, GraphQLApiError, InvalidArgument, LimitExceeded
from catalog.graphql.filters import CollectionFilter, ProductFilter, TargetFilter
from catalog.graphql.ids import parse_global_id
from catalog.graphql.ordering import (
    CollectionOrder,
    ProductOrder,
    TargetOrder,
    collection_keys,
    product_keys,
    target_keys,
)
from catalog.graphql.pagination import Connection
from catalog.graphql.predicates import FilterCompiler
from catalog.graphql.types import (
    FIRST,
    LAST,
    Collection,
    Node,
    Product,
    Target,
    prefetch_relations,
)
from catalog.graphql.validation.cost import CostLimits
from catalog.graphql.validation.document import CheckedDocument, DocumentChecks
from catalog.model import TargetAlias
from catalog.model.names import target_key

log = logging.getLogger(__name__)
First = Annotated[int | None, strawberry.argument(description=FIRST)]
Last = Annotated[int | None, strawberry.argument(description=LAST)]
After = Annotated[str | None, strawberry.argument(description="Cursor: items after it.")]
Before = Annotated[str | None, strawberry.argument(description="Cursor: items before it.")]


def _ctx(info: strawberry.Info) -> RequestContext:
    context: RequestContext = info.context
    return context


def _compiler(ctx: RequestContext) -> FilterCompiler:
    return FilterCompiler(ctx.settings, ctx.caller)


async def _nodes(ctx: RequestContext, ids: list[strawberry.ID]) -> list[Node | None]:
    if len(ids) > ctx.settings.max_page_size:
        raise LimitExceeded(f"At most {ctx.settings.max_page_size} ids per request.")
    parsed = [parse_global_id(str(i)) for i in ids]
    kinds: dict[str, tuple[q.Entity, Any, Any]] = {
        "Collection": (q.COLLECTION, visible_collections(ctx.caller), Collection.from_row),
        "Product": (q.PRODUCT, visible_products(ctx.caller), Product.from_row),
        "Target": (q.TARGET, sa.true(), Target.from_row),
    }
    out: list[Node | None] = []
    for kind, pk in parsed:
        entity, where, make = kinds[kind]
        row = await loaders.rows_by_id(ctx, entity, where).load(pk)
        out.append(None if row is None else make(row))
    return out


@strawberry.type(description="Search results across collections for one text.")
class SearchResult:
    text: str
    where: strawberry.Private[Any]
    compiler: strawberry.Private[FilterCompiler]

    @strawberry.field(description="Products matching the text (and the filter).")
    async def products(
        self,
        info: strawberry.Info,
        *,
        order_by: list[ProductOrder] | None = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Product]:
        ctx = _ctx(info)
        win = listing.window(
            ctx, product_keys(order_by), first=first, after=after, last=last, before=before
        )
        return await listing.connection(ctx, q.PRODUCT, self.where, win, Product.from_row)

    @strawberry.field(description="Facet counts over the matching products.")
    def facets(self, info: strawberry.Info) -> aggregates.ProductFacets:
        return aggregates.facets(_ctx(info), self.where)

    @strawberry.field(
        description="Collections whose own text matches (id, title, lead, description), by HLSP id."
    )
    async def collections(self, info: strawberry.Info) -> list[Collection]:
        ctx = _ctx(info)
        match = self.compiler.collection_text(self.text, "text")
        stmt = sa.select(*q.COLLECTION.columns).where(match, visible_collections(ctx.caller))
        rows = await ctx.run(
            lambda conn: conn.execute(stmt.order_by(model.Collection.hlsp_id)).all()
        )
        return [Collection.from_row(r) for r in rows]

    @strawberry.field(description="Targets with a name matching the text, by name.")
    async def targets(self, info: strawberry.Info, first: First = None) -> list[Target]:
        ctx = _ctx(info)
        limit = 20 if first is None else first
        if not 0 <= limit <= ctx.settings.max_page_size:
            raise LimitExceeded(f"first must lie in [0, {ctx.settings.max_page_size}].")
        ids = self.compiler.target_ids_matching(self.text, "text")
        stmt = (
            sa.select(*q.TARGET.columns)
            .where(q.TARGET.id.in_(ids))
            .order_by(q.TARGET.table.c.name, q.TARGET.id)
            .limit(limit)
        )
        rows = await ctx.run(lambda conn: conn.execute(stmt).all())
        return [Target.from_row(r) for r in rows]


@strawberry.type
class Query:
    @strawberry.field(description="Any object by its global id (Relay).")
    async def node(self, info: strawberry.Info, id: strawberry.ID) -> Node | None:
        return (await _nodes(_ctx(info), [id]))[0]

    @strawberry.field(description="Objects by global id, in the order given (null: not found).")
    async def nodes(self, info: strawberry.Info, ids: list[strawberry.ID]) -> list[Node | None]:
        return await _nodes(_ctx(info), ids)

    @strawberry.field(description="A collection by its HLSP id (e.g. 'tglc'), or null.")
    async def collection(self, info: strawberry.Info, hlsp_id: str) -> Collection | None:
        ctx = _ctx(info)
        stmt = sa.select(*q.COLLECTION.columns).where(
            model.Collection.hlsp_id == hlsp_id.strip().lower(), visible_collections(ctx.caller)
        )
        row = await ctx.run(lambda conn: conn.execute(stmt).first())
        return None if row is None else Collection.from_row(row)

    @strawberry.field(
        description="A product by file name, or null. A file name is unique within a "
        "collection; if two collections hold the same name, give hlspId too."
    )
    async def product(
        self, info: strawberry.Info, file_name: str, hlsp_id: str | None = None
    ) -> Product | None:
        ctx = _ctx(info)
        where = [model.Product.file_name == file_name, visible_products(ctx.caller)]
        if hlsp_id is not None:
            owner = sa.select(model.Collection.collection_id).where(
                model.Collection.hlsp_id == hlsp_id.strip().lower()
            )
            where.append(model.Product.collection_id.in_(owner))
        stmt = sa.select(*q.PRODUCT.columns).where(*where).limit(2)
        rows = await ctx.run(lambda conn: conn.execute(stmt).all())
        if len(rows) > 1:
            raise Ambiguous(
                f"{file_name!r} is a file of more than one collection; give hlspId as well."
            )
        return Product.from_row(rows[0]) if rows else None

    @strawberry.field(
        description="A target by any of its names ('TIC 12345', 'tic12345' and "
        "'TIC-12345' are one name), or null."
    )
    async def target(self, info: strawberry.Info, name: str) -> Target | None:
        ctx = _ctx(info)
        if not name.strip():
            raise InvalidArgument("name is empty; give a target name such as 'TIC 12345'.")
        ids = sa.select(TargetAlias.target_id).where(TargetAlias.name_key == target_key(name))
        stmt = sa.select(*q.TARGET.columns).where(q.TARGET.id.in_(ids))
        row = await ctx.run(lambda conn: conn.execute(stmt).first())
        return None if row is None else Target.from_row(row)

    @strawberry.field(description="Collections (HLSPs), filtered and paged.")
    async def collections(
        self,
        info: strawberry.Info,
        *,
        filter: CollectionFilter | None = None,
        order_by: list[CollectionOrder] | None = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Collection]:
        ctx = _ctx(info)
        where = sa.and_(_compiler(ctx).collection(filter), visible_collections(ctx.caller))
        win = listing.window(
            ctx, collection_keys(order_by), first=first, after=after, last=last, before=before
        )
        return await listing.connection(ctx, q.COLLECTION, where, win, Collection.from_row)

    @strawberry.field(description="Products of every collection, filtered and paged.")
    async def products(
        self,
        info: strawberry.Info,
        *,
        filter: ProductFilter | None = None,
        order_by: list[ProductOrder] | None = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Product]:
        ctx = _ctx(info)
        where = _compiler(ctx).product(filter)
        win = listing.window(
            ctx, product_keys(order_by), first=first, after=after, last=last, before=before
        )
        page = await listing.connection(ctx, q.PRODUCT, where, win, Product.from_row)
        await prefetch_relations(info, page)
        return page

    @strawberry.field(description="Targets shared across collections, filtered and paged.")
    async def targets(
        self,
        info: strawberry.Info,
        *,
        filter: TargetFilter | None = None,
        order_by: list[TargetOrder] | None = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Target]:
        ctx = _ctx(info)
        where = _compiler(ctx).target(filter)
        win = listing.window(
            ctx, target_keys(order_by), first=first, after=after, last=last, before=before
        )
        return await listing.connection(ctx, q.TARGET, where, win, Target.from_row)

    @strawberry.field(
        description="Cross-collection search: products whose collection text, target names, "
        'file name or obs_id match the text (web-search syntax: all words, "phrases", '
        "-excluded), combined with the filter; with facets, matching collections and targets."
    )
    def search(
        self, info: strawberry.Info, text: str, filter: ProductFilter | None = None
    ) -> SearchResult:
        ctx = _ctx(info)
        compiler = _compiler(ctx)
        combined = ProductFilter(and_=[filter] if filter else [], text=text)
        # depth -1: the wrapper adds a level the caller did not write
        where = compiler.product(combined, depth=-1)
        return SearchResult(text=text, where=where, compiler=compiler)

    @strawberry.field(description="Facet counts over the products matching the filter.")
    def facets(
        self, info: strawberry.Info, *, filter: ProductFilter | None = None
    ) -> aggregates.ProductFacets:
        ctx = _ctx(info)
        return aggregates.facets(ctx, _compiler(ctx).product(filter))


class RequestTransaction(SchemaExtension):
    """Closes the request's database transaction when the operation ends."""

    async def on_operation(self):  # type: ignore[no-untyped-def]
        yield
        context = self.execution_context.context
        if isinstance(context, RequestContext):
            await context.close()


class CatalogSchema(strawberry.Schema):
    """Logs only unexpected errors (with their stack trace); user errors are answers."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            if not is_expected(error):
                log.error(
                    "GraphQL request failed: %s", error.message, exc_info=error.original_error
                )


def is_expected(error: GraphQLError) -> bool:
    """A user's error (bad input, limits, timeout), as opposed to a failure of the server."""
    original = error.original_error
    return isinstance(original, GraphQLApiError) or original is None or error.path is None


def build_schema(settings: GraphQLSettings | None = None) -> strawberry.Schema:
    """The schema with the limits of ``settings`` (defaults when None)."""
    settings = settings or GraphQLSettings()
    checks = DocumentChecks(settings)  # one per schema: its caches serve every request
    limits = settings
    return CatalogSchema(
        query=Query,
        types=[Collection, Product, Target],
        extensions=[
            RequestTransaction,
            lambda: CheckedDocument(checks),
            lambda: CostLimits(limits),
        ],
        config=StrawberryConfig(
            scalar_map={Long: LONG_SCALAR},
            # Suggestions ("did you mean ...") would reveal the schema introspection hides.
            disable_field_suggestions=not settings.introspection,
        ),
    )
