"""Indexes for ObsCore sorted or cut by coordinate or by size.

``SELECT TOP n * FROM ivoa.ObsCore ORDER BY s_ra`` (or ``access_estsize``, the largest files
first) sorted every product before it could return the first row: ~20 ms of PostgreSQL's
CPU at 10^4 products, growing with the catalog. B-tree indexes on ``s_ra`` and ``s_dec`` (the
stored coordinates of ``pos``) and on ``(file_bytes + 999) / 1000`` (the view's
``access_estsize``, the same expression, so the planner uses it through the view) answer them
from the first rows of an index (~0.4 ms), and serve ``s_dec BETWEEN …`` cuts too.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 19:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX product_s_ra_idx ON hlsp.product (s_ra)")
    op.execute("CREATE INDEX product_s_dec_idx ON hlsp.product (s_dec)")
    op.execute(
        "CREATE INDEX product_access_estsize_idx ON hlsp.product (((file_bytes + 999) / 1000))"
    )


def downgrade() -> None:
    op.execute("DROP INDEX hlsp.product_access_estsize_idx")
    op.execute("DROP INDEX hlsp.product_s_dec_idx")
    op.execute("DROP INDEX hlsp.product_s_ra_idx")
