"""Workers: threads that take QUEUED jobs from the store and run them through the executor.

Each server process runs a small pool. A worker claims the oldest QUEUED job
(``FOR UPDATE SKIP LOCKED``, so processes never take the same job), holds its advisory
lock while it runs, and hands the executor a :class:`RunningJob` whose connections carry
``statement_timeout`` = what remains of the job's execution duration. The result goes to
the store chunk by chunk. The job ends COMPLETED, or ERROR with the executor's
:class:`~tap.errors.TapError` message (anything else: a generic message, logged with its
traceback, never shown). An ABORT or DELETE from any process changes the phase and cancels
the running statement; the worker then discards what it wrote.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from tap.errors import QueryTimeout, TapError
from tap.uws.jobs import EXECUTING, ErrorSummary, Executor, Job, ResultMeta
from tap.uws.store import INPUT, RESULT, SHUTDOWN_MESSAGE, Claim, JobStore, cancel_backend

log = logging.getLogger("tap.uws")

QUERY_CANCELED = "57014"  # SQLSTATE of statement_timeout and pg_cancel_backend alike
INTERNAL_CODE = "TAP-E000"


class _Stopped(Exception):
    """The job was aborted or deleted while it ran: stop quietly."""


def timeout_message(seconds: int, max_seconds: int) -> str:
    return (
        f"The job reached its time limit: the execution duration of {seconds} s was exceeded "
        "and the query was stopped. Make the query more selective (TOP, tighter "
        "constraints) or ask for a longer EXECUTIONDURATION"
        + (f" (at most {max_seconds} s)." if max_seconds else ".")
    )


class _Run:
    """The :class:`~tap.uws.jobs.RunningJob` handed to the executor."""

    def __init__(self, store: JobStore, query_engine: sa.Engine, job: Job) -> None:
        self._store = store
        self._query_engine = query_engine
        self._job = job
        duration = job.execution_duration
        self.deadline = time.monotonic() + duration if duration > 0 else None
        self.backend: tuple[int, dt.datetime] | None = None

    @property
    def job(self) -> Job:
        return self._job

    @property
    def remaining_seconds(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def past_deadline(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    @contextmanager
    def connect(self, *, read_write: bool = False) -> Iterator[sa.Connection]:
        with self._query_engine.connect() as conn, conn.begin():
            if read_write:
                conn.execute(sa.text("SET TRANSACTION READ WRITE"))
            pid, started = conn.execute(
                sa.text(
                    "SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()"
                )
            ).one()
            remaining = self.remaining_seconds
            if remaining is not None:
                if remaining <= 0:
                    raise QueryTimeout("the execution duration is used up")
                conn.execute(
                    sa.text("SELECT set_config('statement_timeout', :ms, true)"),
                    {"ms": str(max(1, int(remaining * 1000)))},
                )
            if not self._store.set_query_backend(self._job.job_id, pid, started):
                raise _Stopped
            self.backend = (pid, started)
            try:
                yield conn
            finally:
                self.backend = None
                self._store.set_query_backend(self._job.job_id, None, None)

    def cancel(self) -> None:
        """Cancel the statement this job runs now, if any (the watchdog's last resort)."""
        backend = self.backend
        if backend is not None:
            cancel_backend(self._query_engine, *backend)

    def upload(self, name: str) -> Iterator[bytes]:
        return self._store.read_blob(self._job.job_id, INPUT, name)


class _Sink:
    """Buffers result bytes into chunks written through the claim's connection."""

    def __init__(self, store: JobStore, claim: Claim, run: _Run, check_every: float) -> None:
        self._store = store
        self._claim = claim
        self._run = run
        self._buffer = bytearray()
        self._seq = 0
        self.size = 0
        self._check_every = check_every
        self._next_check = time.monotonic() + check_every

    def write(self, data: bytes) -> None:
        now = time.monotonic()
        if now >= self._next_check:
            self._next_check = now + self._check_every
            if self._store.phase_of(self._claim.job.job_id) != EXECUTING:
                raise _Stopped
        if self._run.past_deadline():
            raise QueryTimeout("the execution duration was exceeded while writing the result")
        self._buffer += data
        self.size += len(data)
        while len(self._buffer) >= self._store.chunk_size:
            chunk = bytes(self._buffer[: self._store.chunk_size])
            del self._buffer[: self._store.chunk_size]
            self._flush(chunk)

    def _flush(self, chunk: bytes) -> None:
        try:
            self._store.write_blob(
                self._claim.conn,
                self._claim.job.job_id,
                kind=RESULT,
                name=RESULT,
                seq=self._seq,
                data=chunk,
            )
        except sa.exc.IntegrityError:  # the job was deleted meanwhile
            raise _Stopped from None
        self._seq += 1

    def close(self) -> None:
        if self._buffer or self._seq == 0:
            self._flush(bytes(self._buffer))
            self._buffer.clear()


def _sqlstate(exc: BaseException) -> str | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        orig = getattr(current, "orig", None)
        state = getattr(orig, "sqlstate", None) or getattr(current, "sqlstate", None)
        if state:
            return str(state)
        current = current.__cause__ or current.__context__
    return None


class WorkerPool:
    """``workers`` threads running jobs of ``store`` through ``executor``.

    ``query_engine``: where executors' connections go (default: the store's engine).
    ``poll_interval``: how often an idle worker looks for work when no NOTIFY woke it.
    ``max_execution_duration``: only quoted in the time-limit message.
    """

    def __init__(
        self,
        store: JobStore,
        executor: Executor,
        *,
        query_engine: sa.Engine | None = None,
        workers: int = 2,
        poll_interval: float = 1.0,
        abort_check_interval: float = 1.0,
        max_execution_duration: int = 0,
    ) -> None:
        self.store = store
        self.executor = executor
        self.query_engine = query_engine or store.query_engine
        self.workers = workers
        self.poll_interval = poll_interval
        self.abort_check_interval = abort_check_interval
        self.max_execution_duration = max_execution_duration
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._running: dict[str, _Run] = {}
        self._running_lock = threading.Lock()

    def start(self) -> None:
        self._stop.clear()
        for n in range(self.workers):
            thread = threading.Thread(target=self._loop, name=f"uws-worker-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        if self.workers:
            watchdog = threading.Thread(target=self._watch, name="uws-watchdog", daemon=True)
            watchdog.start()
            self._threads.append(watchdog)

    def _watch(self) -> None:
        """Every ``abort_check_interval``: cancel the statements of running jobs that are no
        longer EXECUTING (aborted or deleted from any process). ABORT cancels at once; this
        catches a cancel that arrived before the statement started, and was lost."""
        while not self._stop.wait(self.abort_check_interval):
            with self._running_lock:
                runs = dict(self._running)
            if not runs:
                continue
            try:
                executing = self.store.executing(list(runs))
                for job_id, run in runs.items():
                    if job_id not in executing:
                        run.cancel()
            except sa.exc.SQLAlchemyError:
                log.exception("UWS watchdog: cannot check the running jobs")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking jobs and wait up to ``timeout`` s for the running ones; jobs still
        running then end in ERROR (transient: "run it again") and their statements are
        cancelled. (If the process dies instead, another process recovers them.)"""
        self._stop.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._running_lock:
            running = list(self._running)
        for job_id in running:
            try:
                self.store.interrupt(job_id, SHUTDOWN_MESSAGE)
            except sa.exc.SQLAlchemyError:
                log.exception("UWS: cannot stop job %s at shutdown", job_id)
        for thread in self._threads:
            thread.join(max(1.0, deadline - time.monotonic()))
        self._threads = [t for t in self._threads if t.is_alive()]

    def wake(self) -> None:
        """Called when a job was queued (a NOTIFY from any process)."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                ran = self.run_once()
            except Exception:
                log.exception("UWS worker: cannot take a job from the store")
                ran = False
            if not ran:
                self._wake.wait(self.poll_interval)
                self._wake.clear()

    def run_once(self) -> bool:
        """Claim one QUEUED job and run it in this thread. False if there was none."""
        claim = self.store.claim()
        if claim is None:
            return False
        try:
            self._execute(claim)
        finally:
            with self._running_lock:
                self._running.pop(claim.job.job_id, None)
            self.store.release(claim)
        return True

    def _execute(self, claim: Claim) -> None:
        job = claim.job
        run = _Run(self.store, self.query_engine, job)
        with self._running_lock:
            self._running[job.job_id] = run
        sink = _Sink(self.store, claim, run, self.abort_check_interval)
        try:
            info = self.executor(run, sink)
            sink.close()
        except _Stopped:
            self._discard(job.job_id)
            return
        except Exception as exc:
            error = self._classify(exc, run)
            if error is None or not self.store.fail(job.job_id, error):
                log.info("UWS job %s stopped: %s", job.job_id, type(exc).__name__)
            self._discard(job.job_id)
            return
        if not self.store.complete(job.job_id, ResultMeta(info.content_type, sink.size, info.rows)):
            self._discard(job.job_id)

    def _discard(self, job_id: str) -> None:
        try:
            self.store.delete_blobs(job_id, RESULT)
        except sa.exc.SQLAlchemyError:
            log.exception("UWS job %s: cannot delete a partial result", job_id)

    def _classify(self, exc: Exception, run: _Run) -> ErrorSummary | None:
        """The error summary for an exception; None when the job was aborted/deleted."""
        job = run.job
        try:
            if self.store.phase_of(job.job_id) != EXECUTING:
                return None
        except sa.exc.SQLAlchemyError:
            log.exception("UWS job %s: cannot read its phase", job.job_id)
            return None
        if isinstance(exc, QueryTimeout) or (
            _sqlstate(exc) == QUERY_CANCELED and (run.past_deadline() or "timeout" in str(exc))
        ):
            message = timeout_message(job.execution_duration, self.max_execution_duration)
            return ErrorSummary(message, QueryTimeout.code)
        if isinstance(exc, TapError):
            return ErrorSummary(exc.message, exc.code)
        log.error("UWS job %s failed unexpectedly", job.job_id, exc_info=exc)
        return ErrorSummary(
            f"The service failed while running this job (an internal error, reference "
            f"{job.job_id}). It has been logged; try again later, and report it if it "
            "persists.",
            INTERNAL_CODE,
        )
