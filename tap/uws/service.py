"""The async job service: store, workers, notifications and the reaper, put together.

The host builds one :class:`UwsService` per server process, mounts :meth:`UwsService.routes`
under its TAP base path, and runs :meth:`UwsService.start`/:meth:`UwsService.stop` in its
lifespan (or uses :meth:`UwsService.lifespan`). Several processes may share one database:
jobs, phases and results are all in PostgreSQL.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import BaseRoute

from tap.admission import Gate
from tap.uws.documents import votable_error
from tap.uws.jobs import QUEUED, Executor
from tap.uws.notify import Listener, PhaseWaiters
from tap.uws.params import UwsLimits
from tap.uws.store import JobStore, ensure_schema
from tap.uws.worker import WorkerPool

log = logging.getLogger("tap.uws")
T = TypeVar("T")

OwnerOf = Callable[[Request], "str | None"]
# The host's transaction settings for a request's queries (e.g. its public URL), kept with
# a job so that it runs as the request's synchronous query would.
ContextOf = Callable[[Request], Mapping[str, str]]
ErrorRenderer = Callable[[str], tuple[bytes, str]]


def anonymous(request: Request) -> str | None:
    """Every caller is anonymous (no authentication yet)."""
    return None


def no_context(request: Request) -> Mapping[str, str]:
    return {}


class UwsService:
    """``/async`` of a TAP service.

    ``store_engine``: the writer database holding ``tap_uws``; ``query_engine``: where
    executors run their statements (default the same); ``executor``: runs one job (see
    :data:`tap.uws.jobs.Executor`); ``base_url``: the public URL of the TAP service
    (``https://host/tap``) for Location headers and links, when behind a proxy (default:
    taken from each request); ``owner_of``: the caller's identity (None = anonymous), a
    caller lists only its own jobs (anonymous ones are listed to nobody; their URL reaches
    them); ``render_error``: message -> (body, media type) of ``…/error`` (default a VOTable
    error document); ``multi_valued``: parameters that accumulate over requests instead of
    being replaced (``UPLOAD``); ``gate``: admission of the requests' job-store work
    (:mod:`tap.admission`).
    """

    def __init__(
        self,
        store_engine: sa.Engine,
        executor: Executor,
        *,
        query_engine: sa.Engine | None = None,
        limits: UwsLimits | None = None,
        base_url: str | None = None,
        owner_of: OwnerOf = anonymous,
        context_of: ContextOf = no_context,
        render_error: ErrorRenderer = votable_error,
        multi_valued: Iterable[str] = ("upload",),
        workers: int = 2,
        reap_interval: float = 60.0,
        recheck_interval: float = 5.0,
        gate: Gate | None = None,
    ) -> None:
        self.limits = limits or UwsLimits()
        self.gate = gate
        self.store = JobStore(store_engine, query_engine=query_engine)
        self.pool = WorkerPool(
            self.store,
            executor,
            workers=workers,
            max_execution_duration=self.limits.max_execution_duration,
        )
        self.base_url = base_url.rstrip("/") if base_url else None
        self.owner_of = owner_of
        self.context_of = context_of
        self.render_error = render_error
        self.multi_valued = frozenset(name.lower() for name in multi_valued)
        self.waiters = PhaseWaiters()
        self.listener = Listener(store_engine)
        self.listener.subscribe(self._on_change)
        self.reap_interval = reap_interval
        self.recheck_interval = recheck_interval
        self._stop = threading.Event()
        self._reaper: threading.Thread | None = None
        self._started = False

    def _on_change(self, key: str, phase: str) -> None:
        self.waiters.notify(key, phase)
        if phase == QUEUED:
            self.pool.wake()

    async def run(self, fn: Callable[..., T], *args: Any, patient: bool = False) -> T:
        """``fn(*args)`` (a job-store call) on a worker thread, admitted by the gate when
        there is one (:class:`tap.admission.Overloaded` when it is full; ``patient`` waits
        instead, for the later chunks of a download under way)."""
        if self.gate is None:
            return await run_in_threadpool(fn, *args)
        slot = await self.gate.acquire(patient=patient)
        try:
            return await run_in_threadpool(fn, *args)
        finally:
            slot.release()

    def routes(self) -> list[BaseRoute]:
        """The ``/async`` routes, relative to the TAP service's base path."""
        from tap.uws.routes import build_routes

        return build_routes(self)

    def housekeeping(self) -> None:
        """Destroy expired jobs; mark jobs of dead processes ERROR (run on a schedule)."""
        destroyed = self.store.reap()
        recovered = self.store.recover_stale()
        if destroyed or recovered:
            log.info(
                "UWS: %d jobs destroyed, %d stale jobs recovered", len(destroyed), len(recovered)
            )

    def _reap_loop(self) -> None:
        while not self._stop.wait(self.reap_interval):
            try:
                self.housekeeping()
            except Exception:
                log.exception("UWS reaper failed; will retry")

    def start(self, *, workers: bool = True) -> None:
        """Create the schema if needed, clean up, then listen, run workers and the reaper."""
        ensure_schema(self.store.engine)
        self.housekeeping()
        self._stop.clear()
        self.listener.start()
        if workers:
            self.pool.start()
        self._reaper = threading.Thread(target=self._reap_loop, name="uws-reaper", daemon=True)
        self._reaper.start()
        self._started = True

    def stop(self, timeout: float = 10.0) -> None:
        if not self._started:
            return
        self._stop.set()
        self.pool.stop(timeout)
        self.listener.stop()
        if self._reaper is not None:
            self._reaper.join(timeout)
        self._started = False

    @asynccontextmanager
    async def lifespan(self, app: Any = None) -> AsyncIterator[None]:
        from starlette.concurrency import run_in_threadpool

        await run_in_threadpool(self.start)
        try:
            yield
        finally:
            await run_in_threadpool(self.stop)
