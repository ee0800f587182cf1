"""GraphQL descriptions taken from the model's VO column metadata (``catalog.vo``).

A field's description is the column's description with its unit spelled out, so the text
in the schema and in GraphiQL is the one declared on the model, never retyped.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from catalog.vo import column_meta, table_meta

_UNIT_WORDS = {
    "deg": "degrees",
    "d": "days",
    "m": "metres",
    "s": "seconds",
    "arcsec": "arcseconds",
    "byte": "bytes",
    "kbyte": "kilobytes",
}


def describe(column: Any, note: str | None = None) -> str:
    """The description of a model column (an ORM attribute or a Core column), with its unit."""
    col: sa.Column[Any] = column.property.columns[0] if hasattr(column, "property") else column
    meta = column_meta(col)
    if meta is None:
        raise LookupError(f"column {col.table.name}.{col.name} has no VO metadata")
    text = meta.description.rstrip(".")
    if meta.unit:
        text += f". Unit: {_UNIT_WORDS.get(meta.unit, meta.unit)}"
    if note:
        text += f". {note}"
    return text + "."


def published_columns(table: sa.Table) -> list[sa.Column[Any]]:
    """The columns the read-only role may select (unpublished ones are internal)."""
    return [c for c in table.columns if (m := column_meta(c)) is not None and m.published]


def describe_table(model: Any) -> str:
    """The description of a model's table, as declared on the model."""
    meta = table_meta(model.__table__)
    if meta is None:
        raise LookupError(f"table {model.__tablename__} has no VO metadata")
    return meta.description
