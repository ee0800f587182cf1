"""Facet counts over any product filter, for a portal's facet panel in one request.

``facets(filter)`` returns a :class:`ProductFacets`; each of its fields is a facet. The facets
a query asks for are computed together, in one statement and one scan of the matching
products: a count per combination of the asked dimensions (the waveband as a bit mask of the
bands a product's range overlaps), summed into each facet here. A product counts in every
band its range overlaps. Values are sorted by count, then value; null means "not stated".
"""

from __future__ import annotations

import math
from enum import Enum
from typing import Any

import sqlalchemy as sa
import strawberry
from strawberry.dataloader import DataLoader

from catalog.graphql.context import RequestContext
from catalog.graphql.enums import DataproductType, Verdict, Waveband, waveband_edges
from catalog.model import Collection, Product

DIMENSIONS: dict[str, Any] = {
    "collection": Product.collection_id,
    "observatory": Product.observatory,
    "instrument": Product.instrument,
    "dataproduct_type": Product.dataproduct_type,
    "verdict": Product.verdict,
}


@strawberry.type(description="One value of a facet and how many matching products have it.")
class FacetValue:
    value: str | None = strawberry.field(
        description="The value; null: not stated. For enumerated facets (dataproductType, "
        "verdict, waveband) the enum name, to pass back as is in a filter (e.g. IMAGE, "
        "NEEDS_REVIEW, OPTICAL)."
    )
    count: int = strawberry.field(description="Number of matching products with this value.")


def _sorted(values: dict[Any, int]) -> list[FacetValue]:
    ordered = sorted(values.items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or ""))
    return [FacetValue(value=value, count=count) for value, count in ordered]


_ENUMS: dict[str, type[Enum]] = {"dataproduct_type": DataproductType, "verdict": Verdict}


def _as_enum_name(dimension: str, value: Any) -> Any:
    enum = _ENUMS.get(dimension)
    return value if enum is None or value is None else enum(value).name


def _band_mask() -> Any:
    """An integer with bit i set when the product's range overlaps Waveband number i."""
    bits = []
    for i, band in enumerate(Waveband):
        low, high = waveband_edges(band)
        below = Product.em_min < high if math.isfinite(high) else Product.em_min.is_not(None)
        overlap = sa.and_(below, sa.or_(Product.em_max > low, Product.em_min >= low))
        bits.append(sa.case((overlap, 1 << i), else_=0))
    return sum(bits[1:], bits[0])


def _combinations(where: Any, names: list[str]) -> sa.Select[*tuple[Any, ...]]:
    """One scan: matching products counted per combination of the asked dimensions (a few
    hundred rows at most in practice), summed into each facet in Python."""
    keys = [DIMENSIONS[n].label(n) for n in names if n in DIMENSIONS]
    if "waveband" in names:
        keys.append(_band_mask().label("waveband"))
    counted = (
        sa.select(*keys, sa.func.count().label("n"))
        .where(where)
        .group_by(*(sa.literal_column(str(i + 1)) for i in range(len(keys))))
        .subquery("counted")
    )
    columns = [c for c in counted.c if c.name != "collection"]
    if "collection" not in names:
        return sa.select(*columns)
    return sa.select(Collection.hlsp_id.label("collection"), *columns).join_from(
        counted, Collection, Collection.collection_id == counted.c.collection
    )


def compute(conn: sa.Connection, where: Any, names: list[str]) -> dict[str, Any]:
    """The asked facets (and ``total``) for the products matching ``where``: one statement."""
    facets: dict[str, dict[Any, int]] = {n: {} for n in names if n != "total"}
    total = 0
    for row in conn.execute(_combinations(where, names)).mappings():
        count = int(row["n"])
        total += count
        for name, values in facets.items():
            if name == "waveband":
                for i, band in enumerate(Waveband):
                    if row["waveband"] & (1 << i):
                        values[band.name] = values.get(band.name, 0) + count
            else:
                value = _as_enum_name(name, row[name])
                values[value] = values.get(value, 0) + count
    result: dict[str, Any] = {name: _sorted(values) for name, values in facets.items()}
    result["total"] = total
    return result


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

    @strawberry.field(
        description="Counts by guideline verdict (PASS, NEEDS REVIEW, FAIL; null: not checked)."
    )
    async def verdict(self) -> list[FacetValue]:
        return list(await self.loader.load("verdict"))

    @strawberry.field(
        description="Counts by waveband (value: a Waveband name); a product "
        "counts in every band its wavelength range overlaps; products without a "
        "range are not counted."
    )
    async def waveband(self) -> list[FacetValue]:
        return list(await self.loader.load("waveband"))


def facets(ctx: RequestContext, where: Any) -> ProductFacets:
    async def load(names: list[str]) -> list[Any]:
        found = await ctx.run(lambda conn: compute(conn, where, list(names)))
        return [found[n] for n in names]

    return ProductFacets(loader=DataLoader(load_fn=load))
