"""The job store: UWS jobs, their inline uploads and their results, in PostgreSQL.

Everything lives in the schema ``tap_uws`` of the writer database, so every server process
sees the same jobs, and jobs survive a restart. :func:`ensure_schema` creates it
(idempotent; the host runs it at start-up). Results and uploads are ``bytea`` chunks of
``chunk_size`` bytes, written and read one chunk at a time: a large result never sits in
memory. A trigger NOTIFYs ``tap_uws`` with ``"<key> <phase>"`` on every phase change (and
``"<key> DELETED"``), which wakes waiting clients and idle workers in any process. The key
is :func:`notify_key` of the job id, not the id: PostgreSQL lets any session LISTEN on any
channel, and a job id is what gives access to an anonymous job.

A worker holds a session-level advisory lock, keyed by the job's ``lock_key``, while it
executes a job: the lock dies with the worker's connection, so an EXECUTING job whose lock
can be taken belongs to a process that is gone (:meth:`JobStore.recover_stale`).
"""

# ruff: noqa: S608  (SQL text is built from this module's constants; values are bound)
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from tap.uws.errors import ParametersTooLarge
from tap.uws.jobs import (
    ABORTABLE,
    EXECUTING,
    HELD,
    PENDING,
    PHASES,
    ErrorSummary,
    Job,
    ResultMeta,
)
from tap.uws.params import parameters_size, parameters_too_large

SCHEMA = "tap_uws"
CHANNEL = "tap_uws"
LOCK_CLASS = 0x55575331  # "UWS1": first key of the two-key advisory locks of running jobs
RESULT = "result"
INPUT = "input"
STALE_CODE = "TAP-E506"
SHUTDOWN_MESSAGE = (
    "The server was shut down while this job was executing; it was stopped. Run the job again."
)
STALE_MESSAGE = (
    "The server process running this job stopped (restart or crash) before the job "
    "finished. Run the job again."
)

_PHASE_LIST = ", ".join(f"'{p}'" for p in PHASES)
DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE SEQUENCE IF NOT EXISTS {SCHEMA}.lock_key AS integer CYCLE;
CREATE TABLE IF NOT EXISTS {SCHEMA}.job (
    job_id text PRIMARY KEY,
    run_id text,
    owner_id text,
    phase text NOT NULL CHECK (phase IN ({_PHASE_LIST})),
    parameters jsonb NOT NULL DEFAULT '{{}}',
    inputs text[] NOT NULL DEFAULT '{{}}',
    creation_time timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
    start_time timestamptz,
    end_time timestamptz,
    quote timestamptz,
    execution_duration integer NOT NULL CHECK (execution_duration >= 0),
    destruction timestamptz,
    queued_at timestamptz,
    error_message text,
    error_code text,
    error_fatal boolean,
    lock_key integer,
    query_pid integer,
    query_backend_start timestamptz,
    result_type text,
    result_size bigint,
    result_rows bigint,
    context jsonb NOT NULL DEFAULT '{{}}'
);
ALTER TABLE {SCHEMA}.job ADD COLUMN IF NOT EXISTS context jsonb NOT NULL DEFAULT '{{}}';
CREATE INDEX IF NOT EXISTS job_queue ON {SCHEMA}.job (queued_at) WHERE phase = 'QUEUED';
CREATE INDEX IF NOT EXISTS job_executing ON {SCHEMA}.job (job_id) WHERE phase = 'EXECUTING';
CREATE INDEX IF NOT EXISTS job_destruction ON {SCHEMA}.job (destruction);
CREATE INDEX IF NOT EXISTS job_creation ON {SCHEMA}.job (creation_time);
CREATE TABLE IF NOT EXISTS {SCHEMA}.blob (
    job_id text NOT NULL REFERENCES {SCHEMA}.job ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('{RESULT}', '{INPUT}')),
    name text NOT NULL,
    seq integer NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (job_id, kind, name, seq)
);
CREATE OR REPLACE FUNCTION {SCHEMA}.notify_key(job_id text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT encode(sha256(convert_to(job_id, 'UTF8')), 'hex') $$;
CREATE OR REPLACE FUNCTION {SCHEMA}.notify_phase() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('{CHANNEL}', {SCHEMA}.notify_key(OLD.job_id) || ' DELETED');
    ELSIF TG_OP = 'INSERT' OR NEW.phase IS DISTINCT FROM OLD.phase THEN
        PERFORM pg_notify('{CHANNEL}', {SCHEMA}.notify_key(NEW.job_id) || ' ' || NEW.phase);
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER job_phase AFTER INSERT OR UPDATE OF phase OR DELETE
    ON {SCHEMA}.job FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.notify_phase();
"""


def ensure_schema(engine: sa.Engine) -> None:
    """Create the job schema if it is missing (safe to run from several processes at once)."""
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:c, 0)"), {"c": LOCK_CLASS})
        conn.exec_driver_sql(DDL)


# What PostgreSQL refuses in text and jsonb: NUL, and lone surrogates (not UTF-8).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str) -> str:
    """``text`` with what PostgreSQL refuses in ``text`` (NUL, lone surrogates) escaped."""
    return UNSTORABLE.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


def notify_key(job_id: str) -> str:
    """What phase-change notifications name a job by: the SHA-256 of its id, in hex."""
    return hashlib.sha256(job_id.encode()).hexdigest()


JOB_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{24}")


def new_job_id() -> str:
    """An unguessable job id: 144 random bits from :mod:`secrets`, 24 URL-safe characters.

    Holding a job's URL is what lets a caller reach an anonymous job, so the id must not be
    predictable from other ids or from the time.
    """
    return secrets.token_urlsafe(18)


def is_job_id(text: str) -> bool:
    """Whether ``text`` has the form of an id :func:`new_job_id` makes (no need to look up
    anything else)."""
    return JOB_ID_PATTERN.fullmatch(text) is not None


@dataclass(frozen=True)
class JobRef:
    """One line of the job list."""

    job_id: str
    phase: str
    run_id: str | None
    owner_id: str | None
    creation_time: dt.datetime


@dataclass(frozen=True)
class Claim:
    """A job a worker took, with the connection holding its advisory lock."""

    job: Job
    lock_key: int
    conn: sa.Connection


_COLUMNS = (
    "job_id, phase, run_id, owner_id, creation_time, start_time, end_time, quote, "
    "execution_duration, destruction, parameters, inputs, error_message, error_code, "
    "error_fatal, result_type, result_size, result_rows, context"
)
# A job is reachable (by its URL) by its owner, and an anonymous job by whoever holds its URL;
# the job list shows a caller its own jobs only: anonymous jobs are listed to nobody.
_REACHABLE = "(owner_id IS NULL OR owner_id = :owner)"


def _job(row: sa.Row[Any]) -> Job:
    m = row._mapping
    error = None
    if m["error_message"] is not None:
        error = ErrorSummary(m["error_message"], m["error_code"] or "", bool(m["error_fatal"]))
    result = None
    if m["result_type"] is not None:
        result = ResultMeta(m["result_type"], int(m["result_size"] or 0), m["result_rows"])
    params: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in m["parameters"].items()}
    return Job(
        job_id=m["job_id"],
        phase=m["phase"],
        run_id=m["run_id"],
        owner_id=m["owner_id"],
        creation_time=m["creation_time"],
        start_time=m["start_time"],
        end_time=m["end_time"],
        quote=m["quote"],
        execution_duration=m["execution_duration"],
        destruction=m["destruction"],
        parameters=params,
        inputs=tuple(m["inputs"]),
        error=error,
        result=result,
        context={str(k): str(v) for k, v in (m["context"] or {}).items()},
    )


class JobStore:
    """Jobs in PostgreSQL. Every method is synchronous and opens its own short transaction."""

    def __init__(
        self,
        engine: sa.Engine,
        *,
        query_engine: sa.Engine | None = None,
        chunk_size: int = 1 << 20,
    ) -> None:
        self.engine = engine
        self.query_engine = query_engine or engine
        self.chunk_size = chunk_size

    # -- creating and reading -------------------------------------------------------------------

    def create(
        self,
        *,
        owner_id: str | None,
        run_id: str | None,
        parameters: Mapping[str, Sequence[str]],
        execution_duration: int,
        destruction: dt.datetime | None,
        inputs: Sequence[str] = (),
        context: Mapping[str, str] | None = None,
    ) -> Job:
        job_id = new_job_id()
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.text(
                    f"INSERT INTO {SCHEMA}.job (job_id, phase, run_id, owner_id, parameters, "
                    "inputs, execution_duration, destruction, context) VALUES (:id, :phase, "
                    ":run, :owner, CAST(:params AS jsonb), :inputs, :duration, :destruction, "
                    "CAST(:context AS jsonb)) "
                    f"RETURNING {_COLUMNS}"
                ),
                {
                    "id": job_id,
                    "phase": PENDING,
                    "run": run_id,
                    "owner": owner_id,
                    "params": json.dumps({k: list(v) for k, v in parameters.items()}),
                    "inputs": list(inputs),
                    "duration": execution_duration,
                    "destruction": destruction,
                    "context": json.dumps(dict(context or {})),
                },
            ).one()
        return _job(row)

    def get(self, job_id: str, owner_id: str | None) -> Job | None:
        """The job if it exists and the caller may reach it (its owner, or an anonymous job)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.text(f"SELECT {_COLUMNS} FROM {SCHEMA}.job WHERE job_id = :id AND {_REACHABLE}"),
                {"id": job_id, "owner": owner_id},
            ).first()
        return _job(row) if row is not None else None

    def list_jobs(
        self,
        owner_id: str | None,
        *,
        phases: Sequence[str] = (),
        after: dt.datetime | None = None,
        last: int | None = None,
        limit: int = 1000,
    ) -> list[JobRef]:
        """The jobs of ``owner_id``, newest first; ``phases`` (union), ``after`` and ``last``
        combine with AND (UWS 1.1 §2.2.2.1). ARCHIVED jobs appear only when asked for by phase.

        An anonymous caller (None) owns nothing: its list is empty. Anonymous jobs are listed to
        no one, so the only way to one is the URL its creator was given.
        """
        if owner_id is None:
            return []
        where = ["owner_id = :owner"]
        params: dict[str, Any] = {"owner": owner_id, "limit": min(last or limit, limit)}
        if phases:
            where.append("phase = ANY(:phases)")
            params["phases"] = list(phases)
        else:
            where.append("phase <> 'ARCHIVED'")
        if after is not None:
            where.append("creation_time > :after")
            params["after"] = after
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT job_id, phase, run_id, owner_id, creation_time "
                    f"FROM {SCHEMA}.job WHERE {' AND '.join(where)} "
                    "ORDER BY creation_time DESC, job_id LIMIT :limit"
                ),
                params,
            ).all()
        return [JobRef(*row) for row in rows]

    # -- changes a client asks for --------------------------------------------------------------

    def _update(self, job_id: str, assignments: str, condition: str, **params: Any) -> Job | None:
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.text(
                    f"UPDATE {SCHEMA}.job SET {assignments} WHERE job_id = :id AND {condition} "
                    f"RETURNING {_COLUMNS}"
                ),
                {"id": job_id, **params},
            ).first()
        return _job(row) if row is not None else None

    def set_parameters(
        self,
        job_id: str,
        values: Mapping[str, Sequence[str]],
        accumulate: Iterable[str] = (),
        inputs: Sequence[str] = (),
        max_bytes: int | None = None,
    ) -> Job | None:
        """Replace (or, for names in ``accumulate``, append to) parameters of a PENDING job.

        None if the job is not PENDING (any more). ``runid`` also sets the job's runId;
        ``inputs`` names inline uploads added to the job. :class:`ParametersTooLarge` (and
        nothing changed) if the parameters would then exceed ``max_bytes``.
        """
        acc = set(accumulate)
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.text(
                    f"SELECT parameters FROM {SCHEMA}.job WHERE job_id = :id "
                    "AND phase = 'PENDING' FOR UPDATE"
                ),
                {"id": job_id},
            ).first()
            if row is None:
                return None
            merged: dict[str, list[str]] = {k: list(v) for k, v in row[0].items()}
            for name, new in values.items():
                merged[name] = [*merged.get(name, []), *new] if name in acc else list(new)
            if max_bytes is not None and parameters_size(merged) > max_bytes:
                raise ParametersTooLarge(parameters_too_large(max_bytes))
            run_id = merged["runid"][-1] if merged.get("runid") else None
            updated = conn.execute(
                sa.text(
                    f"UPDATE {SCHEMA}.job SET parameters = CAST(:p AS jsonb), run_id = :run, "
                    "inputs = ARRAY(SELECT DISTINCT unnest(inputs || CAST(:inputs AS text[]))) "
                    f"WHERE job_id = :id RETURNING {_COLUMNS}"
                ),
                {"id": job_id, "p": json.dumps(merged), "run": run_id, "inputs": list(inputs)},
            ).one()
        return _job(updated)

    def set_execution_duration(self, job_id: str, seconds: int) -> Job | None:
        """None if the job is no longer waiting to run."""
        return self._update(
            job_id, "execution_duration = :s", "phase IN ('PENDING', 'HELD')", s=seconds
        )

    def set_destruction(self, job_id: str, when: dt.datetime) -> Job | None:
        return self._update(job_id, "destruction = :d", "true", d=when)

    def run(self, job_id: str) -> Job | None:
        """PENDING (or HELD) -> QUEUED; any other phase is left alone. None if gone."""
        queued = self._update(
            job_id,
            "phase = 'QUEUED', queued_at = clock_timestamp()",
            f"phase IN ('{PENDING}', '{HELD}')",
        )
        return queued or self.get_any(job_id)

    def get_any(self, job_id: str) -> Job | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.text(f"SELECT {_COLUMNS} FROM {SCHEMA}.job WHERE job_id = :id"),
                {"id": job_id},
            ).first()
        return _job(row) if row is not None else None

    def abort(self, job_id: str) -> Job | None:
        """-> ABORTED if not finished; cancels its running statement. None if gone."""
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.text(
                    f"WITH old AS (SELECT job_id, query_pid, query_backend_start "
                    f"FROM {SCHEMA}.job WHERE job_id = :id AND phase = ANY(:phases) FOR UPDATE) "
                    f"UPDATE {SCHEMA}.job j SET phase = 'ABORTED', end_time = clock_timestamp(), "
                    "query_pid = NULL FROM old WHERE j.job_id = old.job_id "
                    "RETURNING old.query_pid, old.query_backend_start"
                ),
                {"id": job_id, "phases": sorted(ABORTABLE)},
            ).first()
        if row is not None and row[0] is not None:
            self.cancel_query(row[0], row[1])
        return self.get_any(job_id)

    def delete(self, job_id: str) -> bool:
        """Destroy a job and its results (cancelling it first if it runs)."""
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.text(
                    f"DELETE FROM {SCHEMA}.job WHERE job_id = :id "
                    "RETURNING query_pid, query_backend_start"
                ),
                {"id": job_id},
            ).first()
        if row is None:
            return False
        if row[0] is not None:
            self.cancel_query(row[0], row[1])
        return True

    def cancel_query(self, pid: int, backend_start: dt.datetime | None) -> bool:
        """Cancel the statement a job's executor runs (``pg_cancel_backend``).

        The backend start time guards against a recycled pid. The statement runs on the
        server of ``query_engine`` (the executors' database, maybe a replica).
        """
        return cancel_backend(self.query_engine, pid, backend_start)

    # -- the worker's side ----------------------------------------------------------------------

    def claim(self) -> Claim | None:
        """Take the oldest QUEUED job: EXECUTING, locked by the returned connection.

        The advisory lock is taken in the same transaction as the phase change, so no other
        process ever sees this job EXECUTING without the lock held.
        """
        conn = self.engine.connect()
        try:
            with conn.begin():
                row = conn.execute(
                    sa.text(
                        f"UPDATE {SCHEMA}.job SET phase = 'EXECUTING', "
                        f"start_time = clock_timestamp(), lock_key = nextval('{SCHEMA}.lock_key') "
                        f"WHERE job_id = (SELECT job_id FROM {SCHEMA}.job WHERE phase = 'QUEUED' "
                        "ORDER BY queued_at LIMIT 1 FOR UPDATE SKIP LOCKED) "
                        f"RETURNING lock_key, {_COLUMNS}"
                    )
                ).first()
                if row is not None:
                    conn.execute(
                        sa.text("SELECT pg_advisory_lock(:c, :k)"), {"c": LOCK_CLASS, "k": row[0]}
                    )
        except BaseException:
            conn.close()
            raise
        if row is None:
            conn.close()
            return None
        return Claim(_job(row), int(row[0]), conn)

    @staticmethod
    def release(claim: Claim) -> None:
        try:
            with claim.conn.begin():
                claim.conn.execute(
                    sa.text("SELECT pg_advisory_unlock(:c, :k)"),
                    {"c": LOCK_CLASS, "k": claim.lock_key},
                )
        except sa.exc.DBAPIError:
            claim.conn.invalidate()
        finally:
            claim.conn.close()

    def set_query_backend(self, job_id: str, pid: int | None, start: dt.datetime | None) -> bool:
        """Record the backend running the job's statements; False if no longer EXECUTING."""
        with self.engine.begin() as conn:
            n = conn.execute(
                sa.text(
                    f"UPDATE {SCHEMA}.job SET query_pid = :pid, query_backend_start = :bs "
                    "WHERE job_id = :id AND phase = 'EXECUTING'"
                ),
                {"id": job_id, "pid": pid, "bs": start},
            ).rowcount
        return bool(n)

    def executing(self, job_ids: Sequence[str]) -> set[str]:
        """Which of these jobs are (still) EXECUTING."""
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    sa.text(
                        f"SELECT job_id FROM {SCHEMA}.job WHERE job_id = "
                        "ANY(:ids) AND phase = 'EXECUTING'"
                    ),
                    {"ids": list(job_ids)},
                )
                .scalars()
                .all()
            )
        return set(rows)

    def phase_of(self, job_id: str) -> str | None:
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.text(f"SELECT phase FROM {SCHEMA}.job WHERE job_id = :id"), {"id": job_id}
            ).scalar()
        return None if value is None else str(value)

    def complete(self, job_id: str, meta: ResultMeta) -> bool:
        """EXECUTING -> COMPLETED with the result written; False if aborted/deleted meanwhile."""
        return (
            self._update(
                job_id,
                "phase = 'COMPLETED', end_time = clock_timestamp(), query_pid = NULL, "
                "result_type = :t, result_size = :s, result_rows = :r",
                f"phase = '{EXECUTING}'",
                t=meta.content_type,
                s=meta.size,
                r=meta.rows,
            )
            is not None
        )

    def fail(self, job_id: str, error: ErrorSummary, *, from_phase: str = EXECUTING) -> bool:
        """-> ERROR with ``error``; False if the job was not in ``from_phase``. A message that
        quotes what PostgreSQL cannot store (NUL, lone surrogates) is stored escaped."""
        return (
            self._update(
                job_id,
                "phase = 'ERROR', end_time = clock_timestamp(), query_pid = NULL, "
                "error_message = :m, error_code = :c, error_fatal = :f",
                "phase = :from",
                m=storable_text(error.message),
                c=error.code,
                f=error.fatal,
                **{"from": from_phase},
            )
            is not None
        )

    def interrupt(self, job_id: str, message: str, code: str = STALE_CODE) -> bool:
        """EXECUTING -> ERROR (transient) with ``message``, cancelling its statement: for a
        server shutting down with jobs still running. False if the job was not EXECUTING."""
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.text(
                    f"WITH old AS (SELECT job_id, query_pid, query_backend_start "
                    f"FROM {SCHEMA}.job WHERE job_id = :id AND phase = 'EXECUTING' FOR UPDATE) "
                    f"UPDATE {SCHEMA}.job j SET phase = 'ERROR', end_time = clock_timestamp(), "
                    "query_pid = NULL, error_message = :m, error_code = :c, error_fatal = false "
                    "FROM old WHERE j.job_id = old.job_id "
                    "RETURNING old.query_pid, old.query_backend_start"
                ),
                {"id": job_id, "m": message, "c": code},
            ).first()
        if row is not None and row[0] is not None:
            self.cancel_query(row[0], row[1])
        return row is not None

    def recover_stale(self) -> list[str]:
        """EXECUTING jobs whose worker is gone (their advisory lock is free) -> ERROR.

        A statement the dead worker left running is cancelled too.
        """
        recovered: list[str] = []
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text(f"SELECT job_id, lock_key FROM {SCHEMA}.job WHERE phase = 'EXECUTING'")
            ).all()
            conn.commit()
            for job_id, key in rows:
                lock = {"c": LOCK_CLASS, "k": key or 0}
                if not conn.execute(sa.text("SELECT pg_try_advisory_lock(:c, :k)"), lock).scalar():
                    conn.commit()
                    continue
                try:
                    row = conn.execute(
                        sa.text(
                            f"WITH old AS (SELECT job_id, query_pid, query_backend_start "
                            f"FROM {SCHEMA}.job WHERE job_id = :id AND phase = 'EXECUTING' "
                            "AND lock_key IS NOT DISTINCT FROM :k FOR UPDATE) "
                            f"UPDATE {SCHEMA}.job j SET phase = 'ERROR', end_time = "
                            "clock_timestamp(), query_pid = NULL, error_message = :m, "
                            "error_code = :c, error_fatal = false FROM old "
                            "WHERE j.job_id = old.job_id "
                            "RETURNING old.query_pid, old.query_backend_start"
                        ),
                        {"id": job_id, "k": key, "m": STALE_MESSAGE, "c": STALE_CODE},
                    ).first()
                    conn.execute(
                        sa.text(
                            f"DELETE FROM {SCHEMA}.blob WHERE job_id = :id AND kind = '{RESULT}'"
                        ),
                        {"id": job_id},
                    )
                    conn.commit()
                finally:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:c, :k)"), lock)
                    conn.commit()
                if row is not None:
                    recovered.append(job_id)
                    if row[0] is not None:
                        self.cancel_query(row[0], row[1])
        return recovered

    def reap(self, now: dt.datetime | None = None) -> list[str]:
        """Destroy every job (and its results) whose destruction time has passed."""
        with self.engine.begin() as conn:
            rows = conn.execute(
                sa.text(
                    f"DELETE FROM {SCHEMA}.job WHERE destruction <= "
                    "coalesce(:now, clock_timestamp()) "
                    "RETURNING job_id, query_pid, query_backend_start"
                ),
                {"now": now},
            ).all()
        for _, pid, start in rows:
            if pid is not None:
                self.cancel_query(pid, start)
        return [row[0] for row in rows]

    # -- results and uploads --------------------------------------------------------------------

    def write_blob(
        self, conn: sa.Connection, job_id: str, *, kind: str, name: str, seq: int, data: bytes
    ) -> None:
        """Store one chunk (committed at once, so a running job holds no long transaction)."""
        with conn.begin():
            conn.execute(
                sa.text(
                    f"INSERT INTO {SCHEMA}.blob (job_id, kind, name, seq, data) "
                    "VALUES (:id, :kind, :name, :seq, :data)"
                ),
                {"id": job_id, "kind": kind, "name": name, "seq": seq, "data": data},
            )

    def write_input(self, job_id: str, name: str, seq: int, data: bytes) -> None:
        with self.engine.connect() as conn:
            self.write_blob(conn, job_id, kind=INPUT, name=name, seq=seq, data=data)

    def delete_input(self, job_id: str, name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.text(
                    f"DELETE FROM {SCHEMA}.blob WHERE job_id = :id "
                    f"AND kind = '{INPUT}' AND name = :n"
                ),
                {"id": job_id, "n": name},
            )

    def delete_blobs(self, job_id: str, kind: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.text(f"DELETE FROM {SCHEMA}.blob WHERE job_id = :id AND kind = :k"),
                {"id": job_id, "k": kind},
            )

    def read_blob(self, job_id: str, kind: str, name: str) -> Iterator[bytes]:
        """The chunks of a result or upload, fetched one at a time (one query per chunk)."""
        seq = 0
        while (data := self.read_chunk(job_id, kind, name, seq)) is not None:
            yield data
            seq += 1

    def read_chunk(self, job_id: str, kind: str, name: str, seq: int) -> bytes | None:
        """Chunk ``seq`` of a result or upload, None after the last."""
        with self.engine.connect() as conn:
            data = conn.execute(
                sa.text(
                    f"SELECT data FROM {SCHEMA}.blob WHERE job_id = :id AND kind = :k "
                    "AND name = :n AND seq = :s"
                ),
                {"id": job_id, "k": kind, "n": name, "s": seq},
            ).scalar()
        return None if data is None else bytes(data)

    def statuses(self) -> dict[str, int]:
        """Number of jobs per phase (for monitoring and tests)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text(f"SELECT phase, count(*) FROM {SCHEMA}.job GROUP BY phase")
            ).all()
        return {str(p): int(n) for p, n in rows}


def cancel_backend(engine: sa.Engine, pid: int, backend_start: dt.datetime | None) -> bool:
    """``pg_cancel_backend(pid)`` on ``engine``'s server, if that backend is still the one
    that started at ``backend_start``."""
    with engine.connect() as conn:
        cancelled = conn.execute(
            sa.text(
                "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE pid = :pid "
                "AND (CAST(:bs AS timestamptz) IS NULL OR backend_start = :bs)"
            ),
            {"pid": pid, "bs": backend_start},
        ).scalar()
        conn.commit()
    return bool(cancelled)
