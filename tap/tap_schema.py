"""TAP_SCHEMA: the service's self-description, generated from :class:`TapMetadata`.

The same metadata drives the VOSI tables document, so the two never disagree. TAP_SCHEMA
describes itself too (TAP 1.1 §4: its tables and columns are listed with ``std=1``, and the
foreign keys between them are declared). Types follow what taplint's TMS stage demands:
strings are ``unicodeChar *``; ``principal``, ``indexed``, ``std`` and ``"size"`` are
PostgreSQL ``integer`` (VOTable ``int``) holding 0/1; ``"size"`` is stored with its quotes
because SIZE is a reserved word.

:func:`install` (re)creates the ``tap_schema`` database schema and fills it, in the caller's
transaction, only when the content changed (a hash is kept in the schema's comment), and
grants the read-only role SELECT on it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from tap.metadata import Column, ForeignKey, Schema, Table, TapMetadata

SQL_SCHEMA = "tap_schema"
TAP_SCHEMA = Schema("TAP_SCHEMA", "Tables and columns published by this TAP service (TAP 1.1 §4)")


def _text(name: str, description: str, *, nullable: bool = True) -> Column:
    return Column(
        name,
        "text",
        "unicodeChar",
        description,
        arraysize="*",
        std=True,
        principal=True,
        nullable=nullable,
    )


def _int(name: str, description: str, *, nullable: bool = True) -> Column:
    return Column(name, "integer", "int", description, std=True, principal=True, nullable=nullable)


def _tap_table(name: str, description: str, *columns: Column) -> Table:
    return Table(
        "TAP_SCHEMA",
        name,
        description,
        columns,
        tap_name=f"TAP_SCHEMA.{name}",
        sql_name=f"{SQL_SCHEMA}.{name}",
    )


TAP_SCHEMA_TABLES = (
    _tap_table(
        "schemas",
        "Schemas published by this service",
        _text("schema_name", "Schema name, as used in queries", nullable=False),
        _text("utype", "Data-model type of the schema"),
        _text("description", "Description of the schema"),
        _int("schema_index", "Recommended display order of the schemas"),
    ),
    _tap_table(
        "tables",
        "Tables and views published by this service",
        _text("schema_name", "Schema the table belongs to", nullable=False),
        _text("table_name", "Table name, qualified, as used in queries", nullable=False),
        _text("table_type", "'table' or 'view'", nullable=False),
        _text("utype", "Data-model type of the table"),
        _text("description", "Description of the table"),
        _int("table_index", "Recommended display order of the tables"),
    ),
    _tap_table(
        "columns",
        "Columns of the published tables",
        _text("table_name", "Qualified name of the table", nullable=False),
        _text("column_name", "Column name, as used in queries", nullable=False),
        _text("datatype", "VOTable datatype of the column", nullable=False),
        _text("arraysize", "VOTable arraysize, or null for scalars"),
        _text("xtype", "DALI/VOTable extended type (timestamp, point, polygon, ...)"),
        _int('"size"', "Length of fixed or maximal-size arrays (deprecated: see arraysize)"),
        _text("description", "Description of the column"),
        _text("utype", "Data-model type of the column"),
        _text("unit", "VOUnit of the column values"),
        _text("ucd", "UCD1+ of the column"),
        _int("indexed", "1 if an index helps constraints on the column", nullable=False),
        _int("principal", "1 if the column is shown by default", nullable=False),
        _int("std", "1 if the column is defined by a standard", nullable=False),
        _int("column_index", "Recommended display order of the columns"),
    ),
    _tap_table(
        "keys",
        "Foreign keys between published tables",
        _text("key_id", "Unique identifier of the key", nullable=False),
        _text("from_table", "Table holding the foreign key", nullable=False),
        _text("target_table", "Table the key references", nullable=False),
        _text("description", "Description of the key"),
        _text("utype", "Data-model type of the key"),
    ),
    _tap_table(
        "key_columns",
        "Column pairs of the foreign keys",
        _text("key_id", "Key the pair belongs to", nullable=False),
        _text("from_column", "Column in the table holding the key", nullable=False),
        _text("target_column", "Column in the referenced table", nullable=False),
    ),
)

TAP_SCHEMA_KEYS = (
    ForeignKey("TAP_SCHEMA.tables.schema_name", "TAP_SCHEMA.tables", "TAP_SCHEMA.schemas",
               (("schema_name", "schema_name"),), "Schema of each table"),
    ForeignKey("TAP_SCHEMA.columns.table_name", "TAP_SCHEMA.columns", "TAP_SCHEMA.tables",
               (("table_name", "table_name"),), "Table of each column"),
    ForeignKey("TAP_SCHEMA.keys.from_table", "TAP_SCHEMA.keys", "TAP_SCHEMA.tables",
               (("from_table", "table_name"),), "Table holding each key"),
    ForeignKey("TAP_SCHEMA.keys.target_table", "TAP_SCHEMA.keys", "TAP_SCHEMA.tables",
               (("target_table", "table_name"),), "Table referenced by each key"),
    ForeignKey("TAP_SCHEMA.key_columns.key_id", "TAP_SCHEMA.key_columns", "TAP_SCHEMA.keys",
               (("key_id", "key_id"),), "Key of each column pair"),
)  # fmt: skip


def with_tap_schema(metadata: TapMetadata) -> TapMetadata:
    """The published metadata plus TAP_SCHEMA itself (what is described and queryable)."""
    return metadata.with_tables((TAP_SCHEMA,), TAP_SCHEMA_TABLES, TAP_SCHEMA_KEYS)


def rows(metadata: TapMetadata) -> dict[str, list[tuple[Any, ...]]]:
    """The rows of each TAP_SCHEMA table describing ``metadata`` (which should include
    TAP_SCHEMA itself: see :func:`with_tap_schema`)."""
    out: dict[str, list[tuple[Any, ...]]] = {t.name: [] for t in TAP_SCHEMA_TABLES}
    for i, schema in enumerate(metadata.schemas):
        out["schemas"].append((schema.name, schema.utype, schema.description, i))
    for i, table in enumerate(metadata.tables):
        out["tables"].append(
            (
                table.schema,
                table.qualified_name,
                table.table_type,
                table.utype,
                table.description,
                i,
            )
        )
        for j, c in enumerate(table.columns):
            out["columns"].append(
                (
                    table.qualified_name,
                    c.name,
                    c.datatype,
                    c.arraysize,
                    c.xtype,
                    c.size,
                    c.description,
                    c.utype,
                    c.unit,
                    c.ucd,
                    int(c.indexed),
                    int(c.principal),
                    int(c.std),
                    j,
                )
            )
    for key in metadata.keys:
        out["keys"].append(
            (key.key_id, key.from_table, key.target_table, key.description, key.utype)
        )
        for from_column, target_column in key.columns:
            out["key_columns"].append((key.key_id, from_column, target_column))
    return out


def _ddl(table: Table) -> str:
    columns = ", ".join(
        f"{c.name if c.name.startswith(chr(34)) else chr(34) + c.name + chr(34)} "
        f"{c.sql_type}{'' if c.nullable else ' NOT NULL'}"
        for c in table.columns
    )
    return f"CREATE TABLE {SQL_SCHEMA}.{table.name} ({columns})"


def _statements(reader_role: str | None) -> Iterator[str]:
    yield f"DROP SCHEMA IF EXISTS {SQL_SCHEMA} CASCADE"
    yield f"CREATE SCHEMA {SQL_SCHEMA}"
    for table in TAP_SCHEMA_TABLES:
        yield _ddl(table)
    if reader_role:
        yield f'GRANT USAGE ON SCHEMA {SQL_SCHEMA} TO "{reader_role}"'
        yield f'GRANT SELECT ON ALL TABLES IN SCHEMA {SQL_SCHEMA} TO "{reader_role}"'


def content_hash(metadata: TapMetadata) -> str:
    payload = json.dumps(rows(metadata), sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def install(conn: sa.Connection, metadata: TapMetadata, *, reader_role: str | None) -> bool:
    """Make ``tap_schema`` describe ``metadata`` (TAP_SCHEMA is added to it here).

    Runs in the caller's transaction; returns False when it was already current. The role
    name comes from configuration, never from a request.
    """
    full = with_tap_schema(metadata)
    digest = f"tap_schema {content_hash(full)} {reader_role or ''}"
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('tap_schema install'))"))
    current = conn.execute(
        sa.text("SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = :n"),
        {"n": SQL_SCHEMA},
    ).scalar()
    if current == digest:
        return False
    for statement in _statements(reader_role):
        conn.execute(sa.text(statement))
    for table in TAP_SCHEMA_TABLES:
        data = rows(full)[table.name]
        if not data:
            continue
        names = [f"c{i}" for i in range(len(table.columns))]
        columns = ", ".join(
            c.name if c.name.startswith('"') else f'"{c.name}"' for c in table.columns
        )
        values = ", ".join(f":{n}" for n in names)
        conn.execute(
            sa.text(f"INSERT INTO {SQL_SCHEMA}.{table.name} ({columns}) VALUES ({values})"),  # noqa: S608 - names are module constants
            [dict(zip(names, row, strict=True)) for row in data],
        )
    conn.execute(sa.text(f"COMMENT ON SCHEMA {SQL_SCHEMA} IS '{digest}'"))
    return True
