"""The request context: who is asking, and one read-only database transaction per request.

Every SQL statement of a request runs on one connection from ``db.read_engine``, in one
transaction opened with ``SET TRANSACTION READ ONLY``, ``SET LOCAL statement_timeout`` and
``SET LOCAL ROLE hlsp_reader`` (one round trip), so a request sees one snapshot, can change
nothing, reads only published columns and cannot run longer than the timeout per statement.

When the database cannot serve the request (unreachable, the connection lost, every
connection of the pool in use) the resolvers get ``SERVICE_UNAVAILABLE``. When the request is
abandoned (its time budget spent, or its client gone), :meth:`RequestContext.abort` cancels
the running statement in PostgreSQL, refuses further work, rolls the transaction back and
returns the connection to the pool.

Resolvers are async; SQLAlchemy is synchronous. :meth:`RequestContext.run` hands functions
of the connection to the thread pool, in batches run one after the other by one task per
request, so the event loop never blocks on the database, the connection is never used by
two threads at once, and the loaders of one turn of the loop share one trip to the pool.

:class:`Caller` carries who is asking. Today every caller is anonymous and sees every
product that is not withdrawn; :func:`catalog.graphql.access.visible_products` is the one
place where proprietary-data rules (release dates, access groups) will be enforced, as TAP
enforces them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool

from catalog.config import GraphQLSettings
from catalog.db import READER_ROLE, Database
from catalog.graphql.errors import InvalidFilter, QueryTimeout, ServiceUnavailable

T = TypeVar("T")
log = logging.getLogger(__name__)
CANCEL_ATTEMPTS = 20
"""Cancel requests sent, half a second apart, before :meth:`RequestContext.abort` leaves the
worker thread to return the connection itself (it may still wait for a pool slot)."""
UNAVAILABLE = "The catalog database cannot be reached; try again later."
BUSY = "The catalog is busy: every database connection is in use; try again in a few seconds."
LOST = "The catalog database stopped answering (connection lost); try again later."


class Abandoned(Exception):
    """Work asked for after the request was abandoned (nobody waits for its outcome)."""


def _cancel_statement(conn: sa.Connection) -> None:
    """Ask PostgreSQL to cancel what ``conn`` is running (from any thread)."""
    try:
        conn.connection.dbapi_connection.cancel_safe(timeout=5)  # type: ignore[union-attr]
    except Exception as exc:  # a closed connection has nothing to cancel
        log.debug("GraphQL: cancelling a statement: %s", exc)


@dataclass(frozen=True)
class Caller:
    """Who sends the request: ``user`` None is anonymous; ``groups`` grant access to
    proprietary collections and products (``access_group``)."""

    user: str | None = None
    groups: frozenset[str] = frozenset()

    @property
    def anonymous(self) -> bool:
        return self.user is None


ANONYMOUS = Caller()


@dataclass
class RequestContext:
    """What every resolver gets as ``info.context``."""

    db: Database
    settings: GraphQLSettings
    caller: Caller = ANONYMOUS
    request: Any = None
    loaders: dict[Any, Any] = field(default_factory=dict)
    _conn: sa.Connection | None = None
    _pending: list[tuple[Callable[[sa.Connection], Any], asyncio.Future[Any]]] = field(
        default_factory=list
    )
    _drain: asyncio.Task[None] | None = None
    _aborted: bool = False

    @property
    def base_url(self) -> str:
        """The server's public URL for the links a response carries (``HLSP_PUBLIC_URL``,
        else the request's own URL)."""
        from catalog.delivery.urls import public_base

        configured = self.db.settings.public_url
        if self.request is None:
            return (configured or "").rstrip("/")
        return public_base(self.request, configured)

    async def run(self, work: Callable[[sa.Connection], T]) -> T:
        """Run ``work(connection)`` in the thread pool, inside the request's transaction.

        Work asked for in the same turn of the event loop (the batches of several
        DataLoaders) goes to the thread pool together, one trip for all of it."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append((work, future))
        if self._drain is None or self._drain.done():
            self._drain = asyncio.create_task(self._drain_pending())
        return await future

    async def _drain_pending(self) -> None:
        while self._pending:
            await asyncio.sleep(0)  # let the other loaders of this turn add their work
            batch, self._pending = self._pending, []
            outcomes = await run_in_threadpool(self._run_batch, [w for w, _ in batch])
            for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
                if future.cancelled():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

    def _run_batch(self, works: list[Callable[[sa.Connection], Any]]) -> list[tuple[bool, Any]]:
        outcomes: list[tuple[bool, Any]] = []
        for work in works:
            try:
                outcomes.append((True, self._run(work)))
            except Exception as exc:  # handed to the resolver that awaits this work
                outcomes.append((False, exc))
        return outcomes

    def _open(self) -> sa.Connection:
        try:
            conn = self.db.read_engine.connect()
        except sa.exc.TimeoutError as exc:  # the pool's: no connection free in time
            log.warning("GraphQL: database pool exhausted: %s", exc)
            raise ServiceUnavailable(BUSY) from None
        except sa.exc.DBAPIError as exc:
            log.warning("GraphQL: database unreachable: %s", str(exc.orig).strip())
            raise ServiceUnavailable(UNAVAILABLE) from None
        timeout = int(self.settings.statement_timeout_ms)
        try:
            conn.exec_driver_sql(
                f"SET TRANSACTION READ ONLY; SET LOCAL statement_timeout = {timeout}; "
                f"SET LOCAL ROLE {READER_ROLE}"
            )
        except sa.exc.DBAPIError as exc:
            conn.close()
            log.error("GraphQL: cannot start a read-only transaction as %s: %s", READER_ROLE, exc)
            raise ServiceUnavailable(
                "The catalog cannot answer queries: its query login is not set up (see the "
                "server log); try again later."
            ) from None
        return conn

    def _run(self, work: Callable[[sa.Connection], T]) -> T:
        if self._aborted:
            raise Abandoned
        if self._conn is None:
            self._conn = self._open()
            if self._aborted:  # abandoned while waiting for the connection
                self._discard()
                raise Abandoned
        try:
            return work(self._conn)
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
            self._discard()
            if getattr(exc.orig, "sqlstate", None) == "57014":  # query_canceled
                raise QueryTimeout(
                    f"The query took longer than the {self.settings.statement_timeout_ms} ms "
                    "allowed per statement; narrow the filter or ask for fewer items.",
                    timeoutMs=self.settings.statement_timeout_ms,
                ) from None
            log.warning("GraphQL: database connection failed: %s", str(exc.orig).strip())
            raise ServiceUnavailable(LOST) from None
        except (sa.exc.DataError, sa.exc.InternalError) as exc:
            # pg_sphere refuses some values (a self-crossing polygon) with an internal error.
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "invalid value"
            if isinstance(exc, sa.exc.InternalError) and "spherepoly" not in reason:
                raise
            self._discard()
            raise InvalidFilter(
                f"The database refused a filter value: {reason}. Check the values given "
                "(polygon vertices in order, without crossing edges)."
            ) from None

    def _discard(self) -> None:
        """Roll back and return the connection (a broken one is dropped from the pool)."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.rollback()
        except sa.exc.DBAPIError as exc:
            log.debug("GraphQL: rolling back a broken connection: %s", exc)
            conn.invalidate()
        finally:
            conn.close()

    async def close(self) -> None:
        """End the transaction (read-only: rolling back loses nothing) and free the connection."""
        if self._drain is not None:
            await self._drain
        if self._conn is not None:
            await run_in_threadpool(self._discard)

    async def abort(self) -> None:
        """Abandon the request's database work: refuse more, cancel the running statement
        (again every half second until the worker thread is done), then roll back and
        return the connection."""
        self._aborted = True
        for _ in range(CANCEL_ATTEMPTS):
            drain = self._drain
            if drain is None or drain.done():
                break
            conn = self._conn
            if conn is not None:
                await asyncio.to_thread(_cancel_statement, conn)
            await asyncio.wait({drain}, timeout=0.5)
        else:
            log.warning("GraphQL: abandoned work still runs; its thread will free the connection")
            return
        if self._conn is not None:
            await run_in_threadpool(self._discard)
