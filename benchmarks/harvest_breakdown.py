"""Where a harvested file's CPU time goes: worker phases, the loading process, PostgreSQL.

Generates a corpus (fixed seed), then on one core:

  worker    per-file time of each phase of ``process_file``: read headers, check the name,
            classify, rules, extraction (incl. the JSON of the raw headers), pickling of
            the record (errors and warnings only: what shipping it to another process would
            cost; a harvest's workers load their own records), with the garbage collector
            tuned as a harvest tunes it
  loader    loads the records in batches of 500 into a fresh database, in a session set up
            as a harvest's (per-row foreign-key triggers skipped when the role may), and
            reports the CPU of this Python process and of its PostgreSQL backend, per file;
            then again with parts of each record emptied, to price them

Usage:

    uv run python benchmarks/harvest_breakdown.py [--files 4000]
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from catalog.corpus import generate_corpus
from catalog.db import Database
from catalog.embedded import EmbeddedCluster
from catalog.harvest import native, perfile
from catalog.harvest.findings import Severity
from catalog.harvest.fits.reader import read_headers
from catalog.harvest.load import Loader, skip_reference_triggers
from catalog.harvest.records import FileTask, ProductRecord
from catalog.harvest.rules import check_headers, classify
from catalog.harvest.rules.nomenclature import check_name
from catalog.harvest.run import fewer_collections

sys.path.append(str(Path(__file__).resolve().parents[1]))  # for benchmarks.synthetic
from benchmarks.synthetic import scratch_database


def worker_phases(paths: list[str]) -> dict[str, float]:
    totals: dict[str, float] = {}

    def timed(name: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        totals[name] = totals.get(name, 0.0) + time.perf_counter() - start
        return result

    records: list[ProductRecord] = []
    for path in paths:
        headers = timed("read headers", read_headers, path)
        name = timed("file name", check_name, Path(path).name)
        kind = timed("classify", classify, headers, name.product_type)
        found = timed(
            "rules",
            check_headers,
            headers,
            kind,
            name_version=name.version,
            name_proj_id=name.proj_id,
        )
        record = ProductRecord(
            path=path,
            file_name=Path(path).name,
            file_bytes=0,
            mtime_ns=0,
            file_format="",
            collection="x",
            collection_source="",
            hdu_count=len(headers),
            kind=str(kind.kind),
        )
        timed("extraction + header JSON", perfile.fill, record, headers, name)
        record.findings = [f for f in [*name.findings, *found] if f.severity != Severity.INFO]
        records.append(record)
    for i in range(0, len(records), 256):  # what shipping records between processes would
        timed(
            "pickle + unpickle (a harvest no longer ships records)",  # cost
            lambda rs: pickle.loads(pickle.dumps(rs)),
            records[i : i + 256],
        )
    return {k: v / len(paths) * 1e6 for k, v in totals.items()}


def _backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_cost(server_url: str, records: list[ProductRecord], label: str) -> None:
    with scratch_database(server_url) as url:
        database = Database(url)
        database.migrate()
        database.dispose()
        with psycopg.connect(database.url, autocommit=True) as conn:
            run_row = conn.execute(
                "INSERT INTO hlsp.harvest_run DEFAULT VALUES RETURNING run_id"
            ).fetchone()
            pid_row = conn.execute("SELECT pg_backend_pid()").fetchone()
            assert run_row is not None and pid_row is not None
            skip_reference_triggers(conn)  # as a harvest's loading sessions do, when they may
            loader = Loader(conn, int(run_row[0]))
            cpu0, self0 = _backend_cpu(int(pid_row[0])), resource.getrusage(resource.RUSAGE_SELF)
            start = time.perf_counter()
            for i in range(0, len(records), 500):
                with conn.transaction():
                    loader.load(records[i : i + 500])
            wall = time.perf_counter() - start
            cpu1, self1 = _backend_cpu(int(pid_row[0])), resource.getrusage(resource.RUSAGE_SELF)
    n = len(records)
    mine = (self1.ru_utime - self0.ru_utime) + (self1.ru_stime - self0.ru_stime)
    print(
        f"| {label} | {wall / n * 1e6:.0f} | {mine / n * 1e6:.0f} | {(cpu1 - cpu0) / n * 1e6:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=4000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hlsp-breakdown-"))
    work.chmod(0o755)
    external = os.environ.get("HLSP_TEST_DATABASE_URL")
    cluster = None if external else EmbeddedCluster(work / "cluster")
    try:
        if cluster is not None:
            cluster.start()
        server_url = external or (cluster.url("postgres") if cluster else "")
        corpus = generate_corpus(work / "corpus", files=args.files, seed=11, flaws=True)
        paths = [str(f.path) for f in corpus.files]
        print(
            f"compiled harvest modules: {'yes' if native.status().active else 'no'} "
            f"({native.status().reason})\n"
        )
        with fewer_collections():  # as a harvest's workers run
            worker_phases(paths[:300])  # warm caches
            print("| worker phase | µs per file |\n|---|---:|")
            for phase, micros in worker_phases(paths).items():
                print(f"| {phase} | {micros:.0f} |")
        stats = [Path(p).stat() for p in paths]
        base = [
            perfile.process_file(FileTask(p, s.st_size, s.st_mtime_ns), keep_info=False)
            for p, s in zip(paths, stats, strict=True)
        ]
        records = [r for r in base if isinstance(r, ProductRecord)]
        print(
            "\n| loading (batches of 500) | wall µs/file | loader CPU µs/file "
            "| PostgreSQL CPU µs/file |\n|---|---:|---:|---:|"
        )
        variants = {
            "everything": lambda r: None,
            "without raw headers": lambda r: setattr(r, "headers", "[]"),
            "without findings": lambda r: setattr(r, "findings", []),
            "without targets": lambda r: setattr(r, "targets", []),
            "without provenance/software": lambda r: (
                setattr(r, "inputs", []),
                setattr(r, "software", []),
            ),
            "bare product rows": lambda r: (
                setattr(r, "headers", "[]"),
                setattr(r, "findings", []),
                setattr(r, "targets", []),
                setattr(r, "inputs", []),
                setattr(r, "software", []),
                setattr(r, "footprint", None),
            ),
        }
        for label, strip in variants.items():
            copies = [pickle.loads(pickle.dumps(r)) for r in records]
            for record in copies:
                strip(record)
            load_cost(server_url, copies, label)
    finally:
        if cluster is not None:
            cluster.destroy()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
