"""Harvest throughput on generated corpora, beside an astropy header loop over the same files.

For each size: generate a corpus (``catalog.corpus``, fixed seed, no damaged
files), flush it to disk (``sync``) and read every file once, so that every phase reads the
same warm files and the comparison between phases is fair: the generator's dirty pages are
not written back during a timed phase, and a kernel that pages out what was idle for a
while (as DAMON does on some virtual machines, after 60 s) has put nothing back on disk.
The page cache is never dropped (that needs root). Then, in one run:

  astropy    ``astropy.io.fits.getheader`` over every file (primary header only): the
             baseline, in-process, one core; and ``fits.open`` reading every header, which
             is the work our reader does
  read       our reader + checks + extraction over every file, in-process, one core
  harvest    ``hlsp harvest`` end to end into a cold database (fresh, migrated, empty):
             walk, read on a process pool, check, load (COPY, upsert, targets), commit
  no-change  the same harvest again, twice: every file unchanged (size and mtime), none
             opened. The first re-run follows the load at once and shares the machine with
             PostgreSQL's hint-bit writes and autovacuum of the fresh rows; the second
             is the steady state of a periodic re-harvest
  CPU        for the end-to-end harvest, CPU seconds per file of the harvesting process,
             of its pool workers and of the PostgreSQL server's processes, the backends that
             exited included (embedded cluster only): on a shared machine these are
             steadier than the wall-clock rates

Usage:

    uv run python benchmarks/harvest.py [--sizes 10000 100000] [--jobs 2]
    uv run python benchmarks/harvest.py --sizes 10000 --workdir DIR --keep   # keep the corpus
    uv run python benchmarks/harvest.py --corpus DIR/corpus-10000   # harvest a kept corpus

A kept corpus lets two checkouts be compared on the same files in one session: run the
second form alternately from each checkout (``cd other && uv run python
/path/to/this/benchmarks/harvest.py --corpus ...`` measures that checkout's code).

Uses a throwaway embedded cluster (durable settings, as a real install), or the server
HLSP_TEST_DATABASE_URL points at. Corpora are written under --workdir (default: a temp
directory; 100,000 files take about 1.8 GB) and removed afterwards.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import psycopg

from catalog.config import Settings
from catalog.corpus import generate_corpus
from catalog.db import Database
from catalog.embedded import EmbeddedCluster
from catalog.harvest import native
from catalog.harvest.perfile import process_file
from catalog.harvest.records import FileTask
from catalog.harvest.run import HarvestOptions, HarvestSummary, harvest

sys.path.append(str(Path(__file__).resolve().parents[1]))  # for benchmarks.synthetic
from benchmarks.synthetic import scratch_database

FITS = (".fits", ".fits.gz")


def astropy_loop(paths: list[str]) -> float:
    from astropy.io import fits

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in paths:
            fits.getheader(path)
    return time.perf_counter() - start


def astropy_all_headers(paths: list[str]) -> float:
    from astropy.io import fits

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in paths:
            with fits.open(path) as hdus:
                for hdu in hdus:
                    hdu.header.get("NAXIS")
    return time.perf_counter() - start


def warm(paths: list[str]) -> float:
    """Write the corpus back to disk, then read every file once; the seconds it took."""
    start = time.perf_counter()
    os.sync()
    for path in paths:
        with open(path, "rb") as handle:  # noqa: PTH123
            while handle.read(1 << 20):
                pass
    return time.perf_counter() - start


def read_loop(paths: list[str]) -> float:
    stats = [Path(p).stat() for p in paths]
    tasks = [FileTask(p, s.st_size, s.st_mtime_ns) for p, s in zip(paths, stats, strict=True)]
    start = time.perf_counter()
    for task in tasks:
        process_file(task)
    return time.perf_counter() - start


class ServerCpu:
    """CPU time of the processes of one PostgreSQL server between construction and
    :meth:`stop`: the postmaster's own, its live children's, and that of the children it
    has reaped (a backend's time moves into the postmaster's ``cutime``/``cstime`` when its
    connection closes and it exits, so nothing is lost between two readings)."""

    def __init__(self, pgdata: Path) -> None:
        self.postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
        self.base = self.total()

    def total(self) -> float:
        ticks = 0
        for path in Path("/proc").iterdir():
            if not path.name.isdigit():
                continue
            try:
                fields = (path / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(path.name) == self.postmaster:  # itself and its reaped children
                ticks += sum(int(f) for f in fields[11:15])
            elif int(fields[1]) == self.postmaster:  # a live child: its own time
                ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> float:
        """CPU seconds the server's processes spent since the start."""
        return self.total() - self.base


def _cpu(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def wal_position(url: str) -> tuple[int, str]:
    """(checkpoints the server has made, its WAL insert position): PostgreSQL 17 moved the
    counts from pg_stat_bgwriter to pg_stat_checkpointer, where ``num_timed`` also counts
    timed checkpoints skipped on an idle server (none are skipped during a load)."""
    with psycopg.connect(url, autocommit=True) as conn:
        try:
            row = conn.execute(
                "SELECT num_timed + num_requested, pg_current_wal_lsn()::text "
                "FROM pg_stat_checkpointer"
            ).fetchone()
        except psycopg.errors.UndefinedTable:
            row = conn.execute(
                "SELECT checkpoints_timed + checkpoints_req, "
                "pg_current_wal_lsn()::text FROM pg_stat_bgwriter"
            ).fetchone()
    assert row is not None
    return int(row[0]), str(row[1])


def wal_since(url: str, start: tuple[int, str]) -> tuple[int, float]:
    """(checkpoints, MB of WAL) since ``start`` (a :func:`wal_position`)."""
    checkpoints, _ = wal_position(url)
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s::pg_lsn)", (start[1],)
        ).fetchone()
    assert row is not None
    return checkpoints - start[0], float(row[0]) / 1e6


def harvest_three(
    database: Database, options: HarvestOptions, cluster: EmbeddedCluster | None
) -> tuple[list[HarvestSummary], tuple[float, float, float], tuple[int, float]]:
    """The cold harvest and two no-change re-runs; the cold one's CPU seconds (harvesting
    process, pool workers, PostgreSQL server: NaN for a server that is not ours), and the
    checkpoints and MB of WAL the server wrote during it."""
    server = ServerCpu(cluster.pgdata) if cluster is not None else None
    wal0 = wal_position(database.url)
    self0, children0 = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    first = harvest(database, options)
    main_cpu = _cpu(resource.getrusage(resource.RUSAGE_SELF)) - _cpu(self0)
    pool_cpu = _cpu(resource.getrusage(resource.RUSAGE_CHILDREN)) - _cpu(children0)
    server_cpu = server.stop() if server is not None else float("nan")
    wal = wal_since(database.url, wal0)
    second = harvest(database, options)  # right after the load: PostgreSQL is still
    third = harvest(database, options)  # setting hint bits and autovacuuming
    return [first, second, third], (main_cpu, pool_cpu, server_cpu), wal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--sample", type=int, default=5000, help="files timed in the single-core astropy/read loops"
    )
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--corpus",
        type=Path,
        default=None,
        help="harvest this kept corpus (made by an earlier run with --keep) "
        "instead of generating one: the same files for runs of two checkouts",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the generated corpora in --workdir, else here (corpus-<size>)",
    )
    args = parser.parse_args()

    kept_paths = (
        sorted(str(p) for p in args.corpus.rglob("*") if p.name.endswith(FITS))
        if args.corpus is not None
        else []
    )
    if args.corpus is not None:
        args.sizes = [len(kept_paths)]
    work = Path(tempfile.mkdtemp(prefix="hlsp-bench-", dir=args.workdir))
    work.chmod(0o755)
    external = os.environ.get("HLSP_TEST_DATABASE_URL")
    cluster = None
    if external:
        server_url = external
    else:
        cluster = EmbeddedCluster(work / "cluster")
        cluster.start()
        server_url = cluster.url("postgres")
    try:
        with psycopg.connect(server_url) as conn:
            version = conn.execute("SHOW server_version").fetchone()
        print(
            f"# {platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()},"
            f" PostgreSQL {version[0] if version else '?'}, jobs={args.jobs}, compiled harvest"
            f" modules: {'yes' if native.status().active else 'no'} ({native.status().reason})"
        )
        print("| files | phase | seconds | files/s | vs astropy |")
        print("|---:|---|---:|---:|---:|")
        cpu_rows: list[tuple[int, float, float, float, int, float, float]] = []
        for size in args.sizes:
            started = time.perf_counter()
            if args.corpus is not None:
                root, paths = args.corpus, kept_paths
            else:
                kept = (args.workdir or Path.cwd()) / f"corpus-{size}"
                root = kept if args.keep else work / f"corpus-{size}"
                # Only the paths are kept: the generator's records of 10^5 files are a heap
                # the harvest's forked workers would inherit, and that every collection of
                # this process (the astropy loops) would walk.
                paths = [
                    str(f.path)
                    for f in generate_corpus(
                        root, files=size, seed=size, flaws=True, damage=False
                    ).files
                ]
                gc.collect()
            generated = time.perf_counter() - started
            warmed = warm(paths)
            sample = paths[:: max(1, len(paths) // args.sample)]
            astropy_s = astropy_loop(sample)
            astropy_all_s = astropy_all_headers(sample)
            read_s = read_loop(sample)
            astropy_rate = len(sample) / astropy_s
            options = HarvestOptions(paths=[root], jobs=args.jobs, progress=False)
            with scratch_database(server_url) as url:
                database = Database(url, settings=Settings())
                database.migrate()
                (first, second, third), cpu, wal = harvest_three(database, options, cluster)
                database.dispose()
            cpu_rows.append((size, *cpu, *wal, os.getloadavg()[0]))
            assert first.added == size and first.failed == 0, first
            assert second.unchanged == third.unchanged == size, (second, third)
            rows = [
                ("astropy getheader, primary header (1 core)", astropy_s, len(sample)),
                ("astropy fits.open, every header (1 core)", astropy_all_s, len(sample)),
                ("our read + check + extract (1 core)", read_s, len(sample)),
                (f"harvest end to end (cold database, {args.jobs} jobs)", first.elapsed, size),
                ("re-run right after, nothing changed", second.elapsed, size),
                ("re-run again, nothing changed", third.elapsed, size),
            ]
            for phase, seconds, count in rows:
                rate = count / seconds
                print(
                    f"| {size:,} | {phase} | {seconds:.2f} | {rate:,.0f} | "
                    f"{rate / astropy_rate:.1f}× |"
                )
            made = "listed" if args.corpus is not None else "generated"
            print(
                f"<!-- corpus of {size:,} {made} in {generated:.1f} s, synced and read once"
                f" in {warmed:.1f} s -->"
            )
            if args.corpus is None and not args.keep:
                shutil.rmtree(root)
        print(
            "\n| files | harvest CPU µs per file: harvesting process | pool workers | "
            "PostgreSQL | total | checkpoints | WAL KB per file | load average |\n"
            "|---:|---:|---:|---:|---:|---:|---:|---:|"
        )
        for size, main_cpu, pool_cpu, server_cpu, checkpoints, wal_mb, load in cpu_rows:
            micros = [c / size * 1e6 for c in (main_cpu, pool_cpu, server_cpu)]
            print(
                f"| {size:,} | {micros[0]:.0f} | {micros[1]:.0f} | {micros[2]:.0f} | "
                f"{sum(micros):.0f} | {checkpoints} | {wal_mb * 1e3 / size:.1f} | "
                f"{load:.1f} |"
            )
    finally:
        if cluster is not None:
            cluster.destroy()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
