"""The server under load: closed-loop levels of concurrent clients and an open loop at a fixed
arrival rate, against ``hlsp serve`` on a harvested corpus of 10^4 products.

What it does, in one run (the total time, at most, is printed before it starts):

  corpus   ``catalog.corpus`` writes --files FITS files (fixed seed, no damaged
           files) under DATA/corpus and ``hlsp harvest`` loads them into the embedded cluster
           of DATA (``HLSP_DATA_DIR=DATA``, private to the benchmark). Both are kept and
           reused by later runs (--data-dir), so two checkouts are measured on one catalog
  server   ``hlsp serve`` of --checkout (its .venv/bin/hlsp, else ``uv run --project``) on
           127.0.0.1 and a free port, with --server-arg passed through (and --server-env
           HLSP_*=… settings: the caller's own HLSP_* variables are not); stopped at the end
           (SIGINT, then SIGKILL after 15 s), also on Ctrl-C or an error. Or --url: a server
           already running on this machine (loopback only); --server-pid and --database-url
           (or --data-dir) then say what to sample
  mix      four kinds in equal shares (benchmarks/load_mix.py): a TAP cone, a TAP count, a
           TAP TOP 100, the GraphQL portal page of 20 products; parameters drawn from the
           catalog, seeded (--seed); each kind is checked to answer 200 before the levels
  warm-up  4 clients for --warmup s, not recorded
  open     --open-rate requests/s at Poisson arrival times (seeded) for --duration s,
           whatever the answers, on a pool of keep-alive connections that grows when all
           are busy; latency counts from each request's scheduled time (no coordinated
           omission). It runs first, on a server no overload has touched: the target is
           about latency below capacity
  closed   then for each of --levels N: N clients for --duration s, each sending its next
           request when its previous one has ended (starts spread over the first second).
           A 503 with Retry-After is a deliberate 503: the client then waits Retry-After
           (at most --backoff-cap s, plus up to 25 % jitter), as a well-behaved client
           does; after a connection error it waits 0.1 s
  settle   after each level, until /health and a TAP count answer within 1 s three times in
           a row (at most --settle-limit s): work an overwhelmed server still holds would be
           billed to the next level. The time it took is reported; a server this script
           started that has not recovered is restarted (and the next level says so); the
           next level starts after --pause s

The client is asyncio (uvloop when installed) with raw HTTP/1.1 over keep-alive connections
(benchmarks/load_client.py): it shares the cores with the server and PostgreSQL, so it must
cost little per request; its own CPU seconds are reported. Every request has a client
timeout (--timeout, 30 s by default); latency runs from issuing the request (a TCP connect
included when the client has no open connection) to its last byte. A level stops issuing
requests after --duration and waits for those in flight (each bounded by the timeout): a
collapsing level runs to its end, and never longer than duration + timeout (+ the settle
limit after it).

Reported per level: requests, throughput (successful answers per second inside the window),
per kind p50/p95/p99/max of successful (admitted) requests, outcomes by class (200, 503
deliberate, 503 without Retry-After, other 5xx, 4xx, 200 with an error document, timeout,
connection error), the server's RSS (its process and children, sampled every second: max),
the catalog database's connections (``pg_stat_activity``, sampled every second: max, and
by state), the client's CPU, and the load average before and after (the machine may be
shared). Then PASS/FAIL against the targets:

  errors       0 errors other than deliberate 503s, at every level and in the open loop
  throughput   at the largest level no lower than at the smallest (1,000 vs 10 clients)
  tail         p99 ≤ 5 × p50 of admitted requests, for every kind at every level
  open loop    p99 ≤ 100 ms over all admitted requests, at 100 requests/s

Usage:

    uv run python benchmarks/load.py                                # open + 10 100 300 1000, 60 s
    uv run python benchmarks/load.py --levels 10 100 --duration 5   # a quick look
    uv run python benchmarks/load.py --checkout ../other --server-arg=--workers=2 --json after.json
    uv run python benchmarks/load.py --url http://127.0.0.1:8000 --server-pid 1234 --data-dir D

The corpus and its cluster live in --data-dir (default benchmarks/out/load-<files>, about
0.4 GB for 10^4 products); the embedded cluster is stopped at the end when this run
started it. The server's log goes to DATA/log/serve-<time>.log.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import os
import platform
import resource
import signal
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# Run as a script, this folder comes first on sys.path, and benchmarks/graphql.py would
# shadow graphql-core; the helpers are imported as benchmarks.* from the repository root.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO))

from benchmarks.load_client import (  # noqa: E402
    OK,
    Connection,
    Recorder,
    Request,
    closed_loop,
    open_loop,
    timed_exchange,
)
from benchmarks.load_mix import KINDS, Facts, Mix, read_facts  # noqa: E402
from benchmarks.load_report import (  # noqa: E402
    Level,
    check_targets,
    level_name,
    print_level,
    print_summary,
    summarise,
)
from benchmarks.load_server import (  # noqa: E402
    HARVEST_DONE,
    Sampler,
    Server,
    cluster_running,
    describe_checkout,
    log_findings,
    prepare_corpus,
    run_hlsp,
)

SEED = 20261124


# -- levels ---------------------------------------------------------------------------------


@dataclass
class Target:
    host: str
    port: int
    base: str
    server_pid: int | None
    database_url: str | None
    log: Path | None


async def preflight(target: Target, mix: Mix, timeout: float) -> None:
    """Each kind's first variants, one at a time: all must answer 200 (the mix is valid)."""
    recorder = Recorder(asyncio.get_running_loop().time(), 3600)
    conn: Connection | None = None
    for kind in KINDS:
        for request in mix.requests[kind][:20]:
            conn, answer, outcome = await timed_exchange(
                target.host, target.port, conn, request, timeout, recorder
            )
            if outcome != OK:
                status = answer.status if answer else "-"
                raise SystemExit(
                    f"preflight: a {kind} request got {outcome} (HTTP {status}); "
                    f"the request was:\n{request.wire.decode(errors='replace')}"
                )
    if conn is not None:
        conn.close()


async def settle(target: Target, mix: Mix, limit: float) -> float | None:
    """Seconds until the server answers /health and a TAP count within 1 s each, three
    times in a row (a level that overwhelmed it leaves work behind, which would be billed to
    the next level); None when that did not happen within ``limit`` seconds."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    recorder = Recorder(start, 3600)
    host = f"{target.host}:{target.port}"
    health = Request(
        "health", f"GET {mix.prefix}/health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode(), b""
    )
    probes = [health, mix.requests["count"][0]]
    conn: Connection | None = None
    good = 0
    while good < 3:
        if loop.time() - start > limit:
            return None
        for probe in probes:
            t0 = loop.time()
            conn, _, outcome = await timed_exchange(
                target.host, target.port, conn, probe, 1.0, recorder
            )
            if outcome != OK or loop.time() - t0 > 1.0:
                good = -1
        good += 1
        if good < 3:
            await asyncio.sleep(0.5)
    if conn is not None:
        conn.close()
    return loop.time() - start


async def run_level(target: Target, mix: Mix, level: Level, args: argparse.Namespace) -> None:
    load_before = os.getloadavg()
    sampler = Sampler(target.server_pid, target.database_url)
    sampler.start()
    log_offset = target.log.stat().st_size if target.log else 0
    cpu0 = time.thread_time()
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    wall0 = time.perf_counter()
    seed = args.seed + int(level.load)
    if level.loop == "closed":
        recorder = await closed_loop(
            target.host,
            target.port,
            int(level.load),
            args.duration,
            args.timeout,
            mix.pick,
            seed,
            args.backoff_cap,
        )
    else:
        recorder = await open_loop(
            target.host, target.port, level.load, args.duration, args.timeout, mix.pick, seed
        )
    wall = time.perf_counter() - wall0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    load_after = os.getloadavg()
    recovered = await settle(target, mix, args.settle_limit)
    level.result = summarise(recorder, args.duration)
    level.result.update(sampler.finish())
    level.result.update(
        {
            "loop": level.loop,
            "load": level.load,
            "wall_s": wall,
            "client_loop_cpu_s": time.thread_time() - cpu0,
            "client_process_cpu_s": (usage.ru_utime + usage.ru_stime)
            - (usage0.ru_utime + usage0.ru_stime),
            "load_average_before": load_before,
            "load_average_after": load_after,
            "recovered_after_s": recovered,
            "server_log": log_findings(target.log, log_offset) if target.log else None,
        }
    )


# -- the run --------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    mem = Path("/proc/meminfo").read_text().split("\n")[0].split()[1]
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    return {
        "host": platform.node(),
        "cores": os.cpu_count(),
        "cpu": model,
        "memory_gb": round(int(mem) / 2**20, 1),
        "kernel": platform.release(),
        "os": platform.freedesktop_os_release().get("PRETTY_NAME", "?")
        if hasattr(platform, "freedesktop_os_release")
        else "?",
        "python": platform.python_version(),
    }


def raise_fd_limit(needed: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(soft, needed)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft < needed:
        print(
            f"warning: {soft} file descriptors allowed, {needed} wanted: the largest "
            "levels will see connection errors made by this machine, not by the server"
        )
    return soft


def loopback(url: str) -> tuple[str, int, str]:
    """(host, port, path prefix) of a loopback http URL; anything else is refused."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    ok = host == "localhost"
    with contextlib.suppress(ValueError):
        ok = ok or ipaddress.ip_address(host).is_loopback
    if parts.scheme != "http" or not ok or parts.port is None:
        raise SystemExit(
            f"--url must be http://127.0.0.1:PORT or http://localhost:PORT "
            f"(loopback only, port given), not {url!r}"
        )
    return ("127.0.0.1" if host == "localhost" else host), parts.port, parts.path.rstrip("/")


def parse_args() -> argparse.Namespace:
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(
        description=doc.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--levels",
        type=int,
        nargs="+",
        default=[10, 100, 300, 1000],
        help="closed-loop client counts",
    )
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per level")
    parser.add_argument(
        "--open-rate",
        type=float,
        default=100.0,
        help="open-loop requests per second (0: no open loop)",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="client timeout, s")
    parser.add_argument(
        "--backoff-cap", type=float, default=2.0, help="longest wait after a deliberate 503, s"
    )
    parser.add_argument("--pause", type=float, default=5.0, help="seconds between levels")
    parser.add_argument(
        "--settle-limit",
        type=float,
        default=60.0,
        help="after a level, wait at most this long for the server to answer promptly again",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=5.0,
        help="seconds of 4 clients before the levels (not recorded)",
    )
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--files", type=int, default=10_000, help="products in the corpus")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="corpus + cluster (default benchmarks/out/load-FILES)",
    )
    parser.add_argument(
        "--checkout", type=Path, default=REPO, help="the checkout whose hlsp serve is measured"
    )
    parser.add_argument(
        "--server-arg",
        action="append",
        default=[],
        help="passed to hlsp serve (--server-arg=--workers=2)",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an HLSP_* setting for hlsp serve (--server-env HLSP_TAP_SLOTS=2); the caller's "
        "own HLSP_* variables are not passed on",
    )
    parser.add_argument("--url", help="measure this running server (loopback) instead")
    parser.add_argument("--server-pid", type=int, help="with --url: its pid, for RSS")
    parser.add_argument("--database-url", help="with --url: the catalog database, for connections")
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args()
    args.checkout = args.checkout.resolve()
    if args.data_dir is None:
        args.data_dir = REPO / "benchmarks" / "out" / f"load-{args.files}"
    args.data_dir = args.data_dir.absolute()
    if args.duration <= 0 or args.timeout <= 0 or not args.levels or min(args.levels) < 1:
        parser.error("--duration and --timeout must be positive, --levels at least 1 client")
    return args


def plan(args: argparse.Namespace, corpus_ready: bool) -> None:
    levels = len(args.levels) + (1 if args.open_rate > 0 else 0)
    usual = args.warmup + levels * (args.duration + args.pause)
    bound = args.warmup + levels * (args.duration + args.timeout + args.settle_limit + args.pause)
    print(
        f"plan: closed loop {args.levels} clients × {args.duration:g} s"
        + (
            f", open loop {args.open_rate:g} req/s × {args.duration:g} s"
            if args.open_rate > 0
            else ""
        )
        + f"; client timeout {args.timeout:g} s; seed {args.seed}"
    )
    extra = "" if corpus_ready or args.url else " + corpus generation and harvest (1–3 min)"
    print(
        f"time: about {usual / 60:.1f} min, at most {bound / 60:.1f} min{extra}, "
        "+ server start (≤ 3 min) and stop (≤ 30 s), each time it is restarted",
        flush=True,
    )


async def measure(
    target: Target, mix: Mix, args: argparse.Namespace, restart: Callable[[], Target] | None
) -> list[Level]:
    """Warm-up, then the levels; a server that has not recovered from a level within the
    settle limit is restarted before the next (when ``restart`` can), and the next level
    says so."""
    await preflight(target, mix, args.timeout)
    if args.warmup > 0:
        print(f"warm-up: 4 clients for {args.warmup:g} s", flush=True)
        await closed_loop(
            target.host,
            target.port,
            4,
            args.warmup,
            args.timeout,
            mix.pick,
            args.seed - 1,
            args.backoff_cap,
        )
    levels = [Level("open", args.open_rate)] if args.open_rate > 0 else []
    levels += [Level("closed", n) for n in args.levels]
    restarted = False
    for i, level in enumerate(levels):
        if i:
            if levels[i - 1].result["recovered_after_s"] is None and restart is not None:
                print("the server has not recovered: restarting it", flush=True)
                target = restart()
                await preflight(target, mix, args.timeout)  # also warms the new process
                restarted = True
            await asyncio.sleep(args.pause)
        print(f"\n{time.strftime('%T')} {level_name(level)} for {args.duration:g} s …", flush=True)
        await run_level(target, mix, level, args)
        level.result["server_restarted_before"] = restarted
        restarted = False
        print_level(level)
    return levels


def event_loop_runner() -> asyncio.Runner:
    try:
        import uvloop
    except ImportError:
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


def server_settings(args: argparse.Namespace) -> dict[str, str]:
    settings = {}
    for item in args.server_env:
        name, sep, value = item.partition("=")
        if not sep or not name.startswith("HLSP_"):
            raise SystemExit(f"--server-env takes HLSP_NAME=VALUE, got {item!r}")
        settings[name] = value
    return settings


def main() -> None:
    args = parse_args()
    # Ctrl-C and SIGTERM stop the run and clean up (also when started in the background,
    # where a shell may have set SIGINT to be ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    fds = raise_fd_limit(max(args.levels) + 2 * int(args.open_rate * args.timeout) + 200)
    info = machine()
    print(
        f"machine: {info['host']}, {info['cores']} cores ({info['cpu']}), "
        f"{info['memory_gb']} GB, {info['os']}, kernel {info['kernel']}, Python {info['python']}; "
        f"open files allowed {fds}"
    )
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    server: Server | None = None
    restart: Callable[[], Target] | None = None
    started_cluster = False
    try:
        if args.url:
            host, port, prefix = loopback(args.url)
            base = args.url.rstrip("/")
            database_url = args.database_url
            if database_url is None and (args.data_dir / "pgdata").exists():
                database_url = run_hlsp(args.checkout, args.data_dir, "db", "url").stdout.strip()
            plan(args, True)
            target = Target(host, port, base, args.server_pid, database_url, None)
            described = f"the server at {base}"
        else:
            plan(args, (args.data_dir / HARVEST_DONE).exists())
            # The cluster is stopped at the end if this run starts it (here or to harvest).
            started_cluster = not (
                (args.data_dir / "pgdata").exists()
                and cluster_running(args.checkout, args.data_dir)
            )
            prepare_corpus(args.checkout, args.data_dir, args.files)
            started = run_hlsp(args.checkout, args.data_dir, "db", "start")
            if started.returncode != 0:
                raise SystemExit(f"hlsp db start failed:\n{started.stdout}{started.stderr}")
            database_url = run_hlsp(args.checkout, args.data_dir, "db", "url").stdout.strip()
            server = Server.start(
                args.checkout, args.data_dir, args.server_arg, settings=server_settings(args)
            )
            host, port, prefix = loopback(server.base)
            target = Target(host, port, server.base, server.process.pid, database_url, server.log)

            def restart_server() -> Target:
                nonlocal server
                assert server is not None
                server.stop()
                server = Server.start(
                    args.checkout, args.data_dir, args.server_arg, port, server_settings(args)
                )
                return Target(host, port, server.base, server.process.pid, database_url, server.log)

            restart = restart_server
            settings = " ".join(args.server_env)
            described = (
                f"{settings + ' ' if settings else ''}hlsp serve {' '.join(args.server_arg)} "
                f"of {describe_checkout(args.checkout)}"
            )
        print(f"measuring {described}", flush=True)
        facts: Facts = read_facts(target.base)
        print(
            f"catalog: {facts.products:,} products, {len(facts.positions):,} with a position, "
            f"{len(facts.collections)} collections, {len(facts.instruments)} instruments"
        )
        mix = Mix(facts, host, port, prefix, args.seed)
        with event_loop_runner() as runner:
            levels = runner.run(measure(target, mix, args, restart))
        print_summary(levels)
        targets = check_targets(levels)
        print()
        for t in targets:
            print(f"{'PASS' if t['pass'] else 'FAIL'}  {t['target']}: {t['detail']}")
        print(
            "(a client that gets a 503 with Retry-After waits as told, at most "
            f"{args.backoff_cap:g} s + jitter: a well-behaved client)"
        )
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "machine": info,
                        "measured": described,
                        "catalog_products": facts.products,
                        "settings": {
                            k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()
                        },
                        "levels": [lv.result for lv in levels],
                        "targets": targets,
                    },
                    indent=1,
                )
            )
            print(f"figures written to {args.json}")
    except KeyboardInterrupt:
        print("\ninterrupted: stopping", flush=True)
        raise SystemExit(130) from None
    finally:
        if server is not None:
            server.stop()
            print("server: stopped", flush=True)
        if started_cluster:
            run_hlsp(args.checkout, args.data_dir, "db", "stop")
            print("cluster: stopped", flush=True)
        print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
