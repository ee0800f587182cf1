"""The SQL of the API: what each entity selects, pages, counts and looks up by key.

Selections name the published columns only (the read-only role cannot read file paths or raw
headers, and the API does not expose them). Every statement is built with SQLAlchemy;
filter values arrive as bound parameters from :mod:`catalog.graphql.predicates`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from catalog.graphql.metadata import published_columns
from catalog.graphql.pagination import Window, key_columns
from catalog.model import (
    Collection,
    Product,
    ProductFinding,
    ProvenanceInput,
    ProvenanceSoftware,
    Target,
    TargetAlias,
    product_target,
)

PARENT = "parent_ref"
"""Label of the parent key in batched statements (not ``_parent``: Row has one of its own)."""


@dataclass(frozen=True)
class Entity:
    """A listed type: its table, id column and published columns."""

    name: str
    table: sa.Table
    id: Any
    columns: list[Any] = field(default_factory=list)


# Not selected: positions as pg_sphere points (the API serves raDeg/decDeg), access fields
# and withdrawal (applied in SQL, see access.py).
_NOT_SELECTED = {"pos", "access_group", "withdrawn_at"}


def _entity(name: str, model: Any, id_column: Any) -> Entity:
    table: sa.Table = model.__table__
    columns = [c for c in published_columns(table) if c.name not in _NOT_SELECTED]
    return Entity(name, table, id_column, columns)


COLLECTION = _entity("Collection", Collection, Collection.collection_id)
PRODUCT = _entity("Product", Product, Product.product_id)
TARGET = _entity("Target", Target, Target.target_id)


def page(entity: Entity, where: Any, window: Window) -> sa.Select[*tuple[Any, ...]]:
    """One page of ``entity`` rows, LIMIT one more than asked to know whether more follow."""
    return (
        sa.select(*entity.columns, *key_columns(window))
        .where(where, window.after())
        .order_by(*window.order_by())
        .limit(window.limit + 1)
    )


def count(entity: Entity, where: Any) -> sa.Select[*tuple[Any, ...]]:
    return sa.select(sa.func.count()).select_from(entity.table).where(where)


def _parents(ids: Sequence[int]) -> Any:
    array = sa.bindparam("parent_ids", list(ids), type_=ARRAY(sa.BigInteger))
    return sa.func.unnest(array).table_valued("parent_id").render_derived("parents")


def _link(entity: Entity, via: str) -> tuple[Any, Any]:
    """(parent key expression, FROM clause) for a nested list of ``entity`` under ``via``."""
    if via == "collection":
        return Product.collection_id, Product.__table__
    if via == "target":
        join = Product.__table__.join(
            product_target, product_target.c.product_id == Product.product_id
        )
        return product_target.c.target_id, join
    raise ValueError(f"no nested list of {entity.name} under {via}")


def nested_pages(
    entity: Entity, via: str, parent_ids: Sequence[int], where: Any, window: Window
) -> sa.Select[*tuple[Any, ...]]:
    """A page per parent, in one statement (LATERAL: each page uses the index on its own)."""
    parent_key, source = _link(entity, via)
    parents = _parents(parent_ids)
    inner = (
        sa.select(*entity.columns, *key_columns(window))
        .select_from(source)
        .where(parent_key == parents.c.parent_id, where, window.after())
        .order_by(*window.order_by())
        .limit(window.limit + 1)
        .lateral("page")
    )
    return sa.select(parents.c.parent_id.label(PARENT), *inner.c).select_from(
        parents.join(inner, sa.true())
    )


def nested_counts(
    entity: Entity, via: str, parent_ids: Sequence[int], where: Any
) -> sa.Select[*tuple[Any, ...]]:
    parent_key, source = _link(entity, via)
    return (
        sa.select(parent_key.label(PARENT), sa.func.count())
        .select_from(source)
        .where(parent_key.in_(list(parent_ids)), where)
        .group_by(parent_key)
    )


def by_ids(entity: Entity, ids: Sequence[int], where: Any) -> sa.Select[*tuple[Any, ...]]:
    return sa.select(*entity.columns).where(entity.id.in_(list(ids)), where)


def targets_of_products(product_ids: Sequence[int]) -> sa.Select[*tuple[Any, ...]]:
    return (
        sa.select(product_target.c.product_id.label(PARENT), *TARGET.columns)
        .join(Target, Target.target_id == product_target.c.target_id)
        .where(product_target.c.product_id.in_(list(product_ids)))
        .order_by(product_target.c.product_id, Target.name, Target.target_id)
    )


def aliases_of_targets(target_ids: Sequence[int]) -> sa.Select[*tuple[Any, ...]]:
    return (
        sa.select(TargetAlias.target_id.label(PARENT), TargetAlias.name)
        .where(TargetAlias.target_id.in_(list(target_ids)))
        .order_by(TargetAlias.target_id, TargetAlias.name)
    )


def children(model: Any, order: Any, product_ids: Sequence[int]) -> sa.Select[*tuple[Any, ...]]:
    """Provenance inputs, software or findings of some products, in their declared order."""
    columns = published_columns(model.__table__)
    return (
        sa.select(model.product_id.label(PARENT), *columns)
        .where(model.product_id.in_(list(product_ids)))
        .order_by(model.product_id, order)
    )


CHILDREN = {
    "inputs": (ProvenanceInput, ProvenanceInput.input_index),
    "software": (ProvenanceSoftware, ProvenanceSoftware.software_index),
    "findings": (ProductFinding, ProductFinding.finding_index),
}
