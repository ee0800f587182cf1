"""Query results from PostgreSQL to output bytes, with flat memory.

Rows come from a server-side (named) cursor inside a transaction, ``batch`` at a time, so
the process holds one batch whatever the result size. MAXREC is pushed into the query
(``LIMIT maxrec + 1``): the database stops early, and the extra row, when it exists, is
what tells the writer that the result overflowed.

The query is executed (and its first batch fetched) *before* the first byte is produced,
so that an error the database raises up front surfaces as an exception the service can
turn into an error document; a failure later, part-way through the rows, ends the VOTable
with a post-table ``QUERY_STATUS=ERROR`` INFO instead.

The service calls::

    chunks = query_result(conn, sql, columns, resolve_format(fmt), infos=…, maxrec=…)
    return StreamingResponse(chunks, media_type=fmt.mime)

BINARY and BINARY2 go through :mod:`tap.votable.fastpath` when every column's type allows
it (``fast=False`` forces the generic path, for comparison); there, when the rows come
from a server-side cursor, a thread reads the next batch while the previous one is encoded,
so the database and the encoder work at the same time. The connection belongs to the
returned iterator until it is exhausted or closed (closing it, as Starlette does when a
client goes away, ends the cursor and its savepoint).
"""

from __future__ import annotations

import contextlib
import itertools
import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

import psycopg

from tap.metadata import Column
from tap.votable import fastpath
from tap.votable.codecs import codecs_for
from tap.votable.document import Info, Resource
from tap.votable.formats import OutputFormat, resolve_format
from tap.votable.rowlimit import RowLimit
from tap.votable.serialize import binary_stream

BATCH = 5000
T = TypeVar("T")
_names = itertools.count()


def _limited(sql: str, maxrec: int | None) -> str:
    body = sql.strip().rstrip(";")
    if maxrec is None:
        return body
    return f"SELECT * FROM (\n{body}\n) AS tap_result LIMIT {int(maxrec) + 1}"  # noqa: S608


# PostgreSQL never runs the query of a cursor (DECLARE, or a portal fetched in parts) in
# parallel: an aggregate over 10^6 rows then takes 4x longer. A result that is bounded to few
# rows (by MAXREC), or that the planner expects to be small and whose bound keeps a wrong
# estimate affordable, is therefore fetched by a plain cursor from one execution (parallel
# plans allowed); anything else by a server-side cursor in batches (memory flat).
SMALL_RESULT_ROWS = 20_000
CLIENT_SIDE_BOUND = 200_000


def fetch_in_one(conn: psycopg.Connection[Any], sql: str, limit: int | None) -> bool:
    """Whether ``sql`` (at most ``limit`` rows) is fetched by a plain cursor."""
    if limit is not None and limit <= SMALL_RESULT_ROWS:
        return True
    if limit is None or limit > CLIENT_SIDE_BOUND:
        return False
    estimate = estimated_rows(conn, sql)
    return estimate is not None and estimate <= SMALL_RESULT_ROWS


def estimated_rows(conn: psycopg.Connection[Any], sql: str) -> float | None:
    """The planner's estimate of the rows ``sql`` returns (planned, not run)."""
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(f"EXPLAIN (FORMAT JSON) {sql}")
            row = cur.fetchone()
    except psycopg.Error:
        return None  # the query itself will report what is wrong
    try:
        return float(row[0][0]["Plan"]["Plan Rows"]) if row else None
    except (KeyError, IndexError, TypeError, ValueError):
        return None


class _Cursor:
    """The rows of ``sql`` in a transaction of their own (a savepoint inside the caller's),
    closeable: a plain cursor when ``small`` (one execution, rows held by the client), else a
    server-side cursor fetched in batches."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        sql: str,
        batch: int,
        binary: bool,
        small: bool = False,
    ) -> None:
        self._stack = contextlib.ExitStack()
        self._closed = False
        self.batch = batch
        try:
            self._stack.enter_context(conn.transaction())
            if small:
                plain: psycopg.Cursor[Any] = self._stack.enter_context(conn.cursor(binary=binary))
                self.cursor = plain
            else:
                name = f"tap_result_{next(_names)}"
                named = self._stack.enter_context(conn.cursor(name=name, binary=binary))
                named.itersize = batch
                self.cursor = named
            self.cursor.execute(sql)
            self.first = self.cursor.fetchmany(batch)
        except BaseException as exc:
            self.close(exc)
            raise

    def _fetch(self) -> list[Any]:
        return self.cursor.fetchmany(self.batch)

    def batches(self) -> Iterator[list[Any]]:
        try:
            rows = self.first
            self.first = []
            while rows:
                yield rows
                if len(rows) < self.batch:
                    break
                rows = self._fetch()
        except Exception as exc:
            self.close(exc)
            raise
        finally:
            self.close()

    def close(self, exc: BaseException | None = None) -> None:
        """End the cursor and its transaction: committed, or rolled back after ``exc``
        (so that a failed query leaves the caller's transaction usable)."""
        if self._closed:
            return
        self._closed = True
        if exc is None:
            self._stack.close()
        else:
            self._stack.__exit__(type(exc), exc, exc.__traceback__)


class RowStream(Iterable[tuple[Any, ...]]):
    """The rows of a query, fetched batch by batch from a server-side cursor.

    Created by :func:`stream_rows`; iterate it once (it closes its cursor at the end), or
    call :meth:`close` to abandon it.
    """

    def __init__(self, cursor: _Cursor) -> None:
        self._cursor = cursor

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        for rows in self._cursor.batches():
            yield from rows

    def close(self) -> None:
        self._cursor.close()


def stream_rows(
    conn: psycopg.Connection[Any], sql: str, *, maxrec: int | None = None, batch: int = BATCH
) -> RowStream:
    """Execute ``sql`` now and return its rows (at most ``maxrec + 1``) as a stream."""
    limited = _limited(sql, maxrec)
    small = fetch_in_one(conn, limited, None if maxrec is None else maxrec + 1)
    return RowStream(_Cursor(conn, limited, batch, binary=False, small=small))


def write(
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    fmt: OutputFormat | str | None,
    *,
    infos: Iterable[Info | Resource] = (),
    maxrec: int | None = None,
    batch: int = 1000,
) -> Iterator[bytes]:
    """Serialize ``rows`` (tuples in ``columns`` order) in ``fmt``, stopping after MAXREC.

    OVERFLOW is reported only if ``rows`` holds more than ``maxrec`` rows.
    """
    if not isinstance(fmt, OutputFormat):
        fmt = resolve_format(fmt)
    limit: RowLimit[Sequence[Any]] = RowLimit(rows, maxrec)
    return fmt.serializer(columns, limit, list(infos), batch)


def _describe(conn: psycopg.Connection[Any], sql: str) -> tuple[list[str] | None, bool]:
    """The type names of ``sql``'s output columns (planned, not run: LIMIT 0), and
    whether the session prints dates in ISO style (a setting the server reports to the
    client whenever it changes: no query)."""
    style = conn.info.parameter_status("DateStyle")
    iso = style is not None and style.upper().startswith("ISO")
    with conn.transaction(), conn.cursor() as cur:
        body = sql.strip().rstrip(";")
        cur.execute(f"SELECT * FROM (\n{body}\n) AS tap_types LIMIT 0")  # noqa: S608
        names = []
        for col in cur.description or ():
            info = conn.adapters.types.get(col.type_code)
            if info is None:
                return None, iso
            is_array = col.type_code == info.array_oid and col.type_code != info.oid
            names.append("_" + info.name if is_array else info.name)
        return names, iso


def prefetched(batches: Iterator[T], depth: int = 2) -> Iterator[T]:
    """``batches``, read ahead by a thread so the database works while we encode.

    The next FETCH runs (waiting on the socket, without the GIL) while the previous batch
    is encoded and sent. Closing the returned generator stops the thread and closes
    ``batches``.
    """
    box: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.05)
            except queue.Full:
                continue
            return True
        return False

    def run() -> None:
        try:
            for batch in batches:
                if not put(("batch", batch)):
                    return
            put(("end", None))
        except BaseException as exc:  # handed to the consumer, raised there
            put(("error", exc))

    thread = threading.Thread(target=run, name="tap-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            kind, item = box.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
        close = getattr(batches, "close", None)
        if close is not None:
            close()


def query_result(
    conn: psycopg.Connection[Any],
    sql: str,
    columns: Sequence[Column],
    fmt: OutputFormat | str | None,
    *,
    infos: Iterable[Info | Resource] = (),
    maxrec: int | None = None,
    batch: int = BATCH,
    fast: bool = True,
) -> Iterator[bytes]:
    """Run ``sql`` and return the result document as an iterator of ``bytes`` chunks.

    Database errors raised while starting the query propagate from this call.
    """
    if not isinstance(fmt, OutputFormat):
        fmt = resolve_format(fmt)
    infos = list(infos)
    if maxrec == 0:  # metadata only: the query need not run (DALI 1.1 §3.4.4)
        return write(columns, (), fmt, infos=infos, maxrec=0)
    if fast and fmt.serialization in ("BINARY", "BINARY2") and columns:
        binary2 = fmt.serialization == "BINARY2"
        codecs = codecs_for(columns)
        pg_types, iso_dates = _describe(conn, sql)
        plan = None
        if pg_types is not None:
            plan = fastpath.plan(
                sql,
                columns,
                codecs,
                pg_types,
                binary2=binary2,
                limit=None if maxrec is None else maxrec + 1,
                iso_dates=iso_dates,
            )
        if plan is not None:
            small = fetch_in_one(conn, plan.sql, None if maxrec is None else maxrec + 1)
            cursor = _Cursor(conn, plan.sql, batch, binary=True, small=small)
            limit: RowLimit[tuple[Any, ...]] = RowLimit((), maxrec)
            # A plain cursor holds its rows already: reading ahead in a thread would only add
            # a thread and its hand-offs. A server-side cursor's next FETCH overlaps encoding.
            source = cursor.batches() if small else prefetched(cursor.batches())
            encoded = (plan.assemble(rows) for rows in limit.batches_of(source))
            return binary_stream(columns, encoded, limit, infos, binary2=binary2)
    return write(
        columns,
        stream_rows(conn, sql, maxrec=maxrec, batch=batch),
        fmt,
        infos=infos,
        maxrec=maxrec,
        batch=min(batch, 1000),
    )
