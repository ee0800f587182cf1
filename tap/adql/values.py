"""What the translator knows about a value: its kind, unit and (for columns) metadata.

Kinds: ``short int long float double boolean string timestamp point circle polygon region
array null``. Numeric kinds are ordered so arithmetic takes the widest; geometry kinds are
pg_sphere values inside the query (``region`` is STC-S text, e.g. ObsCore ``s_region``).
:func:`output_column` builds the :class:`~tap.metadata.Column` a result column gets.
"""

from __future__ import annotations

from dataclasses import replace

from tap.metadata import Column

NUMERIC_RANK = {"short": 1, "int": 2, "long": 3, "float": 4, "double": 5}
GEOMETRY = frozenset(["point", "circle", "polygon"])

_SQL_TYPE = {
    "short": "smallint",
    "int": "integer",
    "long": "bigint",
    "float": "real",
    "double": "double precision",
    "boolean": "boolean",
    "string": "text",
    "timestamp": "timestamp",
    "point": "double precision[]",
    "circle": "double precision[]",
    "polygon": "double precision[]",
    "region": "text",
    "null": "text",
    "array": "double precision[]",
}
_VOTABLE = {
    "short": ("short", None, None),
    "int": ("int", None, None),
    "long": ("long", None, None),
    "float": ("float", None, None),
    "double": ("double", None, None),
    "boolean": ("boolean", None, None),
    "string": ("unicodeChar", "*", None),
    "timestamp": ("char", "*", "timestamp"),
    "point": ("double", "2", "point"),
    "circle": ("double", "3", "circle"),
    "polygon": ("double", "*", "polygon"),
    "region": ("char", "*", "adql:REGION"),
    "null": ("char", "*", None),
    "array": ("double", "*", None),
}


class Value:
    """A translated expression: SQL text, kind, unit, and the column it is, if it is one."""

    __slots__ = ("bound", "column", "geometry", "kind", "sql", "unit")

    def __init__(
        self,
        sql: str,
        kind: str,
        unit: str | None = None,
        column: Column | None = None,
        geometry: str | None = None,
        *,
        bound: str | None = None,
    ) -> None:
        self.sql = sql
        self.kind = kind
        self.unit = unit
        self.column = column
        self.geometry = geometry  # for a REGION text column: SQL of its pg_sphere twin
        self.bound = bound  # for a region or polygon column: SQL of a circle holding it

    def __repr__(self) -> str:
        return f"Value({self.sql!r}, {self.kind})"


def column_kind(column: Column) -> str:  # noqa: PLR0911
    """The kind of a published column, from its PostgreSQL and VOTable types."""
    sql = column.sql_type.lower()
    if sql in ("spoint", "scircle", "spoly", "sbox"):
        return {"spoint": "point", "scircle": "circle", "spoly": "polygon", "sbox": "polygon"}[sql]
    if column.xtype == "adql:REGION" or (column.xtype or "").lower() == "adql:region":
        return "region"
    if column.xtype == "timestamp":
        return "timestamp"
    if column.datatype in ("char", "unicodeChar"):
        return "string"
    if column.arraysize is not None and column.datatype not in ("char", "unicodeChar"):
        return "array"
    if column.datatype in NUMERIC_RANK:
        return column.datatype
    if column.datatype == "boolean":
        return "boolean"
    if column.datatype in ("unsignedByte", "bit"):
        return "short" if column.arraysize is None else "array"
    return "string"


def wider(a: str, b: str) -> str:
    """The kind of arithmetic between two numeric kinds."""
    if a == "null":
        return b
    if b == "null":
        return a
    return a if NUMERIC_RANK.get(a, 5) >= NUMERIC_RANK.get(b, 5) else b


def output_column(name: str, value: Value) -> Column:
    """The metadata of one result column called ``name``."""
    if value.column is not None and value.kind == column_kind(value.column):
        source = value.column
        if value.kind in GEOMETRY:
            datatype, arraysize, xtype = _VOTABLE[value.kind]
            return replace(
                source,
                name=name,
                sql_type=_SQL_TYPE[value.kind],
                datatype=datatype,
                arraysize=arraysize,
                xtype=xtype,
            )
        return replace(source, name=name)
    datatype, arraysize, xtype = _VOTABLE[value.kind]
    return Column(
        name=name,
        sql_type=_SQL_TYPE[value.kind],
        datatype=datatype,
        description="",
        arraysize=arraysize,
        xtype=xtype,
        unit=value.unit,
    )
