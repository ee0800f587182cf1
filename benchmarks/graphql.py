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
import time
from typing import Any

import httpx
import sqlalchemy as sa

from catalog.config import Settings
from catalog.db import Database

sys.path.append(str(Path(__file__).resolve().parents[1]))  # for benchmarks.synthetic
from benchmarks.synthetic import (
    admin_server,
    percentiles,
    server,
    sql_latency,
    synthetic_catalog,
)

REPO = Path(__file__).resolve().parents[1]
PORTAL = (REPO / "graphql" / "operations" / "portal_search.graphql").read_text()
FACETS = (REPO / "graphql" / "operations" / "facet_panel.graphql").read_text()


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


def statements_per_request(db: Database) -> dict[str, list[int]]:
    from starlette.testclient import TestClient

    from catalog.app import create_app

    seen: list[str] = []
    app = create_app(db)  # sizes the query pool (engines made afresh): listen after it
    sa.event.listen(db.read_engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    counts: dict[str, list[int]] = {"portal": [], "facets": [], "portal rows": []}
    with TestClient(app) as client:
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
            response = client.post(
                base + "/graphql", content=payload, headers={"content-type": "application/json"}
            )
            elapsed = (time.perf_counter() - t0) * 1000
            assert response.status_code == 200 and "errors" not in response.json(), response.text
            if i >= 10:  # warm-up excluded
                times.append(elapsed)
    return times


def run_size(admin_url: str, n: int, repeat: int) -> None:
    with synthetic_catalog(admin_url, n) as (url, load):
        print(f"\n{n:,} products, {max(1, n // 4):,} targets (built and analysed in {load:.1f} s)")
        db = Database(url, settings=Settings())
        counts = statements_per_request(db)
        db.dispose()
        print(
            f"  SQL statements per request, one per filter: portal {counts['portal']} "
            f"(rows {counts['portal rows']}), facets {counts['facets']}"
        )
        with server(url) as base:
            rows = [
                (
                    "portal search (20 products + collection + targets)",
                    http_latency(base, PORTAL, repeat, vary=True),
                ),
                (
                    "facet panel (6 facets)",
                    http_latency(base, FACETS, max(10, repeat // 4), vary=True),
                ),
                (
                    "floor: { __typename } over HTTP",
                    http_latency(base, "{ __typename }", repeat, vary=False),
                ),
            ]
        rows += [
            (f"sql: {label} (psycopg, no HTTP)", sql_latency(url, sql, max(10, repeat // 4)))
            for label, sql in SQL_BASELINE.items()
        ]
        for label, times in rows:
            p50, p95 = percentiles(times)
            print(f"  {label:<55} p50 {p50:8.2f} ms   p95 {p95:8.2f} ms   (n={len(times)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    print(f"machine: {platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"load average before: {os.getloadavg()}")
    try:
        with admin_server() as admin_url:
            for n in args.sizes:
                run_size(admin_url, n, args.repeat)
    finally:
        print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
