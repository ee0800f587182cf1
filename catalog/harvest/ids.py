"""Ids drawn from PostgreSQL's serial sequences, a batch at a time."""

from __future__ import annotations

from typing import Any

import psycopg


class Sequences:
    """Ids drawn from the serial sequences of one database, many per statement.

    ``pg_get_serial_sequence`` is looked up once per column: called in the statement, it
    would run (catalog lookups and all) once per id drawn."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.oids: dict[tuple[str, str], int] = {}

    def draw(self, table: str, column: str, count: int) -> list[int]:
        """``count`` new ids for ``table.column``, in increasing order."""
        if count <= 0:
            return []
        with self.conn.cursor() as cur:
            oid = self.oids.get((table, column))
            if oid is None:
                cur.execute("SELECT pg_get_serial_sequence(%s, %s)::regclass::oid", (table, column))
                row = cur.fetchone()
                if row is None or row[0] is None:
                    raise ValueError(f"{table}.{column} is not a serial column")
                oid = self.oids[(table, column)] = int(row[0])
            cur.execute(
                "SELECT nextval(%s::oid::regclass) FROM generate_series(1, %s)", (oid, count)
            )
            return [int(row[0]) for row in cur.fetchall()]
