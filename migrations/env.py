"""Alembic environment: runs on the connection ``catalog.db`` hands over (or a URL)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from catalog.model import Base

config = context.config
target_metadata = Base.metadata


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    # Only our schema is managed through autogenerate; views and functions are hand-written.
    if type_ == "table":
        return obj.schema == "hlsp"
    return True


def run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_schemas=True,
        include_object=include_object,
        version_table_schema="public",
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    engine = sa.create_engine(
        config.get_main_option("sqlalchemy.url") or "", poolclass=sa.pool.NullPool
    )
    with engine.begin() as conn:
        run(conn)
