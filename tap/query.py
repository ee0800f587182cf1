"""Running one TAP query: parameters → ADQL translation → uploads → PostgreSQL → output bytes.

Shared by ``/sync`` and the async workers. The query runs in one transaction:

1. uploaded tables are created as ``TEMPORARY … ON COMMIT DROP`` tables, loaded with COPY
   and granted to the reader role (temporary tables are the one thing written);
2. ``SET TRANSACTION READ ONLY``, ``SET LOCAL ROLE <reader>`` and (sync) ``SET LOCAL
   statement_timeout``: from here on the translated statement (one SELECT over published
   tables and allowed functions only, see :mod:`tap.adql`) can read and nothing more;
3. the result streams from a server-side cursor into the output format; the transaction is
   rolled back at the end, which also drops the uploads.

The statement is started (and its first rows fetched) before the first byte is returned, so
errors the database raises up front become error documents, not broken streams.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg import sql as psql

from tap.adql import Translation, translate
from tap.config import TapConfig
from tap.errors import QueryError, QueryTimeout, Unavailable
from tap.metadata import Column, Schema, Table, TapMetadata
from tap.params import Params, query_request
from tap.upload import UploadedTable, create_upload_table, read_uploads
from tap.upload.load import upload_sql_name
from tap.uws import ResultInfo, ResultSink, RunningJob
from tap.votable.document import Info, Resource
from tap.votable.formats import OutputFormat, resolve_format
from tap.votable.stream import query_result
from tap.votable.xmltext import xml_ids

log = logging.getLogger(__name__)

# Longer than any wait of a healthy query transaction between two statements (a spool that
# waits for its client gives up after TapConfig.spool_hold, 30 s by default).
IDLE_IN_TRANSACTION_MS = 120_000

UPLOAD_SCHEMA = Schema("TAP_UPLOAD", "Tables uploaded with the query (TAP 1.1 §2.7.6)")


# The host's resources for a result (e.g. a DataLink service descriptor, DataLink 1.1 §4):
# (result columns, their FIELD IDs, the request's context) -> RESOURCE elements as XML text.
ResultResources = Callable[[Sequence[Column], Sequence[str], Mapping[str, str]], Sequence[str]]


@dataclass(frozen=True)
class PreparedQuery:
    """A validated, translated query with its uploads read: ready to run. ``context``: the
    host's transaction settings for this request (``set_config(name, value, true)``)."""

    translation: Translation
    output: OutputFormat
    uploads: tuple[tuple[str, UploadedTable], ...]
    infos: tuple[Info | Resource, ...]
    maxrec: int
    context: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class QueryOutput:
    """A started query: the Content-Type to answer with and the document's bytes."""

    media_type: str
    chunks: Iterator[bytes]


def _database_error(exc: psycopg.Error, timeout: float | None) -> QueryError | Unavailable:
    if isinstance(exc, psycopg.errors.QueryCanceled):
        limit = f" after {timeout:.0f} s, the execution time limit" if timeout else ""
        return QueryTimeout(
            f"the query was stopped{limit}; add constraints (a smaller region, TOP) or run it "
            "asynchronously with a longer EXECUTIONDURATION"
        )
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        log.warning("TAP: the database failed under a query: %s", exc)
        return Unavailable("the database is not available; try again later")
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) or str(exc).strip().splitlines()[0]
    hint = getattr(diag, "message_hint", None)
    return QueryError(
        f"the database could not run the query: {primary}" + (f" ({hint})" if hint else "")
    )


class QueryRunner:
    """Runs ADQL over ``metadata`` with ``engine`` under ``config``'s limits and role."""

    def __init__(
        self,
        metadata: TapMetadata,
        engine: sa.Engine,
        config: TapConfig,
        *,
        resources: ResultResources | None = None,
    ) -> None:
        self.metadata = metadata
        self.engine = engine
        self.config = config
        self.resources = resources

    def prepare(
        self,
        params: Params,
        parts: Mapping[str, bytes],
        context: Mapping[str, str] | None = None,
    ) -> PreparedQuery:
        """Validate the parameters, read the uploads, translate: TapError on user errors."""
        request = query_request(params, self.config)
        output = resolve_format(request.response_format)
        uploads = read_uploads(request.uploads, parts, self.config)
        metadata = self.metadata
        if uploads:
            tables = [
                Table(
                    "TAP_UPLOAD",
                    name,
                    "Table uploaded with the query",
                    table.columns,
                    sql_name=f"pg_temp.{upload_sql_name(name)}",
                )
                for name, table in uploads
            ]
            metadata = metadata.with_tables((UPLOAD_SCHEMA,), tables)
        translation = translate(request.query, metadata, row_limit=request.maxrec + 1)
        context = dict(context or {})
        infos: tuple[Info | Resource, ...] = (
            Info("standardID", "ivo://ivoa.net/std/TAP"),
            Info("request_date", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")),
            Info("QUERY", "ADQL", request.query),
            Info("SQL", "PostgreSQL", translation.sql),
        )
        if self.resources is not None and output.is_votable:
            columns = translation.columns
            ids = xml_ids([c.name for c in columns])
            infos += tuple(Resource(x) for x in self.resources(columns, ids, context))
        return PreparedQuery(translation, output, uploads, infos, request.maxrec, context)

    def start(
        self, prepared: PreparedQuery, conn: psycopg.Connection[Any], *, timeout: float | None
    ) -> Iterator[bytes]:
        """Set up the transaction ``conn`` is in (nothing may have written in it yet) and
        start the query; ``timeout`` None leaves the statement timeout as it is."""
        role = self.config.reader_role
        with conn.cursor() as cur:
            for name, table in prepared.uploads:
                created = create_upload_table(conn, name, table)
                if role:
                    cur.execute(
                        psql.SQL("GRANT SELECT ON {} TO {}").format(
                            psql.Identifier("pg_temp", created), psql.Identifier(role)
                        )
                    )
            # One round trip: read only, the reader role, the statement timeout, and the
            # database's own net under the service's bounds (a transaction left idle, its
            # client or thread gone, ends by itself).
            settings: list[psql.Composable] = [psql.SQL("SET TRANSACTION READ ONLY")]
            if role:
                settings.append(psql.SQL("SET LOCAL ROLE {}").format(psql.Identifier(role)))
            if timeout is not None:
                ms = max(1, int(timeout * 1000))
                settings.append(
                    psql.SQL("SET LOCAL statement_timeout = {}").format(psql.Literal(str(ms)))
                )
            settings.append(
                psql.SQL("SET LOCAL idle_in_transaction_session_timeout = {}").format(
                    psql.Literal(str(IDLE_IN_TRANSACTION_MS))
                )
            )
            # The host's settings for this request (values as literals, never as SQL text).
            settings.extend(
                psql.SQL("SELECT set_config({}, {}, true)").format(
                    psql.Literal(name), psql.Literal(value)
                )
                for name, value in prepared.context.items()
            )
            cur.execute(psql.SQL("; ").join(settings))
        t = prepared.translation
        return query_result(
            conn, t.sql, t.columns, prepared.output, infos=prepared.infos, maxrec=prepared.maxrec
        )

    def run_sync(
        self,
        params: Params,
        parts: Mapping[str, bytes],
        *,
        timeout: float,
        on_connect: Callable[[psycopg.Connection[Any]], None] | None = None,
        context: Mapping[str, str] | None = None,
    ) -> QueryOutput:
        """Prepare and start a synchronous query; ``on_connect`` is told the connection it
        runs on (so that another thread can cancel its statement)."""
        prepared = self.prepare(params, parts, context)
        media_type = prepared.output.mime
        if prepared.maxrec == 0:  # metadata only: nothing to execute (DALI §3.4.4)
            t = prepared.translation
            chunks = query_result(
                None,  # type: ignore[arg-type]
                t.sql,
                t.columns,
                prepared.output,
                infos=prepared.infos,
                maxrec=0,
            )
            return QueryOutput(media_type, chunks)
        try:
            raw = self.engine.raw_connection()
        except (sa.exc.OperationalError, sa.exc.TimeoutError, psycopg.OperationalError) as exc:
            # (raw_connection() lets the driver's own errors through, unwrapped)
            log.warning("TAP: no database connection for a query: %s", exc)
            raise Unavailable("the database is not available; try again later") from None
        try:
            conn: psycopg.Connection[Any] = raw.driver_connection  # type: ignore[assignment]
            if on_connect is not None:
                on_connect(conn)
            conn.rollback()
            if prepared.uploads:
                conn.execute("SET TRANSACTION READ WRITE")
            chunks = self.start(prepared, conn, timeout=timeout)
        except psycopg.Error as exc:
            raw.close()
            raise _database_error(exc, timeout) from None
        except BaseException:
            raw.close()
            raise
        return QueryOutput(media_type, _closing(chunks, raw))

    def execute_job(self, job: RunningJob, sink: ResultSink) -> ResultInfo:
        """The UWS executor: run an async job's query and write the document to ``sink``."""
        params = Params.from_mapping(job.job.parameters)
        parts = {name: b"".join(job.upload(name)) for name in job.job.inputs}
        prepared = self.prepare(params, parts, job.job.context)
        with job.connect(read_write=bool(prepared.uploads)) as connection:
            conn: psycopg.Connection[Any] = connection.connection.driver_connection  # type: ignore[assignment]
            try:
                for chunk in self.start(prepared, conn, timeout=None):
                    sink.write(chunk)
            except psycopg.Error as exc:
                raise _database_error(exc, job.remaining_seconds) from None
        return ResultInfo(prepared.output.mime)


def _closing(chunks: Iterator[bytes], raw: Any) -> Iterator[bytes]:
    """Yield the document, then end the transaction and give the connection back."""
    try:
        yield from chunks
    finally:
        try:
            raw.driver_connection.rollback()
        except psycopg.Error:
            log.warning("rolling back a finished TAP query failed", exc_info=True)
        raw.close()
