"""GraphQL latency and SQL statements per request, at 10^4 (and optionally 10^6) products.

For each size: a fresh database (migrated as in production) filled by SQL (generate_series:
8 collections of skewed sizes, 12 instruments on 5 observatories, positions uniform on the
sky around N/4 shared targets, time ranges over 27 years, 5 wavelength bands, verdicts
60/25/15 % PASS/NEEDS REVIEW/FAIL), ANALYZE, then over HTTP against ``hlsp serve``:

  portal   graphql/operations/portal_search.graphql: 20 products with their collection and
           targets, under one of six portal filters (tag facets OR-ed, fields AND-ed)
  facets   graphql/operations/facet_panel.graphql: six facets over the same filters
  floor    ``{ __typename }``: HTTP + GraphQL with no SQL (baseline, same run)
  sql      the portal page and the facet pass as hand-written SQL over psycopg, in-process
           (baseline, same run: what the database alone costs)

SQL statements per request are counted in-process (SQLAlchemy ``before_cursor_execute``
on the app's read engine, through Starlette's TestClient) for every filter.

    uv run python benchmarks/graphql.py [--sizes 10000 1000000] [--repeat 200]

Uses a throwaway embedded cluster (durable settings), or the server HLSP_TEST_DATABASE_URL
points at. The client and the server share the machine: latency includes both.
"""

# ruff: noqa: E402 - sys.path is fixed before the imports that would find the wrong graphql

from __future__ import annotations

import sys
from pathlib import Path

# This file is named graphql.py, as the project asks; run as a script its folder comes first
# on sys.path and would shadow graphql-core (which strawberry imports as `graphql`).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import psycopg
import sqlalchemy as sa

from catalog.config import Settings
from catalog.db import Database
from catalog.embedded import EmbeddedCluster

REPO = Path(__file__).resolve().parents[1]
PORTAL = (REPO / "graphql" / "operations" / "portal_search.graphql").read_text()
FACETS = (REPO / "graphql" / "operations" / "facet_panel.graphql").read_text()

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

FILTERS: list[dict[str, Any] | None] = [
    None,
    {"dataproductType": {"in": ["IMAGE", "TIMESERIES"]}},
    {"observatory": {"in": ["HST", "JWST"]}, "verdict": {"eq": "PASS"}},
    {"collection": {"hlspId": {"in": ["bench3", "bench5"]}}, "waveband": {"in": ["OPTICAL"]}},
    {"instrument": {"eq": "NIRCam"}, "time": {"startMjd": 55000, "endMjd": 56000}},
    {"cone": {"raDeg": 150.0, "decDeg": 2.2, "radiusDeg": 5.0}},
]

SQL_BASELINE = {
    "portal page": """SELECT p.product_id, p.file_name, p.instrument, c.hlsp_id, t.name
        FROM (SELECT * FROM hlsp.product WHERE withdrawn_at IS NULL
              AND dataproduct_type IN ('image', 'timeseries') ORDER BY product_id LIMIT 21) p
        JOIN hlsp.collection c USING (collection_id)
        LEFT JOIN hlsp.product_target pt USING (product_id)
        LEFT JOIN hlsp.target t USING (target_id)""",
    "facet pass (grouping sets)": """SELECT c.hlsp_id, p.observatory, p.instrument,
        p.dataproduct_type, p.verdict, count(*)
        FROM hlsp.product p JOIN hlsp.collection c USING (collection_id)
        WHERE p.withdrawn_at IS NULL AND p.dataproduct_type IN ('image', 'timeseries')
        GROUP BY GROUPING SETS ((c.hlsp_id), (p.observatory), (p.instrument),
                                (p.dataproduct_type), (p.verdict), ())""",
}


def percentiles(times: list[float]) -> tuple[float, float]:
    p95 = statistics.quantiles(times, n=20)[18] if len(times) >= 20 else max(times)
    return statistics.median(times), p95


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(url: str) -> Iterator[str]:
    port = free_port()
    hlsp = shutil.which("hlsp", path=str(Path(sys.executable).parent)) or "hlsp"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HLSP_")}
    env["HLSP_DATABASE_URL"] = url
    proc = subprocess.Popen([hlsp, "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
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


def statements_per_request(db: Database) -> dict[str, list[int]]:
    from starlette.testclient import TestClient

    from catalog.app import create_app

    seen: list[str] = []
    sa.event.listen(db.read_engine, "before_cursor_execute",
                    lambda *args: seen.append(args[2]))  # fmt: skip
    counts: dict[str, list[int]] = {"portal": [], "facets": [], "portal rows": []}
    with TestClient(create_app(db)) as client:
        for f in FILTERS:
            for name, query in (("portal", PORTAL), ("facets", FACETS)):
                seen.clear()
                body = client.post("/graphql", json={"query": query, "variables": {"filter": f}})
                assert "errors" not in body.json(), body.json()
                counts[name].append(len(seen))
                if name == "portal":
                    counts["portal rows"].append(len(body.json()["data"]["products"]["edges"]))
    return counts


def http_latency(base: str, query: str, repeat: int, vary: bool) -> list[float]:
    times = []
    with httpx.Client(timeout=120) as client:
        for i in range(repeat + 10):
            variables = {"filter": FILTERS[i % len(FILTERS)]} if vary else {}
            payload = json.dumps({"query": query, "variables": variables})
            t0 = time.perf_counter()
            response = client.post(base + "/graphql", content=payload,
                                   headers={"content-type": "application/json"})  # fmt: skip
            elapsed = (time.perf_counter() - t0) * 1000
            assert response.status_code == 200 and "errors" not in response.json(), response.text
            if i >= 10:  # warm-up excluded
                times.append(elapsed)
    return times


def sql_latency(url: str, sql: str, repeat: int) -> list[float]:
    times = []
    with psycopg.connect(url) as conn:
        for _ in range(repeat):
            t0 = time.perf_counter()
            conn.execute(sql, prepare=False).fetchall()  # type: ignore[call-overload]
            times.append((time.perf_counter() - t0) * 1000)
    return times


def run_size(admin_url: str, n: int, repeat: int) -> None:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = admin_url.replace("/postgres?", f"/{name}?") if "/postgres?" in admin_url else \
        admin_url.rsplit("/", 1)[0] + f"/{name}"  # fmt: skip
    try:
        db = Database(url, settings=Settings())
        db.migrate()
        with psycopg.connect(url, autocommit=True) as conn:
            t0 = time.perf_counter()
            conn.execute(LOAD % {"n": n, "targets": max(1, n // 4)})  # type: ignore[call-overload]
            load = time.perf_counter() - t0
        print(f"\n{n:,} products, {max(1, n // 4):,} targets (built and analysed in {load:.1f} s)")
        counts = statements_per_request(db)
        db.dispose()
        print(
            f"  SQL statements per request, one per filter: portal {counts['portal']} "
            f"(rows {counts['portal rows']}), facets {counts['facets']}"
        )
        with server(url) as base:
            rows = [
                ("portal search (20 products + collection + targets)",
                 http_latency(base, PORTAL, repeat, vary=True)),
                ("facet panel (6 facets)", http_latency(base, FACETS, max(10, repeat // 4),
                                                       vary=True)),
                ("floor: { __typename } over HTTP", http_latency(base, "{ __typename }", repeat,
                                                                 vary=False)),
            ]  # fmt: skip
        rows += [(f"sql: {label} (psycopg, no HTTP)", sql_latency(url, sql, max(10, repeat // 4)))
                 for label, sql in SQL_BASELINE.items()]  # fmt: skip
        for label, times in rows:
            p50, p95 = percentiles(times)
            print(f"  {label:<55} p50 {p50:8.2f} ms   p95 {p95:8.2f} ms   (n={len(times)})")
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    print(f"machine: {platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"load average before: {os.getloadavg()}")
    external = os.environ.get("HLSP_TEST_DATABASE_URL")
    scratch = Path(tempfile.mkdtemp(prefix="hlsp-bench-"))
    scratch.chmod(0o755)
    cluster = None
    try:
        if external:
            admin_url = external
        else:
            cluster = EmbeddedCluster(scratch / "cluster", durable=True)
            cluster.start()
            admin_url = cluster.url("postgres")
        with psycopg.connect(admin_url) as conn:
            version = conn.execute("SHOW server_version").fetchone()
            print(f"server: PostgreSQL {version[0] if version else '?'}")
        for n in args.sizes:
            run_size(admin_url, n, args.repeat)
    finally:
        if cluster is not None:
            cluster.destroy()
        shutil.rmtree(scratch, ignore_errors=True)
        print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
