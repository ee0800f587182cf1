"""The job store and workers without HTTP: schema, claims, a crashed server's jobs,
destruction on schedule."""

from __future__ import annotations

import datetime as dt
import os
import queue
import signal
import subprocess
import sys
import time

import sqlalchemy as sa

from catalog.db import Database
from tap.uws import ErrorSummary, JobStore, ensure_schema
from tap.uws.jobs import utc_now
from tap.uws.notify import Listener
from tap.uws.store import STALE_CODE, notify_key
from tap.uws.worker import WorkerPool
from tests.support.db import REPO as REPO_ROOT
from tests.support.uws import active_sleeps, execute


def store_for(database: Database) -> JobStore:
    ensure_schema(database.engine)
    return JobStore(database.engine)


def new_job(
    store: JobStore, query: str, *, duration: int = 60, destruction: dt.datetime | None = None
) -> str:
    job = store.create(
        owner_id=None,
        run_id=None,
        parameters={"query": [query]},
        execution_duration=duration,
        destruction=destruction,
    )
    store.run(job.job_id)
    return job.job_id


def test_ensure_schema_is_idempotent(database: Database) -> None:
    ensure_schema(database.engine)
    ensure_schema(database.engine)
    with database.engine.connect() as conn:
        tables = (
            conn.execute(
                sa.text(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = 'tap_uws' "
                    "ORDER BY 1"
                )
            )
            .scalars()
            .all()
        )
    assert tables == ["blob", "job"]


def test_two_claims_take_different_jobs_and_hold_their_locks(database: Database) -> None:
    store = store_for(database)
    a = new_job(store, "rows:1")
    b = new_job(store, "rows:1")
    first = store.claim()
    second = store.claim()
    assert first is not None and second is not None
    assert {first.job.job_id, second.job.job_id} == {a, b}
    assert store.claim() is None
    assert first.job.phase == "EXECUTING"
    # both workers are alive: nothing to recover
    assert store.recover_stale() == []
    assert store.phase_of(a) == store.phase_of(b) == "EXECUTING"
    store.release(first)
    store.release(second)


def test_a_job_whose_worker_connection_died_is_recovered(database: Database) -> None:
    store = store_for(database)
    job_id = new_job(store, "rows:1")
    claim = store.claim()
    assert claim is not None
    claim.conn.invalidate()  # the worker's session ends as it would when its process dies
    claim.conn.close()
    assert store.recover_stale() == [job_id]
    job = store.get_any(job_id)
    assert job is not None and job.phase == "ERROR" and job.error is not None
    assert "stopped (restart or crash)" in job.error.message
    assert job.error.code == STALE_CODE and not job.error.fatal
    assert store.recover_stale() == []


def test_jobs_of_a_killed_server_process_end_in_error(database: Database) -> None:
    """A real process runs the job; SIGKILL; another process's recovery marks it ERROR and
    cancels the statement the dead process left behind."""
    store = store_for(database)
    job_id = new_job(store, "sleep:300")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.uws_worker_process", database.url],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO_ROOT,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 30
        while store.phase_of(job_id) != "EXECUTING" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.phase_of(job_id) == "EXECUTING"
        assert store.recover_stale() == []  # alive: not stale
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 30
    recovered: list[str] = []
    while not recovered and time.monotonic() < deadline:
        recovered = store.recover_stale()
        time.sleep(0.05)
    assert recovered == [job_id]
    assert store.phase_of(job_id) == "ERROR"
    with database.engine.connect() as conn:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            sleeping = conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                    "AND query LIKE 'SELECT pg_sleep%' AND datname = current_database()"
                )
            ).scalar_one()
            conn.commit()
            if not sleeping:
                break
            time.sleep(0.05)
    assert sleeping == 0


def test_the_reaper_destroys_expired_jobs_and_their_results(database: Database) -> None:
    store = store_for(database)
    soon = utc_now() + dt.timedelta(hours=1)
    expiring = new_job(store, "rows:10", destruction=soon)
    kept = new_job(store, "rows:10", destruction=soon + dt.timedelta(days=1))
    pool = WorkerPool(store, execute, workers=1)
    assert pool.run_once() and pool.run_once()
    assert store.phase_of(expiring) == store.phase_of(kept) == "COMPLETED"
    assert store.reap() == []
    assert store.reap(now=soon + dt.timedelta(seconds=1)) == [expiring]
    assert store.get_any(expiring) is None
    assert list(store.read_blob(expiring, "result", "result")) == []
    assert b"".join(store.read_blob(kept, "result", "result")).count(b"\n") == 11


def test_a_worker_runs_a_job_in_its_own_thread(database: Database) -> None:
    store = store_for(database)
    job_id = new_job(store, "rows:5")
    pool = WorkerPool(store, execute, workers=1, poll_interval=0.05)
    pool.start()
    try:
        deadline = time.monotonic() + 30
        while store.phase_of(job_id) != "COMPLETED" and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        pool.stop()
    job = store.get_any(job_id)
    assert job is not None and job.result is not None
    assert job.result.rows == 5 and job.result.content_type == "text/csv"


def test_stopping_the_workers_stops_their_running_jobs(database: Database) -> None:
    store = store_for(database)
    job_id = new_job(store, "sleep:300")
    pool = WorkerPool(store, execute, workers=1, poll_interval=0.05)
    pool.start()
    try:
        deadline = time.monotonic() + 30
        while store.phase_of(job_id) != "EXECUTING" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.phase_of(job_id) == "EXECUTING"
    finally:
        pool.stop(timeout=0.5)
    job = store.get_any(job_id)
    assert job is not None and job.phase == "ERROR" and job.error is not None
    assert "shut down" in job.error.message and not job.error.fatal
    assert pool._threads == []  # the worker thread ended: its statement was cancelled


def test_phase_changes_reach_listeners_of_any_process(database: Database) -> None:
    store = store_for(database)
    listener = Listener(database.engine)
    heard: queue.Queue[tuple[str, str]] = queue.Queue()
    listener.subscribe(lambda job_id, phase: heard.put((job_id, phase)))
    listener.start()
    try:
        assert listener.ready.wait(30)
        job_id = new_job(store, "rows:1")
        store.abort(job_id)
        store.delete(job_id)
        events = [heard.get(timeout=30) for _ in range(4)]
    finally:
        listener.stop()
    key = notify_key(job_id)
    assert events == [(key, "PENDING"), (key, "QUEUED"), (key, "ABORTED"), (key, "DELETED")]
    assert all(job_id not in k for k, _ in events)  # any session may LISTEN: no ids


def test_the_watchdog_cancels_a_statement_whose_abort_was_lost(database: Database) -> None:
    """The phase changes to ABORTED without any cancel request (as when pg_cancel_backend
    reached the backend before its statement started): the worker's watchdog cancels it."""
    store = store_for(database)
    job_id = new_job(store, "sleep:300")
    pool = WorkerPool(store, execute, workers=1, poll_interval=0.05, abort_check_interval=0.2)
    pool.start()
    try:
        deadline = time.monotonic() + 30
        while active_sleeps(database.engine) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert active_sleeps(database.engine) == 1
        with database.engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE tap_uws.job SET phase = 'ABORTED' WHERE job_id = :id"),
                {"id": job_id},
            )
        deadline = time.monotonic() + 30
        while active_sleeps(database.engine) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert active_sleeps(database.engine) == 0
        assert store.phase_of(job_id) == "ABORTED"
    finally:
        pool.stop(timeout=5)


def test_an_error_message_postgresql_cannot_store_is_stored_escaped(database: Database) -> None:
    store = store_for(database)
    job_id = new_job(store, "rows:1")
    claim = store.claim()
    assert claim is not None and claim.job.job_id == job_id
    try:
        assert store.fail(job_id, ErrorSummary("table 'a\x00b\ud800' is unknown", "TAP-E200"))
    finally:
        store.release(claim)
    job = store.get_any(job_id)
    assert job is not None and job.phase == "ERROR" and job.error is not None
    assert job.error.message == "table 'a\\u0000b\\ud800' is unknown"
