"""``hlsp harvest`` and ``hlsp check`` as a user runs them: exit codes, reports, interruptions."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from catalog.corpus import Corpus, generate_corpus
from catalog.db import Database
from tests.support.cli import HLSP, hlsp
from tests.support.db import REPO


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Corpus]:
    root = tmp_path_factory.mktemp("small") / "hlsp"
    return root, generate_corpus(root, files=60, seed=3, damage=True)


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Corpus]:
    root = tmp_path_factory.mktemp("large") / "hlsp"
    return root, generate_corpus(root, files=3000, seed=5, flaws=False)


def scalar(database: Database, sql: str) -> object:
    with database.engine.connect() as conn:
        return conn.execute(sa.text(sql)).scalar_one()


def test_check_reports_in_three_formats_with_exit_status(small, tmp_path):
    root, generated = small
    text = hlsp("check", str(root))
    assert text.returncode == 3, text.stderr  # damaged and flawed files FAIL
    assert "HLSP-R" in text.stdout and "Verdict: FAIL" in text.stdout
    result = hlsp("check", str(root), "--format", "json")
    document = json.loads(result.stdout)
    assert document["verdict"] == "FAIL"
    fits_names = {f.path.name for f in generated.files}
    reported = {f["file_name"] for f in document["files"]}
    assert fits_names <= reported  # READMEs are reported too (name check)
    assert any(f["file_name"].endswith("_readme.md") for f in document["files"])
    page = tmp_path / "report.html"
    html = hlsp("check", str(root), "--format", "html", "-o", str(page))
    assert html.returncode == 3
    content = page.read_text()
    assert content.startswith("<!DOCTYPE html>") and "Codes used in this report" in content
    clean = next(f for f in generated.intact if f.hlsp_id == "tess-ffilc")
    single = hlsp("check", str(clean.path), "--format", "json")
    verdict = json.loads(single.stdout)["verdict"]
    assert single.returncode == {"PASS": 0, "NEEDS REVIEW": 1, "FAIL": 3}[verdict]


def test_finding_codes_reference_is_generated_and_current():
    result = hlsp("check", "--list-codes")
    assert result.returncode == 0
    docs = REPO / "docs" / "findings.md"
    assert docs.read_text() == result.stdout, (
        "docs/findings.md is stale: run `hlsp check --list-codes > docs/findings.md`"
    )
    for letter in "NKPCR":
        assert f"| HLSP-{letter}0" in result.stdout


def test_harvest_exit_codes(database, small, tmp_path):
    root, _ = small
    env = {"HLSP_DATABASE_URL": database.url}
    result = hlsp("harvest", str(root), "--no-progress", env=env)
    assert result.returncode == 1  # damaged files failed and were recorded
    assert "failed" in result.stderr and "HLSP-R" in result.stderr
    good = tmp_path / "good"
    good.mkdir()
    clean = next(root.rglob("hlsp_tess-ffilc_*_lc.fits"))
    (good / clean.name).write_bytes(clean.read_bytes())
    clean = hlsp("harvest", str(good), "--collection", "good-coll", "--no-progress", env=env)
    assert clean.returncode == 0, clean.stderr  # (same name as in root: another collection)
    bad = hlsp("harvest", str(good), "--collection", "Not An Id", env=env)
    assert bad.returncode == 2 and "collection id" in bad.stderr
    missing = hlsp("harvest", str(tmp_path / "nowhere"), env=env)
    assert missing.returncode == 2
    down = hlsp(
        "harvest", str(good), env={"HLSP_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    )
    assert down.returncode == 2 and "Traceback" not in down.stderr


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for_products(database: Database, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while scalar(database, "SELECT count(*) FROM hlsp.product") == 0:
        assert proc.poll() is None, "harvest ended before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.02)


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
def test_interrupted_harvest_leaves_a_consistent_catalog_and_resumes(database, large, how):
    root, generated = large
    env = {k: v for k, v in os.environ.items() if not k.startswith("HLSP_")}
    env["HLSP_DATABASE_URL"] = database.url
    # Ctrl-C as at a terminal: a test run started in the background (`cmd &` in a script)
    # hands its children SIGINT ignored, and Python keeps an ignored SIGINT ignored.
    proc = subprocess.Popen(
        [HLSP, "harvest", str(root), "--no-progress", "--batch-size", "100", "--jobs", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,  # noqa: PLW1509
    )
    _wait_for_products(database, proc)
    workers = _children(proc.pid)
    assert workers, "the harvest loads on a pool of worker processes"
    proc.send_signal(how)
    _, stderr = proc.communicate(timeout=60)
    deadline = time.monotonic() + 10  # no loader outlives the harvest, even after kill -9
    while any(_alive(pid) for pid in workers):
        assert time.monotonic() < deadline, "a worker outlived the harvest"
        time.sleep(0.05)
    if how == signal.SIGINT:
        assert proc.returncode == 130, stderr
        assert "interrupted" in stderr
        assert scalar(database, "SELECT state FROM hlsp.harvest_run") == "interrupted"
    partial = scalar(database, "SELECT count(*) FROM hlsp.product")
    assert isinstance(partial, int) and 0 < partial < len(generated.files)
    # Whatever was committed is whole: every product has its findings and targets.
    orphans = scalar(
        database,
        """
        SELECT count(*) FROM hlsp.product p WHERE (p.verdict <> 'PASS' AND NOT EXISTS
          (SELECT 1 FROM hlsp.product_finding f WHERE f.product_id = p.product_id))
          OR (p.target_name IS NOT NULL AND NOT EXISTS
          (SELECT 1 FROM hlsp.product_target t WHERE t.product_id = p.product_id))""",
    )
    assert orphans == 0
    resumed = hlsp("harvest", str(root), "--no-progress", env={"HLSP_DATABASE_URL": database.url})
    assert resumed.returncode == 0, resumed.stderr
    assert scalar(database, "SELECT count(*) FROM hlsp.product") == len(generated.files)
    assert scalar(
        database, "SELECT count(DISTINCT (collection_id, file_name)) FROM hlsp.product"
    ) == len(generated.files)
    states = scalar(database, "SELECT string_agg(state, ',' ORDER BY run_id) FROM hlsp.harvest_run")
    assert states == "interrupted,completed"
    unchanged = scalar(
        database, "SELECT files_unchanged FROM hlsp.harvest_run ORDER BY run_id DESC LIMIT 1"
    )
    assert unchanged == partial  # the resumed run re-read only what was missing


def test_unreadable_file_gives_a_failure_not_a_crash(tmp_path):
    """Mode 000. As root, the reading process runs without the capabilities that bypass file
    permissions (the database socket is private to the cluster's owner, so the recording
    side of a harvest is covered by the other damage kinds in test_harvest.py)."""
    import shutil as sh
    import sys

    secret = tmp_path / "hlsp_x_tess_ffi_t1_tess_v1_lc.fits"
    secret.write_bytes(b"SIMPLE  =                    T" + b" " * 2850)
    secret.chmod(0)
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = sh.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv (util-linux) to drop DAC capabilities")
        prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search"]
    code = (
        "import json, sys\n"
        "from catalog.harvest.perfile import process_file\n"
        "from catalog.harvest.records import FileTask\n"
        "r = process_file(FileTask(sys.argv[1], 2880, 0))\n"
        "print(json.dumps([type(r).__name__, r.code, r.reason]))"
    )
    result = subprocess.run(
        [*prefix, sys.executable, "-c", code, str(secret)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    kind, failure_code, reason = json.loads(result.stdout)
    assert (kind, failure_code) == ("FileFailure", "HLSP-R001")
    assert "Permission denied" in reason
    secret.chmod(0o644)


def test_progress_is_a_bar_on_a_terminal_and_log_lines_otherwise(database, small):
    import pty
    import re

    root, generated = small
    env = {k: v for k, v in os.environ.items() if not k.startswith("HLSP_")}
    env |= {"HLSP_DATABASE_URL": database.url, "COLUMNS": "120", "TERM": "xterm"}
    piped = subprocess.run(
        [HLSP, "harvest", str(root), "--force"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    total = len(generated.files)
    assert re.search(rf"harvest: {total}/{total} files, \d+ failed, [\d,]+ files/s", piped.stderr)
    assert "\x1b[" not in piped.stderr  # no terminal control codes in a log
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [HLSP, "harvest", str(root), "--force"], env=env, stdout=subprocess.DEVNULL, stderr=follower
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=120)
    os.close(leader)
    screen = b"".join(chunks).decode("utf-8", "replace")
    assert "ETA" in screen and f"/{total}" in screen and "/s" in screen


def test_runs_lists_runs_and_failures(database, small):
    root, generated = small
    env = {"HLSP_DATABASE_URL": database.url}
    hlsp("harvest", str(root), "--no-progress", env=env)
    listing = hlsp("runs", env=env)
    assert listing.returncode == 0, listing.stderr
    assert "completed" in listing.stdout and str(len(generated.files)) in listing.stdout
    failures = hlsp("runs", "--failures", "1", "--limit", "100", env=env)
    lines = [line.split("\t") for line in failures.stdout.splitlines() if "\t" in line]
    readable = 1 if os.geteuid() == 0 else 0  # root reads the mode-000 file
    assert len(lines) == len(generated.damaged) - readable
    assert all(code.startswith("HLSP-R") and reason for _, code, reason in lines)
