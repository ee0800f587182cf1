"""How the catalog model answers the queries TAP and GraphQL will send, at 10^4 and 10^6 products.

For each size: a fresh database (migrated as in production), N products at random positions
(uniform on the sphere, fixed seed), ANALYZE, then timed queries on ``ivoa.obscore``:

  cone     0.1° cone through the GiST index on hlsp.product.pos
  cone-seq the same cone with index scans disabled: the baseline, in the same run
  facet    count by instrument_name (a facet panel)
  top1000  the first 1000 rows, all columns (a TOP 1000 without constraint)

Latency is measured in-process over psycopg (no HTTP): it is the floor the TAP and GraphQL
layers build on. Usage:

    uv run python benchmarks/spatial.py [--sizes 10000 1000000] [--repeat 200]

Uses a throwaway embedded cluster (durable settings, as a real install), or the server
HLSP_TEST_DATABASE_URL points at.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import psycopg

from catalog.config import Settings
from catalog.db import Database

sys.path.append(str(Path(__file__).resolve().parents[1]))  # for benchmarks.synthetic
from benchmarks.synthetic import admin_server, scratch_database

INSTRUMENTS = ["WFC3", "ACS", "NIRCam", "MIRI", "Photometer", "Kepler", "GALEX", "COS"]

LOAD = """
SELECT setseed(0.42);
INSERT INTO hlsp.collection (hlsp_id) VALUES ('bench') ON CONFLICT DO NOTHING;
INSERT INTO hlsp.product (collection_id, file_name, file_path, file_bytes, file_mtime,
                          instrument, dataproduct_type, pos, t_min, t_max)
SELECT (SELECT collection_id FROM hlsp.collection WHERE hlsp_id = 'bench'),
       'hlsp_bench_x_y_t' || g || '_f_v1_img.fits', '/bench/' || g, 2880 * 100, now(),
       (ARRAY%(instruments)s)[1 + (g %% 8)],
       (ARRAY['image','spectrum','timeseries'])[1 + (g %% 3)],
       spoint(radians(360 * random()), asin(2 * random() - 1)),
       58000 + g %% 3000, 58000 + g %% 3000 + 1
FROM generate_series(1, %(n)s) g;
ANALYZE hlsp.product;
"""

QUERIES = {
    "cone": "SELECT obs_id, s_ra, s_dec, access_url FROM ivoa.obscore "
    "WHERE pos <@ scircle(spoint(radians(%(ra)s), radians(%(dec)s)), radians(0.1))",
    "facet": "SELECT instrument_name, count(*) FROM ivoa.obscore GROUP BY instrument_name",
    "top1000": "SELECT * FROM ivoa.obscore LIMIT 1000",
}


def timed(conn: psycopg.Connection, sql: str, repeat: int, seq: bool = False) -> list[float]:
    times = []
    with conn.cursor() as cur:
        if seq:
            cur.execute("SET enable_indexscan = off; SET enable_bitmapscan = off")
        for i in range(repeat):
            params = {"ra": (i * 37.1) % 360, "dec": ((i * 13.7) % 170) - 85}
            t0 = time.perf_counter()
            cur.execute(sql, params, prepare=False)  # plan each time, as TAP will
            cur.fetchall()
            times.append((time.perf_counter() - t0) * 1000)
        if seq:
            cur.execute("RESET enable_indexscan; RESET enable_bitmapscan")
    return times


def summary(times: list[float]) -> str:
    p50 = statistics.median(times)
    p95 = statistics.quantiles(times, n=20)[18] if len(times) >= 20 else max(times)
    return f"p50 {p50:8.2f} ms   p95 {p95:8.2f} ms"


def run_size(admin_url: str, n: int, repeat: int) -> None:
    with scratch_database(admin_url) as url:
        db = Database(url, settings=Settings())
        db.migrate()
        db.dispose()
        with psycopg.connect(url, autocommit=True) as conn:
            t0 = time.perf_counter()
            conn.execute(LOAD % {"instruments": str(INSTRUMENTS), "n": n})  # type: ignore[call-overload]
            load = time.perf_counter() - t0
            print(f"\n{n:,} products (loaded and indexed in {load:.1f} s, {n / load:,.0f} rows/s)")
            cone = timed(conn, QUERIES["cone"], repeat)
            seq = timed(conn, QUERIES["cone"], max(5, repeat // 20), seq=True)
            print(f"  cone 0.1°      {summary(cone)}")
            print(
                f"  cone, no index {summary(seq)}   -> index speed-up "
                f"{statistics.median(seq) / statistics.median(cone):,.0f}x"
            )
            print(
                f"  facet count    {summary(timed(conn, QUERIES['facet'], max(5, repeat // 10)))}"
            )
            print(
                f"  top 1000       {summary(timed(conn, QUERIES['top1000'], max(5, repeat // 4)))}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    print(f"machine: {platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with admin_server() as admin_url:
        for n in args.sizes:
            run_size(admin_url, n, args.repeat)


if __name__ == "__main__":
    main()
