"""When the database, not a file, is what failed: telling the two apart, and saying so.

A harvest meets two kinds of PostgreSQL errors. Some are a product's fault (a value breaks a
constraint, a polygon pg_sphere refuses): the loader records that file as failed and goes
on. The others are the database's: the server went away (shut down, crashed, restarted, the
connection cut) or cannot do any work (its files unreadable or unwritable, its disk full, a
read-only server, a missing privilege). No file is to blame for those and no later file
would fare better: the run stops and says so in one message with a stable code
(:class:`~catalog.errors.DatabaseUnavailable`, HLSP-020, or
:class:`~catalog.errors.DatabaseFailure`, HLSP-022), whichever process met the error. Every
batch committed before stays; the next run completes the work.
"""

from __future__ import annotations

import psycopg

from catalog.errors import CatalogError, DatabaseFailure, DatabaseUnavailable

_SERVER_CLASSES = frozenset(
    {
        "08",  # connection exception
        "53",  # insufficient resources: disk full, out of memory, too many connections
        "57",  # operator intervention: shutdown, crash, cancelled, database dropped
        "58",  # system error: I/O, a file missing
    }
)
_SERVER_STATES = frozenset(
    {
        "42501",  # insufficient privilege (the role's, or the server's on its own files)
        "25006",  # read-only transaction (a standby, default_transaction_read_only)
        "XX001",  # data corrupted
        "XX002",  # index corrupted
    }
)
_GONE_STATES = frozenset({"57P01", "57P02", "57P03", "57P04"})
"""Shut down, crashed, starting up, the database dropped: the server is away."""


def is_outage(error: psycopg.Error) -> bool:
    """True when the database, not the data sent, is what failed."""
    state = error.sqlstate
    if state is None:  # raised by the client: the connection is lost or could not be made
        return isinstance(error, psycopg.OperationalError | psycopg.InterfaceError)
    return state[:2] in _SERVER_CLASSES or state in _SERVER_STATES


def _reason(error: psycopg.Error) -> str:
    """The first line of the server's or the client's message (libpq adds lines of advice)."""
    text = str(error).strip()
    return text.splitlines()[0].strip() if text else type(error).__name__


def database_error(error: psycopg.Error, run_id: int | None = None) -> CatalogError:
    """The one message a harvest stopped by ``error`` (an outage) ends with."""
    during = f" during harvest run {run_id}" if run_id is not None else ""
    state = error.sqlstate
    if state is None or state[:2] == "08" or state in _GONE_STATES:
        return DatabaseUnavailable(
            f"The database went away{during}: {_reason(error)}",
            hint="Every batch committed before is kept. Start the database again ('hlsp db "
            "start' for the embedded one) and run the same command: it completes the work.",
        )
    return DatabaseFailure(
        f"The database failed{during}: {_reason(error)} (SQLSTATE {state})",
        hint="Every batch committed before is kept. Fix what the server reports (its log "
        "says more: permissions on its data directory, disk space, a read-only server, the "
        "role's privileges), then run the same command again: it completes the work.",
    )
