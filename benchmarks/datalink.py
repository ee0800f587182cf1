"""DataLink ``{links}`` latency over HTTP against ``hlsp serve`` on a harvested corpus.

A corpus from the generator (``catalog.corpus``, fixed seed) is harvested into a fresh,
migrated database, ANALYZEd, served, then timed with one keep-alive httpx client:

  links 1     ``GET /datalink/links?ID=<did>``, a different product each time
  links 100   ``POST /datalink/links`` with 100 random DIDs (one form)
  tap 1       baseline, same run: a TAP sync query for the same product's ObsCore row
              (``SELECT ... FROM ivoa.obscore WHERE obs_publisher_did = '<did>'``)
  health      baseline, same run: ``/health`` (one trivial query and the schema check)

    uv run python benchmarks/datalink.py [--files 2000] [--repeat 300]

Uses a throwaway embedded cluster, or the server HLSP_TEST_DATABASE_URL points at. While
the timed part runs, /work/scratch/BENCH.lock (``--lock``) tells other benchmark users on
the machine to wait. The client and the server share the machine: latency includes both.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg

from catalog.config import Settings
from catalog.corpus import generate_corpus
from catalog.db import Database
from catalog.harvest.run import HarvestOptions, harvest

sys.path.append(str(Path(__file__).resolve().parents[1]))  # for benchmarks.synthetic
from benchmarks.synthetic import admin_server, percentiles, scratch_database, server

LOCK = Path("/work/scratch/BENCH.lock")


@contextmanager
def bench_lock(path: Path | None) -> Iterator[None]:
    """Holds ``path`` (tells others a timed benchmark runs) while the block runs."""
    if path is None:
        yield
        return
    while path.exists():
        print(f"waiting: {path} exists")
        time.sleep(30)
    path.write_text(f"benchmarks/datalink.py, pid {os.getpid()}\n")
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def timed(call: Callable[[int], httpx.Response], repeat: int) -> list[float]:
    """Milliseconds of ``repeat`` calls (after a warm-up of 20)."""
    for i in range(20):
        call(i).raise_for_status()
    times = []
    for i in range(repeat):
        t0 = time.perf_counter()
        response = call(i)
        times.append((time.perf_counter() - t0) * 1000)
        response.raise_for_status()
    return times


def report(name: str, times: list[float], note: str = "") -> None:
    p50, p95 = percentiles(times)
    print(f"| {name} | {p50:.1f} | {p95:.1f} | {note} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lock", default=str(LOCK), help="'' for none")
    args = parser.parse_args()
    lock = Path(args.lock) if args.lock else None
    print(f"machine: {platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    with (
        admin_server() as admin_url,
        scratch_database(admin_url) as url,
        tempfile.TemporaryDirectory(prefix="hlsp-datalink-") as work,
    ):
        db = Database(url, settings=Settings())
        db.migrate()
        corpus = generate_corpus(Path(work), files=args.files, seed=args.seed)
        summary = harvest(db, HarvestOptions(paths=[corpus.root], jobs=2, progress=False))
        db.dispose()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ANALYZE")
            dids = [
                str(row[0])
                for row in conn.execute("SELECT obs_publisher_did FROM ivoa.obscore ORDER BY 1")
            ]
        print(f"corpus: {args.files} files, {summary.added} products harvested, {len(dids)} DIDs")
        rng = random.Random(args.seed)
        order = [rng.choice(dids) for _ in range(args.repeat + 20)]
        batches = [rng.sample(dids, min(100, len(dids))) for _ in range(args.repeat + 20)]
        with server(url) as base, httpx.Client(base_url=base, timeout=60) as client:
            links = base + "/datalink/links"
            rows = len(client.post(links, data={"ID": batches[0]}).text.split("<TR>")) - 1
            print(f"load average before: {os.getloadavg()[0]:.2f}")
            print("| request | p50 ms | p95 ms | note |\n|---|---|---|---|")
            with bench_lock(lock):
                report("health", timed(lambda i: client.get("/health"), args.repeat), "baseline")
                report(
                    "TAP sync, 1 ObsCore row",
                    timed(
                        lambda i: client.get(
                            "/tap/sync",
                            params={
                                "LANG": "ADQL",
                                "QUERY": "SELECT obs_publisher_did, access_url FROM "
                                f"ivoa.obscore WHERE obs_publisher_did = '{order[i]}'",
                            },
                        ),
                        args.repeat,
                    ),
                    "baseline, same products",
                )
                report(
                    "{links}, 1 ID",
                    timed(lambda i: client.get(links, params={"ID": order[i]}), args.repeat),
                )
                report(
                    "{links}, 100 IDs (POST)",
                    timed(lambda i: client.post(links, data={"ID": batches[i]}), args.repeat),
                    f"about {rows} link rows",
                )
            print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
