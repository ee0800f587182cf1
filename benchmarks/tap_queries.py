"""TAP service benchmarks. Sections (``--only NAME``, repeatable; default: all):

  adql   ADQL parse + translate per query over the IVOA lyonetia corpus (the queries marked
         valid), against invented tables of the corpus's names (tests/support/adql_corpus.py).
         Per query: the median of --repeat runs; reported: median and p95 over queries,
         for parse only and for parse + translate. Baseline in the same run, when importable:
         sqlglot parsing the same texts (``uv run --with sqlglot …``; not a dependency).

  sync   Round trips of /tap/sync over HTTP against ``hlsp serve`` on synthetic catalogs of
         --sizes products (benchmarks/synthetic.py): a 0.1° cone on ivoa.ObsCore, a count by
         instrument, a TOP 1000 (VOTable BINARY2). p50/p95 over --repeat requests (cones at
         varying positions). Baseline in the same run: the translated SQL over psycopg, no
         HTTP (what the database alone costs).

  stream BINARY2 streaming of 10^6 rows from PostgreSQL (benchmarks/tap_stream.py, run as is:
         the database-encoded fast path, the Python writer, a bare fetch and astropy).

Usage:

    uv run python benchmarks/tap_queries.py [--only adql|sync|stream] [--repeat 50]
                                            [--sizes 10000 1000000]

Needs ../shared beside the checkout for the corpus.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # for tests.adql_corpus

from tap.adql import parse, translate  # noqa: E402
from tap.errors import AdqlError  # noqa: E402
from tests.support.adql_corpus import CORPUS_UDFS, corpus_metadata, load_corpus  # noqa: E402

CORPUS = REPO.parent / "shared" / "data" / "adql" / "lyonetia" / "ivoa"


def per_query(texts: list[str], work: Callable[[str], object], repeat: int) -> list[float]:
    """Median seconds of ``work(text)`` over ``repeat`` runs, for each text."""
    out = []
    for text in texts:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            work(text)
            times.append(time.perf_counter() - start)
        out.append(statistics.median(times))
    return out


def summary(label: str, times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"| {label} | {len(times)} | {statistics.median(times) * 1e6:.0f} | "
        f"{p95 * 1e6:.0f} | {max(times) * 1e6:.0f} |"
    )


def adql_section(repeat: int) -> None:
    if not CORPUS.is_dir():
        print(f"adql: skipped, no corpus at {CORPUS}")
        return
    metadata = corpus_metadata()
    valid = [q.text for q in load_corpus(CORPUS) if q.valid]
    translatable = []
    for text in valid:
        try:
            translate(text, metadata, row_limit=1001, udfs=CORPUS_UDFS)
        except AdqlError:
            continue
        translatable.append(text)

    def full(text: str) -> object:
        return translate(text, metadata, row_limit=1001, udfs=CORPUS_UDFS)

    print("## adql")
    print(
        f"{len(valid)} valid corpus queries, {len(translatable)} translate against the "
        f"invented tables; {repeat} runs per query; python {platform.python_version()}"
    )
    print()
    print("| work | queries | median µs | p95 µs | max µs |")
    print("|---|---:|---:|---:|---:|")
    print(summary("parse (all valid)", per_query(valid, parse, repeat)))
    print(summary("parse + translate (translatable)", per_query(translatable, full, repeat)))
    try:
        import sqlglot
    except ImportError:
        print("| sqlglot parse | not installed | | | |")
    else:

        def glot(text: str) -> object:
            try:
                return sqlglot.parse(text, read="postgres")
            except sqlglot.errors.SqlglotError:
                return None

        label = f"sqlglot {sqlglot.__version__} parse (all valid)"
        print(summary(label, per_query(valid, glot, repeat)))


SYNC_QUERIES = {
    "0.1° cone on ivoa.ObsCore": (
        "SELECT obs_id, s_ra, s_dec, dataproduct_type, access_url FROM ivoa.ObsCore WHERE "
        "1 = CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', {ra}, {dec}, 0.1))"
    ),
    "count by instrument": (
        "SELECT instrument_name, COUNT(*) AS n FROM ivoa.ObsCore GROUP BY instrument_name"
    ),
    "TOP 1000 (BINARY2)": (
        "SELECT TOP 1000 obs_id, s_ra, s_dec, t_min, t_max, em_min, em_max, target_name, "
        "s_region FROM ivoa.ObsCore"
    ),
}


def _cone_positions(url: str, count: int) -> list[tuple[float, float]]:
    """Cone centres at product positions (so cones find rows), spread over the catalog."""
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT s_ra, s_dec FROM hlsp.product TABLESAMPLE SYSTEM (5) REPEATABLE (7) "
            "WHERE s_ra IS NOT NULL LIMIT %s",
            (count,),
        ).fetchall()
    return [(float(r[0]), float(r[1])) for r in rows] or [(150.0, 2.2)]


def sync_section(repeat: int, sizes: list[int]) -> None:
    import httpx

    from benchmarks.synthetic import (
        admin_server,
        percentiles,
        server,
        sql_latency,
        synthetic_catalog,
    )
    from catalog.tap_tables import published_metadata
    from tap.tap_schema import with_tap_schema

    metadata = with_tap_schema(published_metadata())
    print("## sync")
    with admin_server() as admin_url:
        for n in sizes:
            with synthetic_catalog(admin_url, n) as (url, built):
                print(f"\n{n:,} products (built and analysed in {built:.1f} s)")
                positions = _cone_positions(url, repeat)
                rows: list[tuple[str, list[float], list[float], int]] = []
                with server(url) as base, httpx.Client(timeout=300) as client:
                    for label, template in SYNC_QUERIES.items():
                        times, counts = [], []
                        for i in range(repeat + 5):
                            ra, dec = positions[i % len(positions)]
                            adql = template.format(ra=ra, dec=dec)
                            t0 = time.perf_counter()
                            answer = client.post(
                                base + "/tap/sync",
                                data={"LANG": "ADQL", "QUERY": adql, "MAXREC": "100000"},
                            )
                            elapsed = (time.perf_counter() - t0) * 1000
                            assert answer.status_code == 200, answer.text[:500]
                            if i >= 5:  # warm-up excluded
                                times.append(elapsed)
                                counts.append(answer.content.count(b"<FIELD"))
                        ra, dec = positions[0]
                        sql = translate(
                            template.format(ra=ra, dec=dec), metadata, row_limit=100_001
                        ).sql
                        rows.append((label, times, sql_latency(url, sql, repeat), len(counts)))
                print("| query | p50 ms | p95 ms | SQL alone p50 ms | SQL alone p95 ms |")
                print("|---|---:|---:|---:|---:|")
                for label, times, sql_times, _ in rows:
                    p50, p95 = percentiles(times)
                    s50, s95 = percentiles(sql_times)
                    print(f"| {label} | {p50:.1f} | {p95:.1f} | {s50:.1f} | {s95:.1f} |")


def stream_section() -> None:
    import subprocess

    print("## stream")
    subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "tap_stream.py"), "--rows", "1000000"],
        check=True,
    )


SECTIONS = {"adql": adql_section, "sync": sync_section, "stream": stream_section}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=sorted(SECTIONS))
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    args = parser.parse_args()
    print(f"machine: {platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"load average before: {os.getloadavg()}")
    for name in args.only or list(SECTIONS):
        if name == "sync":
            sync_section(args.repeat, args.sizes)
        elif name == "stream":
            stream_section()
        else:
            adql_section(args.repeat)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
