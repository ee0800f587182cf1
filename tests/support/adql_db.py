"""A small published schema with known rows, for executing translated ADQL in PostgreSQL.

``cat.src``: five sources (positions, magnitudes, footprints, STC-S text); ``cat.obs``:
observations of them; ``cat.private``: a table that is *not* published. Queries run as
the role ``adql_reader_*`` (SELECT on the published tables only) in a read-only transaction
with a statement timeout, as the TAP service runs them.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

from tap.adql import Translation, translate
from tap.metadata import Column, Schema, Table, TapMetadata

READER = f"adql_reader_{uuid.uuid4().hex[:8]}"  # roles are cluster-wide: one per session

SCHEMA_SQL = """
CREATE EXTENSION IF NOT EXISTS pg_sphere;
CREATE SCHEMA cat;
CREATE TABLE cat.src (
    id integer PRIMARY KEY, name text, ra double precision, dec double precision,
    pos spoint, mag real, "size" double precision, flux double precision,
    obs_time timestamp, tags text, footprint spoly, s_region text, secret text
);
INSERT INTO cat.src (id, name, ra, dec, mag, "size", flux, obs_time, tags) VALUES
    (1, 'Alpha Cen', 10.0, 20.0, 12.5, 1.0, 2.5, '2020-01-01T00:00:00', 'star#bright'),
    (2, 'beta', 10.5, 20.0, 13.0, 2.0, NULL, '2020-06-01T12:00:00', 'star'),
    (3, 'gamma', 11.0, 20.0, 14.5, 3.0, 1.0, NULL, 'galaxy#faint'),
    (4, 'delta', 200.0, -45.0, 9.0, 4.0, 7.0, '2021-01-01T00:00:00', NULL),
    (5, NULL, 359.9, 0.0, NULL, 5.0, 3.0, NULL, 'star#faint');
UPDATE cat.src SET pos = spoint(radians(ra), radians(dec)),
    footprint = spoly(format('{(%sd,%sd),(%sd,%sd),(%sd,%sd),(%sd,%sd)}',
        ra - 0.2, dec - 0.2, ra + 0.2, dec - 0.2, ra + 0.2, dec + 0.2, ra - 0.2, dec + 0.2)),
    s_region = format('Polygon ICRS %s %s %s %s %s %s %s %s',
        ra - 0.2, dec - 0.2, ra + 0.2, dec - 0.2, ra + 0.2, dec + 0.2, ra - 0.2, dec + 0.2);
CREATE INDEX src_pos_idx ON cat.src USING gist (pos);
CREATE INDEX src_footprint_idx ON cat.src USING gist (footprint);
ANALYZE cat.src;
CREATE TABLE cat.obs (obs_id text, id integer, band text, wl double precision);
INSERT INTO cat.obs VALUES ('o1', 1, 'V', 5.5e-7), ('o2', 1, 'R', 6.5e-7), ('o3', 2, 'V', 5.5e-7),
    ('o4', 4, 'K', 2.2e-6);
CREATE TABLE cat.private (id integer, password text);
INSERT INTO cat.private VALUES (1, 'hunter2');
CREATE ROLE {reader} NOLOGIN;
GRANT USAGE ON SCHEMA cat TO {reader};
GRANT SELECT ON cat.src, cat.obs TO {reader};
"""


def _col(name: str, sql_type: str, datatype: str, **kw: Any) -> Column:
    return Column(name, sql_type, datatype, f"the {name}", **kw)


SRC = Table(
    "cat",
    "src",
    "sources",
    (
        _col("id", "integer", "int", ucd="meta.id;meta.main"),
        _col("name", "text", "unicodeChar", arraysize="*"),
        _col("ra", "double precision", "double", unit="deg", ucd="pos.eq.ra"),
        _col("dec", "double precision", "double", unit="deg", ucd="pos.eq.dec"),
        _col("pos", "spoint", "double", arraysize="2", xtype="point", unit="deg"),
        _col("mag", "real", "float", unit="mag"),
        _col('"size"', "double precision", "double", unit="arcsec"),
        _col("flux", "double precision", "double", unit="mJy"),
        _col("obs_time", "timestamp", "char", arraysize="*", xtype="timestamp"),
        _col("tags", "text", "unicodeChar", arraysize="*"),
        _col(
            "s_region", "text", "char", arraysize="*", xtype="adql:REGION", sql_geometry="footprint"
        ),
    ),
    point_columns=(("ra", "dec", "pos"),),
)
OBS = Table(
    "cat",
    "obs",
    "observations",
    (
        _col("obs_id", "text", "unicodeChar", arraysize="*"),
        _col("id", "integer", "int"),
        _col("band", "text", "unicodeChar", arraysize="*"),
        _col("wl", "double precision", "double", unit="m"),
    ),
)
METADATA = TapMetadata((Schema("cat", "test catalogue"),), (SRC, OBS))


class AdqlDatabase:
    def __init__(self, url: str) -> None:
        self.url = url
        self.metadata = METADATA

    def translate(self, adql: str, **kw: Any) -> Translation:
        kw.setdefault("row_limit", 1000)
        return translate(adql, kw.pop("metadata", self.metadata), **kw)

    def execute(self, sql: str, *, setup: tuple[str, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            for statement in setup:
                conn.execute(statement)
            with conn.transaction():
                conn.execute("SET TRANSACTION READ ONLY")
                conn.execute("SET LOCAL statement_timeout = '10s'")
                conn.execute(f"SET LOCAL ROLE {READER}")
                return conn.execute(sql).fetchall()

    def rows(self, adql: str, **kw: Any) -> list[tuple[Any, ...]]:
        return self.execute(self.translate(adql, **kw).sql)

    def ids(self, adql: str) -> list[int]:
        return sorted(r[0] for r in self.rows(adql))

    def explain(self, adql: str) -> str:
        sql = self.translate(adql).sql
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("SET enable_seqscan = off")
            plan = conn.execute("EXPLAIN " + sql).fetchall()
        return "\n".join(r[0] for r in plan)
