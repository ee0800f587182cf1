"""What a TAP service publishes: schemas, tables, columns and foreign keys.

The host application builds a :class:`TapMetadata` from its own declarations and hands it
to the service. Everything the service says about its tables comes from here: TAP_SCHEMA,
the VOSI tables document, VOTable FIELD metadata of results, and name resolution in ADQL.

Types are VOTable types (``datatype``, ``arraysize``, ``xtype``), as TAP 1.1 stores them in
``TAP_SCHEMA.columns``; ``sql_type`` keeps the PostgreSQL type the column has in the
database, which the ADQL translator needs (geometry columns are ``spoint``/``spoly``…).
:func:`votable_type` maps a PostgreSQL type to its VOTable triple (TAP 1.1 §4.3, DALI 1.1 §3.3).

Names: ``name`` is the name as ADQL users write it. A name that is not a regular ADQL
identifier, or is a reserved word, is stored delimited (``"size"``), as TAP 1.1 §4.3
requires; the host should avoid such names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

# VOTable primitive datatypes allowed in TAP_SCHEMA.columns.datatype (TAP 1.1 §4.3).
VOTABLE_DATATYPES = frozenset(
    [
        "boolean",
        "bit",
        "unsignedByte",
        "short",
        "int",
        "long",
        "char",
        "unicodeChar",
        "float",
        "double",
        "floatComplex",
        "doubleComplex",
    ]
)


class MetadataError(ValueError):
    """The host handed the service inconsistent metadata (a programming error)."""


@dataclass(frozen=True)
class Column:
    """One published column.

    ``sql_type``: the PostgreSQL type (``integer``, ``double precision``, ``text``,
    ``spoint``, ``spoly``, ``timestamp without time zone``, ``double precision[]``…).
    ``datatype``/``arraysize``/``xtype``: its VOTable type; see :func:`votable_type`.
    ``indexed``: an index helps constraints on this column (TAP_SCHEMA.columns.indexed).
    ``principal``: shown by default; ``std``: defined by a standard (ObsCore, TAP_SCHEMA).
    ``nullable``: whether NULL may occur (taplint checks ObsCore NOT NULL columns).
    ``sql_geometry``: for a region served as text (ObsCore ``s_region``, STC-S), the
    unpublished column of the same relation that holds it as a pg_sphere value; ADQL
    geometry functions (CONTAINS, INTERSECTS, AREA…) work on that one, with its index.
    ``sql_bound``: for a polygon or region column, an unpublished column of the same relation
    with a circle that holds each value (e.g. ``footprint_bound``): CONTAINS and INTERSECTS
    test it first, with its index.
    """

    name: str
    sql_type: str
    datatype: str
    description: str
    arraysize: str | None = None
    xtype: str | None = None
    unit: str | None = None
    ucd: str | None = None
    utype: str | None = None
    principal: bool = False
    std: bool = False
    indexed: bool = False
    nullable: bool = True
    # An unpublished column of the same relation holding this (REGION, STC-S text) column as a
    # pg_sphere geometry: ADQL geometry functions use it, and its GiST index, instead.
    sql_geometry: str | None = None
    # An unpublished column of the same relation holding a circle around this geometry (or
    # around its twin) that a GiST index serves: predicates that need the geometry to meet
    # another one test the circle first, so the index answers the region's own would not.
    sql_bound: str | None = None

    def __post_init__(self) -> None:
        if self.datatype not in VOTABLE_DATATYPES:
            raise MetadataError(f"column {self.name}: {self.datatype!r} is not a VOTable datatype")

    @property
    def size(self) -> int | None:
        """TAP_SCHEMA ``"size"``: the arraysize as an integer, ignoring ``*`` (TAP 1.1 §4.3)."""
        if self.arraysize is None or "x" in self.arraysize:
            return None
        digits = self.arraysize.rstrip("*")
        return int(digits) if digits else None


@dataclass(frozen=True)
class ForeignKey:
    """``from_table`` (columns) references ``target_table`` (columns), by qualified names."""

    key_id: str
    from_table: str
    target_table: str
    columns: tuple[tuple[str, str], ...]  # (from_column, target_column) pairs
    description: str | None = None
    utype: str | None = None


@dataclass(frozen=True)
class Table:
    """One published table or view.

    ``schema`` and ``name`` are the names users write (``ivoa``, ``obscore``); the TAP
    name is ``schema.name`` unless ``tap_name`` overrides its spelling (``ivoa.ObsCore``,
    which taplint and TOPCAT look for). ``sql_name`` is the relation queried in the
    database, ``schema.name`` unless given.
    """

    schema: str
    name: str
    description: str
    columns: tuple[Column, ...]
    table_type: str = "table"  # "table" or "view"
    utype: str | None = None
    tap_name: str | None = None
    sql_name: str | None = None
    # (longitude column, latitude column, unpublished spoint column): ADQL POINT(lon, lat) of
    # these two columns is translated to the spoint column, so its GiST index serves cones.
    point_columns: tuple[tuple[str, str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.table_type not in ("table", "view"):
            raise MetadataError(f"table {self.name}: table_type must be 'table' or 'view'")
        seen: set[str] = set()
        for column in self.columns:
            key = column.name.lower()
            if key in seen:
                raise MetadataError(f"table {self.qualified_name}: duplicate column {column.name}")
            seen.add(key)

    @property
    def qualified_name(self) -> str:
        return self.tap_name or f"{self.schema}.{self.name}"

    @property
    def relation(self) -> str:
        """The SQL relation name (schema-qualified), used when translating ADQL."""
        return self.sql_name or f"{self.schema}.{self.name}"

    def column(self, name: str) -> Column | None:
        """Case-insensitive lookup of a column by its (undelimited) name."""
        wanted = name.lower()
        for column in self.columns:
            if column.name.lower() == wanted:
                return column
        return None


@dataclass(frozen=True)
class Schema:
    """One published schema: its name, as ADQL writes it, and what it holds."""

    name: str
    description: str
    utype: str | None = None


@dataclass(frozen=True)
class TapMetadata:
    """All published schemas, tables and keys, in the order they should be listed."""

    schemas: tuple[Schema, ...]
    tables: tuple[Table, ...]
    keys: tuple[ForeignKey, ...] = ()
    _by_name: dict[str, Table] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        schema_names = {s.name.lower() for s in self.schemas}
        for table in self.tables:
            if table.schema.lower() not in schema_names:
                raise MetadataError(f"table {table.qualified_name}: schema {table.schema} unknown")
            key = table.qualified_name.lower()
            if key in self._by_name:
                raise MetadataError(f"duplicate table {table.qualified_name}")
            self._by_name[key] = table
        for fk in self.keys:
            for name in (fk.from_table, fk.target_table):
                if name.lower() not in self._by_name:
                    raise MetadataError(f"foreign key {fk.key_id}: table {name} unknown")

    def table(self, name: str, schema: str | None = None) -> Table | None:
        """Case-insensitive lookup: ``table("obscore", "ivoa")`` or ``table("ivoa.obscore")``.

        Without a schema, a bare table name matches when exactly one table has it.
        """
        if schema is not None:
            return self._by_name.get(f"{schema}.{name}".lower())
        found = self._by_name.get(name.lower())
        if found is not None:
            return found
        matches = [t for t in self.tables if t.name.lower() == name.lower()]
        return matches[0] if len(matches) == 1 else None

    def tables_in(self, schema: str) -> Iterator[Table]:
        return (t for t in self.tables if t.schema.lower() == schema.lower())

    def with_tables(
        self,
        extra_schemas: Iterable[Schema],
        extra: Iterable[Table],
        extra_keys: Iterable[ForeignKey] = (),
    ) -> TapMetadata:
        """A copy with more schemas/tables/keys appended (TAP_SCHEMA itself, uploads)."""
        return TapMetadata(
            self.schemas + tuple(extra_schemas),
            self.tables + tuple(extra),
            self.keys + tuple(extra_keys),
        )


_ARRAY = re.compile(r"^(?P<base>.+?)\s*\[\]$")
_LENGTH = re.compile(r"^(?P<base>[a-z ]+?)\s*\((?P<n>\d+)\)$")

_SCALARS: dict[str, tuple[str, str | None, str | None]] = {
    "smallint": ("short", None, None),
    "int2": ("short", None, None),
    "integer": ("int", None, None),
    "int": ("int", None, None),
    "int4": ("int", None, None),
    "bigint": ("long", None, None),
    "int8": ("long", None, None),
    "real": ("float", None, None),
    "float4": ("float", None, None),
    "double precision": ("double", None, None),
    "float8": ("double", None, None),
    "numeric": ("double", None, None),
    "boolean": ("boolean", None, None),
    "bool": ("boolean", None, None),
    "text": ("unicodeChar", "*", None),
    "character varying": ("unicodeChar", "*", None),
    "varchar": ("unicodeChar", "*", None),
    "bytea": ("unsignedByte", "*", None),
    "timestamp": ("char", "*", "timestamp"),
    "timestamp without time zone": ("char", "*", "timestamp"),
    "timestamp with time zone": ("char", "*", "timestamp"),
    "timestamptz": ("char", "*", "timestamp"),
    "date": ("char", "*", "timestamp"),
    "spoint": ("double", "2", "point"),
    "scircle": ("double", "3", "circle"),
    "spoly": ("double", "*", "polygon"),
    "sbox": ("double", "*", "polygon"),
}


def votable_type(sql_type: str) -> tuple[str, str | None, str | None]:
    """(datatype, arraysize, xtype) of a PostgreSQL type: VOTable datatypes as TAP 1.1 §4.3
    stores them, geometry and timestamps with the xtypes of DALI 1.1 §3.3.

    Text maps to ``unicodeChar`` so non-ASCII values survive BINARY serialisations.
    Unknown types raise :class:`MetadataError`: the host must declare them explicitly.
    """
    name = " ".join(sql_type.lower().split())
    array = _ARRAY.match(name)
    if array:
        datatype, _, xtype = votable_type(array.group("base"))
        if xtype is not None:
            raise MetadataError(f"arrays of {array.group('base')} are not supported")
        return datatype, "*", None
    sized = _LENGTH.match(name)
    if sized:
        base, n = sized.group("base").strip(), sized.group("n")
        if base in ("character varying", "varchar"):
            return "unicodeChar", f"{n}*", None
        if base in ("character", "char"):
            return "char", n, None
        raise MetadataError(f"unsupported PostgreSQL type {sql_type!r}")
    if name in ("character", "char"):
        return "char", "1", None
    try:
        return _SCALARS[name]
    except KeyError:
        raise MetadataError(f"unsupported PostgreSQL type {sql_type!r}") from None
