"""What one request of each kind of benchmarks/load.py costs the machine: CPU of the server's
processes and of PostgreSQL, per request, with the server otherwise idle.

For each kind (TAP cone, count, TOP 100; the GraphQL portal page: benchmarks/load_mix.py) a
few keep-alive clients send --requests requests back to back; the CPU seconds that ``hlsp
serve`` (its process and its workers) and the cluster's PostgreSQL processes used meanwhile
(``/proc``, user + system) are divided by the requests. The sum over the kinds says what
throughput the machine can reach at best (cores / mean cost); the split says where to look.

The server is ``hlsp serve`` of --checkout on the corpus of --data-dir, harvested by a
previous ``benchmarks/load.py`` run (the same catalog), started here with --workers 1 unless
--server-arg says otherwise; or --url: a running server on this machine (then every ``hlsp
serve`` process with its workers, and every PostgreSQL process of the machine, are counted).

    uv run python benchmarks/request_cost.py --data-dir benchmarks/out/load-10000
    uv run python benchmarks/request_cost.py --data-dir DATA --checkout ../before  # compare
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import sys
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.load_mix import KINDS, Mix, read_facts
from benchmarks.load_server import (
    HARVEST_DONE,
    Server,
    describe_checkout,
    run_hlsp,
)

TICK = os.sysconf("SC_CLK_TCK")


def _processes() -> tuple[dict[int, list[int]], dict[int, float], dict[int, str]]:
    """Children by parent, CPU seconds so far (user + system) and command line, by pid."""
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        children.setdefault(int(stat[1]), []).append(pid)
        times[pid] = (int(stat[11]) + int(stat[12])) / TICK
        commands[pid] = command if comm != "postgres" else "postgres " + command
    return children, times, commands


def _tree(root: int, children: dict[int, list[int]], times: dict[int, float]) -> float:
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        total += times.get(pid, 0.0)
        stack += children.get(pid, [])
    return total


def cpu_seconds(server_pid: int | None, postmaster: int | None) -> tuple[float, float]:
    """CPU seconds so far of the server (the process tree of ``server_pid``, else of every
    ``hlsp serve`` process: uvicorn's workers are its children) and of PostgreSQL (the tree
    of ``postmaster``, else every ``postgres`` process of the machine)."""
    children, times, commands = _processes()
    roots = [server_pid] if server_pid else [p for p, c in commands.items() if "hlsp serve" in c]
    server = sum(_tree(p, children, times) for p in roots)
    if postmaster:
        database = _tree(postmaster, children, times)
    else:
        database = sum(t for p, t in times.items() if commands[p].startswith("postgres "))
    return server, database


def _answer(sock: socket.socket) -> bytes:
    """Read one response (Content-Length or chunked); its status code."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += _recv(sock)
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").lower().split("\r\n")
    length = next((int(x.split(":")[1]) for x in lines if x.startswith("content-length:")), None)
    if length is not None:
        while len(rest) < length:
            rest += _recv(sock)
        return head.split(b" ")[1]
    while True:  # chunked: size line, data, CRLF; a size of 0 ends it
        while b"\r\n" not in rest:
            rest += _recv(sock)
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        while len(rest) < size + 2:
            rest += _recv(sock)
        rest = rest[size + 2 :]
        if size == 0:
            return head.split(b" ")[1]


def _recv(sock: socket.socket) -> bytes:
    chunk = sock.recv(1 << 16)
    if not chunk:
        raise ConnectionError("the server closed the connection")
    return chunk


def measure(
    mix: Mix,
    host: str,
    port: int,
    kind: str,
    requests: int,
    clients: int,
    pids: tuple[int | None, int | None],
) -> tuple[float, float, float]:
    """(requests/s, server CPU ms, PostgreSQL CPU ms) per request of ``kind``; ``pids``: the
    server's and the postmaster's (None: see :func:`cpu_seconds`)."""
    per_client = max(1, requests // clients)
    failures: list[str] = []

    def client(seed: int) -> None:
        rng = random.Random(seed)
        try:
            with socket.create_connection((host, port)) as sock:
                for _ in range(per_client):
                    sock.sendall(rng.choice(mix.requests[kind]).wire)
                    status = _answer(sock)
                    if status != b"200":
                        failures.append(status.decode())
        except (OSError, ValueError) as exc:
            failures.append(f"client failed: {exc}")

    before, started = cpu_seconds(*pids), time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after, took = cpu_seconds(*pids), time.monotonic() - started
    if failures:
        raise SystemExit(f"{kind}: {len(failures)} answers were not 200: {failures[:5]}")
    done = per_client * clients
    return (done / took, 1000 * (after[0] - before[0]) / done, 1000 * (after[1] - before[1]) / done)


def main() -> None:
    here = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=here / "benchmarks/out/load-10000")
    parser.add_argument("--checkout", type=Path, default=here)
    parser.add_argument("--server-arg", action="append", default=None)
    parser.add_argument("--url", help="a running server on this machine instead")
    parser.add_argument("--requests", type=int, default=600, help="per kind")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2, help="each kind, best round kept")
    parser.add_argument("--seed", type=int, default=20261207)
    args = parser.parse_args()
    server: Server | None = None
    try:
        postmaster: int | None = None
        if args.url:
            base, pid = args.url.rstrip("/"), None
        else:
            if not (args.data_dir / HARVEST_DONE).exists():
                raise SystemExit(f"no harvested corpus in {args.data_dir}: run load.py first")
            run_hlsp(args.checkout, args.data_dir, "db", "start")
            server = Server.start(
                args.checkout, args.data_dir, args.server_arg or ["--workers", "1"]
            )
            base, pid = server.base, server.process.pid
            postmaster = int((args.data_dir / "pgdata/postmaster.pid").read_text().split()[0])
            print(f"measuring hlsp serve of {describe_checkout(args.checkout)}")
        netloc = urllib.parse.urlsplit(base)
        host, port = netloc.hostname or "127.0.0.1", netloc.port or 80
        mix = Mix(read_facts(base), host, port, netloc.path.rstrip("/"), args.seed)
        print(
            f"{args.requests} requests of each kind from {args.clients} clients, best of "
            f"{args.rounds}; CPU per request, ms\n"
        )
        print("| kind | req/s | server | PostgreSQL | both |\n|---|---:|---:|---:|---:|")
        total = 0.0
        for kind in KINDS:
            rounds = [
                measure(mix, host, port, kind, args.requests, args.clients, (pid, postmaster))
                for _ in range(args.rounds)
            ]
            rate, srv, db = min(rounds, key=lambda r: r[1] + r[2])
            total += srv + db
            print(f"| {kind} | {rate:.0f} | {srv:.2f} | {db:.2f} | {srv + db:.2f} |")
        mean = total / len(KINDS)
        cores = len(os.sched_getaffinity(0))
        print(
            f"\nmean of the mix: {mean:.2f} ms of CPU a request: at most "
            f"{1000 * cores / mean:.0f} requests/s on {cores} cores"
        )
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
