"""TAP reads the hlsp tables through views that leave withdrawn products out, as a role that
can read nothing else.

A product whose file disappeared is kept and marked withdrawn (``withdrawn_at``); ObsCore
and GraphQL leave it out, and so must every table TAP publishes. The schema
``hlsp_published`` holds one view per published table, under the same name and with the
same columns as the table (less file paths, raw headers and the harvest run, which the
query role may not read anyway): ``product`` without withdrawn products, and
``product_target``, ``product_finding``, ``provenance_input`` and ``provenance_software``
without the rows of withdrawn products; ``collection``, ``target`` and ``target_alias``
whole (no row of theirs belongs to one product).

ADQL runs as ``hlsp_tap_reader``: SELECT on these views, ``ivoa.obscore`` and (granted by
the TAP service at start-up) TAP_SCHEMA, and on nothing in ``hlsp``, so the database itself
keeps withdrawn rows and unpublished tables away from TAP whatever SQL reaches it. The role
is granted to ``hlsp_reader``, so every query login (members of ``hlsp_reader``) may switch
to it. ``hlsp_reader`` keeps its grants on the base tables: GraphQL reads them, filtering
withdrawn products itself (``catalog/graphql/access.py``).

Why views and not row-level security on the base tables: with a policy on ``hlsp.product``
for the reader role, PostgreSQL refuses to use a non-LEAKPROOF operator as an index
condition below the policy, and pg_sphere's ``<@``, ``@`` and ``&&`` are not leakproof:
on 20,000 products a cone or a footprint search as the reader went from a GiST bitmap
scan (0.06 ms) to a sequential scan (7 ms), growing with the catalog (PostgreSQL 15).
Plain views are inlined by the planner (no ``security_barrier``: that would block the
indexes the same way), so cone, region and key look-ups keep their indexes; the views'
owner (the migration's) reads the tables, so the query role needs no grant on them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

READER = "hlsp_reader"
TAP_READER = "hlsp_tap_reader"
SCHEMA = "hlsp_published"
# Columns the query role may not read (0001), left out of the views.
HIDDEN = ("file_path", "headers", "harvest_run_id")
_OF_LIVE_PRODUCT = (
    "EXISTS (SELECT FROM hlsp.product p WHERE p.product_id = t.product_id "
    "AND p.withdrawn_at IS NULL)"
)
# table -> which of its rows TAP serves (None: all)
VIEWS: dict[str, str | None] = {
    "collection": None,
    "product": "t.withdrawn_at IS NULL",
    "product_finding": _OF_LIVE_PRODUCT,
    "product_target": _OF_LIVE_PRODUCT,
    "provenance_input": _OF_LIVE_PRODUCT,
    "provenance_software": _OF_LIVE_PRODUCT,
    "target": None,
    "target_alias": None,
}


def _columns(table: str) -> list[str]:
    rows = op.get_bind().execute(
        sa.text(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'hlsp' "
            "AND table_name = :t ORDER BY ordinal_position"
        ),
        {"t": table},
    )
    return [name for name in rows.scalars() if name not in HIDDEN]


def upgrade() -> None:
    op.execute(f"""
        DO $$ BEGIN
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{TAP_READER}') THEN
            CREATE ROLE {TAP_READER} NOLOGIN;
          END IF;
        END $$""")
    op.execute(
        f"COMMENT ON ROLE {TAP_READER} IS 'The role ADQL runs as: the published views, "
        "ivoa.obscore and TAP_SCHEMA, nothing else'"
    )
    op.execute(f"GRANT {TAP_READER} TO {READER}")
    op.execute(f"CREATE SCHEMA {SCHEMA}")
    op.execute(
        f"COMMENT ON SCHEMA {SCHEMA} IS 'What TAP publishes as hlsp.*: the hlsp tables "
        "without withdrawn products and their rows'"
    )
    for table, rows in VIEWS.items():
        columns = ", ".join(f't."{name}"' for name in _columns(table))
        where = f" WHERE {rows}" if rows else ""
        op.execute(
            f"CREATE VIEW {SCHEMA}.{table} AS SELECT {columns} FROM hlsp.{table} AS t{where}"
        )
        served = (
            "without withdrawn products"
            if table == "product"
            else ("without the rows of withdrawn products" if rows else "all rows")
        )
        op.execute(
            f"COMMENT ON VIEW {SCHEMA}.{table} IS 'hlsp.{table} as TAP serves it ({served})'"
        )
    op.execute(f"GRANT USAGE ON SCHEMA {SCHEMA}, ivoa TO {TAP_READER}")
    op.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {SCHEMA} TO {TAP_READER}")
    op.execute(f"GRANT SELECT ON ivoa.obscore TO {TAP_READER}")


def downgrade() -> None:
    op.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
    # Every privilege the role holds in this database (views, ivoa, TAP_SCHEMA's grants).
    op.execute(f"DROP OWNED BY {TAP_READER}")
    # Roles are global to the server: keep it while another database still grants it anything.
    op.execute(f"""
        DO $$ BEGIN
          DROP ROLE IF EXISTS {TAP_READER};
        EXCEPTION WHEN dependent_objects_still_exist THEN
          RAISE NOTICE 'role {TAP_READER} kept: other databases use it';
        END $$""")
