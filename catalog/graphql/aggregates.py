"""Facet counts over any product filter, for a portal's facet panel in one request.

``facets(filter)`` returns a :class:`ProductFacets`; each of its fields is a facet. The facets
a query asks for are computed together: one ``GROUP BY GROUPING SETS`` statement (one scan of
the matching products) for collection, observatory, instrument, data product type, verdict
and the total, plus one statement for wavebands (a product counts in every band its range
overlaps). Values are sorted by count, then value; a null value means "not stated".
"""

from __future__ import annotations

import math
from typing import Any

import sqlalchemy as sa
import strawberry
from strawberry.dataloader import DataLoader

from catalog.graphql.context import RequestContext
from catalog.graphql.enums import Waveband, waveband_edges
from catalog.model import Collection, Product

DIMENSIONS: dict[str, Any] = {
    "collection": Collection.hlsp_id,
    "observatory": Product.observatory,
    "instrument": Product.instrument,
    "dataproduct_type": Product.dataproduct_type,
    "verdict": Product.verdict,
}


@strawberry.type(description="One value of a facet and how many matching products have it.")
class FacetValue:
    value: str | None = strawberry.field(description="The value; null: not stated.")
    count: int = strawberry.field(description="Number of matching products with this value.")


def _sorted(values: list[FacetValue]) -> list[FacetValue]:
    return sorted(values, key=lambda v: (-v.count, v.value is None, v.value or ""))


def _grouping_sets(where: Any, names: list[str]) -> sa.Select[*tuple[Any, ...]]:
    exprs = [DIMENSIONS[n] for n in names]
    sets = [sa.tuple_(e) for e in exprs] + [sa.tuple_()]
    return (
        sa.select(*exprs, sa.func.grouping(*exprs).label("_set"), sa.func.count())
        .select_from(Product.__table__.join(Collection.__table__,
                                            Collection.collection_id == Product.collection_id))
        .where(where)
        .group_by(sa.func.grouping_sets(*sets))
    )  # fmt: skip


def _wavebands(where: Any) -> sa.Select[*tuple[Any, ...]]:
    counts = []
    for band in Waveband:
        low, high = waveband_edges(band)
        below = Product.em_min < high if math.isfinite(high) else Product.em_min.is_not(None)
        test = sa.and_(below, sa.or_(Product.em_max > low, Product.em_min >= low))
        counts.append(sa.func.count().filter(test))
    return sa.select(*counts).where(where)


def compute(conn: sa.Connection, where: Any, names: list[str]) -> dict[str, Any]:
    """The asked facets (and ``total``) for the products matching ``where``."""
    result: dict[str, Any] = {}
    grouped = [n for n in names if n in DIMENSIONS]
    if grouped:
        width = len(grouped)
        full = (1 << width) - 1
        for row in conn.execute(_grouping_sets(where, grouped)):
            if row._set == full:
                result["total"] = int(row[-1])
                continue
            i = width - (full & ~row._set).bit_length()
            result.setdefault(grouped[i], []).append(FacetValue(value=row[i], count=int(row[-1])))
        result.setdefault("total", 0)
    elif "total" in names:
        total = sa.select(sa.func.count()).select_from(Product.__table__).where(where)
        result["total"] = int(conn.execute(total).scalar_one())
    if "waveband" in names:
        row = conn.execute(_wavebands(where)).one()
        result["waveband"] = [FacetValue(value=band.name, count=int(n))
                              for band, n in zip(Waveband, row, strict=True) if n]  # fmt: skip
    return {n: _sorted(result.get(n, [])) if n != "total" else result["total"] for n in names}


@strawberry.type(
    description="Facet counts over the products matching a filter. Ask only for the facets "
    "you draw: the ones asked for are computed together, in one pass over the matches."
)
class ProductFacets:
    loader: strawberry.Private[DataLoader[str, Any]]

    @strawberry.field(description="Number of matching products.")
    async def total(self) -> int:
        return int(await self.loader.load("total"))

    @strawberry.field(description="Counts by collection (value: HLSP id).")
    async def collection(self) -> list[FacetValue]:
        return list(await self.loader.load("collection"))

    @strawberry.field(description="Counts by observatory (OBSERVAT).")
    async def observatory(self) -> list[FacetValue]:
        return list(await self.loader.load("observatory"))

    @strawberry.field(description="Counts by instrument (INSTRUME).")
    async def instrument(self) -> list[FacetValue]:
        return list(await self.loader.load("instrument"))

    @strawberry.field(description="Counts by ObsCore data product type (value: image, ...).")
    async def dataproduct_type(self) -> list[FacetValue]:
        return list(await self.loader.load("dataproduct_type"))

    @strawberry.field(description="Counts by guideline verdict (PASS, NEEDS REVIEW, FAIL; null: "
                      "not checked).")  # fmt: skip
    async def verdict(self) -> list[FacetValue]:
        return list(await self.loader.load("verdict"))

    @strawberry.field(description="Counts by waveband (value: a Waveband name); a product "
                      "counts in every band its wavelength range overlaps; products without a "
                      "range are not counted.")  # fmt: skip
    async def waveband(self) -> list[FacetValue]:
        return list(await self.loader.load("waveband"))


def facets(ctx: RequestContext, where: Any) -> ProductFacets:
    async def load(names: list[str]) -> list[Any]:
        found = await ctx.run(lambda conn: compute(conn, where, list(names)))
        return [found[n] for n in names]

    return ProductFacets(loader=DataLoader(load_fn=load))
