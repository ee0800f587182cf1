"""What a UWS job is: phases, parameters, the job record and the executor's contract.

A job's parameters are kept as the client sent them, keyed by the lower-cased name (DALI:
parameter names are case-insensitive, values are not). Which parameters mean something is
the executor's business; the job system stores every one, UWS control parameters aside.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

import sqlalchemy as sa

PENDING = "PENDING"
QUEUED = "QUEUED"
EXECUTING = "EXECUTING"
COMPLETED = "COMPLETED"
ERROR = "ERROR"
ABORTED = "ABORTED"
UNKNOWN = "UNKNOWN"
HELD = "HELD"
SUSPENDED = "SUSPENDED"
ARCHIVED = "ARCHIVED"

PHASES = (PENDING, QUEUED, EXECUTING, COMPLETED, ERROR, ABORTED, UNKNOWN, HELD, SUSPENDED,
          ARCHIVED)  # fmt: skip
# A WAIT blocks only while the job is in one of these (UWS 1.1 §2.2.1.1).
WAITABLE = frozenset({PENDING, QUEUED, EXECUTING})
# Phases an ABORT moves to ABORTED; a finished job stays as it is.
ABORTABLE = frozenset({PENDING, QUEUED, EXECUTING, HELD, SUSPENDED})
FINISHED = frozenset({COMPLETED, ERROR, ABORTED})

# Names a client uses to drive UWS itself; never stored as job parameters.
CONTROL_PARAMETERS = frozenset({"phase", "action", "destruction", "executionduration", "wait"})
RESULT_ID = "result"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def format_time(value: dt.datetime) -> str:
    """ISO 8601 UTC with ``T`` and ``Z``, millisecond precision (UWS 1.1 §2.2.1)."""
    utc = value.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class ErrorSummary:
    """Why a job ended in ERROR: ``message`` is what clients show; ``code`` is stable."""

    message: str
    code: str
    fatal: bool = True


@dataclass(frozen=True)
class ResultMeta:
    """The stored result of a COMPLETED job."""

    content_type: str
    size: int
    rows: int | None = None


@dataclass(frozen=True)
class Job:
    """One job as stored. ``parameters``: lower-cased name -> values, in the order sent."""

    job_id: str
    phase: str
    run_id: str | None
    owner_id: str | None
    creation_time: dt.datetime
    start_time: dt.datetime | None
    end_time: dt.datetime | None
    quote: dt.datetime | None
    execution_duration: int
    destruction: dt.datetime | None
    parameters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    inputs: tuple[str, ...] = ()
    error: ErrorSummary | None = None
    result: ResultMeta | None = None
    # What the host derived from the creating request (its public URL...): the query runs
    # with these transaction settings, as the synchronous query of that request would.
    context: Mapping[str, str] = field(default_factory=dict)

    def parameter(self, name: str) -> str | None:
        """The (last) value of a parameter, by case-insensitive name, or None."""
        values = self.parameters.get(name.lower())
        return values[-1] if values else None


@dataclass(frozen=True)
class ResultInfo:
    """What an executor says about the result it wrote: its media type and row count."""

    content_type: str
    rows: int | None = None


class ResultSink(Protocol):
    """Where an executor writes the result bytes; they go to the database in chunks."""

    def write(self, data: bytes) -> None: ...


class RunningJob(Protocol):
    """What an executor is given: the job's parameters and how to reach the database.

    ``connect()`` opens a connection to the query database inside a transaction whose
    ``statement_timeout`` is what remains of the job's execution duration, and records its
    backend so that an ABORT (from any server process) cancels the running statement.
    ``read_write=True`` starts that transaction READ WRITE (before anything else runs in
    it), for executors that create temporary tables on a login that is read-only by
    default. ``upload(name)`` streams an inline upload (a multipart file of the create request).
    """

    @property
    def job(self) -> Job: ...

    @property
    def remaining_seconds(self) -> float | None: ...

    def connect(self, *, read_write: bool = False) -> AbstractContextManager[sa.Connection]: ...

    def upload(self, name: str) -> Iterator[bytes]: ...


Executor = Callable[[RunningJob, ResultSink], ResultInfo]
"""``execute(job, sink) -> ResultInfo``: runs the job, writes its result to ``sink``.

Raise a :class:`tap.errors.TapError` for anything the user caused (its ``message`` becomes
the job's error summary); any other exception is logged and reported as an internal error.
"""
