"""GraphQL: indexes for look-up by file name and per-collection pages; the reader may match
the full-text vectors.

``product(fileName)`` and free-text search match ``file_name`` across collections (the
unique index leads with ``collection_id``); a collection's products are paged by id within
the collection. The read-only role gets SELECT on the (unpublished) ``search_text``
vectors of collections and target aliases so GraphQL can run text search as that role;
they are derived from published columns, and TAP still does not publish them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 01:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

READER = "hlsp_reader"
_SEARCH_TABLES = ("collection", "target_alias")


def upgrade() -> None:
    op.create_index("product_file_name_idx", "product", ["file_name"], schema="hlsp")
    op.create_index(
        "product_collection_id_product_id_idx",
        "product",
        ["collection_id", "product_id"],
        schema="hlsp",
    )
    for table in _SEARCH_TABLES:
        op.execute(f"GRANT SELECT (search_text) ON hlsp.{table} TO {READER}")


def downgrade() -> None:
    for table in _SEARCH_TABLES:
        op.execute(f"REVOKE SELECT (search_text) ON hlsp.{table} FROM {READER}")
    op.drop_index("product_collection_id_product_id_idx", "product", schema="hlsp")
    op.drop_index("product_file_name_idx", "product", schema="hlsp")
