"""VO metadata declared once on the model: description, VOUnit, UCD1+, utype.

A column is declared with :func:`vo_column`, which stores a :class:`ColumnMeta` in the
SQLAlchemy column's ``info`` and puts the description into the DDL as a column comment.
TAP_SCHEMA, the VOSI tables document, VOTable FIELDs and GraphQL descriptions are all
generated from this one declaration.

Names are checked here too: every table and column name must be a regular ADQL identifier
and never an SQL-92, ADQL 2.1 or PostgreSQL reserved word, so users never need quotes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import mapped_column

# SQL-92 reserved words, as ADQL 2.1 §2.1.3 lists them.
SQL92_RESERVED = frozenset(
    """
    ABSOLUTE ACTION ADD ALL ALLOCATE ALTER AND ANY ARE AS ASC ASSERTION AT AUTHORIZATION AVG
    BEGIN BETWEEN BIT BIT_LENGTH BOTH BY CASCADE CASCADED CASE CAST CATALOG CHAR CHARACTER
    CHARACTER_LENGTH CHAR_LENGTH CHECK CLOSE COALESCE COLLATE COLLATION COLUMN COMMIT CONNECT
    CONNECTION CONSTRAINT CONSTRAINTS CONTINUE CONVERT CORRESPONDING COUNT CREATE CROSS CURRENT
    CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER CURSOR DATE DAY DEALLOCATE DEC
    DECIMAL DECLARE DEFAULT DEFERRABLE DEFERRED DELETE DESC DESCRIBE DESCRIPTOR DIAGNOSTICS
    DISCONNECT DISTINCT DOMAIN DOUBLE DROP ELSE END END-EXEC ESCAPE EXCEPT EXCEPTION EXEC
    EXECUTE EXISTS EXTERNAL EXTRACT FALSE FETCH FIRST FLOAT FOR FOREIGN FOUND FROM FULL GET
    GLOBAL GO GOTO GRANT GROUP HAVING HOUR IDENTITY IMMEDIATE IN INDICATOR INITIALLY INNER
    INPUT INSENSITIVE INSERT INT INTEGER INTERSECT INTERVAL INTO IS ISOLATION JOIN KEY LANGUAGE
    LAST LEADING LEFT LEVEL LIKE LOCAL LOWER MATCH MAX MIN MINUTE MODULE MONTH NAMES NATIONAL
    NATURAL NCHAR NEXT NO NOT NULL NULLIF NUMERIC OCTET_LENGTH OF ON ONLY OPEN OPTION OR ORDER
    OUTER OUTPUT OVERLAPS PAD PARTIAL POSITION PRECISION PREPARE PRESERVE PRIMARY PRIOR
    PRIVILEGES PROCEDURE PUBLIC READ REAL REFERENCES RELATIVE RESTRICT REVOKE RIGHT ROLLBACK
    ROWS SCHEMA SCROLL SECOND SECTION SELECT SESSION SESSION_USER SET SIZE SMALLINT SOME SPACE
    SQL SQLCODE SQLERROR SQLSTATE SUBSTRING SUM SYSTEM_USER TABLE TEMPORARY THEN TIME TIMESTAMP
    TIMEZONE_HOUR TIMEZONE_MINUTE TO TRAILING TRANSACTION TRANSLATE TRANSLATION TRIM TRUE UNION
    UNIQUE UNKNOWN UPDATE UPPER USAGE USER USING VALUE VALUES VARCHAR VARYING VIEW WHEN
    WHENEVER WHERE WITH WORK WRITE YEAR ZONE
    """.split()  # noqa: SIM905 - a word list reads best as words
)

# ADQL 2.1 §2.1.4 reserved words (functions, geometry, TOP/OFFSET, ILIKE, IN_UNIT...).
ADQL_RESERVED = frozenset(
    """
    ABS ACOS ASIN ATAN ATAN2 CEILING COS COT DEGREES EXP FLOOR LOG LOG10 MOD PI POWER RADIANS
    RAND ROUND SIN SQRT TAN TRUNCATE AREA BOX CENTROID CIRCLE CONTAINS COORD1 COORD2 COORDSYS
    DISTANCE INTERSECTS POINT POLYGON REGION TOP OFFSET ILIKE IN_UNIT BIT_AND BIT_OR BIT_XOR
    BIT_NOT GEOMETRY
    """.split()  # noqa: SIM905 - a word list reads best as words
)

# PostgreSQL's reserved key words (appendix C), which would need quoting in generated SQL.
POSTGRES_RESERVED = frozenset(
    """
    ANALYSE ANALYZE ARRAY ASYMMETRIC BINARY CONCURRENTLY CURRENT_CATALOG CURRENT_ROLE
    CURRENT_SCHEMA DO FETCH FREEZE ILIKE ISNULL LATERAL LIMIT LOCALTIME LOCALTIMESTAMP NOTNULL
    OVERLAPS PLACING RETURNING SIMILAR SYMMETRIC TABLESAMPLE VARIADIC VERBOSE WINDOW
    """.split()  # noqa: SIM905 - a word list reads best as words
)

RESERVED_WORDS = SQL92_RESERVED | ADQL_RESERVED | POSTGRES_RESERVED
_REGULAR_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")


def name_problem(name: str) -> str | None:
    """Why ``name`` would need quoting in ADQL or SQL, or None if it is a safe identifier."""
    if not _REGULAR_IDENTIFIER.match(name):
        return "is not a lower-case regular ADQL identifier ([a-z][a-z0-9_]*)"
    if name.upper() in RESERVED_WORDS:
        return "is a reserved word in SQL-92, ADQL 2.1 or PostgreSQL"
    return None


@dataclass(frozen=True)
class ColumnMeta:
    """VO metadata of one column.

    ``published``: visible to TAP and GraphQL (internal columns such as tsvectors are not).
    ``principal``: shown by default in clients (TAP_SCHEMA.columns.principal).
    ``std``: defined by a standard data model (ObsCore), TAP_SCHEMA.columns.std.
    ``xtype``: DALI xtype when the SQL type does not imply one (e.g. STC-S ``adql:REGION``).
    """

    description: str
    unit: str | None = None
    ucd: str | None = None
    utype: str | None = None
    principal: bool = False
    std: bool = False
    published: bool = True
    xtype: str | None = None


@dataclass(frozen=True)
class TableMeta:
    """VO metadata of one table or view."""

    description: str
    published: bool = True
    utype: str | None = None


def vo_column(
    type_: Any,
    *args: Any,
    description: str,
    unit: str | None = None,
    ucd: str | None = None,
    utype: str | None = None,
    principal: bool = False,
    std: bool = False,
    published: bool = True,
    xtype: str | None = None,
    **kwargs: Any,
) -> Any:
    """``mapped_column`` with its VO metadata: the one place a column is described."""
    meta = ColumnMeta(description, unit, ucd, utype, principal, std, published, xtype)
    return mapped_column(type_, *args, comment=description, info={"vo": meta}, **kwargs)


def plain_column(
    name: str,
    type_: Any,
    *args: Any,
    description: str,
    unit: str | None = None,
    ucd: str | None = None,
    utype: str | None = None,
    principal: bool = False,
    std: bool = False,
    published: bool = True,
    xtype: str | None = None,
    **kwargs: Any,
) -> sa.Column[Any]:
    """A Core column (association tables, view definitions) with the same metadata."""
    meta = ColumnMeta(description, unit, ucd, utype, principal, std, published, xtype)
    return sa.Column(name, type_, *args, comment=description, info={"vo": meta}, **kwargs)


def column_meta(column: sa.Column[Any]) -> ColumnMeta | None:
    meta = column.info.get("vo")
    return meta if isinstance(meta, ColumnMeta) else None


def table_meta(table: sa.Table) -> TableMeta | None:
    meta = table.info.get("vo")
    return meta if isinstance(meta, TableMeta) else None
