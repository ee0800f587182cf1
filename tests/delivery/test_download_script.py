"""The download script builder: hostile names and IDs stay text, run with bash (a stand-in
``curl`` on the PATH records the arguments it receives)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from catalog.delivery.download_script import ScriptFile, download_script, script_path

BASH = shutil.which("bash") or "bash"


HOSTILE = [
    "it's.fits",
    "$(touch pwned1).fits",
    "`touch pwned2`.fits",
    "a\nb; touch pwned3.fits",
    "x'; touch pwned4; echo '.fits",
    "--output=pwned5",
    "-o pwned6",
    "space and * glob?.fits",
    "ümlaut.fits",
]

SHIM = """#!/bin/bash
# records its arguments, NUL-separated, and writes the -o file as curl would
out=""
prev=""
for a in "$@"; do
  printf '%s\\0' "$a" >> "$CURL_LOG"; [ "$prev" = "-o" ] && out="$a"; prev="$a"
done
printf '\\n\\0' >> "$CURL_LOG"
mkdir -p "$(dirname -- "$out")" && printf 'data' > "$out"
"""


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_the_script_quotes_hostile_names_and_ids(tmp_path: Path) -> None:
    files = [
        ScriptFile("coll", name, f"http://h/files/coll/{i}?q='$(touch pwned7)'", 4)
        for i, name in enumerate(HOSTILE)
    ]
    not_found = [("bad\n touch pwned8", "not in the catalog"), ("$(touch pwned9)", "x\ny")]
    text = download_script(
        files, not_found, generated=datetime(2026, 1, 2, tzinfo=UTC), source="http://h"
    )
    shim = tmp_path / "bin" / "curl"
    shim.parent.mkdir()
    shim.write_text(SHIM)
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    work = tmp_path / "work"
    work.mkdir()
    (work / "s.sh").write_text(text)
    log = tmp_path / "log"
    env = {"PATH": f"{shim.parent}:{os.environ['PATH']}", "CURL_LOG": str(log)}
    done = subprocess.run(
        [BASH, "s.sh"], cwd=work, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert f"{len(files)} files downloaded" in done.stdout
    assert not list(tmp_path.rglob("pwned*"))
    calls = [c.split("\0")[:-1] for c in log.read_text().split("\n\0") if c]
    assert len(calls) == len(files)
    for call, file in zip(calls, files, strict=True):
        assert call[call.index("-o") + 1] == f"coll/{file.file_name}"
        assert call[-1] == file.url
        assert (work / "coll" / file.file_name).read_text() == "data"
    for name in ("..", ".", "a/b", "x\0"):
        with pytest.raises(ValueError):
            script_path("coll", name)
