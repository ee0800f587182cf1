"""What the catalog publishes over TAP: ``hlsp.*`` and ``ivoa.ObsCore`` as :mod:`tap.metadata`.

Built from the one declaration on the model (:func:`catalog.vo.vo_column`): only published
tables and columns, their descriptions, units, UCDs, utypes, principal/std flags and xtypes,
the PostgreSQL type of each column (mapped to its VOTable type), whether an index helps
constraints on it, and the foreign keys between published tables (plus
``ivoa.ObsCore.product_id`` → ``hlsp.product``, so ObsCore rows join provenance and targets).

TAP names the tables ``hlsp.*``; ADQL reads them through the views of the same names in
:data:`PUBLISHED_SCHEMA` (migration 0006), which leave withdrawn products and their rows out.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from catalog.model import Base
from catalog.obscore import obscore
from catalog.vo import column_meta, table_meta
from tap import Column, ForeignKey, Schema, Table, TapMetadata, votable_type

OBSCORE_TAP_NAME = "ivoa.ObsCore"
# Views over the hlsp tables without withdrawn products, the only hlsp relations TAP reads.
PUBLISHED_SCHEMA = "hlsp_published"

SCHEMAS = (
    Schema(
        "hlsp",
        "The HLSP catalog: collections, products (files), targets, provenance and "
        "the findings of the guideline check.",
    ),
    Schema("ivoa", "IVOA standard views: ObsCore 1.1 over the HLSP products."),
)

_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]


def _sql_type(column: sa.Column[Any]) -> str:
    return str(column.type.compile(dialect=_DIALECT)).lower()


def _indexed(table: sa.Table) -> set[str]:
    """Columns that lead an index (or the primary key, or a unique constraint)."""
    names: set[str] = set()
    for index in table.indexes:
        columns = list(index.columns)
        if columns:
            names.add(columns[0].name)
    if table.primary_key.columns:
        names.add(next(iter(table.primary_key.columns)).name)
    for constraint in table.constraints:
        if isinstance(constraint, sa.UniqueConstraint) and constraint.columns:
            names.add(next(iter(constraint.columns)).name)
    names.update(c.name for c in table.columns if c.unique or c.index)
    return names


# Columns of the ObsCore view that answer from indexes of hlsp.product.
# (s_ra, s_dec and s_region also through the hidden pos/footprint_bound columns the translator
# uses; access_estsize through the index on its expression, migration 0008)
_OBSCORE_INDEXED = frozenset(
    {"obs_id", "t_min", "em_min", "product_id", "s_ra", "s_dec", "s_region", "access_estsize"}
)
# POINT(s_ra, s_dec) is the stored spoint ``pos`` (GiST-indexed) in these relations.
_POINTS = (("s_ra", "s_dec", "pos"),)


# Regions served as STC-S text whose pg_sphere form (GiST-indexed) sits in a hidden column.
_GEOMETRY_SQL = {("obscore", "s_region"): "footprint"}
# Regions whose values a circle in a hidden, GiST-indexed column holds (hlsp.product's
# index is on the circle: pg_sphere indexes circles ~15 times faster than polygons).
_BOUND_SQL = {
    ("obscore", "s_region"): "footprint_bound",
    ("product", "footprint"): "footprint_bound",
}


def _columns(table: sa.Table, indexed: set[str] | frozenset[str]) -> tuple[Column, ...]:
    columns = []
    for column in table.columns:
        meta = column_meta(column)
        if meta is None or not meta.published:
            continue
        sql_type = _sql_type(column)
        arraysize: str | None
        xtype: str | None
        if meta.xtype == "adql:REGION":  # STC-S text: char, not the polygon array of spoly
            datatype, arraysize, xtype = "char", "*", meta.xtype
        else:
            datatype, arraysize, xtype = votable_type(sql_type)
            xtype = meta.xtype or xtype
        columns.append(
            Column(
                name=column.name,
                sql_type=sql_type,
                datatype=datatype,
                arraysize=arraysize,
                xtype=xtype,
                description=meta.description,
                unit=meta.unit,
                ucd=meta.ucd,
                utype=meta.utype,
                principal=meta.principal,
                std=meta.std,
                indexed=column.name in indexed or (table.name, column.name) in _BOUND_SQL,
                nullable=bool(column.nullable),
                sql_geometry=_GEOMETRY_SQL.get((table.name, column.name)),
                sql_bound=_BOUND_SQL.get((table.name, column.name)),
            )
        )
    return tuple(columns)


def _model_tables() -> list[sa.Table]:
    return [t for t in Base.metadata.sorted_tables if (m := table_meta(t)) and m.published]


@cache
def published_metadata() -> TapMetadata:
    """The catalog's published tables, in a stable order (hlsp tables, then ObsCore)."""
    tables: list[Table] = []
    keys: list[ForeignKey] = []
    published = {t.name for t in _model_tables()}
    for table in sorted(_model_tables(), key=lambda t: t.name):
        meta = table_meta(table)
        assert meta is not None
        tables.append(
            Table(
                schema="hlsp",
                name=table.name,
                description=meta.description,
                sql_name=f"{PUBLISHED_SCHEMA}.{table.name}",
                columns=_columns(table, _indexed(table)),
                utype=meta.utype,
                point_columns=_POINTS if "pos" in table.columns and "s_ra" in table.columns else (),
            )
        )
        for fk in sorted(table.foreign_key_constraints, key=lambda c: tuple(c.column_keys)):
            target = fk.referred_table.name
            if target not in published:
                continue
            pairs = tuple((e.parent.name, e.column.name) for e in fk.elements)
            keys.append(
                ForeignKey(
                    key_id=f"hlsp.{table.name}.{'_'.join(p[0] for p in pairs)}",
                    from_table=f"hlsp.{table.name}",
                    target_table=f"hlsp.{target}",
                    columns=pairs,
                    description=f"{table.name} rows reference their {target}",
                )
            )
    view_meta = table_meta(obscore)
    assert view_meta is not None
    tables.append(
        Table(
            schema="ivoa",
            name="obscore",
            tap_name=OBSCORE_TAP_NAME,
            table_type="view",
            description=view_meta.description,
            utype=view_meta.utype,
            columns=_columns(obscore, _OBSCORE_INDEXED),
            point_columns=_POINTS,
        )
    )
    keys.append(
        ForeignKey(
            key_id="ivoa.obscore.product_id",
            from_table=OBSCORE_TAP_NAME,
            target_table="hlsp.product",
            columns=(("product_id", "product_id"),),
            description="The hlsp.product row behind each ObsCore row",
        )
    )
    return TapMetadata(SCHEMAS, tuple(tables), tuple(keys))
