"""What the async job system costs over answering the same query directly, over HTTP.

One uvicorn server (in-process thread) serves both ``/tap/async`` (UWS, jobs and results
in PostgreSQL, 2 workers) and a baseline ``/direct`` endpoint that runs the same executor
and streams its bytes straight back (what a sync endpoint does). Client: httpx, one
connection, sequential requests.

  small   N tiny jobs (10 CSV rows): POST PHASE=RUN -> WAIT=-1 until finished -> GET result;
          baseline: GET /direct for the same query
  large   one job writing M rows of CSV (chunked into the store, then streamed out);
          baseline: /direct streaming the same rows

Usage:

    uv run python benchmarks/uws.py [--small 200] [--rows 2000000]

Uses a throwaway embedded cluster (durable settings), or HLSP_TEST_DATABASE_URL.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import sqlalchemy as sa
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Mount, Route

from catalog.db import create_engine

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1])
)  # the repository first, for benchmarks.synthetic
from benchmarks.synthetic import admin_server, scratch_database
from tap.uws import ResultInfo, ResultSink, RunningJob, UwsService

QUERY = "SELECT g, 'row ' || g FROM generate_series(1, :n) g"


def rows_csv(conn: sa.Connection, n: int) -> Iterator[bytes]:
    result = conn.execution_options(stream_results=True, yield_per=10_000).execute(
        sa.text(QUERY), {"n": n}
    )
    yield b"n,label\n"
    for part in result.partitions():
        yield "".join(f"{g},{label}\n" for g, label in part).encode()


def execute(run: RunningJob, sink: ResultSink) -> ResultInfo:
    n = int(run.job.parameter("rows") or "10")
    with run.connect() as conn:
        for chunk in rows_csv(conn, n):
            sink.write(chunk)
    return ResultInfo("text/csv", n)


def make_app(engine: sa.Engine, svc: UwsService) -> Starlette:
    def direct_rows(n: int) -> Iterator[bytes]:
        with engine.connect() as conn:
            yield from rows_csv(conn, n)

    async def direct(request: Request) -> StreamingResponse:
        return StreamingResponse(
            direct_rows(int(request.query_params["rows"])), media_type="text/csv"
        )

    routes = [Route("/direct", direct), *svc.routes()]
    return Starlette(routes=[Mount("/tap", routes=routes)], lifespan=svc.lifespan)


def run_job(client: httpx.Client, base: str, rows: int) -> bytes:
    location = client.post(f"{base}/async", data={"ROWS": str(rows), "PHASE": "RUN"})
    job = location.headers["location"]
    while True:
        phase = client.get(f"{job}/phase").text
        if phase in ("COMPLETED", "ERROR", "ABORTED"):
            break
        client.get(job, params={"WAIT": "-1"})
    assert phase == "COMPLETED", phase
    data = client.get(f"{job}/results/result").content
    client.delete(job)
    return data


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return f"p50 {statistics.median(values) * 1000:7.2f} ms  p95 {p95 * 1000:7.2f} ms"


def bench(url: str, small: int, rows: int) -> None:
    engine = create_engine(url)
    svc = UwsService(engine, execute, workers=2)
    port_server = uvicorn.Server(
        uvicorn.Config(make_app(engine, svc), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=port_server.run, daemon=True)
    thread.start()
    while not port_server.started:
        time.sleep(0.05)
    port = port_server.servers[0].sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}/tap"
    try:
        with httpx.Client(timeout=600) as client:
            run_job(client, base, 10)  # warm up
            client.get(f"{base}/direct", params={"rows": 10})
            jobs, direct = [], []
            for _ in range(small):
                t0 = time.perf_counter()
                run_job(client, base, 10)
                jobs.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                client.get(f"{base}/direct", params={"rows": 10})
                direct.append(time.perf_counter() - t0)
            print(f"small job, async   {summary(jobs)}   (n={small})")
            print(
                f"small, direct      {summary(direct)}   -> async/direct "
                f"{statistics.median(jobs) / statistics.median(direct):.1f}x"
            )
            t0 = time.perf_counter()
            size = len(run_job(client, base, rows))
            job_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            direct_size = len(client.get(f"{base}/direct", params={"rows": rows}).content)
            direct_s = time.perf_counter() - t0
            assert size == direct_size
            mb = size / 1e6
            print(
                f"large job {rows:,} rows, {mb:.1f} MB: async {job_s:.2f} s "
                f"({mb / job_s:.1f} MB/s); direct {direct_s:.2f} s ({mb / direct_s:.1f} MB/s) "
                f"-> async/direct {job_s / direct_s:.2f}x"
            )
    finally:
        port_server.should_exit = True
        thread.join(30)
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", type=int, default=200)
    parser.add_argument("--rows", type=int, default=2_000_000)
    args = parser.parse_args()
    print(f"machine: {platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with admin_server() as admin_url, scratch_database(admin_url) as url:
        bench(url, args.small, args.rows)


if __name__ == "__main__":
    main()
