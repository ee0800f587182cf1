"""A GraphQL client for tests that counts the SQL statements each request runs.

With the app served in the test's own process (:func:`tests.support.server.live_server`),
the client listens to the engine's ``before_cursor_execute`` events and counts the statements
each HTTP request runs; requests go over a real socket with httpx.
"""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa

from catalog.db import Database


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
