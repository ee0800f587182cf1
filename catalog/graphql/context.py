"""The request context: who is asking, and one read-only database transaction per request.

Every SQL statement of a request runs on one connection from ``db.read_engine``, in one
transaction opened with ``SET TRANSACTION READ ONLY``, ``SET LOCAL statement_timeout`` and
``SET LOCAL ROLE hlsp_reader`` (one round trip), so a request sees one snapshot, can change
nothing, reads only published columns and cannot run longer than the timeout per statement.

Resolvers are async; SQLAlchemy is synchronous. :meth:`RequestContext.run` hands a function
of the connection to the thread pool, one at a time per request (a lock), so the event loop
never blocks on the database and the connection is never shared between threads at once.

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

from catalog.db import READER_ROLE, Database
from catalog.graphql.errors import InvalidFilter, QueryTimeout, ServiceUnavailable
from catalog.graphql.limits import GraphQLSettings

T = TypeVar("T")
log = logging.getLogger(__name__)


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
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def run(self, work: Callable[[sa.Connection], T]) -> T:
        """Run ``work(connection)`` in the thread pool, inside the request's transaction."""
        async with self._lock:
            return await run_in_threadpool(self._run, work)

    def _open(self) -> sa.Connection:
        try:
            conn = self.db.read_engine.connect()
        except sa.exc.OperationalError as exc:
            log.warning("GraphQL: database unreachable: %s", exc)
            raise ServiceUnavailable(
                "The catalog database cannot be reached; try again later."
            ) from None
        timeout = int(self.settings.statement_timeout_ms)
        conn.exec_driver_sql(
            f"SET TRANSACTION READ ONLY; SET LOCAL statement_timeout = {timeout}; "
            f"SET LOCAL ROLE {READER_ROLE}"
        )
        return conn

    def _run(self, work: Callable[[sa.Connection], T]) -> T:
        if self._conn is None:
            self._conn = self._open()
        try:
            return work(self._conn)
        except sa.exc.OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) == "57014":  # query_canceled
                self._discard()
                raise QueryTimeout(
                    f"The query took longer than the {self.settings.statement_timeout_ms} ms "
                    "allowed per statement; narrow the filter or ask for fewer items.",
                    timeoutMs=self.settings.statement_timeout_ms,
                ) from None
            raise
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
        if self._conn is not None:
            try:
                self._conn.rollback()
            finally:
                self._conn.close()
                self._conn = None

    async def close(self) -> None:
        """End the transaction (read-only: rolling back loses nothing) and free the connection."""
        if self._conn is not None:
            async with self._lock:
                await run_in_threadpool(self._discard)
