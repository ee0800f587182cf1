"""The ``hlsp`` command as a user runs it: embedded lifecycle, a server URL, clear errors."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from catalog.db import Database
from tests.support.cli import hlsp
from tests.support.db import head_revision


@pytest.mark.slow
def test_embedded_lifecycle(scratch_dir: Path) -> None:
    data = Path(tempfile.mkdtemp(dir=scratch_dir, prefix="cli-"))
    data.chmod(0o755)
    env = {"HLSP_DATA_DIR": str(data)}
    try:
        url = hlsp("db", "url", env=env)
        assert url.returncode == 0
        assert url.stdout.startswith("postgresql://hlsp_admin@/hlsp?host=")
        assert hlsp("db", "status", env=env).returncode == 1  # not running yet

        start = hlsp("db", "start", env=env)
        assert start.returncode == 0, start.stderr
        assert "started" in start.stdout
        again = hlsp("db", "start", env=env)
        assert again.returncode == 0 and "already running" in again.stdout

        status = hlsp("db", "status", env=env)
        assert status.returncode == 0, status.stderr
        assert "running" in status.stdout and "current" in status.stdout

        # The printed URL works for psql as it is.
        psql = subprocess.run(
            ["psql", url.stdout.strip(), "-Atc", "SELECT count(*) FROM ivoa.obscore"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert psql.returncode == 0, psql.stderr
        assert psql.stdout.strip() == "0"

        # The query login carries the database's own bounds: read only, temporary files
        # capped, idle transactions ended.
        query_url = url.stdout.strip().replace("hlsp_admin@", "hlsp_query@")
        shown = subprocess.run(
            [
                "psql",
                query_url,
                "-Atc",
                "SHOW default_transaction_read_only; "
                "SHOW temp_file_limit; SHOW idle_in_transaction_session_timeout",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert shown.stdout.split() == ["on", "1GB", "5min"], shown.stderr

        stop = hlsp("db", "stop", env=env)
        assert stop.returncode == 0 and "stopped" in stop.stdout
        assert "not running" in hlsp("db", "stop", env=env).stdout
        assert hlsp("db", "status", env=env).returncode == 1
    finally:
        hlsp("db", "stop", env=env)


def test_against_a_server_url(database: Database) -> None:
    env = {"HLSP_DATABASE_URL": database.url}
    down = hlsp("db", "migrate", "--revision", "base", env=env)
    assert down.returncode == 0, down.stderr
    assert "schema at base" in down.stdout
    status = hlsp("db", "status", env=env)
    assert "behind" in status.stdout
    up = hlsp("db", "migrate", env=env)
    assert up.returncode == 0, up.stderr
    assert f"schema at {head_revision()}" in up.stdout
    status = hlsp("db", "status", env=env)
    assert status.returncode == 0 and "current" in status.stdout
    stop = hlsp("db", "stop", env=env)
    assert stop.returncode == 2 and "not ours to stop" in stop.stderr
    bad = hlsp("db", "migrate", "--revision", "nope", env=env)
    assert bad.returncode == 2 and "HLSP-021" in bad.stderr and "'nope'" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_unreachable_server_is_a_clear_error(scratch_dir: Path) -> None:
    env = {"HLSP_DATABASE_URL": f"postgresql://nobody@/nodb?host={scratch_dir}/nowhere"}
    result = hlsp("db", "migrate", env=env)
    assert result.returncode == 2
    assert "Cannot connect" in result.stderr and "HLSP-020" in result.stderr
    assert "Traceback" not in result.stderr
    assert hlsp("db", "status", env=env).returncode == 1


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HLSP_DATABASE_URL": "mysql://x@y/z"}, "must be a PostgreSQL URL"),
        ({"HLSP_IVOA_AUTHORITY": "http://not-ivo"}, "must look like ivo://"),
    ],
)
def test_bad_settings_are_reported(env: dict[str, str], message: str) -> None:
    result = hlsp("db", "url", env=env)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_generates_harvests_and_is_idempotent(database: Database, tmp_path: Path) -> None:
    env = {"HLSP_DATABASE_URL": database.url, "HLSP_DATA_DIR": str(tmp_path)}
    first = hlsp("demo", "--no-serve", env=env)
    assert first.returncode == 0, first.stderr
    files = sorted((tmp_path / "demo-corpus").rglob("*.fits*"))
    assert len(files) >= 300
    again = hlsp("demo", "--no-serve", env=env)
    assert again.returncode == 0, again.stderr
    assert f"{len(files)} unchanged" in again.stdout
    with database.engine.connect() as conn:
        counts = conn.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM ivoa.obscore), "
                "(SELECT count(*) FROM hlsp.collection), "
                "(SELECT count(DISTINCT dataproduct_type) FROM ivoa.obscore), "
                "(SELECT count(DISTINCT obs_collection) FROM ivoa.obscore), "
                "(SELECT count(*) FROM hlsp.product WHERE verdict = 'FAIL'), "
                "(SELECT max(n) FROM (SELECT count(DISTINCT p.collection_id) AS n FROM "
                " hlsp.product_target pt JOIN hlsp.product p USING (product_id) "
                " GROUP BY pt.target_id) t)"
            )
        ).one()
    assert counts[0] == len(files)  # every demo file is served
    assert counts[1] == 8
    assert counts[2] == 5  # image, cube, spectrum, timeseries, measurements
    assert counts[3] == 1  # obs_collection = 'HLSP'
    assert counts[4] > 0  # the deliberately flawed files
    assert counts[5] >= 3  # a galaxy observed by three collections
