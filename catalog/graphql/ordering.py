"""``orderBy`` inputs: enums of sortable fields per type, mapped to SQL expressions."""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry

from catalog.graphql.enums import Direction
from catalog.graphql.pagination import SortKey, descending, sort_keys
from catalog.model import Collection, Product, Target


@strawberry.enum(description="Fields products can be sorted by (the id breaks ties).")
class ProductOrderField(Enum):
    ID = "id"
    FILE_NAME = "file_name"
    TARGET_NAME = "target_name"
    INSTRUMENT = "instrument"
    RA_DEG = "s_ra"
    DEC_DEG = "s_dec"
    T_MIN_MJD = "t_min"
    T_MAX_MJD = "t_max"
    EM_MIN_METRES = "em_min"
    FILE_BYTES = "file_bytes"
    LAST_HARVESTED = "last_harvested"


@strawberry.enum(description="Fields collections can be sorted by (the id breaks ties).")
class CollectionOrderField(Enum):
    ID = "id"
    HLSP_ID = "hlsp_id"
    TITLE = "title"
    RELEASE_DATE = "release_date"
    LAST_HARVESTED = "last_harvested"


@strawberry.enum(description="Fields targets can be sorted by (the id breaks ties).")
class TargetOrderField(Enum):
    ID = "id"
    NAME = "name"
    RA_DEG = "s_ra"
    DEC_DEG = "s_dec"


@strawberry.input(description="One sort term of products; nulls sort last.")
class ProductOrder:
    field: ProductOrderField
    direction: Direction = Direction.ASC


@strawberry.input(description="One sort term of collections; nulls sort last.")
class CollectionOrder:
    field: CollectionOrderField
    direction: Direction = Direction.ASC


@strawberry.input(description="One sort term of targets; nulls sort last.")
class TargetOrder:
    field: TargetOrderField
    direction: Direction = Direction.ASC


def _keys(model: Any, id_column: Any, order: list[Any] | None) -> list[SortKey]:
    terms = []
    for term in order or []:
        if term.field.value == "id":
            terms.append(("id", id_column, descending(term.direction), False))
            continue
        column = getattr(model, term.field.value)
        nullable = bool(column.property.columns[0].nullable)
        terms.append((term.field.name, column, descending(term.direction), nullable))
    return sort_keys(terms, "id", id_column)


def product_keys(order: list[ProductOrder] | None) -> list[SortKey]:
    return _keys(Product, Product.product_id, order)


def collection_keys(order: list[CollectionOrder] | None) -> list[SortKey]:
    return _keys(Collection, Collection.collection_id, order)


def target_keys(order: list[TargetOrder] | None) -> list[SortKey]:
    return _keys(Target, Target.target_id, order)
