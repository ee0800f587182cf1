"""The embedded cluster: start/stop/restart, crash recovery, stale pid files, root, messages."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from catalog.embedded import EmbeddedCluster
from catalog.errors import EmbeddedClusterError, PgSphereNotInstalled, PostgresNotInstalled
from catalog.postgres import find_postgres

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster(scratch_dir: Path) -> Iterator[EmbeddedCluster]:
    path = Path(tempfile.mkdtemp(dir=scratch_dir, prefix="emb-"))
    path.chmod(0o755)
    c = EmbeddedCluster(path / "data", durable=True)
    yield c
    c.destroy()


def _sql(c: EmbeddedCluster, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(c.url("postgres"), autocommit=True) as conn:
        cur = conn.execute(sql)
        return cur.fetchall() if cur.description else []


def test_start_is_idempotent_and_stop_is_clean(cluster: EmbeddedCluster) -> None:
    assert not cluster.is_running()
    assert cluster.start() is True
    assert cluster.start() is False
    status = cluster.status()
    assert status.running and status.pid and status.initialised
    assert status.socket_dir == cluster.data_dir / "run"  # inside the project data dir
    _sql(cluster, "CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)")
    assert _sql(cluster, "SHOW listen_addresses") == [("",)]  # no TCP port at all
    assert cluster.stop() is True
    assert cluster.stop() is False
    assert not cluster.is_running()
    assert not (cluster.pgdata / "postmaster.pid").exists()
    assert cluster.start() is True
    assert _sql(cluster, "SELECT x FROM kept") == [(42,)]


def test_recovers_from_a_crash(cluster: EmbeddedCluster) -> None:
    cluster.start()
    _sql(cluster, "CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2)")
    cluster.kill()  # SIGKILL: no shutdown checkpoint, postmaster.pid left behind
    assert (cluster.pgdata / "postmaster.pid").exists()
    assert not cluster.is_running()
    assert cluster.start() is True
    assert _sql(cluster, "SELECT count(*) FROM t") == [(2,)]
    assert (
        "database system was interrupted" in cluster.log_file.read_text()
        or "was not properly shut down" in cluster.log_file.read_text()
    )


def test_stale_pid_file_of_another_process_is_ignored(cluster: EmbeddedCluster) -> None:
    cluster.start()
    cluster.stop()
    # After a reboot the old pid may belong to an unrelated process: here, this test's.
    (cluster.pgdata / "postmaster.pid").write_text(f"{os.getpid()}\n{cluster.pgdata}\n")
    assert not cluster.is_running()
    assert cluster.start() is True
    assert _sql(cluster, "SELECT 1") == [(1,)]


def test_interrupted_initdb_is_redone(cluster: EmbeddedCluster) -> None:
    staging = cluster.pgdata.with_name("pgdata.initdb")
    staging.mkdir(parents=True)
    (staging / "half-written").write_text("x")  # initdb was killed before the rename
    cluster.start()
    assert cluster.initialised
    assert not staging.exists()


def test_a_foreign_pgdata_is_never_deleted(cluster: EmbeddedCluster) -> None:
    cluster.pgdata.mkdir(parents=True)
    precious = cluster.pgdata / "thesis.tex"
    precious.write_text("years of work")
    with pytest.raises(EmbeddedClusterError, match="not a PostgreSQL cluster"):
        cluster.start()
    assert precious.read_text() == "years of work"


def test_concurrent_starts_do_not_collide(cluster: EmbeddedCluster) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: EmbeddedCluster(cluster.data_dir).start(), range(4)))
    assert sorted(results) == [False, False, False, True]
    assert _sql(cluster, "SELECT 1") == [(1,)]


def test_another_clusters_postmaster_is_not_ours(
    cluster: EmbeddedCluster, scratch_dir: Path
) -> None:
    other = EmbeddedCluster(
        Path(tempfile.mkdtemp(dir=scratch_dir, prefix="other-")) / "d", durable=False
    )
    other.data_dir.parent.chmod(0o755)
    try:
        other.start()
        cluster.start()
        cluster.stop()
        # After a reboot our old pid may now be another PostgreSQL's postmaster.
        other_pid = other.status().pid
        (cluster.pgdata / "postmaster.pid").write_text(f"{other_pid}\n{cluster.pgdata}\n")
        assert not cluster.is_running()
        assert cluster.start() is True
        assert _sql(cluster, "SELECT 1") == [(1,)]
    finally:
        other.destroy()


@pytest.mark.skipif(os.geteuid() != 0, reason="only meaningful when the tests run as root")
def test_as_root_the_server_runs_unprivileged(cluster: EmbeddedCluster) -> None:
    cluster.start()
    pid = cluster.status().pid
    assert pid is not None
    owner = Path(f"/proc/{pid}").stat().st_uid
    assert owner != 0
    assert cluster.pgdata.stat().st_uid == owner
    assert oct(cluster.pgdata.stat().st_mode & 0o777) == "0o700"


@pytest.mark.skipif(os.geteuid() != 0, reason="only meaningful when the tests run as root")
def test_as_root_a_hidden_data_dir_falls_back(scratch_dir: Path) -> None:
    hidden = Path(tempfile.mkdtemp(dir=scratch_dir, prefix="hidden-"))
    hidden.chmod(0o700)  # like /root: the service account cannot enter
    c = EmbeddedCluster(hidden / "data", durable=False)
    try:
        c.start()
        assert str(c.pgdata).startswith("/var/lib/hlsp-catalog/")
        assert (hidden / "data" / "cluster-location").is_file()
        assert _sql(c, "SELECT 1") == [(1,)]
        fallback = c.pgdata.parent
    finally:
        c.destroy()
    assert not (hidden / "data" / "cluster-location").exists()
    assert not fallback.exists()


def test_long_paths_get_a_short_socket_directory(scratch_dir: Path) -> None:
    deep = scratch_dir / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    for p in (scratch_dir / ("d" * 60), deep):
        p.chmod(0o755)
    c = EmbeddedCluster(deep / "data", durable=False)
    try:
        c.start()
        assert len(str(c.socket_dir)) < 100
        assert _sql(c, "SELECT 1") == [(1,)]
    finally:
        c.destroy()


def test_missing_postgres_says_how_to_install() -> None:
    with pytest.raises(PostgresNotInstalled) as info:
        find_postgres(bindir=Path("/nonexistent/bin"))
    assert "apt-get install -y postgresql-" in str(info.value)
    assert "-pgsphere" in str(info.value)


def test_missing_pgsphere_says_how_to_install(tmp_path: Path) -> None:
    # A PostgreSQL install whose share directory has no pg_sphere: the real binaries,
    # with a pg_config that points at an empty share directory.
    installed = find_postgres()
    real = installed.bindir
    fake = tmp_path / "bin"
    fake.mkdir()
    for name in ("initdb", "pg_ctl", "postgres"):
        (fake / name).symlink_to(real / name)
    share = tmp_path / "share"
    (share / "extension").mkdir(parents=True)
    (fake / "pg_config").write_text(f"#!/bin/sh\necho {share}\n")
    (fake / "pg_config").chmod(0o755)
    with pytest.raises(PgSphereNotInstalled) as info:
        find_postgres(bindir=fake)
    assert f"apt-get install -y postgresql-{installed.major}-pgsphere" in str(info.value)


def test_cli_reports_missing_postgres_without_a_traceback(tmp_path: Path) -> None:
    hlsp = shutil.which("hlsp", path=str(Path(sys.executable).parent))
    assert hlsp
    env = {**os.environ, "HLSP_PG_BINDIR": "/nonexistent/bin", "HLSP_DATA_DIR": str(tmp_path)}
    env.pop("HLSP_DATABASE_URL", None)
    result = subprocess.run(
        [hlsp, "db", "start"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert "apt-get install" in result.stderr
    assert "HLSP-010" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="only meaningful when the tests run as root")
def test_as_root_an_existing_cluster_is_never_silently_replaced(scratch_dir: Path) -> None:
    parent = Path(tempfile.mkdtemp(dir=scratch_dir, prefix="lost-"))
    parent.chmod(0o755)
    c = EmbeddedCluster(parent / "data", durable=False)
    try:
        c.start()
        c.stop()
        parent.chmod(0o700)  # the service account loses its way in
        with pytest.raises(EmbeddedClusterError, match="can no longer be reached"):
            c.start()
        assert not (parent / "data" / "cluster-location").exists()  # no fresh empty cluster
    finally:
        parent.chmod(0o755)
        c.destroy()
