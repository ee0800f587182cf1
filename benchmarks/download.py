"""Downloads from a running ``hlsp serve``: throughput of large files and of bulk archives,
against the disk (page cache) limit, and the server's memory while it streams.

A small generated corpus plus large FITS products (a valid image header, then real data
bytes: a random MiB over and over) — 1 GB, 100 MB and 20 × 50 MB — harvested into a scratch
database and served by ``hlsp serve`` (2 processes). Measured, each ``--repeat`` times (best
and median):

  cat          ``cat <file> > /dev/null``: the disk / page-cache limit of this machine
  curl         one ``curl -o /dev/null`` of the file; then 4 at once (aggregate rate)
  httpx        the same with httpx (1 MiB reads; 4 threads for 4 streams)
  resume       ``curl -C -`` of the 1 GB file from a partial copy of half of it (Range)
  archive      ``/bulk/archive`` zip and tar of the 20 × 50 MB products with curl, and the
               ``cat`` of those 20 files one after the other (their limit)

plus the server processes' CPU seconds per GB sent, and their resident memory (VmRSS, and
VmHWM: the peak since they started) before and after all of it: flat memory means the
peak does not grow with the bytes sent. Usage:

    uv run python benchmarks/download.py [--repeat 3] [--big-mb 1000 --mid-mb 100 --part-mb 50]

Uses a throwaway embedded cluster, or the server HLSP_TEST_DATABASE_URL points at. Creates
/work/scratch/BENCH.lock (or $BENCH_LOCK) while it measures, so that others pause.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from catalog.corpus import generate_corpus
from catalog.db import create_engine
from catalog.delivery.urls import file_url
from catalog.harvest.run import HarvestOptions, harvest
from tests.support.bigfits import big_fits, single_image
from tests.support.cli import serving
from tests.support.db import catalog_database, create_database, drop_database
from tests.support.procs import cpu_seconds, listening_pids, memory_kb

CURL = shutil.which("curl") or "curl"
LOCK = Path(os.environ.get("BENCH_LOCK", "/work/scratch/BENCH.lock"))


def timed(action: Callable[[], int], repeat: int) -> tuple[float, float, int]:
    """(best, median) MB/s of ``action`` (which returns the bytes it moved), and the bytes."""
    speeds = []
    moved = 0
    for _ in range(repeat):
        start = time.perf_counter()
        moved = action()
        speeds.append(moved / (time.perf_counter() - start) / 1e6)
    return max(speeds), statistics.median(speeds), moved


def cat(*paths: Path) -> int:
    with Path(os.devnull).open("wb") as sink:
        subprocess.run(["cat", *map(str, paths)], stdout=sink, check=True)
    return sum(p.stat().st_size for p in paths)


def curl(url: str, *extra: str, output: str = os.devnull, data: list[str] | None = None) -> int:
    args = [CURL, "-sS", "--fail", "-o", output, "-w", "%{size_download}", *extra]
    for item in data or []:
        args += ["--data-urlencode", item]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True)
    return int(float(out.stdout))


def curl_parallel(url: str, n: int) -> int:
    procs = [
        subprocess.Popen(
            [CURL, "-sS", "--fail", "-o", os.devnull, url],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(n)
    ]
    assert all(p.wait() == 0 for p in procs)
    return n * int(httpx.head(url).headers["content-length"])


def httpx_get(url: str) -> int:
    got = 0
    with httpx.Client(timeout=600) as client, client.stream("GET", url) as r:
        r.raise_for_status()
        for chunk in r.iter_raw(1 << 20):
            got += len(chunk)
    return got


def httpx_parallel(url: str, n: int) -> int:
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(httpx_get(url))) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(results)


def resume(url: str, path: Path, scratch: Path) -> Callable[[], int]:
    """``curl -C -`` completing a copy of the first half of ``path`` (cut back to its
    half before each run: a truncation, not timed as a copy)."""
    size = path.stat().st_size
    partial = scratch / "partial.fits"
    shutil.copyfile(path, partial)

    def run() -> int:
        os.truncate(partial, size // 2)
        got = curl(url, "-C", "-", output=str(partial))
        assert partial.stat().st_size == size
        return got

    return run


def sha(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def build(root: Path, big_mb: int, mid_mb: int, part_mb: int) -> dict[str, list[Path]]:
    generate_corpus(root, files=40, seed=1)
    template = single_image(root)
    made: dict[str, list[Path]] = {"1g": [], "100m": [], "50m": []}

    def add(label: str, tag: str, mb: int) -> None:
        target = template.with_name(template.name.replace("_img.fits", f"-{tag}_img.fits"))
        big_fits(template, target, mb * 1_000_000, written=True)
        made[label].append(target)

    add("1g", "big", big_mb)
    add("100m", "mid", mid_mb)
    for i in range(20):
        add("50m", f"part{i:02d}", part_mb)
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--big-mb", type=int, default=1000)
    parser.add_argument("--mid-mb", type=int, default=100)
    parser.add_argument("--part-mb", type=int, default=50)
    args = parser.parse_args()
    print(f"machine: {platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    scratch = Path(tempfile.mkdtemp(prefix="hlsp-bench-"))
    scratch.chmod(0o755)
    external = os.environ.get("HLSP_TEST_DATABASE_URL")
    cluster = None
    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin = None
    try:
        if external:
            server = external
        else:
            from catalog.embedded import EmbeddedCluster

            cluster = EmbeddedCluster(scratch / "cluster", durable=False)
            cluster.start()
            server = cluster.url("postgres")
        admin = create_engine(server, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        create_database(admin, name)
        db = catalog_database(server, name)
        db.migrate()
        root = scratch / "corpus"
        made = build(root, args.big_mb, args.mid_mb, args.part_mb)
        harvest(db, HarvestOptions(paths=[root], jobs=2, progress=False))
        with db.engine.connect() as conn:
            collections: dict[str, str] = dict(
                conn.execute(
                    sa.text(
                        "SELECT p.file_name, c.hlsp_id FROM hlsp.product p "
                        "JOIN hlsp.collection c USING (collection_id)"
                    )
                ).all()
            )
        missing = [p.name for ps in made.values() for p in ps if p.name not in collections]
        assert not missing, f"not harvested: {missing}"
        env = {"HLSP_DATABASE_URL": db.url, "HLSP_WORKERS": "2"}
        with serving("serve", env=env) as base:
            measure(base, made, collections, scratch, args.repeat)
        db.dispose()
    finally:
        if admin is not None:
            drop_database(admin, name)
            admin.dispose()
        if cluster is not None:
            cluster.destroy()
        shutil.rmtree(scratch, ignore_errors=True)


def measure(
    base: str,
    made: dict[str, list[Path]],
    collections: dict[str, str],
    scratch: Path,
    repeat: int,
) -> None:
    pids = listening_pids(int(base.rsplit(":", 1)[1]))

    def link(path: Path) -> str:
        return file_url(base, collections[path.name], path.name)

    for path in (*made["1g"], *made["100m"], *made["50m"]):  # warm the page cache
        cat(path)
    check = scratch / "check.fits"
    curl(link(made["100m"][0]), output=str(check))
    assert sha(check) == sha(made["100m"][0]), "the server should send the file's bytes"
    check.unlink()
    before = {pid: memory_kb(pid) for pid in pids}
    print(f"server processes: {sorted(pids)}; load average {os.getloadavg()[0]:.2f}")
    while LOCK.exists():  # another timed run: wait for it
        print(f"waiting: {LOCK} exists", flush=True)
        time.sleep(30)
    LOCK.write_text(f"benchmarks/download.py, pid {os.getpid()}\n")
    rows: list[tuple[str, str, float, float, float]] = []
    try:
        for label in ("1g", "100m"):
            path = made[label][0]
            size = f"{path.stat().st_size / 1e6:,.0f} MB"
            u = link(path)
            cases: list[tuple[str, Callable[[], int]]] = [
                ("cat > /dev/null (page cache)", partial(cat, path)),
                ("curl, 1 stream", partial(curl, u)),
                ("curl, 4 streams (aggregate)", partial(curl_parallel, u, 4)),
                ("httpx, 1 stream", partial(httpx_get, u)),
                ("httpx, 4 threads (aggregate)", partial(httpx_parallel, u, 4)),
            ]
            if label == "1g":
                cases.append(("curl -C - from half (Range)", resume(u, path, scratch)))
            for what, action in cases:
                rows.append(run_case(size, what, action, repeat, pids))
        parts = made["50m"]
        total = f"20 × {parts[0].stat().st_size / 1e6:,.0f} MB"
        ids = [f"ID={collections[p.name]}/{p.name}" for p in parts]
        rows.append(run_case(total, "cat of the 20 files", partial(cat, *parts), repeat, pids))
        for kind in ("zip", "tar"):
            action = partial(curl, base + f"/bulk/archive?format={kind}", data=ids)
            rows.append(run_case(total, f"/bulk/archive {kind}, curl", action, repeat, pids))
    finally:
        LOCK.unlink(missing_ok=True)
    after = {pid: memory_kb(pid) for pid in pids}
    print("\n| file | how | MB/s (best) | MB/s (median) | server CPU s per GB |")
    print("|---|---|---:|---:|---:|")
    for size, what, best, median, cpu in rows:
        shown = f"{cpu:.2f}" if cpu == cpu else "—"
        print(f"| {size} | {what} | {best:,.0f} | {median:,.0f} | {shown} |")
    print("\n| server process | VmRSS before | VmHWM before | VmRSS after | VmHWM after |")
    print("|---:|---:|---:|---:|---:|")
    for pid in sorted(pids):
        b, a = before[pid], after[pid]
        print(
            f"| {pid} | {b['VmRSS'] / 1024:.0f} MB | {b['VmHWM'] / 1024:.0f} MB"
            f" | {a['VmRSS'] / 1024:.0f} MB | {a['VmHWM'] / 1024:.0f} MB |"
        )
    print(f"\nload average at end: {os.getloadavg()[0]:.2f}")


def run_case(
    size: str, what: str, action: Callable[[], int], repeat: int, pids: set[int]
) -> tuple[str, str, float, float, float]:
    cpu0 = sum(cpu_seconds(p) for p in pids)
    best, median, moved = timed(action, repeat)
    cpu = sum(cpu_seconds(p) for p in pids) - cpu0
    per_gb = cpu / (moved * repeat / 1e9) if not what.startswith("cat") else float("nan")
    print(f"{size:>12} {what:<34} best {best:8,.0f} MB/s  median {median:8,.0f} MB/s", flush=True)
    return size, what, best, median, per_gb


if __name__ == "__main__":
    main()
