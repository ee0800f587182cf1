"""A real HTTP server for GraphQL tests, and a client that counts SQL statements per request.

The server is uvicorn serving ``create_app(db)`` in a thread of the test process, so the
test can listen to the engine's ``before_cursor_execute`` events and count the statements
each HTTP request runs. Requests go over a real socket with httpx.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import sqlalchemy as sa
import uvicorn

from catalog.app import create_app
from catalog.config import Settings
from catalog.db import Database
from tests.clirun import free_port
from tests.conftest import TEST_AUTHORITY, database_url


@contextmanager
def live_server(db: Database, app: Any = None) -> Iterator[str]:
    """Serve ``app`` (default: ``create_app(db)``) on a free port; yield its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app or create_app(db), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class GraphQLClient:
    """POSTs queries to /graphql; ``statements`` is the count of the last request."""

    def __init__(self, base: str, db: Database) -> None:
        self.url = base + "/graphql"
        self.http = httpx.Client(timeout=60)
        self.statements = 0
        self._sql: list[str] = []
        sa.event.listen(db.read_engine, "before_cursor_execute", self._count)

    def _count(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self._sql.append(statement)

    def post(self, query: str, variables: dict[str, Any] | None = None, **extra: Any) -> Any:
        self._sql.clear()
        response = self.http.post(
            self.url, json={"query": query, "variables": variables or {}, **extra}
        )
        self.statements = len(self._sql)
        self.sql = list(self._sql)
        return response

    def run(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The response body of a query that must succeed."""
        response = self.post(query, variables)
        body: dict[str, Any] = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, body["errors"]
        return body["data"]  # type: ignore[no-any-return]

    def errors(self, query: str, variables: dict[str, Any] | None = None) -> list[Any]:
        """The errors of a query that must fail."""
        body = self.post(query, variables).json()
        assert body.get("errors"), body
        return body["errors"]  # type: ignore[no-any-return]

    def close(self) -> None:
        self.http.close()


@contextmanager
def module_database(admin_engine: sa.Engine, server_url: str, template: str) -> Iterator[Database]:
    """A migrated database shared by one test module (read-only tests)."""
    name = f"hlsp_gql_{uuid.uuid4().hex[:10]}"
    with admin_engine.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name} TEMPLATE {template}"))
    db = Database(database_url(server_url, name), settings=Settings(ivoa_authority=TEST_AUTHORITY))
    try:
        yield db
    finally:
        db.dispose()
        with admin_engine.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
