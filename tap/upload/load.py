"""An uploaded table in the database: a TEMPORARY table loaded with COPY.

No SQL is built from upload content: table and column names are sanitised and quoted as
identifiers (:mod:`psycopg.sql`), values travel through COPY. Geometry becomes pg_sphere
values (``spoint``/``scircle``/``spoly``) so uploads can be crossmatched, and the table
is ANALYZEd so the planner knows how small it is (autovacuum never sees temporary tables).

PostgreSQL refuses CREATE in a read-only transaction, temporary tables included, but
allows loading them: create the upload tables first, then ``SET TRANSACTION READ ONLY``
and run the query, all in one transaction. With ``on_commit_drop`` (the default) the
tables vanish with the transaction, as TAP wants (the upload lives for one query). The
database role needs the TEMPORARY privilege.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql

from tap.errors import UploadError
from tap.upload.reader import UploadedTable

_TABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def upload_sql_name(name: str) -> str:
    """The database name of upload ``name`` (``TAP_UPLOAD.name``)."""
    return f"tap_upload_{name.lower()}"


def _fmt(value: float) -> str:
    return repr(float(value))


def pg_sphere_text(kind: str, values: Sequence[float]) -> str:
    """pg_sphere input text for a DALI point/circle/polygon in degrees."""
    if kind == "point":
        return f"({_fmt(values[0])}d, {_fmt(values[1])}d)"
    if kind == "circle":
        return f"<({_fmt(values[0])}d, {_fmt(values[1])}d), {_fmt(values[2])}d>"
    pairs = (f"({_fmt(values[i])}d, {_fmt(values[i + 1])}d)" for i in range(0, len(values), 2))
    return "{" + ", ".join(pairs) + "}"


def create_upload_table(
    conn: psycopg.Connection[Any],
    name: str,
    uploaded: UploadedTable,
    *,
    on_commit_drop: bool = True,
) -> str:
    """Create and fill the temporary table for ``TAP_UPLOAD.<name>``; return its SQL name."""
    if not _TABLE_NAME.match(name):
        raise UploadError(
            f"Upload table name {name!r} is not an ADQL regular identifier; use letters, "
            "digits and underscores, starting with a letter."
        )
    table = upload_sql_name(name)
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(col), sql.SQL(field.sql_type))
        for col, field in zip(uploaded.sql_names, uploaded.fields, strict=True)
    )
    suffix = sql.SQL(" ON COMMIT DROP") if on_commit_drop else sql.SQL("")
    geometry = [
        (i, f.kind)
        for i, f in enumerate(uploaded.fields)
        if f.kind in ("point", "circle", "polygon")
    ]
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL("CREATE TEMPORARY TABLE {} ({}){}").format(
                sql.Identifier(table), columns, suffix
            )
        )
        copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, uploaded.sql_names))
        )
        try:
            with conn.transaction(), cur.copy(copy) as writer:
                for row in uploaded.rows:
                    if geometry:
                        values = list(row)
                        for i, kind in geometry:
                            if values[i] is not None:
                                values[i] = pg_sphere_text(kind, values[i])
                        writer.write_row(values)
                    else:
                        writer.write_row(row)
        except (psycopg.DataError, psycopg.errors.InternalError_) as exc:
            message = exc.diag.message_primary or str(exc)
            raise UploadError(
                f"Table {name}: the database refused a value ({message}); "
                "check the uploaded values (e.g. polygons must not cross themselves)."
            ) from None
        cur.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
    return table
