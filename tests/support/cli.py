"""Running the real ``hlsp`` command and server in subprocesses."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.server import free_port

HLSP = shutil.which("hlsp", path=str(Path(sys.executable).parent)) or "hlsp"


def hlsp(
    *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HLSP_")}
    full_env.update(env or {})
    return subprocess.run(
        [HLSP, *args], env=full_env, capture_output=True, text=True, timeout=timeout, check=False
    )


@contextmanager
def serving(
    *args: str, env: dict[str, str], ready: str = "/health", timeout: float = 60
) -> Iterator[str]:
    """Run ``hlsp <args> --port P`` and yield its base URL once ``ready`` answers."""
    port = free_port()
    # Two server processes unless the test says otherwise: several, as in production, but
    # not the default's two per CPU (each process takes seconds to start on a busy machine).
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HLSP_")}
    full_env |= {"HLSP_WORKERS": "2"} | env
    proc = subprocess.Popen(
        [HLSP, *args, "--port", str(port)],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"server exited early:\n{proc.stdout.read() if proc.stdout else ''}"
                )
            try:
                httpx.get(base + ready, timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
