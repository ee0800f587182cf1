"""Running one TAP query: parameters → ADQL translation → uploads → PostgreSQL → output bytes.

Shared by ``/sync`` and the async workers. The query runs in one transaction on a pooled
connection of the query engine:

1. uploaded tables are created as ``TEMPORARY … ON COMMIT DROP`` tables, loaded with COPY
   and granted to the reader role (temporary tables are the one thing written);
2. ``SET TRANSACTION READ ONLY``, ``SET LOCAL ROLE <reader>``, ``SET LOCAL
   statement_timeout``: from here on, the translated statement (one SELECT over published
   tables and allowed functions only, see :mod:`tap.adql`) can read and nothing more;
3. the result streams from a server-side cursor into the output format; the transaction is
   rolled back at the end, which also drops the uploads.

The statement is started (and its first rows fetched) before the first byte is returned, so
errors the database raises up front become error documents, not broken streams.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg import sql as psql

from tap.adql import translate
from tap.config import TapConfig
from tap.errors import QueryError, QueryTimeout, TapError
from tap.metadata import Schema, Table, TapMetadata
from tap.params import Params, query_request
from tap.upload import create_upload_table, read_upload, upload_bytes
from tap.votable.document import Info
from tap.votable.formats import resolve_format
from tap.votable.stream import query_result

log = logging.getLogger(__name__)

UPLOAD_SCHEMA = Schema("TAP_UPLOAD", "Tables uploaded with the query (TAP 1.1 §2.7.6)")


@dataclass(frozen=True)
class QueryOutput:
    """A started query: the Content-Type to answer with and the document's bytes."""

    media_type: str
    chunks: Iterator[bytes]


def _database_message(exc: psycopg.Error) -> str:
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) or str(exc).strip().splitlines()[0]
    hint = getattr(diag, "message_hint", None)
    return f"the database could not run the query: {primary}" + (f" ({hint})" if hint else "")


class QueryRunner:
    """Runs ADQL over ``metadata`` with ``engine`` under ``config``'s limits and role."""

    def __init__(self, metadata: TapMetadata, engine: sa.Engine, config: TapConfig) -> None:
        self.metadata = metadata
        self.engine = engine
        self.config = config

    def run(self, params: Params, parts: Mapping[str, bytes], *, timeout: int) -> QueryOutput:
        """Validate, translate and start the query; raise :class:`TapError` for user errors."""
        request = query_request(params, self.config)
        output = resolve_format(request.response_format)
        uploads = [
            (spec.name, read_upload(
                upload_bytes(spec, parts, max_bytes=self.config.upload_bytes),
                max_bytes=self.config.upload_bytes, max_rows=self.config.upload_rows,
            ))
            for spec in request.uploads
        ]  # fmt: skip
        upload_tables = [
            Table("TAP_UPLOAD", name, "Uploaded table", table.columns,
                  sql_name=f"pg_temp.{_temp_name(name)}")
            for name, table in uploads
        ]  # fmt: skip
        metadata = (
            self.metadata.with_tables((UPLOAD_SCHEMA,), upload_tables) if uploads
            else self.metadata
        )  # fmt: skip
        translation = translate(request.query, metadata, row_limit=request.maxrec + 1)
        infos = [
            Info("standardID", "ivo://ivoa.net/std/TAP"),
            Info("request_date", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")),
            Info("QUERY", "ADQL", request.query),
            Info("SQL", "PostgreSQL", translation.sql),
            Info("MAXREC", str(request.maxrec)),
        ]
        if request.maxrec == 0:  # metadata only: nothing to execute (DALI §3.4.4)
            chunks = query_result(None, translation.sql, translation.columns,  # type: ignore[arg-type]
                                  output, infos=infos, maxrec=0)  # fmt: skip
            return QueryOutput(output.mime, chunks)
        raw = self.engine.raw_connection()
        try:
            conn: psycopg.Connection[Any] = raw.driver_connection  # type: ignore[assignment]
            self._begin(conn, uploads, timeout)
            chunks = query_result(conn, translation.sql, translation.columns, output,
                                  infos=infos, maxrec=request.maxrec)  # fmt: skip
        except psycopg.errors.QueryCanceled:
            raw.close()
            raise QueryTimeout(
                f"the query was stopped after {timeout} s, the execution time limit; add "
                "constraints (a smaller region, TOP) or run it asynchronously"
            ) from None
        except psycopg.Error as exc:
            raw.close()
            raise QueryError(_database_message(exc)) from None
        except BaseException:
            raw.close()
            raise
        return QueryOutput(output.mime, _closing(chunks, raw, timeout))

    def _begin(self, conn: psycopg.Connection[Any], uploads: list[tuple[str, Any]],
               timeout: int) -> None:  # fmt: skip
        conn.rollback()
        role = self.config.reader_role
        with conn.cursor() as cur:
            if uploads:
                cur.execute("SET TRANSACTION READ WRITE")
                for name, table in uploads:
                    created = create_upload_table(conn, _temp_name(name), table)
                    if role:
                        cur.execute(psql.SQL("GRANT SELECT ON {} TO {}").format(
                            psql.Identifier("pg_temp", created), psql.Identifier(role)))  # fmt: skip
            cur.execute("SET TRANSACTION READ ONLY")
            if role:
                cur.execute(psql.SQL("SET LOCAL ROLE {}").format(psql.Identifier(role)))
            cur.execute(psql.SQL("SET LOCAL statement_timeout = {}").format(
                psql.Literal(f"{max(1, int(timeout))}s")))  # fmt: skip


def _temp_name(upload_name: str) -> str:
    return f"tap_upload_{upload_name.lower()}"


def _closing(chunks: Iterator[bytes], raw: Any, timeout: int) -> Iterator[bytes]:
    """Yield the document, then end the transaction and give the connection back."""
    try:
        yield from chunks
    finally:
        try:
            raw.driver_connection.rollback()
        except psycopg.Error:
            log.warning("rolling back a finished TAP query failed", exc_info=True)
        raw.close()


__all__ = ["QueryOutput", "QueryRunner", "TapError"]
