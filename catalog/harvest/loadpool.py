"""Parallel loading: each pool worker reads a chunk of files and loads it through its own
PostgreSQL session, one transaction per chunk.

:func:`catalog.harvest.perfile.process_file` stays a pure function of a file's bytes; what
runs on the pool is ``process_file`` over a chunk followed by :class:`Loader` on the
records, next to them. Records never travel between processes (pickling them cost the
harvest as much as loading them), the harvesting process only walks and hands out chunks,
and every worker keeps its own backend busy: reading, checking and loading overlap on every
core instead of queueing behind one loading connection.

Each chunk's transaction holds its products (upserted on (collection, file name)), their
findings, provenance and target links, the chunk's failures (a failing file's earlier
product withdrawn: its metadata is stale) and its counts in the run's row: it commits whole
or not at all. Collections are upserted just before, each in a
statement of its own, so two workers loading one collection never wait on its row. Target
resolution, which reads and then writes the shared target names, takes a transaction-level
advisory lock: workers resolve one at a time, at the very end of their transactions.

Workers die with the harvesting process (``PR_SET_PDEATHSIG`` on Linux): a ``kill -9``
of the harvest leaves no loader behind; their open transactions roll back.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import signal
import sys
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import get_context, util
from typing import Any

import psycopg

from catalog.harvest.load import Loader, skip_reference_triggers
from catalog.harvest.manifest import Manifest
from catalog.harvest.outage import database_error, is_outage
from catalog.harvest.perfile import process_file, start_reader
from catalog.harvest.records import FileFailure, FileTask, ProductRecord
from catalog.harvest.rules import MemberFacts, member_of


@dataclass
class LoadContext:
    """What every loader needs from the run (inherited by the workers at fork)."""

    url: str
    run_id: int
    owners: dict[str, tuple[int, str]] = field(default_factory=dict)
    """path -> (product_id, hlsp_id) of its live product before the run."""
    manifests: dict[str, Manifest] = field(default_factory=dict)


@dataclass
class ChunkOutcome:
    """What one chunk's committed transaction did (small: it travels back to the run)."""

    files: int = 0
    added: int = 0
    updated: int = 0
    withdrawn: int = 0
    failures: list[FileFailure] = field(default_factory=list)
    loaded: list[tuple[str, int, str, MemberFacts]] = field(default_factory=list)
    """(path, product_id, collection, facts for the collection checks) of each product."""


class _Session:
    """One process's connection and loader for one run."""

    def __init__(self, context: LoadContext) -> None:
        self.context = context
        self.conn: psycopg.Connection[Any] = psycopg.connect(context.url, autocommit=True)
        skip_reference_triggers(self.conn)
        # Chunks commit without waiting for their WAL to reach disk: a server or machine
        # crash can lose the last chunks of a run in progress (up to wal_writer_delay x 3,
        # 0.6 s by default; never a part of a chunk), which the next run redoes as for any
        # interrupted run. When the walk is over, the harvest's own session commits the
        # run's counts with the server's synchronous_commit, and WAL is flushed in order:
        # from then on every chunk is on disk as it was before.
        self.conn.execute("SET synchronous_commit = off")
        self.loader = Loader(self.conn, context.run_id)
        self.loader.manifests = context.manifests

    def close(self) -> None:
        self.conn.close()


class _Process:
    """This process's part in the run being loaded: its context and its session."""

    context: LoadContext | None = None
    session: _Session | None = None

    @classmethod
    def current_session(cls) -> _Session:
        assert cls.context is not None, "no harvest is loading in this process"
        if cls.session is None or cls.session.context is not cls.context:
            cls.close_session()
            cls.session = _Session(cls.context)
        return cls.session

    @classmethod
    def close_session(cls) -> None:
        if cls.session is not None:
            cls.session.close()
            cls.session = None

    @classmethod
    def run_id(cls) -> int | None:
        return cls.context.run_id if cls.context is not None else None


RETRIES = 3
"""Attempts at a chunk's transaction when PostgreSQL breaks a deadlock between loaders."""


def load_chunk(
    tasks: Sequence[FileTask], manifests: dict[str, Manifest] | None = None
) -> ChunkOutcome:
    """Read, check and extract the files, then load them in one transaction.

    ``manifests``: the collection manifests the walk has found so far (a forked worker's
    copy of the context dates from the fork). A deadlock between two loaders (one file
    name in two directories of a collection, say) rolls the chunk back and loads it again:
    it is nobody's file's fault.

    An error that is the database's (see :mod:`catalog.harvest.outage`) is raised as the
    run's one message (a :class:`~catalog.errors.CatalogError`, which pickles whole from a
    pool worker to the harvesting process)."""
    try:
        session = _Process.current_session()
        if manifests is not None:
            session.loader.manifests = manifests
        for attempt in range(1, RETRIES + 1):
            try:
                return _load(session, tasks)
            except (psycopg.errors.DeadlockDetected, psycopg.errors.LockNotAvailable):
                session.loader.collections.clear()
                if attempt == RETRIES:
                    raise
    except psycopg.Error as error:
        if is_outage(error):
            _Process.close_session()  # a later chunk of this process connects afresh
            raise database_error(error, _Process.run_id()) from error
        raise
    raise AssertionError("unreachable")


def _load(session: _Session, tasks: Sequence[FileTask]) -> ChunkOutcome:
    conn, loader = session.conn, session.loader
    records: list[ProductRecord] = []
    failures: list[FileFailure] = []
    for task in tasks:
        result = process_file(task, keep_info=False)
        if isinstance(result, ProductRecord):
            records.append(result)
        else:
            failures.append(result)
    loader.ensure_collections(records)
    owners = session.context.owners
    with conn.transaction():
        outcome = loader.load_safely(records)
        failures += outcome.rejected
        # A file now read into another collection (edited HLSPID, --collection): its
        # product in the old collection is withdrawn, so one path is one live product.
        # A file that fails now (damaged, truncated or overwritten since it was harvested):
        # its product's metadata is stale, so it is withdrawn until a run reads it again.
        withdrawn = loader.withdraw(
            [
                owners[r.path][0]
                for r in records
                if r.path in outcome.product_ids
                and r.path in owners
                and owners[r.path][1] != r.collection
            ]
            + [owners[f.path][0] for f in failures if f.path in owners]
        )
        loader.record_failures(failures)
        conn.execute(
            "UPDATE hlsp.harvest_run SET files_added = files_added + %s, files_updated = "
            "files_updated + %s, files_failed = files_failed + %s, files_withdrawn = "
            "files_withdrawn + %s WHERE run_id = %s",
            (outcome.added, outcome.updated, len(failures), withdrawn, loader.run_id),
        )
    loaded = [
        (r.path, outcome.product_ids[r.path], r.collection, member_of(r))
        for r in records
        if r.path in outcome.product_ids and r.collection is not None
    ]
    return ChunkOutcome(len(tasks), outcome.added, outcome.updated, withdrawn, failures, loaded)


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _start_worker() -> None:
    start_reader()
    _die_with_parent()
    _Process.session = None  # a parent's session is the parent's: never touch its socket
    util.Finalize(None, _Process.close_session, exitpriority=10)


MIN_CHUNK = 40
"""Smallest chunk handed out (each costs a transaction of ~a dozen statements)."""


def _sized(pending: deque[FileTask], walking: bool, jobs: int, batch_size: int) -> int:
    """The next chunk's size: ``batch_size`` while the walk goes on; after it, a share of
    what is left, so the workers' last chunks are small and end close together."""
    if walking:
        return batch_size
    return min(batch_size, max(MIN_CHUNK, -(-len(pending) // (2 * jobs))))


def load_chunks(
    context: LoadContext, tasks: Iterable[FileTask], jobs: int, batch_size: int
) -> Iterator[ChunkOutcome]:
    """:func:`load_chunk` over the tasks in chunks of at most ``batch_size`` files, on
    ``jobs`` forked processes (in-process for 1), yielding each chunk's outcome as it
    commits. The tasks are walked here while the workers load, ``jobs + 1`` chunks in
    flight, and cut into smaller chunks once the walk has ended."""
    _Process.context = context
    try:
        if jobs <= 1:
            iterator = iter(tasks)
            while chunk := list(itertools.islice(iterator, batch_size)):
                yield load_chunk(chunk)
            return
        iterator = iter(tasks)
        first = next(iterator, None)
        if first is None:  # nothing to read (a no-change re-run): no pool at all
            return
        # An executor, not a multiprocessing Pool: a worker that dies (OOM, a signal) breaks
        # it and the harvest fails, where a Pool would replace the worker and wait forever.
        executor = ProcessPoolExecutor(
            jobs, mp_context=get_context("fork"), initializer=_start_worker
        )
        try:
            yield from _dispatch(
                executor, itertools.chain([first], iterator), jobs, batch_size, context.manifests
            )
        except BaseException:
            # Interrupted or failed: stop the workers; their open transactions roll back.
            _stop(executor)
            raise
        executor.shutdown(wait=True)  # workers leave their loop and close their sessions
    finally:
        _Process.context = None
        _Process.close_session()


def _workers(executor: ProcessPoolExecutor) -> list[Any]:
    return list((getattr(executor, "_processes", None) or {}).values())


def _dead_worker(executor: ProcessPoolExecutor) -> bool:
    """A worker has ended: while the pool runs they only end by a signal (the OOM killer, an
    operator) or a crash."""
    return any(process.exitcode is not None for process in _workers(executor))


def _stop(executor: ProcessPoolExecutor) -> None:
    """Stop the workers and let the executor's own thread end.

    A worker killed while it wrote a result leaves half a message in the result pipe, and the
    executor's thread then waits for the rest for ever (CPython 3.11): the process could not
    exit. Once the workers are gone, closing this process's ends of the pipes ends that wait
    (the thread reads the end of the pipe, marks the pool broken and returns)."""
    workers = _workers(executor)
    for process in workers:
        process.terminate()
    for process in workers:
        process.join(timeout=10)
    for queue, end in (("_result_queue", "_writer"), ("_call_queue", "_reader")):
        with contextlib.suppress(Exception):
            getattr(getattr(executor, queue), end).close()
    executor.shutdown(wait=False, cancel_futures=True)


def _dispatch(
    executor: ProcessPoolExecutor,
    tasks: Iterator[FileTask],
    jobs: int,
    batch_size: int,
    manifests: dict[str, Manifest],
) -> Iterator[ChunkOutcome]:
    pending: deque[FileTask] = deque()
    running: set[Future[ChunkOutcome]] = set()
    walking = True
    while walking or pending or running:
        if walking:
            before = len(pending)
            pending.extend(itertools.islice(tasks, 256))
            walking = len(pending) - before == 256
        while len(running) <= jobs and pending and (not walking or len(pending) >= batch_size):
            size = _sized(pending, walking, jobs, batch_size)
            chunk = [pending.popleft() for _ in range(min(size, len(pending)))]
            running.add(executor.submit(load_chunk, chunk, dict(manifests)))
        if not running:
            continue
        # While walking, only collect what is ready; after it, wait for the next, looking
        # at the workers every second: the executor misses one killed mid-result.
        done, running = wait(running, timeout=0 if walking else 1.0, return_when=FIRST_COMPLETED)
        if not done and _dead_worker(executor):
            raise BrokenProcessPool("a worker process of the pool was terminated abruptly")
        for future in done:
            yield future.result()  # a worker's exception, or BrokenProcessPool, raises here
