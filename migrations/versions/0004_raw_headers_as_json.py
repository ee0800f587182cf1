"""Raw headers as ``json`` (the text as written) rather than ``jsonb``.

The raw headers are an audit copy of what each file said: the harvester writes them once
per product and nothing in the service reads them (TAP and GraphQL do not publish them).
``jsonb`` converts every document into its binary form on insert, ~40 µs of PostgreSQL's
CPU for a typical product's few KB against ~20 µs for ``json``, which only checks the
syntax: about a tenth of a cold harvest (benchmarks/RESULTS.md). ``json`` keeps the
operators an archivist uses on them (``->``, ``->>``, ``json_array_elements``), and
``headers::jsonb`` gives the rest when needed. lz4 compression is kept where available.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 03:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_COMPRESSION = """
DO $$
BEGIN
    ALTER TABLE hlsp.product ALTER COLUMN headers SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    RAISE NOTICE 'compression method lz4 is not available; headers keep the default';
END
$$
"""


_COMMENTS = {
    "json": "Raw FITS headers as written (json): one object per HDU, with its cards",
    "jsonb": "Raw FITS headers: one object per HDU, keyword to value",
}


def _retype(new: str) -> None:
    op.execute("ALTER TABLE hlsp.product ALTER COLUMN headers DROP DEFAULT")
    op.execute(f"ALTER TABLE hlsp.product ALTER COLUMN headers TYPE {new} USING headers::{new}")
    op.execute(f"ALTER TABLE hlsp.product ALTER COLUMN headers SET DEFAULT '[]'::{new}")
    op.execute(_COMPRESSION)
    op.execute(f"COMMENT ON COLUMN hlsp.product.headers IS '{_COMMENTS[new]}'")


def upgrade() -> None:
    _retype("json")


def downgrade() -> None:
    _retype("jsonb")
