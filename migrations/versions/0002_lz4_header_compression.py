"""Compress raw headers with lz4 where the server supports it.

The raw headers (a few KB of JSON per product) are TOAST-compressed on every insert; lz4
costs about a third of PostgreSQL's default pglz on a harvest (benchmarks/RESULTS.md).
Servers built without lz4 keep pglz: the migration then changes nothing.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 23:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_SET = """
DO $$
BEGIN
    ALTER TABLE hlsp.product ALTER COLUMN headers SET COMPRESSION {method};
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    RAISE NOTICE 'compression method {method} is not available; headers keep the default';
END
$$
"""


def upgrade() -> None:
    op.execute(_SET.format(method="lz4"))


def downgrade() -> None:
    op.execute(_SET.format(method="default"))
