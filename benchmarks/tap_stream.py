"""TAP result streaming: 1,000,000 rows from PostgreSQL to BINARY2 bytes, rows/s and peak RSS.

A table of N rows shaped like a realistic result (long id, two doubles, a short text, an
int, a timestamp, a nullable double and a point), queried as the ADQL translator would
(the spoint column as a ``double precision[]`` in degrees), and written as VOTable
BINARY2 by each of:

  fast      tap.votable.query_result: PostgreSQL encodes the rows (the default path)
  generic   the same with fast=False: rows fetched as Python values, encoded in Python
  fetch     baseline: the server-side cursor alone, rows fetched and dropped (no output)
  astropy   baseline: rows fetched with psycopg, an astropy Table built, written BINARY2
            (what a service built on astropy would do; the whole result in memory)

Each variant runs in its own process so its peak RSS (ru_maxrss) is its own; the output
bytes are counted and thrown away. Besides wall-clock rows/s, the CPU time of the client
process and of its PostgreSQL backend (from /proc, local servers only) is reported per
row: on a shared machine the wall clock depends on the neighbours, CPU time much less.
"CPU-bound rows/s" is 1 / max(client, server) CPU per row: the rate with one free core
each for the client and the database (they work in parallel: the client reads ahead
while the server computes). Start-up (imports) is not counted. Usage:

    uv run python benchmarks/tap_stream.py [--rows 1000000] [--repeat 3] [--skip astropy]

Uses a throwaway embedded cluster (durable settings), or the server HLSP_TEST_DATABASE_URL
points at. The machine is shared: compare variants within one run, not across runs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from tap.metadata import Column

COLUMNS = (
    Column("id", "bigint", "long", "identifier"),
    Column("ra", "double precision", "double", "right ascension", unit="deg"),
    Column("dec", "double precision", "double", "declination", unit="deg"),
    Column("name", "text", "unicodeChar", "object name", arraysize="*"),
    Column("n", "integer", "int", "a count"),
    Column("t", "timestamp", "char", "observation time", arraysize="*", xtype="timestamp"),
    Column("mag", "double precision", "double", "magnitude, NULL for one row in 7"),
    Column("pos", "spoint", "double", "position", arraysize="2", xtype="point", unit="deg"),
)
QUERY = (
    "SELECT id, ra, dec, name, n, t, mag, ARRAY[degrees(long(pos)), degrees(lat(pos))] AS pos"
    " FROM bench_src"
)
LOAD = """
SELECT setseed(0.42);
CREATE TABLE bench_src AS
SELECT i::bigint AS id, 360 * random() AS ra, degrees(asin(2 * random() - 1)) AS dec,
       'obj_' || i AS name, (i % 1000)::int AS n,
       timestamp '2020-01-01' + i * interval '1.5 second' AS t,
       CASE WHEN i % 7 = 0 THEN NULL ELSE 10 + 10 * random() END AS mag
FROM generate_series(1, {n}) AS i;
ALTER TABLE bench_src ADD COLUMN pos spoint;
UPDATE bench_src SET pos = spoint(radians(ra), radians(dec));
VACUUM ANALYZE bench_src;
"""
VARIANTS = ("fast", "generic", "fetch", "astropy")


def _server_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a local PostgreSQL backend, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child(variant: str, url: str) -> dict[str, float]:
    """Run one variant in this process; return rows, bytes, seconds, CPU, peak RSS."""
    from tap.votable import query_result, stream_rows

    if variant == "astropy":
        from astropy.io.votable import from_table  # noqa: F401 - imported before the clock starts
    start = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    size = rows = 0
    with psycopg.connect(url) as conn:
        backend = conn.info.backend_pid
        server0 = _server_cpu(backend)
        if variant in ("fast", "generic"):
            for chunk in query_result(conn, QUERY, COLUMNS, "votable/b2", fast=variant == "fast"):
                size += len(chunk)
            rows = conn.execute("SELECT count(*) FROM bench_src").fetchone()[0]  # type: ignore[index]
        elif variant == "fetch":
            for _ in stream_rows(conn, QUERY):
                rows += 1
        else:
            size, rows = astropy_write(conn)
        server = _server_cpu(backend) - server0
    seconds = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "rows": rows,
        "bytes": size,
        "seconds": seconds,
        "rss_mb": usage.ru_maxrss / 1024,
        "client_cpu": usage.ru_utime + usage.ru_stime - start.ru_utime - start.ru_stime,
        "server_cpu": server,
    }


def astropy_write(conn: psycopg.Connection) -> tuple[int, int]:
    import io

    import numpy as np
    from astropy.io.votable import from_table
    from astropy.table import MaskedColumn, Table

    data = conn.execute(QUERY).fetchall()
    columns = list(zip(*data, strict=True))
    table = Table()
    for column, values in zip(COLUMNS, columns, strict=True):
        if column.name == "mag":
            table[column.name] = MaskedColumn(
                [v if v is not None else np.nan for v in values], mask=[v is None for v in values]
            )
        elif column.name == "t":
            table[column.name] = [v.isoformat() for v in values]
        else:
            table[column.name] = list(values)
    votable = from_table(table)
    out = io.BytesIO()
    votable.to_xml(out, tabledata_format="binary2")
    return len(out.getvalue()), len(data)


def run(url: str, variant: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", variant, "--url", url],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip", nargs="*", default=[], choices=VARIANTS)
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.url)))
        return
    print(f"machine: {platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    external = os.environ.get("HLSP_TEST_DATABASE_URL")
    scratch = Path(tempfile.mkdtemp(prefix="hlsp-bench-"))
    scratch.chmod(0o755)
    cluster = None
    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin_url = external or ""
    try:
        if not external:
            from catalog.embedded import EmbeddedCluster

            cluster = EmbeddedCluster(scratch / "cluster", durable=True)
            cluster.start()
            admin_url = cluster.url("postgres")
        with psycopg.connect(admin_url, autocommit=True) as admin:
            version = admin.execute("SHOW server_version").fetchone()
            print(f"server: PostgreSQL {version[0] if version else '?'}")
            admin.execute(f"CREATE DATABASE {name}")
        url = (
            admin_url.replace("/postgres?", f"/{name}?")
            if "/postgres?" in admin_url
            else admin_url.rsplit("/", 1)[0] + f"/{name}"
        )
        print(
            "\n| rows | variant | rows/s (best) | rows/s (median) | client CPU µs/row"
            " | server CPU µs/row | CPU-bound rows/s | MB out | peak RSS MB |"
        )
        print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
        for n in args.rows:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_sphere")
                conn.execute("DROP TABLE IF EXISTS bench_src")
                for statement in LOAD.replace("{n}", str(int(n))).split(";"):
                    if statement.strip():
                        conn.execute(statement)  # type: ignore[call-overload]
            for variant in VARIANTS:
                if variant in args.skip:
                    continue
                results = [run(url, variant) for _ in range(args.repeat)]
                speeds = [r["rows"] / r["seconds"] for r in results]
                client = min(r["client_cpu"] for r in results) / n * 1e6
                server = min(r["server_cpu"] for r in results) / n * 1e6
                print(
                    f"| {n:,} | {variant} | {max(speeds):,.0f} | {statistics.median(speeds):,.0f}"
                    f" | {client:.2f} | {server:.2f} | {1e6 / max(client, server):,.0f}"
                    f" | {results[0]['bytes'] / 1e6:,.1f}"
                    f" | {max(r['rss_mb'] for r in results):,.0f} |",
                    flush=True,
                )
        print(f"load average at end: {os.getloadavg()[0]:.2f}")
    finally:
        if admin_url:
            with psycopg.connect(admin_url, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if cluster is not None:
            cluster.destroy()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
