"""Shared by the service benchmarks: a throwaway server, a catalog of N synthetic products
filled by SQL, the ``hlsp serve`` process, and percentiles.

The synthetic catalog (generate_series, seeded): 8 collections of skewed sizes, 12
instruments on 5 observatories, positions around N/4 shared targets spread uniformly on the
sky, time ranges over 27 years, 5 wavelength bands, verdicts 60/25/15 % PASS/NEEDS
REVIEW/FAIL, then ANALYZE. Building 10^6 products takes one to two minutes.
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg

from catalog.config import Settings
from catalog.db import Database
from catalog.embedded import EmbeddedCluster

LOAD = """
SELECT setseed(0.42);
INSERT INTO hlsp.collection (hlsp_id, title, description)
SELECT 'bench' || i, 'Benchmark collection ' || i, 'Synthetic products for the benchmark'
FROM generate_series(1, 8) i;
INSERT INTO hlsp.target (name, pos, object_type)
SELECT 'BT ' || g, spoint(radians(360 * random()), asin(2 * random() - 1)),
       (ARRAY['star', 'galaxy', 'field'])[1 + g %% 3]
FROM generate_series(1, %(targets)s) g;
INSERT INTO hlsp.target_alias (name_key, target_id, name)
SELECT 'bt' || substr(name, 4), target_id, name FROM hlsp.target;
INSERT INTO hlsp.product (collection_id, file_name, file_path, file_bytes, file_mtime,
    observatory, telescope, instrument, dataproduct_type, pos, t_min, t_max, em_min, em_max,
    verdict, target_name, product_type)
SELECT c.collection_id, 'hlsp_bench_t' || g || '_v1_img.fits', '/bench/' || g,
       2880 * (10 + g %% 1000), now(), i.obs, i.obs, i.instrument, i.kind,
       spoint(long(t.pos) + radians(0.01 * random()), lat(t.pos) * 0.999),
       50000 + x.t0, 50000 + x.t0 + 30 * random(), b.lo, b.hi,
       CASE WHEN x.r < 0.6 THEN 'PASS' WHEN x.r < 0.85 THEN 'NEEDS REVIEW' ELSE 'FAIL' END,
       t.name, 'img'
FROM generate_series(1, %(n)s) g
CROSS JOIN LATERAL (SELECT random() + 0 * g AS r, 10000 * random() + 0 * g AS t0,
                           1 + floor(8 * power(random() + 0 * g, 2))::int AS coll) x
JOIN hlsp.collection c ON c.hlsp_id = 'bench' || x.coll
JOIN (VALUES (0, 'HST', 'ACS/WFC', 'image'), (1, 'HST', 'WFC3/UVIS', 'image'),
             (2, 'HST', 'COS', 'spectrum'), (3, 'JWST', 'NIRCam', 'image'),
             (4, 'JWST', 'NIRSpec', 'cube'), (5, 'JWST', 'MIRI', 'image'),
             (6, 'TESS', 'Photometer', 'timeseries'), (7, 'K2', 'Kepler', 'timeseries'),
             (8, 'GALEX', 'GALEX', 'image'), (9, 'HST', 'STIS', 'spectrum'),
             (10, 'PS1', 'GPC1', 'image'), (11, 'TESS', 'Photometer', 'timeseries'))
     AS i(k, obs, instrument, kind) ON i.k = (x.coll * 3 + g %% 3) %% 12
JOIN (VALUES (0, 1.1e-7, 1.8e-7), (1, 4e-7, 7e-7), (2, 6e-7, 1e-6), (3, 1.2e-6, 1.7e-6),
             (4, 2.5e-6, 5e-6)) AS b(k, lo, hi) ON b.k = g %% 5
JOIN hlsp.target t ON t.name = 'BT ' || (1 + g %% %(targets)s);
INSERT INTO hlsp.product_target (product_id, target_id)
SELECT p.product_id, t.target_id FROM hlsp.product p JOIN hlsp.target t ON t.name = p.target_name;
ANALYZE;
"""


def percentiles(times: list[float]) -> tuple[float, float]:
    p95 = statistics.quantiles(times, n=20)[18] if len(times) >= 20 else max(times)
    return statistics.median(times), p95


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def admin_server() -> Iterator[str]:
    """A maintenance-database URL: HLSP_TEST_DATABASE_URL's server, or a throwaway cluster."""
    external = os.environ.get("HLSP_TEST_DATABASE_URL")
    if external:
        yield external
        return
    scratch = Path(tempfile.mkdtemp(prefix="hlsp-bench-"))
    scratch.chmod(0o755)
    cluster = EmbeddedCluster(scratch / "cluster", durable=True)
    try:
        cluster.start()
        admin_url = cluster.url("postgres")
        with psycopg.connect(admin_url) as conn:
            version = conn.execute("SHOW server_version").fetchone()
            print(f"server: PostgreSQL {version[0] if version else '?'}")
        yield admin_url
    finally:
        cluster.destroy()
        shutil.rmtree(scratch, ignore_errors=True)


@contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    """An empty database on ``admin_url``'s server, dropped afterwards: its URL."""
    name = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = (
        admin_url.replace("/postgres?", f"/{name}?")
        if "/postgres?" in admin_url
        else admin_url.rsplit("/", 1)[0] + f"/{name}"
    )
    try:
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def synthetic_catalog(admin_url: str, n: int) -> Iterator[tuple[str, float]]:
    """A migrated database holding ``n`` synthetic products: (its URL, build seconds)."""
    with scratch_database(admin_url) as url:
        db = Database(url, settings=Settings())
        db.migrate()
        db.dispose()
        with psycopg.connect(url, autocommit=True) as conn:
            t0 = time.perf_counter()
            conn.execute(LOAD % {"n": n, "targets": max(1, n // 4)})  # type: ignore[call-overload]
            built = time.perf_counter() - t0
        yield url, built


@contextmanager
def server(url: str) -> Iterator[str]:
    """``hlsp serve`` on ``url``; yields its base URL once /health answers."""
    port = free_port()
    hlsp = shutil.which("hlsp", path=str(Path(sys.executable).parent)) or "hlsp"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HLSP_")}
    env["HLSP_DATABASE_URL"] = url
    proc = subprocess.Popen(
        [hlsp, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/health", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def sql_latency(url: str, sql: str, repeat: int) -> list[float]:
    """Milliseconds of ``sql`` over psycopg, in-process: what the database alone costs."""
    times = []
    with psycopg.connect(url) as conn:
        for _ in range(repeat):
            t0 = time.perf_counter()
            conn.execute(sql, prepare=False).fetchall()  # type: ignore[call-overload]
            times.append((time.perf_counter() - t0) * 1000)
    return times
