"""The server side of benchmarks/load.py: the corpus and its private cluster, the
``hlsp serve`` process, and what is sampled of it every second (its RSS, the catalog
database's connections)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CORPUS_DONE = ".complete"
HARVEST_DONE = "load-corpus.json"


def hlsp_command(checkout: Path) -> list[str]:
    venv = checkout / ".venv" / "bin" / "hlsp"
    if venv.exists():
        return [str(venv)]
    return ["uv", "run", "--frozen", "--project", str(checkout), "hlsp"]


def hlsp_env(data_dir: Path, settings: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the commands this script runs: the caller's without its HLSP_*
    settings (a stray HLSP_DATABASE_URL must not redirect the benchmark), plus the data
    directory and the server settings given with --server-env."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HLSP_")}
    env.update(settings or {})
    env["HLSP_DATA_DIR"] = str(data_dir)
    return env


def run_hlsp(checkout: Path, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*hlsp_command(checkout), *args],
        env=hlsp_env(data_dir),
        cwd=checkout,
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )


def prepare_corpus(checkout: Path, data_dir: Path, files: int) -> None:
    """Generate and harvest the corpus into ``data_dir`` unless an earlier run did."""
    corpus = data_dir / "corpus"
    if (data_dir / HARVEST_DONE).exists():
        print(f"corpus: reusing {data_dir} ({(data_dir / HARVEST_DONE).read_text().strip()})")
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    if not (corpus / CORPUS_DONE).exists():
        shutil.rmtree(corpus, ignore_errors=True)
        print(f"corpus: generating {files:,} files under {corpus} …", flush=True)
        t0 = time.perf_counter()
        script = (
            "import sys; from pathlib import Path; "
            "from catalog.corpus import generate_corpus; "
            "generate_corpus(Path(sys.argv[1]), files=int(sys.argv[2]), seed=int(sys.argv[2]), "
            "flaws=True, damage=False)"
        )
        subprocess.run(
            [sys.executable, "-c", script, str(corpus), str(files)], check=True, cwd=REPO
        )
        (corpus / CORPUS_DONE).write_text("")
        print(f"corpus: generated in {time.perf_counter() - t0:.0f} s")
    print("corpus: harvesting with hlsp harvest …", flush=True)
    t0 = time.perf_counter()
    started = run_hlsp(checkout, data_dir, "db", "start")
    if started.returncode != 0:
        raise SystemExit(f"hlsp db start failed:\n{started.stdout}{started.stderr}")
    done = run_hlsp(checkout, data_dir, "harvest", str(corpus), "--jobs", str(os.cpu_count() or 1))
    if done.returncode not in (0, 1):
        raise SystemExit(f"hlsp harvest failed:\n{done.stdout}{done.stderr}")
    note = f"{files:,} files harvested by {describe_checkout(checkout)} on {time.strftime('%F %T')}"
    (data_dir / HARVEST_DONE).write_text(note + "\n")
    print(f"corpus: harvested in {time.perf_counter() - t0:.0f} s ({done.stderr.strip()[-200:]})")


def describe_checkout(checkout: Path) -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(checkout), *args], capture_output=True, text=True, check=False
        ).stdout.strip()

    dirty = (
        " (with uncommitted changes)"
        if git("status", "--porcelain", "--untracked-files=no")
        else ""
    )
    commit, branch = git("rev-parse", "--short", "HEAD"), git("branch", "--show-current")
    return f"{checkout} at {commit} ({branch}){dirty}"


def cluster_running(checkout: Path, data_dir: Path) -> bool:
    return run_hlsp(checkout, data_dir, "db", "status").returncode == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, timeout: float = 5) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@dataclass
class Server:
    """``hlsp serve`` started by this script, in its own session (so that it and its worker
    processes get signals from us only)."""

    process: subprocess.Popen[bytes]
    base: str
    log: Path

    @classmethod
    def start(
        cls,
        checkout: Path,
        data_dir: Path,
        extra: list[str],
        port: int = 0,
        settings: dict[str, str] | None = None,
    ) -> Server:
        port = port or free_port()
        log_dir = data_dir / "log"
        log_dir.mkdir(parents=True, exist_ok=True)
        log = log_dir / f"serve-{time.strftime('%Y%m%d-%H%M%S')}.log"
        command = [
            *hlsp_command(checkout),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *extra,
        ]
        print(f"server: {' '.join(command)} (log {log})", flush=True)
        with log.open("wb") as out:
            process = subprocess.Popen(
                command,
                env=hlsp_env(data_dir, settings),
                cwd=checkout,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = cls(process, f"http://127.0.0.1:{port}", log)
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                raise SystemExit(
                    f"the server exited with {process.returncode}; see {log}:\n"
                    + log.read_text(errors="replace")[-2000:]
                )
            with contextlib.suppress(OSError):
                if get(server.base + "/health") == 200:
                    return server
            if time.monotonic() > deadline:
                server.stop()
                raise SystemExit(f"the server did not answer /health within 180 s; see {log}")
            time.sleep(0.25)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            print("server: still running 15 s after SIGINT; SIGKILL", flush=True)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # also workers left behind
        self.process.wait(timeout=15)


def log_findings(log: Path, offset: int) -> dict[str, int]:
    """Lines of the server log since ``offset`` that say something went wrong."""
    with log.open("rb") as handle:
        handle.seek(offset)
        text = handle.read().decode(errors="replace")
    return {
        "tracebacks": text.count("Traceback (most recent call last)"),
        "ERROR lines": sum(1 for line in text.splitlines() if "ERROR" in line),
        "QueuePool limit": text.count("QueuePool limit"),
    }


# -- sampling: server RSS, database connections, load ---------------------------------------


def process_tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and its descendants (PostgreSQL processes excluded)."""
    parent: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:  # noqa: PTH123
                stat = handle.read().decode(errors="replace")
        except OSError:
            continue
        name_end = stat.rfind(")")
        pid = int(entry.name)
        names[pid] = stat[stat.find("(") + 1 : name_end]
        parent[pid] = int(stat[name_end + 2 :].split()[1])
    tree = {root}
    grew = True
    while grew:
        grew = False
        for pid, ppid in parent.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                grew = True
    total = 0
    page = os.sysconf("SC_PAGE_SIZE")
    for pid in tree:
        if names.get(pid, "").startswith("postgres"):
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
    return total


CONNECTIONS_SQL = (
    "SELECT coalesce(state, 'unknown'), count(*) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid() GROUP BY 1"
)


class Sampler(threading.Thread):
    """Every second: the server's RSS and the catalog database's connections by state."""

    def __init__(self, server_pid: int | None, database_url: str | None) -> None:
        super().__init__(daemon=True)
        self.server_pid = server_pid
        self.database_url = database_url
        self.halt = threading.Event()
        self.rss: list[int] = []
        self.connections: list[dict[str, int]] = []
        self.problem = ""

    def run(self) -> None:
        conn = None
        if self.database_url:
            try:
                import psycopg

                conn = psycopg.connect(self.database_url, autocommit=True, connect_timeout=10)
            except Exception as exc:
                self.problem = f"connections not sampled: {exc}"
        try:
            while not self.halt.is_set():
                if self.server_pid is not None:
                    self.rss.append(process_tree_rss(self.server_pid))
                if conn is not None:
                    try:
                        rows = conn.execute(CONNECTIONS_SQL).fetchall()
                        self.connections.append({str(s): int(n) for s, n in rows})
                    except Exception as exc:
                        self.problem = f"connections sampling failed: {exc}"
                        conn = None
                self.halt.wait(1.0)
        finally:
            if conn is not None:
                conn.close()

    def finish(self) -> dict[str, Any]:
        self.halt.set()
        self.join(timeout=10)
        totals = [sum(c.values()) for c in self.connections]
        by_state: dict[str, int] = {}
        for sample in self.connections:
            for state, n in sample.items():
                by_state[state] = max(by_state.get(state, 0), n)
        return {
            "rss_max_mb": max(self.rss) / 2**20 if self.rss else None,
            "rss_mb_timeline": [round(r / 2**20, 1) for r in self.rss],
            "db_connections_max": max(totals) if totals else None,
            "db_connections_max_by_state": by_state,
            "db_connections_timeline": totals,
            "sampling_problem": self.problem or None,
        }
