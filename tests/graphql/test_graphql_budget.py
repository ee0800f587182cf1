"""A request's time and connection are bounded: budget, disconnects, an unavailable database.

A slow statement is made with a lock: a test session holds ``hlsp.product`` exclusively, so
the request's statement waits on it (a real statement in PostgreSQL, which only a cancel,
a timeout or the lock's release ends). The statement timeout is set far above the budget,
so only the budget (or the client leaving) can stop it. Waits are bounded (a hang
detector), durations are never asserted.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.routing import Route

from catalog.config import GraphQLSettings, Settings
from catalog.db import Database, create_engine
from catalog.graphql.endpoint.view import graphql_app
from tests.support.db import locked_table
from tests.support.server import free_port, live_server

SLOW = "{ products { totalCount } }"
LONG_STATEMENTS = 120_000  # ms: far beyond every wait below


def _app(db: Database, **limits: Any) -> Starlette:
    settings = GraphQLSettings(**limits)
    return Starlette(routes=[Route("/graphql", graphql_app(db, settings), methods=["GET", "POST"])])


def lock_waiters(watcher: sa.Engine) -> list[int]:
    """Backends of this database waiting on a lock (the blocked GraphQL statements)."""
    with watcher.connect() as conn:
        return list(
            conn.execute(
                sa.text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                )
            ).scalars()
        )


def busy_backends(watcher: sa.Engine, skip: set[int]) -> list[tuple[int, str]]:
    """Backends of this database that are not idle (running, or in a transaction)."""
    with watcher.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT pid, state FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' AND pid <> pg_backend_pid() "
                "AND state <> 'idle'"
            )
        ).all()
    return [(pid, state) for pid, state in rows if pid not in skip]


def lock_holder(watcher: sa.Engine) -> set[int]:
    with watcher.connect() as conn:
        return set(
            conn.execute(
                sa.text(
                    "SELECT pid FROM pg_locks WHERE relation = 'hlsp.product'::regclass "
                    "AND mode = 'AccessExclusiveLock' AND granted"
                )
            ).scalars()
        )


def eventually(check: Callable[[], bool], seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def test_a_request_past_its_budget_is_cancelled_with_its_statement(api_db: Database) -> None:
    app = _app(api_db, request_timeout_ms=1000, statement_timeout_ms=LONG_STATEMENTS)
    with live_server(app) as base, locked_table(api_db) as lock:
        watcher = lock.engine
        holder = lock_holder(watcher)
        response = httpx.post(base + "/graphql", json={"query": SLOW}, timeout=30)
        body = response.json()
        assert body["data"] is None
        assert body["errors"][0]["extensions"] == {"code": "QUERY_TIMEOUT", "timeoutMs": 1000}
        assert "1000 ms" in body["errors"][0]["message"]
        # the statement no longer waits, the transaction is over, the connection is back
        assert eventually(lambda: not lock_waiters(watcher))
        assert eventually(lambda: not busy_backends(watcher, holder))
        assert eventually(lambda: api_db.read_engine.pool.checkedout() == 0)  # type: ignore[attr-defined]
    # and the server still answers
    with live_server(app) as base:
        again = httpx.post(base + "/graphql", json={"query": SLOW}, timeout=30).json()
        assert again == {"data": {"products": {"totalCount": 11}}}


def test_a_client_that_goes_away_frees_its_statement_and_connection(api_db: Database) -> None:
    app = _app(api_db, request_timeout_ms=LONG_STATEMENTS, statement_timeout_ms=LONG_STATEMENTS)
    with live_server(app) as base, locked_table(api_db) as lock:
        watcher = lock.engine
        holder = lock_holder(watcher)
        host, port = base.removeprefix("http://").split(":")
        body = json.dumps({"query": SLOW}).encode()
        head = (
            f"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            sock.sendall(head + body)
            assert eventually(lambda: bool(lock_waiters(watcher)))  # the statement waits
        # the client has closed its socket: the statement must go, the lock still held
        assert eventually(lambda: not lock_waiters(watcher))
        assert eventually(lambda: not busy_backends(watcher, holder))
        assert eventually(lambda: api_db.read_engine.pool.checkedout() == 0)  # type: ignore[attr-defined]


def test_a_connection_lost_mid_request_is_service_unavailable(api_db: Database) -> None:
    app = _app(api_db, statement_timeout_ms=LONG_STATEMENTS)
    with live_server(app) as base, locked_table(api_db) as lock:
        watcher = lock.engine
        answer: dict[str, httpx.Response] = {}
        request = threading.Thread(
            target=lambda: answer.setdefault(
                "r", httpx.post(base + "/graphql", json={"query": SLOW}, timeout=30)
            )
        )
        request.start()
        assert eventually(lambda: bool(lock_waiters(watcher)))
        with watcher.connect() as conn:
            for pid in lock_waiters(watcher):
                conn.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        request.join(30)
    response = answer["r"]
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert "connection lost" in error["message"]


def test_an_exhausted_pool_is_service_unavailable(api_db: Database) -> None:
    db = Database(api_db.url, settings=Settings())
    db.__dict__["read_engine"] = create_engine(
        api_db.url, pool_size=1, max_overflow=0, pool_timeout=0.5
    )
    try:
        with live_server(_app(db)) as base:
            with db.read_engine.connect():  # the only connection, taken
                response = httpx.post(base + "/graphql", json={"query": SLOW}, timeout=30)
            assert response.status_code == 503
            assert response.headers["retry-after"] == "5"
            error = response.json()["errors"][0]
            assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
            assert "every database connection is in use" in error["message"]
            # free again: served
            response = httpx.post(base + "/graphql", json={"query": SLOW}, timeout=30)
            assert response.json() == {"data": {"products": {"totalCount": 11}}}
    finally:
        db.dispose()


def test_an_unreachable_database_is_service_unavailable() -> None:
    db = Database(f"postgresql://nobody@127.0.0.1:{free_port()}/hlsp", settings=Settings())
    try:
        with live_server(_app(db)) as base:
            response = httpx.post(base + "/graphql", json={"query": SLOW}, timeout=30)
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert response.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    finally:
        db.dispose()


def test_settings_of_the_bounds_from_the_environment(monkeypatch: Any) -> None:
    import pytest

    from catalog.errors import ConfigError

    monkeypatch.setenv("HLSP_GRAPHQL_MAX_BODY_BYTES", "4096")
    monkeypatch.setenv("HLSP_GRAPHQL_REQUEST_TIMEOUT", "2500")
    monkeypatch.setenv("HLSP_GRAPHQL_MAX_NODES", "900")
    settings = GraphQLSettings.from_env()
    assert (settings.max_body_bytes, settings.request_timeout_ms, settings.max_nodes) == (
        4096,
        2500,
        900,
    )
    monkeypatch.setenv("HLSP_GRAPHQL_REQUEST_TIMEOUT", "0")
    with pytest.raises(ConfigError, match="HLSP_GRAPHQL_REQUEST_TIMEOUT must lie in"):
        GraphQLSettings.from_env()
