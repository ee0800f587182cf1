"""A harvest whose database goes away or fails, or whose worker dies: one message with a
code, exit status 2, no traceback, no file blamed; the next run completes the work."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from catalog.corpus import Corpus, generate_corpus
from catalog.db import Database
from catalog.embedded import EmbeddedCluster
from catalog.harvest.load import Loader
from catalog.harvest.perfile import process_file
from catalog.harvest.records import FileTask, ProductRecord
from tests.support.cli import HLSP, hlsp


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Corpus]:
    root = tmp_path_factory.mktemp("outage") / "hlsp"
    return root, generate_corpus(root, files=3000, seed=5, flaws=False)


@pytest.fixture
def own_cluster(scratch_dir: Path) -> Iterator[Path]:
    """The data directory of an embedded cluster of this test's own (it gets killed)."""
    data = Path(tempfile.mkdtemp(dir=scratch_dir, prefix="outage-"))
    data.chmod(0o755)  # as root, the server's account must reach it
    yield data
    EmbeddedCluster(data).destroy()
    shutil.rmtree(data, ignore_errors=True)


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("HLSP_")}


def _count(url: str, sql: str) -> Any:
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        row = conn.execute(sql).fetchone()
    assert row is not None
    return row[0]


def _harvest(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [HLSP, *args, "--no-progress", "--batch-size", "100"],
        env=_env() | (env or {}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_products(url: str, proc: subprocess.Popen[str]) -> None:
    """Until the harvest has committed a batch (it must still be running then)."""
    deadline = time.monotonic() + 120
    while _count(url, "SELECT count(*) FROM hlsp.product") == 0:
        assert proc.poll() is None, "the harvest ended before it could be disturbed"
        assert time.monotonic() < deadline, "no batch was committed within 120 s"
        time.sleep(0.02)
    assert proc.poll() is None, "the harvest ended before it could be disturbed"


def _one_message(stderr: str, code: str) -> None:
    """The run ended with one error (and its advice), never a traceback."""
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert lines and lines[0].startswith(f"error {code} "), stderr
    assert len(lines) <= 2, stderr  # the message and what to do


def _finished(url: str, root: Path, files: int, env: dict[str, str], *args: str) -> None:
    """The next run completes the work: every file one live product, the runs recorded."""
    again = hlsp(*args, "harvest", str(root), "--no-progress", env=env)
    assert again.returncode == 0, again.stderr
    assert _count(url, "SELECT count(*) FROM hlsp.product WHERE withdrawn_at IS NULL") == files
    assert (
        _count(url, "SELECT count(DISTINCT (collection_id, file_name)) FROM hlsp.product") == files
    )
    assert _count(url, "SELECT count(*) FROM hlsp.harvest_failure") == 0
    states = _count(url, "SELECT string_agg(state, ',' ORDER BY run_id) FROM hlsp.harvest_run")
    assert states in {"interrupted,completed", "failed,completed"}, states


@pytest.mark.slow
@pytest.mark.parametrize("jobs", [1, 2])
def test_a_server_killed_mid_run_ends_it_with_one_message(
    own_cluster: Path, large: tuple[Path, Corpus], jobs: int
) -> None:
    """``pg_ctl stop -m immediate`` (SIGQUIT to the postmaster) while a few thousand files
    load, in the harvesting process (--jobs 1) or in its pool workers (--jobs 2)."""
    root, generated = large
    data = ["--data-dir", str(own_cluster)]
    started = hlsp(*data, "db", "start")
    assert started.returncode == 0, started.stderr
    cluster = EmbeddedCluster(own_cluster)
    url = cluster.url()
    proc = _harvest(*data, "harvest", str(root), "--jobs", str(jobs))
    _wait_for_products(url, proc)
    pid = cluster.status().pid
    assert pid is not None
    os.kill(pid, signal.SIGQUIT)  # an immediate shutdown, as pg_ctl -m immediate sends it
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 2, stderr
    _one_message(stderr, "HLSP-020")
    assert "went away during harvest run" in stderr
    deadline = time.monotonic() + 60
    while cluster.is_running():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert hlsp(*data, "db", "start").returncode == 0
    # The run is not recorded as a success (the server was gone when it ended: still
    # 'running' until the next run, holding the harvest lock, calls it interrupted).
    assert _count(url, "SELECT state FROM hlsp.harvest_run") in {"running", "failed"}
    _finished(url, root, len(generated.files), {}, *data)


def test_sessions_cut_mid_run_end_it_with_one_message(
    database: Database, large: tuple[Path, Corpus]
) -> None:
    """The server ends every session of the catalog database (an operator's
    pg_terminate_backend, a failover) while the pool workers load."""
    root, generated = large
    env = {"HLSP_DATABASE_URL": database.url}
    proc = _harvest("harvest", str(root), "--jobs", "2", env=env)
    _wait_for_products(database.url, proc)
    _count(
        database.url,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 2, stderr
    _one_message(stderr, "HLSP-020")
    _finished(database.url, root, len(generated.files), env)


def test_a_worker_killed_mid_run_ends_it_with_one_message(
    database: Database, large: tuple[Path, Corpus]
) -> None:
    """A pool worker killed (the kernel's OOM killer, an operator) while loading."""
    root, generated = large
    env = {"HLSP_DATABASE_URL": database.url}
    proc = _harvest("harvest", str(root), "--jobs", "2", env=env)
    _wait_for_products(database.url, proc)
    workers = [
        int(pid) for pid in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    ]
    assert workers, "the harvest loads on a pool of worker processes"
    os.kill(workers[0], signal.SIGKILL)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 2, stderr
    _one_message(stderr, "HLSP-030")
    assert "worker process ended abruptly" in stderr
    assert _count(database.url, "SELECT state FROM hlsp.harvest_run") == "failed"
    _finished(database.url, root, len(generated.files), env)


def test_a_read_only_database_blames_no_file(
    database: Database, large: tuple[Path, Corpus]
) -> None:
    """A server that refuses all writes (a standby after a failover, a read-only default)
    is the database's failure: the loader raises it (the harvest then ends with one message,
    HLSP-022) instead of recording every file of the batch as refused by PostgreSQL."""
    root, _ = large
    paths = sorted(root.rglob("*.fits"))[:5]
    records = [
        process_file(FileTask(str(p), p.stat().st_size, p.stat().st_mtime_ns)) for p in paths
    ]
    assert all(isinstance(r, ProductRecord) for r in records)
    with psycopg.connect(database.url, autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO hlsp.harvest_run DEFAULT VALUES RETURNING run_id"
        ).fetchone()
        assert row is not None
        loader = Loader(conn, int(row[0]))
        conn.execute("SET default_transaction_read_only = on")
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction), conn.transaction():
            loader.load_safely(records)  # type: ignore[arg-type]


def test_embedded_cluster_files_out_of_reach_are_one_message(
    own_cluster: Path, large: tuple[Path, Corpus]
) -> None:
    """The embedded cluster's data directory made by another account (or its modes changed):
    hlsp cannot read it. As root, the command runs without the capabilities that bypass
    file modes (setpriv, util-linux); as anyone else the directory's modes shut it out."""
    root, _ = large
    data = ["--data-dir", str(own_cluster)]
    assert hlsp(*data, "db", "start").returncode == 0
    assert hlsp(*data, "db", "stop").returncode == 0
    pgdata = EmbeddedCluster(own_cluster).pgdata
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv (util-linux) to drop DAC capabilities")
        prefix = [
            setpriv,
            "--bounding-set=-dac_override,-dac_read_search",
            "--inh-caps=-dac_override,-dac_read_search",
        ]
        assert pgdata.stat().st_uid != 0  # the cluster runs as an unprivileged account
    else:
        pgdata.chmod(0)
    try:
        result = subprocess.run(
            [*prefix, HLSP, *data, "harvest", str(root), "--no-progress"],
            env=_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        pgdata.chmod(0o700)
    assert result.returncode == 2, result.stderr
    _one_message(result.stderr, "HLSP-012")
    assert "Permission denied" in result.stderr and str(pgdata) in result.stderr
