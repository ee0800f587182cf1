"""What a caller may see: the one place where the proprietary-data rules live.

Withdrawn products (``withdrawn_at`` set) are never served. Release dates and access groups
are not enforced yet (TAP does not enforce them either); when they are, they go here, as
SQL predicates on the caller, so every entry point, loader and aggregate inherits them.
"""

from __future__ import annotations

import sqlalchemy as sa

from catalog.graphql.context import Caller
from catalog.model import Product


def visible_products(caller: Caller) -> sa.ColumnElement[bool]:
    """SQL predicate on ``hlsp.product``: the rows ``caller`` may see."""
    del caller  # no proprietary rule yet: every caller sees every live product
    return Product.withdrawn_at.is_(None)


def visible_collections(caller: Caller) -> sa.ColumnElement[bool]:
    """SQL predicate on ``hlsp.collection``: the rows ``caller`` may see."""
    del caller  # collections are public; their products carry the access rules
    return sa.true()
